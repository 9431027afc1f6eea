// COPY from the build context straight into a new snapshot directory,
// without mounting an overlay. Regular files and symlinks become hard links
// to content-addressed objects in the store, so a rebuild after a one-file
// change creates one new file instead of thousands (creating an inode is
// what a big COPY spends its time on). The directory holds exactly what the
// overlay path would leave in its upper dir.
#pragma once

#include <filesystem>
#include <string>
#include <unordered_map>
#include <vector>

#include "builder/copy.hpp"
#include "snapshot/layer.hpp"
#include "snapshot/lower_view.hpp"

namespace strata::builder {

// A whole snapshot of an earlier run of the same COPY, which a new copy may
// be made as a delta on (see store::Store::Snapshot): its directory and
// its manifest (DirectCopy::manifest when it was made).
struct DeltaBase {
  std::filesystem::path dir;
  std::string manifest;
};

struct DirectCopy {
  bool done = false;     // false: the copy needs the overlay; nothing was written
  bool delta = false;    // `out` holds only what differs from the base
  std::string manifest;  // of a whole copy: every path and what fixes it
};

// `files` is the COPY's listing (list_sources, with the step's ownership and
// modes) and `digests` the sha256 of each regular file's content, in the
// same order ("" for other entries). `out` is an empty directory. Not done,
// having written nothing, when the copy needs the overlay's view: a
// destination that exists below as another type, or a symlink on the way.
// A file whose content no longer matches its digest is an error.
// `objects` receives, for each file and symlink of the copy, its path under
// `out` and the object it links to (for snapshot::DiffOptions).
// With a `base`, the copy is a delta on it when few paths differ: `out`
// then holds the changed entries, the directories they lie in and a
// whiteout for each path the base has and the copy does not.
Result<DirectCopy> copy_direct(const snapshot::LowerView& lowers,
                               const std::vector<SourceFile>& files,
                               const std::vector<std::string>& digests,
                               const std::filesystem::path& objects_dir,
                               const std::filesystem::path& out,
                               std::unordered_map<std::string, snapshot::ObjectFile>& objects,
                               const DeltaBase* base = nullptr);

}  // namespace strata::builder
