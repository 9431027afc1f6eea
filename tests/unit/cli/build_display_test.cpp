// The build's displays: plain lines as the log has always had them; rawjson
// as BuildKit's client/graph.go types marshal (a SolveStatus per line: a
// vertex per step with its input, started/completed/cached/error, logs with
// base64 data, statuses of transfers, warnings); quiet shows warnings only.
#include "cli/build_display.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

#include "digest/sha256.hpp"
#include "util/strings.hpp"

namespace strata::cli {
namespace {

using nlohmann::json;
using Kind = solver::StepEvent::Kind;
using Clock = std::chrono::system_clock;

solver::StepEvent event(Kind kind, std::string step, std::string text = {}) {
  solver::StepEvent e;
  e.kind = kind;
  e.step = std::move(step);
  e.text = std::move(text);
  return e;
}

std::unique_ptr<BuildDisplay> display(std::string_view mode, std::ostream& out) {
  auto d = make_build_display(mode, out, false);
  EXPECT_TRUE(d) << d.error().message;
  return std::move(*d);
}

// A build of two steps: FROM, then a RUN that misses, prints and is done;
// then a cached COPY and a failed RUN.
void send_build(BuildDisplay& d) {
  d.step(event(Kind::started, "[app 1/4] FROM busybox"));
  d.step(event(Kind::done, "[app 1/4] FROM busybox"));
  auto run = event(Kind::started, "[app 2/4] RUN make");
  run.after = "[app 1/4] FROM busybox";
  d.step(run);
  d.step(event(Kind::missed, "[app 2/4] RUN make", "no earlier build of this step"));
  d.step(event(Kind::output, "[app 2/4] RUN make", "cc -o app app.c"));
  d.step(event(Kind::note, "[app 2/4] RUN make", "waiting for cache mount m"));
  auto done = event(Kind::done, "[app 2/4] RUN make");
  done.ran = true;
  done.seconds = 1.5;
  d.step(done);
  d.step(event(Kind::started, "[app 3/4] COPY . /src"));
  d.step(event(Kind::cached, "[app 3/4] COPY . /src"));
  d.step(event(Kind::started, "[app 4/4] RUN false"));
  d.step(event(Kind::failed, "[app 4/4] RUN false", "exit status 1"));
}

TEST(BuildDisplay, PlainIsTheLog) {
  std::ostringstream out;
  auto d = display("plain", out);
  send_build(*d);
  d->message("pulled busybox");
  d->warning("ARG X is never used");
  EXPECT_EQ(out.str(),
            "[app 1/4] FROM busybox\n"
            "[app 2/4] RUN make\n"
            "  cache miss: no earlier build of this step\n"
            "  | cc -o app app.c\n"
            "  waiting for cache mount m\n"
            "  DONE 1.500s\n"
            "[app 3/4] COPY . /src\n"
            "  CACHED\n"
            "[app 4/4] RUN false\n"
            "pulled busybox\n"
            "warning: ARG X is never used\n");
  auto t = d->transfer("pushing x");
  ASSERT_TRUE(t);
  t->update(10, 10);
  t->finish();
  EXPECT_EQ(out.str().find('\033'), std::string::npos);
}

TEST(BuildDisplay, QuietShowsWarningsOnly) {
  for (auto mode : {"quiet", "none"}) {
    std::ostringstream out;
    auto d = display(mode, out);
    send_build(*d);
    d->message("pulled busybox");
    EXPECT_EQ(d->transfer("pushing x"), nullptr);
    d->warning("w");
    EXPECT_EQ(out.str(), "warning: w\n") << mode;
  }
}

std::vector<json> lines_of(const std::string& text) {
  std::vector<json> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    auto j = json::parse(line, nullptr, false);
    EXPECT_TRUE(j.is_object()) << line;
    out.push_back(j);
  }
  return out;
}

TEST(BuildDisplay, RawJsonIsBuildKitsSolveStatus) {
  std::ostringstream out;
  auto d = display("rawjson", out);
  send_build(*d);
  auto lines = lines_of(out.str());
  // Each event, a line; each line one kind of entry.
  ASSERT_EQ(lines.size(), 11u);
  std::map<std::string, json> last;  // vertex digest -> its latest state
  std::vector<json> logs;
  for (const auto& l : lines) {
    ASSERT_EQ(l.size(), 1u) << l;
    if (l.contains("vertexes"))
      for (const auto& v : l["vertexes"]) last[v["digest"]] = v;
    else
      for (const auto& g : l.at("logs")) logs.push_back(g);
  }
  ASSERT_EQ(last.size(), 4u);
  auto named = [&](const std::string& name) {
    for (const auto& [digest, v] : last)
      if (v["name"] == name) return v;
    ADD_FAILURE() << "no vertex " << name;
    return json();
  };
  json from = named("[app 1/4] FROM busybox");
  json run = named("[app 2/4] RUN make");
  json copy = named("[app 3/4] COPY . /src");
  json failed = named("[app 4/4] RUN false");
  EXPECT_EQ(from["digest"], sha256_digest("[app 1/4] FROM busybox"));
  EXPECT_FALSE(from.contains("inputs"));
  EXPECT_EQ(run["inputs"], json::array({from["digest"]}));
  for (const auto& v : {from, run, copy, failed}) {
    EXPECT_TRUE(v.contains("started")) << v;
    EXPECT_TRUE(v.contains("completed")) << v;
  }
  EXPECT_FALSE(run.contains("cached"));
  EXPECT_EQ(copy["cached"], true);
  EXPECT_EQ(failed["error"], "exit status 1");
  // The miss reason and the note on stream 2, the command's line on 1,
  // all on the RUN's vertex.
  ASSERT_EQ(logs.size(), 3u);
  std::vector<std::pair<int, std::string>> got;
  for (const auto& g : logs) {
    EXPECT_EQ(g["vertex"], run["digest"]);
    EXPECT_TRUE(g.contains("timestamp"));
    got.emplace_back(g["stream"].get<int>(),
                     base64_decode(g["data"].get<std::string>()).value_or("not base64"));
  }
  EXPECT_EQ(got, (std::vector<std::pair<int, std::string>>{
                     {2, "cache miss: no earlier build of this step\n"},
                     {1, "cc -o app app.c\n"},
                     {2, "waiting for cache mount m\n"}}));
}

TEST(BuildDisplay, RawJsonMessagesTransfersAndWarnings) {
  std::ostringstream out;
  auto d = display("rawjson", out);
  d->message("pulled busybox");
  d->message("pulled busybox");  // said twice: two vertexes
  auto t = d->transfer("pushing 127.0.0.1:5000/app");
  ASSERT_TRUE(t);
  t->update(5, 10);   // the first within 500 ms of the start: sent (none before it)
  t->update(6, 10);   // the next within 500 ms: not sent
  t->update(10, 10);  // nor this one: finish sends where it got to
  t->finish();
  d->warning("ARG X is never used");
  auto lines = lines_of(out.str());
  ASSERT_EQ(lines.size(), 7u) << out.str();
  for (int i : {0, 1}) {
    const auto& v = lines[i]["vertexes"][0];
    EXPECT_EQ(v["name"], "pulled busybox");
    EXPECT_EQ(v["started"], v["completed"]);
  }
  EXPECT_NE(lines[0]["vertexes"][0]["digest"], lines[1]["vertexes"][0]["digest"]);
  const auto& pushing = lines[2]["vertexes"][0];
  EXPECT_EQ(pushing["name"], "pushing 127.0.0.1:5000/app");
  EXPECT_FALSE(pushing.contains("completed"));
  const auto& first = lines[3]["statuses"][0];
  EXPECT_EQ(first["vertex"], pushing["digest"]);
  EXPECT_EQ(first["current"], 5);
  EXPECT_EQ(first["total"], 10);
  EXPECT_FALSE(first.contains("completed"));
  const auto& last = lines[4]["statuses"][0];
  EXPECT_EQ(last["current"], 10);
  EXPECT_TRUE(last.contains("completed"));
  EXPECT_EQ(lines[5]["vertexes"][0]["digest"], pushing["digest"]);
  EXPECT_TRUE(lines[5]["vertexes"][0].contains("completed"));
  const auto& w = lines[6]["warnings"][0];
  EXPECT_EQ(w["level"], 1);
  EXPECT_EQ(base64_decode(w["short"].get<std::string>()), "ARG X is never used");
}

TEST(BuildDisplay, ModesThatAreNot) {
  std::ostringstream out;
  auto bad = make_build_display("fancy", out, true);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("rawjson"), std::string::npos);
}

TEST(BuildDisplay, TimesAsGoWritesThem) {
  Clock::time_point t{std::chrono::seconds(1764756000)};
  EXPECT_EQ(rfc3339_nano(t), "2025-12-03T10:00:00Z");
  EXPECT_EQ(rfc3339_nano(t + std::chrono::milliseconds(500)), "2025-12-03T10:00:00.5Z");
  EXPECT_EQ(rfc3339_nano(t + std::chrono::nanoseconds(1)), "2025-12-03T10:00:00.000000001Z");
}

}  // namespace
}  // namespace strata::cli
