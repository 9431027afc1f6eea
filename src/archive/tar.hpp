// Tar archives: a deterministic PAX writer (layers, archives strata writes)
// and a reader for any tar in any compression (base layers, `strata load`).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "archive/sink.hpp"
#include "util/error.hpp"

namespace strata::archive {

struct TarEntry {
  enum Type { file, dir, symlink, hardlink, chardev, blockdev, fifo } type = file;
  std::string path;      // relative, "/"-separated, no leading "./" or "/"
  uint32_t mode = 0644;  // permission bits incl. setuid/setgid/sticky
  uint32_t uid = 0, gid = 0;
  uint64_t size = 0;     // regular files only
  int64_t mtime = 0;     // seconds since the epoch
  std::string linkname;  // symlink target or hardlink source path
  uint32_t devmajor = 0, devminor = 0;
  std::map<std::string, std::string> xattrs;  // e.g. security.capability
  // A regular file, mode 0644, owned by root: a member of an archive strata
  // writes (a blob, index.json), not a file of a layer.
  static TarEntry archive_member(std::string path, uint64_t size) {
    TarEntry e;
    e.path = std::move(path);
    e.size = size;
    return e;
  }
};

class TarWriter {
 public:
  explicit TarWriter(Sink& out) : out_(out) {}
  // Adds an entry; a regular file's `size` bytes are read from `content_fd`.
  Result<void> add(const TarEntry& e, int content_fd = -1);
  Result<void> add_data(const TarEntry& e, std::string_view data);
  // Adds a regular file whose `e.size` bytes `write_content` writes to the
  // sink it is given (a stream: a layer decompressed on its way out). Fewer
  // or more bytes than e.size is an error.
  Result<void> add_streamed(const TarEntry& e,
                            const std::function<Result<void>(Sink& content)>& write_content);
  // Appends entries another TarWriter wrote (whole blocks, no end marker)
  // as a frame of the sink (see Sink::write_frame).
  Result<void> add_frame(std::string_view entries, std::string_view compressed = {},
                         const FrameDone& done = {}) {
    return out_.write_frame(entries, compressed, done);
  }
  std::string frame_format() const { return out_.frame_format(); }
  // Writes the end-of-archive blocks and finishes the sink chain.
  Result<void> finish();

 private:
  Result<void> header(const TarEntry& e);
  Result<void> pad(uint64_t size);
  Sink& out_;
  std::vector<char> buffer_;  // file contents on their way to out_
};

// The bytes of a file with its compression (gzip, zstd, xz, bzip2, or none)
// undone, written to `sink` (not finished).
Result<void> decompress(const std::filesystem::path& path, Sink& sink);

class TarReader {
 public:
  ~TarReader();
  TarReader(TarReader&&) noexcept;
  // Any tar (ustar, PAX, GNU), plain or gzip/bzip2/xz/zstd compressed.
  static Result<TarReader> open(const std::filesystem::path& path);
  static Result<TarReader> open_memory(std::string_view data);
  // Like open(), and every byte of the decompressed stream is hashed:
  // finish_hashing() reads what is left and returns its digest
  // ("sha256:<hex>"), the layer's diff id.
  static Result<TarReader> open_hashing(const std::filesystem::path& path);
  Result<std::string> finish_hashing();
  // The bytes hashed so far: after finish_hashing(), the layer's size.
  uint64_t hashed_size() const;
  // The next entry, or nullopt at the end.
  Result<std::optional<TarEntry>> next();
  // The current regular file's contents.
  Result<void> copy_data_to(int fd);
  Result<void> copy_data_to(Sink& sink);  // does not finish() the sink
  Result<std::string> read_data();
  // Bytes of the (compressed) input consumed so far.
  uint64_t position() const;

 private:
  TarReader();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace strata::archive
