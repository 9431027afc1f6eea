#include "archive/sink.hpp"

#include <fmt/format.h>
#include <zlib.h>
#include <zstd.h>

#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "os/fs.hpp"

namespace strata::archive {

Result<void> FdSink::write(const void* data, size_t size) {
  return os::write_all(fd_, data, size);
}

Result<void> HashingSink::write(const void* data, size_t size) {
  hash_.update(data, size);
  size_ += size;
  return next_.write(data, size);
}

Result<void> HashingSink::finish() {
  digest_ = hash_.finish();
  return next_.finish();
}

struct ThreadedSink::State {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::string> queue;
  bool done = false;
  std::optional<Error> error;
  std::thread worker;
};

namespace {
constexpr size_t kBlock = 1 << 20;
constexpr size_t kQueued = 4;  // blocks in flight
}  // namespace

ThreadedSink::ThreadedSink(Sink& next) : next_(next), state_(std::make_unique<State>()) {
  block_.reserve(kBlock);
  state_->worker = std::thread([this] {
    State& st = *state_;
    for (;;) {
      std::string block;
      {
        std::unique_lock lock(st.mu);
        st.cv.wait(lock, [&] { return !st.queue.empty() || st.done; });
        if (st.queue.empty()) return;
        block = std::move(st.queue.front());
        st.queue.pop_front();
        st.cv.notify_all();
        if (st.error) continue;  // drain without writing
      }
      if (auto r = next_.write(block.data(), block.size()); !r) {
        std::lock_guard lock(st.mu);
        st.error = r.error();
      }
    }
  });
}

ThreadedSink::~ThreadedSink() {
  {
    std::lock_guard lock(state_->mu);
    state_->done = true;
  }
  state_->cv.notify_all();
  if (state_->worker.joinable()) state_->worker.join();
}

Result<void> ThreadedSink::hand_over(bool last) {
  State& st = *state_;
  std::unique_lock lock(st.mu);
  st.cv.wait(lock, [&] { return st.queue.size() < kQueued; });
  if (st.error) return std::unexpected(*st.error);
  if (!block_.empty()) st.queue.push_back(std::move(block_));
  block_ = std::string();
  if (last)
    st.done = true;
  else
    block_.reserve(kBlock);
  st.cv.notify_all();
  return {};
}

Result<void> ThreadedSink::write(const void* data, size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    size_t n = std::min(size, kBlock - block_.size());
    block_.append(p, n);
    p += n;
    size -= n;
    if (block_.size() == kBlock)
      if (auto r = hand_over(false); !r) return r;
  }
  return {};
}

Result<void> ThreadedSink::finish() {
  if (auto r = hand_over(true); !r) return r;
  state_->worker.join();
  if (state_->error) return std::unexpected(*state_->error);
  return next_.finish();
}

std::string_view to_string(Compression c) {
  switch (c) {
    case Compression::none:
      return "none";
    case Compression::gzip:
      return "gzip";
    case Compression::zstd:
      return "zstd";
  }
  return "?";
}

namespace {

class PassSink : public Sink {
 public:
  explicit PassSink(Sink& next) : next_(next) {}
  Result<void> write(const void* d, size_t n) override { return next_.write(d, n); }
  Result<void> finish() override { return next_.finish(); }

 private:
  Sink& next_;
};

// gzip in independent 1 MiB blocks, each a complete gzip member, compressed
// on every core and written in order: a multi-member stream that gzip, zlib,
// Go's readers (docker, containerd, podman, skopeo) and libarchive read as
// one. The block size is fixed, so the bytes do not depend on the number of
// cores; headers carry no time and no name.
class GzipSink : public Sink {
 public:
  GzipSink(Sink& next, int level)
      : next_(next),
        level_(level < 0 ? Z_DEFAULT_COMPRESSION : level),
        in_flight_max_(2 * std::max(1u, std::thread::hardware_concurrency())) {
    block_.reserve(kGzipBlock);
  }
  Result<void> write(const void* data, size_t size) override {
    const char* p = static_cast<const char*>(data);
    while (size > 0) {
      size_t n = std::min(size, kGzipBlock - block_.size());
      block_.append(p, n);
      p += n;
      size -= n;
      if (block_.size() == kGzipBlock)
        if (auto r = submit(); !r) return r;
    }
    return {};
  }
  Result<void> finish() override {
    if (!block_.empty() || !started_)  // an empty stream is still one (empty) member
      if (auto r = submit(); !r) return r;
    while (!in_flight_.empty())
      if (auto r = write_oldest(); !r) return r;
    return next_.finish();
  }

 private:
  static constexpr size_t kGzipBlock = 1 << 20;

  static Result<std::string> compress(const std::string& in, int level) {
    z_stream z{};
    // windowBits 15 + 16: a gzip header (mtime 0, no name).
    if (deflateInit2(&z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
      return fail(Errc::internal, "gzip: cannot initialise");
    std::string out(deflateBound(&z, static_cast<uLong>(in.size())) + 64, '\0');
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z.avail_in = static_cast<uInt>(in.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    int rc = deflate(&z, Z_FINISH);
    out.resize(z.total_out);
    deflateEnd(&z);
    if (rc != Z_STREAM_END) return fail(Errc::internal, "gzip: block did not fit its bound");
    return out;
  }

  Result<void> submit() {
    while (in_flight_.size() >= in_flight_max_)
      if (auto r = write_oldest(); !r) return r;
    in_flight_.push_back(std::async(std::launch::async, compress, std::move(block_), level_));
    block_ = std::string();
    block_.reserve(kGzipBlock);
    started_ = true;
    return {};
  }

  Result<void> write_oldest() {
    auto out = in_flight_.front().get();
    in_flight_.pop_front();
    if (!out) return std::unexpected(out.error());
    return next_.write(out->data(), out->size());
  }

  Sink& next_;
  int level_;
  size_t in_flight_max_;
  std::string block_;
  std::deque<std::future<Result<std::string>>> in_flight_;
  bool started_ = false;
};

class ZstdSink : public Sink {
 public:
  ZstdSink(Sink& next, int level)
      : next_(next), ctx_(ZSTD_createCCtx()), out_(ZSTD_CStreamOutSize()) {
    ZSTD_CCtx_setParameter(ctx_, ZSTD_c_compressionLevel, level < 0 ? 3 : level);
    unsigned workers = std::max(1u, std::thread::hardware_concurrency());
    ZSTD_CCtx_setParameter(ctx_, ZSTD_c_nbWorkers, static_cast<int>(workers));
  }
  ~ZstdSink() override { ZSTD_freeCCtx(ctx_); }
  Result<void> write(const void* data, size_t size) override {
    return pump(data, size, ZSTD_e_continue);
  }
  Result<void> finish() override {
    if (auto r = pump(nullptr, 0, ZSTD_e_end); !r) return r;
    return next_.finish();
  }

 private:
  Result<void> pump(const void* data, size_t size, ZSTD_EndDirective mode) {
    ZSTD_inBuffer in{data, size, 0};
    for (;;) {
      ZSTD_outBuffer out{out_.data(), out_.size(), 0};
      size_t rem = ZSTD_compressStream2(ctx_, &out, &in, mode);
      if (ZSTD_isError(rem))
        return fail(Errc::internal, fmt::format("zstd: {}", ZSTD_getErrorName(rem)));
      if (out.pos)
        if (auto r = next_.write(out_.data(), out.pos); !r) return r;
      if (mode == ZSTD_e_end ? rem == 0 : in.pos == in.size) return {};
    }
  }
  Sink& next_;
  ZSTD_CCtx* ctx_;
  std::vector<char> out_;
};

}  // namespace

std::unique_ptr<Sink> make_compressor(Compression c, Sink& next, int level) {
  switch (c) {
    case Compression::gzip:
      return std::make_unique<GzipSink>(next, level);
    case Compression::zstd:
      return std::make_unique<ZstdSink>(next, level);
    case Compression::none:
      break;
  }
  return std::make_unique<PassSink>(next);
}

}  // namespace strata::archive
