#include "cli/image_commands.hpp"

#include <fmt/format.h>

#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "archive/sink.hpp"
#include "builder/image_config.hpp"
#include "builder/rootfs.hpp"
#include "builder/users.hpp"
#include "cache/image_cache.hpp"
#include "cli/build_report.hpp"
#include "cli/build_trace.hpp"
#include "cli/progress.hpp"
#include "exec/emulation.hpp"
#include "exec/runtime.hpp"
#include "export/image_archive.hpp"
#include "images/stored_image.hpp"
#include "mounts/cache_mount.hpp"
#include "mounts/transfer.hpp"
#include "oci/platform.hpp"
#include "os/fs.hpp"
#include "os/process.hpp"
#include "solver/build_record.hpp"
#include "store/gc.hpp"
#include "util/strings.hpp"

namespace fs = std::filesystem;

namespace strata::cli {

using nlohmann::json;

namespace {

struct ImageArgs {
  std::vector<std::string> names;
  std::string output;
  std::string file;
  std::vector<std::string> command;
  std::string network = "host";
  bool as_json = false;
  bool prune_all = false, prune_mounts = false;
  bool into_docker = false;  // load --into-docker
  std::string keep_storage, keep_duration;
  std::vector<std::string> mount_ids;
  std::string path;
  std::string compression;
  int compression_level = -1;
  std::string cache_mode = "min";  // save --cache-mode
  std::string platform;            // save --platform, run --platform
  std::string trace, html;         // explain --trace, --html
};

// What `strata save` writes of a name: with --platform, that platform's
// image; else a multi-platform image whole when the store has every
// platform's image (the host's alone, with a note, when it lacks some, as
// a pull leaves them), or the one image.
Result<exporter::ArchiveImage> image_to_save(store::Store& store, const std::string& name,
                                             const std::string& platform) {
  if (!platform.empty()) {
    auto p = TRY_VALUE(oci::parse_platform(platform));
    return exporter::ArchiveImage{{TRY_VALUE(images::load_image(store, name, p))}, {name}, {}};
  }
  auto desc = TRY_VALUE(images::resolve_descriptor(store, name));
  if (oci::is_index_media_type(desc.media_type)) {
    auto all = images::load_index_images(store, desc);
    if (all) return exporter::ArchiveImage{std::move(*all), {name}, desc};
    if (all.error().code != Errc::not_found) return std::unexpected(all.error());
    std::cerr << fmt::format("note: {}: {}; saving the {} image alone\n", name, all.error().message,
                             oci::host_platform().str());
  }
  return exporter::ArchiveImage{{TRY_VALUE(images::load_image(store, name))}, {name}, {}};
}

int cmd_images(const GlobalFlags& g) {
  auto store = open_store(g);
  if (!store) return report(store.error());
  auto list = store->images();
  if (!list) return report(list.error());
  std::cout << fmt::format("{:<40} {:<20} {:>12}  {}\n", "NAME", "MANIFEST", "SIZE", "PLATFORMS");
  for (const auto& img : *list) {
    auto loaded = images::load_image(*store, img.name);
    int64_t size = 0;
    if (loaded)
      for (const auto& l : loaded->manifest.layers) size += l.size;
    // Those of an index the store lacks the image of in parentheses.
    std::string platforms;
    if (auto entries = images::platforms_of(*store, img.name))
      for (const auto& e : *entries) {
        std::string p = e.platform.empty() ? "?" : e.platform;
        platforms += (platforms.empty() ? "" : " ") + (e.present ? p : "(" + p + ")");
      }
    std::cout << fmt::format("{:<40} {:<20} {:>12}  {}\n", img.name,
                             img.manifest.digest.substr(7, 12), size, platforms);
  }
  return 0;
}

int cmd_inspect(const GlobalFlags& g, const std::string& name) {
  auto store = open_store(g);
  if (!store) return report(store.error());
  auto img = images::load_image(*store, name);
  if (!img) return report(img.error());
  auto text = store->read_blob(img->manifest_desc.digest);
  if (!text) return report(text.error());
  json manifest = json::parse(*text, nullptr, false);  // load_image checked it
  json out = {{"name", name},
              {"digest", img->manifest_desc.digest},
              {"manifest", manifest},
              {"config", img->config}};
  if (img->index_desc) {
    // A multi-platform image: the index and its platforms (this machine's
    // image shown above).
    json platforms = json::array();
    if (auto entries = images::platforms_of(*store, name))
      for (const auto& e : *entries)
        platforms.push_back(
            {{"platform", e.platform}, {"digest", e.manifest.digest}, {"in_store", e.present}});
    out["index"] = {{"digest", img->index_desc->digest}, {"platforms", platforms}};
  }
  std::cout << out.dump(2, ' ', false, json::error_handler_t::replace) << "\n";
  return 0;
}

int cmd_tag(const GlobalFlags& g, const std::string& src, const std::string& dst) {
  auto store = open_store(g);
  if (!store) return report(store.error());
  auto img = images::load_image(*store, src);
  if (!img) return report(img.error());
  // A multi-platform image stays one under its new name.
  if (auto r = store->tag(dst, img->index_desc.value_or(img->manifest_desc)); !r)
    return report(r.error());
  return 0;
}

int cmd_rmi(const GlobalFlags& g, const std::vector<std::string>& names) {
  auto store = open_store(g);
  if (!store) return report(store.error());
  int rc = 0;
  for (const auto& n : names) {
    auto r = store->untag(n);
    if (!r) return report(r.error());
    if (!*r) {
      std::cerr << fmt::format("error: no image named {}\n", n);
      rc = 1;
    } else {
      std::cout << "untagged " << oci::normalize_name(n) << "\n";
    }
  }
  return rc;
}

// The last build as a page: its records, the sizes of its layers and the
// store's cache mounts.
Result<void> write_report(store::Store& store, const std::vector<solver::StepRecord>& steps,
                          const std::string& file) {
  ReportInputs in;
  in.steps = steps;
  for (const auto& r : steps) {
    if (r.key.empty()) continue;
    auto rec = TRY_VALUE(store.cache_get(r.key, false));
    if (rec && rec->blob) in.layer_bytes[r.key] = rec->blob->size;
  }
  for (const auto& m : TRY_VALUE(mounts::list_cache_mounts(store)))
    in.mounts.push_back({m.id, m.size});
  return os::write_file_atomic(file, html_report(in));
}

int cmd_explain(const GlobalFlags& g, bool as_json, const std::string& trace,
                const std::string& html) {
  auto store = open_store(g);
  if (!store) return report(store.error());
  auto last = store->last_build("");
  if (!last) return report(last.error());
  if (!*last) return report(Error{Errc::not_found, "no build recorded in this store yet"});
  auto steps = solver::records_from_json(**last);
  if (!steps) return report(steps.error().with_context("the last build's record"));
  if (!trace.empty()) {
    if (auto r = os::write_file_atomic(trace, chrome_trace(spans_of_records(*steps))); !r)
      return report(r.error());
    std::cerr << fmt::format("wrote the last build's trace to {}\n", trace);
  }
  if (!html.empty()) {
    if (auto r = write_report(*store, *steps, html); !r) return report(r.error());
    std::cerr << fmt::format("wrote the last build's report to {}\n", html);
  }
  if (!trace.empty() || !html.empty()) return 0;
  if (as_json) {
    json out = json::array();
    for (const auto& st : *steps) {
      json e = {{"stage", st.stage},      {"index", st.index}, {"line", st.line},
                {"instruction", st.text}, {"key", st.key},     {"cached", st.cached}};
      if (!st.cached) e["reason"] = st.reason;
      if (!st.incremental_on.empty())
        e["incremental"] = {{"on", st.incremental_on}, {"from", st.incremental_from}};
      out.push_back(e);
    }
    std::cout << out.dump(2, ' ', false, json::error_handler_t::replace) << "\n";
    return 0;
  }
  for (const auto& st : *steps) {
    // The step's number as the build's progress showed it ([build 3/6]).
    std::cout << fmt::format("[{} {}] line {}: {}\n", st.stage, st.number, st.line, st.text);
    if (st.cached)
      std::cout << "    cached\n";
    else
      std::cout << "    ran: " << st.reason << "\n";
    if (!st.incremental_on.empty())
      std::cout << fmt::format("    {} incrementally on the result of {} from {}\n",
                               st.cached ? "made" : "ran", st.incremental_on, st.incremental_from);
  }
  return 0;
}

int cmd_cache_du(const GlobalFlags& g) {
  auto store = open_store(g);
  if (!store) return report(store.error());
  auto u = store::disk_usage(*store);
  if (!u) return report(u.error());
  std::cout << fmt::format("{:<14} {:>12}\n", "KIND", "SIZE");
  for (auto [name, v] : {std::pair<const char*, uint64_t>{"layers", u->layers},
                         {"snapshots", u->snapshots},
                         {"cache mounts", u->cache_mounts},
                         {"metadata", u->metadata},
                         {"unreferenced", u->unreferenced}}) {
    std::cout << fmt::format("{:<14} {:>12}\n", name, human_size(static_cast<double>(v)));
  }
  std::cout << fmt::format("{:<14} {:>12}\n{} cache records\n", "total",
                           human_size(static_cast<double>(u->total())), u->records);
  auto mounts = mounts::list_cache_mounts(*store);
  if (!mounts) return report(mounts.error());
  if (!mounts->empty()) {
    std::cout << fmt::format("\n{:<40} {:>12}  {}\n", "CACHE MOUNT", "SIZE", "LAST USED (UTC)");
    for (const auto& m : *mounts)
      std::cout << fmt::format("{:<40} {:>12}  {}\n", m.id, human_size(static_cast<double>(m.size)),
                               m.last_used);
  }
  return 0;
}

// --keep-storage and --keep-duration of `cache prune` (for records, or with
// --mounts for each cache mount).
Result<void> parse_prune_limits(const ImageArgs& a, std::optional<uint64_t>& size,
                                std::optional<int64_t>& age) {
  if (!a.keep_storage.empty()) {
    size = store::parse_size(a.keep_storage);
    if (!size)
      return fail(
          Errc::invalid_argument,
          fmt::format("--keep-storage {}: use a size such as 10GB or 500MiB", a.keep_storage));
  }
  if (!a.keep_duration.empty()) {
    age = store::parse_age(a.keep_duration);
    if (!age)
      return fail(
          Errc::invalid_argument,
          fmt::format("--keep-duration {}: use a duration such as 24h or 7d", a.keep_duration));
  }
  return {};
}

int cmd_prune_mounts(store::Store& store, const mounts::MountPruneOptions& o) {
  auto r = mounts::prune_cache_mounts(store, o);
  if (!r) return report(r.error());
  std::cout << fmt::format(
      "removed {} cache mounts and {} files from others: {} freed{}\n", r->mounts_removed,
      r->files_removed, human_size(static_cast<double>(r->bytes)),
      r->skipped_in_use ? fmt::format(" ({} in use, left alone)", r->skipped_in_use) : "");
  return 0;
}

int cmd_export_mounts(const GlobalFlags& g, const ImageArgs& a) {
  auto store = open_store(g);
  if (!store) return report(store.error());
  auto lease = store::Lease::take(*store, false);
  if (!lease) return report(lease.error());
  auto r = mounts::export_mounts(*store, a.mount_ids, a.path);
  if (!r) return report(r.error());
  std::cout << fmt::format("exported {} cache mounts ({} files): {} new blobs, {} written\n",
                           r->mounts, r->files, r->blobs_copied,
                           human_size(static_cast<double>(r->bytes_copied)));
  return 0;
}

int cmd_import_mounts(const GlobalFlags& g, const ImageArgs& a) {
  auto store = open_store(g);
  if (!store) return report(store.error());
  auto lease = store::Lease::take(*store, false);
  if (!lease) return report(lease.error());
  auto r = mounts::import_mounts(*store, a.path);
  if (!r) return report(r.error());
  std::cout << fmt::format("imported {} cache mounts ({} files): {} blobs, {} read\n", r->mounts,
                           r->files, r->blobs_copied,
                           human_size(static_cast<double>(r->bytes_copied)));
  return 0;
}

int cmd_cache_prune(const GlobalFlags& g, const ImageArgs& a) {
  auto store = open_store(g);
  if (!store) return report(store.error());
  store::PruneOptions o;
  o.all = a.prune_all;
  if (auto r = parse_prune_limits(a, o.keep_storage, o.keep_duration); !r) return report(r.error());
  auto lease = store::Lease::take(*store, true, false);
  if (!lease) return report(lease.error());
  std::optional<store::Lease> waited;
  if (!*lease) {
    std::cerr << "waiting for the builds using this store to finish...\n";
    auto again = store::Lease::take(*store, true, true);
    if (!again) return report(again.error());
    waited = std::move(*again);
  }
  if (a.prune_mounts) return cmd_prune_mounts(*store, {o.keep_storage, o.keep_duration});
  auto r = store::prune(*store, o);
  if (!r) return report(r.error());
  std::cout << fmt::format("removed {} cache records, {} blobs, {} snapshots: {} freed\n",
                           r->records, r->blobs, r->snapshots,
                           human_size(static_cast<double>(r->bytes)));
  return 0;
}

// strata load FILE: the archive's images into the store. With
// --into-docker, also into the docker daemon; then the argument may instead
// name an image already in the store.
int cmd_load(const GlobalFlags& g, const std::string& file, bool into_docker) {
  auto store = open_store(g);
  if (!store) return report(store.error());
  auto lease = store::Lease::take(*store, false);  // blobs are not collected before they are tagged
  if (!lease) return report(lease.error());
  std::error_code ec;
  std::vector<std::string> names;
  if (!into_docker || fs::is_regular_file(file, ec)) {
    Progress progress("loading " + file);
    exporter::LoadOptions lo;
    lo.progress = [&](uint64_t done, uint64_t total) { progress.update(done, total); };
    auto loaded = exporter::load_archive(*store, file, lo);
    if (!loaded) return report(loaded.error());
    progress.finish();
    for (const auto& n : loaded->names) std::cout << "loaded " << n << "\n";
    // The build cache that came with the images: the next build hits it.
    if (auto restored = cache::restore_archive_cache(*store, *loaded, file); !restored)
      std::cerr << "warning: " << file
                << ": its build cache is not restored: " << restored.error().message << "\n";
    else if (restored->records > 0)
      std::cerr << fmt::format("restored {} build cache records\n", restored->records);
    names = std::move(loaded->names);
  } else {
    names.push_back(file);
  }
  if (!into_docker) return 0;
  for (const auto& n : names) {
    auto img = images::load_image(*store, n);
    if (!img)
      return report(img.error().with_context(
          fmt::format("{} is neither an archive file nor an image in the store", file)));
    auto r = load_into_docker_daemon(*store, *img, {n},
                                     [](const std::string& line) { std::cerr << line << "\n"; });
    if (!r) return report(r.error());
    std::cout << "loaded " << n << " into the docker daemon (" << r->image_id << ")\n";
  }
  return 0;
}

int cmd_save(const GlobalFlags& g, const ImageArgs& a) {
  auto store = open_store(g);
  if (!store) return report(store.error());
  auto lease = store::Lease::take(*store, false);  // the cache artifact it puts in the store
  if (!lease) return report(lease.error());
  std::vector<exporter::ArchiveImage> images;
  for (const auto& name : a.names) {
    auto img = image_to_save(*store, name, a.platform);
    if (!img) return report(img.error());
    images.push_back(std::move(*img));
  }
  exporter::ArchiveOptions o;
  o.compression = exporter::compression_for(a.output);
  if (!a.compression.empty()) {
    if (a.compression == "none" || a.compression == "uncompressed")
      o.compression = archive::Compression::none;
    else if (a.compression == "gzip")
      o.compression = archive::Compression::gzip;
    else if (a.compression == "zstd")
      o.compression = archive::Compression::zstd;
    else
      return report(Error{Errc::invalid_argument,
                          fmt::format("--compression {}: use none, gzip or zstd", a.compression)});
  }
  o.level = a.compression_level;
  if (auto r = archive::check_level(o.compression, o.level); !r)
    return report(r.error().with_context("--compression-level"));
  auto mode = cache::parse_cache_mode(a.cache_mode, "--cache-mode");
  if (!mode) return report(mode.error());
  std::vector<images::StoredImage> stored;
  for (const auto& i : images) stored.insert(stored.end(), i.images.begin(), i.images.end());
  auto keys = cache::steps_of_images(*store, stored, *mode);
  if (!keys) return report(keys.error());
  auto extras = cache::archive_cache(*store, *keys, {});
  if (!extras) return report(extras.error().with_context("the images' build cache"));
  o.extras = std::move(*extras);
  Progress progress("saving " + a.output);
  o.progress = [&](uint64_t done, uint64_t total) { progress.update(done, total); };
  if (auto r = exporter::write_image_archive(*store, images, a.output, o); !r)
    return report(r.error());
  progress.finish();
  return 0;
}

int cmd_run(const GlobalFlags& g, const ImageArgs& a) {
  auto store = open_store(g);
  if (!store) return report(store.error());
  auto lease = store::Lease::take(*store, false);
  if (!lease) return report(lease.error());
  auto platform = a.platform.empty() ? oci::host_platform() : oci::parse_platform(a.platform);
  if (!platform) return report(platform.error().with_context("--platform"));
  auto img = images::load_image(*store, a.names.at(0), *platform);
  if (!img) return report(img.error());
  if (auto r = exec::check_can_run(platform->arch); !r)
    return report(r.error().with_context("strata run --platform " + platform->str()));
  auto rt = exec::choose_runtime(g.runtime);
  if (!rt) return report(rt.error());
  rt->tmp_dir = store->tmp_dir();
  auto root = builder::Rootfs::mount(*store, img->layers, true);
  if (!root) return report(root.error());
  frontend::ImageConfig cfg = builder::to_frontend_config(img->config);
  exec::ContainerSpec spec;
  spec.rootfs = root->path();
  std::vector<std::string> args = cfg.entrypoint.value_or(std::vector<std::string>{});
  if (!a.command.empty())
    args.insert(args.end(), a.command.begin(), a.command.end());
  else if (cfg.cmd)
    args.insert(args.end(), cfg.cmd->begin(), cfg.cmd->end());
  if (args.empty())
    return report(
        Error{Errc::invalid_argument, "the image has no CMD or ENTRYPOINT: give a command"});
  spec.args = args;
  bool has_path = false;
  for (const auto& [k, v] : cfg.env) {
    spec.env.push_back(k + "=" + v);
    has_path = has_path || k == "PATH";
  }
  if (!has_path)
    spec.env.push_back("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  spec.cwd = cfg.workdir.empty() ? "/" : cfg.workdir;
  auto id = builder::resolve_user(root->path(), cfg.user);
  if (!id) return report(id.error());
  spec.uid = id->uid;
  spec.gid = id->gid;
  spec.additional_gids = id->groups;
  spec.network_none = a.network == "none";
  spec.interactive = true;
  auto bundle = os::make_temp_dir(store->tmp_dir(), "run-");
  if (!bundle) return report(bundle.error());
  auto r = exec::run_container(*rt, spec, *bundle, nullptr);
  (void)os::remove_tree(*bundle);
  if (!r) return report(r.error());
  return r->exit_code;
}

}  // namespace

void add_image_commands(CLI::App& app, const GlobalFlags& g, std::function<int()>& run) {
  auto a = std::make_shared<ImageArgs>();
  app.add_subcommand("images", "List the images in the store")->callback([&g, &run] {
    run = [&g] { return cmd_images(g); };
  });
  auto* inspect = app.add_subcommand("inspect", "Print an image's manifest and config as JSON");
  inspect->add_option("image", a->names, "Image name or manifest digest")->required()->expected(1);
  inspect->callback([&g, &run, a] { run = [&g, a] { return cmd_inspect(g, a->names[0]); }; });
  auto* tag = app.add_subcommand("tag", "Give an image another name");
  tag->add_option("names", a->names, "SOURCE TARGET")->required()->expected(2);
  tag->callback([&g, &run, a] { run = [&g, a] { return cmd_tag(g, a->names[0], a->names[1]); }; });
  auto* rmi = app.add_subcommand("rmi", "Remove image names from the store");
  rmi->add_option("images", a->names, "Image names")->required();
  rmi->callback([&g, &run, a] { run = [&g, a] { return cmd_rmi(g, a->names); }; });
  auto* cache = app.add_subcommand(
      "cache", "The build cache: disk usage, pruning, cache mounts export and import");
  cache->require_subcommand(1);
  cache->add_subcommand("du", "Disk usage by kind: layers, snapshots, cache mounts, metadata")
      ->callback([&g, &run] { run = [&g] { return cmd_cache_du(g); }; });
  auto* prune = cache->add_subcommand(
      "prune", "Remove cache records, least recently used first, and what only they used");
  prune->add_flag("--all", a->prune_all, "Every cache record and cache mount");
  prune->add_flag("--mounts", a->prune_mounts,
                  "Prune cache mounts instead: all of them, or with --keep-storage each mount "
                  "trimmed to SIZE (least recently used files first), with --keep-duration the "
                  "mounts unused for longer");
  prune->add_option("--keep-storage", a->keep_storage,
                    "Evict until layers and snapshots fit in SIZE (e.g. 10GB)");
  prune->add_option("--keep-duration", a->keep_duration,
                    "Evict records unused for longer than DUR (e.g. 24h, 7d)");
  prune->callback([&g, &run, a] { run = [&g, a] { return cmd_cache_prune(g, *a); }; });
  auto* exp = cache->add_subcommand(
      "export-mounts", "Write cache mounts to a directory (incrementally) or a .tar[.gz|.zst]");
  exp->add_option("--id", a->mount_ids, "A cache mount id (repeatable; default: all)");
  exp->add_option("--dest", a->path, "Directory or archive to write")->required();
  exp->callback([&g, &run, a] { run = [&g, a] { return cmd_export_mounts(g, *a); }; });
  auto* imp = cache->add_subcommand(
      "import-mounts", "Make cache mounts what an export-mounts directory or archive holds");
  imp->add_option("source", a->path, "Directory or archive")->required();
  imp->callback([&g, &run, a] { run = [&g, a] { return cmd_import_mounts(g, *a); }; });
  auto* explain = app.add_subcommand(
      "explain", "Say, step by step, why the last build ran or reused each step");
  explain->add_flag("--json", a->as_json, "Machine-readable output");
  explain->add_option("--trace", a->trace,
                      "Write the last build as Chrome trace events (Perfetto, chrome://tracing)");
  explain->add_option("--html", a->html,
                      "Write the last build as one HTML page: its timeline, steps, biggest "
                      "layers, cache mounts and where the time went");
  explain->callback(
      [&g, &run, a] { run = [&g, a] { return cmd_explain(g, a->as_json, a->trace, a->html); }; });
  auto* load =
      app.add_subcommand("load", "Import a docker or OCI archive (.tar, .tar.gz, .tar.zst)");
  load->add_option("file", a->file, "Archive (or, with --into-docker, an image in the store)")
      ->required();
  load->add_flag("--into-docker", a->into_docker,
                 "Also load into the docker daemon at $DOCKER_HOST, sending only the layers it "
                 "lacks");
  load->callback([&g, &run, a] { run = [&g, a] { return cmd_load(g, a->file, a->into_docker); }; });
  auto* save = app.add_subcommand(
      "save", "Write an image as an archive docker, podman, skopeo and strata load");
  save->add_option("images", a->names, "Image names")->required();
  save->add_option("--platform", a->platform,
                   "Save this platform's image of a multi-platform one (default: every "
                   "platform's the store has)");
  save->add_option("-o,--output", a->output, "Archive to write; .tar.gz or .tar.zst compress it")
      ->required();
  save->add_option("--compression", a->compression, "none, gzip or zstd (default: by the name)");
  save->add_option("--compression-level", a->compression_level, "The compressor's level");
  save->add_option("--cache-mode", a->cache_mode,
                   "The build cache the archive carries: min (default: the steps behind the "
                   "images' layers), max (every step of their builds) or none");
  save->callback([&g, &run, a] { run = [&g, a] { return cmd_save(g, *a); }; });
  // The image and everything after it are the container's: flags there
  // are its command's, not strata's (prefix_command).
  auto* run_cmd = app.add_subcommand(
      "run",
      "Run an image from the store in a container, passing stdin, stdout and the exit "
      "code; the command defaults to the image's ENTRYPOINT and CMD");
  run_cmd->footer(
      "Usage: strata run [--network host|none] [--platform P] IMAGE [COMMAND [ARG...]]");
  run_cmd->prefix_command();
  run_cmd->add_option("--network", a->network, "host (default) or none")
      ->check(CLI::IsMember({"host", "none"}));
  run_cmd->add_option("--platform", a->platform,
                      "Which platform's image of a multi-platform one (default: this "
                      "machine's); another architecture's runs under QEMU");
  run_cmd->callback([&g, &run, a, run_cmd] {
    std::vector<std::string> rest = run_cmd->remaining();
    run = [&g, a, rest] {
      if (rest.empty())
        return report(Error{Errc::invalid_argument, "strata run needs an image name"});
      if (rest.front().starts_with("-"))
        return report(
            Error{Errc::invalid_argument,
                  fmt::format("strata run: unknown flag {} (strata run --help)", rest.front())});
      ImageArgs args = *a;
      args.names = {rest.front()};
      args.command.assign(rest.begin() + 1, rest.end());
      return cmd_run(g, args);
    };
  });
  // Without root, the store's files belong to the user's subordinate ids:
  // a command run here sees them as strata does (and may remove them).
  auto* unshare = app.add_subcommand(
      "unshare",
      "Run a command in strata's user namespace, where a user without root is root and the "
      "store's files are the user's (e.g. strata unshare rm -rf ~/.local/share/strata)");
  unshare->footer("Usage: strata unshare COMMAND [ARG...]");
  unshare->prefix_command();
  unshare->callback([&run, unshare] {
    std::vector<std::string> rest = unshare->remaining();
    run = [rest] {
      if (rest.empty())
        return report(Error{Errc::invalid_argument, "strata unshare needs a command to run"});
      os::ProcessSpec p;
      p.argv = rest;
      p.pass_stdin = p.pass_output = true;
      auto r = os::run_process(p);
      if (!r) return report(r.error());
      return r->exit_code;
    };
  });
}

}  // namespace strata::cli
