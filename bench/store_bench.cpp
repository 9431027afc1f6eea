// Cache lookups against an empty store and against one holding 10,000 cache
// records: a lookup must not slow down as the cache grows.
#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <unistd.h>

#include <filesystem>

#include "digest/sha256.hpp"
#include "store/store.hpp"

using namespace strata;
namespace fs = std::filesystem;

namespace {

store::Store& store_with(int records) {
  static std::map<int, std::unique_ptr<store::Store>> stores;
  auto& s = stores[records];
  if (!s) {
    fs::path root =
        fs::temp_directory_path() / fmt::format("strata-bench-store-{}-{}", ::getpid(), records);
    fs::remove_all(root);
    s = std::make_unique<store::Store>(std::move(*store::Store::open(root)));
    auto layer = s->put_blob("layer", oci::kLayerGzip);
    (void)s->db().exec("BEGIN");
    for (int i = 0; i < records; ++i) {
      store::Store::CacheRecord rec{*layer, sha256_digest(std::to_string(-i))};
      (void)s->cache_put(sha256_digest(std::to_string(i)), rec, "{}");
    }
    (void)s->db().exec("COMMIT");
  }
  return *s;
}

void BM_CacheLookup(benchmark::State& state) {
  auto& s = store_with(static_cast<int>(state.range(0)));
  std::string hit = sha256_digest(std::to_string(state.range(0) / 2));
  std::string miss = sha256_digest("not there");
  bool want_hit = state.range(1) != 0;
  for (auto _ : state) {
    auto r = s.cache_get(want_hit ? hit : miss);
    benchmark::DoNotOptimize(r);
  }
  state.SetLabel(fmt::format("{} records, {}", state.range(0), want_hit ? "hit" : "miss"));
}
// {records, hit?}; a hit also records when the entry was last used.
BENCHMARK(BM_CacheLookup)
    ->Args({0, 0})
    ->Args({10000, 0})
    ->Args({10000, 1})
    ->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
