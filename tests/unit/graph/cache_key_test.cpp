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
