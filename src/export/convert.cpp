#include "export/convert.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include "archive/tar.hpp"
#include "os/fs.hpp"
#include "snapshot/layer.hpp"

namespace fs = std::filesystem;

namespace strata::exporter {

namespace {

std::optional<archive::Compression> compression_of(const std::string& media_type) {
  if (media_type.ends_with("+gzip") || media_type.ends_with(".tar.gzip") ||
      media_type == "application/vnd.docker.image.rootfs.diff.tar.gzip")
    return archive::Compression::gzip;
  if (media_type.ends_with("+zstd")) return archive::Compression::zstd;
  if (media_type.ends_with(".tar")) return archive::Compression::none;
  return std::nullopt;
}

}  // namespace

std::optional<archive::Compression> parse_compression(std::string_view s) {
  if (s == "gzip") return archive::Compression::gzip;
  if (s == "zstd") return archive::Compression::zstd;
  if (s == "uncompressed" || s == "none") return archive::Compression::none;
  return std::nullopt;
}

bool needs_conversion(const oci::Descriptor& layer, const CompressionOptions& opts) {
  if (!opts.compression) return false;
  bool same = compression_of(layer.media_type) == *opts.compression;
  return !same || (opts.force && opts.level >= 0);
}

Result<oci::Descriptor> layer_in(store::Store& store, const oci::Descriptor& layer,
                                 const std::string& diff_id, archive::Compression compression,
                                 int level) {
  std::string name(archive::to_string(compression));
  auto rows = store.db().query(
      "SELECT digest, media_type, size FROM conversions WHERE source = ? AND compression = ? AND "
      "level = ?",
      {layer.digest, name, std::to_string(level)});
  if (!rows) return std::unexpected(rows.error());
  if (!rows->empty() && (*rows)[0][0] && store.has_blob(*(*rows)[0][0]))
    return oci::Descriptor{(*rows)[0][1].value_or(snapshot::layer_media_type(compression)),
                           *(*rows)[0][0],
                           std::stoll((*rows)[0][2].value_or("0")),
                           {},
                           {}};

  if (auto r = store.ensure_blob(layer); !r) return std::unexpected(r.error());
  fs::path tmp = store.tmp_dir() /
                 fmt::format("convert-{}-{}", ::getpid(), digest_hex(layer.digest).substr(0, 12));
  std::string digest, raw_digest;
  uint64_t size = 0;
  {
    os::UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!fd) return std::unexpected(os::errno_error("creating", tmp));
    archive::FdSink file(fd.get(), true);  // fsynced when committed
    archive::HashingSink compressed(file);
    auto compressor = archive::make_compressor(compression, compressed, level);
    archive::ThreadedSink compressing(*compressor);
    archive::HashingSink raw(compressing);
    auto r = archive::decompress(store.blob_path(layer.digest), raw);
    if (r) r = raw.finish();
    if (!r) {
      ::unlink(tmp.c_str());
      return std::unexpected(r.error().with_context("converting layer " + layer.digest));
    }
    digest = compressed.digest();
    raw_digest = raw.digest();
    size = compressed.size();
  }
  if (!diff_id.empty() && raw_digest != diff_id) {
    ::unlink(tmp.c_str());
    return fail(Errc::invalid_argument,
                fmt::format("layer {} holds {} uncompressed, but the image says {}", layer.digest,
                            raw_digest, diff_id));
  }
  if (store.has_blob(digest))
    ::unlink(tmp.c_str());
  else if (auto r = store.commit_blob(tmp, digest); !r)
    return std::unexpected(r.error());
  oci::Descriptor out{
      snapshot::layer_media_type(compression), digest, static_cast<int64_t>(size), {}, {}};
  if (auto r = store.db().exec(
          "INSERT OR REPLACE INTO conversions (source, compression, level, digest, media_type, "
          "size) VALUES (?, ?, ?, ?, ?, ?)",
          {layer.digest, name, std::to_string(level), digest, out.media_type,
           std::to_string(size)});
      !r)
    return std::unexpected(r.error());
  return out;
}

Result<images::StoredImage> with_compression(store::Store& store, const images::StoredImage& image,
                                             size_t first_new, const CompressionOptions& opts) {
  if (!opts.compression) return image;
  images::StoredImage out = image;
  bool changed = false;
  for (size_t i = 0; i < out.manifest.layers.size(); ++i) {
    oci::Descriptor& l = out.manifest.layers[i];
    bool ours = i >= first_new;
    if (!needs_conversion(l, opts) || (!ours && !opts.force)) continue;
    std::string diff_id = i < out.layers.size() ? out.layers[i].diff_id : std::string();
    auto converted = layer_in(store, l, diff_id, *opts.compression, opts.level);
    if (!converted) return std::unexpected(converted.error());
    if (converted->digest != l.digest) changed = true;
    l = *converted;
    if (i < out.layers.size()) out.layers[i].blob = *converted;
  }
  if (!changed) return out;
  auto man = store.put_blob(oci::to_json_text(out.manifest), oci::kManifest);
  if (!man) return std::unexpected(man.error());
  out.manifest_desc = *man;
  return out;
}

}  // namespace strata::exporter
