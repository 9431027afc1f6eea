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

TEST(Strings, Base64RoundTripsAndRejectsGarbage) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("user:pass"), "dXNlcjpwYXNz");
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  EXPECT_EQ(base64_decode(base64_encode(all)), all);
  EXPECT_EQ(base64_decode("Zm8="), "fo");
  EXPECT_FALSE(base64_decode("Zm8"));       // not a multiple of 4
  EXPECT_FALSE(base64_decode("Z=8="));      // padding in the middle
  EXPECT_FALSE(base64_decode("Zm9v!A=="));  // not the alphabet
  EXPECT_FALSE(base64_decode("Zg==Zg=="));  // padding before the end
}

TEST(Strings, SuggestLikeBuildKit) {
  std::vector<std::string> keys = {"DIR_ASSETS", "BUILDPLATFORM", "PATH"};
  EXPECT_EQ(suggest_like_buildkit("DIR_ASSET", keys, true), "DIR_ASSETS");
  EXPECT_EQ(suggest_like_buildkit("BULIDPLATFORM", keys, true), "BUILDPLATFORM");
  EXPECT_EQ(suggest_like_buildkit("PAHT", keys, true), "PATH");
  EXPECT_EQ(suggest_like_buildkit("path", keys, true), "");       // 4 edits apart
  EXPECT_EQ(suggest_like_buildkit("path", keys, false), "");      // equal but for case: no hint
  EXPECT_EQ(suggest_like_buildkit("paht", keys, false), "path");  // in the word's case
  EXPECT_EQ(suggest_like_buildkit("PAHT", keys, false), "PATH");
  EXPECT_EQ(suggest_like_buildkit("PATH", keys, true), "");  // an exact match: no hint
  EXPECT_EQ(suggest_like_buildkit("version", keys, true), "");
}

TEST(Strings, ParseGoBool) {
  for (const char* t : {"1", "t", "T", "TRUE", "true", "True"}) EXPECT_EQ(parse_go_bool(t), true);
  for (const char* f : {"0", "f", "F", "FALSE", "false", "False"})
    EXPECT_EQ(parse_go_bool(f), false);
  for (const char* bad : {"", "yes", "tRuE", "2"}) EXPECT_EQ(parse_go_bool(bad), std::nullopt);
}

TEST(Strings, UrlEncodeKeepsOnlyUnreservedBytes) {
  EXPECT_EQ(strata::url_encode("docker.io/library/app"), "docker.io%2Flibrary%2Fapp");
  EXPECT_EQ(strata::url_encode("a b~_-.&="), "a%20b~_-.%26%3D");
  EXPECT_EQ(strata::url_encode("\xff"), "%FF");
}
