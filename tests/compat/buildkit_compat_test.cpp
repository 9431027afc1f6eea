// Runs BuildKit's own parser and word-expansion test data (kept in
// ../shared/compat/buildkit-dockerfile, read in place) against strata's
// dockerfile module. Skipped when that folder is absent.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "dockerfile/parser.hpp"
#include "dockerfile/shell_lex.hpp"

namespace fs = std::filesystem;
using namespace strata::dockerfile;

namespace {

const fs::path kDir = STRATA_COMPAT_DIR;

std::string read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  std::string l;
  while (std::getline(ss, l)) {
    if (!l.empty() && l.back() == '\r') l.pop_back();
    out.push_back(l);
  }
  return out;
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.pop_back();
  size_t i = 0;
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
  return s.substr(i);
}

#define SKIP_IF_ABSENT() \
  if (!fs::is_directory(kDir)) GTEST_SKIP() << kDir << " is absent"

TEST(BuildkitCompat, ParsesEveryTestfileLikeBuildkit) {
  SKIP_IF_ABSENT();
  int cases = 0;
  for (const auto& entry : fs::directory_iterator(kDir / "testfiles")) {
    SCOPED_TRACE(entry.path().filename().string());
    auto parsed = parse(read(entry.path() / "Dockerfile"), "Dockerfile");
    ASSERT_TRUE(parsed) << parsed.error().message;
    std::vector<std::string> got;
    for (const auto& n : parsed->nodes) got.push_back("(" + dump(n) + ")");
    auto want = lines_of(read(entry.path() / "result"));
    while (!want.empty() && want.back().empty()) want.pop_back();
    EXPECT_EQ(got, want);
    ++cases;
  }
  EXPECT_GT(cases, 30);
}

TEST(BuildkitCompat, RejectsEveryNegativeTestfile) {
  SKIP_IF_ABSENT();
  int cases = 0;
  for (const auto& entry : fs::directory_iterator(kDir / "testfiles-negative")) {
    SCOPED_TRACE(entry.path().filename().string());
    auto parsed = parse(read(entry.path() / "Dockerfile"), "Dockerfile");
    EXPECT_FALSE(parsed) << "parsed a file BuildKit rejects";
    ++cases;
  }
  EXPECT_GE(cases, 4);
}

TEST(BuildkitCompat, LineInformation) {
  SKIP_IF_ABSENT();
  auto parsed = parse(read(kDir / "testfile-line" / "Dockerfile"), "Dockerfile");
  ASSERT_TRUE(parsed) << parsed.error().message;
  std::vector<std::pair<int, int>> got;
  for (const auto& n : parsed->nodes) got.emplace_back(n.start_line, n.end_line);
  std::vector<std::pair<int, int>> want = {{5, 5}, {11, 12}, {17, 31}};
  EXPECT_EQ(got, want);
  // Line 23 of that file is an empty continuation line; BuildKit reports it
  // at the instruction's last line.
  EXPECT_EQ(parsed->empty_continuations, std::vector<int>{31});
}

TEST(BuildkitCompat, EnvVarTestTable) {
  SKIP_IF_ABSENT();
  std::map<std::string, std::string> env = {
      {"PWD", "/home"}, {"SHELL", "bash"}, {"KOREAN", "한국어"}, {"NULL", ""}};
  EnvLookup lookup = [&](std::string_view name) -> std::optional<std::string> {
    auto it = env.find(std::string(name));
    if (it == env.end()) return std::nullopt;
    return it->second;
  };
  int cases = 0;
  for (const auto& line : lines_of(read(kDir / "envVarTest"))) {
    if (line.empty() || line[0] == '#') continue;
    size_t a = line.find('|'), b = line.find('|', a + 1);
    ASSERT_NE(b, std::string::npos) << line;
    std::string platform = trim(line.substr(0, a));
    if (platform == "W") continue;
    std::string source = trim(line.substr(a + 1, b - a - 1));
    std::string expected = trim(line.substr(b + 1));
    auto got = expand_word(source, lookup);
    std::string result = got ? *got : "error";
    EXPECT_EQ(result, expected) << "input: " << source
                                << (got ? "" : " (error: " + got.error().message + ")");
    ++cases;
  }
  EXPECT_GT(cases, 150);
}

TEST(BuildkitCompat, WordsTestTable) {
  SKIP_IF_ABSENT();
  std::map<std::string, std::string> env;
  EnvLookup lookup = [&](std::string_view name) -> std::optional<std::string> {
    auto it = env.find(std::string(name));
    if (it == env.end()) return std::nullopt;
    return it->second;
  };
  int cases = 0;
  for (const auto& line : lines_of(read(kDir / "wordsTest"))) {
    if (line.empty() || line[0] == '#') continue;
    if (line.starts_with("ENV ")) {
      std::string kv = line.substr(3);
      kv.erase(0, kv.find_first_not_of(' '));
      size_t eq = kv.find('=');
      env[kv.substr(0, eq)] = kv.substr(eq + 1);
      continue;
    }
    size_t bar = line.find('|');
    std::string source = trim(line.substr(0, bar));
    std::string rest = line.substr(bar + 1);
    rest.erase(0, rest.find_first_not_of(' '));
    std::vector<std::string> expected;
    std::stringstream ss(rest);
    std::string w;
    while (std::getline(ss, w, ',')) expected.push_back(w);
    auto got = expand(source, lookup);
    std::vector<std::string> result = got ? got->words : std::vector<std::string>{"error"};
    EXPECT_EQ(result, expected) << "input: " << source;
    ++cases;
  }
  EXPECT_GT(cases, 20);
}

}  // namespace
