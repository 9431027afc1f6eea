#include "builder/file_steps.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>

#include "builder/fetch.hpp"
#include "builder/git.hpp"
#include "builder/users.hpp"
#include "os/fs.hpp"
#include "os/root_path.hpp"
#include "snapshot/lower_view.hpp"
#include "util/strings.hpp"

namespace fs = std::filesystem;

namespace strata::builder {

using frontend::SourceRef;

namespace {

// ADD <git repository>: its files (of its subdir) into the destination,
// as a directory is copied from the context; archives in it stay packed.
Result<void> add_git(BuildState& st, const fs::path& rootfs, const dockerfile::GitRef& g,
                     const frontend::CopyStep& c, CopyOptions co) {
  auto commit = TRY_VALUE(st.git_commit(g, c.checksum));
  auto tmp = TRY_VALUE(os::TempDir::create(st.store.tmp_dir(), "git-"));
  fs::path checkout = tmp.path() / "repo";
  TRY(checkout_git(g, commit, keep_git_dir(g, c), checkout));
  co.unpack_archives = false;
  co.ignore = nullptr;
  co.excludes = c.excludes;
  return copy_sources(checkout, {g.subdir.empty() ? "." : g.subdir}, rootfs, c.dest, co);
}

// ADD <url>: the file keeps its server's name in a directory destination,
// gets mode 0600 as in docker, and is unpacked only with --unpack.
Result<void> add_url(BuildState& st, const fs::path& rootfs, const std::string& url,
                     const frontend::CopyStep& c, const CopyOptions& co) {
  auto tmp_dir = TRY_VALUE(os::TempDir::create(st.store.tmp_dir(), "fetch-"));
  const fs::path* tmp = &tmp_dir.path();
  std::string name = url_file_name(url);
  // Without --checksum, the content url_content(st, st) keyed the step by.
  std::optional<Download> got;
  if (auto known = st.store.url_record(url);
      c.checksum.empty() && known && *known && st.store.has_blob((*known)->digest)) {
    TRY(os::copy_file_atomic(st.store.blob_path((*known)->digest), *tmp / name));
    got = Download{(*known)->digest, std::nullopt, (*known)->etag};
    if ((*known)->last_modified >= 0) got->last_modified = (*known)->last_modified;
  } else {
    auto fetched = TRY_VALUE(download(url, *tmp / name, c.checksum));
    got = std::move(fetched);
  }
  CopyOptions file_opts = co;
  file_opts.unpack_archives = c.unpack.value_or(false);  // a URL's archive stays one
  if (!file_opts.mode) file_opts.mode = 0600;
  const std::string& dest = c.dest;
  if (auto r = copy_sources(*tmp, {name}, rootfs, dest, file_opts); !r) return r;
  if (got->last_modified) {
    auto placed = os::resolve_in_root(rootfs, dest.ends_with("/") ? dest + name : dest, false);
    if (placed) {
      struct timespec ts[2] = {{*got->last_modified, 0}, {*got->last_modified, 0}};
      ::utimensat(AT_FDCWD, placed->c_str(), ts, AT_SYMLINK_NOFOLLOW);
    }
  }
  return {};
}

}  // namespace

bool keep_git_dir(const dockerfile::GitRef& g, const frontend::CopyStep& c) {
  return c.keep_git_dir || g.keep_git_dir.value_or(false);
}

Result<void> make_workdir(const fs::path& root, const std::string& dir, const std::string& user) {
  auto p = TRY_VALUE(os::resolve_in_root(root, dir, true));
  struct stat st {};
  if (::stat(p.c_str(), &st) == 0) return {};
  Identity id{};
  if (!user.empty()) {
    auto who = TRY_VALUE(resolve_user(root, user));
    id = who;
  }
  std::string prefix;
  for (const auto& part : split(dockerfile::clean_path("/" + dir), '/')) {
    if (part.empty()) continue;
    prefix += "/" + part;
    auto at = TRY_VALUE(os::resolve_in_root(root, prefix, true));
    if (::lstat(at.c_str(), &st) == 0) continue;
    if (::mkdir(at.c_str(), 0755) != 0) return std::unexpected(os::errno_error("creating", at));
    (void)::lchown(at.c_str(), id.uid, id.gid);
    ::chmod(at.c_str(), 0755);
  }
  return {};
}

Result<CopyOptions> copy_options(BuildState& st, const frontend::CopyStep& c) {
  CopyOptions co;
  co.parents = c.parents;
  co.normalize_permissions = st.opts.normalize_permissions;
  co.unpack_archives = c.add && c.unpack.value_or(true);  // local archives by default
  co.excludes = c.excludes;
  if (!c.chmod.empty()) {
    if (std::all_of(c.chmod.begin(), c.chmod.end(),
                    [](char ch) { return ch >= '0' && ch <= '7'; })) {
      co.mode = static_cast<uint32_t>(std::stoul(c.chmod, nullptr, 8));
    } else if (apply_symbolic_mode(c.chmod, 0644, false)) {
      co.symbolic_mode = c.chmod;
    } else {
      return fail(Errc::invalid_argument,
                  fmt::format("--chmod={}: not an octal or symbolic mode", c.chmod));
    }
  }
  return co;
}

Result<void> copy_step(BuildState& st, Rootfs& root, const frontend::CopyStep& c) {
  auto opts = TRY_VALUE(copy_options(st, c));
  CopyOptions& co = opts;
  if (!c.chown.empty()) {
    auto id = TRY_VALUE(resolve_user(root.path(), c.chown));
    co.owner = id;
  }
  for (const auto& f : c.inline_files)
    if (auto r = write_inline_file(root.path(), c.dest, f.name, f.content, co); !r) return r;
  std::vector<std::string> local;
  for (const auto& s : c.sources) {
    if (!dockerfile::is_remote_source(s)) {
      local.push_back(s);
      continue;
    }
    auto git_ref = TRY_VALUE(dockerfile::parse_git_ref(s));
    if (git_ref) {
      if (auto r = add_git(st, root.path(), *git_ref, c, co); !r) return r;
      continue;
    }
    if (!s.starts_with("http://") && !s.starts_with("https://")) {
      return fail(
          Errc::invalid_argument,
          fmt::format("ADD {}: strata fetches http and https URLs and git repositories", s));
    }
    if (auto r = add_url(st, root.path(), s, c, co); !r) return r;
  }
  if (local.empty()) return {};
  if (c.from.kind == SourceRef::context) {
    auto dir = TRY_VALUE(st.local_context(c.from));
    co.ignore = dir.ignore;
    return copy_sources(dir.root, local, root.path(), c.dest, co);
  }
  auto src = TRY_VALUE(st.mount_ref(c.from));
  co.keep_owner = true;
  snapshot::LowerView layers(src.lowers());
  co.layers = &layers;
  return copy_sources(src.path(), local, root.path(), c.dest, co);
}

}  // namespace strata::builder
