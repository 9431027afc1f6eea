// File-system helpers with the durability the store needs: every write goes
// to a temporary file in the same directory, is fsynced and renamed, and the
// directory is fsynced, so a crash leaves the old file or the new one.
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.hpp"

namespace strata::os {

// An owned file descriptor, closed on destruction.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { reset(); }
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = o.release();
    }
    return *this;
  }
  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  int release() {
    int f = fd_;
    fd_ = -1;
    return f;
  }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

Error errno_error(std::string_view what, const std::filesystem::path& path);

// The names in a directory, without "." and "..", in no particular order.
Result<std::vector<std::string>> list_dir(const std::filesystem::path& dir);

// Calls `visit` for every entry under `root` (symlinks are not followed),
// parents before children, names sorted; `rel` is "/"-separated.
using TreeVisitor = std::function<Result<void>(
    const std::string& rel, const std::filesystem::path& full, const struct stat& st)>;
Result<void> walk_sorted(const std::filesystem::path& root, const TreeVisitor& visit);

// Copies `from` to `to` through a temporary name beside it, so that `to` is
// absent or whole. `observe` sees every chunk as it is copied (to hash it);
// an error from `check`, run before the rename, leaves `to` untouched.
// Returns the bytes copied.
Result<uint64_t> copy_file_atomic(const std::filesystem::path& from,
                                  const std::filesystem::path& to,
                                  const std::function<void(std::string_view)>& observe = {},
                                  const std::function<Result<void>()>& check = {});

// The whole file; more than `limit` bytes is an error that says so (input
// from outside is read with a limit: /dev/zero would never end).
Result<std::string> read_file(const std::filesystem::path& path,
                              uint64_t limit = std::numeric_limits<uint64_t>::max());
// The same from an open descriptor (stdin, say); `what` names it in errors.
Result<std::string> read_fd(int fd, const std::filesystem::path& what,
                            uint64_t limit = std::numeric_limits<uint64_t>::max());
// Writes `data` to `path` atomically (temp file, fsync, rename, fsync dir).
Result<void> write_file_atomic(const std::filesystem::path& path, std::string_view data);
// fsyncs a file or directory.
Result<void> fsync_path(const std::filesystem::path& path);
Result<void> make_dirs(const std::filesystem::path& path);
// A directory only this user may use: made with mode 0700 when missing; one
// that is not a directory of this user's with that mode is refused, the
// error naming it and ending with `what_to_do`.
Result<void> make_private_dir(const std::filesystem::path& dir, std::string_view what_to_do);
// A unique new directory under `parent`, named prefix + our process id +
// "-" + a random suffix (os/leftovers reads the id).
Result<std::filesystem::path> make_temp_dir(const std::filesystem::path& parent,
                                            std::string_view prefix);
// A temporary directory (make_temp_dir) removed with everything in it when
// the object goes.
class TempDir {
 public:
  static Result<TempDir> create(const std::filesystem::path& parent, std::string_view prefix);
  ~TempDir();
  TempDir(TempDir&& o) noexcept : path_(std::move(o.path_)) { o.path_.clear(); }
  TempDir& operator=(TempDir&&) = delete;
  const std::filesystem::path& path() const { return path_; }
  // The directory has been moved away or handed over: nothing to remove.
  void release() { path_.clear(); }

 private:
  explicit TempDir(std::filesystem::path p) : path_(std::move(p)) {}
  std::filesystem::path path_;
};

// A file written beside `dest` that takes dest's name only when it is whole
// (publish(): fsync, then rename over dest). It has no name while it is
// written (O_TMPFILE), so a writer that is killed leaves nothing behind; on
// file systems without O_TMPFILE it is "<dest>.tmp-<pid>" meanwhile, which
// the next NewFile for the same dest removes once that process is gone.
// Destroyed unpublished, it is dropped.
class NewFile {
 public:
  static Result<NewFile> create(const std::filesystem::path& dest, mode_t mode = 0644);
  ~NewFile();
  NewFile(NewFile&& o) noexcept
      : dest_(std::move(o.dest_)), named_(std::move(o.named_)), fd_(std::move(o.fd_)) {}
  NewFile& operator=(NewFile&&) = delete;
  int fd() const { return fd_.get(); }
  Result<void> publish();

 private:
  NewFile() = default;
  std::filesystem::path dest_, named_;  // named_: the fallback's name, if any
  UniqueFd fd_;
};

// Removes a tree without following symlinks; a missing path is not an error.
Result<void> remove_tree(const std::filesystem::path& path);
// Writes all of `data` to `fd`.
Result<void> write_all(int fd, const void* data, size_t size);

}  // namespace strata::os
