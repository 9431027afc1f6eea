// A step's earlier changes moved onto a new root, for a RUN that runs on top
// of its last result (# strata:incremental; builder/incremental calls it):
// - which paths the new root changed against the root the changes were
//   made on (changed_paths);
// - the changes without those paths, as a directory of hard links and new
//   directories in overlay's form (whiteouts, opaque directories) that an
//   overlay stacks above the new root (rebase_changes): what the new root
//   changed is seen, the rest of the earlier changes stay;
// - after the step ran, its overlay upper dir merged into that directory
//   (merge_upper), which then holds the step's whole layer.
// Files are never written through a hard link: the earlier snapshot's files
// stay as they are.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "snapshot/lower_view.hpp"
#include "util/error.hpp"

namespace strata::snapshot {

// A path (relative, "/"-separated) the new root shows otherwise than the
// old one; `subtree`: everything under it too (an opaque directory of a
// layer the roots do not share).
struct ChangedPath {
  std::string path;
  bool subtree = false;
};

// The paths where `old_root` and `new_root` differ, looking at those the
// snapshot directories of the layers they do not share hold (`differing`):
// a path whose entries are the same in both (type, mode, owner, times,
// link target, bytes) is left out. Sorted, parents first.
Result<std::vector<ChangedPath>> changed_paths(const LowerView& old_root, const LowerView& new_root,
                                               const std::vector<std::filesystem::path>& differing);

// Makes `out` (an empty directory) hold the entries of `changes` (a
// snapshot directory) except at the changed paths, where what an overlay of
// `out` over `new_root` shows is what `new_root` shows. A change under a
// path the earlier step made a non-directory stays (the step's change wins
// there).
Result<void> rebase_changes(const std::filesystem::path& changes,
                            const std::vector<ChangedPath>& changed, const LowerView& new_root,
                            const std::filesystem::path& out);

// Moves what an overlay upper dir holds into `into`, the lower directly
// below it over `new_root`, as the overlay showed it: `into` then holds
// both as one set of changes to `new_root`. Empties `upper`.
Result<void> merge_upper(const std::filesystem::path& upper, const std::filesystem::path& into,
                         const LowerView& new_root);

}  // namespace strata::snapshot
