// The build cache that travels with images: an inline cache survives a
// recompressed layer (records name layers by diff id) and is checked when
// read; an archive strata writes carries its images' records, which a load
// into another store restores (and which --cache-from type=archive reads);
// the modes of what an archive carries.
#include "cache/image_cache.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <optional>

#include "digest/sha256.hpp"
#include "oci/checked_json.hpp"

namespace strata::cache {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct ImageCache : ::testing::Test {
  fs::path dir = fs::temp_directory_path() / ("strata-image-cache-" + std::to_string(::getpid()));
  std::optional<store::Store> a, b;

  void SetUp() override {
    fs::remove_all(dir);
    for (auto [s, name] : {std::pair{&a, "a"}, std::pair{&b, "b"}}) {
      auto opened = store::Store::open(dir / name);
      ASSERT_TRUE(opened) << opened.error().message;
      s->emplace(std::move(*opened));
    }
  }
  void TearDown() override {
    a.reset();
    b.reset();
    fs::remove_all(dir);
  }

  // An image of layers whose blobs hold `contents` (diff ids made up from
  // them: nothing here unpacks a layer).
  static images::StoredImage image(store::Store& s, const std::vector<std::string>& contents) {
    images::StoredImage img;
    json diff_ids = json::array();
    for (const auto& c : contents) {
      auto blob = s.put_blob(c, oci::kLayerGzip);
      EXPECT_TRUE(blob);
      std::string diff_id = sha256_digest("diff " + c);
      img.layers.push_back({*blob, diff_id});
      img.manifest.layers.push_back(*blob);
      diff_ids.push_back(diff_id);
    }
    img.config = {{"architecture", "amd64"},
                  {"os", "linux"},
                  {"rootfs", {{"type", "layers"}, {"diff_ids", diff_ids}}}};
    img.manifest.config = *s.put_blob(oci::canonical(img.config), oci::kConfig);
    img.manifest_desc = *s.put_blob(oci::to_json_text(img.manifest), oci::kManifest);
    return img;
  }
  static std::string key(const std::string& name) { return sha256_digest("key " + name); }
};

TEST_F(ImageCache, InlineRecordsNameLayersByDiffId) {
  auto img = image(*a, {"one", "two"});
  store::Store::CacheRecord run{img.layers[1].blob, img.layers[1].diff_id, 1700000000};
  run.step = sha256_digest("app\nRUN make");
  run.parent = std::vector<std::string>{img.layers[0].diff_id};
  run.incremental_on = key("earlier");
  run.incremental_from = "the last build";
  ASSERT_TRUE(a->cache_put(key("run"), run, R"({"instruction":"RUN make"})"));
  ASSERT_TRUE(a->cache_put(key("env"), {}, "{}"));  // changed no file
  auto other = image(*a, {"elsewhere"});
  ASSERT_TRUE(a->cache_put(key("other"), {other.layers[0].blob, other.layers[0].diff_id, 0}, ""));
  auto with =
      with_inline_cache(*a, img, {key("run"), key("env"), key("other"), key("run"), key("gone")});
  ASSERT_TRUE(with) << with.error().message;
  EXPECT_NE(with->manifest_desc.digest, img.manifest_desc.digest);
  EXPECT_EQ(with->manifest.layers.size(), 2u);
  EXPECT_EQ(with->manifest.layers[1].digest, img.manifest.layers[1].digest);
  ASSERT_TRUE(a->has_blob(with->manifest.config.digest));
  const json& records = with->config[kInlineCacheField]["records"];
  // Not another image's layer, not twice, not a record the store lacks.
  ASSERT_EQ(records.size(), 2u) << records.dump();
  EXPECT_EQ(records[0]["key"], key("run"));
  EXPECT_EQ(records[0]["diff_id"], img.layers[1].diff_id);
  EXPECT_EQ(records[0]["created"], 1700000000);
  EXPECT_FALSE(records[1].contains("diff_id"));

  // In another store, its layers recompressed (new digests, same diff ids),
  // as `docker load` and a push give them.
  auto there = image(*b, {"one again", "two again"});
  there.config[kInlineCacheField] = with->config[kInlineCacheField];
  there.config["rootfs"] = with->config["rootfs"];
  auto got = inline_cache_records(*b, there.manifest, there.config, "app:main");
  ASSERT_TRUE(got) << got.error().message;
  ASSERT_EQ(got->size(), 2u);
  EXPECT_EQ((*got)[0].record.blob->digest, there.manifest.layers[1].digest);
  EXPECT_EQ((*got)[0].record.diff_id, img.layers[1].diff_id);
  EXPECT_EQ((*got)[0].inputs, R"({"instruction":"RUN make"})");
  // Its lineage, for a marked RUN that builds on it.
  EXPECT_EQ((*got)[0].record.step, run.step);
  EXPECT_EQ((*got)[0].record.parent, run.parent);
  EXPECT_EQ((*got)[0].record.incremental_on, key("earlier"));
  EXPECT_EQ((*got)[0].record.incremental_from, "the last build");
  EXPECT_EQ((*got)[0].record.source, "app:main");
  auto stats =
      import_inline_cache(*b, there.manifest, there.config, "127.0.0.1:5000/app", "app:main");
  ASSERT_TRUE(stats) << stats.error().message;
  EXPECT_EQ(stats->records, 2u);
  auto hit = b->cache_get(key("run"));
  ASSERT_TRUE(hit && *hit);
  EXPECT_EQ((*hit)->created, 1700000000);  // a rebuild that hits is the same image
  EXPECT_EQ(*b->blob_sources(there.manifest.layers[1].digest),
            std::vector<std::string>{"127.0.0.1:5000/app"});
  // Read again: the store has them now.
  EXPECT_TRUE(inline_cache_records(*b, there.manifest, there.config, "app:main")->empty());
}

TEST_F(ImageCache, InlineRecordsAreChecked) {
  auto img = image(*b, {"x"});
  auto with_records = [&](json records) {
    json config = img.config;
    config[kInlineCacheField] = {{"records", records}};
    return inline_cache_records(*b, img.manifest, config, "x");
  };
  auto unknown_layer = with_records({{{"key", key("k")}, {"diff_id", sha256_digest("no")}}});
  ASSERT_FALSE(unknown_layer);
  EXPECT_NE(unknown_layer.error().message.find("no layer of the image"), std::string::npos);
  auto not_a_key = with_records({{{"key", "latest"}}});
  ASSERT_FALSE(not_a_key);
  EXPECT_NE(not_a_key.error().message.find("not a digest"), std::string::npos);
  EXPECT_FALSE(with_records({{{"key", 7}}}));
  EXPECT_FALSE(with_records("all of them"));
  EXPECT_TRUE(inline_cache_records(*b, img.manifest, img.config, "x")->empty());  // none: nothing
  EXPECT_FALSE(has_inline_cache(img.config));
}

TEST_F(ImageCache, AnArchiveCarriesItsImagesCache) {
  auto base = image(*a, {"base"});
  auto img = image(*a, {"base", "app"});
  ASSERT_TRUE(
      a->cache_put(key("app"), {img.layers[1].blob, img.layers[1].diff_id, 1700000001}, "{}"));
  auto builder_stage = image(*a, {"compiler"});
  ASSERT_TRUE(a->cache_put(
      key("compile"), {builder_stage.layers[0].blob, builder_stage.layers[0].diff_id, 0}, "{}"));
  ASSERT_TRUE(
      a->put_image_steps(img.manifest_desc.digest, {{key("app")}, {key("compile"), key("app")}}));
  EXPECT_TRUE(steps_of_images(*a, {img}, CacheMode::none)->empty());
  EXPECT_EQ(*steps_of_images(*a, {img}, CacheMode::min), std::vector<std::string>{key("app")});
  EXPECT_TRUE(steps_of_images(*a, {base}, CacheMode::max)->empty());  // no note of it
  auto keys = steps_of_images(*a, {img}, CacheMode::max);
  ASSERT_TRUE(keys);
  ASSERT_EQ(keys->size(), 2u);

  auto extras = archive_cache(*a, *keys, {});
  ASSERT_TRUE(extras) << extras.error().message;
  ASSERT_EQ(extras->index_annotations.count(kArchiveCacheAnnotation), 1u);
  fs::path file = dir / "app.tar";
  exporter::ArchiveOptions ao;
  ao.extras = *extras;
  ASSERT_TRUE(exporter::write_image_archive(*a, {{{img}, {"app"}, {}}}, file, ao));

  auto loaded = exporter::load_archive(*b, file);
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(loaded->names, std::vector<std::string>{"app:latest"});
  auto restored = restore_archive_cache(*b, *loaded, "app.tar");
  ASSERT_TRUE(restored) << restored.error().message;
  EXPECT_EQ(restored->records, 2u);
  auto hit = b->cache_get(key("compile"));  // the other stage's layer came along
  ASSERT_TRUE(hit && *hit && (*hit)->blob);
  EXPECT_TRUE(b->has_blob((*hit)->blob->digest));
  EXPECT_EQ((*b->cache_get(key("app")))->created, 1700000001);
  // Saved again from there, it carries them still.
  auto steps = b->image_steps(loaded->images.at(0).digest);
  ASSERT_TRUE(steps && *steps);
  EXPECT_EQ((*steps)->all_keys.size(), 2u);

  // --cache-from type=archive reads the same archive into a third store.
  auto c = store::Store::open(dir / "c");
  ASSERT_TRUE(c);
  auto imported = import_cache(*c, file);
  ASSERT_TRUE(imported) << imported.error().message;
  EXPECT_EQ(imported->records, 2u);
  EXPECT_TRUE(*c->cache_get(key("app")));
}

TEST_F(ImageCache, AnArchiveWithoutRecordsCarriesNothing) {
  auto img = image(*a, {"plain"});
  auto extras = archive_cache(*a, {}, {});
  ASSERT_TRUE(extras);
  EXPECT_TRUE(extras->blobs.empty());
  EXPECT_TRUE(extras->index_annotations.empty());
  fs::path file = dir / "plain.tar";
  ASSERT_TRUE(exporter::write_image_archive(*a, {{{img}, {"plain"}, {}}}, file, {}));
  auto loaded = exporter::load_archive(*b, file);
  ASSERT_TRUE(loaded);
  auto restored = restore_archive_cache(*b, *loaded, "app.tar");
  ASSERT_TRUE(restored);
  EXPECT_EQ(restored->records, 0u);
  auto imported = import_cache(*b, file);
  ASSERT_FALSE(imported);
  EXPECT_NE(imported.error().message.find("names no strata cache"), std::string::npos);
  EXPECT_FALSE(parse_cache_mode("maximal", "--cache-mode"));
  EXPECT_EQ(*parse_cache_mode("max", "--cache-mode"), CacheMode::max);
}

}  // namespace
}  // namespace strata::cache
