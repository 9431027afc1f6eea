// A small wrapper over SQLite: the store's metadata database (WAL mode,
// busy timeout so that two strata processes can share one store).
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "util/error.hpp"

struct sqlite3;

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
  // Calls `row` for each result row with the columns as text (nullptr for
  // NULL), without copying them: for big result sets.
  Result<void> each(const std::string& sql, const std::vector<std::string>& args,
                    const std::function<void(const char* const* cols, int n)>& row);

 private:
  Db() = default;
  sqlite3* db_ = nullptr;
};

}  // namespace strata::store
