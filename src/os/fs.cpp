#include "os/fs.hpp"
#include "os/leftovers.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <random>

namespace fs = std::filesystem;

namespace strata::os {

Error errno_error(std::string_view what, const fs::path& path) {
  return Error{Errc::io, fmt::format("{} {}: {}", what, path.string(), std::strerror(errno))};
}

Result<std::string> read_fd(int fd, const fs::path& what, uint64_t limit) {
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return std::unexpected(errno_error("reading", what));
    if (n == 0) break;
    if (out.size() + static_cast<size_t>(n) > limit)
      return fail(
          Errc::invalid_argument,
          fmt::format("{} is larger than {} bytes, more than strata reads", what.string(), limit));
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

Result<std::string> read_file(const fs::path& path, uint64_t limit) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return std::unexpected(errno_error("opening", path));
  return read_fd(fd.get(), path, limit);
}

Result<void> write_all(int fd, const void* data, size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = ::write(fd, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(Errc::io, fmt::format("write: {}", std::strerror(errno)));
    p += n;
    size -= static_cast<size_t>(n);
  }
  return {};
}

Result<void> fsync_path(const fs::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return std::unexpected(errno_error("opening", path));
  if (::fsync(fd.get()) != 0) return std::unexpected(errno_error("fsync", path));
  return {};
}

Result<void> write_file_atomic(const fs::path& path, std::string_view data) {
  fs::path tmp = path;
  tmp += fmt::format(".tmp-{}", ::getpid());
  {
    UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!fd) return std::unexpected(errno_error("creating", tmp));
    if (auto r = write_all(fd.get(), data.data(), data.size()); !r) {
      ::unlink(tmp.c_str());
      return std::unexpected(r.error().with_context("writing " + tmp.string()));
    }
    if (::fsync(fd.get()) != 0) {
      ::unlink(tmp.c_str());
      return std::unexpected(errno_error("fsync", tmp));
    }
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return std::unexpected(errno_error("renaming into", path));
  }
  return fsync_path(path.parent_path().empty() ? fs::path(".") : path.parent_path());
}

Result<std::vector<std::string>> list_dir(const fs::path& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) return std::unexpected(errno_error("reading", dir));
  std::vector<std::string> names;
  errno = 0;
  while (struct dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.' &&
        (e->d_name[1] == '\0' || (e->d_name[1] == '.' && e->d_name[2] == '\0')))
      continue;
    names.emplace_back(e->d_name);
  }
  int err = errno;
  ::closedir(d);
  if (err != 0) {
    errno = err;
    return std::unexpected(errno_error("reading", dir));
  }
  return names;
}

namespace {

Result<void> walk_from(const fs::path& root, const std::string& rel, const TreeVisitor& visit) {
  auto names = list_dir(rel.empty() ? root : root / rel);
  if (!names) return std::unexpected(names.error());
  std::sort(names->begin(), names->end());
  for (const auto& name : *names) {
    std::string path = rel.empty() ? name : rel + "/" + name;
    fs::path full = root / path;
    struct stat st {};
    if (::lstat(full.c_str(), &st) != 0) return std::unexpected(errno_error("stat", full));
    if (auto r = visit(path, full, st); !r) return r;
    if (S_ISDIR(st.st_mode))
      if (auto r = walk_from(root, path, visit); !r) return r;
  }
  return {};
}

}  // namespace

Result<void> walk_sorted(const fs::path& root, const TreeVisitor& visit) {
  return walk_from(root, "", visit);
}

Result<uint64_t> copy_file_atomic(const fs::path& from, const fs::path& to,
                                  const std::function<void(std::string_view)>& observe,
                                  const std::function<Result<void>()>& check) {
  UniqueFd in(::open(from.c_str(), O_RDONLY | O_CLOEXEC));
  if (!in) return std::unexpected(errno_error("opening", from));
  fs::path tmp = to.string() + fmt::format(".tmp{}", ::getpid());
  UniqueFd out(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!out) return std::unexpected(errno_error("creating", tmp));
  auto failed = [&](Error e) {
    ::unlink(tmp.c_str());
    return std::unexpected(std::move(e));
  };
  uint64_t total = 0;
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(in.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return failed(errno_error("reading", from));
    if (n == 0) break;
    if (observe) observe(std::string_view(buf, static_cast<size_t>(n)));
    if (auto w = write_all(out.get(), buf, static_cast<size_t>(n)); !w) return failed(w.error());
    total += static_cast<uint64_t>(n);
  }
  out.reset();
  if (check)
    if (auto c = check(); !c) return failed(c.error());
  if (::rename(tmp.c_str(), to.c_str()) != 0) return failed(errno_error("renaming", tmp));
  return total;
}

Result<void> make_private_dir(const fs::path& dir, std::string_view what_to_do) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    return std::unexpected(errno_error("creating", dir));
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) return std::unexpected(errno_error("reading", dir));
  if (!S_ISDIR(st.st_mode) || st.st_uid != ::getuid() || (st.st_mode & 077) != 0)
    return fail(
        Errc::invalid_argument,
        fmt::format("{} is not a private directory of this user: {}", dir.string(), what_to_do));
  return {};
}

Result<void> make_dirs(const fs::path& path) {
  std::error_code ec;
  fs::create_directories(path, ec);
  if (ec) return fail(Errc::io, fmt::format("creating {}: {}", path.string(), ec.message()));
  return {};
}

Result<fs::path> make_temp_dir(const fs::path& parent, std::string_view prefix) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  for (int attempt = 0; attempt < 100; ++attempt) {
    // The process id in the name tells a later command whose it was
    // (os/leftovers).
    fs::path p =
        parent / fmt::format("{}{}-{:012x}", prefix, ::getpid(), rng() & 0xffffffffffffULL);
    if (::mkdir(p.c_str(), 0700) == 0) return p;
    if (errno != EEXIST) return std::unexpected(errno_error("creating", p));
  }
  return fail(Errc::io,
              fmt::format("could not create a temporary directory in {}", parent.string()));
}

Result<TempDir> TempDir::create(const fs::path& parent, std::string_view prefix) {
  auto p = make_temp_dir(parent, prefix);
  if (!p) return std::unexpected(p.error());
  return TempDir(*p);
}

TempDir::~TempDir() {
  if (!path_.empty()) (void)remove_tree(path_);
}

Result<void> remove_tree(const fs::path& path) {
  std::error_code ec;
  fs::remove_all(path, ec);  // does not follow symlinks
  if (ec && ec != std::errc::no_such_file_or_directory)
    return fail(Errc::io, fmt::format("removing {}: {}", path.string(), ec.message()));
  return {};
}

Result<NewFile> NewFile::create(const fs::path& dest, mode_t mode) {
  NewFile f;
  f.dest_ = dest;
  fs::path dir = dest.parent_path().empty() ? fs::path(".") : dest.parent_path();
  remove_stale_siblings(dest);
  f.fd_ = UniqueFd(::open(dir.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, mode));
  if (!f.fd_) {
    if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
      return std::unexpected(errno_error("creating a file in", dir));
    f.named_ = dest;
    f.named_ += fmt::format(".tmp-{}", ::getpid());
    f.fd_ = UniqueFd(::open(f.named_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
    if (!f.fd_) return std::unexpected(errno_error("creating", f.named_));
  }
  return f;
}

NewFile::~NewFile() {
  if (!named_.empty()) ::unlink(named_.c_str());
}

Result<void> NewFile::publish() {
  if (::fsync(fd_.get()) != 0) return std::unexpected(errno_error("fsync", dest_));
  if (named_.empty()) {
    // A name beside dest for a moment, then dest's own (linkat cannot replace).
    named_ = dest_;
    named_ += fmt::format(".tmp-{}", ::getpid());
    ::unlink(named_.c_str());
    std::string self = fmt::format("/proc/self/fd/{}", fd_.get());
    if (::linkat(AT_FDCWD, self.c_str(), AT_FDCWD, named_.c_str(), AT_SYMLINK_FOLLOW) != 0) {
      named_.clear();
      return std::unexpected(errno_error("naming", dest_));
    }
  }
  if (::rename(named_.c_str(), dest_.c_str()) != 0)
    return std::unexpected(errno_error("renaming into", dest_));
  named_.clear();
  return {};
}

}  // namespace strata::os
