#include "dockerfile/shell_lex.hpp"

#include <gtest/gtest.h>

#include <map>

using namespace strata::dockerfile;

namespace {

std::map<std::string, std::string> g_env = {
    {"FILE", "/usr/lib/lib.so.1.2"}, {"EMPTY", ""}, {"V", "value"}, {"PATHS", "a/b/c"}};

EnvLookup env() {
  return [](std::string_view n) -> std::optional<std::string> {
    auto it = g_env.find(std::string(n));
    if (it == g_env.end()) return std::nullopt;
    return it->second;
  };
}

std::string ex(std::string_view in, LexOptions o = {}) {
  auto r = expand_word(in, env(), o);
  return r ? *r : "error: " + r.error().message;
}

}  // namespace

TEST(ShellLex, PrefixAndSuffixPatterns) {
  EXPECT_EQ(ex("${FILE#*/}"), "usr/lib/lib.so.1.2");
  EXPECT_EQ(ex("${FILE##*/}"), "lib.so.1.2");
  EXPECT_EQ(ex("${FILE%.*}"), "/usr/lib/lib.so.1");
  EXPECT_EQ(ex("${FILE%%.*}"), "/usr/lib/lib");
  EXPECT_EQ(ex("${FILE#nomatch}"), "/usr/lib/lib.so.1.2");
  EXPECT_EQ(ex("${PATHS#?/}"), "b/c");
  EXPECT_EQ(ex("${PATHS%[bc]}"), "a/b/");
  EXPECT_EQ(ex("${UNSET#x}"), "");
}

TEST(ShellLex, PatternModifiersRejectColon) {
  EXPECT_TRUE(ex("${FILE:#x}").starts_with("error"));
}

TEST(ShellLex, DefaultsAndAlternatives) {
  EXPECT_EQ(ex("${EMPTY-d}"), "");
  EXPECT_EQ(ex("${EMPTY:-d}"), "d");
  EXPECT_EQ(ex("${EMPTY+a}"), "a");
  EXPECT_EQ(ex("${EMPTY:+a}"), "");
  EXPECT_EQ(ex("${UNSET:?must be set}"),
            "error: failed to process \"${UNSET:?must be set}\": UNSET: must be set");
}

TEST(ShellLex, BacktickEscape) {
  LexOptions o;
  o.escape = '`';
  EXPECT_EQ(ex("a`$V", o), "a$V");
  EXPECT_EQ(ex("C:\\dir\\$V", o), "C:\\dir\\value");
}

TEST(ShellLex, SkipUnsetKeepsReferences) {
  LexOptions o;
  o.skip_unset = true;
  EXPECT_EQ(ex("$V $NOPE ${NOPE:-x}", o), "value $NOPE ${NOPE:-x}");
}

TEST(ShellLex, RecordsUsedAndUnsetNames) {
  auto r = expand("$V ${NOPE:-x}", env());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->used, (std::set<std::string>{"V"}));
  EXPECT_EQ(r->unset, (std::set<std::string>{"NOPE"}));
}

TEST(ShellLex, SkipQuotesForHeredocBodies) {
  LexOptions o;
  o.skip_quotes = true;
  EXPECT_EQ(ex("echo \"$V\" '$V' \\$V", o), "echo \"value\" 'value' $V");
}

TEST(ShellLex, NestingAndLengthAreBounded) {
  // 128 levels expand; 129 are refused with an error that says why, and
  // thousands (which used to overflow the stack) are refused the same way.
  auto nested = [](int depth) {
    std::string s;
    for (int i = 0; i < depth; ++i) s += "${X:-";
    s += "end";
    for (int i = 0; i < depth; ++i) s += "}";
    return s;
  };
  EXPECT_EQ(ex(nested(128)), "end");
  EXPECT_NE(ex(nested(129)).find("nested more than 128 deep"), std::string::npos);
  EXPECT_NE(ex(nested(100000)).find("nested more than 128 deep"), std::string::npos);
  EXPECT_NE(ex(std::string(100000, '{') + "${" + std::string(100000, '{')).find("error:"),
            std::string::npos);
  // A value may be long, an expansion up to 2^20 characters; longer is refused.
  std::string big(1 << 19, 'x');
  auto lookup = [&](std::string_view n) -> std::optional<std::string> {
    if (n == "B") return big;
    return std::nullopt;
  };
  EXPECT_EQ(expand_word("$B$B", lookup)->size(), size_t{1} << 20);
  auto r = expand_word("$B$B$B", lookup);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("longer than 1048576 characters"), std::string::npos);
  EXPECT_LT(r.error().message.size(), 400u);  // the input is shown cut, not whole
  EXPECT_FALSE(expand_word("\"${B}${B}${B}\"", lookup));
}
