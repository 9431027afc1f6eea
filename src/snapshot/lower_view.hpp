// What an overlay mount of some snapshots would show at a path (or in a
// directory), found without mounting: the topmost layer that has the path
// wins, whiteouts hide what is below them, opaque directories hide the
// layers under them, and a directory merges with the directories below it.
#pragma once

#include <sys/stat.h>

#include <filesystem>
#include <string>
#include <vector>

namespace strata::snapshot {

// Overlay's form of a deletion (a 0/0 character device) and of a directory
// that hides the layers below it (trusted.overlay.opaque "y").
bool is_whiteout(const struct stat& st);
bool is_opaque(const std::filesystem::path& dir);

class LowerView {
 public:
  // The snapshot directories, topmost first (overlay's lowerdir order).
  explicit LowerView(std::vector<std::filesystem::path> layers) : layers_(std::move(layers)) {}

  struct Entry {
    enum State { absent, present, blocked } state = absent;  // blocked: an ancestor is not a dir
    struct stat st {};
    std::filesystem::path path;  // where the visible entry lives (present only)
    size_t layer = 0;            // which of the directories holds it
  };

  // `components` is a clean path in the image, split ("usr", "bin", "sh").
  Entry lookup(const std::vector<std::string>& components) const;
  // The names a directory shows, sorted; none when it is not a directory.
  std::vector<std::string> list(const std::vector<std::string>& components) const;

 private:
  // The entry, and when it is a directory the layers it merges (topmost
  // first, down to the first opaque one).
  Entry find(const std::vector<std::string>& components, std::vector<size_t>& merged) const;
  std::vector<std::filesystem::path> layers_;
};

}  // namespace strata::snapshot
