// The lint options (`check=`), which rules they enable, per-instruction
// `# check=` comments, the error of error=true, the secret-name test, and
// the rules read_dockerfile reports while it reads.
#include "dockerfile/lint.hpp"

#include <gtest/gtest.h>

#include "dockerfile/instructions.hpp"

namespace strata::dockerfile {
namespace {

TEST(LintConfig, ParsesBuildKitsOptions) {
  auto c = LintConfig::parse(" skip = A, B ;error=true;experimental=all");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->skip, (std::set<std::string, std::less<>>{"A", "B"}));
  EXPECT_TRUE(c->error);
  EXPECT_TRUE(c->experimental_all);
  EXPECT_FALSE(c->skip_all);
  auto all = LintConfig::parse("skip=all");
  ASSERT_TRUE(all);
  EXPECT_TRUE(all->skip_all);
  auto none = LintConfig::parse("");
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->enabled(rules::UndefinedVar));
  EXPECT_FALSE(none->enabled(rules::InvalidDefinitionDescription));  // experimental
}

TEST(LintConfig, RejectsWhatBuildKitRejects) {
  for (const char* bad : {"bogus", "skip=A;nope=1", "error=maybe", "skip=A;error"}) {
    auto c = LintConfig::parse(bad);
    EXPECT_FALSE(c) << bad;
    if (!c) {
      EXPECT_NE(c.error().message.find("check option"), std::string::npos) << bad;
    }
  }
  auto go_bool = LintConfig::parse("error=T");
  ASSERT_TRUE(go_bool);
  EXPECT_TRUE(go_bool->error);
}

TEST(LintConfig, SkipAllLeavesExperimentalRulesToTheirOwnList) {
  auto c = LintConfig::parse("skip=all;experimental=InvalidDefinitionDescription");
  ASSERT_TRUE(c);
  EXPECT_FALSE(c->enabled(rules::UndefinedVar));
  EXPECT_TRUE(c->enabled(rules::InvalidDefinitionDescription));
}

TEST(Linter, CommentAboveAnInstructionSkipsARuleThereOnly) {
  Linter lint;
  lint.report(rules::UndefinedVar, 3, 3, "a", {"check=skip=UndefinedVar // allowed here"});
  lint.report(rules::UndefinedVar, 5, 5, "b", {"unrelated comment"});
  lint.report(rules::UndefinedVar, 7, 7, "c", {"check=bogus"});  // does not parse: ignored
  ASSERT_EQ(lint.warnings().size(), 2u);
  EXPECT_EQ(lint.warnings()[0].short_text(), "UndefinedVar: b (line 5)");
  EXPECT_EQ(lint.warnings()[1].line, 7);
  EXPECT_FALSE(lint.error_message());  // error=false
}

TEST(Linter, ErrorNamesEachViolatedRuleOnce) {
  Linter lint(LintConfig::parse("error=true").value());
  EXPECT_FALSE(lint.error_message());
  lint.report(rules::FromAsCasing, 2, 2, "x");
  lint.report(rules::UndefinedVar, 3, 3, "y");
  lint.report(rules::FromAsCasing, 4, 4, "z");
  EXPECT_EQ(lint.error_message(), "lint violation found for rules: FromAsCasing, UndefinedVar");
}

TEST(Linter, AForcedConfigReplacesTheDirective) {
  Linter forced(LintConfig::parse("skip=MaintainerDeprecated").value());
  ASSERT_TRUE(forced.use_directive("skip=all"));
  auto df = read_dockerfile("# check=skip=all\nFROM scratch AS Base\nMAINTAINER me\n", "Dockerfile",
                            &forced);
  ASSERT_TRUE(df) << df.error().message;
  ASSERT_EQ(forced.warnings().size(), 1u);  // the directive is no comment of FROM
  EXPECT_EQ(forced.warnings()[0].rule, "StageNameCasing");

  Linter plain;
  auto bad = read_dockerfile("# check=skip\nFROM scratch\n", "Dockerfile", &plain);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("failed to parse check options"), std::string::npos);
}

TEST(Linter, ReadingReportsTheParseLevelRules) {
  Linter lint;
  auto df = read_dockerfile(
      "FROM scratch as Base\nMAINTAINER me\nRUN a \\\n\n  b\nfrom base AS other\nBADCMD\n",
      "Dockerfile", &lint);
  ASSERT_FALSE(df);  // BADCMD: what came before it stays reported
  std::vector<std::string> got;
  for (const auto& w : lint.warnings()) got.push_back(w.short_text());
  EXPECT_EQ(got, (std::vector<std::string>{
                     "NoEmptyContinuation: Empty continuation line (line 5)",
                     "StageNameCasing: Stage name 'Base' should be lowercase (line 1)",
                     "FromAsCasing: 'as' and 'FROM' keywords' casing do not match (line 1)",
                     "MaintainerDeprecated: Maintainer instruction is deprecated in favor of "
                     "using label (line 2)",
                     "FromAsCasing: 'AS' and 'from' keywords' casing do not match (line 6)"}));
}

TEST(Secrets, UnderscoreWordsAsBuildKitMatchesThem) {
  for (const char* yes :
       {"password", "SUPER_Secret", "super_duper_secret_token", "git_key", "AUTH", "api_KEY_x"})
    EXPECT_TRUE(looks_like_secret(yes)) << yes;
  for (const char* no : {"sunflower", "PUBLIC_KEY", "secret_File", "AUTH_MODULE_VERSION",
                         "passwords", "keyring", ""})
    EXPECT_FALSE(looks_like_secret(no)) << no;
}

}  // namespace
}  // namespace strata::dockerfile
