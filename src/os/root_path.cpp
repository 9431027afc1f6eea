#include "os/root_path.hpp"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "os/fs.hpp"

namespace fs = std::filesystem;

namespace strata::os {

namespace {

// The components of a "/"-separated path without empty ones and ".".
std::vector<std::string> components(std::string_view path) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view part = path.substr(start, end - start);
    if (!part.empty() && part != ".") out.emplace_back(part);
    start = end + 1;
  }
  return out;
}

}  // namespace

bool is_plain_name(std::string_view name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string_view::npos;
}

Result<fs::path> resolve_in_root(const fs::path& root, std::string_view rel, bool follow_last) {
  std::vector<std::string> todo = components(rel);
  std::reverse(todo.begin(), todo.end());  // a stack: back() is next
  std::vector<std::string> done;           // real directories (or absent names) below root
  int links = 0;
  while (!todo.empty()) {
    std::string part = std::move(todo.back());
    todo.pop_back();
    if (part == "..") {
      if (!done.empty()) done.pop_back();
      continue;
    }
    fs::path candidate = root;
    for (const auto& d : done) candidate /= d;
    candidate /= part;
    bool last = todo.empty();
    struct stat st {};
    if ((!last || follow_last) && ::lstat(candidate.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
      if (++links > 40)
        return fail(Errc::invalid_argument,
                    fmt::format("too many levels of symbolic links in {}", rel));
      char buf[4096];
      ssize_t n = ::readlink(candidate.c_str(), buf, sizeof buf - 1);
      if (n < 0) return std::unexpected(errno_error("readlink", candidate));
      std::string_view target(buf, static_cast<size_t>(n));
      if (target.starts_with("/")) done.clear();
      auto parts = components(target);
      for (auto it = parts.rbegin(); it != parts.rend(); ++it) todo.push_back(std::move(*it));
      continue;
    }
    done.push_back(std::move(part));
  }
  fs::path out = root;
  for (const auto& d : done) out /= d;
  return out;
}

Result<fs::path> entry_in_root(const fs::path& root, std::string_view rel) {
  auto refuse = [&](std::string_view why) {
    return fail(Errc::invalid_argument, fmt::format("\"{}\" {}", rel, why));
  };
  if (rel.starts_with("/")) return refuse("is an absolute path");
  std::vector<std::string> parts = components(rel);
  if (parts.empty()) return refuse("names no entry");
  if (std::find(parts.begin(), parts.end(), "..") != parts.end())
    return refuse("leaves its root through \"..\"");
  fs::path out = root;
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    out /= parts[i];
    struct stat st {};
    if (::lstat(out.c_str(), &st) != 0) {
      if (errno == ENOENT) continue;  // made later as a directory
      return std::unexpected(errno_error("stat", out));
    }
    if (S_ISLNK(st.st_mode)) return refuse("goes through a symbolic link");
    if (!S_ISDIR(st.st_mode)) return refuse("goes through a file that is not a directory");
  }
  out /= parts.back();
  return out;
}

}  // namespace strata::os
