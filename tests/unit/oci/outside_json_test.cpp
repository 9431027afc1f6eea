#include <gtest/gtest.h>

#include <string>

#include "oci/checked_json.hpp"
#include "oci/image.hpp"

using namespace strata;

namespace {

const std::string kDigest = "sha256:" + std::string(64, 'a');

std::string descriptor(const std::string& extra = "") {
  return R"({"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":")" + kDigest +
         R"(","size":10)" + extra + "}";
}

std::string manifest(const std::string& layers) {
  return R"({"schemaVersion":2,"config":)" + descriptor() + R"(,"layers":)" + layers + "}";
}

std::string config(const std::string& rootfs, const std::string& extra = "") {
  return R"({"architecture":"amd64","os":"linux","rootfs":)" + rootfs + extra + "}";
}

// The error, or "" when the text was accepted.
template <class R>
std::string error_of(const R& r) {
  return r ? "" : r.error().message;
}

}  // namespace

TEST(OutsideJson, GoodDocumentsAreRead) {
  auto m = oci::parse_manifest(manifest("[" + descriptor() + "]"));
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->layers.size(), 1u);
  EXPECT_TRUE(oci::parse_manifest(manifest("[]")));  // a scratch image has no layers
  auto c = oci::parse_config(config(R"({"type":"layers","diff_ids":[")" + kDigest + R"("]})",
                                    R"(,"config":{"Env":["A=1"],"Cmd":null,"Labels":{"a":"b"}},)"
                                    R"("history":[{"created_by":"x","empty_layer":true}])"));
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->diff_ids, std::vector<std::string>{kDigest});
  // Docker's config of an image without layers has no diff_ids (omitempty).
  auto empty = oci::parse_config(config(R"({"type":"layers"})"));
  ASSERT_TRUE(empty) << empty.error().message;
  EXPECT_TRUE(empty->diff_ids.empty());
  EXPECT_NE(
      error_of(oci::parse_config(config(R"({"diff_ids":"x"})"))).find("\"diff_ids\" is string"),
      std::string::npos);
  auto index = oci::parse_index(R"({"schemaVersion":2,"manifests":[)" + descriptor() + "]}");
  ASSERT_TRUE(index);
  EXPECT_EQ(index->manifests.size(), 1u);
  auto docker = oci::parse_docker_archive_manifest(
      R"([{"Config":"c.json","RepoTags":null,"Layers":["a/layer.tar"]}])");
  ASSERT_TRUE(docker);
  EXPECT_EQ((*docker)[0].layers, std::vector<std::string>{"a/layer.tar"});
}

TEST(OutsideJson, TypeConfusionIsAClearError) {
  // Each of these used to throw nlohmann::json::type_error (exit 134).
  struct Case {
    std::string error, text;
  };
  auto manifests = {
      Case{"\"mediaType\" is number, not a string",
           R"({"mediaType":5,"config":)" + descriptor() + R"(,"layers":[]})"},
      Case{"\"layers\" is number, not a list", manifest("5")},
      Case{"\"layers\" is missing", R"({"config":)" + descriptor() + "}"},
      Case{"\"config\" is missing", R"({"layers":[]})"},
      Case{"layer 1: \"size\" is string, not an integer",
           manifest(R"([{"digest":")" + kDigest + R"(","size":"10"}])")},
      Case{"layer 1 is not a JSON object", manifest("[7]")},
      Case{"\"annotations\" is array, not an object of strings",
           manifest("[" + descriptor(R"(,"annotations":[1])") + "]")},
      Case{"\"size\" is number, not an integer below 2^63",
           manifest(R"([{"digest":")" + kDigest + R"(","size":18446744073709551615}])")},
      Case{"not JSON", "{"},
      Case{"not a JSON object", "[1]"},
  };
  for (const auto& c : manifests)
    EXPECT_NE(error_of(oci::parse_manifest(c.text)).find(c.error), std::string::npos)
        << c.text << " -> " << error_of(oci::parse_manifest(c.text));
  auto configs = {
      Case{"\"diff_ids\" is array, not a list of strings", config(R"({"diff_ids":[1]})")},
      Case{"unsupported diff id \"x\"", config(R"({"diff_ids":["x"]})")},
      Case{"\"os\" is number, not a string", R"({"os":1,"rootfs":{"diff_ids":[]}})"},
      Case{"config: \"User\" is number, not a string",
           config(R"({"diff_ids":[]})", R"(,"config":{"User":0})")},
      Case{"config: \"Env\" is string, not a list of strings",
           config(R"({"diff_ids":[]})", R"(,"config":{"Env":"A=1"})")},
      Case{"Healthcheck: \"Test\" is array, not a list of strings",
           config(R"({"diff_ids":[]})", R"(,"config":{"Healthcheck":{"Test":[1]}})")},
      Case{"history entry 1: \"empty_layer\" is string, not true or false",
           config(R"({"diff_ids":[]})", R"(,"history":[{"empty_layer":"yes"}])")},
  };
  for (const auto& c : configs)
    EXPECT_NE(error_of(oci::parse_config(c.text)).find(c.error), std::string::npos)
        << c.text << " -> " << error_of(oci::parse_config(c.text));
  EXPECT_NE(error_of(oci::parse_index(R"({"manifests":"x"})")).find("\"manifests\" is string"),
            std::string::npos);
  EXPECT_NE(error_of(oci::parse_docker_archive_manifest(R"([{"Config":5,"Layers":[]}])"))
                .find("\"Config\" is number, not a string"),
            std::string::npos);
  EXPECT_NE(error_of(oci::parse_docker_archive_manifest(R"([{"Config":"c","Layers":[3]}])"))
                .find("\"Layers\" is array, not a list of strings"),
            std::string::npos);
  EXPECT_NE(error_of(oci::parse_docker_archive_manifest(R"({"Config":"c"})")).find("not a list"),
            std::string::npos);
}

TEST(OutsideJson, SizesAreCapped) {
  std::string big = manifest("[]");
  big.append(oci::kMaxManifestBytes, ' ');
  EXPECT_NE(error_of(oci::parse_manifest(big)).find("more than the 4194304 strata reads"),
            std::string::npos);
  EXPECT_NE(error_of(oci::parse_json(std::string(100, ' '), "doc", 10)).find("doc is 100 bytes"),
            std::string::npos);
}
