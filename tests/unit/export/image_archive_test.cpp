// A multi-platform image in an archive: index.json names the index, the
// docker manifest.json lists every platform's image with the names on this
// machine's, and a load into another store tags the index with both images.
#include "export/image_archive.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <optional>

#include "archive/tar.hpp"
#include "digest/sha256.hpp"
#include "oci/platform.hpp"

namespace strata::exporter {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct IndexArchive : ::testing::Test {
  fs::path dir = fs::temp_directory_path() / ("strata-index-archive-" + std::to_string(::getpid()));
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
  // An image for `arch` in store a, one layer.
  oci::Descriptor image(const std::string& arch) {
    std::string layer_text = "layer of " + arch;
    auto layer = a->put_blob(layer_text, oci::kLayerTar);
    EXPECT_TRUE(layer);
    json config = {{"architecture", arch},
                   {"os", "linux"},
                   {"rootfs", {{"type", "layers"}, {"diff_ids", {sha256_digest(layer_text)}}}}};
    auto cfg = a->put_blob(config.dump(), oci::kConfig);
    EXPECT_TRUE(cfg);
    oci::Manifest m;
    m.config = *cfg;
    m.layers = {*layer};
    auto man = a->put_blob(oci::to_json_text(m), oci::kManifest);
    EXPECT_TRUE(man);
    return *man;
  }
  // An index of an image for the host and one for another architecture.
  oci::Descriptor index(const std::string& host, const std::string& other) {
    json manifests = json::array();
    for (const auto& arch : {host, other}) {
      auto d = image(arch);
      manifests.push_back({{"mediaType", oci::kManifest},
                           {"digest", d.digest},
                           {"size", d.size},
                           {"platform", {{"os", "linux"}, {"architecture", arch}}}});
    }
    json idx = {{"schemaVersion", 2}, {"mediaType", oci::kIndex}, {"manifests", manifests}};
    auto d = a->put_blob(idx.dump(), oci::kIndex);
    EXPECT_TRUE(d);
    return *d;
  }
  std::string other_arch() const {
    return oci::host_platform().arch == "arm64" ? "amd64" : "arm64";
  }
};

TEST_F(IndexArchive, CarriesTheIndexAndEveryPlatformsImage) {
  std::string host = oci::host_platform().arch;
  auto idx = index(other_arch(), host);  // the host's second: the docker names follow it
  auto images = images::load_index_images(*a, idx);
  ASSERT_TRUE(images) << images.error().message;
  ASSERT_EQ(images->size(), 2u);
  fs::path file = dir / "multi.tar";
  ASSERT_TRUE(write_image_archive(*a, {{*images, {"multi:1"}, idx}}, file, {}));

  auto reader = archive::TarReader::open(file);
  ASSERT_TRUE(reader);
  json index_json, docker;
  while (auto e = reader->next()) {
    if (!*e) break;
    if ((*e)->path == "index.json") index_json = json::parse(*reader->read_data());
    if ((*e)->path == "manifest.json") docker = json::parse(*reader->read_data());
  }
  ASSERT_EQ(index_json["manifests"].size(), 1u);
  EXPECT_EQ(index_json["manifests"][0]["digest"], idx.digest);
  EXPECT_EQ(index_json["manifests"][0]["mediaType"], oci::kIndex);
  ASSERT_EQ(docker.size(), 2u);
  EXPECT_TRUE(docker[0]["RepoTags"].empty());
  EXPECT_EQ(docker[1]["RepoTags"], json::array({"multi:1"}));

  auto loaded = load_archive(*b, file);
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(loaded->names, std::vector<std::string>{"multi:1"});
  ASSERT_EQ(loaded->images.size(), 2u);
  EXPECT_EQ(loaded->images[0].digest, (*images)[0].manifest_desc.digest);
  auto tagged = images::resolve_descriptor(*b, "multi:1");
  ASSERT_TRUE(tagged);
  EXPECT_EQ(tagged->digest, idx.digest);
  for (const auto& arch : {host, other_arch()}) {
    auto img = images::load_image(*b, "multi:1", {"linux", arch, ""});
    ASSERT_TRUE(img) << arch << ": " << img.error().message;
    EXPECT_EQ(img->config["architecture"], arch);
  }
}

TEST_F(IndexArchive, AnIndexWhosePlatformsTheStoreLacksSaysWhich) {
  auto idx = index(oci::host_platform().arch, other_arch());
  auto text = a->read_blob(idx.digest);
  ASSERT_TRUE(text);
  auto parsed = oci::parse_index(*text, "index");
  ASSERT_TRUE(parsed);
  ASSERT_TRUE(fs::remove(a->blob_path(parsed->manifests[1].digest)));
  auto images = images::load_index_images(*a, idx);
  ASSERT_FALSE(images);
  EXPECT_EQ(images.error().code, Errc::not_found);
  EXPECT_NE(images.error().message.find("linux/" + other_arch()), std::string::npos)
      << images.error().message;
}

}  // namespace
}  // namespace strata::exporter
