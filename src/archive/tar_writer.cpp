#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "archive/tar.hpp"

namespace strata::archive {
namespace {

constexpr size_t kBlock = 512;

void octal(char* field, size_t width, uint64_t value) {
  // width-1 digits and a NUL, as GNU tar and Go write them.
  std::string s = fmt::format("{:0{}o}", value, width - 1);
  std::memcpy(field, s.data(), width - 1);
  field[width - 1] = '\0';
}

bool fits_octal(uint64_t v, size_t width) {
  return v < (uint64_t{1} << (3 * (width - 1)));
}

bool ascii(std::string_view s) {
  for (unsigned char c : s)
    if (c >= 0x80 || c == 0) return false;
  return true;
}

void pax_record(std::string& out, std::string_view key, std::string_view value) {
  // "<len> key=value\n", where len counts itself.
  size_t body = 1 + key.size() + 1 + value.size() + 1;
  size_t len = body + 1;
  while (std::to_string(len).size() + body != len) len = std::to_string(len).size() + body;
  out += fmt::format("{} {}={}\n", len, key, value);
}

char type_flag(TarEntry::Type t) {
  switch (t) {
    case TarEntry::file:
      return '0';
    case TarEntry::hardlink:
      return '1';
    case TarEntry::symlink:
      return '2';
    case TarEntry::chardev:
      return '3';
    case TarEntry::blockdev:
      return '4';
    case TarEntry::dir:
      return '5';
    case TarEntry::fifo:
      return '6';
  }
  return '0';
}

std::vector<char> make_header(std::string_view name, std::string_view link, char flag,
                              uint32_t mode, uint32_t uid, uint32_t gid, uint64_t size,
                              int64_t mtime, uint32_t devmajor, uint32_t devminor) {
  std::vector<char> h(kBlock, 0);
  std::memcpy(h.data(), name.data(), std::min<size_t>(name.size(), 100));
  octal(&h[100], 8, mode & 07777);
  octal(&h[108], 8, fits_octal(uid, 8) ? uid : 0);
  octal(&h[116], 8, fits_octal(gid, 8) ? gid : 0);
  octal(&h[124], 12, fits_octal(size, 12) ? size : 0);
  octal(
      &h[136], 12,
      mtime > 0 && fits_octal(static_cast<uint64_t>(mtime), 12) ? static_cast<uint64_t>(mtime) : 0);
  std::memset(&h[148], ' ', 8);
  h[156] = flag;
  std::memcpy(&h[157], link.data(), std::min<size_t>(link.size(), 100));
  std::memcpy(&h[257],
              "ustar\0"
              "00",
              8);
  octal(&h[329], 8, devmajor);
  octal(&h[337], 8, devminor);
  unsigned sum = 0;
  for (char c : h) sum += static_cast<unsigned char>(c);
  std::string chk = fmt::format("{:06o}", sum);
  std::memcpy(&h[148], chk.data(), 6);
  h[154] = '\0';
  h[155] = ' ';
  return h;
}

}  // namespace

Result<void> TarWriter::pad(uint64_t size) {
  static const char zeros[kBlock] = {};
  size_t rem = size % kBlock;
  if (rem == 0) return {};
  return out_.write(zeros, kBlock - rem);
}

Result<void> TarWriter::header(const TarEntry& e) {
  std::string name = e.path;
  if (e.type == TarEntry::dir && !name.ends_with("/")) name += '/';
  std::string pax;
  if (name.size() > 100 || !ascii(name)) pax_record(pax, "path", name);
  if (e.linkname.size() > 100 || !ascii(e.linkname)) pax_record(pax, "linkpath", e.linkname);
  if (!fits_octal(e.size, 12)) pax_record(pax, "size", std::to_string(e.size));
  if (!fits_octal(e.uid, 8)) pax_record(pax, "uid", std::to_string(e.uid));
  if (!fits_octal(e.gid, 8)) pax_record(pax, "gid", std::to_string(e.gid));
  if (e.mtime < 0 || !fits_octal(static_cast<uint64_t>(e.mtime), 12))
    pax_record(pax, "mtime", std::to_string(e.mtime));
  for (const auto& [k, v] : e.xattrs) pax_record(pax, "SCHILY.xattr." + k, v);
  if (!pax.empty()) {
    std::string pax_name = "PaxHeaders/" + name.substr(0, 80);
    auto h = make_header(pax_name, "", 'x', 0644, 0, 0, pax.size(), e.mtime, 0, 0);
    if (auto r = out_.write(h.data(), h.size()); !r) return r;
    if (auto r = out_.write(pax.data(), pax.size()); !r) return r;
    if (auto r = pad(pax.size()); !r) return r;
  }
  uint64_t size = e.type == TarEntry::file ? e.size : 0;
  auto h = make_header(name, e.linkname, type_flag(e.type), e.mode, e.uid, e.gid, size, e.mtime,
                       e.devmajor, e.devminor);
  return out_.write(h.data(), h.size());
}

Result<void> TarWriter::add(const TarEntry& e, int fd) {
  if (auto r = header(e); !r) return r;
  if (e.type != TarEntry::file || e.size == 0) return {};
  std::vector<char>& buf = buffer_;
  if (buf.empty()) buf.resize(1 << 20);  // once per writer: a layer has many files
  uint64_t left = e.size;
  while (left > 0) {
    ssize_t n = ::read(fd, buf.data(), std::min<uint64_t>(left, buf.size()));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(Errc::io, fmt::format("reading {}: {}", e.path, std::strerror(errno)));
    if (n == 0) return fail(Errc::io, fmt::format("{} shrank while it was archived", e.path));
    if (auto r = out_.write(buf.data(), static_cast<size_t>(n)); !r) return r;
    left -= static_cast<uint64_t>(n);
  }
  return pad(e.size);
}

Result<void> TarWriter::add_data(const TarEntry& e, std::string_view data) {
  TarEntry copy = e;
  copy.size = data.size();
  if (auto r = header(copy); !r) return r;
  if (auto r = out_.write(data.data(), data.size()); !r) return r;
  return pad(data.size());
}

namespace {

// Passes at most `limit` bytes on and counts them.
class LimitedSink : public Sink {
 public:
  LimitedSink(Sink& next, uint64_t limit, const std::string& path)
      : next_(next), limit_(limit), path_(path) {}
  Result<void> write(const void* data, size_t size) override {
    if (size > limit_ - written_)
      return fail(Errc::internal,
                  fmt::format("{}: more than the {} bytes its header gives", path_, limit_));
    written_ += size;
    return next_.write(data, size);
  }
  Result<void> finish() override { return {}; }
  uint64_t written() const { return written_; }

 private:
  Sink& next_;
  uint64_t limit_, written_ = 0;
  const std::string& path_;
};

}  // namespace

Result<void> TarWriter::add_streamed(
    const TarEntry& e, const std::function<Result<void>(Sink& content)>& write_content) {
  if (auto r = header(e); !r) return r;
  LimitedSink content(out_, e.size, e.path);
  if (auto r = write_content(content); !r) return r;
  if (content.written() != e.size)
    return fail(Errc::internal, fmt::format("{}: {} bytes written, its header gives {}", e.path,
                                            content.written(), e.size));
  return pad(e.size);
}

Result<void> TarWriter::finish() {
  static const char zeros[kBlock * 2] = {};
  if (auto r = out_.write(zeros, sizeof zeros); !r) return r;
  return out_.finish();
}

}  // namespace strata::archive
