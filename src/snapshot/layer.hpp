// Layers and snapshots: a layer tar unpacked into a directory an overlay can
// use as a lower (OCI whiteouts become overlay whiteouts), and an overlay
// upper dir turned back into a deterministic layer tar (overlay whiteouts
// become OCI whiteouts).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <unordered_map>

#include "archive/sink.hpp"
#include "archive/tar.hpp"
#include "store/store.hpp"

namespace strata::snapshot {

// Unpacks a layer into `dest` (an empty directory), converting `.wh.` files
// and opaque markers into overlay's form (`whiteouts` false: a plain tar, a
// build context on stdin, whose `.wh.` names are files like any other).
// Rejects paths that leave `dest`.
Result<void> unpack_layer(archive::TarReader& layer, const std::filesystem::path& dest,
                          bool whiteouts = true);

// A file of a snapshot that is a hard link to a content-addressed object:
// the object's name (which fixes the file's content and metadata) and size.
struct ObjectFile {
  std::string name;
  uint64_t size = 0;
};

struct DiffOptions {
  archive::Compression compression = archive::Compression::gzip;
  std::optional<int64_t> clamp_mtime;  // SOURCE_DATE_EPOCH
  std::optional<int64_t> dir_mtime;    // a fixed time for every directory
  // false: files that share an inode are written as separate files (a
  // snapshot whose files are links to shared objects, not links in the image)
  bool hardlinks = true;
  // A snapshot whose files are hard links to content-addressed objects
  // (builder/direct_copy): path in the layer -> its object. With
  // `segments_dir`, the frames of such files (runs of small files, each
  // compressed on its own) are kept there, raw and compressed, keyed by
  // paths and object names, and reused instead of reading and compressing
  // the files again (needs hardlinks = false).
  const std::unordered_map<std::string, ObjectFile>* objects = nullptr;
  std::filesystem::path segments_dir;
  // The directory is a delta (see store::Store::Snapshot) on these, top
  // first: the layer holds what an overlay of them all shows, and the
  // delta's whiteouts hide entries instead of being written.
  std::vector<std::filesystem::path> stacked_on;
};

struct Layer {
  oci::Descriptor blob;  // the compressed layer in the store
  std::string diff_id;   // sha256 of the uncompressed tar
  uint64_t size = 0;     // of the uncompressed tar
  bool empty = false;    // nothing changed
};

// The OCI media type of a layer in that compression.
std::string layer_media_type(archive::Compression c);

// Writes the changes in an overlay upper dir as a layer blob in the store.
Result<Layer> write_layer(const std::filesystem::path& upper, store::Store& store,
                          const DiffOptions& opts);

// Writes the tree at `dir` (no whiteouts in it) to `out` as an uncompressed
// tar, entries as a layer holds them; files that share an inode become hard
// links. `--output type=tar` writes an image's root filesystem with it.
Result<void> write_tree_tar(const std::filesystem::path& dir, archive::Sink& out);

// Returns the snapshot of a layer, unpacking its blob the first time: the
// directories an overlay stacks to show the layer's files, top first (two
// for a delta snapshot, see store::Store::Snapshot). A delta whose base is
// gone is dropped and the layer unpacked whole.
Result<std::vector<std::filesystem::path>> ensure_snapshot(store::Store& store,
                                                           const oci::Descriptor& blob,
                                                           const std::string& diff_id);

}  // namespace strata::snapshot
