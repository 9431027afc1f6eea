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
  std::vector<std::optional<IncrementalBase>> bases;  // what each run was given
  std::mutex bases_mu;
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
    return [this](const std::optional<graph::StepInputs>& in, const std::string&,
                  const IncrementalBase* base) -> Result<StepRun> {
      ++runs;
      {
        std::lock_guard g(bases_mu);  // two step caches may run steps at once
        bases.push_back(base ? std::optional<IncrementalBase>(*base) : std::nullopt);
      }
      std::string content =
          (in ? in->instruction : "uncacheable") + (base ? " on " + base->key : "");
      auto blob = store->put_blob(content, oci::kLayerGzip);
      if (!blob) return std::unexpected(blob.error());
      StepRun r;
      r.layer = oci::LayerRef{*blob, "sha256:diff-" + blob->digest.substr(7)};
      r.root = std::vector<std::string>{"sha256:root-" + (in ? in->parent : "")};
      r.incremental = base != nullptr;
      return r;
    };
  }
  Result<StepOutcome> step(StepCache& c, const std::string& stage, size_t index,
                           std::optional<graph::StepInputs> in, const StepCache::Exec& exec,
                           bool marked = false) {
    return c.run(
        StepId{stage, index, index + 2, 10 + static_cast<int>(index), "RUN x",
               "[" + stage + " " + std::to_string(index + 2) + "] RUN x", marked, "linux/amd64"},
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

// The same step (`instruction`) of stages `one` and `two` through caches
// `a` and `b` at once: each waits until both have begun.
std::pair<Result<StepOutcome>, Result<StepOutcome>> at_once(Fixture& f, StepCache& a, StepCache& b,
                                                            const std::string& one,
                                                            const std::string& two,
                                                            const std::string& instruction) {
  std::atomic<bool> release{false};
  auto slow = [&](const std::optional<graph::StepInputs>& in, const std::string& previous,
                  const IncrementalBase* base) -> Result<StepRun> {
    while (!release) std::this_thread::yield();
    return f.make_layer()(in, previous, base);
  };
  std::optional<Result<StepOutcome>> ra, rb;
  std::thread ta([&] { ra = f.step(a, one, 0, Fixture::inputs(instruction), slow); });
  std::thread tb([&] { rb = f.step(b, two, 0, Fixture::inputs(instruction), slow); });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  release = true;
  ta.join();
  tb.join();
  return {std::move(*ra), std::move(*rb)};
}

TEST_F(Fixture, IdenticalStepsOfOneBuildRunOnce) {
  StepCache c(*store, options());
  auto [a, b] = at_once(*this, c, c, "one", "two", "RUN same");
  ASSERT_TRUE(a && b);
  EXPECT_EQ(runs, 1);
  ASSERT_TRUE(a->layer && b->layer);
  EXPECT_EQ(a->layer->blob.digest, b->layer->blob.digest);
  // Run one after the other, the second is a hit.
  ASSERT_TRUE(step(c, "three", 0, inputs("RUN same"), make_layer())->cached);
  EXPECT_EQ(runs, 1);
}

// Two builds at once (the platforms of one build), each with its own step
// cache and build record, share the steps running: the same key runs once.
TEST_F(Fixture, BuildsSharingRunningStepsRunAKeyOnce) {
  auto running = std::make_shared<RunningSteps>();
  StepCacheOptions oa = options(), ob = options();
  oa.build_name = "app linux/amd64";
  ob.build_name = "app linux/arm64";
  oa.running = ob.running = running;
  StepCache ca(*store, oa), cb(*store, ob);
  auto [a, b] = at_once(*this, ca, cb, "gen", "gen", "RUN shared");
  ASSERT_TRUE(a && b);
  EXPECT_EQ(runs, 1);
  ASSERT_TRUE(a->layer && b->layer);
  EXPECT_EQ(a->layer->blob.digest, b->layer->blob.digest);
  // Without the shared steps, two caches at once run it twice.
  StepCache cc(*store, options()), cd(*store, options());
  auto [c, d] = at_once(*this, cc, cd, "gen", "gen", "RUN apart");
  ASSERT_TRUE(c && d);
  EXPECT_EQ(runs, 3);
  ASSERT_TRUE(ca.finish() && cb.finish() && cc.finish() && cd.finish());
}

TEST_F(Fixture, UncacheableAndFailingSteps) {
  StepCache c(*store, options());
  auto once = step(c, "app", 0, std::nullopt, make_layer());
  ASSERT_TRUE(once);
  EXPECT_EQ(once->key, "");
  ASSERT_TRUE(step(c, "app", 0, std::nullopt, make_layer()));
  EXPECT_EQ(runs, 2);
  auto failing = [](const std::optional<graph::StepInputs>&, const std::string&,
                    const IncrementalBase*) -> Result<StepRun> {
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

TEST_F(Fixture, AMarkedStepThatMissesRunsOnTheLastBuildsResult) {
  std::string first_key = inputs("RUN x", "p1").key();
  {
    StepCache c(*store, options());
    auto r = step(c, "app", 0, inputs("RUN x", "p1"), make_layer(), true);
    ASSERT_TRUE(r);
    EXPECT_FALSE(bases.back());  // nothing earlier: from scratch
    EXPECT_EQ(r->chain, r->key);
    ASSERT_TRUE(c.finish());
  }
  auto first = store->cache_get(first_key);
  ASSERT_TRUE(first && *first);
  EXPECT_EQ((*first)->step,
            step_identity({.stage = "app", .text = "RUN x", .platform = "linux/amd64"}));
  ASSERT_TRUE((*first)->parent);
  EXPECT_EQ(*(*first)->parent, std::vector<std::string>{"sha256:root-p1"});
  // Its parent changed: it runs on top of the last build's result, and
  // says so in its record, its cache record and its events.
  std::string second_key = inputs("RUN x", "p2").key();
  std::string second_chain;
  {
    StepCache c(*store, options());
    auto r = step(c, "app", 0, inputs("RUN x", "p2"), make_layer(), true);
    ASSERT_TRUE(r);
    ASSERT_TRUE(bases.back());
    EXPECT_EQ(bases.back()->key, first_key);
    EXPECT_EQ(bases.back()->from, "the last build");
    EXPECT_EQ(bases.back()->parent, std::vector<std::string>{"sha256:root-p1"});
    EXPECT_EQ(bases.back()->layer.blob.digest, (*first)->blob->digest);
    EXPECT_NE(r->chain, r->key);  // the steps after it are keyed apart
    second_chain = r->chain;
    auto rec = c.finish();
    ASSERT_TRUE(rec);
    EXPECT_EQ((*rec)[0].incremental_on, first_key);
    EXPECT_EQ((*rec)[0].incremental_from, "the last build");
  }
  bool noted = false;
  for (const auto& e : events)
    noted = noted ||
            (e.kind == StepEvent::Kind::note &&
             e.text == "ran incrementally on the result of " + first_key + " from the last build");
  EXPECT_TRUE(noted);
  auto second = store->cache_get(second_key);
  ASSERT_TRUE(second && *second);
  EXPECT_EQ((*second)->incremental_on, first_key);
  // Hit again: the same chain.
  {
    StepCache c(*store, options());
    auto r = step(c, "app", 0, inputs("RUN x", "p2"), make_layer(), true);
    ASSERT_TRUE(r && r->cached);
    EXPECT_EQ(r->chain, second_chain);
    auto probed = c.probe("app", second_key);
    ASSERT_TRUE(probed && *probed);
    EXPECT_EQ(**probed, second_chain);
    ASSERT_TRUE(c.finish());
  }
  // --no-incremental: that record is not a hit; the step runs from scratch
  // and its record takes the key's place.
  int before = runs;
  {
    auto o = options();
    o.incremental = false;
    StepCache c(*store, o);
    auto probed = c.probe("app", second_key);
    ASSERT_TRUE(probed);
    EXPECT_FALSE(*probed);
    auto r = step(c, "app", 0, inputs("RUN x", "p2"), make_layer(), true);
    ASSERT_TRUE(r && !r->cached);
    EXPECT_FALSE(bases.back());
    EXPECT_EQ(r->chain, r->key);
    auto rec = c.finish();
    ASSERT_TRUE(rec);
    EXPECT_EQ((*rec)[0].reason, "--no-incremental: its cached result was made incrementally");
  }
  EXPECT_EQ(runs, before + 1);
  auto scratch = store->cache_get(second_key);
  ASSERT_TRUE(scratch && *scratch);
  EXPECT_EQ((*scratch)->incremental_on, "");
  // A later incremental result of the same key does not replace it.
  store::Store::CacheRecord inc = **second;
  ASSERT_TRUE(store->cache_put(second_key, inc, "{}"));
  auto still = store->cache_get(second_key);
  ASSERT_TRUE(still && *still);
  EXPECT_EQ((*still)->incremental_on, "");
  EXPECT_EQ((*still)->blob->digest, (*scratch)->blob->digest);
}

TEST_F(Fixture, OnAStoreWithoutALastBuildTheLatestRecordOfTheStepIsTheBase) {
  // An imported record of the same step (stage and instruction).
  auto blob = store->put_blob("main's result", oci::kLayerGzip);
  ASSERT_TRUE(blob);
  store::Store::CacheRecord main{*blob, "sha256:diff-main"};
  main.step = step_identity({.stage = "app", .text = "RUN x", .platform = "linux/amd64"});
  main.parent = std::vector<std::string>{"sha256:main-root"};
  main.source = "127.0.0.1:5000/app:cache";
  ASSERT_TRUE(store->cache_put("sha256:main", main, ""));
  // A newer one loaded from an archive, and one built here (not imported:
  // never a base unless the last build made it).
  auto blob2 = store->put_blob("loaded", oci::kLayerGzip);
  ASSERT_TRUE(blob2);
  store::Store::CacheRecord loaded = main;
  loaded.blob = *blob2;
  loaded.source = "app.tar";
  loaded.created = main.created = 1700000000;
  ASSERT_TRUE(store->cache_put("sha256:main", main, ""));
  loaded.created = 1700000100;
  ASSERT_TRUE(store->cache_put("sha256:loaded", loaded, ""));
  store::Store::CacheRecord here = loaded;
  here.source = "";
  here.created = 1700000200;
  ASSERT_TRUE(store->cache_put("sha256:here", here, ""));
  {
    StepCache c(*store, options());
    ASSERT_TRUE(step(c, "app", 1, inputs("RUN x", "pr2"), make_layer(), true));
    ASSERT_TRUE(bases.back());
    EXPECT_EQ(bases.back()->key, "sha256:loaded");  // the latest that came from outside
    EXPECT_EQ(bases.back()->from, "the cache imported from app.tar");
  }
  // An unmarked step is not given one; a marked one is, of the build's
  // --cache-from first.
  auto o = options();
  o.cache_sources = {"elsewhere", "127.0.0.1:5000/app:cache"};
  StepCache c(*store, o);
  ASSERT_TRUE(step(c, "app", 0, inputs("RUN x", "pr"), make_layer()));
  EXPECT_FALSE(bases.back());
  ASSERT_TRUE(step(c, "app", 1, inputs("RUN x", "pr3"), make_layer(), true));
  ASSERT_TRUE(bases.back());
  EXPECT_EQ(bases.back()->key, "sha256:main");
  EXPECT_EQ(bases.back()->from, "the cache imported from 127.0.0.1:5000/app:cache");
  EXPECT_EQ(bases.back()->parent, std::vector<std::string>{"sha256:main-root"});
  ASSERT_TRUE(c.finish());
}

}  // namespace
}  // namespace strata::solver
