#include "frontend/plan.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "frontend/plan_format.hpp"

#include <nlohmann/json.hpp>

using namespace strata;
using namespace strata::frontend;
namespace fs = std::filesystem;

namespace {

Result<Plan> plan_of(std::string_view text, PlanOptions opts = {}) {
  auto df = dockerfile::read_dockerfile(text, "Dockerfile");
  if (!df) return std::unexpected(df.error());
  opts.platform = oci::Platform{"linux", "amd64", ""};
  return make_plan(*df, opts);
}

const std::string* env_of(const RunStep& r, std::string_view k) {
  for (const auto& [key, v] : r.env)
    if (key == k) return &v;
  return nullptr;
}

}  // namespace

TEST(Plan, GlobalArgsOnlyInFromUnlessRedeclared) {
  auto p = plan_of("ARG IMG=busybox\nARG V=1\nFROM $IMG\nRUN a\nARG V\nRUN b\n");
  ASSERT_TRUE(p) << p.error().message;
  const auto& steps = p->stages[0].steps;
  EXPECT_EQ(p->stages[0].base.name, "busybox");
  EXPECT_EQ(env_of(*steps[0].run, "V"), nullptr);
  ASSERT_NE(env_of(*steps[2].run, "V"), nullptr);
  EXPECT_EQ(*env_of(*steps[2].run, "V"), "1");
}

TEST(Plan, BuildArgOverridesAndUnusedWarns) {
  PlanOptions o;
  o.build_args = {{"V", "cli"}, {"NOPE", "x"}};
  auto p = plan_of("FROM x\nARG V=default\nRUN echo\n", o);
  ASSERT_TRUE(p);
  EXPECT_EQ(*env_of(*p->stages[0].steps[1].run, "V"), "cli");
  ASSERT_EQ(p->warnings.size(), 1u);
  EXPECT_NE(p->warnings[0].find("NOPE"), std::string::npos);
}

TEST(Plan, TargetKeepsOnlyNeededStagesInDependencyOrder) {
  PlanOptions o;
  o.target = "app";
  auto p = plan_of(
      "FROM x AS unused\nFROM x AS app\nRUN --mount=from=lib,target=/l l\n"
      "RUN --mount=from=tools,target=/t t\nFROM x AS lib\nFROM x AS tools\n",
      o);
  ASSERT_TRUE(p) << p.error().message;
  std::vector<int> order;
  for (const auto& s : p->stages) order.push_back(s.index);
  EXPECT_EQ(order, (std::vector<int>{2, 3, 1}));
  // COPY --from names a stage defined before it, as in BuildKit.
  auto later = plan_of("FROM x AS app\nCOPY --from=lib /l /l\nFROM x AS lib\n", o);
  ASSERT_FALSE(later);
  EXPECT_NE(later.error().message.find("needs to be defined before current stage"),
            std::string::npos);
}

TEST(Plan, ErrorsInStagesNotBuiltAreIgnored) {
  PlanOptions o;
  o.target = "good";
  auto p = plan_of("FROM x AS bad\nENV A=${B:?no}\nFROM x AS good\n", o);
  EXPECT_TRUE(p);
  o.target = "bad";
  EXPECT_FALSE(plan_of("FROM x AS bad\nENV A=${B:?no}\nFROM x AS good\n", o));
}

TEST(Plan, EntrypointResetsInheritedCmd) {
  auto p = plan_of("FROM x AS a\nCMD [\"c\"]\nFROM a\nENTRYPOINT [\"e\"]\n");
  ASSERT_TRUE(p);
  EXPECT_FALSE(p->stages.back().config.cmd);
  auto q = plan_of("FROM x\nCMD [\"c\"]\nENTRYPOINT [\"e\"]\n");
  ASSERT_TRUE(q);
  EXPECT_TRUE(q->stages.back().config.cmd);
}

TEST(Plan, RunHeredocForms) {
  auto p = plan_of(
      "FROM x\nRUN <<EOF\necho a\nEOF\nRUN <<EOF\n#!/bin/bash\necho b\nEOF\nRUN cat <<A\nx\nA\n");
  ASSERT_TRUE(p);
  const auto& s = p->stages[0].steps;
  EXPECT_EQ(s[0].run->argv, (std::vector<std::string>{"/bin/sh", "-c", "echo a\n"}));
  EXPECT_EQ(s[1].run->argv, (std::vector<std::string>{"/dev/pipes/EOF"}));
  EXPECT_EQ(s[1].run->files[0].content, "#!/bin/bash\necho b\n");
  EXPECT_EQ(s[2].run->argv[2], "cat <<A\nx\nA");
}

TEST(Plan, ContextSelectionHonoursDockerignore) {
  fs::path dir = fs::temp_directory_path() / "strata-plan-test";
  fs::remove_all(dir);
  fs::create_directories(dir / "src/sub");
  for (auto f : {"src/a.c", "src/sub/b.c", "src/x.o", "top.txt"}) std::ofstream(dir / f) << "x";
  auto ignore = dockerfile::IgnoreMatcher::parse("**/*.o\n", ".dockerignore");
  ASSERT_TRUE(ignore);
  auto ctx = BuildContext::open(dir, *ignore);
  ASSERT_TRUE(ctx);
  PlanOptions o;
  o.context = &*ctx;
  auto p = plan_of("FROM x\nCOPY src/ /s/\nCOPY *.txt /t/\n", o);
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(*p->stages[0].steps[0].copy->selected,
            (std::vector<std::string>{"src/a.c", "src/sub/b.c"}));
  EXPECT_EQ(*p->stages[0].steps[1].copy->selected, (std::vector<std::string>{"top.txt"}));
  auto missing = plan_of("FROM x\nCOPY src/x.o /\n", o);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("Dockerfile:2:6"), std::string::npos);
  fs::remove_all(dir);
}

TEST(Plan, JsonHasEveryStage) {
  auto p = plan_of("FROM x AS a\nFROM a\nRUN true\n");
  ASSERT_TRUE(p);
  auto j = plan_to_json(*p);
  ASSERT_EQ(j["stages"].size(), 2u);
  EXPECT_EQ(j["stages"][1]["base"]["kind"], "stage");
  EXPECT_EQ(j["stages"][1]["steps"][0]["run"]["argv"][2], "true");
}

TEST(PlanFormat, Durations) {
  EXPECT_EQ(format_duration(90'000'000'000), "1m30s");
  EXPECT_EQ(format_duration(500'000'000), "500ms");
  EXPECT_EQ(format_duration(3'600'000'000'000), "1h0m0s");
  EXPECT_EQ(format_duration(1'500'000'000), "1.5s");
}

TEST(Plan, InsecureRunNeedsTheEntitlement) {
  const char* df = "FROM x\nRUN --security=insecure id\n";
  auto denied = plan_of(df);
  ASSERT_FALSE(denied);
  EXPECT_NE(denied.error().message.find("entitlement security.insecure is not allowed"),
            std::string::npos);
  EXPECT_NE(denied.error().message.find("Dockerfile:2"), std::string::npos)
      << denied.error().message;
  PlanOptions o;
  o.allow_insecure = true;
  auto granted = plan_of(df, o);
  ASSERT_TRUE(granted) << granted.error().message;
  ASSERT_EQ(granted->stages[0].steps.size(), 1u);
  EXPECT_EQ(granted->stages[0].steps[0].run->security, "insecure");
}

namespace {

std::vector<std::string> lint_of(std::string_view text, PlanOptions opts = {}) {
  dockerfile::Linter lint;
  auto df = dockerfile::read_dockerfile(text, "Dockerfile", &lint);
  if (!df) return {"read: " + df.error().message};
  opts.platform = oci::Platform{"linux", "amd64", ""};
  opts.lint = &lint;
  auto p = make_plan(*df, opts);
  std::vector<std::string> out;
  for (const auto& w : lint.warnings()) out.push_back(w.short_text());
  if (!p) out.push_back("error: " + p.error().message.substr(0, p.error().message.find('\n')));
  return out;
}

}  // namespace

TEST(Plan, AStageFromAStageInheritsItsArgs) {
  // As BuildKit's state carries them: the child sees the parent's ARG.
  auto p = plan_of("FROM x AS base\nARG foo=bar\nFROM base\nRUN echo\nCOPY $foo /\n");
  ASSERT_TRUE(p) << p.error().message;
  const auto& child = p->stages.back();
  ASSERT_NE(env_of(*child.steps[0].run, "foo"), nullptr);
  EXPECT_EQ(*env_of(*child.steps[0].run, "foo"), "bar");
  EXPECT_EQ(child.steps[1].copy->sources, std::vector<std::string>{"bar"});
}

TEST(Plan, ASourceThatExpandsToNothingIsTheRoot) {
  auto p = plan_of("FROM scratch\nCOPY $nothing /dst/\n");
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->stages[0].steps[0].copy->sources, std::vector<std::string>{"."});
}

TEST(Plan, ADuplicateStageNameWarnsAndNamesItsLastStage) {
  PlanOptions o;
  o.target = "b";
  auto p = plan_of("FROM x AS b\nRUN first\nFROM b AS b\nRUN second\n", o);
  ASSERT_TRUE(p) << p.error().message;
  ASSERT_EQ(p->stages.size(), 2u);  // the target is the last "b", built FROM the first
  EXPECT_EQ(p->stages.back().line, 3);
  EXPECT_EQ(p->stages.back().base.index, 0);
  EXPECT_EQ(lint_of("FROM x AS b\nFROM x AS b\n"),
            std::vector<std::string>{"DuplicateStageName: Duplicate stage name \"b\", stage "
                                     "names should be unique (line 2)"});
}

TEST(Plan, StepRulesOnlyForTheStagesBuiltUnlessAllStages) {
  std::string df = "FROM scratch AS a\nENV k v\nFROM scratch AS b\nCOPY $u /\n";
  EXPECT_EQ(lint_of(df), std::vector<std::string>{"UndefinedVar: Usage of undefined variable "
                                                  "'$u' (line 4)"});
  PlanOptions all;
  all.all_stages = true;
  auto got = lint_of(df, all);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0],
            "LegacyKeyValueFormat: \"ENV key=value\" should be used instead of legacy \"ENV key "
            "value\" format (line 2)");
}

TEST(Plan, UndefinedArgInFromWarnsAndBuilds) {
  auto got = lint_of("ARG tag=1\nFROM busybox:${tag}${vresion}\n");
  EXPECT_EQ(got, std::vector<std::string>{"UndefinedArgInFrom: FROM argument 'vresion' is not "
                                          "declared"
                                          " (line 2)"});
  auto suggested = lint_of("ARG MY_ARCH=amd64\nFROM --platform=linux/$MYARCH x\n");
  ASSERT_EQ(suggested.size(), 2u);
  EXPECT_EQ(suggested[0],
            "UndefinedArgInFrom: FROM argument 'MYARCH' is not declared (did you mean MY_ARCH?) "
            "(line 2)");
  EXPECT_NE(suggested[1].find("failed to parse platform linux/$MYARCH: "), std::string::npos);
  EXPECT_NE(suggested[1].find("(did you mean MY_ARCH?)"), std::string::npos);
}

TEST(Plan, LintErrorFailsThePlanAfterTheWarnings) {
  auto got = lint_of("# check=error=true\nFROM scratch\nWORKDIR rel\n");
  ASSERT_EQ(got.size(), 2u);
  EXPECT_NE(got[1].find("lint violation found for rules: WorkdirRelativePath"), std::string::npos);
}

TEST(Plan, ExposeAcceptsHostPartsAsBuildKitDoes) {
  auto p = plan_of("FROM scratch\nEXPOSE 127.0.0.1:80:8080/TCP [::1]:1:2 3:4/udp\n");
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->stages[0].config.exposed_ports,
            (std::vector<std::string>{"2/tcp", "4/udp", "8080/tcp"}));
}

TEST(Plan, BuildContextsReplaceStagesAndImages) {
  PlanOptions o;
  o.named_contexts["base"] = {false, ""};            // a directory
  o.named_contexts["busybox"] = {true, "alpine:3"};  // an image
  o.named_contexts["tools"] = {true, "scratch"};
  auto p = plan_of(
      "FROM busybox AS base\nRUN never\nFROM busybox AS other\nRUN a\nFROM scratch\n"
      "COPY --from=base /a /\nCOPY --from=tools /b /\nCOPY --from=other /c /\n",
      o);
  ASSERT_TRUE(p) << p.error().message;
  const auto& base = p->stages[0];
  EXPECT_EQ(base.base.kind, SourceRef::scratch);  // the directory's files on scratch
  ASSERT_EQ(base.steps.size(), 1u);               // its own RUN is gone
  EXPECT_EQ(base.steps[0].copy->from.kind, SourceRef::context);
  EXPECT_EQ(base.steps[0].copy->from.name, "base");
  EXPECT_EQ(p->stages[1].base.name, "alpine:3");  // FROM busybox, replaced
  const auto& last = p->stages.back();
  EXPECT_EQ(last.steps[1].copy->from.kind, SourceRef::scratch);  // --from=tools
}
