// The values of `strata build`'s flags: --output, --cache-to/--cache-from,
// --secret, and what SOURCE_DATE_EPOCH resolves to.
#include "cli/build_flags.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

namespace strata::cli {
namespace {

std::string message_of(const Error& e) {
  return e.message;
}

TEST(ParseOutput, Types) {
  auto tar = parse_output("type=tar,dest=out.tar");
  ASSERT_TRUE(tar) << tar.error().message;
  EXPECT_EQ(tar->type, "tar");
  EXPECT_EQ(tar->dest, "out.tar");
  auto dash = parse_output("-");  // buildx's -o -: a tar on stdout
  ASSERT_TRUE(dash);
  EXPECT_EQ(dash->type, "tar");
  EXPECT_EQ(dash->dest, "-");
  auto dir = parse_output("rootfs/");
  ASSERT_TRUE(dir);
  EXPECT_EQ(dir->type, "local");
  EXPECT_TRUE(parse_output("type=oci,dest=a.tar,rewrite-timestamp=true"));
}

TEST(ParseOutput, Errors) {
  EXPECT_NE(message_of(parse_output("type=oci,dest=-").error()).find("only type=tar"),
            std::string::npos);
  EXPECT_NE(message_of(parse_output("type=registry,dest=x").error())
                .find("oci, docker, image, local or tar"),
            std::string::npos);
  EXPECT_NE(message_of(parse_output("type=tar").error()).find("dest= is required"),
            std::string::npos);
  EXPECT_NE(message_of(parse_output("type=oci,dest=a.tar,rewrite-timestamp=false").error())
                .find("always clamps"),
            std::string::npos);
  EXPECT_NE(message_of(parse_output("type=oci,dest=a.tar,colour=blue").error())
                .find("unknown key \"colour\""),
            std::string::npos);
}

TEST(ParseOutput, OciLayoutDirectoryWithTarFalse) {
  auto dir = parse_output("type=oci,dest=layout,tar=false");
  ASSERT_TRUE(dir) << dir.error().message;
  EXPECT_FALSE(dir->tar);
  EXPECT_TRUE(parse_output("type=oci,dest=a.tar,tar=true")->tar);
  EXPECT_NE(parse_output("type=docker,dest=d,tar=false").error().message.find("for type=oci"),
            std::string::npos);
}

TEST(ParseOutput, DockerOrImageWithoutDestLoadsIntoTheDaemon) {
  auto docker = parse_output("type=docker");
  ASSERT_TRUE(docker) << docker.error().message;
  EXPECT_TRUE(docker->into_docker());
  auto image = parse_output("type=image,name=app:1,name=app:latest,push=false");
  ASSERT_TRUE(image) << image.error().message;
  EXPECT_TRUE(image->into_docker());
  EXPECT_EQ(image->names, (std::vector<std::string>{"app:1", "app:latest"}));
  auto file = parse_output("type=docker,dest=a.tar");
  ASSERT_TRUE(file);
  EXPECT_FALSE(file->into_docker());
  EXPECT_NE(message_of(parse_output("type=image,dest=a.tar").error()).find("takes no dest="),
            std::string::npos);
  EXPECT_NE(message_of(parse_output("type=oci,dest=a.tar,name=x").error()).find("name= is for"),
            std::string::npos);
  auto pushed = parse_output("type=image,name=127.0.0.1:5000/app,push=true");
  ASSERT_TRUE(pushed) << pushed.error().message;
  EXPECT_TRUE(pushed->push);
  EXPECT_FALSE(pushed->into_docker());
  EXPECT_NE(message_of(parse_output("type=docker,push=true").error()).find("for type=image"),
            std::string::npos);
  EXPECT_NE(message_of(parse_output("type=oci").error()).find("dest= is required"),
            std::string::npos);
}

TEST(Annotations, OnTheManifestAsBuildxWritesThem) {
  auto plain = parse_annotation("org.opencontainers.image.title=app");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->first, "org.opencontainers.image.title");
  EXPECT_EQ(plain->second, "app");
  auto typed = parse_annotation("manifest:com.example.url=http://x:8080/a=b");
  ASSERT_TRUE(typed) << typed.error().message;
  EXPECT_EQ(typed->first, "com.example.url");
  EXPECT_EQ(typed->second, "http://x:8080/a=b");
  auto empty = parse_annotation("k=");
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->second, "");
  EXPECT_NE(parse_annotation("index:k=v").error().message.find("multi-platform"),
            std::string::npos);
  EXPECT_NE(parse_annotation("manifest[linux/amd64]:k=v").error().message.find("multi-platform"),
            std::string::npos);
  EXPECT_FALSE(parse_annotation("novalue"));
  EXPECT_FALSE(parse_annotation("=v"));
}

TEST(ParseOutput, CompressionLevelInTheCompressorsRange) {
  EXPECT_TRUE(parse_output("type=oci,dest=a.tar,compression=zstd,compression-level=19"));
  EXPECT_TRUE(parse_output("type=oci,dest=a.tar,compression=gzip,compression-level=0"));
  EXPECT_NE(
      message_of(parse_output("type=oci,dest=a.tar,compression=gzip,compression-level=12").error())
          .find("gzip takes 0 to 9"),
      std::string::npos);
  // Without compression= a layer of either kind may be recompressed.
  EXPECT_NE(message_of(parse_output("type=oci,dest=a.tar,compression-level=19").error())
                .find("gzip takes 0 to 9"),
            std::string::npos);
  EXPECT_FALSE(
      parse_cache_spec("--cache-to", "type=local,dest=d,compression=zstd,compression-level=23"));
}

TEST(ParseCacheSpec, LocalRegistryArchive) {
  auto local = parse_cache_spec("--cache-to", "type=local,dest=/c,mode=max,mounts=true");
  ASSERT_TRUE(local) << local.error().message;
  EXPECT_TRUE(local->max);
  EXPECT_TRUE(local->opts.mounts);
  auto reg = parse_cache_spec("--cache-from", "type=registry,ref=127.0.0.1:5000/c:main");
  ASSERT_TRUE(reg) << reg.error().message;
  EXPECT_EQ(reg->ref.registry, "127.0.0.1:5000");
  EXPECT_FALSE(parse_cache_spec("--cache-to", "type=archive,dest=cache.zip"));
  EXPECT_FALSE(parse_cache_spec("--cache-to", "type=registry,ref=r.io/c:1,reset=true"));
  EXPECT_NE(message_of(parse_cache_spec("--cache-from", "type=local").error()).find("src=PATH"),
            std::string::npos);
}

TEST(ParseSecret, FromTheEnvironment) {
  ::setenv("STRATA_TEST_SECRET", "s3cret", 1);
  auto s = parse_secret("id=tok,env=STRATA_TEST_SECRET");
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->first, "tok");
  EXPECT_EQ(s->second, "s3cret");
  ::unsetenv("STRATA_TEST_SECRET");
  EXPECT_FALSE(parse_secret("id=tok,env=STRATA_TEST_SECRET"));
  EXPECT_FALSE(parse_secret("id=tok,src=/a,env=B"));
  EXPECT_FALSE(parse_secret("src=/a"));
}

TEST(BuildContext, NamesAndValues) {
  auto dir = parse_build_context("Base=./dir=x");
  ASSERT_TRUE(dir) << dir.error().message;
  EXPECT_EQ(dir->first, "base");
  EXPECT_EQ(dir->second, "./dir=x");
  EXPECT_EQ(parse_build_context("alpine=docker-image://busybox:1")->second,
            "docker-image://busybox:1");
  for (const char* bad : {"noequals", "=dir", "name=", "a=docker-image://"})
    EXPECT_FALSE(parse_build_context(bad)) << bad;
  auto bake = parse_build_context("b=target:other");
  ASSERT_FALSE(bake);
  EXPECT_NE(bake.error().message.find("not supported"), std::string::npos);
}

TEST(BuildContext, OciLayoutReferences) {
  std::string d = "sha256:" + std::string(64, 'a');
  auto both = parse_oci_layout_ref("oci-layout:///srv/layout:v1@" + d);
  ASSERT_TRUE(both) << both.error().message;
  EXPECT_EQ(both->dir, "/srv/layout");
  EXPECT_EQ(both->tag, "v1");
  EXPECT_EQ(both->digest, d);
  auto plain = parse_oci_layout_ref("oci-layout://rel/dir.v2");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->dir, "rel/dir.v2");
  EXPECT_EQ(plain->tag, "");
  EXPECT_FALSE(parse_oci_layout_ref("oci-layout:///x@sha256:short"));

  auto image = [](std::string digest, std::string ref_name) {
    exporter::LayoutImage img;
    img.manifest.digest = std::move(digest);
    img.ref_name = img.name = std::move(ref_name);
    return img;
  };
  std::vector<exporter::LayoutImage> two = {image("sha256:1", "v1"), image("sha256:2", "v2")};
  EXPECT_EQ(pick_layout_image(two, {"l", "v2", ""}).value(), "sha256:2");
  EXPECT_EQ(pick_layout_image(two, {"l", "", "sha256:1"}).value(), "sha256:1");
  EXPECT_FALSE(pick_layout_image(two, {"l", "", ""}));  // which one?
  EXPECT_FALSE(pick_layout_image(two, {"l", "v3", ""}));
  EXPECT_EQ(pick_layout_image({image("sha256:9", "")}, {"l", "", ""}).value(), "sha256:9");
}

TEST(SourceDateEpoch, Values) {
  auto df = dockerfile::read_dockerfile("FROM scratch AS mysource\nFROM scratch\n", "Dockerfile");
  ASSERT_TRUE(df);
  auto n = resolve_source_date_epoch("1700000001", *df, std::nullopt);
  ASSERT_TRUE(n);
  EXPECT_EQ(**n, 1700000001);
  auto none = resolve_source_date_epoch("", *df, 5);
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);
  auto context = resolve_source_date_epoch("context", *df, std::nullopt);
  ASSERT_TRUE(context);
  EXPECT_FALSE(*context);  // a local context has no time of its own
  auto remote = resolve_source_date_epoch("context", *df, 1700000101);  // a git commit's time
  ASSERT_TRUE(remote);
  EXPECT_EQ(*remote, 1700000101);
  EXPECT_NE(message_of(resolve_source_date_epoch("not-a-timestamp", *df, std::nullopt).error())
                .find("invalid SOURCE_DATE_EPOCH: not-a-timestamp"),
            std::string::npos);
  EXPECT_NE(message_of(resolve_source_date_epoch("MySource", *df, std::nullopt).error())
                .find("a stage's remote source is not supported"),
            std::string::npos);
  EXPECT_FALSE(resolve_source_date_epoch("12abc", *df, std::nullopt));
}

TEST(NewLayerCompression, ChosenOnceWhenEveryExportAsksTheSame) {
  auto out = [](const std::string& spec) { return *parse_output(spec); };
  auto cache = [](const std::string& spec) { return *parse_cache_spec("--cache-to", spec); };
  using archive::Compression;
  EXPECT_EQ(new_layer_compression({}, {}, false), Compression::gzip);
  EXPECT_EQ(new_layer_compression({out("type=oci,dest=a.tar,compression=zstd")}, {}, false),
            Compression::zstd);
  EXPECT_EQ(new_layer_compression({out("type=docker,dest=a.tar,compression=zstd"),
                                   out("type=local,dest=dir")},  // a directory: no layers
                                  {cache("type=local,dest=c,compression=zstd")}, false),
            Compression::zstd);
  EXPECT_EQ(new_layer_compression({out("type=oci,dest=a.tar,compression=uncompressed")}, {}, false),
            Compression::none);
  // A load into the docker daemon sends layers uncompressed whatever they are.
  EXPECT_EQ(new_layer_compression({out("type=oci,dest=a.tar,compression=zstd"), out("type=docker")},
                                  {}, false),
            Compression::zstd);
  // Mixed, unnamed (layers kept as they are), a level, or a push: gzip,
  // each export converting what it needs.
  EXPECT_EQ(new_layer_compression({out("type=oci,dest=a.tar,compression=zstd"),
                                   out("type=oci,dest=b.tar,compression=gzip")},
                                  {}, false),
            Compression::gzip);
  EXPECT_EQ(new_layer_compression({out("type=oci,dest=a.tar,compression=zstd")},
                                  {cache("type=local,dest=c")}, false),
            Compression::gzip);
  EXPECT_EQ(new_layer_compression(
                {out("type=oci,dest=a.tar,compression=zstd,compression-level=19")}, {}, false),
            Compression::gzip);
  EXPECT_EQ(new_layer_compression({out("type=oci,dest=a.tar,compression=zstd")}, {}, true),
            Compression::gzip);
}

TEST(Attestations, OffIsAcceptedARequestIsRefused) {
  EXPECT_TRUE(check_attestations("", "", {}));
  EXPECT_TRUE(check_attestations("false", "0", {"type=provenance,disabled=true"}));
  auto provenance = check_attestations("mode=max", "", {});
  ASSERT_FALSE(provenance);
  EXPECT_NE(provenance.error().message.find("--provenance=mode=max"), std::string::npos);
  EXPECT_FALSE(check_attestations("", "true", {}));
  EXPECT_FALSE(check_attestations("", "", {"type=sbom"}));
}

TEST(ParseCacheSpec, APlainReferenceIsARegistryCache) {
  auto c = parse_cache_spec("--cache-from",
                            "ghcr.io/apache/airflow/main/ci/python3.9:cache-linux-amd64");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->type, "registry");
  EXPECT_EQ(c->path, "ghcr.io/apache/airflow/main/ci/python3.9:cache-linux-amd64");
  EXPECT_EQ(c->ref.str(), "ghcr.io/apache/airflow/main/ci/python3.9:cache-linux-amd64");
  auto bad = parse_cache_spec("--cache-to", "Not A Reference");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("--cache-to Not A Reference"), std::string::npos)
      << bad.error().message;
}

}  // namespace
}  // namespace strata::cli
