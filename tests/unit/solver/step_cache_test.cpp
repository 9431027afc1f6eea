// The cache protocol with a fake step (no root, no runtime): hits, every
// miss reason, identical steps of one build run once, --no-cache and
// --no-cache-filter, failures recorded as nothing, and the build record.
#include "solver/step_cache.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <mutex>
#include <thread>

namespace strata::solver {
namespace {

namespace fs = std::filesystem;

struct Fixture : ::testing::Test {
  fs::path root = fs::temp_directory_path() / ("strata-solver-test-" + std::to_string(::getpid()));
  std::optional<store::Store> store;
  std::atomic<int> runs{0};
  std::mutex events_mu;  // steps of two threads send events (the sink serialises)
  std::vector<StepEvent> events;

  void SetUp() override {
    fs::remove_all(root);
    auto s = store::Store::open(root);
    ASSERT_TRUE(s) << s.error().message;
    store.emplace(std::move(*s));
  }
  void TearDown() override {
    store.reset();
    fs::remove_all(root);
  }

  StepCacheOptions options() {
    StepCacheOptions o;
    o.build_name = "app";
    o.events = [this](const StepEvent& e) {
      std::lock_guard g(events_mu);
      events.push_back(e);
    };
    return o;
  }
  static graph::StepInputs inputs(const std::string& instruction, const std::string& parent = "p") {
    graph::StepInputs in;
    in.parent = parent;
    in.instruction = instruction;
    in.platform = "linux/amd64";
    return in;
  }
  // A step whose layer is a blob holding its instruction.
  StepCache::Exec make_layer() {
    return [this](const std::optional<graph::StepInputs>& in,
                  const std::string&) -> Result<StepLayer> {
      ++runs;
      auto blob = store->put_blob(in ? in->instruction : "uncacheable", oci::kLayerGzip);
      if (!blob) return std::unexpected(blob.error());
      return StepLayer{oci::LayerRef{*blob, "sha256:diff-" + blob->digest.substr(7)}};
    };
  }
  Result<StepOutcome> step(StepCache& c, const std::string& stage, size_t index,
                           std::optional<graph::StepInputs> in, const StepCache::Exec& exec) {
    return c.run(StepId{stage, index, index + 2, 10 + static_cast<int>(index), "RUN x",
                        "[" + stage + " " + std::to_string(index + 2) + "] RUN x"},
                 std::move(in), exec);
  }
};

TEST_F(Fixture, AMissRunsAndTheNextBuildHits) {
  std::string key = inputs("RUN make").key();
  {
    StepCache c(*store, options());
    auto first = step(c, "app", 0, inputs("RUN make"), make_layer());
    ASSERT_TRUE(first) << first.error().message;
    EXPECT_FALSE(first->cached);
    EXPECT_EQ(first->key, key);
    ASSERT_TRUE(first->layer);
    auto records = c.finish();
    ASSERT_TRUE(records);
    ASSERT_EQ(records->size(), 1u);
    EXPECT_EQ((*records)[0].reason, "no earlier build of this step");
    EXPECT_EQ((*records)[0].key, key);
    EXPECT_EQ((*records)[0].number, 2u);
    EXPECT_EQ((*records)[0].line, 10);
  }
  EXPECT_EQ(runs, 1);
  // The miss says why and ends in a done that ran.
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].kind, StepEvent::Kind::missed);
  EXPECT_EQ(events[0].step, "[app 2] RUN x");
  EXPECT_EQ(events[0].text, "no earlier build of this step");
  EXPECT_EQ(events[1].kind, StepEvent::Kind::done);
  EXPECT_TRUE(events[1].ran);
  events.clear();
  StepCache again(*store, options());
  auto hit = step(again, "app", 0, inputs("RUN make"), make_layer());
  ASSERT_TRUE(hit);
  EXPECT_TRUE(hit->cached);
  EXPECT_EQ(runs, 1);
  ASSERT_TRUE(hit->layer);
  auto r = again.finish();
  ASSERT_TRUE(r);
  EXPECT_TRUE((*r)[0].cached);
  ASSERT_EQ(events.size(), 1u);  // a hit: nothing runs, no done
  EXPECT_EQ(events[0].kind, StepEvent::Kind::cached);
  EXPECT_EQ(events[0].step, "[app 2] RUN x");
}

TEST_F(Fixture, MissReasonsAgainstTheLastBuild) {
  {
    StepCache c(*store, options());
    ASSERT_TRUE(step(c, "app", 0, inputs("RUN make"), make_layer()));
    ASSERT_TRUE(step(c, "app", 1, inputs("RUN test"), make_layer()));
    ASSERT_TRUE(c.finish());
  }
  StepCache c(*store, options());
  ASSERT_TRUE(step(c, "app", 0, inputs("RUN make all"), make_layer()));
  ASSERT_TRUE(step(c, "app", 1, inputs("RUN test", "another parent"), make_layer()));
  ASSERT_TRUE(step(c, "app", 2, inputs("RUN new"), make_layer()));
  auto records = c.finish();
  ASSERT_TRUE(records);
  ASSERT_EQ(records->size(), 3u);
  EXPECT_NE((*records)[0].reason.find("instruction changed"), std::string::npos)
      << (*records)[0].reason;
  EXPECT_NE((*records)[1].reason.find("parent"), std::string::npos) << (*records)[1].reason;
  EXPECT_EQ((*records)[2].reason, "no earlier build of this step");

  // The last build's record of step 0 pruned: said so.
  ASSERT_TRUE(store->db().exec("DELETE FROM cache WHERE key = ?", {inputs("RUN make all").key()}));
  StepCache pruned(*store, options());
  ASSERT_TRUE(step(pruned, "app", 0, inputs("RUN make again"), make_layer()));
  ASSERT_TRUE(step(pruned, "app", 1, inputs("RUN test", "another parent"), make_layer()));
  // ... and the same inputs as last time whose record is gone.
  ASSERT_TRUE(store->db().exec("DELETE FROM cache"));
  auto r = pruned.finish();
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)[0].reason, "the earlier build's record of this step is gone (pruned)");
  EXPECT_TRUE((*r)[1].cached);
}

TEST_F(Fixture, SameInputsWhoseRecordIsGone) {
  {
    StepCache c(*store, options());
    ASSERT_TRUE(step(c, "app", 0, inputs("RUN make"), make_layer()));
    ASSERT_TRUE(c.finish());
  }
  // The record stays (with its inputs) but its layer blob is gone: a miss.
  auto blob = store->cache_get(inputs("RUN make").key());
  ASSERT_TRUE(blob && *blob && (*blob)->blob);
  fs::remove(store->blob_path((*blob)->blob->digest));
  StepCache c(*store, options());
  ASSERT_TRUE(step(c, "app", 0, inputs("RUN make"), make_layer()));
  auto r = c.finish();
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)[0].reason, "same inputs as the last build, but its cache record is gone");
  EXPECT_EQ(runs, 2);
}

TEST_F(Fixture, NoCacheAndNoCacheFilter) {
  {
    StepCache c(*store, options());
    ASSERT_TRUE(step(c, "deps", 0, inputs("RUN a"), make_layer()));
    ASSERT_TRUE(step(c, "app", 0, inputs("RUN b"), make_layer()));
    ASSERT_TRUE(c.finish());
  }
  auto o = options();
  o.no_cache_stages = {"app"};
  StepCache filtered(*store, o);
  auto deps = step(filtered, "deps", 0, inputs("RUN a"), make_layer());
  auto app = step(filtered, "app", 0, inputs("RUN b"), make_layer());
  ASSERT_TRUE(deps && app);
  EXPECT_TRUE(deps->cached);
  EXPECT_FALSE(app->cached);
  EXPECT_EQ(app->key, inputs("RUN b").key());  // still keyed: later steps chain on it
  auto r = filtered.finish();
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)[1].reason, "--no-cache-filter app");

  o = options();
  o.no_cache = true;
  StepCache none(*store, o);
  auto again = step(none, "deps", 0, inputs("RUN a"), make_layer());
  ASSERT_TRUE(again);
  EXPECT_FALSE(again->cached);
  auto n = none.finish();
  ASSERT_TRUE(n);
  EXPECT_EQ((*n)[0].reason, "--no-cache");
  EXPECT_EQ(runs, 4);
}

TEST_F(Fixture, IdenticalStepsOfOneBuildRunOnce) {
  StepCache c(*store, options());
  std::atomic<bool> release{false};
  auto slow = [&](const std::optional<graph::StepInputs>& in,
                  const std::string& previous) -> Result<StepLayer> {
    while (!release) std::this_thread::yield();
    return make_layer()(in, previous);
  };
  std::optional<Result<StepOutcome>> a, b;
  std::thread ta([&] { a = step(c, "one", 0, inputs("RUN same"), slow); });
  std::thread tb([&] { b = step(c, "two", 0, inputs("RUN same"), slow); });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  release = true;
  ta.join();
  tb.join();
  ASSERT_TRUE(*a && *b);
  EXPECT_EQ(runs, 1);
  ASSERT_TRUE((*a)->layer && (*b)->layer);
  EXPECT_EQ((*a)->layer->blob.digest, (*b)->layer->blob.digest);
  // Run one after the other, the second is a hit.
  ASSERT_TRUE(step(c, "three", 0, inputs("RUN same"), make_layer())->cached);
  EXPECT_EQ(runs, 1);
}

TEST_F(Fixture, UncacheableAndFailingSteps) {
  StepCache c(*store, options());
  auto once = step(c, "app", 0, std::nullopt, make_layer());
  ASSERT_TRUE(once);
  EXPECT_EQ(once->key, "");
  ASSERT_TRUE(step(c, "app", 0, std::nullopt, make_layer()));
  EXPECT_EQ(runs, 2);
  auto failing = [](const std::optional<graph::StepInputs>&,
                    const std::string&) -> Result<StepLayer> {
    return fail(Errc::invalid_argument, "exit code: 1");
  };
  auto bad = step(c, "app", 1, inputs("RUN false"), failing);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "exit code: 1");
  auto r = c.finish();
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)[0].reason, "not cacheable (ADD of a URL without --checksum)");
  auto none = store->cache_get(inputs("RUN false").key());
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);  // a failed step leaves no record
}

TEST_F(Fixture, ReasonsAreRedactedAndTimesFollowTheRecord) {
  auto o = options();
  o.redact = [](std::string s) {
    for (size_t at; (at = s.find("hunter2")) != std::string::npos;) s.replace(at, 7, "****");
    return s;
  };
  {
    StepCache c(*store, o);
    auto in = inputs("RUN a");
    in.env = {{"TOKEN", "hunter2"}};
    ASSERT_TRUE(step(c, "app", 0, in, make_layer()));
    ASSERT_TRUE(c.finish());
  }
  StepCache c(*store, o);
  auto in = inputs("RUN a");
  in.env = {{"TOKEN", "hunter3-hunter2"}};
  ASSERT_TRUE(step(c, "app", 0, in, make_layer()));
  auto r = c.finish();
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)[0].reason.find("hunter2"), std::string::npos) << (*r)[0].reason;
  EXPECT_NE((*r)[0].reason.find("TOKEN"), std::string::npos) << (*r)[0].reason;

  o.source_date_epoch = 1700000000;
  StepCache fixed(*store, o);
  auto hit = step(fixed, "app", 0, in, make_layer());
  ASSERT_TRUE(hit && hit->cached);
  EXPECT_EQ(hit->created, 1700000000);
}

}  // namespace
}  // namespace strata::solver
