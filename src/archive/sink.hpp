// Byte sinks that chain: a tar writer feeds a hasher (the diff id), which
// feeds a compressor, which feeds a hasher (the blob digest) and a file.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "digest/sha256.hpp"
#include "util/error.hpp"

namespace strata::archive {

// Receives the compressed bytes of a frame once they are written.
using FrameDone = std::function<void(std::string_view compressed)>;

class Sink {
 public:
  virtual ~Sink() = default;
  virtual Result<void> write(const void* data, size_t size) = 0;
  // Flushes everything down the chain; no write may follow.
  virtual Result<void> finish() = 0;

  // Frames: a writer that knows the structure of what it writes (a layer)
  // can have a run of bytes compressed on its own, apart from what comes
  // before and after, so that the same run always compresses to the same
  // bytes; and write a run compressed before as those bytes, without
  // compressing it again. frame_format() names the compressed form ("gzip-6",
  // say), "" when this chain compresses no frames on their own: a frame is
  // then simply written.
  virtual std::string frame_format() const { return {}; }
  // Writes `raw` as a frame. `compressed`, when not empty, is its compressed
  // form from an earlier frame of the same format, written as it is. `done`,
  // when set, receives the compressed form once it is written.
  virtual Result<void> write_frame(std::string_view raw, std::string_view compressed,
                                   const FrameDone& done);
};

// Keeps what is written in memory (a piece of a tar built to be cached).
class StringSink : public Sink {
 public:
  Result<void> write(const void* data, size_t size) override {
    bytes.append(static_cast<const char*>(data), size);
    return {};
  }
  Result<void> finish() override { return {}; }
  std::string bytes;
};

// Writes to a file descriptor it does not own.
// With `write_behind`, the kernel is asked to start writing each 8 MiB to
// disk once it is written, so that a later fsync or syncfs of a big file
// waits for little (the disk works while the bytes are still coming).
class FdSink : public Sink {
 public:
  explicit FdSink(int fd, bool write_behind = false) : fd_(fd), write_behind_(write_behind) {}
  Result<void> write(const void* data, size_t size) override;
  Result<void> finish() override { return {}; }

 private:
  int fd_;
  bool write_behind_;
  uint64_t written_ = 0, flushed_ = 0;
};

// Counts and hashes what passes through to `next`.
class HashingSink : public Sink {
 public:
  explicit HashingSink(Sink& next) : next_(next) {}
  Result<void> write(const void* data, size_t size) override;
  Result<void> finish() override;
  std::string frame_format() const override { return next_.frame_format(); }
  Result<void> write_frame(std::string_view raw, std::string_view compressed,
                           const FrameDone& done) override;
  const std::string& digest() const { return digest_; }  // after finish()
  uint64_t size() const { return size_; }

 private:
  Sink& next_;
  Sha256 hash_;
  std::string digest_;
  uint64_t size_ = 0;
};

// Passes writes on to `next` from a thread of its own, in blocks, so that
// what produces the bytes (a tar of many files) and what consumes them (a
// compressor) run on two cores. With several sinks, each gets the same bytes
// from a thread of its own (hashing a blob and writing it, say). The first
// error of a sink is returned by a later write() or by finish().
class ThreadedSink : public Sink {
 public:
  explicit ThreadedSink(Sink& next) : ThreadedSink(std::vector<Sink*>{&next}) {}
  explicit ThreadedSink(std::vector<Sink*> next);
  ~ThreadedSink() override;
  ThreadedSink(const ThreadedSink&) = delete;
  ThreadedSink& operator=(const ThreadedSink&) = delete;
  Result<void> write(const void* data, size_t size) override;
  Result<void> finish() override;

 private:
  struct State;
  Result<void> hand_over(bool last);
  std::vector<Sink*> next_;
  std::unique_ptr<State> state_;
  std::string block_;
};

// Discards what it is given (after a HashingSink that only counts).
class NullSink : public Sink {
 public:
  Result<void> write(const void*, size_t) override { return {}; }
  Result<void> finish() override { return {}; }
};

enum class Compression { none, gzip, zstd };
std::string_view to_string(Compression c);

// A compressing sink on every core (gzip: independent members of at most
// 1 MiB, ending where frames begin and end; zstd: its own worker threads,
// no frames).
std::unique_ptr<Sink> make_compressor(Compression c, Sink& next, int level = -1);

// Is `level` one the compressor takes (-1, its default; gzip 0-9, zstd
// 1-22)? The error says the range.
Result<void> check_level(Compression c, int level);

}  // namespace strata::archive
