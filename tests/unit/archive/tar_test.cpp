#include <gtest/gtest.h>
#include <zlib.h>

#include <optional>
#include <string>

#include "archive/tar.hpp"
#include "digest/sha256.hpp"

using namespace strata;
using namespace strata::archive;

namespace {

// Keeps what is written, and whether the chain was finished.
class RecordingSink : public Sink {
 public:
  Result<void> write(const void* d, size_t n) override {
    data.append(static_cast<const char*>(d), n);
    return {};
  }
  Result<void> finish() override {
    finished = true;
    return {};
  }
  std::string data;
  bool finished = false;
};

// zlib's own reader (windowBits 15 + 32 detects gzip), member after member;
// nullopt when a member does not inflate.
std::optional<std::string> gunzip_members(std::string gz) {
  std::string plain;
  size_t at = 0;
  while (at < gz.size()) {
    z_stream z{};
    if (inflateInit2(&z, 15 + 32) != Z_OK) return std::nullopt;
    z.next_in = reinterpret_cast<Bytef*>(gz.data() + at);
    z.avail_in = static_cast<uInt>(gz.size() - at);
    char buf[1 << 16];
    int rc;
    do {
      z.next_out = reinterpret_cast<Bytef*>(buf);
      z.avail_out = sizeof buf;
      rc = inflate(&z, Z_NO_FLUSH);
      plain.append(buf, sizeof buf - z.avail_out);
    } while (rc == Z_OK);
    at += z.total_in;
    inflateEnd(&z);
    if (rc != Z_STREAM_END) return std::nullopt;
  }
  return plain;
}

std::string write_sample(Compression c) {
  RecordingSink out;
  auto comp = make_compressor(c, out);
  TarWriter tar(*comp);
  TarEntry dir;
  dir.type = TarEntry::dir;
  dir.path = "etc";
  dir.mode = 0755;
  EXPECT_TRUE(tar.add(dir));
  TarEntry file;
  file.path = "etc/" + std::string(150, 'x') + "-long-name-é";
  file.mode = 04755;
  file.uid = 3000000;  // needs PAX
  file.xattrs["security.capability"] = std::string("\x01\x00\x00\x02", 4);
  EXPECT_TRUE(tar.add_data(file, "hello"));
  TarEntry link;
  link.type = TarEntry::symlink;
  link.path = "etc/link";
  link.linkname = "/target";
  EXPECT_TRUE(tar.add(link));
  TarEntry hard;
  hard.type = TarEntry::hardlink;
  hard.path = "etc/hard";
  hard.linkname = file.path;
  EXPECT_TRUE(tar.add(hard));
  EXPECT_TRUE(tar.finish());
  EXPECT_TRUE(out.finished);
  return out.data;
}

}  // namespace

TEST(Tar, RoundTripsThroughLibarchiveInEveryCompression) {
  for (auto c : {Compression::none, Compression::gzip, Compression::zstd}) {
    SCOPED_TRACE(std::string(to_string(c)));
    std::string data = write_sample(c);
    auto r = TarReader::open_memory(data);
    ASSERT_TRUE(r) << r.error().message;
    auto d = r->next();
    ASSERT_TRUE(d && *d);
    EXPECT_EQ((*d)->type, TarEntry::dir);
    EXPECT_EQ((*d)->path, "etc");
    auto f = r->next();
    ASSERT_TRUE(f && *f);
    EXPECT_EQ((*f)->path, "etc/" + std::string(150, 'x') + "-long-name-é");
    EXPECT_EQ((*f)->mode, 04755u);
    EXPECT_EQ((*f)->uid, 3000000u);
    EXPECT_EQ((*f)->xattrs.at("security.capability"), std::string("\x01\x00\x00\x02", 4));
    EXPECT_EQ(*r->read_data(), "hello");
    auto l = r->next();
    ASSERT_TRUE(l && *l);
    EXPECT_EQ((*l)->type, TarEntry::symlink);
    EXPECT_EQ((*l)->linkname, "/target");
    auto h = r->next();
    ASSERT_TRUE(h && *h);
    EXPECT_EQ((*h)->type, TarEntry::hardlink);
    EXPECT_EQ((*h)->linkname, (*f)->path);
    auto end = r->next();
    ASSERT_TRUE(end);
    EXPECT_FALSE(*end);
  }
}

TEST(Tar, OutputIsDeterministic) {
  EXPECT_EQ(write_sample(Compression::gzip), write_sample(Compression::gzip));
  EXPECT_EQ(write_sample(Compression::none).size() % 512, 0u);
}

TEST(Tar, HashingSinkCountsAndHashes) {
  RecordingSink out;
  HashingSink h(out);
  ASSERT_TRUE(h.write("abc", 3));
  ASSERT_TRUE(h.finish());
  EXPECT_EQ(h.size(), 3u);
  EXPECT_EQ(h.digest(), "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Tar, AStreamedEntryIsReadBackAndMustHaveItsSize) {
  StringSink out;
  TarWriter tar(out);
  TarEntry e;
  e.path = "layer.tar";
  e.size = 5;
  ASSERT_TRUE(tar.add_streamed(e, [](Sink& s) { return s.write("hello", 5); }));
  ASSERT_TRUE(tar.finish());
  auto r = TarReader::open_memory(out.bytes);
  ASSERT_TRUE(r);
  auto entry = r->next();
  ASSERT_TRUE(entry && *entry);
  EXPECT_EQ((*entry)->path, "layer.tar");
  EXPECT_EQ(r->read_data().value_or(""), "hello");

  StringSink short_out, long_out;
  TarWriter short_tar(short_out), long_tar(long_out);
  EXPECT_FALSE(short_tar.add_streamed(e, [](Sink& s) { return s.write("hell", 4); }));
  EXPECT_FALSE(long_tar.add_streamed(e, [](Sink& s) { return s.write("hello!", 6); }));
}

TEST(Tar, GarbageIsAnError) {
  auto r = TarReader::open_memory(std::string(1024, '\x7f'));
  bool rejected = !r || !r->next();
  EXPECT_TRUE(rejected);
}

// A file bigger than a gzip block: several members, read back as one stream
// by libarchive and by zlib, the same bytes whatever the thread timing, and
// passed through a ThreadedSink unchanged.
TEST(Gzip, BlocksAreMembersReadAsOneStream) {
  std::string content;
  for (uint64_t i = 0; content.size() < (3u << 20) + 12345; ++i)
    content += "line " + std::to_string(i * 7919 % 100003) + "\n";
  auto make = [&](bool threaded) {
    RecordingSink out;
    auto gz = make_compressor(Compression::gzip, out);
    std::optional<ThreadedSink> t;
    if (threaded) t.emplace(*gz);
    Sink& first = threaded ? static_cast<Sink&>(*t) : *gz;
    TarWriter tar(first);
    TarEntry f;
    f.path = "big.txt";
    EXPECT_TRUE(tar.add_data(f, content));
    EXPECT_TRUE(tar.finish());
    return out.data;
  };
  std::string a = make(false), b = make(true);
  EXPECT_EQ(a, b);
  // More than one member: a second gzip header after the first member.
  EXPECT_NE(a.find(std::string("\x1f\x8b\x08", 3), 10), std::string::npos);
  auto r = TarReader::open_memory(a);
  ASSERT_TRUE(r);
  auto e = r->next();
  ASSERT_TRUE(e && *e);
  auto data = r->read_data();
  ASSERT_TRUE(data);
  EXPECT_EQ(*data, content);
  // zlib's own reader across members.
  auto plain = gunzip_members(a);
  ASSERT_TRUE(plain);
  EXPECT_NE(plain->find(content), std::string::npos);
}

TEST(Gzip, EmptyStreamIsValid) {
  RecordingSink out;
  auto gz = make_compressor(Compression::gzip, out);
  ASSERT_TRUE(gz->finish());
  EXPECT_GE(out.data.size(), 18u);
  EXPECT_EQ(out.data.substr(0, 2), std::string("\x1f\x8b", 2));
}

// Frames: a frame is compressed apart from what comes before and after (its
// own members), so that writing its compressed form again, without
// compressing, gives the very same stream; a frame over 1 MiB is several
// members; sinks that compress no frames write them as plain bytes.
TEST(Gzip, FramesAreCompressedOnTheirOwnAndReused) {
  std::string before(70000, 'b'), frame, after = "after the frame";
  for (uint64_t i = 0; frame.size() < (1u << 20) + 5000; ++i)
    frame += "frame line " + std::to_string(i * 7919 % 100003) + "\n";
  auto gzip = [](std::string_view data) {
    RecordingSink out;
    auto gz = make_compressor(Compression::gzip, out);
    EXPECT_TRUE(gz->write(data.data(), data.size()));
    EXPECT_TRUE(gz->finish());
    return out.data;
  };
  std::string kept;
  auto write = [&](std::string_view compressed, std::string* got) {
    RecordingSink out;
    auto gz = make_compressor(Compression::gzip, out);
    HashingSink raw(*gz);
    EXPECT_EQ(raw.frame_format(), "gzip-6");
    EXPECT_TRUE(raw.write(before.data(), before.size()));
    FrameDone done;
    if (got) done = [got](std::string_view c) { *got = std::string(c); };
    EXPECT_TRUE(raw.write_frame(frame, compressed, done));
    EXPECT_TRUE(raw.write(after.data(), after.size()));
    EXPECT_TRUE(raw.finish());
    EXPECT_EQ(raw.size(), before.size() + frame.size() + after.size());
    return out.data;
  };
  std::string first = write({}, &kept);
  // The frame's form is its own members: the first MiB, then the rest.
  EXPECT_EQ(kept, gzip(frame.substr(0, 1 << 20)) + gzip(frame.substr(1 << 20)));
  EXPECT_EQ(first, gzip(before) + kept + gzip(after));
  EXPECT_EQ(write(kept, nullptr), first);
  // Read back as one stream by zlib, member after member.
  EXPECT_EQ(gunzip_members(first), before + frame + after);
  // zstd and no compression: no frame format, frames are plain bytes.
  for (auto c : {Compression::none, Compression::zstd}) {
    RecordingSink out;
    auto sink = make_compressor(c, out);
    EXPECT_EQ(sink->frame_format(), "");
    bool called = false;
    EXPECT_TRUE(sink->write_frame(frame, {}, [&](std::string_view) { called = true; }));
    EXPECT_TRUE(sink->finish());
    EXPECT_FALSE(called);
    if (c == Compression::none) {
      EXPECT_EQ(out.data, frame);
    }
  }
}

// A ThreadedSink with two sinks: each gets every byte, in order, from a
// thread of its own; a failing sink's error comes back to the writer.
TEST(ThreadedSink, EverySinkGetsTheSameBytes) {
  std::string data;
  for (uint64_t i = 0; data.size() < (5u << 20) + 777; ++i) data += std::to_string(i * 31) + ",";
  RecordingSink a;
  NullSink none;
  HashingSink b(none);
  {
    ThreadedSink t({&a, &b});
    for (size_t at = 0; at < data.size(); at += 100000)
      ASSERT_TRUE(t.write(data.data() + at, std::min<size_t>(100000, data.size() - at)));
    ASSERT_TRUE(t.finish());
  }
  EXPECT_EQ(a.data, data);
  EXPECT_TRUE(a.finished);
  EXPECT_EQ(b.size(), data.size());
  EXPECT_EQ(b.digest(), sha256_digest(data));

  class Failing : public Sink {
   public:
    Result<void> write(const void*, size_t) override { return fail(Errc::io, "disk full"); }
    Result<void> finish() override { return {}; }
  } failing;
  RecordingSink c;
  ThreadedSink t({&c, &failing});
  Result<void> r;
  for (size_t at = 0; r && at < data.size(); at += 100000)
    r = t.write(data.data() + at, std::min<size_t>(100000, data.size() - at));
  if (r) r = t.finish();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "disk full");
}
