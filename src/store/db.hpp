// A small wrapper over SQLite: the store's metadata database (WAL mode,
// busy timeout so that two strata processes can share one store).
#pragma once

#include <filesystem>
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

 private:
  Db() = default;
  sqlite3* db_ = nullptr;
};

}  // namespace strata::store
