// COPY and ADD into a root filesystem: source selection (paths, wildcards,
// .dockerignore, --exclude), the reference's rules for directories and
// trailing slashes, --chown/--chmod/--parents, heredoc files, and ADD's
// unpacking of local archives. Destination paths are resolved inside the
// root, following the image's own symlinks (never the host's).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "builder/users.hpp"
#include "dockerfile/dockerignore.hpp"
#include "snapshot/lower_view.hpp"

namespace strata::builder {

struct CopyOptions {
  std::optional<Identity> owner;  // --chown; else 0:0 (context) or the source's own
  bool keep_owner = false;       // from a stage or image: owners and sockets kept; else the context
  std::optional<uint32_t> mode;  // --chmod as an octal mode
  std::string symbolic_mode;     // --chmod as chmod(1) clauses: "u+x,go-w"
  bool parents = false;
  bool normalize_permissions = false;  // clear group/other write bits (no --chmod)
  bool unpack_archives = false;        // ADD
  std::vector<std::string> excludes;
  const dockerfile::IgnoreMatcher* ignore = nullptr;  // the build context's
  // The layers whose overlay the source is (a stage or image): files
  // hard-linked within one layer stay hard-linked, as BuildKit copies them
  // (files of different layers that share a store object are not links).
  const snapshot::LowerView* layers = nullptr;
};

// Copies `sources` (paths or patterns relative to src_root) to `dest` (a path
// in the image; a trailing "/" makes it a directory) inside dst_root.
Result<void> copy_sources(const std::filesystem::path& src_root,
                          const std::vector<std::string>& sources,
                          const std::filesystem::path& dst_root, const std::string& dest,
                          const CopyOptions& opts);

// An entry a COPY/ADD would write, as list_sources() reports it.
struct SourceFile {
  std::string dest;  // where it goes in the image
  std::string from;  // where it is read from
  // f file, d dir, l symlink, o other; p a directory made only where none
  // exists (the destination's parents, a directory's destination)
  char type = 'f';
  uint32_t mode = 0, uid = 0, gid = 0;  // as they will be in the image
  std::string link;
  // What stat said of `from` (for the stat cache): size, times in ns, inode.
  int64_t size = 0, mtime = 0, ctime = 0, ino = 0;
};

// What copy_sources() would write, without writing it: the same selection,
// destination and ownership rules.
Result<std::vector<SourceFile>> list_sources(const std::filesystem::path& src_root,
                                             const std::vector<std::string>& sources,
                                             const std::string& dest, const CopyOptions& opts);

// Applies chmod(1) symbolic clauses ("u+x,g-w,o=r", "a+X") to a mode;
// nullopt when the spec is not valid.
std::optional<uint32_t> apply_symbolic_mode(std::string_view spec, uint32_t mode, bool is_dir);

// Writes a heredoc file: dest itself, or dest/<name> when dest ends with "/".
Result<void> write_inline_file(const std::filesystem::path& dst_root, const std::string& dest,
                               const std::string& name, std::string_view content,
                               const CopyOptions& opts);

// Copies a whole tree (for --output type=local); `layers`: see CopyOptions.
Result<void> copy_tree(const std::filesystem::path& from, const std::filesystem::path& to,
                       const snapshot::LowerView* layers = nullptr);

}  // namespace strata::builder
