#include "store/db.hpp"

#include <fmt/format.h>
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include <cstring>

namespace strata::store {

namespace {

// SQLite's message, with what the operating system said when it was the
// cause (a full disk says "No space left on device", not just "disk I/O").
std::string sqlite_message(sqlite3* db) {
  std::string msg = sqlite3_errmsg(db);
  if (int sys = sqlite3_system_errno(db); sys != 0) msg += fmt::format(" ({})", std::strerror(sys));
  return msg;
}

constexpr int kBusyTimeoutMs = 30000;

bool is_io_error(sqlite3* db) {
  int rc = sqlite3_errcode(db);
  return rc == SQLITE_IOERR || rc == SQLITE_FULL || rc == SQLITE_CANTOPEN || rc == SQLITE_READONLY;
}

}  // namespace

Result<Db> Db::open(const std::filesystem::path& path) {
  Db d;
  if (sqlite3_open_v2(path.c_str(), &d.db_,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    std::string msg = d.db_ ? sqlite3_errmsg(d.db_) : "out of memory";
    return fail(Errc::io, fmt::format("opening {}: {}", path.string(), msg));
  }
  sqlite3_busy_timeout(d.db_, kBusyTimeoutMs);
  if (auto r = d.exec("PRAGMA journal_mode=WAL"); !r) return std::unexpected(r.error());
  if (auto r = d.exec("PRAGMA synchronous=NORMAL"); !r) return std::unexpected(r.error());
  // Reads through a memory map instead of a pread per 4 KiB page: a build
  // reads the stat cache and big cache records whole, and system calls are
  // what costs here.
  if (auto r = d.exec("PRAGMA mmap_size=1073741824"); !r) return std::unexpected(r.error());
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

const char* Db::RowView::text(int column) const {
  return reinterpret_cast<const char*>(sqlite3_column_text(st_, column));
}
int64_t Db::RowView::integer(int column) const {
  return sqlite3_column_int64(st_, column);
}
int Db::RowView::size() const {
  return sqlite3_column_count(st_);
}

Result<std::vector<Db::Row>> Db::query(const std::string& sql,
                                       const std::vector<std::string>& args) {
  std::vector<Row> rows;
  auto r = each(sql, args, [&](const RowView& v) {
    Row row;
    for (int c = 0; c < v.size(); ++c) {
      const char* t = v.text(c);
      row.push_back(t ? std::optional<std::string>(t) : std::nullopt);
    }
    rows.push_back(std::move(row));
  });
  if (!r) return std::unexpected(r.error());
  return rows;
}

Result<void> Db::each(const std::string& sql, const std::vector<std::string>& args,
                      const std::function<void(const RowView& row)>& row) {
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) != SQLITE_OK)
    return fail(is_io_error(db_) ? Errc::io : Errc::internal,
                fmt::format("sqlite: {}: {}", sqlite_message(db_), sql));
  for (size_t i = 0; i < args.size(); ++i)
    sqlite3_bind_text(st, static_cast<int>(i + 1), args[i].c_str(), -1, SQLITE_TRANSIENT);
  RowView view(st);
  bool delivered = false;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kBusyTimeoutMs);
  auto pause = std::chrono::milliseconds(5);
  for (;;) {
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) break;
    if (rc == SQLITE_ROW) {
      delivered = true;
      row(view);
      continue;
    }
    // Busy before any row and outside an explicit transaction: the busy
    // handler does not wait in every case (in WAL mode, a read snapshot of
    // this connection, held by another thread's statement, that must
    // become a write fails at once when another process wrote since). Try
    // again, for as long as the busy timeout allows.
    int primary = rc & 0xff;
    if ((primary == SQLITE_BUSY || primary == SQLITE_LOCKED) && !delivered &&
        sqlite3_get_autocommit(db_) && std::chrono::steady_clock::now() < deadline) {
      sqlite3_reset(st);
      std::this_thread::sleep_for(pause);
      pause = std::min(pause * 2, std::chrono::milliseconds(100));
      continue;
    }
    std::string msg = sqlite_message(db_);
    sqlite3_finalize(st);
    return fail(Errc::io, fmt::format("sqlite: {}", msg));
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
