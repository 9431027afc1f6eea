// Image archives in and out of the store. strata writes one tar that is at
// once an OCI image layout (oci-layout, index.json, blobs/) and a docker
// archive (manifest.json), so docker load, podman load, skopeo and strata
// load all accept it. Loading accepts OCI archives and docker archives
// (old and new layouts), plain or compressed, and verifies every digest.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "archive/sink.hpp"
#include "images/stored_image.hpp"
#include "store/store.hpp"

namespace strata::exporter {

// One image of an archive, or a multi-platform one: the index (in the
// store) that its names tag, and every platform's image the index lists.
// A docker archive has no place for an index: its manifest.json lists each
// platform's image, the names on the one for this machine's platform.
struct ArchiveImage {
  std::vector<images::StoredImage> images;  // one, or the index's platforms' in its order
  std::vector<std::string> names;           // tags in the archive (may be empty)
  std::optional<oci::Descriptor> index;
};

// Blobs an archive or a layout carries beside its images (from the store),
// and annotations of its index.json that name them: how an image's build
// cache travels with it (cache/image_cache). Tools that read the images
// pass over both.
struct ArchiveExtras {
  std::vector<oci::Descriptor> blobs;
  std::map<std::string, std::string> index_annotations;
};

struct ArchiveOptions {
  archive::Compression compression = archive::Compression::none;  // of the whole archive
  int level = -1;                                                 // the compressor's default
  // Called now and then with the bytes of blobs written so far and in all.
  std::function<void(uint64_t done, uint64_t total)> progress;
  ArchiveExtras extras;
};

// The compression a file name asks for: .tar.gz/.tgz gzip, .tar.zst zstd.
archive::Compression compression_for(const std::filesystem::path& dest);

Result<void> write_image_archive(store::Store& store, const std::vector<ArchiveImage>& images,
                                 const std::filesystem::path& dest, const ArchiveOptions& opts);
// The same images as an OCI image layout directory (`--output
// type=oci,tar=false`): `dest` new or empty; blobs copied, index.json last.
Result<void> write_image_layout(store::Store& store, const std::vector<ArchiveImage>& images,
                                const std::filesystem::path& dest,
                                const ArchiveExtras& extras = {});

// What a load brought: the images (the names it tagged, or the manifest
// digests of untagged ones; and their manifests, every platform's of an
// index), every blob of the archive into the store, and its index.json's
// annotations (none for a docker archive).
struct LoadedArchive {
  std::vector<std::string> names;
  std::vector<oci::Descriptor> images;
  std::map<std::string, std::string> index_annotations;
};
struct LoadOptions {
  bool tag = true;  // false: the images are imported, but not named
  // Called now and then with the bytes of the file read so far and its size.
  std::function<void(uint64_t done, uint64_t total)> progress;
};
Result<LoadedArchive> load_archive(store::Store& store, const std::filesystem::path& archive,
                                   const LoadOptions& opts = {});

// The images of an OCI image layout directory, imported into the store
// (every digest verified) but not named: each manifest's (or index's)
// descriptor, the name `strata load` would give it and the layout's own ref
// name. Of an index, the platforms' images the layout holds come in with it
// (`platforms`); those it lacks are left out, as a pull leaves them.
struct LayoutImage {
  oci::Descriptor manifest;
  std::string name, ref_name;
  std::vector<oci::Descriptor> platforms;
};
Result<std::vector<LayoutImage>> import_oci_layout(store::Store& store,
                                                   const std::filesystem::path& dir);
// The same list read from the layout's index.json alone (nothing imported).
Result<std::vector<LayoutImage>> read_oci_layout_index(const std::filesystem::path& dir);

}  // namespace strata::exporter
