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
// its manifest (DirectCopy::manifest when it was made); and when the last
// run made a delta on it, that delta's manifest.
struct DeltaBase {
  std::filesystem::path dir;
  std::string manifest;
  std::string previous_changes;
};

struct DirectCopy {
  bool done = false;   // false: the copy needs the overlay; nothing was written
  bool delta = false;  // `out` holds only what differs from the base
  // The copy's layer is, to the byte, the base's or the last run's (when
  // that was a delta on the base); nothing was written.
  enum class Same { no, base, previous } same_as = Same::no;
  // Of a whole copy, every path and what fixes it; of a delta, its changes.
  std::string manifest;
};

// `files` is the COPY's listing (list_sources, with the step's ownership and
// modes) and `digests` the sha256 of each regular file's content, in the
// same order ("" for other entries). `out` is an empty directory. Not done,
// having written nothing, when the copy needs the overlay's view: a
// destination that exists below as another type, or a symlink on the way.
// A file whose content no longer matches its digest is an error.
// `objects` receives, for each file and symlink of the copy, its path under
// `out` and the object it links to (for snapshot::DiffOptions).
// `layer_options`: what else fixes the layer's bytes (its compression, a
// time clamp); a copy is compared with a base made with the same only.
// With a `base`, the copy is a delta on it when few paths differ: `out`
// then holds the changed entries, the directories they lie in and a
// whiteout for each path the base has and the copy does not. When the
// copy has the files of the base or of the last run, it says so instead
// (same_as).
Result<DirectCopy> copy_direct(const snapshot::LowerView& lowers,
                               const std::vector<SourceFile>& files,
                               const std::vector<std::string>& digests,
                               const std::filesystem::path& objects_dir,
                               const std::filesystem::path& out,
                               std::unordered_map<std::string, snapshot::ObjectFile>& objects,
                               const std::string& layer_options, const DeltaBase* base = nullptr);

}  // namespace strata::builder
