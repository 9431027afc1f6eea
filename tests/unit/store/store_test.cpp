#include "store/store.hpp"

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "digest/sha256.hpp"
#include "os/fs.hpp"
#include "store/db.hpp"
#include "store/gc.hpp"
#include "util/strings.hpp"

using namespace strata;
namespace fs = std::filesystem;

namespace {
struct TempRoot {
  fs::path path = fs::temp_directory_path() / ("strata-store-test-" + std::to_string(::getpid()));
  TempRoot() { fs::remove_all(path); }
  ~TempRoot() { fs::remove_all(path); }
};
}  // namespace

TEST(Store, IsAnOciLayoutFromTheStart) {
  TempRoot t;
  auto s = store::Store::open(t.path);
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(*os::read_file(t.path / "oci-layout"), R"({"imageLayoutVersion":"1.0.0"})");
  auto index = nlohmann::json::parse(*os::read_file(t.path / "index.json"));
  EXPECT_EQ(index["schemaVersion"], 2);
  EXPECT_TRUE(index["manifests"].empty());
}

TEST(Store, BlobsAreContentAddressed) {
  TempRoot t;
  auto s = store::Store::open(t.path);
  ASSERT_TRUE(s);
  auto d = s->put_blob("data", "text/plain");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->digest, sha256_digest("data"));
  EXPECT_EQ(d->size, 4);
  EXPECT_TRUE(s->has_blob(d->digest));
  EXPECT_EQ(*s->read_blob(d->digest), "data");
  EXPECT_FALSE(s->read_blob("sha256:../../etc/passwd"));
}

TEST(Store, CommitRefusesContentThatDoesNotMatch) {
  TempRoot t;
  auto s = store::Store::open(t.path);
  ASSERT_TRUE(s);
  fs::path tmp = s->tmp_dir() / "x";
  std::ofstream(tmp) << "tampered";
  std::string claimed = sha256_digest("original");
  auto r = s->commit_blob(tmp, claimed);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("digest mismatch"), std::string::npos);
  EXPECT_FALSE(s->has_blob(claimed));
  EXPECT_FALSE(fs::exists(tmp));
}

namespace {
std::string this_boot() {
  return std::string(strata::trim(*os::read_file("/proc/sys/kernel/random/boot_id")));
}

// Adopts files with the given contents without a sync; returns their digests.
std::vector<std::string> adopt_unsynced(store::Store& s, const std::vector<std::string>& contents) {
  std::vector<store::Store::NewBlob> blobs;
  std::vector<std::string> digests;
  for (size_t i = 0; i < contents.size(); ++i) {
    fs::path tmp = s.tmp_dir() / ("new-" + std::to_string(i));
    std::ofstream(tmp) << contents[i];
    blobs.push_back({tmp, sha256_digest(contents[i])});
    digests.push_back(sha256_digest(contents[i]));
  }
  auto r = s.adopt_blobs_unsynced(blobs);
  EXPECT_TRUE(r) << r.error().message;
  for (const auto& b : blobs) EXPECT_FALSE(fs::exists(b.tmp_file));
  return digests;
}
}  // namespace

TEST(Store, UnsyncedBlobsAreJournalledUntilASync) {
  TempRoot t;
  auto s = store::Store::open(t.path);
  ASSERT_TRUE(s);
  auto digests = adopt_unsynced(*s, {"one", "two"});
  for (const auto& d : digests) EXPECT_TRUE(s->has_blob(d));
  auto journals = *os::list_dir(t.path / "unsynced");
  ASSERT_EQ(journals.size(), 1u);
  EXPECT_TRUE(journals[0].starts_with(this_boot() + "-" + std::to_string(::getpid()) + "-"));
  std::string text = *os::read_file(t.path / "unsynced" / journals[0]);
  for (const auto& d : digests) EXPECT_NE(text.find(d + "\n"), std::string::npos);
  ASSERT_TRUE(s->sync());
  EXPECT_TRUE(os::list_dir(t.path / "unsynced")->empty());
  for (const auto& d : digests) EXPECT_TRUE(s->has_blob(d));
}

TEST(Store, AfterARestartTheBlobsAJournalNamesAreChecked) {
  TempRoot t;
  std::vector<std::string> digests;
  {
    auto s = store::Store::open(t.path);
    ASSERT_TRUE(s);
    digests = adopt_unsynced(*s, {"whole", "torn"});
  }
  // The machine went down before the second blob reached the disk.
  auto journals = *os::list_dir(t.path / "unsynced");
  ASSERT_EQ(journals.size(), 1u);
  fs::rename(t.path / "unsynced" / journals[0],
             t.path / "unsynced" / "00000000-0000-0000-0000-000000000000-123-0");
  std::ofstream(t.path / "blobs" / "sha256" / std::string(digest_hex(digests[1])), std::ios::trunc);
  // And one journal was still being written (only its temporary file is there).
  std::ofstream(t.path / "unsynced" / "00000000-0000-0000-0000-000000000000-124-0.tmp-124")
      << "strata unsy";
  auto s = store::Store::open(t.path);
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_TRUE(s->has_blob(digests[0]));
  EXPECT_FALSE(s->has_blob(digests[1]));
  ASSERT_EQ(s->recovery_notes().size(), 1u);
  EXPECT_NE(s->recovery_notes()[0].find(digests[1]), std::string::npos);
  EXPECT_TRUE(os::list_dir(t.path / "unsynced")->empty());
  // Checked once: the next open finds nothing to say.
  EXPECT_TRUE(store::Store::open(t.path)->recovery_notes().empty());
}

TEST(Store, ASyncRetiresOnlyTheJournalsOfProcessesThatAreGone) {
  TempRoot t;
  auto s = store::Store::open(t.path);
  ASSERT_TRUE(s);
  pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ASSERT_GT(child, 0);
  ::waitpid(child, nullptr, 0);
  std::string live = this_boot() + "-1-0";  // init is always there
  std::string gone = this_boot() + "-" + std::to_string(child) + "-0";
  for (const auto& n : {live, gone})
    std::ofstream(t.path / "unsynced" / n) << "strata unsynced blobs\n";
  ASSERT_TRUE(s->sync());
  EXPECT_EQ(*os::list_dir(t.path / "unsynced"), std::vector<std::string>{live});
  // A journal of this boot is not checked by open(), nor one being written
  // (its temporary file): the page cache holds their blobs.
  std::string writing = this_boot() + "-1-1.tmp-1";
  std::ofstream(t.path / "unsynced" / writing) << "strata";
  EXPECT_TRUE(store::Store::open(t.path)->recovery_notes().empty());
  EXPECT_TRUE(fs::exists(t.path / "unsynced" / live));
  EXPECT_TRUE(fs::exists(t.path / "unsynced" / writing));
}

TEST(Store, TagsLiveInTheDbAndIndexJson) {
  TempRoot t;
  {
    auto s = store::Store::open(t.path);
    ASSERT_TRUE(s);
    auto m = s->put_blob("{}", oci::kManifest);
    ASSERT_TRUE(s->tag("app", *m));
    ASSERT_TRUE(s->tag("app:2", *m));
  }
  auto s = store::Store::open(t.path);  // reopened: the tags persist
  ASSERT_TRUE(s);
  auto r = s->resolve("app:latest");
  ASSERT_TRUE(r && *r);
  EXPECT_EQ((*r)->name, "app:latest");
  auto index = nlohmann::json::parse(*os::read_file(t.path / "index.json"));
  ASSERT_EQ(index["manifests"].size(), 2u);
  EXPECT_EQ(index["manifests"][0]["annotations"][oci::kRefNameAnnotation], "app:2");
  EXPECT_TRUE(*s->untag("app"));
  EXPECT_FALSE(*s->untag("app"));
  EXPECT_EQ(s->images()->size(), 1u);
}

TEST(Store, LayerSizesAreKeptByDiffId) {
  TempRoot t;
  auto s = store::Store::open(t.path);
  ASSERT_TRUE(s);
  auto none = s->layer_size("sha256:aa");
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);
  ASSERT_TRUE(s->put_layer_size("sha256:aa", 5'000'000'000ull));
  auto again = store::Store::open(t.path);  // kept in meta.db
  ASSERT_TRUE(again);
  auto size = again->layer_size("sha256:aa");
  ASSERT_TRUE(size && *size);
  EXPECT_EQ(**size, 5'000'000'000ull);
}

TEST(Store, ImageStepsLastAsLongAsTheImage) {
  TempRoot t;
  auto s = store::Store::open(t.path);
  ASSERT_TRUE(s);
  auto kept = s->put_blob(R"({"kept":1})", oci::kManifest);
  auto dropped = s->put_blob(R"({"dropped":1})", oci::kManifest);
  ASSERT_TRUE(kept && dropped);
  ASSERT_TRUE(s->tag("app", *kept));
  ASSERT_TRUE(s->put_image_steps(kept->digest, {{"sha256:b"}, {"sha256:a", "sha256:b"}}));
  ASSERT_TRUE(s->put_image_steps(dropped->digest, {{}, {"sha256:c"}}));
  auto steps = s->image_steps(kept->digest);
  ASSERT_TRUE(steps && *steps);
  EXPECT_EQ((*steps)->image_keys, std::vector<std::string>{"sha256:b"});
  EXPECT_EQ((*steps)->all_keys, (std::vector<std::string>{"sha256:a", "sha256:b"}));
  auto none = s->image_steps("sha256:nothing");
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);
  ASSERT_TRUE(store::prune(*s, {}));  // an image no name holds loses its note
  EXPECT_TRUE(*s->image_steps(kept->digest));
  EXPECT_FALSE(*s->image_steps(dropped->digest));
}

TEST(Store, SnapshotsHaveShortPaths) {
  TempRoot t;
  auto s = store::Store::open(t.path);
  ASSERT_TRUE(s);
  auto dir = os::make_temp_dir(s->tmp_dir(), "snap-");
  ASSERT_TRUE(dir);
  auto p = s->add_snapshot("sha256:abc", *dir);
  ASSERT_TRUE(p);
  EXPECT_EQ(*p, t.path / "snapshots" / "1");
  EXPECT_EQ((*s->snapshot("sha256:abc"))->dir, *p);
  EXPECT_FALSE(*s->snapshot("sha256:other"));
}

TEST(Store, DeltaSnapshotsNameTheirBase) {
  TempRoot t;
  auto s = store::Store::open(t.path);
  ASSERT_TRUE(s);
  auto whole = os::make_temp_dir(s->tmp_dir(), "copy-");
  ASSERT_TRUE(whole);
  std::string manifest = std::string("a\0f obj\0", 8);
  auto w = s->add_snapshot("sha256:whole", *whole, "", &manifest);
  ASSERT_TRUE(w);
  EXPECT_EQ(*s->snapshot_manifest(**s->snapshot("sha256:whole")), manifest);

  auto delta = os::make_temp_dir(s->tmp_dir(), "copy-");
  ASSERT_TRUE(delta);
  auto d = s->add_snapshot("sha256:delta", *delta, "sha256:whole");
  ASSERT_TRUE(d);
  auto got = s->snapshot("sha256:delta");
  ASSERT_TRUE(got && *got);
  EXPECT_EQ((*got)->dir, *d);
  EXPECT_EQ((*got)->base, "sha256:whole");
  EXPECT_EQ(d->parent_path(), t.path / "snapshots");
  EXPECT_LE(d->filename().string().size(), 13u);  // short, for the overlay's options
  EXPECT_EQ((**s->snapshot("sha256:whole")).base, "");
  EXPECT_FALSE(s->snapshot_manifest(**s->snapshot("sha256:delta")));  // none was given

  // A second delta of the same layer keeps the first and drops its own.
  auto again = os::make_temp_dir(s->tmp_dir(), "copy-");
  ASSERT_TRUE(again);
  auto d2 = s->add_snapshot("sha256:delta", *again, "sha256:other");
  ASSERT_TRUE(d2);
  EXPECT_EQ(*d2, *d);
  EXPECT_FALSE(fs::exists(*again));
  EXPECT_EQ((**s->snapshot("sha256:delta")).base, "sha256:whole");

  // A torn manifest (a crash: it is written without a sync) is none.
  {
    std::string file = w->string() + ".manifest";
    auto text = os::read_file(file);
    ASSERT_TRUE(text);
    std::ofstream(file, std::ios::binary | std::ios::trunc) << text->substr(0, text->size() - 3);
  }
  EXPECT_FALSE(s->snapshot_manifest(**s->snapshot("sha256:whole")));

  ASSERT_TRUE(s->drop_snapshot("sha256:whole"));
  EXPECT_FALSE(*s->snapshot("sha256:whole"));
  EXPECT_FALSE(fs::exists(*w));
  EXPECT_FALSE(fs::exists(w->string() + ".manifest"));
  ASSERT_TRUE(s->drop_snapshot("sha256:delta"));
  EXPECT_FALSE(*s->snapshot("sha256:delta"));
  EXPECT_FALSE(fs::exists(*d));
}

TEST(Oci, NormalizesNames) {
  EXPECT_EQ(oci::normalize_name("busybox"), "busybox:latest");
  EXPECT_EQ(oci::normalize_name("localhost:5000/app"), "localhost:5000/app:latest");
  EXPECT_EQ(oci::normalize_name("app:1.2"), "app:1.2");
  EXPECT_EQ(oci::normalize_name("app@sha256:00"), "app@sha256:00");
}

TEST(Store, ARecordWhoseLayerCanBeFetchedIsAHit) {
  TempRoot t;
  auto s = store::Store::open(t.path);
  ASSERT_TRUE(s);
  oci::Descriptor layer{oci::kLayerGzip, sha256_digest("absent layer"), 12, {}, {}};
  store::Store::CacheRecord rec{layer, sha256_digest("diff")};
  ASSERT_TRUE(s->cache_put("sha256:k1", rec, "{}"));
  // Neither here nor fetchable: the record is a miss.
  EXPECT_FALSE(*s->cache_get("sha256:k1"));
  auto missing = s->ensure_blob(layer);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Errc::not_found);
  ASSERT_TRUE(s->note_blob_source(layer.digest, "127.0.0.1:5000/cache/app"));
  ASSERT_TRUE(s->note_blob_source(layer.digest, "127.0.0.1:5000/cache/app"));  // once only
  EXPECT_EQ(*s->blob_sources(layer.digest), std::vector<std::string>{"127.0.0.1:5000/cache/app"});
  auto hit = s->cache_get("sha256:k1");
  ASSERT_TRUE(hit && *hit);
  EXPECT_EQ((*hit)->blob->digest, layer.digest);
  // Reading it asks the fetcher, with the sources, and the blob is then here.
  std::vector<std::string> asked;
  s->set_blob_fetcher([&](store::Store& st, const oci::Descriptor& b,
                          const std::vector<std::string>& sources) -> Result<void> {
    asked = sources;
    auto d = st.put_blob("absent layer", b.media_type);
    if (!d) return std::unexpected(d.error());
    return {};
  });
  ASSERT_TRUE(s->ensure_blob(layer));
  EXPECT_EQ(asked, std::vector<std::string>{"127.0.0.1:5000/cache/app"});
  EXPECT_TRUE(s->has_blob(layer.digest));
}

// A write on a connection whose read (another thread's statement) began
// before another process wrote: SQLite refuses it at once (WAL mode), and
// the store tries again once that read is over instead of failing with
// "database is locked" (what concurrent builds on one store met).
TEST(Db, AWriteBehindAStaleReadOfTheSameConnectionWaits) {
  TempRoot dir;
  fs::create_directories(dir.path);
  auto a = store::Db::open(dir.path / "db");
  ASSERT_TRUE(a) << a.error().message;
  ASSERT_TRUE(a->exec("CREATE TABLE t (v TEXT)"));
  for (const char* v : {"1", "2", "3"}) ASSERT_TRUE(a->exec("INSERT INTO t VALUES (?)", {v}));
  auto b = store::Db::open(dir.path / "db");  // another process, in effect
  ASSERT_TRUE(b);
  std::atomic<bool> reading{false};
  std::thread reader([&] {
    (void)a->each("SELECT v FROM t", {}, [&](const store::Db::RowView&) {
      reading = true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    });
  });
  while (!reading) std::this_thread::yield();
  ASSERT_TRUE(b->exec("INSERT INTO t VALUES ('other')"));  // the read's snapshot is stale now
  auto w = a->exec("INSERT INTO t VALUES ('mine')");
  reader.join();
  ASSERT_TRUE(w) << w.error().message;
  EXPECT_EQ(a->query("SELECT count(*) FROM t")->at(0).at(0), "5");
}
