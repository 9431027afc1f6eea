#include "util/strings.hpp"

#include <gtest/gtest.h>

#include "util/utf8.hpp"

using namespace strata;

TEST(Strings, NearestSuggestsCloseWordsOnly) {
  std::vector<std::string> kws = {"RUN", "COPY", "WORKDIR", "ENTRYPOINT"};
  EXPECT_EQ(nearest("RUNN", kws), "RUN");
  EXPECT_EQ(nearest("workdr", kws), "WORKDIR");
  EXPECT_EQ(nearest("ENTRPOINT", kws), "ENTRYPOINT");
  EXPECT_EQ(nearest("XYZZY", kws), "");
}

TEST(Strings, GoQuoteMatchesStrconvQuote) {
  EXPECT_EQ(go_quote("a\"b\\c"), R"("a\"b\\c")");
  EXPECT_EQ(go_quote(std::string("\x00\t\n", 3)), R"("\x00\t\n")");
  EXPECT_EQ(go_quote("♥"), "\"♥\"");
}

TEST(Utf8, InvalidBytesRoundTrip) {
  std::string bad = "a\xff\xc3(b\xe2\x82";
  EXPECT_EQ(utf8::encode(utf8::decode(bad)), bad);
  EXPECT_EQ(utf8::decode("안녕").size(), 2u);
}

TEST(Strings, SplitJoinTrim) {
  EXPECT_EQ(split("a,b,,c", ','), (std::vector<std::string>{"a", "b", "", "c"}));
  EXPECT_EQ(join({"x", "y"}, "/"), "x/y");
  EXPECT_EQ(trim("  a b \n"), "a b");
}
