#include "dockerfile/parser.hpp"

#include <gtest/gtest.h>

using namespace strata::dockerfile;

namespace {
ParsedFile ok(std::string_view text) {
  auto r = parse(text, "Dockerfile");
  EXPECT_TRUE(r) << (r ? "" : r.error().message);
  return r ? std::move(*r) : ParsedFile{};
}
}  // namespace

TEST(Parser, HeredocsWithQuotesAndChomp) {
  auto f = ok("FROM x\nRUN <<A cat - <<-\"B\"\nline $X\nA\n\tkept\n\tB\nRUN true\n");
  ASSERT_EQ(f.nodes.size(), 3u);
  const auto& run = f.nodes[1];
  ASSERT_EQ(run.heredocs.size(), 2u);
  EXPECT_EQ(run.heredocs[0].name, "A");
  EXPECT_TRUE(run.heredocs[0].expand);
  EXPECT_EQ(run.heredocs[0].content, "line $X\n");
  EXPECT_EQ(run.heredocs[1].name, "B");
  EXPECT_FALSE(run.heredocs[1].expand);
  EXPECT_TRUE(run.heredocs[1].chomp);
  EXPECT_EQ(chomp_heredoc(run.heredocs[1].content), "kept\n");
  EXPECT_EQ(run.start_line, 2);
  EXPECT_EQ(run.end_line, 6);
  EXPECT_EQ(f.nodes[2].start_line, 7);
}

TEST(Parser, HeredocInJsonFormIsNotAHeredoc) {
  auto f = ok("FROM x\nRUN [\"echo\", \"<<EOF\"]\nRUN true\n");
  EXPECT_TRUE(f.nodes[1].heredocs.empty());
}

TEST(Parser, UnterminatedHeredocNamesLineAndDelimiter) {
  auto r = parse("FROM x\nCOPY <<EOF /a\nhello\n", "Dockerfile");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("Dockerfile:2:1: unterminated heredoc"), std::string::npos)
      << r.error().message;
  EXPECT_NE(r.error().message.find("EOF"), std::string::npos);
}

TEST(Parser, CommentsInsideContinuationsAndDirectives) {
  auto f = ok("# syntax=docker/dockerfile:1\n# escape=`\nFROM x\nRUN a `\n# note\n  b\n");
  EXPECT_EQ(f.directives.escape, U'`');
  EXPECT_EQ(f.directives.syntax, "docker/dockerfile:1");
  EXPECT_EQ(dump(f.nodes[1]), "run \"a   b\"");
  EXPECT_FALSE(f.warnings.empty());  // the syntax directive is reported as ignored
}

TEST(Parser, RepeatedDirectiveIsAnError) {
  auto r = parse("# escape=`\n# escape=\\\nFROM x\n", "Dockerfile");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("Dockerfile:2:1: only one escape parser directive"),
            std::string::npos);
}

TEST(Parser, FlagPositionsMapToPhysicalLines) {
  auto f = ok("FROM x\nRUN \\\n  --mount=type=cache,target=/c \\\n  --network=none echo\n");
  const auto& n = f.nodes[1];
  ASSERT_EQ(n.flags.size(), 2u);
  auto p0 = n.position(f.source, n.flag_offsets[0]);
  auto p1 = n.position(f.source, n.flag_offsets[1]);
  EXPECT_EQ(p0.line, 3);
  EXPECT_EQ(p0.col, 3);
  EXPECT_EQ(p1.line, 4);
  EXPECT_EQ(p1.col, 3);
  auto pa = n.position(f.source, n.args_offset);
  EXPECT_EQ(pa.line, 4);
  EXPECT_EQ(pa.col, 18);
}

TEST(Parser, OnbuildWrapsItsInstruction) {
  auto f = ok("FROM x\nONBUILD COPY --from=a . /\n");
  ASSERT_TRUE(f.nodes[1].sub);
  EXPECT_EQ(dump(f.nodes[1]), "onbuild (copy [\"--from=a\"] \".\" \"/\")");
}

TEST(Parser, CrlfAndBom) {
  auto f =
      ok("\xEF\xBB\xBF"
         "FROM x\r\nRUN a \\\r\n b\r\n");
  EXPECT_EQ(dump(f.nodes[0]), "from \"x\"");
  EXPECT_EQ(dump(f.nodes[1]), "run \"a  b\"");
}
