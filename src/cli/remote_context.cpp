#include "cli/remote_context.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "archive/tar.hpp"
#include "builder/fetch.hpp"
#include "builder/git.hpp"
#include "cli/build_flags.hpp"
#include "dockerfile/git_ref.hpp"
#include "os/leftovers.hpp"
#include "os/user_namespace.hpp"
#include "snapshot/layer.hpp"

namespace strata::cli {

namespace fs = std::filesystem;

namespace {

// Standard input copied to `dest`.
Result<void> copy_stdin(const fs::path& dest) {
  os::UniqueFd fd(::open(dest.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!fd) return std::unexpected(os::errno_error("creating", dest));
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return std::unexpected(os::errno_error("reading", "standard input"));
    if (n == 0) return {};
    if (auto r = os::write_all(fd.get(), buf, static_cast<size_t>(n)); !r) return r;
  }
}

// A tar (any compression) unpacked into the context, or else a Dockerfile.
Result<void> read_input(RemoteContext& in, const fs::path& file, const std::string& what) {
  if (auto r = os::make_dirs(in.root); !r) return r;
  auto tar = archive::TarReader::open(file);
  auto first = tar ? tar->next() : Result<std::optional<archive::TarEntry>>(std::nullopt);
  if (!tar || !first || !*first) {
    auto text = os::read_file(file, kMaxInputFile);
    if (!text) return std::unexpected(text.error());
    in.dockerfile = std::move(*text);
    return {};
  }
  auto again = archive::TarReader::open(file);
  if (!again) return std::unexpected(again.error());
  if (auto r = snapshot::unpack_layer(*again, in.root, false); !r)
    return std::unexpected(r.error().with_context("the build context " + what));
  return {};
}

// $TMPDIR/strata-<uid>: this user's remote contexts. What a build that was
// killed left there (its pid is in the names) goes when the next one starts.
// A directory someone else made, or that others may write, is refused.
Result<fs::path> contexts_dir() {
  std::error_code ec;
  // The user's uid outside strata's user namespace (exec/rootless), where
  // it is 0.
  fs::path dir = fs::temp_directory_path(ec) / fmt::format("strata-{}", os::outer_uid());
  TRY(os::make_private_dir(dir, "remove it, or set TMPDIR to another directory"));
  os::remove_leftovers(dir);
  return dir;
}

// The newest modification time under `dir` (its entries, not itself).
std::optional<int64_t> newest_time(const fs::path& dir) {
  std::optional<int64_t> newest;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    struct stat st {};
    if (::lstat(it->path().c_str(), &st) == 0)
      newest =
          std::max(newest.value_or(st.st_mtim.tv_sec), static_cast<int64_t>(st.st_mtim.tv_sec));
  }
  return newest;
}

}  // namespace

std::optional<int64_t> RemoteContext::time() const {
  if (known_time) return known_time;
  return url_tar ? newest_time(root) : std::nullopt;
}

bool is_remote_context(std::string_view arg) {
  if (arg == "-" || arg.starts_with("http://") || arg.starts_with("https://")) return true;
  auto git = dockerfile::parse_git_ref(arg);
  return !git || *git;  // a git source, or one with a bad query (reported when opened)
}

Result<RemoteContext> open_remote_context(const std::string& arg) {
  std::error_code ec;
  auto parent = contexts_dir();
  if (!parent) return std::unexpected(parent.error());
  auto dir = os::TempDir::create(*parent, "context-");
  if (!dir) return std::unexpected(dir.error());
  RemoteContext in{std::move(*dir), {}, std::nullopt, std::nullopt, false};
  in.root = in.dir.path() / "context";
  if (arg == "-") {
    fs::path copy = in.dir.path() / "stdin";
    if (auto r = copy_stdin(copy); !r) return std::unexpected(r.error());
    if (auto r = read_input(in, copy, "on standard input"); !r) return std::unexpected(r.error());
    return in;
  }
  auto git = dockerfile::parse_git_ref(arg);
  if (!git) return std::unexpected(git.error());
  if (*git) {
    const auto& g = **git;
    auto commit = builder::resolve_git_commit(g, g.checksum);
    if (!commit) return std::unexpected(commit.error());
    fs::path checkout = in.dir.path() / "repo";
    auto time = builder::checkout_git(g, *commit, g.keep_git_dir.value_or(false), checkout);
    if (!time) return std::unexpected(time.error());
    in.known_time = *time;
    in.root = g.subdir.empty() ? checkout : checkout / g.subdir;
    if (!fs::is_directory(in.root, ec))
      return fail(Errc::not_found,
                  fmt::format("the build context {}: no directory {} in the repository at {}", arg,
                              g.subdir, *commit));
    return in;
  }
  fs::path body = in.dir.path() / "download";
  auto got = builder::download(arg, body, "");
  if (!got) return std::unexpected(got.error().with_context("the build context " + arg));
  if (auto r = read_input(in, body, "at " + arg); !r) return std::unexpected(r.error());
  in.known_time = got->last_modified;
  in.url_tar = !in.known_time && !in.dockerfile;
  return in;
}

Result<BuildContexts> BuildContexts::open(const std::vector<std::string>& specs) {
  BuildContexts out;
  std::error_code ec;
  for (const auto& spec : specs) {
    auto named = parse_build_context(spec);
    if (!named) return std::unexpected(named.error());
    auto& [name, value] = *named;
    if (value.starts_with("docker-image://")) {
      out.for_plan[name] = {true, value.substr(std::string_view("docker-image://").size())};
      continue;
    }
    if (value.starts_with("oci-layout://")) {
      auto ref = parse_oci_layout_ref(value);
      if (!ref) return std::unexpected(ref.error().with_context("--build-context " + spec));
      out.layouts_.emplace_back(name, *ref);
      continue;
    }
    fs::path root = value;
    if (is_remote_context(value) && value != "-") {
      auto in = open_remote_context(value);
      if (!in) return std::unexpected(in.error().with_context("--build-context " + spec));
      out.fetched_.push_back(std::move(*in));
      root = out.fetched_.back().root;
    } else if (!fs::is_directory(root, ec)) {
      return fail(Errc::not_found,
                  fmt::format("--build-context {}: {} is not a directory", spec, value));
    }
    out.ignores_.emplace_back();
    if (fs::exists(root / ".dockerignore", ec)) {
      auto t = read_input_file(root / ".dockerignore");
      if (!t) return std::unexpected(t.error());
      auto m = dockerfile::IgnoreMatcher::parse(*t, (root / ".dockerignore").string());
      if (!m) return std::unexpected(m.error());
      out.ignores_.back() = std::move(*m);
    }
    out.for_plan[name] = {false, ""};
    out.dirs[name] = {root, &out.ignores_.back()};
  }
  return out;
}

Result<std::map<std::string, frontend::NamedContext>> BuildContexts::resolve_layouts(
    store::Store* store) const {
  std::map<std::string, frontend::NamedContext> out;
  for (const auto& [name, ref] : layouts_) {
    auto images = store ? exporter::import_oci_layout(*store, ref.dir)
                        : exporter::read_oci_layout_index(ref.dir);
    if (!images) return std::unexpected(images.error().with_context("--build-context " + name));
    auto digest = pick_layout_image(*images, ref);
    if (!digest) return std::unexpected(digest.error().with_context("--build-context " + name));
    out[name] = {true, *digest};
  }
  return out;
}

}  // namespace strata::cli
