#include "store/store.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstdlib>
#include <ctime>
#include <nlohmann/json.hpp>
#include <set>

#include "digest/sha256.hpp"
#include "oci/reference.hpp"
#include "os/fs.hpp"
#include "os/leftovers.hpp"
#include "os/user_namespace.hpp"
#include "util/strings.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace strata::store {

fs::path default_root() {
  if (const char* r = std::getenv("STRATA_ROOT"); r && *r) return r;
  // Root on the host; a user's own store without root (strata runs as root
  // in a user namespace of its own then: exec/rootless).
  if (::geteuid() == 0 && !os::in_user_namespace()) return "/var/lib/strata";
  if (const char* x = std::getenv("XDG_DATA_HOME"); x && *x) return fs::path(x) / "strata";
  const char* home = std::getenv("HOME");
  return fs::path(home ? home : "/tmp") / ".local/share/strata";
}

namespace {

constexpr std::string_view kJournalHeader = "strata unsynced blobs\n";

// This boot of the machine (a crash or a restart changes it); empty where
// the kernel does not say.
std::string read_boot_id() {
  auto text = os::read_file("/proc/sys/kernel/random/boot_id");
  return text ? std::string(trim(*text)) : std::string();
}

// The process that wrote a journal of this boot, named
// <boot id>-<pid>-<n>; nullopt for anything else (a journal of another
// boot, one still being written).
std::optional<pid_t> journal_writer(std::string_view name, std::string_view boot) {
  if (boot.empty() || !name.starts_with(boot) || name.substr(boot.size(), 1) != "-")
    return std::nullopt;
  std::string_view rest = name.substr(boot.size() + 1);
  size_t dash = rest.find('-');
  auto number = [](std::string_view d, long& out) {
    auto [end, ec] = std::from_chars(d.data(), d.data() + d.size(), out);
    return ec == std::errc() && end == d.data() + d.size() && out >= 0;
  };
  long pid = 0, n = 0;
  if (dash == std::string_view::npos || !number(rest.substr(0, dash), pid) ||
      !number(rest.substr(dash + 1), n))
    return std::nullopt;
  return static_cast<pid_t>(pid);
}

// The columns a cache record's lineage (Store::CacheRecord) lives in, added
// to a store made before records had them.
Result<void> add_cache_lineage(Db& db) {
  auto cols = TRY_VALUE(db.query("SELECT name FROM pragma_table_info('cache')"));
  std::set<std::string> have;
  for (const auto& c : cols) have.insert(c[0].value_or(""));
  for (const char* col : {"step", "parent", "incremental", "source"})
    if (!have.count(col))
      TRY(db.exec(fmt::format("ALTER TABLE cache ADD COLUMN {} TEXT DEFAULT ''", col)));
  return db.exec("CREATE INDEX IF NOT EXISTS cache_by_step ON cache (step, created)");
}

}  // namespace

Result<Store> Store::open(const fs::path& root_in) {
  fs::path root = fs::absolute(root_in);
  for (const auto& d :
       {root / "blobs" / "sha256", root / "snapshots", root / "objects", root / "tmp"}) {
    if (auto r = os::make_dirs(d); !r) return std::unexpected(r.error());
  }
  // What killed strata processes left in tmp/ (mounts, directories, files).
  os::remove_leftovers(root / "tmp");
  std::error_code ec;
  if (!fs::exists(root / "unsynced", ec)) {
    // Made durable once, so that a journal in it is durable when it is synced.
    if (auto r = os::make_dirs(root / "unsynced"); !r) return std::unexpected(r.error());
    if (auto r = os::fsync_path(root); !r) return std::unexpected(r.error());
  }
  if (!fs::exists(root / "oci-layout", ec)) {
    if (auto r = os::write_file_atomic(root / "oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
        !r)
      return std::unexpected(r.error());
  }
  auto db = Db::open(root / "meta.db");
  if (!db) return std::unexpected(db.error());
  for (const char* sql : {
           "CREATE TABLE IF NOT EXISTS images (name TEXT PRIMARY KEY, digest TEXT NOT NULL, "
           "media_type TEXT NOT NULL, size INTEGER NOT NULL, created TEXT DEFAULT "
           "CURRENT_TIMESTAMP)",
           "CREATE TABLE IF NOT EXISTS snapshots (diff_id TEXT PRIMARY KEY, id INTEGER UNIQUE NOT "
           "NULL)",
           "CREATE TABLE IF NOT EXISTS snapshot_deltas (diff_id TEXT PRIMARY KEY, dir TEXT NOT "
           "NULL, base TEXT NOT NULL)",
           "CREATE TABLE IF NOT EXISTS cache (key TEXT PRIMARY KEY, blob TEXT, media_type TEXT, "
           "size INTEGER, diff_id TEXT, inputs TEXT, created TEXT DEFAULT CURRENT_TIMESTAMP, "
           "last_used TEXT DEFAULT CURRENT_TIMESTAMP, step TEXT DEFAULT '', parent TEXT DEFAULT "
           "'', incremental TEXT DEFAULT '', source TEXT DEFAULT '')",
           "CREATE TABLE IF NOT EXISTS builds (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT "
           "NULL, steps TEXT NOT NULL, created TEXT DEFAULT CURRENT_TIMESTAMP)",
           "CREATE INDEX IF NOT EXISTS builds_by_name ON builds (name, id)",
           "CREATE TABLE IF NOT EXISTS stat_cache (path TEXT PRIMARY KEY, size INTEGER, mtime "
           "INTEGER, ctime INTEGER, ino INTEGER, digest TEXT)",
           "CREATE TABLE IF NOT EXISTS mount_chunks (members TEXT PRIMARY KEY, digest TEXT, size "
           "INTEGER)",
           "CREATE TABLE IF NOT EXISTS blob_sources (digest TEXT, source TEXT, PRIMARY KEY "
           "(digest, source))",
           "CREATE TABLE IF NOT EXISTS cache_mounts (id TEXT PRIMARY KEY, last_used TEXT)",
           "CREATE TABLE IF NOT EXISTS urls (url TEXT PRIMARY KEY, etag TEXT, last_modified "
           "TEXT, digest TEXT)",
           "CREATE TABLE IF NOT EXISTS layer_sizes (diff_id TEXT PRIMARY KEY, size INTEGER)",
           "CREATE TABLE IF NOT EXISTS image_steps (manifest TEXT PRIMARY KEY, image_keys TEXT, "
           "all_keys TEXT)",
           "CREATE TABLE IF NOT EXISTS conversions (source TEXT, compression TEXT, level "
           "INTEGER, digest TEXT, media_type TEXT, size INTEGER, PRIMARY KEY (source, "
           "compression, level))",
       }) {
    if (auto r = db->exec(sql); !r) return std::unexpected(r.error());
  }
  if (auto r = add_cache_lineage(*db); !r) return std::unexpected(r.error());
  Store s(root, std::move(*db));
  s.boot_id_ = read_boot_id();
  if (!fs::exists(root / "index.json", ec))
    if (auto r = s.write_index(); !r) return std::unexpected(r.error());
  if (auto r = s.check_unsynced_blobs(); !r)
    return std::unexpected(r.error().with_context("checking blobs loaded before a restart"));
  return s;
}

fs::path Store::blob_path(std::string_view digest) const {
  return root_ / "blobs" / "sha256" / std::string(digest_hex(digest));
}

bool Store::has_blob(std::string_view digest) const {
  std::error_code ec;
  return valid_digest(digest) && fs::exists(blob_path(digest), ec);
}

Result<void> Store::note_blob_source(const std::string& digest, const std::string& source) {
  return db_.exec("INSERT OR IGNORE INTO blob_sources (digest, source) VALUES (?, ?)",
                  {digest, source});
}

Result<std::optional<Store::UrlRecord>> Store::url_record(const std::string& url) {
  auto rows = db_.query("SELECT etag, last_modified, digest FROM urls WHERE url = ?", {url});
  if (!rows) return std::unexpected(rows.error());
  if (rows->empty() || !(*rows)[0][2]) return std::optional<UrlRecord>{};
  const auto& r = (*rows)[0];
  UrlRecord rec;
  rec.etag = r[0].value_or("");
  rec.last_modified = r[1] ? std::strtoll(r[1]->c_str(), nullptr, 10) : -1;
  rec.digest = *r[2];
  return std::optional<UrlRecord>{std::move(rec)};
}

Result<void> Store::put_url_record(const std::string& url, const UrlRecord& rec) {
  return db_.exec(
      "INSERT OR REPLACE INTO urls (url, etag, last_modified, digest) VALUES (?, ?, ?, ?)",
      {url, rec.etag, std::to_string(rec.last_modified), rec.digest});
}

Result<std::optional<uint64_t>> Store::layer_size(const std::string& diff_id) {
  auto rows = TRY_VALUE(db_.query("SELECT size FROM layer_sizes WHERE diff_id = ?", {diff_id}));
  if (rows.empty() || !rows[0][0]) return std::optional<uint64_t>{};
  return std::optional<uint64_t>{std::strtoull(rows[0][0]->c_str(), nullptr, 10)};
}

Result<void> Store::put_layer_size(const std::string& diff_id, uint64_t size) {
  return db_.exec("INSERT OR REPLACE INTO layer_sizes (diff_id, size) VALUES (?, ?)",
                  {diff_id, std::to_string(size)});
}

namespace {

std::vector<std::string> lines_of(const std::optional<std::string>& text) {
  std::vector<std::string> out;
  if (!text) return out;
  size_t at = 0;
  while (at < text->size()) {
    size_t nl = text->find('\n', at);
    if (nl == std::string::npos) nl = text->size();
    if (nl > at) out.push_back(text->substr(at, nl - at));
    at = nl + 1;
  }
  return out;
}

std::string joined_lines(const std::vector<std::string>& keys) {
  std::string out;
  for (const auto& k : keys) out += k + "\n";
  return out;
}

}  // namespace

Result<void> Store::put_image_steps(const std::string& manifest, const ImageSteps& steps) {
  return db_.exec(
      "INSERT OR REPLACE INTO image_steps (manifest, image_keys, all_keys) VALUES (?, ?, ?)",
      {manifest, joined_lines(steps.image_keys), joined_lines(steps.all_keys)});
}

Result<std::optional<Store::ImageSteps>> Store::image_steps(const std::string& manifest) {
  auto rows = TRY_VALUE(
      db_.query("SELECT image_keys, all_keys FROM image_steps WHERE manifest = ?", {manifest}));
  if (rows.empty()) return std::optional<ImageSteps>{};
  return std::optional<ImageSteps>{ImageSteps{lines_of(rows[0][0]), lines_of(rows[0][1])}};
}

Result<std::vector<std::string>> Store::blob_sources(const std::string& digest) {
  auto rows =
      db_.query("SELECT source FROM blob_sources WHERE digest = ? ORDER BY rowid", {digest});
  if (!rows) return std::unexpected(rows.error());
  std::vector<std::string> out;
  for (const auto& r : *rows)
    if (r[0]) out.push_back(*r[0]);
  return out;
}

Result<void> Store::ensure_blob(const oci::Descriptor& blob) {
  if (has_blob(blob.digest)) return {};
  auto sources = blob_sources(blob.digest);
  if (!sources) return std::unexpected(sources.error());
  if (sources->empty() || !fetcher_)
    return fail(
        Errc::not_found,
        fmt::format(
            "blob {} is not in the store{}", blob.digest,
            sources->empty() ? "" : fmt::format(" (it can come from {})", sources->front())));
  return fetcher_(*this, blob, *sources);
}

Result<std::string> Store::read_blob(std::string_view digest) const {
  if (!valid_digest(digest))
    return fail(Errc::invalid_argument, fmt::format("invalid digest \"{}\"", digest));
  return os::read_file(blob_path(digest));
}

Result<oci::Descriptor> Store::put_blob(std::string_view data, std::string media_type) {
  oci::Descriptor d{
      std::move(media_type), sha256_digest(data), static_cast<int64_t>(data.size()), {}, {}};
  if (has_blob(d.digest)) return d;
  // Written under tmp/ with this process's id in its name, then moved in
  // whole: a process killed meanwhile leaves nothing in blobs/, and the
  // next command removes what it left in tmp/.
  static std::atomic<uint64_t> serial{0};
  fs::path tmp = tmp_dir() / fmt::format("blob-{}-{}", ::getpid(), serial++);
  {
    // Its name is its own (this process, this call): no atomic write needed.
    os::UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (!fd) return std::unexpected(os::errno_error("creating", tmp));
    auto written = os::write_all(fd.get(), data.data(), data.size());
    if (written && ::fsync(fd.get()) != 0) written = std::unexpected(os::errno_error("fsync", tmp));
    if (!written) {
      ::unlink(tmp.c_str());
      return std::unexpected(written.error());
    }
  }
  if (::rename(tmp.c_str(), blob_path(d.digest).c_str()) != 0) {
    ::unlink(tmp.c_str());
    return std::unexpected(os::errno_error("renaming into", blob_path(d.digest)));
  }
  TRY(os::fsync_path(root_ / "blobs" / "sha256"));
  return d;
}

Result<void> Store::commit_blob(const fs::path& tmp, std::string_view digest) {
  auto actual = sha256_file(tmp);
  if (!actual) {
    ::unlink(tmp.c_str());
    return std::unexpected(actual.error());
  }
  if (*actual != digest) {
    ::unlink(tmp.c_str());
    return fail(Errc::invalid_argument,
                fmt::format("digest mismatch: expected {}, content has {}", digest, *actual));
  }
  if (auto r = os::fsync_path(tmp); !r) return r;
  if (::rename(tmp.c_str(), blob_path(digest).c_str()) != 0) {
    ::unlink(tmp.c_str());
    return std::unexpected(os::errno_error("renaming into", blob_path(digest)));
  }
  return os::fsync_path(root_ / "blobs" / "sha256");
}

Result<void> Store::adopt_blob(const fs::path& tmp, std::string_view digest) {
  if (::rename(tmp.c_str(), blob_path(digest).c_str()) != 0) {
    ::unlink(tmp.c_str());
    return std::unexpected(os::errno_error("renaming into", blob_path(digest)));
  }
  return {};
}

Result<void> Store::sync() {
  // The journals this sync makes durable: of this boot, written by this
  // process or by one that is gone (whose writes have all returned).
  std::vector<fs::path> retired;
  if (auto names = os::list_dir(unsynced_dir()); names) {
    for (const auto& n : *names) {
      auto pid = journal_writer(n, boot_id_);
      if (pid && (*pid == ::getpid() || !os::process_alive(*pid)))
        retired.push_back(unsynced_dir() / n);
    }
  }
  os::UniqueFd fd(::open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd || ::syncfs(fd.get()) != 0) return std::unexpected(os::errno_error("syncing", root_));
  for (const auto& p : retired) ::unlink(p.c_str());
  return {};
}

Result<void> Store::adopt_blobs_unsynced(const std::vector<NewBlob>& blobs) {
  auto discard = [&] {
    for (const auto& b : blobs) ::unlink(b.tmp_file.c_str());
  };
  if (blobs.empty()) return {};
  if (boot_id_.empty()) {
    // No way to tell a restart from here: wait for the disk instead.
    for (const auto& b : blobs) {
      if (auto r = adopt_blob(b.tmp_file, b.digest); !r) {
        discard();
        return r;
      }
    }
    return sync();
  }
  std::string journal_text(kJournalHeader);
  for (const auto& b : blobs) journal_text += b.digest + "\n";
  fs::path journal =
      unsynced_dir() / fmt::format("{}-{}-{}", boot_id_, ::getpid(), journals_written_++);
  if (auto r = os::write_file_atomic(journal, journal_text); !r) {
    discard();
    return r;
  }
  for (const auto& b : blobs) {
    if (auto r = adopt_blob(b.tmp_file, b.digest); !r) {
      discard();
      return r;
    }
  }
  return {};
}

Result<void> Store::check_unsynced_blobs() {
  auto names = os::list_dir(unsynced_dir());
  if (!names) return std::unexpected(names.error());
  for (const auto& n : *names) {
    // Of this boot (or being written in it): the page cache holds what it names.
    if (!boot_id_.empty() && n.starts_with(boot_id_)) continue;
    // A journal of an earlier boot, or the leftover of one that was being
    // written (whose blobs had not taken their names): either way its blobs
    // are checked, then it goes.
    fs::path p = unsynced_dir() / n;
    auto text = os::read_file(p);
    if (!text) return std::unexpected(text.error());
    if (text->starts_with(kJournalHeader)) {
      for (const std::string& line :
           split(std::string_view(*text).substr(kJournalHeader.size()), '\n')) {
        if (!valid_digest(line) || !has_blob(line)) continue;
        auto got = sha256_file(blob_path(line));
        if (got && *got == line) continue;
        if (::unlink(blob_path(line).c_str()) != 0 && errno != ENOENT)
          return std::unexpected(os::errno_error("removing", blob_path(line)));
        recovery_notes_.push_back(
            fmt::format("blob {} was stored just before the machine went down and did not reach "
                        "the disk whole: removed; load, import or pull what needs it again",
                        line));
      }
    }
    if (::unlink(p.c_str()) != 0 && errno != ENOENT)
      return std::unexpected(os::errno_error("removing", p));
  }
  return {};
}

Result<void> Store::write_index() {
  // index.json is rewritten under an exclusive lock so that two processes
  // tagging at once cannot lose each other's entries.
  os::UniqueFd lock(::open((root_ / "index.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!lock) return std::unexpected(os::errno_error("opening", root_ / "index.lock"));
  ::flock(lock.get(), LOCK_EX);
  auto rows = db_.query("SELECT name, digest, media_type, size FROM images ORDER BY name");
  if (!rows) return std::unexpected(rows.error());
  json manifests = json::array();
  for (const auto& r : *rows) {
    oci::Descriptor d{*r[2], *r[1], std::stoll(*r[3]), {{oci::kRefNameAnnotation, *r[0]}}, {}};
    manifests.push_back(oci::to_json(d));
  }
  json index = {{"schemaVersion", 2}, {"mediaType", oci::kIndex}, {"manifests", manifests}};
  return os::write_file_atomic(root_ / "index.json", index.dump(2));
}

Result<void> Store::tag(const std::string& name, const oci::Descriptor& m) {
  // Every name enters the store here (build -t, tag, load, pull): only what
  // `docker tag` would take, a reference without a digest.
  auto ref = oci::parse_reference(name);
  if (!ref) return std::unexpected(ref.error().with_context("naming an image"));
  if (!ref->digest.empty())
    return fail(
        Errc::invalid_argument,
        fmt::format("naming an image \"{}\": a name cannot hold a digest (@sha256:...)", name));
  if (auto r = db_.exec(
          "INSERT OR REPLACE INTO images (name, digest, media_type, size) VALUES (?, ?, ?, ?)",
          {oci::normalize_name(name), m.digest, m.media_type, std::to_string(m.size)});
      !r)
    return r;
  return write_index();
}

Result<std::optional<ImageRecord>> Store::resolve(const std::string& name) {
  auto rows = db_.query("SELECT name, digest, media_type, size FROM images WHERE name = ?",
                        {oci::normalize_name(name)});
  if (!rows) return std::unexpected(rows.error());
  if (rows->empty()) return std::nullopt;
  const auto& r = (*rows)[0];
  return ImageRecord{*r[0], {*r[2], *r[1], std::stoll(*r[3]), {}, {}}};
}

Result<std::vector<ImageRecord>> Store::images() {
  auto rows = db_.query("SELECT name, digest, media_type, size FROM images ORDER BY name");
  if (!rows) return std::unexpected(rows.error());
  std::vector<ImageRecord> out;
  for (const auto& r : *rows) out.push_back({*r[0], {*r[2], *r[1], std::stoll(*r[3]), {}, {}}});
  return out;
}

Result<bool> Store::untag(const std::string& name) {
  auto existing = resolve(name);
  if (!existing) return std::unexpected(existing.error());
  if (!*existing) return false;
  if (auto r = db_.exec("DELETE FROM images WHERE name = ?", {oci::normalize_name(name)}); !r)
    return std::unexpected(r.error());
  if (auto r = write_index(); !r) return std::unexpected(r.error());
  return true;
}

namespace {

// A snapshot's manifest, beside it. Only an optimisation (without one there
// are no deltas on the snapshot), and a cache like the snapshot itself:
// written without a sync, with a digest that tells a torn one.
void write_manifest(const fs::path& snapshot_dir, const std::string& manifest) {
  std::string file = snapshot_dir.string() + ".manifest";
  std::string tmp = file + ".tmp";
  std::string header = fmt::format("strata manifest {}\n", digest_hex(sha256_digest(manifest)));
  os::UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  bool ok = fd && os::write_all(fd.get(), header.data(), header.size()) &&
            os::write_all(fd.get(), manifest.data(), manifest.size());
  fd.reset();
  if (!ok || ::rename(tmp.c_str(), file.c_str()) != 0) ::unlink(tmp.c_str());
}

}  // namespace

Result<std::optional<Store::Snapshot>> Store::snapshot(const std::string& diff_id) {
  std::error_code ec;
  auto rows = db_.query("SELECT id FROM snapshots WHERE diff_id = ?", {diff_id});
  if (!rows) return std::unexpected(rows.error());
  if (!rows->empty()) {
    fs::path p = root_ / "snapshots" / *(*rows)[0][0];
    if (fs::is_directory(p, ec)) return Snapshot{p, ""};
  }
  // A delta's row is written after its directory is in place: one query
  // gives a directory that exists and its base.
  rows = db_.query("SELECT dir, base FROM snapshot_deltas WHERE diff_id = ?", {diff_id});
  if (!rows) return std::unexpected(rows.error());
  if (rows->empty()) return std::nullopt;
  return Snapshot{root_ / "snapshots" / *(*rows)[0][0], *(*rows)[0][1]};
}

Result<fs::path> Store::add_snapshot(const std::string& diff_id, const fs::path& dir,
                                     const std::string& base, const std::string* manifest) {
  if (!base.empty()) {
    // A delta: its own directory name, then its row; a delta of the same
    // layer that got there first is kept and ours dropped.
    // Short, like a whole snapshot's number, for the overlay's option
    // string: "d" and the temporary directory's random suffix.
    std::string tmp_name = dir.filename().string();
    std::string name = fmt::format("d{}", tmp_name.substr(tmp_name.rfind('-') + 1));
    fs::path dest = root_ / "snapshots" / name;
    if (manifest) write_manifest(dest, *manifest);
    if (::rename(dir.c_str(), dest.c_str()) != 0)
      return std::unexpected(os::errno_error("renaming into", dest));
    auto ins =
        db_.exec("INSERT OR IGNORE INTO snapshot_deltas (diff_id, dir, base) VALUES (?, ?, ?)",
                 {diff_id, name, base});
    auto rows = db_.query("SELECT dir FROM snapshot_deltas WHERE diff_id = ?", {diff_id});
    if (!ins || !rows || rows->empty() || *(*rows)[0][0] != name) {
      (void)os::remove_tree(dest);
      std::error_code ec;
      fs::remove(dest.string() + ".manifest", ec);
      if (!ins) return std::unexpected(ins.error());
      if (!rows) return std::unexpected(rows.error());
      if (rows->empty()) return fail(Errc::internal, "snapshot record vanished");
      return root_ / "snapshots" / *(*rows)[0][0];
    }
    return dest;
  }
  // One statement reserves the id, so that two threads or processes adding
  // snapshots at once never pick the same one.
  auto ins = db_.exec(
      "INSERT OR IGNORE INTO snapshots (diff_id, id) SELECT ?, COALESCE(MAX(id), 0) + 1 FROM "
      "snapshots",
      {diff_id});
  if (!ins) return std::unexpected(ins.error());
  auto rows = db_.query("SELECT id FROM snapshots WHERE diff_id = ?", {diff_id});
  if (!rows) return std::unexpected(rows.error());
  if (rows->empty()) return fail(Errc::internal, "snapshot record vanished");
  fs::path dest = root_ / "snapshots" / *(*rows)[0][0];
  // Written before the directory appears, so that no reader pairs the
  // directory with an older manifest.
  if (manifest) write_manifest(dest, *manifest);
  if (::rename(dir.c_str(), dest.c_str()) != 0) {
    // Someone else's copy is already there: keep it, drop ours.
    std::error_code ec;
    if ((errno == EEXIST || errno == ENOTEMPTY) && fs::is_directory(dest, ec)) {
      (void)os::remove_tree(dir);
      return dest;
    }
    return std::unexpected(os::errno_error("renaming into", dest));
  }
  return dest;
}

std::optional<std::string> Store::snapshot_manifest(const Snapshot& snapshot) const {
  auto text = os::read_file(snapshot.dir.string() + ".manifest");
  if (!text) return std::nullopt;
  // "strata manifest <sha256 of the rest>\n": a torn one is no manifest.
  size_t nl = text->find('\n');
  if (nl == std::string::npos || text->compare(0, 16, "strata manifest ") != 0) return std::nullopt;
  std::string_view body = std::string_view(*text).substr(nl + 1);
  if (std::string_view(*text).substr(16, nl - 16) != digest_hex(sha256_digest(body)))
    return std::nullopt;
  return std::string(body);
}

Result<void> Store::drop_snapshot(const std::string& diff_id) {
  auto whole = db_.query("SELECT id FROM snapshots WHERE diff_id = ?", {diff_id});
  if (!whole) return std::unexpected(whole.error());
  auto deltas = db_.query("SELECT dir FROM snapshot_deltas WHERE diff_id = ?", {diff_id});
  if (!deltas) return std::unexpected(deltas.error());
  if (auto r = db_.exec("DELETE FROM snapshot_deltas WHERE diff_id = ?", {diff_id}); !r) return r;
  if (auto r = db_.exec("DELETE FROM snapshots WHERE diff_id = ?", {diff_id}); !r) return r;
  std::vector<fs::path> dirs;
  for (const auto& row : *whole) dirs.push_back(root_ / "snapshots" / *row[0]);
  for (const auto& row : *deltas) dirs.push_back(root_ / "snapshots" / *row[0]);
  for (const auto& dir : dirs) {
    std::error_code ec;
    fs::remove(dir.string() + ".manifest", ec);
    if (auto r = os::remove_tree(dir); !r) return r;
  }
  return {};
}

Result<std::optional<oci::Descriptor>> Store::layer_blob(const std::string& diff_id,
                                                         const std::string& media_type) {
  auto rows = db_.query(
      "SELECT DISTINCT blob, size FROM cache WHERE diff_id = ? AND media_type = ? AND blob != ''",
      {diff_id, media_type});
  if (!rows) return std::unexpected(rows.error());
  for (const auto& r : *rows)
    if (r[0] && has_blob(*r[0]))
      return oci::Descriptor{media_type, *r[0], std::stoll(r[1].value_or("0")), {}, {}};
  return std::nullopt;
}

Result<std::optional<oci::Descriptor>> Store::find_layer(const std::string& diff_id) {
  auto rows = db_.query(
      "SELECT DISTINCT blob, media_type, size FROM cache WHERE diff_id = ? AND blob != ''",
      {diff_id});
  if (!rows) return std::unexpected(rows.error());
  for (const auto& r : *rows) {
    if (!r[0]) continue;
    if (!has_blob(*r[0]) && TRY_VALUE(blob_sources(*r[0])).empty()) continue;
    return oci::Descriptor{
        r[1].value_or(oci::kLayerGzip), *r[0], std::stoll(r[2].value_or("0")), {}, {}};
  }
  return std::nullopt;
}

Result<std::optional<std::string>> Store::cache_diff_id(const std::string& key) {
  auto rows = db_.query("SELECT diff_id FROM cache WHERE key = ? AND blob != ''", {key});
  if (!rows) return std::unexpected(rows.error());
  if (rows->empty() || !(*rows)[0][0] || (*rows)[0][0]->empty()) return std::nullopt;
  return *(*rows)[0][0];
}

namespace {

// The columns cache_get and cache_latest_of_step read, in record_of's order.
constexpr const char* kRecordColumns =
    "blob, media_type, size, diff_id, CAST(strftime('%s', created) AS INTEGER), step, parent, "
    "incremental, source";

}  // namespace

Result<std::optional<Store::CacheRecord>> Store::record_of(const Db::Row& r) {
  CacheRecord rec;
  rec.created = std::strtoll(r[4].value_or("0").c_str(), nullptr, 10);
  if (r[0] && !r[0]->empty()) {
    if (!has_blob(*r[0])) {
      // A layer of an imported registry cache is fetched when needed; one
      // that was removed and cannot be fetched again is a miss.
      auto sources = blob_sources(*r[0]);
      if (!sources) return std::unexpected(sources.error());
      if (sources->empty()) return std::nullopt;
    }
    rec.blob = oci::Descriptor{
        r[1].value_or(oci::kLayerGzip), *r[0], std::stoll(r[2].value_or("0")), {}, {}};
    rec.diff_id = r[3].value_or("");
  }
  rec.step = r[5].value_or("");
  if (auto parent = r[6].value_or(""); !parent.empty()) {
    auto j = nlohmann::json::parse(parent, nullptr, false);
    if (j.is_array()) {
      rec.parent.emplace();
      for (const auto& d : j)
        if (d.is_string()) rec.parent->push_back(d.get<std::string>());
    }
  }
  if (auto inc = r[7].value_or(""); !inc.empty()) {
    auto j = nlohmann::json::parse(inc, nullptr, false);
    if (j.is_object() && j["on"].is_string() && j["from"].is_string()) {
      rec.incremental_on = j["on"].get<std::string>();
      rec.incremental_from = j["from"].get<std::string>();
    }
  }
  rec.source = r[8].value_or("");
  return rec;
}

Result<std::optional<Store::CacheRecord>> Store::cache_get(const std::string& key, bool mark_used) {
  auto rows = db_.query(fmt::format("SELECT {} FROM cache WHERE key = ?", kRecordColumns), {key});
  if (!rows) return std::unexpected(rows.error());
  if (rows->empty()) return std::nullopt;
  auto rec = TRY_VALUE(record_of((*rows)[0]));
  if (rec && mark_used)
    (void)db_.exec("UPDATE cache SET last_used = CURRENT_TIMESTAMP WHERE key = ?", {key});
  return rec;
}

Result<std::optional<std::pair<std::string, Store::CacheRecord>>> Store::cache_latest_of_step(
    const std::string& step, const std::vector<std::string>& preferred) {
  std::vector<std::string> args{step};
  std::string marks;
  for (const auto& s : preferred) {
    marks += marks.empty() ? "?" : ", ?";
    args.push_back(s);
  }
  auto rows = db_.query(fmt::format("SELECT key, {} FROM cache WHERE step = ? AND blob != '' AND "
                                    "source != '' ORDER BY source IN ({}) DESC, created DESC, "
                                    "rowid DESC",
                                    kRecordColumns, marks),
                        args);
  if (!rows) return std::unexpected(rows.error());
  for (const auto& row : *rows) {
    Db::Row r(row.begin() + 1, row.end());
    if (auto rec = TRY_VALUE(record_of(r)); rec && rec->parent)
      return std::pair{row[0].value_or(""), std::move(*rec)};
  }
  return std::nullopt;
}

Result<void> Store::cache_put(const std::string& key, const CacheRecord& rec,
                              const std::string& inputs_json) {
  std::string parent;
  if (rec.parent) parent = nlohmann::json(*rec.parent).dump();
  std::string incremental;
  if (!rec.incremental_on.empty())
    incremental = nlohmann::json{{"on", rec.incremental_on}, {"from", rec.incremental_from}}.dump();
  // A result made from scratch replaces whatever the key had; one made
  // incrementally never replaces one made from scratch.
  return db_.exec(
      fmt::format(
          "INSERT INTO cache (key, blob, media_type, size, diff_id, inputs, created, step, "
          "parent, incremental, source) VALUES (?, ?, ?, ?, ?, ?, datetime(?, 'unixepoch'), ?, ?, "
          "?, ?) ON CONFLICT (key) DO UPDATE SET blob = excluded.blob, media_type = "
          "excluded.media_type, size = excluded.size, diff_id = excluded.diff_id, inputs = "
          "excluded.inputs, created = excluded.created, step = excluded.step, parent = "
          "excluded.parent, incremental = excluded.incremental, source = excluded.source, "
          "last_used = CURRENT_TIMESTAMP{}",
          incremental.empty() ? "" : " WHERE cache.incremental != ''"),
      {key, rec.blob ? rec.blob->digest : "", rec.blob ? rec.blob->media_type : "",
       std::to_string(rec.blob ? rec.blob->size : 0), rec.diff_id, inputs_json,
       std::to_string(rec.created > 0 ? rec.created : static_cast<int64_t>(std::time(nullptr))),
       rec.step, parent, incremental, rec.source});
}

Result<std::optional<std::string>> Store::cache_inputs(const std::string& key) {
  auto rows = db_.query("SELECT inputs FROM cache WHERE key = ?", {key});
  if (!rows) return std::unexpected(rows.error());
  if (rows->empty() || !(*rows)[0][0]) return std::nullopt;
  return (*rows)[0][0];
}

Result<void> Store::record_build(const std::string& name, const std::string& steps_json) {
  if (auto r = db_.exec("INSERT INTO builds (name, steps) VALUES (?, ?)", {name, steps_json}); !r)
    return r;
  // Only the latest few builds of a target are ever compared with.
  return db_.exec(
      "DELETE FROM builds WHERE name = ? AND id NOT IN "
      "(SELECT id FROM builds WHERE name = ? ORDER BY id DESC LIMIT 5)",
      {name, name});
}

Result<std::optional<std::string>> Store::last_build(const std::string& name) {
  auto rows =
      name.empty()
          ? db_.query("SELECT steps FROM builds ORDER BY id DESC LIMIT 1")
          : db_.query("SELECT steps FROM builds WHERE name = ? ORDER BY id DESC LIMIT 1", {name});
  if (!rows) return std::unexpected(rows.error());
  if (rows->empty()) return std::nullopt;
  return (*rows)[0][0];
}

}  // namespace strata::store
