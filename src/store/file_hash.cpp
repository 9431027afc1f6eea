#include "store/file_hash.hpp"

#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <ctime>
#include <mutex>
#include <optional>
#include <thread>

#include "digest/sha256.hpp"

namespace fs = std::filesystem;

namespace strata::store {

Result<std::vector<std::string>> content_digests(Store& store, const fs::path& root,
                                                 const std::vector<FileId>& files) {
  std::vector<std::string> out(files.size());
  std::vector<size_t> todo;
  // Every cache entry under root at once, in path order, merged with the
  // files in path order: a rebuild of a big context makes one query and
  // keeps nothing but the digests it uses.
  std::vector<size_t> order(files.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return files[a].path < files[b].path; });
  std::vector<bool> hit(files.size(), false);
  size_t k = 0;
  std::string lo = root.string() + "/", hi = root.string() + "0";  // '0' follows '/'
  auto r = store.db().each(
      "SELECT path, size, mtime, ctime, ino, digest FROM stat_cache WHERE path >= ? AND path < ? "
      "ORDER BY path",
      {lo, hi}, [&](const Db::RowView& row) {
        const char* path = row.text(0);
        const char* digest = row.text(5);
        if (!path || !digest) return;
        std::string_view p(path);
        while (k < order.size() && std::string_view(files[order[k]].path) < p) ++k;
        if (k == order.size() || files[order[k]].path != p) return;
        const FileId& f = files[order[k]];
        if (row.integer(1) == f.size && row.integer(2) == f.mtime && row.integer(3) == f.ctime &&
            row.integer(4) == f.ino) {
          out[order[k]] = digest;
          hit[order[k]] = true;
        }
        ++k;
      });
  if (!r) return std::unexpected(r.error());
  for (size_t i = 0; i < files.size(); ++i)
    if (!hit[i]) todo.push_back(i);
  if (todo.empty()) return out;

  // Read what changed, on every core.
  std::atomic<size_t> next{0};
  std::vector<std::optional<Error>> errors(todo.size());
  unsigned workers =
      std::max(1u, std::min<unsigned>(std::thread::hardware_concurrency(), todo.size()));
  std::vector<std::thread> pool;
  for (unsigned w = 0; w < workers; ++w) {
    pool.emplace_back([&] {
      for (size_t k; (k = next++) < todo.size();) {
        auto d = sha256_file(files[todo[k]].path);
        if (d)
          out[todo[k]] = *d;
        else
          errors[k] = d.error();
      }
    });
  }
  for (auto& t : pool) t.join();
  for (const auto& e : errors)
    if (e) return std::unexpected(*e);

  // Files changed within the last two seconds may change again within the
  // same timestamp granularity: they are not cached (git's "racy" rule).
  int64_t recent = (static_cast<int64_t>(std::time(nullptr)) - 2) * 1000000000;
  static std::mutex transaction;  // one transaction at a time on the shared connection
  std::lock_guard lock(transaction);
  // IMMEDIATE: the write lock first (waited for), not a read that must
  // become a write later (which fails at once when another process wrote).
  if (auto r = store.db().exec("BEGIN IMMEDIATE"); !r) return std::unexpected(r.error());
  for (size_t i : todo) {
    const FileId& f = files[i];
    if (f.mtime >= recent || f.ctime >= recent) continue;
    auto r = store.db().exec(
        "INSERT OR REPLACE INTO stat_cache (path, size, mtime, ctime, ino, digest) VALUES (?, ?, "
        "?, ?, ?, ?)",
        {f.path, std::to_string(f.size), std::to_string(f.mtime), std::to_string(f.ctime),
         std::to_string(f.ino), out[i]});
    if (!r) {
      (void)store.db().exec("ROLLBACK");
      return std::unexpected(r.error());
    }
  }
  if (auto r = store.db().exec("COMMIT"); !r) return std::unexpected(r.error());
  return out;
}

}  // namespace strata::store
