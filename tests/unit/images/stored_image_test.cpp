// A name that tags an image index: the image for a platform, what the store
// lacks of it, its platforms, and prune keeping what it holds.
#include "images/stored_image.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <optional>

#include "digest/sha256.hpp"
#include "store/gc.hpp"

namespace strata::images {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct StoredImages : ::testing::Test {
  fs::path dir = fs::temp_directory_path() / ("strata-stored-image-" + std::to_string(::getpid()));
  std::optional<store::Store> store;

  void SetUp() override {
    fs::remove_all(dir);
    auto opened = store::Store::open(dir);
    ASSERT_TRUE(opened) << opened.error().message;
    store.emplace(std::move(*opened));
  }
  void TearDown() override {
    store.reset();
    fs::remove_all(dir);
  }
  // An image for `arch` (one layer) in the store, its manifest's descriptor.
  oci::Descriptor image(const std::string& arch) {
    auto layer = store->put_blob("layer of " + arch, oci::kLayerGzip);
    EXPECT_TRUE(layer);
    json config = {{"architecture", arch},
                   {"os", "linux"},
                   {"rootfs", {{"type", "layers"}, {"diff_ids", {sha256_digest(arch)}}}}};
    auto cfg = store->put_blob(config.dump(), oci::kConfig);
    EXPECT_TRUE(cfg);
    oci::Manifest m;
    m.config = *cfg;
    m.layers = {*layer};
    auto man = store->put_blob(oci::to_json_text(m), oci::kManifest);
    EXPECT_TRUE(man);
    return *man;
  }
};

TEST_F(StoredImages, ANameTaggingAnIndexGivesEachPlatformsImage) {
  oci::Descriptor amd = image("amd64");
  oci::Descriptor arm = image("arm64");
  json index = {{"schemaVersion", 2},
                {"mediaType", oci::kIndex},
                {"manifests",
                 {{{"mediaType", oci::kManifest},
                   {"digest", amd.digest},
                   {"size", amd.size},
                   {"platform", {{"os", "linux"}, {"architecture", "amd64"}}}},
                  {{"mediaType", oci::kManifest},
                   {"digest", arm.digest},
                   {"size", arm.size},
                   {"platform", {{"os", "linux"}, {"architecture", "arm64"}}}},
                  {{"mediaType", oci::kManifest},
                   {"digest", "sha256:" + std::string(64, 'e')},
                   {"size", 1},
                   {"platform", {{"os", "linux"}, {"architecture", "ppc64le"}}}}}}};
  auto idx = store->put_blob(index.dump(), oci::kIndex);
  ASSERT_TRUE(idx);
  ASSERT_TRUE(store->tag("multi", *idx));

  auto a = load_image(*store, "multi", {"linux", "amd64", ""});
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->manifest_desc.digest, amd.digest);
  EXPECT_EQ(a->config["architecture"], "amd64");
  ASSERT_TRUE(a->index_desc);
  EXPECT_EQ(a->index_desc->digest, idx->digest);
  auto b = load_image(*store, "multi", {"linux", "arm64", ""});
  ASSERT_TRUE(b) << b.error().message;
  EXPECT_EQ(b->config["architecture"], "arm64");
  // Listed but not pulled, and not listed at all: both not_found (a pull
  // follows), each saying which.
  auto missing = load_image(*store, "multi", {"linux", "ppc64le", ""});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Errc::not_found);
  EXPECT_NE(missing.error().message.find("its linux/ppc64le image is not in the store"),
            std::string::npos);
  auto absent = load_image(*store, "multi", {"linux", "s390x", ""});
  ASSERT_FALSE(absent);
  EXPECT_EQ(absent.error().code, Errc::not_found);
  EXPECT_NE(absent.error().message.find("no linux/s390x variant"), std::string::npos);

  auto platforms = platforms_of(*store, "multi");
  ASSERT_TRUE(platforms);
  ASSERT_EQ(platforms->size(), 3u);
  EXPECT_EQ((*platforms)[1].platform, "linux/arm64");
  EXPECT_TRUE((*platforms)[1].present);
  EXPECT_FALSE((*platforms)[2].present);
  // A single image: its config's platform.
  ASSERT_TRUE(store->tag("single", arm));
  auto one = platforms_of(*store, "single");
  ASSERT_TRUE(one);
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ((*one)[0].platform, "linux/arm64");
  EXPECT_FALSE(load_image(*store, "single")->index_desc);
  ASSERT_TRUE(store->untag("single"));

  // Prune keeps every platform's image the index holds.
  store::PruneOptions all;
  all.all = true;
  ASSERT_TRUE(store::prune(*store, all));
  EXPECT_TRUE(load_image(*store, "multi", {"linux", "arm64", ""}));
  EXPECT_TRUE(store->has_blob(b->manifest.layers[0].digest));
}

}  // namespace
}  // namespace strata::images
