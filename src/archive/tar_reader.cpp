#include <archive.h>
#include <archive_entry.h>
#include <fmt/format.h>
#include <sys/stat.h>

#include <vector>

#include "archive/tar.hpp"
#include "digest/sha256.hpp"
#include "os/fs.hpp"

namespace strata::archive {

struct TarReader::Impl {
  struct archive* a = archive_read_new();
  std::string memory;  // keeps open_memory's data alive
  // open_hashing: `raw` undoes the compression; the tar reader `a` reads
  // what it gives through read_raw(), which hashes every byte on the way.
  struct archive* raw = nullptr;
  std::vector<char> raw_buf;
  Sha256 hash;
  uint64_t hashed = 0;
  bool raw_failed = false;
  ~Impl() {
    archive_read_free(a);
    if (raw) archive_read_free(raw);
  }
  static la_ssize_t read_raw(struct archive*, void* self, const void** out) {
    auto* impl = static_cast<Impl*>(self);
    if (impl->raw_buf.empty()) return 0;  // an empty input
    la_ssize_t n = archive_read_data(impl->raw, impl->raw_buf.data(), impl->raw_buf.size());
    if (n < 0) {
      impl->raw_failed = true;
      return -1;
    }
    impl->hash.update(impl->raw_buf.data(), static_cast<size_t>(n));
    impl->hashed += static_cast<uint64_t>(n);
    *out = impl->raw_buf.data();
    return n;
  }
  Error error(std::string_view what) const {
    const char* msg = archive_error_string(a);
    return Error{Errc::io, fmt::format("{}: {}", what, msg ? msg : "unknown error")};
  }
};

TarReader::TarReader() : impl_(std::make_unique<Impl>()) {
  archive_read_support_filter_all(impl_->a);
  archive_read_support_format_tar(impl_->a);
  archive_read_support_format_gnutar(impl_->a);
}
TarReader::~TarReader() = default;
TarReader::TarReader(TarReader&&) noexcept = default;

Result<void> decompress(const std::filesystem::path& path, Sink& sink) {
  struct archive* a = archive_read_new();
  archive_read_support_filter_all(a);
  archive_read_support_format_raw(a);
  auto error = [&](std::string_view what) {
    const char* msg = archive_error_string(a);
    Error e{Errc::io, fmt::format("{} {}: {}", what, path.string(), msg ? msg : "unknown error")};
    archive_read_free(a);
    return std::unexpected(e);
  };
  if (archive_read_open_filename(a, path.c_str(), 1 << 20) != ARCHIVE_OK) return error("opening");
  struct archive_entry* ae = nullptr;
  int rc = archive_read_next_header(a, &ae);
  if (rc == ARCHIVE_EOF) {  // an empty file
    archive_read_free(a);
    return {};
  }
  if (rc != ARCHIVE_OK) return error("reading");
  std::vector<char> buf(1 << 20);
  for (;;) {
    la_ssize_t n = archive_read_data(a, buf.data(), buf.size());
    if (n < 0) return error("decompressing");
    if (n == 0) break;
    if (auto r = sink.write(buf.data(), static_cast<size_t>(n)); !r) {
      archive_read_free(a);
      return r;
    }
  }
  archive_read_free(a);
  return {};
}

Result<TarReader> TarReader::open(const std::filesystem::path& path) {
  TarReader r;
  if (archive_read_open_filename(r.impl_->a, path.c_str(), 1 << 20) != ARCHIVE_OK)
    return std::unexpected(r.impl_->error("opening " + path.string()));
  return r;
}

Result<TarReader> TarReader::open_hashing(const std::filesystem::path& path) {
  TarReader r;
  Impl& impl = *r.impl_;
  impl.raw = archive_read_new();
  archive_read_support_filter_all(impl.raw);
  archive_read_support_format_raw(impl.raw);
  impl.raw_buf.resize(1 << 20);
  auto raw_error = [&](std::string_view what) {
    const char* msg = archive_error_string(impl.raw);
    return Error{Errc::io,
                 fmt::format("{} {}: {}", what, path.string(), msg ? msg : "unknown error")};
  };
  if (archive_read_open_filename(impl.raw, path.c_str(), 1 << 20) != ARCHIVE_OK)
    return std::unexpected(raw_error("opening"));
  struct archive_entry* ae = nullptr;
  int rc = archive_read_next_header(impl.raw, &ae);
  if (rc != ARCHIVE_OK && rc != ARCHIVE_EOF) return std::unexpected(raw_error("reading"));
  if (rc == ARCHIVE_EOF) impl.raw_buf.clear();  // an empty file: read_raw gives nothing
  // The tar reader sees the decompressed bytes: no filters of its own.
  archive_read_free(impl.a);
  impl.a = archive_read_new();
  archive_read_support_format_tar(impl.a);
  archive_read_support_format_gnutar(impl.a);
  if (archive_read_open(impl.a, &impl, nullptr, &Impl::read_raw, nullptr) != ARCHIVE_OK)
    return std::unexpected(impl.error("opening " + path.string()));
  return r;
}

Result<std::string> TarReader::finish_hashing() {
  Impl& impl = *impl_;
  if (!impl.raw) return fail(Errc::internal, "finish_hashing of a reader not opened to hash");
  // What the tar reader did not need (padding after the end blocks) counts.
  const void* ignored = nullptr;
  while (!impl.raw_buf.empty()) {
    la_ssize_t n = Impl::read_raw(nullptr, &impl, &ignored);
    if (n < 0) break;
    if (n == 0) break;
  }
  if (impl.raw_failed) {
    const char* msg = archive_error_string(impl.raw);
    return fail(Errc::io, fmt::format("decompressing: {}", msg ? msg : "unknown error"));
  }
  return impl.hash.finish();
}

Result<TarReader> TarReader::open_memory(std::string_view data) {
  TarReader r;
  r.impl_->memory = std::string(data);
  if (archive_read_open_memory(r.impl_->a, r.impl_->memory.data(), r.impl_->memory.size()) !=
      ARCHIVE_OK)
    return std::unexpected(r.impl_->error("opening an archive"));
  return r;
}

Result<std::optional<TarEntry>> TarReader::next() {
  struct archive_entry* ae = nullptr;
  int rc = archive_read_next_header(impl_->a, &ae);
  if (rc == ARCHIVE_EOF) return std::nullopt;
  if (rc < ARCHIVE_WARN) return std::unexpected(impl_->error("reading a tar header"));
  TarEntry e;
  const char* p = archive_entry_pathname(ae);
  e.path = p ? p : "";
  while (e.path.starts_with("./")) e.path.erase(0, 2);
  while (e.path.starts_with("/")) e.path.erase(0, 1);
  while (e.path.size() > 1 && e.path.ends_with("/")) e.path.pop_back();
  e.mode = archive_entry_perm(ae) & 07777;
  e.uid = static_cast<uint32_t>(archive_entry_uid(ae));
  e.gid = static_cast<uint32_t>(archive_entry_gid(ae));
  e.mtime = archive_entry_mtime(ae);
  e.size = static_cast<uint64_t>(archive_entry_size(ae));
  if (const char* hl = archive_entry_hardlink(ae)) {
    e.type = TarEntry::hardlink;
    e.linkname = hl;
    while (e.linkname.starts_with("./")) e.linkname.erase(0, 2);
    while (e.linkname.starts_with("/")) e.linkname.erase(0, 1);
    e.size = 0;
  } else {
    switch (archive_entry_filetype(ae)) {
      case AE_IFDIR:
        e.type = TarEntry::dir;
        break;
      case AE_IFLNK:
        e.type = TarEntry::symlink;
        e.linkname = archive_entry_symlink(ae) ? archive_entry_symlink(ae) : "";
        break;
      case AE_IFCHR:
        e.type = TarEntry::chardev;
        break;
      case AE_IFBLK:
        e.type = TarEntry::blockdev;
        break;
      case AE_IFIFO:
        e.type = TarEntry::fifo;
        break;
      default:
        e.type = TarEntry::file;
    }
    if (e.type != TarEntry::file) e.size = 0;
  }
  e.devmajor = static_cast<uint32_t>(archive_entry_rdevmajor(ae));
  e.devminor = static_cast<uint32_t>(archive_entry_rdevminor(ae));
  archive_entry_xattr_reset(ae);
  const char* name;
  const void* value;
  size_t size;
  while (archive_entry_xattr_next(ae, &name, &value, &size) == ARCHIVE_OK)
    e.xattrs[name] = std::string(static_cast<const char*>(value), size);
  return e;
}

Result<void> TarReader::copy_data_to(int fd) {
  std::vector<char> buf(1 << 20);
  for (;;) {
    la_ssize_t n = archive_read_data(impl_->a, buf.data(), buf.size());
    if (n < 0) return std::unexpected(impl_->error("reading tar data"));
    if (n == 0) return {};
    if (auto r = os::write_all(fd, buf.data(), static_cast<size_t>(n)); !r) return r;
  }
}

Result<void> TarReader::copy_data_to(Sink& sink) {
  std::vector<char> buf(1 << 20);
  for (;;) {
    la_ssize_t n = archive_read_data(impl_->a, buf.data(), buf.size());
    if (n < 0) return std::unexpected(impl_->error("reading tar data"));
    if (n == 0) return {};
    if (auto r = sink.write(buf.data(), static_cast<size_t>(n)); !r) return r;
  }
}

uint64_t TarReader::hashed_size() const {
  return impl_->hashed;
}

uint64_t TarReader::position() const {
  la_int64_t n = archive_filter_bytes(impl_->a, -1);
  return n > 0 ? static_cast<uint64_t>(n) : 0;
}

Result<std::string> TarReader::read_data() {
  std::string out;
  std::vector<char> buf(1 << 16);
  for (;;) {
    la_ssize_t n = archive_read_data(impl_->a, buf.data(), buf.size());
    if (n < 0) return std::unexpected(impl_->error("reading tar data"));
    if (n == 0) return out;
    out.append(buf.data(), static_cast<size_t>(n));
  }
}

}  // namespace strata::archive
