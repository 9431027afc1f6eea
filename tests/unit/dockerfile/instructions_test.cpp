#include "dockerfile/instructions.hpp"

#include <gtest/gtest.h>

using namespace strata::dockerfile;

namespace {
Dockerfile ok(std::string_view text) {
  auto r = read_dockerfile(text, "Dockerfile");
  EXPECT_TRUE(r) << (r ? "" : r.error().message);
  return r ? std::move(*r) : Dockerfile{};
}
std::string error_of(std::string_view text) {
  auto r = read_dockerfile(text, "Dockerfile");
  return r ? "" : r.error().message;
}
}  // namespace

TEST(Instructions, SplitsGlobalArgsAndStages) {
  auto df = ok("ARG A=1\nARG B\nFROM x AS One\nRUN a\nFROM one\nCOPY --from=one /a /b\n");
  EXPECT_EQ(df.global_args.size(), 2u);
  ASSERT_EQ(df.stages.size(), 2u);
  EXPECT_EQ(df.stages[0].from.as<FromCmd>().stage_name, "one");
  EXPECT_EQ(df.stages[1].commands[0].as<CopyCmd>().from->value, "one");
}

TEST(Instructions, CopyFlagsAndHeredocSources) {
  auto df = ok(
      "FROM x\nCOPY --link --parents --chmod=755 --exclude=a --exclude=b <<EOF src /d/\nhi\nEOF\n");
  const auto& c = df.stages[0].commands[0].as<CopyCmd>();
  EXPECT_TRUE(c.link);
  EXPECT_TRUE(c.parents);
  EXPECT_EQ(c.chmod->value, "755");
  ASSERT_EQ(c.excludes.size(), 2u);
  EXPECT_EQ(c.excludes[1].value, "b");
  ASSERT_EQ(c.inline_files.size(), 1u);
  EXPECT_EQ(c.inline_files[0].content, "hi\n");
  EXPECT_EQ(c.sources, std::vector<std::string>{"src"});
  EXPECT_EQ(c.dest, "/d/");
}

TEST(Instructions, LinkFalseAndDuplicateFlags) {
  auto df = ok("FROM x\nCOPY --link=false a /b\n");
  EXPECT_FALSE(df.stages[0].commands[0].as<CopyCmd>().link);
  EXPECT_NE(
      error_of("FROM x\nCOPY --chown=1 --chown=2 a /b\n").find("duplicate flag specified: --chown"),
      std::string::npos);
  EXPECT_NE(error_of("FROM x\nADD --from=y a /b\n").find("unknown flag: --from"),
            std::string::npos);
  EXPECT_NE(error_of("FROM x\nCOPY --checksum=sha256:x a /b\n").find("unknown flag: --checksum"),
            std::string::npos);
}

TEST(Instructions, HealthcheckDurations) {
  auto df = ok("FROM x\nHEALTHCHECK --interval=1m30s --timeout=250ms --retries=2 CMD [\"t\"]\n");
  const auto& h = df.stages[0].commands[0].as<HealthcheckCmd>();
  EXPECT_EQ(h.interval, 90'000'000'000);
  EXPECT_EQ(h.timeout, 250'000'000);
  EXPECT_EQ(h.retries, 2);
  EXPECT_FALSE(h.shell_form);
  EXPECT_NE(error_of("FROM x\nHEALTHCHECK --timeout=10us CMD t\n").find("less than 1ms"),
            std::string::npos);
  EXPECT_NE(error_of("FROM x\nHEALTHCHECK --retries=-1 CMD t\n").find("cannot be negative"),
            std::string::npos);
}

TEST(Instructions, OnbuildKeepsHeredocBodies) {
  auto df = ok("FROM x\nONBUILD RUN <<EOF\necho hi\nEOF\n");
  EXPECT_EQ(df.stages[0].commands[0].as<OnbuildCmd>().expression, "RUN <<EOF\necho hi\nEOF");
}

TEST(Instructions, ErrorsNameLineColumnAndHint) {
  std::string e = error_of("FROM x\n  WORKDIR\n");
  EXPECT_NE(e.find("Dockerfile:2:"), std::string::npos) << e;
  EXPECT_NE(e.find("WORKDIR requires exactly one argument"), std::string::npos) << e;
  EXPECT_NE(e.find("hint: write WORKDIR /path"), std::string::npos) << e;
  EXPECT_NE(error_of("FROM x y\n").find("FROM requires either one or three arguments"),
            std::string::npos);
  EXPECT_NE(error_of("FROM x\nENTRYPONT [\"a\"]\n").find("did you mean ENTRYPOINT?"),
            std::string::npos);
}

TEST(Instructions, ParseDuration) {
  EXPECT_EQ(parse_duration("1h2m3s"), 3723'000'000'000);
  EXPECT_EQ(parse_duration("1.5s"), 1'500'000'000);
  EXPECT_EQ(parse_duration("0"), 0);
  EXPECT_FALSE(parse_duration("5"));
  EXPECT_FALSE(parse_duration("s"));
}
