#include "builder/git.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>

#include <cstdlib>
#include <map>

#include "os/process.hpp"
#include "util/strings.hpp"

extern char** environ;

namespace strata::builder {

namespace fs = std::filesystem;

namespace {

// Runs git with our environment, never asking for credentials on a
// terminal; returns its output lines.
Result<std::vector<std::string>> git(std::vector<std::string> args, const std::string& what) {
  os::ProcessSpec p;
  p.argv = {"git"};
  p.argv.insert(p.argv.end(), args.begin(), args.end());
  for (char** e = environ; *e; ++e)
    if (!std::string_view(*e).starts_with("GIT_TERMINAL_PROMPT=")) p.env.emplace_back(*e);
  p.env.emplace_back("GIT_TERMINAL_PROMPT=0");
  std::vector<std::string> lines;
  p.on_line = [&](const std::string& l) { lines.push_back(l); };
  auto r = os::run_process(p, 20);
  if (!r || r->exit_code == 127)
    return fail(Errc::not_found,
                fmt::format("{}: cannot run git{} (a git source needs it: apt-get install git)",
                            what, r ? "" : ": " + r.error().message));
  if (r->exit_code != 0)
    return fail(Errc::io, fmt::format("{}: git {} failed (exit {}): {}", what, args[0],
                                      r->exit_code, join(r->tail, "\n")));
  return lines;
}

bool full_commit(std::string_view s) {
  return (s.size() == 40 || s.size() == 64) && dockerfile::is_commit_hash(s);
}

// Sets the times of everything under `dir` (links themselves, not their
// targets) to `seconds`.
Result<void> set_times(const fs::path& dir, int64_t seconds) {
  struct timespec ts[2] = {{seconds, 0}, {seconds, 0}};
  std::error_code ec;
  std::vector<fs::path> paths = {dir};
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    paths.push_back(it->path());
  if (ec) return fail(Errc::io, fmt::format("walking {}: {}", dir.string(), ec.message()));
  for (const auto& p : paths)
    if (::utimensat(AT_FDCWD, p.c_str(), ts, AT_SYMLINK_NOFOLLOW) != 0)
      return fail(Errc::io, fmt::format("setting the time of {}", p.string()));
  return {};
}

}  // namespace

Result<std::string> resolve_git_commit(const dockerfile::GitRef& g, const std::string& checksum) {
  std::string what = "git source " + g.remote + (g.ref.empty() ? "" : "#" + g.ref);
  std::string ref = g.ref.empty() ? "HEAD" : g.ref;
  std::string commit;
  if (full_commit(ref)) {
    commit = ref;
  } else {
    auto lines = TRY_VALUE(git({"ls-remote", "--", g.remote, ref}, what));
    std::map<std::string, std::string> refs;  // name -> commit
    for (const auto& l : lines) {
      size_t tab = l.find('\t');
      if (tab != std::string::npos && full_commit(l.substr(0, tab)))
        refs[l.substr(tab + 1)] = l.substr(0, tab);
    }
    // The ref as named, a branch of that name, then a tag (the commit an
    // annotated tag points at).
    for (const std::string& name :
         {ref + "^{}", ref, "refs/heads/" + ref, "refs/tags/" + ref + "^{}", "refs/tags/" + ref}) {
      if (auto it = refs.find(name); it != refs.end()) {
        commit = it->second;
        break;
      }
    }
    if (commit.empty())
      return fail(Errc::not_found,
                  fmt::format("{}: repository does not contain ref {}", what, ref));
  }
  if (!checksum.empty() && !commit.starts_with(checksum))
    return fail(Errc::invalid_argument,
                fmt::format("{}: expected checksum to match {}, got {}", what, checksum, commit));
  return commit;
}

Result<int64_t> checkout_git(const dockerfile::GitRef& g, const std::string& commit,
                             bool keep_git_dir, const fs::path& dir) {
  std::string what = "git source " + g.remote + "#" + commit;
  std::string d = dir.string();
  std::vector<std::string> init = {"init", "-q"};
  if (commit.size() == 64) init.push_back("--object-format=sha256");
  init.push_back(d);
  TRY(git(init, what));
  TRY(git({"-C", d, "remote", "add", "origin", g.remote}, what));
  // A shallow fetch of the commit where the server allows it; a dumb http
  // server only serves whole refs.
  if (!git({"-C", d, "fetch", "-q", "--depth=1", "origin", commit}, what)) {
    TRY(git({"-C", d, "fetch", "-q", "origin", "+refs/heads/*:refs/remotes/origin/*",
             "+refs/tags/*:refs/tags/*"},
            what));
  }
  TRY(git({"-C", d, "-c", "advice.detachedHead=false", "checkout", "-q", "--detach", commit},
          what));
  std::error_code ec;
  if (g.submodules.value_or(true) && fs::exists(dir / ".gitmodules", ec)) {
    TRY(git({"-C", d, "submodule", "update", "-q", "--init", "--recursive"}, what));
  }
  auto t = TRY_VALUE(git({"-C", d, "log", "-1", "--format=%ct", commit}, what));
  if (t.empty()) return fail(Errc::io, what + ": git log printed no commit time");
  int64_t commit_time = std::strtoll(t.back().c_str(), nullptr, 10);
  if (!keep_git_dir) {
    fs::remove_all(dir / ".git", ec);
    if (ec) return fail(Errc::io, fmt::format("{}: removing .git: {}", what, ec.message()));
  }
  if (g.mtime == "commit") TRY(set_times(dir, commit_time));
  return commit_time;
}

}  // namespace strata::builder
