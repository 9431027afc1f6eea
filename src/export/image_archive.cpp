#include "export/image_archive.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "archive/tar.hpp"
#include "digest/sha256.hpp"
#include "oci/checked_json.hpp"
#include "oci/platform.hpp"
#include "os/fs.hpp"
#include "util/strings.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace strata::exporter {

namespace {

// Counts what passes through, for progress.
class CountingSink : public archive::Sink {
 public:
  CountingSink(archive::Sink& next, const std::function<void(uint64_t)>& on_bytes)
      : next_(next), on_bytes_(on_bytes) {}
  Result<void> write(const void* data, size_t size) override {
    done_ += size;
    if (on_bytes_ && done_ - reported_ >= (8u << 20)) {
      reported_ = done_;
      on_bytes_(done_);
    }
    return next_.write(data, size);
  }
  Result<void> finish() override {
    if (on_bytes_) on_bytes_(done_);
    return next_.finish();
  }

 private:
  archive::Sink& next_;
  const std::function<void(uint64_t)>& on_bytes_;
  uint64_t done_ = 0, reported_ = 0;
};

Result<void> add_blob(archive::TarWriter& tar, store::Store& store, const std::string& digest) {
  fs::path p = store.blob_path(digest);
  os::UniqueFd fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return std::unexpected(os::errno_error("opening", p));
  struct stat st {};
  ::fstat(fd.get(), &st);
  return tar.add(
      archive::TarEntry::archive_member("blobs/sha256/" + std::string(digest_hex(digest)),
                                        static_cast<uint64_t>(st.st_size)),
      fd.get());
}

}  // namespace

archive::Compression compression_for(const fs::path& dest) {
  std::string s = dest.string();
  if (s.ends_with(".gz") || s.ends_with(".tgz")) return archive::Compression::gzip;
  if (s.ends_with(".zst")) return archive::Compression::zstd;
  return archive::Compression::none;
}

namespace {

// What an archive or a layout of `images` holds: index.json, manifest.json
// and the blobs (sorted, once each).
struct LayoutContents {
  json index, docker;
  std::vector<std::string> blobs;
};

// Of a multi-platform image's images, the one a docker archive names: this
// machine's platform's, else the first.
size_t named_in_docker_archive(const std::vector<images::StoredImage>& images) {
  for (size_t i = 0; i < images.size(); ++i) {
    auto p = oci::platform_of(images[i].config);
    if (p && oci::serves(*p, oci::host_platform())) return i;
  }
  return 0;
}

Result<LayoutContents> layout_contents(store::Store& store, const std::vector<ArchiveImage>& images,
                                       const ArchiveExtras& extras) {
  json manifests = json::array();
  json docker = json::array();
  std::vector<std::string> blobs;
  for (const auto& a : images) {
    if (a.images.empty() || (!a.index && a.images.size() > 1))
      return fail(Errc::invalid_argument, "an archive entry is one image or an index of several");
    std::vector<std::string> tags;
    for (const auto& n : a.names) tags.push_back(oci::normalize_name(n));
    // One index entry per name, as BuildKit and containerd write them: the
    // full name for containerd, the tag as the OCI ref name.
    const oci::Descriptor& desc = a.index ? *a.index : a.images.front().manifest_desc;
    if (tags.empty()) manifests.push_back(oci::to_json(desc));
    for (const auto& tag : tags) {
      oci::Descriptor top = desc;
      top.annotations["io.containerd.image.name"] = oci::qualified_name(tag);
      top.annotations[oci::kRefNameAnnotation] = oci::tag_of(tag);
      manifests.push_back(oci::to_json(top));
    }
    if (a.index) blobs.push_back(a.index->digest);
    size_t named = named_in_docker_archive(a.images);
    for (size_t i = 0; i < a.images.size(); ++i) {
      const auto& image = a.images[i];
      json layers = json::array();
      for (const auto& l : image.manifest.layers)
        layers.push_back("blobs/sha256/" + std::string(digest_hex(l.digest)));
      docker.push_back(
          {{"Config", "blobs/sha256/" + std::string(digest_hex(image.manifest.config.digest))},
           {"RepoTags", i == named ? tags : std::vector<std::string>{}},
           {"Layers", layers}});
      blobs.push_back(image.manifest_desc.digest);
      blobs.push_back(image.manifest.config.digest);
      for (const auto& l : image.manifest.layers) {
        TRY(store.ensure_blob(l));
        blobs.push_back(l.digest);
      }
    }
  }
  for (const auto& b : extras.blobs) {
    TRY(store.ensure_blob(b));
    blobs.push_back(b.digest);
  }
  std::sort(blobs.begin(), blobs.end());
  blobs.erase(std::unique(blobs.begin(), blobs.end()), blobs.end());
  json index = {{"schemaVersion", 2}, {"mediaType", oci::kIndex}, {"manifests", manifests}};
  if (!extras.index_annotations.empty()) index["annotations"] = extras.index_annotations;
  return LayoutContents{std::move(index), std::move(docker), std::move(blobs)};
}

constexpr std::string_view kLayoutFile = R"({"imageLayoutVersion":"1.0.0"})";

}  // namespace

Result<void> write_image_archive(store::Store& store, const std::vector<ArchiveImage>& images,
                                 const fs::path& dest, const ArchiveOptions& opts) {
  auto file = os::NewFile::create(dest);
  if (!file) return std::unexpected(file.error());
  auto contents = TRY_VALUE(layout_contents(store, images, opts.extras));
  const auto& blobs = contents.blobs;
  uint64_t total = 0;
  for (const auto& b : blobs) {
    struct stat st {};
    if (::stat(store.blob_path(b).c_str(), &st) == 0) total += static_cast<uint64_t>(st.st_size);
  }
  std::function<void(uint64_t)> on_bytes;
  if (opts.progress) on_bytes = [&](uint64_t done) { opts.progress(std::min(done, total), total); };

  // tar ─► count ─► (second thread) ─► compressor ─► file
  archive::FdSink sink(file->fd(), true);  // fsynced at the end
  auto compressor = archive::make_compressor(opts.compression, sink, opts.level);
  std::optional<archive::ThreadedSink> compressing;
  if (opts.compression != archive::Compression::none) compressing.emplace(*compressor);
  CountingSink counting(compressing ? static_cast<archive::Sink&>(*compressing) : *compressor,
                        on_bytes);
  archive::TarWriter tar(counting);
  for (auto [name, text] :
       {std::pair<std::string, std::string>{"oci-layout", std::string(kLayoutFile)},
        {"index.json", contents.index.dump()},
        {"manifest.json", contents.docker.dump()}}) {
    if (auto r = tar.add_data(archive::TarEntry::archive_member(name, text.size()), text); !r)
      return r;
  }
  archive::TarEntry dir;
  dir.type = archive::TarEntry::dir;
  dir.mode = 0755;
  for (const char* d : {"blobs", "blobs/sha256"}) {
    dir.path = d;
    if (auto r = tar.add(dir); !r) return r;
  }
  for (const auto& b : blobs)
    if (auto r = add_blob(tar, store, b); !r) return r;
  if (auto r = tar.finish(); !r) return r;
  return file->publish();
}

Result<void> write_image_layout(store::Store& store, const std::vector<ArchiveImage>& images,
                                const fs::path& dest, const ArchiveExtras& extras) {
  std::error_code ec;
  if (fs::exists(dest, ec) && !(fs::is_directory(dest, ec) && fs::is_empty(dest, ec)))
    return fail(Errc::invalid_argument,
                fmt::format("{} exists and is not an empty directory: an OCI layout is written "
                            "into a new or empty one",
                            dest.string()));
  auto contents = TRY_VALUE(layout_contents(store, images, extras));
  TRY(os::make_dirs(dest / "blobs" / "sha256"));
  // Blobs first, index.json last: a layout that names a blob has it.
  for (const auto& b : contents.blobs)
    TRY(os::copy_file_atomic(store.blob_path(b),
                             dest / "blobs" / "sha256" / std::string(digest_hex(b))));
  TRY(os::write_file_atomic(dest / "oci-layout", kLayoutFile));
  return os::write_file_atomic(dest / "index.json", contents.index.dump() + "\n");
}

namespace {

using LoadProgress = std::function<void(uint64_t)>;

// Streams a blob named by its digest (blobs/sha256/<hex>) into `tmp`,
// hashed and written on two threads while the archive is read; a mismatch
// keeps nothing.
Result<void> stream_blob(archive::TarReader& reader, const std::string& digest, const fs::path& tmp,
                         const LoadProgress& progress) {
  os::UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd) return std::unexpected(os::errno_error("creating", tmp));
  // Not written behind: the load does not wait for the disk (see
  // Store::adopt_blobs_unsynced), the kernel writes back when it sees fit.
  archive::FdSink file(fd.get());
  archive::NullSink counted;
  archive::HashingSink hashing(counted);
  Result<void> r;
  {
    // Hashing and writing, each on a core of its own.
    archive::ThreadedSink threaded({&hashing, &file});
    LoadProgress at_position;
    if (progress) at_position = [&](uint64_t) { progress(reader.position()); };
    CountingSink counting(threaded, at_position);
    r = reader.copy_data_to(counting);
    if (r) r = counting.finish();
  }
  if (r && hashing.digest() != digest)
    r = fail(Errc::invalid_argument,
             fmt::format("digest mismatch: expected {}, content has {}", digest, hashing.digest()));
  if (!r) ::unlink(tmp.c_str());
  return r;
}

// The verified blobs of an archive, waiting under the store's tmp_dir() to
// be adopted together once the whole archive has been read (gone if it is
// not).
class NewBlobs {
 public:
  explicit NewBlobs(store::Store& store) : store_(store) {}
  ~NewBlobs() {
    for (const auto& b : blobs_) ::unlink(b.tmp_file.c_str());
  }
  NewBlobs(const NewBlobs&) = delete;
  NewBlobs& operator=(const NewBlobs&) = delete;

  Result<void> add(archive::TarReader& reader, const std::string& digest,
                   const LoadProgress& progress) {
    if (store_.has_blob(digest) || !seen_.insert(digest).second) return {};
    fs::path tmp = store_.tmp_dir() / fmt::format("load-{}-{}", ::getpid(), digest_hex(digest));
    if (auto r = stream_blob(reader, digest, tmp, progress); !r) return r;
    blobs_.push_back({tmp, digest});
    return {};
  }
  Result<void> adopt() {
    auto r = store_.adopt_blobs_unsynced(blobs_);
    blobs_.clear();
    return r;
  }

 private:
  store::Store& store_;
  std::vector<store::Store::NewBlob> blobs_;
  std::set<std::string> seen_;
};

// Extracts the regular files of an archive under `dir` (paths checked);
// blobs named by their digest go straight into the store.
Result<void> extract(store::Store& store, const fs::path& archive_path, const fs::path& dir,
                     const LoadProgress& progress) {
  auto reader = archive::TarReader::open(archive_path);
  if (!reader) return std::unexpected(reader.error());
  NewBlobs blobs(store);
  for (;;) {
    if (progress) progress(reader->position());
    auto e = reader->next();
    if (!e) return std::unexpected(e.error());
    if (!*e) return blobs.adopt();
    if ((*e)->type != archive::TarEntry::file) continue;
    std::string rel = safe_relative_path((*e)->path).value_or("");
    if (rel.empty())
      return fail(Errc::invalid_argument,
                  fmt::format("archive entry \"{}\" leaves the archive", (*e)->path));
    if (rel.starts_with("blobs/sha256/")) {
      std::string digest = "sha256:" + rel.substr(13);
      if (valid_digest(digest)) {
        if (auto r = blobs.add(*reader, digest, progress); !r) return r;
        continue;
      }
    }
    // Only what a loader reads is kept: its documents, capped before a
    // byte is written, and a docker archive's layer tars; the rest (which
    // may be a gigabyte of zeros) is skipped unread.
    bool document = rel.ends_with(".json") || rel == "oci-layout" || rel == "repositories";
    if (!document && !rel.ends_with(".tar")) continue;
    if (document && (*e)->size > oci::kMaxConfigBytes)
      return fail(Errc::invalid_argument,
                  fmt::format("archive entry \"{}\" is {} bytes, more than the {} strata reads "
                              "of a document",
                              rel, (*e)->size, oci::kMaxConfigBytes));
    fs::path out = dir / rel;
    if (auto r = os::make_dirs(out.parent_path()); !r) return r;
    os::UniqueFd fd(
        ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644));
    if (!fd) return std::unexpected(os::errno_error("creating", out));
    if (auto r = reader->copy_data_to(fd.get()); !r) return r;
  }
}

// Moves a blob from the extracted archive into the store, checking that its
// content matches `digest`.
Result<void> import_blob(store::Store& store, const fs::path& dir, const std::string& digest) {
  if (!valid_digest(digest))
    return fail(Errc::invalid_argument, fmt::format("unsupported digest \"{}\"", digest));
  if (store.has_blob(digest)) return {};
  fs::path src = dir / "blobs" / "sha256" / std::string(digest_hex(digest));
  fs::path tmp =
      store.tmp_dir() / fmt::format("load-{}-{}", ::getpid(), digest_hex(digest).substr(0, 12));
  std::error_code ec;
  fs::rename(src, tmp, ec);
  if (ec) {
    fs::copy_file(src, tmp, fs::copy_options::overwrite_existing, ec);
    if (ec)
      return fail(Errc::not_found, fmt::format("blob {} is missing from the archive", digest));
  }
  if (auto r = store.commit_blob(tmp, digest); !r)
    return std::unexpected(r.error().with_context("archive blob " + digest));
  return {};
}

// A blob an archive names, in the store now, has the size its descriptor
// declares; a manifest or config is small enough to read.
Result<void> import_described(store::Store& store, const fs::path& dir, const oci::Descriptor& d,
                              std::string_view what) {
  if (auto r = import_blob(store, dir, d.digest); !r) return r;
  std::error_code ec;
  auto size = fs::file_size(store.blob_path(d.digest), ec);
  if (ec) return fail(Errc::io, fmt::format("{} {}: {}", what, d.digest, ec.message()));
  if (static_cast<uint64_t>(d.size) != size)
    return fail(Errc::invalid_argument, fmt::format("{} {} is {} bytes, but its descriptor says {}",
                                                    what, d.digest, size, d.size));
  return {};
}

// Names the images of an archive once every one of them was read whole (a
// failed load tags nothing); an image without a name is told by its digest.
// Without `tag`, only says which they are.
Result<LoadedArchive> tag_all(store::Store& store,
                              const std::vector<std::pair<std::string, oci::Descriptor>>& tags,
                              bool tag) {
  LoadedArchive loaded;
  for (const auto& [name, desc] : tags) {
    if (std::none_of(loaded.images.begin(), loaded.images.end(),
                     [&](const oci::Descriptor& d) { return d.digest == desc.digest; }))
      loaded.images.push_back(desc);
    if (name.empty()) {
      loaded.names.push_back(desc.digest);
      continue;
    }
    if (tag) TRY(store.tag(name, desc));
    loaded.names.push_back(oci::normalize_name(name));
  }
  return loaded;
}

}  // namespace

// The image a descriptor of a layout's index is, without its blobs.
static LayoutImage layout_image(oci::Descriptor desc) {
  LayoutImage img;
  if (auto ref = desc.annotations.find(oci::kRefNameAnnotation); ref != desc.annotations.end())
    img.ref_name = ref->second;
  // The full name containerd writes, else the OCI ref name.
  if (auto it = desc.annotations.find("io.containerd.image.name"); it != desc.annotations.end())
    img.name = oci::familiar_name(it->second);
  else
    img.name = img.ref_name;
  desc.annotations.clear();
  img.manifest = std::move(desc);
  return img;
}

static Result<oci::Index> read_layout_index(const fs::path& dir) {
  auto text = os::read_file(dir / "index.json", oci::kMaxManifestBytes);
  if (!text) return std::unexpected(text.error());
  return oci::parse_index(*text, (dir / "index.json").string());
}

Result<std::vector<LayoutImage>> read_oci_layout_index(const fs::path& dir) {
  auto index = read_layout_index(dir);
  if (!index) return std::unexpected(index.error());
  std::vector<LayoutImage> images;
  for (auto& desc : index->manifests) images.push_back(layout_image(std::move(desc)));
  return images;
}

namespace {

// A manifest or index the layout names, into the store: its text.
Result<std::string> import_document(store::Store& store, const fs::path& dir,
                                    const oci::Descriptor& desc) {
  TRY(import_described(store, dir, desc, "manifest"));
  return store.read_blob(desc.digest);
}

// An image manifest the layout's index (or an index in it) names, already
// in the store as `text`, with its config and layers; its media type.
Result<std::string> import_layout_image(store::Store& store, const fs::path& dir,
                                        const oci::Descriptor& desc, const std::string& text) {
  auto m = TRY_VALUE(oci::parse_manifest(text, "manifest " + desc.digest));
  TRY(import_described(store, dir, m.config, "config"));
  auto ctext = TRY_VALUE(store.read_blob(m.config.digest));
  auto config = TRY_VALUE(oci::parse_config(ctext, "config " + m.config.digest));
  if (config.diff_ids.size() != m.layers.size())
    return fail(Errc::invalid_argument,
                fmt::format("manifest {} has {} layers, but its config names {} diff ids",
                            desc.digest, m.layers.size(), config.diff_ids.size()));
  for (const auto& l : m.layers) TRY(import_described(store, dir, l, "layer"));
  return m.media_type;
}

// Whether a blob of the layout is an index (its media type says so, or it
// lists manifests).
bool is_index_text(const std::string& text) {
  auto doc = json::parse(text, nullptr, false);
  if (!doc.is_object()) return false;
  if (doc.contains("mediaType") && doc["mediaType"].is_string())
    return oci::is_index_media_type(doc["mediaType"].get<std::string>());
  return doc.contains("manifests");
}

}  // namespace

Result<std::vector<LayoutImage>> import_oci_layout(store::Store& store, const fs::path& dir) {
  auto index = TRY_VALUE(read_layout_index(dir));
  std::vector<LayoutImage> images;
  for (auto& desc : index.manifests) {
    auto text = TRY_VALUE(import_document(store, dir, desc));
    if (!is_index_text(text)) {
      auto media_type = TRY_VALUE(import_layout_image(store, dir, desc, text));
      if (desc.media_type.empty()) desc.media_type = media_type;
      images.push_back(layout_image(std::move(desc)));
      continue;
    }
    // A multi-platform image: the platforms the layout holds.
    auto inner = TRY_VALUE(oci::parse_index(text, "index " + desc.digest));
    if (desc.media_type.empty()) desc.media_type = inner.media_type;
    std::vector<oci::Descriptor> platforms;
    for (const auto& m : inner.manifests) {
      std::error_code ec;
      if (!store.has_blob(m.digest) &&
          !fs::exists(dir / "blobs" / "sha256" / std::string(digest_hex(m.digest)), ec))
        continue;
      if (oci::is_index_media_type(m.media_type))
        return fail(Errc::invalid_argument,
                    fmt::format("index {} lists another index ({}): strata reads an index of "
                                "images",
                                desc.digest, m.digest));
      TRY(import_layout_image(store, dir, m, TRY_VALUE(import_document(store, dir, m))));
      platforms.push_back(m);
    }
    if (platforms.empty())
      return fail(Errc::invalid_argument,
                  fmt::format("index {}: the layout holds none of its {} images", desc.digest,
                              inner.manifests.size()));
    auto img = layout_image(std::move(desc));
    img.platforms = std::move(platforms);
    images.push_back(std::move(img));
  }
  return images;
}

namespace {

Result<LoadedArchive> load_oci(store::Store& store, const fs::path& dir, bool tag) {
  auto images = TRY_VALUE(import_oci_layout(store, dir));
  std::vector<std::pair<std::string, oci::Descriptor>> tags;
  for (const auto& img : images) tags.emplace_back(img.name, img.manifest);
  auto loaded = TRY_VALUE(tag_all(store, tags, tag));
  // The images themselves, every platform's of an index.
  loaded.images.clear();
  for (const auto& img : images) {
    std::vector<oci::Descriptor> of = img.platforms;
    if (of.empty()) of.push_back(img.manifest);
    for (const auto& d : of)
      if (std::none_of(loaded.images.begin(), loaded.images.end(),
                       [&](const oci::Descriptor& e) { return e.digest == d.digest; }))
        loaded.images.push_back(d);
  }
  loaded.index_annotations = TRY_VALUE(read_layout_index(dir)).annotations;
  return loaded;
}

// Where a file of the archive is: extracted under `dir`, or already in the
// store when it was a blob named by its digest (extract() streams those).
fs::path archived(store::Store& store, const fs::path& dir, const std::string& rel) {
  fs::path p = dir / rel;
  struct stat st {};
  if (::stat(p.c_str(), &st) == 0 || !rel.starts_with("blobs/sha256/")) return p;
  std::string digest = "sha256:" + rel.substr(13);
  return valid_digest(digest) && store.has_blob(digest) ? store.blob_path(digest) : p;
}

Result<LoadedArchive> load_docker(store::Store& store, const fs::path& dir, bool tag) {
  auto text = os::read_file(dir / "manifest.json", oci::kMaxManifestBytes);
  if (!text) return std::unexpected(text.error());
  auto entries = oci::parse_docker_archive_manifest(*text);
  if (!entries) return std::unexpected(entries.error());
  std::vector<std::pair<std::string, oci::Descriptor>> tags;
  for (const auto& e : *entries) {
    std::string config_path = safe_relative_path(e.config).value_or("");
    if (config_path.empty())
      return fail(Errc::syntax, fmt::format("manifest.json: Config \"{}\" names no file "
                                            "inside the archive",
                                            e.config));
    auto config = os::read_file(archived(store, dir, config_path), oci::kMaxConfigBytes);
    if (!config) return std::unexpected(config.error());
    auto cfg = oci::parse_config(*config, config_path);
    if (!cfg) return std::unexpected(cfg.error());
    const std::vector<std::string>& diff_ids = cfg->diff_ids;
    if (diff_ids.size() != e.layers.size())
      return fail(Errc::invalid_argument,
                  fmt::format("manifest.json names {} layers for {}, but it names {} diff ids",
                              e.layers.size(), config_path, diff_ids.size()));
    auto cdesc = store.put_blob(*config, oci::kConfig);
    if (!cdesc) return std::unexpected(cdesc.error());
    oci::Manifest m;
    m.config = *cdesc;
    size_t i = 0;
    for (const auto& layer_path : e.layers) {
      std::string rel = safe_relative_path(layer_path).value_or("");
      if (rel.empty())
        return fail(Errc::syntax, fmt::format("manifest.json: layer \"{}\" names no file "
                                              "inside the archive",
                                              layer_path));
      fs::path p = archived(store, dir, rel);
      auto digest = sha256_file(p);
      if (!digest) return std::unexpected(digest.error());
      std::string head(2, '\0');
      {
        os::UniqueFd fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC));
        if (fd) (void)!::read(fd.get(), head.data(), 2);
      }
      bool gzip = head[0] == '\x1f' && head[1] == '\x8b';
      if (!gzip && diff_ids[i] != *digest) {
        return fail(Errc::invalid_argument,
                    fmt::format("layer {} has digest {}, but the image config says {}", rel,
                                *digest, diff_ids[i]));
      }
      struct stat st {};
      ::stat(p.c_str(), &st);
      if (!store.has_blob(*digest)) {
        fs::path tmp = store.tmp_dir() / fmt::format("load-{}-{}", ::getpid(), i);
        std::error_code ec;
        fs::copy_file(p, tmp, fs::copy_options::overwrite_existing, ec);
        if (ec) return fail(Errc::io, fmt::format("copying {}: {}", rel, ec.message()));
        if (auto r = store.commit_blob(tmp, *digest); !r) return std::unexpected(r.error());
      }
      m.layers.push_back({gzip ? oci::kLayerGzip : oci::kLayerTar,
                          *digest,
                          static_cast<int64_t>(st.st_size),
                          {},
                          {}});
      ++i;
    }
    auto mdesc = store.put_blob(oci::to_json_text(m), oci::kManifest);
    if (!mdesc) return std::unexpected(mdesc.error());
    if (e.repo_tags.empty()) tags.emplace_back("", *mdesc);
    for (const auto& t : e.repo_tags) tags.emplace_back(oci::familiar_name(t), *mdesc);
  }
  return tag_all(store, tags, tag);
}

}  // namespace

Result<LoadedArchive> load_archive(store::Store& store, const fs::path& archive_path,
                                   const LoadOptions& opts) {
  struct stat st {};
  uint64_t total = ::stat(archive_path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
  LoadProgress at;
  if (opts.progress) at = [&](uint64_t done) { opts.progress(std::min(done, total), total); };
  auto tmp = os::TempDir::create(store.tmp_dir(), "load-");
  if (!tmp) return std::unexpected(tmp.error());
  const fs::path* dir = &tmp->path();
  if (auto r = extract(store, archive_path, *dir, at); !r)
    return std::unexpected(r.error().with_context("reading " + archive_path.string()));
  std::error_code ec;
  // An archive with both (like strata's own) is read as OCI, which names blobs by digest.
  if (fs::exists(*dir / "index.json", ec)) return load_oci(store, *dir, opts.tag);
  if (fs::exists(*dir / "manifest.json", ec)) return load_docker(store, *dir, opts.tag);
  return fail(Errc::syntax, fmt::format("{} is neither an OCI archive nor a docker archive",
                                        archive_path.string()));
}

}  // namespace strata::exporter
