// RUN --mount: syntax (CSV of key=value fields, checked when the Dockerfile is
// read) and the typed Mount it becomes once its values are expanded.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "util/error.hpp"

namespace strata::dockerfile {

enum class MountType { bind, cache, tmpfs, secret, ssh };
enum class Sharing { shared, private_, locked };

std::string_view to_string(MountType t);
std::string_view to_string(Sharing s);

struct Mount {
  MountType type = MountType::bind;
  std::string from;    // stage, index or image; "" = the build context (bind) or none
  std::string source;  // path inside `from`
  std::string target;  // path in the container
  std::string id;      // cache id, secret id or ssh id
  Sharing sharing = Sharing::shared;
  bool readonly = true;
  bool required = false;
  std::optional<uint32_t> mode, uid, gid;
  std::optional<uint64_t> size;    // tmpfs size limit in bytes
  std::optional<std::string> env;  // secret exposed as an environment variable
};

// The fields of one --mount value, in order, unexpanded. A field without "="
// has an empty value and bare == true.
struct MountField {
  std::string key;  // lower-cased
  std::string value;
  bool bare = false;
};

// Splits and checks the syntax of a --mount value: known keys, bare fields
// only where allowed, a known type.
Result<std::vector<MountField>> parse_mount_fields(std::string_view spec);

// Expands the values and builds the typed mount with BuildKit's defaults
// (cache id = target, secret target = /run/secrets/<id>, ...).
using WordExpander = std::function<Result<std::string>(std::string_view)>;
Result<Mount> resolve_mount(const std::vector<MountField>& fields, const WordExpander& expand);

// Parses sizes such as "64m", "1g", "512KiB" (binary units, as Docker does).
std::optional<uint64_t> parse_ram_size(std::string_view s);

}  // namespace strata::dockerfile
