// The store: one root that is at once a valid OCI image layout (oci-layout,
// index.json, blobs/sha256/) and strata's own state (unpacked snapshots,
// temporary space, a SQLite metadata db). Every write is atomic.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "oci/image.hpp"
#include "store/db.hpp"

namespace strata::store {

// --root, else $STRATA_ROOT, else /var/lib/strata (root) or $XDG_DATA_HOME/strata.
std::filesystem::path default_root();

struct ImageRecord {
  std::string name;  // normalised, e.g. "app:latest"
  oci::Descriptor manifest;
};

class Store {
 public:
  static Result<Store> open(const std::filesystem::path& root);

  const std::filesystem::path& root() const { return root_; }
  std::filesystem::path tmp_dir() const { return root_ / "tmp"; }
  // Content-addressed files that snapshots made by COPY hard-link to; one
  // whose link count is 1 is used by no snapshot.
  std::filesystem::path objects_dir() const { return root_ / "objects"; }
  // Tar entries of files linked to objects, kept to write the next layer
  // with the same files without reading them (snapshot::DiffOptions).
  // Only a cache: pruning empties it.
  std::filesystem::path segments_dir() const { return root_ / "segments"; }

  // Blobs.
  std::filesystem::path blob_path(std::string_view digest) const;
  bool has_blob(std::string_view digest) const;
  Result<std::string> read_blob(std::string_view digest) const;
  // Stores `data`; its digest is computed here.
  Result<oci::Descriptor> put_blob(std::string_view data, std::string media_type);
  // Moves a finished file under tmp_dir() into place, after checking that its
  // content has `digest`; the file is gone afterwards either way.
  Result<void> commit_blob(const std::filesystem::path& tmp_file, std::string_view digest);
  // The same for a file whose digest the caller computed as it wrote it, and
  // without syncing: the caller calls sync() before anything refers to it.
  Result<void> adopt_blob(const std::filesystem::path& tmp_file, std::string_view digest);
  // Flushes the store's file system (one syncfs for many adopted blobs),
  // and retires the unsynced-blob journals it made durable.
  Result<void> sync();
  // Moves finished, verified files under tmp_dir() into place without
  // waiting for the disk (a load, a cache import, a pull): their digests
  // are first written, durably, to a journal of this boot
  // (unsynced/<boot id>-<pid>-<n>). Until the machine goes down the page
  // cache serves them to every process; if it goes down first, the next
  // open() checks each blob the journals of an earlier boot name and
  // removes those whose content does not match, so the store never trusts
  // a torn blob. A later sync() of this boot retires the journals of
  // processes that are gone (and its own). Every file is gone from
  // tmp_dir() afterwards, whatever happens.
  struct NewBlob {
    std::filesystem::path tmp_file;
    std::string digest;
  };
  Result<void> adopt_blobs_unsynced(const std::vector<NewBlob>& blobs);
  // What open() found and repaired after a crash of the machine (one line
  // each, for the user).
  const std::vector<std::string>& recovery_notes() const { return recovery_notes_; }

  // Lazy blobs: a layer of a pulled image or an imported registry cache is
  // noted with the repository it can be fetched from ("host/repo") and
  // fetched only when something reads it (ensure_blob).
  Result<void> note_blob_source(const std::string& digest, const std::string& source);
  Result<std::vector<std::string>> blob_sources(const std::string& digest);
  // Fetches a noted blob into the store (installed by whoever can reach the
  // registry, see builder/pull); without one, a missing blob is an error.
  using BlobFetcher = std::function<Result<void>(Store&, const oci::Descriptor& blob,
                                                 const std::vector<std::string>& sources)>;
  void set_blob_fetcher(BlobFetcher f) { fetcher_ = std::move(f); }
  // Makes sure `blob` is in the store, fetching it from a noted source.
  Result<void> ensure_blob(const oci::Descriptor& blob);

  // Images (tags).
  Result<void> tag(const std::string& name, const oci::Descriptor& manifest);
  Result<std::optional<ImageRecord>> resolve(const std::string& name);
  Result<std::vector<ImageRecord>> images();
  Result<bool> untag(const std::string& name);

  // Snapshots: a layer unpacked once, keyed by its diff id, reused as an
  // overlay lower dir. Paths are short (snapshots/<n>) for overlay options.
  // A snapshot may be a delta: a few entries (and whiteouts) stacked on the
  // snapshot of another layer, its base, which is never a delta itself; the
  // layer's files are what an overlay of the two shows.
  struct Snapshot {
    std::filesystem::path dir;
    std::string base;  // the base's diff id; empty for a whole snapshot
  };
  Result<std::optional<Snapshot>> snapshot(const std::string& diff_id);
  // Takes ownership of `dir` (under tmp_dir()) as the snapshot of diff_id,
  // a delta on `base` when that is not empty. `manifest`, when given, is
  // kept beside it (see snapshot_manifest).
  Result<std::filesystem::path> add_snapshot(const std::string& diff_id,
                                             const std::filesystem::path& dir,
                                             const std::string& base = {},
                                             const std::string* manifest = nullptr);
  // What a snapshot made by a direct COPY holds (builder/direct_copy): of a
  // whole one, every path; of a delta, its changes; nullopt when none was
  // kept (or a crash tore it).
  std::optional<std::string> snapshot_manifest(const Snapshot& snapshot) const;
  // Forgets a snapshot and removes its directory (one whose base is gone).
  Result<void> drop_snapshot(const std::string& diff_id);

  // The build cache: a step's key -> the layer it produced (none for a step
  // that changed no file), with the inputs that made the key, and its
  // lineage: which step made it on which root, and whether it ran on top
  // of an earlier result of that step (# strata:incremental).
  struct CacheRecord {
    std::optional<oci::Descriptor> blob;
    std::string diff_id;
    int64_t created = 0;  // when the step ran, seconds (0 on put: now)
    std::string step{};   // the step's identity (solver::step_identity); "" unknown
    // The diff ids of the root a RUN ran on, bottom first; nullopt unknown.
    std::optional<std::vector<std::string>> parent{};
    std::string incremental_on{};    // the key of the result it ran on; "" from scratch
    std::string incremental_from{};  // where that result came from, as the build said it
    std::string source{};            // "" made here, else the cache it was imported from
  };
  // A lookup marks the record used (for the eviction order) unless it is
  // only a look (`mark_used` false: a report of the last build).
  Result<std::optional<CacheRecord>> cache_get(const std::string& key, bool mark_used = true);
  // The most recent record (and its key) of a step by its identity that
  // came from outside the store (imported, loaded, or an image's inline
  // cache), has a layer and knows its parent, one imported from `preferred`
  // first: what a marked RUN builds on when the last build has no result
  // of it.
  Result<std::optional<std::pair<std::string, CacheRecord>>> cache_latest_of_step(
      const std::string& step, const std::vector<std::string>& preferred);

  // What an ADD of a URL last downloaded: the server's ETag and
  // Last-Modified (seconds, -1 when not sent) and the content's digest (a
  // blob, while garbage collection leaves it), so that a rebuild asks the
  // server whether the content changed instead of downloading it again.
  struct UrlRecord {
    std::string etag;
    int64_t last_modified = -1;
    std::string digest;
  };
  Result<std::optional<UrlRecord>> url_record(const std::string& url);
  Result<void> put_url_record(const std::string& url, const UrlRecord& rec);
  // A record made from scratch replaces the key's; one made incrementally
  // replaces only another such.
  Result<void> cache_put(const std::string& key, const CacheRecord& rec,
                         const std::string& inputs_json);
  // The size of a layer's uncompressed tar, known once strata has seen the
  // layer whole (writing it, unpacking it, counting it for a docker load).
  // A fact about the diff id, true whatever blob holds the layer.
  Result<std::optional<uint64_t>> layer_size(const std::string& diff_id);
  Result<void> put_layer_size(const std::string& diff_id, uint64_t size);
  // The cache keys of the steps that made an image (by its manifest's
  // digest): those behind its own layers (mode=min) and every cacheable
  // step of its build (mode=max), so that an archive of it, written later,
  // carries its build cache. Noted by a build and by a load that brought
  // records; a row of an image since removed only costs its bytes (prune
  // drops it).
  struct ImageSteps {
    std::vector<std::string> image_keys, all_keys;
  };
  Result<void> put_image_steps(const std::string& manifest, const ImageSteps& steps);
  Result<std::optional<ImageSteps>> image_steps(const std::string& manifest);
  // A layer blob in the store, in `media_type`, whose uncompressed digest
  // is `diff_id` (as a cache record names it).
  Result<std::optional<oci::Descriptor>> layer_blob(const std::string& diff_id,
                                                    const std::string& media_type);
  // A layer blob, of any media type, whose uncompressed digest is `diff_id`
  // that the store has or can fetch (a cache record's layer).
  Result<std::optional<oci::Descriptor>> find_layer(const std::string& diff_id);
  // The diff id of a record's layer, without counting a use; nullopt when
  // there is no such record or it has no layer.
  Result<std::optional<std::string>> cache_diff_id(const std::string& key);
  // The inputs a cache record was made from (JSON), if the record exists.
  Result<std::optional<std::string>> cache_inputs(const std::string& key);

  // Builds, for explaining misses: the steps (keys and outcomes) of the
  // latest builds of each target; older ones are dropped.
  Result<void> record_build(const std::string& name, const std::string& steps_json);
  // The latest build of `name` (or of anything when name is empty).
  Result<std::optional<std::string>> last_build(const std::string& name);

  Db& db() { return db_; }

 private:
  Store(std::filesystem::path root, Db db) : root_(std::move(root)), db_(std::move(db)) {}
  // A cache row read (see kRecordColumns); nullopt when its layer is gone
  // for good.
  Result<std::optional<CacheRecord>> record_of(const Db::Row& row);
  Result<void> write_index();
  std::filesystem::path unsynced_dir() const { return root_ / "unsynced"; }
  Result<void> check_unsynced_blobs();
  std::filesystem::path root_;
  Db db_;
  BlobFetcher fetcher_;
  std::string boot_id_;  // read once by open(); empty where the kernel does not say
  std::vector<std::string> recovery_notes_;
  unsigned journals_written_ = 0;
};

}  // namespace strata::store
