#include "builder/file_hash.hpp"

#include <fmt/format.h>
#include <sys/stat.h>

#include <atomic>
#include <ctime>
#include <mutex>
#include <optional>
#include <thread>

#include "digest/sha256.hpp"

namespace fs = std::filesystem;

namespace strata::builder {

namespace {

struct Stat {
  int64_t size = 0, mtime = 0, ctime = 0, ino = 0;
};

int64_t ns(const struct timespec& t) {
  return static_cast<int64_t>(t.tv_sec) * 1000000000 + t.tv_nsec;
}

}  // namespace

Result<std::vector<std::string>> content_digests(store::Store& store,
                                                 const std::vector<fs::path>& files) {
  std::vector<std::string> out(files.size());
  std::vector<Stat> stats(files.size());
  std::vector<size_t> todo;
  for (size_t i = 0; i < files.size(); ++i) {
    struct stat st {};
    if (::stat(files[i].c_str(), &st) != 0)
      return fail(Errc::io, fmt::format("stat {}", files[i].string()));
    stats[i] = {st.st_size, ns(st.st_mtim), ns(st.st_ctim), static_cast<int64_t>(st.st_ino)};
    auto rows =
        store.db().query("SELECT size, mtime, ctime, ino, digest FROM stat_cache WHERE path = ?",
                         {files[i].string()});
    if (!rows) return std::unexpected(rows.error());
    if (!rows->empty()) {
      const auto& r = (*rows)[0];
      if (std::stoll(*r[0]) == stats[i].size && std::stoll(*r[1]) == stats[i].mtime &&
          std::stoll(*r[2]) == stats[i].ctime && std::stoll(*r[3]) == stats[i].ino) {
        out[i] = *r[4];
        continue;
      }
    }
    todo.push_back(i);
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
        auto d = sha256_file(files[todo[k]]);
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
    if (stats[i].mtime >= recent || stats[i].ctime >= recent) continue;
    auto r = store.db().exec(
        "INSERT OR REPLACE INTO stat_cache (path, size, mtime, ctime, ino, digest) VALUES (?, ?, "
        "?, ?, ?, ?)",
        {files[i].string(), std::to_string(stats[i].size), std::to_string(stats[i].mtime),
         std::to_string(stats[i].ctime), std::to_string(stats[i].ino), out[i]});
    if (!r) {
      (void)store.db().exec("ROLLBACK");
      return std::unexpected(r.error());
    }
  }
  if (auto r = store.db().exec("COMMIT"); !r) return std::unexpected(r.error());
  return out;
}

}  // namespace strata::builder
