// JSON from outside (archives, registries, caches, images in the store that
// came from any of those): parsed without exceptions from bounded text, and
// read field by field with errors that name the document and the field. The
// one verifier of outside JSON; oci/image uses it for manifests, indexes,
// configs and docker archive manifests, and any module reading another
// outside document uses it too. Nothing here throws.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.hpp"

namespace strata::oci {

// What strata reads of one document, at most (BuildKit and containerd cap
// manifests at a few MiB too); bigger is refused before it is parsed.
inline constexpr uint64_t kMaxManifestBytes = 4 << 20;  // manifests, indexes, archive manifests
inline constexpr uint64_t kMaxConfigBytes = 8 << 20;    // image configs (long histories)

// `text` as JSON, refused when longer than `limit` or not JSON; `what`
// names the document in the error ("index.json", "manifest sha256:…").
Result<nlohmann::json> parse_json(std::string_view text, std::string_view what, uint64_t limit);

// Typed fields of a JSON object `obj` (`what` names it). Absent (or null)
// gives nullopt; present with another type is an error naming the field.
class Fields {
 public:
  Fields(const nlohmann::json& obj, std::string what) : obj_(obj), what_(std::move(what)) {}
  // Fails unless the value is an object (or, with allow_null, null).
  static Result<Fields> of(const nlohmann::json& j, std::string what, bool allow_null = false);

  Result<std::optional<std::string>> string(std::string_view key) const;
  Result<std::optional<int64_t>> integer(std::string_view key) const;
  Result<std::optional<bool>> boolean(std::string_view key) const;
  Result<std::optional<std::vector<std::string>>> strings(std::string_view key) const;
  // An object of strings (annotations, labels).
  Result<std::optional<std::vector<std::pair<std::string, std::string>>>> string_map(
      std::string_view key) const;
  // Checks that the field is absent, null or of this kind.
  Result<const nlohmann::json*> object(std::string_view key) const;
  Result<const nlohmann::json*> array(std::string_view key) const;
  // A required field: the error says it is missing.
  template <class T>
  Result<T> need(Result<std::optional<T>> got, std::string_view key) const {
    if (!got) return std::unexpected(got.error());
    if (!*got) return missing(key);
    return std::move(**got);
  }
  std::unexpected<Error> missing(std::string_view key) const;
  std::unexpected<Error> wrong(std::string_view key, std::string_view expected) const;
  const std::string& what() const { return what_; }

 private:
  const nlohmann::json* find(std::string_view key) const;
  const nlohmann::json& obj_;
  std::string what_;
};

}  // namespace strata::oci
