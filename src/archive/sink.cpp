#include "archive/sink.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "os/fs.hpp"

namespace strata::archive {

Result<void> Sink::write_frame(std::string_view raw, std::string_view, const FrameDone&) {
  return write(raw.data(), raw.size());
}

Result<void> FdSink::write(const void* data, size_t size) {
  if (auto r = os::write_all(fd_, data, size); !r) return r;
  written_ += size;
  constexpr uint64_t kWriteBehind = 8 << 20;
  if (write_behind_ && written_ - flushed_ >= kWriteBehind) {
    // Only a hint: a failure shows up at the fsync that follows.
    (void)::sync_file_range(fd_, static_cast<off64_t>(flushed_),
                            static_cast<off64_t>(written_ - flushed_), SYNC_FILE_RANGE_WRITE);
    flushed_ = written_;
  }
  return {};
}

Result<void> HashingSink::write(const void* data, size_t size) {
  hash_.update(data, size);
  size_ += size;
  return next_.write(data, size);
}

Result<void> HashingSink::write_frame(std::string_view raw, std::string_view compressed,
                                      const FrameDone& done) {
  hash_.update(raw.data(), raw.size());
  size_ += raw.size();
  return next_.write_frame(raw, compressed, done);
}

Result<void> HashingSink::finish() {
  digest_ = hash_.finish();
  return next_.finish();
}

// Blocks in flight, shared by the sinks' threads: a block goes once every
// sink has written it.
struct ThreadedSink::State {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::shared_ptr<const std::string>> blocks;
  uint64_t first = 0;          // the number of blocks.front() in the stream
  uint64_t produced = 0;       // blocks handed over
  std::vector<uint64_t> next;  // per sink: the number of the block it writes next
  bool done = false;
  std::optional<Error> error;
  std::vector<std::thread> workers;
};

namespace {
constexpr size_t kBlock = 1 << 20;
constexpr size_t kQueued = 4;  // blocks in flight
}  // namespace

ThreadedSink::ThreadedSink(std::vector<Sink*> next)
    : next_(std::move(next)), state_(std::make_unique<State>()) {
  block_.reserve(kBlock);
  state_->next.assign(next_.size(), 0);
  for (size_t c = 0; c < next_.size(); ++c) {
    state_->workers.emplace_back([this, c] {
      State& st = *state_;
      std::unique_lock lock(st.mu);
      for (;;) {
        st.cv.wait(lock, [&] { return st.next[c] < st.produced || st.done; });
        if (st.next[c] == st.produced) return;
        auto block = st.blocks[st.next[c] - st.first];
        bool skip = st.error.has_value();  // drain without writing
        lock.unlock();
        Result<void> r;
        if (!skip) r = next_[c]->write(block->data(), block->size());
        lock.lock();
        if (!r && !st.error) st.error = r.error();
        ++st.next[c];
        while (!st.blocks.empty() && *std::min_element(st.next.begin(), st.next.end()) > st.first) {
          st.blocks.pop_front();
          ++st.first;
        }
        st.cv.notify_all();
      }
    });
  }
}

ThreadedSink::~ThreadedSink() {
  {
    std::lock_guard lock(state_->mu);
    state_->done = true;
  }
  state_->cv.notify_all();
  for (auto& t : state_->workers)
    if (t.joinable()) t.join();
}

Result<void> ThreadedSink::hand_over(bool last) {
  State& st = *state_;
  std::unique_lock lock(st.mu);
  st.cv.wait(lock, [&] { return st.blocks.size() < kQueued; });
  if (st.error) return std::unexpected(*st.error);
  if (!block_.empty()) {
    st.blocks.push_back(std::make_shared<const std::string>(std::move(block_)));
    ++st.produced;
  }
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
  for (auto& t : state_->workers) t.join();
  if (state_->error) return std::unexpected(*state_->error);
  for (Sink* n : next_)
    if (auto r = n->finish(); !r) return r;
  return {};
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

// gzip as independent members, each a complete gzip member of at most
// 1 MiB of input, compressed on every core and written in order: a
// multi-member stream that gzip, zlib, Go's readers (docker, containerd,
// podman, skopeo) and libarchive read as one. A member ends after 1 MiB and
// where a frame begins or ends, so the bytes depend on the input and its
// frames only, never on the number of cores; headers carry no time and no
// name. The compressing threads live as long as the sink and keep their
// zlib state from member to member.
class GzipSink : public Sink {
 public:
  GzipSink(Sink& next, int level)
      : next_(next),
        level_(level < 0 ? 6 : level),  // zlib's default
        in_flight_max_(2 * std::max(1u, std::thread::hardware_concurrency())) {
    block_.reserve(kMember);
    unsigned workers = std::max(1u, std::thread::hardware_concurrency());
    for (unsigned w = 0; w < workers; ++w) workers_.emplace_back([this] { work(); });
  }
  ~GzipSink() override {
    {
      std::lock_guard g(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
  }
  GzipSink(const GzipSink&) = delete;
  GzipSink& operator=(const GzipSink&) = delete;

  Result<void> write(const void* data, size_t size) override {
    const char* p = static_cast<const char*>(data);
    while (size > 0) {
      size_t n = std::min(size, kMember - block_.size());
      block_.append(p, n);
      p += n;
      size -= n;
      if (block_.size() == kMember)
        if (auto r = submit_block(); !r) return r;
    }
    return {};
  }

  std::string frame_format() const override { return fmt::format("gzip-{}", level_); }

  Result<void> write_frame(std::string_view raw, std::string_view compressed,
                           const FrameDone& done) override {
    if (raw.empty()) return {};
    if (!block_.empty())
      if (auto r = submit_block(); !r) return r;
    auto frame = done ? std::make_shared<Frame>(Frame{done, {}}) : nullptr;
    if (!compressed.empty()) {
      auto m = std::make_unique<Member>();
      m->out.assign(compressed);
      m->ready = true;
      m->frame = std::move(frame);
      m->ends_frame = true;
      return submit(std::move(m));
    }
    for (size_t at = 0; at < raw.size(); at += kMember) {
      auto m = std::make_unique<Member>();
      m->in.assign(raw.substr(at, kMember));
      m->frame = frame;
      m->ends_frame = at + kMember >= raw.size();
      if (auto r = submit(std::move(m)); !r) return r;
    }
    return {};
  }

  Result<void> finish() override {
    if (!block_.empty() || !started_)  // an empty stream is still one (empty) member
      if (auto r = submit_block(); !r) return r;
    while (!members_.empty())
      if (auto r = write_oldest(); !r) return r;
    return next_.finish();
  }

 private:
  static constexpr size_t kMember = 1 << 20;

  struct Frame {
    FrameDone done;
    std::string compressed;  // its members so far
  };
  struct Member {
    std::string in, out;
    bool ready = false;
    std::optional<Error> error;
    std::shared_ptr<Frame> frame;  // the frame this member is part of, when it is told
    bool ends_frame = false;
  };

  Result<void> submit_block() {
    auto m = std::make_unique<Member>();
    m->in = std::move(block_);
    block_ = std::string();
    block_.reserve(kMember);
    return submit(std::move(m));
  }

  Result<void> submit(std::unique_ptr<Member> m) {
    while (members_.size() >= in_flight_max_)
      if (auto r = write_oldest(); !r) return r;
    started_ = true;
    std::lock_guard g(mu_);
    if (!m->ready) todo_.push_back(m.get());
    members_.push_back(std::move(m));
    cv_.notify_all();
    return {};
  }

  Result<void> write_oldest() {
    std::unique_ptr<Member> m;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return members_.front()->ready; });
      m = std::move(members_.front());
      members_.pop_front();
    }
    if (m->error) return std::unexpected(*m->error);
    if (auto r = next_.write(m->out.data(), m->out.size()); !r) return r;
    if (m->frame) {
      m->frame->compressed += m->out;
      if (m->ends_frame) m->frame->done(m->frame->compressed);
    }
    return {};
  }

  // A compressing thread: one deflate state, reset for every member.
  void work() {
    z_stream z{};
    // windowBits 15 + 16: a gzip header (mtime 0, no name).
    bool ok = deflateInit2(&z, level_, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK;
    std::unique_lock lock(mu_);
    for (;;) {
      cv_.wait(lock, [&] { return !todo_.empty() || stopping_; });
      if (todo_.empty()) break;
      Member* m = todo_.front();
      todo_.pop_front();
      lock.unlock();
      if (!ok) {
        m->error = Error{Errc::internal, "gzip: cannot initialise"};
      } else {
        deflateReset(&z);
        size_t bound = deflateBound(&z, static_cast<uLong>(m->in.size())) + 64;
        m->out.resize_and_overwrite(bound, [&](char* buf, size_t n) {
          z.next_in = reinterpret_cast<Bytef*>(m->in.data());
          z.avail_in = static_cast<uInt>(m->in.size());
          z.next_out = reinterpret_cast<Bytef*>(buf);
          z.avail_out = static_cast<uInt>(n);
          if (deflate(&z, Z_FINISH) != Z_STREAM_END) {
            m->error = Error{Errc::internal, "gzip: member did not fit its bound"};
            return size_t{0};
          }
          return static_cast<size_t>(z.total_out);
        });
        m->in = std::string();
      }
      lock.lock();
      m->ready = true;
      cv_.notify_all();
    }
    if (ok) deflateEnd(&z);
  }

  Sink& next_;
  int level_;
  size_t in_flight_max_;
  std::string block_;
  bool started_ = false;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<Member>> members_;  // in stream order; guarded by mu_
  std::deque<Member*> todo_;                     // members no thread has taken yet
  bool stopping_ = false;
  std::vector<std::thread> workers_;
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

Result<void> check_level(Compression c, int level) {
  if (level == -1) return {};
  if (c == Compression::none)
    return fail(Errc::invalid_argument,
                fmt::format("compression level {}: an uncompressed archive has no level", level));
  auto [lo, hi] = c == Compression::gzip ? std::pair{0, 9} : std::pair{1, ZSTD_maxCLevel()};
  if (level < lo || level > hi)
    return fail(Errc::invalid_argument, fmt::format("compression level {}: {} takes {} to {}",
                                                    level, to_string(c), lo, hi));
  return {};
}

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
