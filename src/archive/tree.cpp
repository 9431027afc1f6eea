#include "archive/tree.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive/sink.hpp"
#include "archive/tar.hpp"
#include "os/fs.hpp"

namespace fs = std::filesystem;

namespace strata::archive {

bool is_archive_name(const fs::path& p) {
  std::string s = p.filename().string();
  return s.ends_with(".tar") || s.ends_with(".tar.gz") || s.ends_with(".tgz") ||
         s.ends_with(".tar.zst");
}

Result<void> pack_directory(const fs::path& dir, const fs::path& file) {
  std::string name = file.string();
  Compression c = name.ends_with(".tar")       ? Compression::none
                  : name.ends_with(".tar.zst") ? Compression::zstd
                                               : Compression::gzip;
  auto file_out = os::NewFile::create(file);
  if (!file_out) return std::unexpected(file_out.error());
  FdSink out(file_out->fd());
  auto compressor = make_compressor(c, out);
  TarWriter tar(*compressor);
  auto r = os::walk_sorted(
      dir,
      [&](const std::string& rel, const fs::path& full, const struct stat& st) -> Result<void> {
        TarEntry t;
        t.path = rel;
        t.mode = st.st_mode & 07777;
        t.mtime = st.st_mtime;
        if (S_ISDIR(st.st_mode)) {
          t.type = TarEntry::dir;
          return tar.add(t);
        }
        if (!S_ISREG(st.st_mode)) return {};
        t.size = static_cast<uint64_t>(st.st_size);
        os::UniqueFd in(::open(full.c_str(), O_RDONLY | O_CLOEXEC));
        if (!in) return std::unexpected(os::errno_error("opening", full));
        return tar.add(t, in.get());
      });
  if (r) r = tar.finish();
  if (!r) return r;
  return file_out->publish();
}

Result<void> unpack_directory(const fs::path& file, const fs::path& dir) {
  auto reader = TarReader::open(file);
  if (!reader) return std::unexpected(reader.error());
  for (;;) {
    auto e = reader->next();
    if (!e) return std::unexpected(e.error().with_context("reading " + file.string()));
    if (!*e) return {};
    const auto& t = **e;
    if (t.path.empty() || t.path.starts_with("/") || t.path == ".." || t.path.starts_with("../") ||
        t.path.find("/../") != std::string::npos || t.path.ends_with("/.."))
      return fail(Errc::invalid_argument,
                  fmt::format("{}: entry {} leaves the directory", file.string(), t.path));
    fs::path p = dir / t.path;
    if (t.type == TarEntry::dir) {
      if (auto r = os::make_dirs(p); !r) return r;
    } else if (t.type == TarEntry::file) {
      if (auto r = os::make_dirs(p.parent_path()); !r) return r;
      os::UniqueFd out(::open(p.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
      if (!out) return std::unexpected(os::errno_error("creating", p));
      if (auto r = reader->copy_data_to(out.get()); !r) return r;
    }
  }
}

Result<void> in_output_directory(const fs::path& dest, const fs::path& tmp_parent,
                                 const DirectoryWork& write) {
  if (!is_archive_name(dest)) return write(dest);
  auto tmp = os::TempDir::create(tmp_parent, "pack-");
  if (!tmp) return std::unexpected(tmp.error());
  if (auto r = write(tmp->path()); !r) return r;
  return pack_directory(tmp->path(), dest);
}

Result<void> in_input_directory(const fs::path& src, const fs::path& tmp_parent,
                                const DirectoryWork& read) {
  struct stat st {};
  if (::stat(src.c_str(), &st) != 0) return std::unexpected(os::errno_error("reading", src));
  if (S_ISDIR(st.st_mode)) return read(src);
  auto tmp = os::TempDir::create(tmp_parent, "unpack-");
  if (!tmp) return std::unexpected(tmp.error());
  if (auto r = unpack_directory(src, tmp->path()); !r) return r;
  return read(tmp->path());
}

}  // namespace strata::archive
