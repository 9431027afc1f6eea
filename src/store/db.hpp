// A small wrapper over SQLite: the store's metadata database (WAL mode,
// busy timeout so that two strata processes can share one store).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "util/error.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace strata::store {

class Db {
 public:
  static Result<Db> open(const std::filesystem::path& path);
  ~Db();
  Db(Db&&) noexcept;
  Db& operator=(Db&&) noexcept;

  // Runs SQL with `?` parameters bound to `args` (all text); returns the rows.
  using Row = std::vector<std::optional<std::string>>;
  Result<std::vector<Row>> query(const std::string& sql, const std::vector<std::string>& args = {});
  Result<void> exec(const std::string& sql, const std::vector<std::string>& args = {});
  // Calls `row` for each result row, without copying it: for big result
  // sets. A column is read as text (nullptr for NULL) or as an integer.
  class RowView {
   public:
    explicit RowView(sqlite3_stmt* st) : st_(st) {}
    const char* text(int column) const;
    int64_t integer(int column) const;
    int size() const;

   private:
    sqlite3_stmt* st_;
  };
  Result<void> each(const std::string& sql, const std::vector<std::string>& args,
                    const std::function<void(const RowView& row)>& row);

 private:
  Db() = default;
  sqlite3* db_ = nullptr;
};

}  // namespace strata::store
