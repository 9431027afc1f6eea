#include "graph/cache_key.hpp"

#include <gtest/gtest.h>

using namespace strata::graph;

namespace {
StepInputs sample() {
  StepInputs s;
  s.parent = "base:sha256:aa";
  s.instruction = "RUN [\"/bin/sh\",\"-c\",\"make\"]";
  s.env = {{"PATH", "/bin"}, {"V", "1"}};
  s.user = "app";
  s.workdir = "/src";
  s.platform = "linux/amd64";
  s.extra = {{"mount0", "type=cache,target=/c,id=c"}};
  s.files = {{"/src/a.c", 'f', 0644, 0, 0, "", "sha256:11"},
             {"/src/b.c", 'f', 0644, 0, 0, "", "sha256:22"}};
  return s;
}
}  // namespace

TEST(CacheKey, SameInputsSameKeyWhateverTheFileOrder) {
  StepInputs a = sample(), b = sample();
  std::swap(b.files[0], b.files[1]);
  EXPECT_EQ(a.key(), b.key());
  EXPECT_EQ(StepInputs::from_json(a.to_json()).key(), a.key());
}

TEST(CacheKey, EveryInputChangesTheKey) {
  const std::string base = sample().key();
  std::vector<std::function<void(StepInputs&)>> changes = {
      [](StepInputs& s) { s.parent = "base:sha256:bb"; },
      [](StepInputs& s) { s.instruction += " "; },
      [](StepInputs& s) { s.env[1].second = "2"; },
      [](StepInputs& s) {
        s.env.push_back({"NEW", ""});
      },
      [](StepInputs& s) { s.user = "root"; },
      [](StepInputs& s) { s.workdir = "/"; },
      [](StepInputs& s) { s.platform = "linux/arm64"; },
      [](StepInputs& s) { s.extra[0].second += ",ro"; },
      [](StepInputs& s) { s.files[0].content = "sha256:33"; },
      [](StepInputs& s) { s.files[0].mode = 0755; },
      [](StepInputs& s) { s.files[0].uid = 1; },
      [](StepInputs& s) { s.files[0].path = "/src/c.c"; },
      [](StepInputs& s) { s.files[0].type = 'l'; },
      [](StepInputs& s) { s.files.pop_back(); },
  };
  for (size_t i = 0; i < changes.size(); ++i) {
    StepInputs s = sample();
    changes[i](s);
    EXPECT_NE(s.key(), base) << "change " << i;
  }
}

TEST(CacheKey, FieldsCannotBleedIntoEachOther) {
  StepInputs a = sample(), b = sample();
  a.user = "ab";
  a.workdir = "c";
  b.user = "a";
  b.workdir = "bc";
  EXPECT_NE(a.key(), b.key());
}

TEST(CacheKey, ExplainsTheMostTellingDifference) {
  StepInputs before = sample(), now = sample();
  now.env[1].second = "2";
  EXPECT_EQ(explain_difference(before, now), "ARG/ENV changed: V \"1\" → \"2\"");
  now = sample();
  now.files[1].content = "sha256:99";
  now.files.push_back({"/src/new.c", 'f', 0644, 0, 0, "", "sha256:44"});
  now.files.erase(now.files.begin());
  EXPECT_EQ(explain_difference(before, now),
            "files changed: modified /src/b.c, added /src/new.c, removed /src/a.c");
  now = sample();
  now.instruction = "RUN other";
  EXPECT_NE(explain_difference(before, now).find("instruction changed"), std::string::npos);
  now = sample();
  now.parent = "base:sha256:cc";
  EXPECT_EQ(explain_difference(before, now), "base image changed: sha256:aa → sha256:cc");
  now.parent = "sha256:dd";
  EXPECT_EQ(explain_difference(before, now), "parent changed (an earlier step missed)");
  EXPECT_EQ(explain_difference(before, sample()), "");
}

TEST(CacheKey, ExplainsACopyFromAChangedStage) {
  StepInputs before = sample(), now = sample();
  before.extra = {{"from", "stage:sha256:aa"}};
  now.extra = {{"from", "stage:sha256:bb"}};
  EXPECT_EQ(explain_difference(before, now),
            "the stage it copies from changed (a step there missed)");
}

TEST(CacheKey, ListsAtMostTenFiles) {
  StepInputs before, now;
  for (int i = 0; i < 15; ++i)
    now.files.push_back({"/f" + std::to_string(i), 'f', 0644, 0, 0, "", "x"});
  std::string why = explain_difference(before, now);
  EXPECT_NE(why.find("and 5 more"), std::string::npos) << why;
}

TEST(CacheKey, NamesAddedRemovedModifiedAndModeChanges) {
  StepInputs before = sample(), now = sample();
  now.files[0].content = "sha256:99";                                   // modified
  now.files[1].mode = 0755;                                             // mode
  now.files.push_back({"/src/c.c", 'f', 0644, 0, 0, "", "sha256:33"});  // added
  before.files.push_back({"/src/gone.c", 'f', 0644, 0, 0, "", "sha256:44"});
  // A record read back from its JSON explains the same way.
  EXPECT_EQ(explain_difference(StepInputs::from_json(before.to_json()), now),
            "files changed: modified /src/a.c, mode or owner of /src/b.c, added /src/c.c, "
            "removed /src/gone.c");
}

// A record keeps its file list as one line per file; any path or link
// (spaces, tabs, newlines, backslashes) comes back as it was, and records
// written with one JSON array per file are still read.
TEST(CacheKey, FileListsSurviveTheirRecord) {
  StepInputs s = sample();
  s.files.push_back(
      {"/src/odd name\twith\ttabs\nand\\slashes\\n", 'f', 04755, 1000, 1001, "", "sha256:33"});
  s.files.push_back({"/src/dir", 'd', 0700, 0, 0, "", ""});
  s.files.push_back({"/src/link", 'l', 0777, 0, 0, "../a b\\t\n", ""});
  StepInputs back = StepInputs::from_json(nlohmann::json::parse(s.to_json().dump()));
  ASSERT_EQ(back.files.size(), s.files.size());
  for (size_t i = 0; i < s.files.size(); ++i) {
    EXPECT_EQ(back.files[i].path, s.files[i].path);
    EXPECT_EQ(back.files[i].type, s.files[i].type);
    EXPECT_EQ(back.files[i].mode, s.files[i].mode);
    EXPECT_EQ(back.files[i].uid, s.files[i].uid);
    EXPECT_EQ(back.files[i].gid, s.files[i].gid);
    EXPECT_EQ(back.files[i].link, s.files[i].link);
    EXPECT_EQ(back.files[i].content, s.files[i].content);
  }
  EXPECT_EQ(back.key(), s.key());
  nlohmann::json old = s.to_json();
  old["files"] = nlohmann::json::array();
  for (const auto& f : s.files)
    old["files"].push_back(
        {f.path, std::string(1, f.type), f.mode, f.uid, f.gid, f.link, f.content});
  EXPECT_EQ(StepInputs::from_json(old).key(), s.key());
  // A damaged line is left out, not misread.
  nlohmann::json damaged = s.to_json();
  damaged["files"] = "f 644 0 0 sha256:11 /src/a.c\t\nnot a file line\n";
  auto d = StepInputs::from_json(damaged);
  ASSERT_EQ(d.files.size(), 1u);
  EXPECT_EQ(d.files[0].path, "/src/a.c");
}
