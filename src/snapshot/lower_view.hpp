// What an overlay mount of some snapshots would show at a path, found without
// mounting: the topmost layer that has the path wins, whiteouts hide what is
// below them, opaque directories hide the layers under them, and a
// directory merges with the directories below it.
#pragma once

#include <sys/stat.h>

#include <filesystem>
#include <string>
#include <vector>

namespace strata::snapshot {

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

 private:
  std::vector<std::filesystem::path> layers_;
};

}  // namespace strata::snapshot
