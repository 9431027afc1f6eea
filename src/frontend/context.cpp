#include "frontend/context.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <system_error>

#include "util/strings.hpp"

namespace fs = std::filesystem;

namespace strata::frontend {

using dockerfile::clean_path;
using dockerfile::Glob;

Result<BuildContext> BuildContext::open(const fs::path& root,
                                        const dockerfile::IgnoreMatcher& ignore) {
  std::error_code ec;
  if (!fs::is_directory(root, ec)) {
    return fail(Errc::not_found, fmt::format("build context {} is not a directory", root.string()));
  }
  BuildContext ctx;
  ctx.root_ = root;
  fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, ec);
  if (ec)
    return fail(Errc::io, fmt::format("reading build context {}: {}", root.string(), ec.message()));
  for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec)
      return fail(Errc::io,
                  fmt::format("reading build context {}: {}", root.string(), ec.message()));
    std::string rel = it->path().lexically_relative(root).generic_string();
    bool is_dir = it->is_directory(ec) && !it->is_symlink(ec);
    if (ignore.excluded(rel)) {
      // An excluded directory is still walked when a "!" line might
      // re-include something inside it.
      if (is_dir && !ignore.has_exceptions()) it.disable_recursion_pending();
      continue;
    }
    ctx.entries_.push_back({std::move(rel), is_dir});
  }
  std::sort(ctx.entries_.begin(), ctx.entries_.end(),
            [](const ContextEntry& a, const ContextEntry& b) { return a.path < b.path; });
  return ctx;
}

Result<std::vector<std::string>> BuildContext::select(
    std::string_view source, const std::vector<std::string>& excludes) const {
  std::string p = "/";
  p += source;
  p = clean_path(p);  // a leading "/" clamps ".." at the root
  p = p == "/" ? "" : p.substr(1);
  auto pattern = Glob::compile(p, false);
  if (!pattern) return std::unexpected(pattern.error());

  std::vector<Glob> excl;
  for (const auto& e : excludes) {
    auto g = Glob::compile(clean_path(e), true);
    if (!g) return std::unexpected(g.error());
    excl.push_back(std::move(*g));
  }
  std::vector<std::string> out;
  // Which prefix is the copied root: for a directory source, the directory;
  // otherwise the source's parent.
  auto excluded = [&](const std::string& path, const std::string& base) {
    std::string rel = base.empty() ? path : path.substr(std::min(path.size(), base.size() + 1));
    for (const auto& g : excl)
      if (g.matches_or_parent(rel)) return true;
    return false;
  };
  auto add_tree = [&](size_t i, const std::string& base) {
    const std::string& top = entries_[i].path;
    if (!entries_[i].is_dir) {
      if (!excluded(top, base)) out.push_back(top);
      return;
    }
    for (size_t j = i + 1; j < entries_.size() && entries_[j].path.starts_with(top + "/"); ++j) {
      if (!entries_[j].is_dir && !excluded(entries_[j].path, base)) out.push_back(entries_[j].path);
    }
  };
  bool found = false;
  if (p.empty()) {
    found = true;
    for (const auto& e : entries_)
      if (!e.is_dir && !excluded(e.path, "")) out.push_back(e.path);
  } else {
    std::string parent = p.find('/') == std::string::npos ? "" : p.substr(0, p.rfind('/'));
    for (size_t i = 0; i < entries_.size(); ++i) {
      if (pattern->has_wildcards() ? pattern->matches(entries_[i].path) : entries_[i].path == p) {
        found = true;
        add_tree(i, entries_[i].is_dir ? entries_[i].path : parent);
      }
    }
  }
  if (!found) {
    return fail(
        Errc::not_found,
        fmt::format("\"{}\" not found in the build context {} (or excluded by .dockerignore)",
                    source, root_.string()));
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

fs::path find_ignore_file(const fs::path& dockerfile, const fs::path& context) {
  std::error_code ec;
  fs::path specific = dockerfile;
  specific += ".dockerignore";
  if (fs::is_regular_file(specific, ec)) return specific;
  fs::path general = context / ".dockerignore";
  if (fs::is_regular_file(general, ec)) return general;
  return {};
}

}  // namespace strata::frontend
