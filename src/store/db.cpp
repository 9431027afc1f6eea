#include "store/db.hpp"

#include <fmt/format.h>
#include <sqlite3.h>

namespace strata::store {

Result<Db> Db::open(const std::filesystem::path& path) {
  Db d;
  if (sqlite3_open_v2(path.c_str(), &d.db_,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    std::string msg = d.db_ ? sqlite3_errmsg(d.db_) : "out of memory";
    return fail(Errc::io, fmt::format("opening {}: {}", path.string(), msg));
  }
  sqlite3_busy_timeout(d.db_, 30000);
  if (auto r = d.exec("PRAGMA journal_mode=WAL"); !r) return std::unexpected(r.error());
  if (auto r = d.exec("PRAGMA synchronous=NORMAL"); !r) return std::unexpected(r.error());
  return d;
}

Db::~Db() {
  if (db_) sqlite3_close_v2(db_);
}
Db::Db(Db&& o) noexcept : db_(o.db_) {
  o.db_ = nullptr;
}
Db& Db::operator=(Db&& o) noexcept {
  if (this != &o) {
    if (db_) sqlite3_close_v2(db_);
    db_ = o.db_;
    o.db_ = nullptr;
  }
  return *this;
}

Result<std::vector<Db::Row>> Db::query(const std::string& sql,
                                       const std::vector<std::string>& args) {
  std::vector<Row> rows;
  auto r = each(sql, args, [&](const char* const* cols, int n) {
    Row row;
    for (int c = 0; c < n; ++c)
      row.push_back(cols[c] ? std::optional<std::string>(cols[c]) : std::nullopt);
    rows.push_back(std::move(row));
  });
  if (!r) return std::unexpected(r.error());
  return rows;
}

Result<void> Db::each(const std::string& sql, const std::vector<std::string>& args,
                      const std::function<void(const char* const* cols, int n)>& row) {
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) != SQLITE_OK)
    return fail(Errc::internal, fmt::format("sqlite: {}: {}", sqlite3_errmsg(db_), sql));
  for (size_t i = 0; i < args.size(); ++i)
    sqlite3_bind_text(st, static_cast<int>(i + 1), args[i].c_str(), -1, SQLITE_TRANSIENT);
  std::vector<const char*> cols;
  for (;;) {
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) {
      std::string msg = sqlite3_errmsg(db_);
      sqlite3_finalize(st);
      return fail(Errc::io, fmt::format("sqlite: {}", msg));
    }
    int n = sqlite3_column_count(st);
    cols.resize(static_cast<size_t>(n));
    for (int c = 0; c < n; ++c)
      cols[static_cast<size_t>(c)] = reinterpret_cast<const char*>(sqlite3_column_text(st, c));
    row(cols.data(), n);
  }
  sqlite3_finalize(st);
  return {};
}

Result<void> Db::exec(const std::string& sql, const std::vector<std::string>& args) {
  auto r = query(sql, args);
  if (!r) return std::unexpected(r.error());
  return {};
}

}  // namespace strata::store
