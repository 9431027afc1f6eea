#include "builder/file_hash.hpp"

#include <fmt/format.h>
#include <sys/stat.h>

#include <atomic>
#include <ctime>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include "digest/sha256.hpp"

namespace fs = std::filesystem;

namespace strata::builder {

Result<std::vector<std::string>> content_digests(store::Store& store, const fs::path& root,
                                                 const std::vector<FileId>& files) {
  std::vector<std::string> out(files.size());
  std::vector<size_t> todo;
  // Every cache entry under root at once: a rebuild of a big context makes
  // one query, not one per file.
  struct Entry {
    int64_t size, mtime, ctime, ino;
    std::string digest;
  };
  std::unordered_map<std::string, Entry> known;
  known.reserve(files.size());
  std::string lo = root.string() + "/", hi = root.string() + "0";  // '0' follows '/'
  auto r = store.db().each(
      "SELECT path, size, mtime, ctime, ino, digest FROM stat_cache WHERE path >= ? AND path < ?",
      {lo, hi}, [&](const store::Db::RowView& row) {
        const char* path = row.text(0);
        const char* digest = row.text(5);
        if (!path || !digest) return;
        known.emplace(
            path, Entry{row.integer(1), row.integer(2), row.integer(3), row.integer(4), digest});
      });
  if (!r) return std::unexpected(r.error());
  for (size_t i = 0; i < files.size(); ++i) {
    const FileId& f = files[i];
    auto it = known.find(f.path.string());
    if (it != known.end() && it->second.size == f.size && it->second.mtime == f.mtime &&
        it->second.ctime == f.ctime && it->second.ino == f.ino) {
      out[i] = it->second.digest;
    } else {
      todo.push_back(i);
    }
  }
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
  if (auto r = store.db().exec("BEGIN"); !r) return std::unexpected(r.error());
  for (size_t i : todo) {
    const FileId& f = files[i];
    if (f.mtime >= recent || f.ctime >= recent) continue;
    auto r = store.db().exec(
        "INSERT OR REPLACE INTO stat_cache (path, size, mtime, ctime, ino, digest) VALUES (?, ?, "
        "?, ?, ?, ?)",
        {f.path.string(), std::to_string(f.size), std::to_string(f.mtime), std::to_string(f.ctime),
         std::to_string(f.ino), out[i]});
    if (!r) {
      (void)store.db().exec("ROLLBACK");
      return std::unexpected(r.error());
    }
  }
  if (auto r = store.db().exec("COMMIT"); !r) return std::unexpected(r.error());
  return out;
}

}  // namespace strata::builder
