#include "cli/build_command.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "archive/tree.hpp"
#include "builder/builder.hpp"
#include "builder/copy.hpp"
#include "builder/image_config.hpp"
#include "builder/rootfs.hpp"
#include "cli/build_flags.hpp"
#include "cli/lint_report.hpp"
#include "cli/progress.hpp"
#include "cli/remote_context.hpp"
#include "dockerfile/instructions.hpp"
#include "dockerfile/mount.hpp"
#include "exec/runtime.hpp"
#include "export/convert.hpp"
#include "export/image_archive.hpp"
#include "cache/local_cache.hpp"
#include "cache/registry_cache.hpp"
#include "frontend/context.hpp"
#include "frontend/plan.hpp"
#include "frontend/plan_format.hpp"
#include "images/push.hpp"
#include "os/fs.hpp"
#include "os/process.hpp"
#include "snapshot/layer.hpp"
#include "snapshot/lower_view.hpp"
#include "store/gc.hpp"
#include "util/strings.hpp"

namespace fs = std::filesystem;

namespace strata::cli {
namespace {

// --output type=tar: the root filesystem as one tar, in a file (named only
// when whole) or on standard output (dest=-). The tree is copied out first,
// so that hard links are those of the image, not of the store's shared
// objects.
Result<void> write_root_tar(store::Store& store, const std::vector<oci::LayerRef>& layers,
                            const std::string& dest) {
  auto root = builder::Rootfs::mount(store, layers, false);
  if (!root) return std::unexpected(root.error());
  auto tree = os::TempDir::create(store.tmp_dir(), "tar-output-");
  if (!tree) return std::unexpected(tree.error());
  snapshot::LowerView view(root->lowers());
  if (auto r = builder::copy_tree(root->path(), tree->path() / "root", &view); !r) return r;
  if (dest == "-") {
    archive::FdSink out(STDOUT_FILENO);
    return snapshot::write_tree_tar(tree->path() / "root", out);
  }
  auto file = os::NewFile::create(dest);
  if (!file) return std::unexpected(file.error());
  archive::FdSink out(file->fd());
  if (auto r = snapshot::write_tree_tar(tree->path() / "root", out); !r) return r;
  return file->publish();
}

int run_build(const GlobalFlags& g, const BuildFlags& f);

}  // namespace

void add_build_command(CLI::App& app, const GlobalFlags& g, std::function<int()>& run) {
  auto f = std::make_shared<BuildFlags>();
  auto* cmd = app.add_subcommand("build", "Build an image from a Dockerfile");
  cmd->add_option("context", f->context,
                  "Build context directory; - reads a tar (or a Dockerfile) from stdin")
      ->required();
  cmd->add_option("-f,--file", f->file, "Dockerfile (default: CONTEXT/Dockerfile; - for stdin)");
  cmd->add_option("--target", f->target, "Build this stage and the stages it needs");
  cmd->add_option("--platform", f->platform,
                  "Target platform (os/arch[/variant]); default: the host's");
  cmd->add_option("--build-arg", f->build_args, "Set a build-time variable (K=V, or K to use $K)");
  cmd->add_option("-t,--tag", f->tags, "Name the result in the store (repeatable)");
  cmd->add_option("--label", f->labels, "Set a label of the image (K=V, repeatable)");
  cmd->add_option("-o,--output", f->outputs,
                  "type=oci|docker,dest=FILE.tar or type=local,dest=DIR");
  cmd->add_option("--network", f->network, "Network for RUN steps: host (default) or none")
      ->check(CLI::IsMember({"host", "none", "default"}));
  cmd->add_option("--progress", f->progress, "auto, plain, tty or quiet")
      ->check(CLI::IsMember({"auto", "plain", "tty", "quiet"}));
  cmd->add_option("--jobs", f->jobs, "Stages built at once (default: the number of cores)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--no-cache", f->no_cache, "Run every step; still record the results");
  cmd->add_flag("--push", f->push, "Push the image to the registry each -t names");
  cmd->add_flag("--pull", f->pull,
                "Resolve FROM images in their registry again (default: use the store's copy)");
  cmd->add_option("--no-cache-filter", f->no_cache_filter,
                  "Run every step of these stages (repeatable)");
  cmd->add_flag("--normalize-permissions", f->normalize_permissions,
                "Ignore group/other write bits of copied files (runners with different umasks "
                "share a cache)");
  cmd->add_option("--secret", f->secrets,
                  "A secret for RUN --mount=type=secret: id=ID,src=FILE or id=ID,env=VARIABLE");
  cmd->add_option("--ssh", f->ssh,
                  "An SSH agent for RUN --mount=type=ssh: default (the agent at $SSH_AUTH_SOCK) "
                  "or ID=SOCKET");
  cmd->add_option("--cache-to", f->cache_to,
                  "Export the build cache: type=local,dest=DIR or type=archive,dest=FILE.tar.zst "
                  "[,mode=min|max][,mounts=true][,reset=true]");
  cmd->add_option("--cache-from", f->cache_from,
                  "Import a build cache first: type=local,src=DIR or type=archive,src=FILE "
                  "(repeatable; a missing source is a warning)");
  cmd->add_option("--allow", f->allow,
                  "Grant an entitlement: security.insecure (RUN --security=insecure) or "
                  "network.host (always granted: RUN uses the host network by default)");
  cmd->add_option("--shm-size", f->shm_size, "Size of /dev/shm in RUN steps (default 64m)");
  cmd->add_option("--ulimit", f->ulimits,
                  "A resource limit of RUN steps: NAME=SOFT[:HARD] (repeatable)");
  cmd->add_flag("--dry-run", f->dry_run, "Print the resolved plan; build nothing");
  cmd->add_option(
      "--call", f->call,
      "build (default), or check[,format=json]: run the Dockerfile's checks (BuildKit's "
      "lint rules) on every stage, or on --target's; build nothing");
  cmd->add_flag("--check", f->check, "The same as --call check");
  cmd->add_option("--build-context", f->build_contexts,
                  "NAME=VALUE: a stage or image of that name replaced by a directory, "
                  "docker-image://REF, an http(s) URL or a git repository (repeatable)");
  cmd->add_option("--format", f->format, "Plan format for --dry-run")
      ->check(CLI::IsMember({"text", "json"}));
  cmd->callback([&g, &run, f] { run = [&g, f] { return run_build(g, *f); }; });
}

namespace {

int run_build(const GlobalFlags& g, const BuildFlags& f) {
  if (f.progress == "tty")
    return report(Error{Errc::invalid_argument,
                        "--progress tty: the live display (a line per running step, redrawn in "
                        "place) is not built yet; use --progress auto (transfers shown in place "
                        "on a terminal) or --progress plain (a log without escape codes)"});
  std::vector<Output> outputs;
  for (const auto& o : f.outputs) {
    auto parsed = parse_output(o);
    if (!parsed) return report(parsed.error());
    outputs.push_back(*parsed);
  }
  std::optional<RemoteContext> remote;
  if (is_remote_context(f.context)) {
    if (f.context == "-" && f.file == "-")
      return report(Error{Errc::invalid_argument,
                          "the context and the Dockerfile cannot both come from standard input"});
    auto in = open_remote_context(f.context);
    if (!in) return report(in.error());
    remote.emplace(std::move(*in));
  }
  fs::path context = remote ? remote->root : fs::path(f.context);
  // A remote context's -f names a file in it, as buildx reads it.
  fs::path dockerfile_path = f.file.empty() ? context / "Dockerfile"
                             : remote && fs::path(f.file).is_relative() && f.file != "-"
                                 ? context / f.file
                                 : fs::path(f.file);
  std::string display = f.file.empty() ? "Dockerfile" : f.file;
  std::error_code ec;
  if (f.file.empty() && !fs::exists(dockerfile_path, ec) &&
      fs::exists(context / "dockerfile", ec)) {
    dockerfile_path = context / "dockerfile";  // as docker and BuildKit fall back to it
    display = "dockerfile";
  }

  std::string text;
  if (remote && remote->dockerfile && (f.file.empty() || f.context != "-")) {
    text = *remote->dockerfile;  // a URL's Dockerfile whatever -f names, as BuildKit
    display = "Dockerfile";
  } else if (f.file == "-") {
    auto t = os::read_fd(STDIN_FILENO, "the Dockerfile on standard input", kMaxInputFile);
    if (!t) return report(t.error());
    text = std::move(*t);
    display = "Dockerfile";
  } else {
    auto t = read_input_file(dockerfile_path);
    if (!t) return report(t.error());
    text = std::move(*t);
  }

  auto call = parse_call(f.check ? "check" : f.call);
  if (!call) return report(call.error());

  frontend::PlanOptions opts;
  opts.target = f.target;
  for (const auto& l : f.labels) {
    size_t eq = l.find('=');
    if (eq == 0)
      return report(Error{Errc::invalid_argument,
                          fmt::format("invalid --label \"{}\": the name is empty", l)});
    opts.labels[l.substr(0, eq)] = eq == std::string::npos ? "" : l.substr(eq + 1);
  }
  for (const auto& a : f.allow) {
    if (a == "security.insecure")
      opts.allow_insecure = true;
    else if (a != "network.host")
      return report(Error{Errc::invalid_argument,
                          fmt::format("--allow {}: unknown entitlement (security.insecure or "
                                      "network.host)",
                                      a)});
  }
  if (!f.platform.empty()) {
    auto p = oci::parse_platform(f.platform);
    if (!p) return report(p.error());
    opts.platform = *p;
  }
  for (const auto& a : f.build_args) {
    size_t eq = a.find('=');
    if (eq == 0)
      return report(Error{Errc::invalid_argument,
                          fmt::format("invalid --build-arg \"{}\": the name is empty", a)});
    if (eq == std::string::npos) {
      // As docker does: --build-arg NAME takes the value from the environment.
      if (const char* v = std::getenv(a.c_str())) opts.build_args.emplace_back(a, v);
      continue;
    }
    opts.build_args.emplace_back(a.substr(0, eq), a.substr(eq + 1));
  }
  // SOURCE_DATE_EPOCH from the environment is a build arg, as buildx passes it.
  if (const char* e = std::getenv("SOURCE_DATE_EPOCH");
      e && std::none_of(opts.build_args.begin(), opts.build_args.end(),
                        [](const auto& kv) { return kv.first == "SOURCE_DATE_EPOCH"; }))
    opts.build_args.emplace_back("SOURCE_DATE_EPOCH", e);

  auto named = BuildContexts::open(f.build_contexts);
  if (!named) return report(named.error());
  opts.named_contexts = named->for_plan;
  // The image each oci-layout context names: from the layout's index, or
  // imported into `store` first.
  auto resolve_layouts = [&](store::Store* store) -> Result<void> {
    auto images = named->resolve_layouts(store);
    if (!images) return std::unexpected(images.error());
    for (const auto& [name, nc] : *images) opts.named_contexts[name] = nc;
    return {};
  };

  auto forced = forced_lint_config(opts.build_args);
  if (!forced) return report(forced.error());
  dockerfile::Linter lint(*forced);
  opts.lint = &lint;
  opts.all_stages = call->check && f.target.empty();
  // A check prints what it found, the error too; a build prints the
  // warnings before it goes on or fails.
  auto lint_done = [&](const std::optional<Error>& error) {
    if (call->check) {
      auto source = dockerfile::SourceText::from(text, display);
      std::optional<std::string> message;
      if (error) message = error->message;
      std::cout << (call->json ? check_json(lint, source, message) + "\n"
                               : check_text(lint, source, message));
      return error || !lint.warnings().empty() ? 1 : 0;
    }
    std::cerr << lint_warning_lines(lint);
    return error ? report(*error) : 0;
  };
  auto df = dockerfile::read_dockerfile(text, display, &lint);
  if (!df) return lint_done(df.error());

  fs::path ignore_path = f.file == "-" ? context / ".dockerignore"
                                       : frontend::find_ignore_file(dockerfile_path, context);
  dockerfile::IgnoreMatcher ignore;
  if (!ignore_path.empty() && fs::exists(ignore_path, ec)) {
    auto t = read_input_file(ignore_path);
    if (!t) return report(t.error());
    auto m = dockerfile::IgnoreMatcher::parse(*t, ignore_path.filename().string());
    if (!m) return report(m.error());
    ignore = std::move(*m);
  }
  opts.ignore = &ignore;
  if (!fs::is_directory(context, ec)) {
    return report(Error{Errc::not_found,
                        fmt::format("build context {} is not a directory", context.string())});
  }
  if (f.dry_run && !call->check) {
    if (auto r = resolve_layouts(nullptr); !r) return report(r.error());
    // The plan lists the files each COPY selects; a real build selects them
    // as it copies (and hashes them for the cache), so it skips this walk.
    auto ctx = frontend::BuildContext::open(context, ignore);
    if (!ctx) return report(ctx.error());
    opts.context = &*ctx;
    auto plan = frontend::make_plan(*df, opts);
    if (!plan) return lint_done(plan.error());
    lint_done(std::nullopt);
    if (auto epoch = resolve_source_date_epoch(
            plan->source_date_epoch, *df,
            remote && plan->source_date_epoch == "context" ? remote->time() : std::nullopt);
        !epoch)
      return report(epoch.error());
    for (const auto& w : plan->warnings) std::cerr << "warning: " << w << "\n";
    if (f.format == "json") {
      std::cout << frontend::plan_to_json_text(*plan) << "\n";
    } else {
      std::cout << frontend::plan_to_text(*plan);
    }
    return 0;
  }

  bool quiet = f.progress == "quiet";
  Display transfers = f.progress == "plain" ? Display::plain : Display::auto_;
  std::vector<oci::Reference> push_to;
  if (f.push) {
    for (const auto& t : f.tags) {
      if (!oci::names_registry(t)) continue;
      auto ref = oci::parse_reference(t);
      if (!ref) return report(ref.error().with_context("-t " + t));
      push_to.push_back(*ref);
    }
    if (push_to.empty())
      return report(Error{Errc::invalid_argument,
                          "--push needs a -t that names a registry (HOST[:PORT]/NAME[:TAG])"});
  }
  auto store = open_store(g);
  if (!store) return report(store.error());
  // Nothing this build uses may be collected while it runs.
  auto lease = store::Lease::take(*store, false);
  if (!lease) return report(lease.error());
  if (auto r = resolve_layouts(&*store); !r) return report(r.error());
  images::PullOptions pulling = pull_options(g);
  if (quiet) {
    pulling.log = {};
    store->set_blob_fetcher(images::registry_fetcher(pulling));  // layers fetched silently
  }
  std::set<std::string> refreshed;
  opts.base_config = [&](const std::string& ref,
                         const std::string&) -> Result<frontend::ImageConfig> {
    auto img = images::find_or_pull(*store, ref, pulling, f.pull && refreshed.insert(ref).second);
    if (!img) return std::unexpected(img.error());
    return builder::to_frontend_config(img->config);
  };
  auto plan = frontend::make_plan(*df, opts);
  if (!plan || call->check) return lint_done(plan ? std::nullopt : std::optional(plan.error()));
  lint_done(std::nullopt);
  auto runtime = exec::choose_runtime(g.runtime);
  if (!runtime) return report(runtime.error());
  runtime->tmp_dir = store->tmp_dir();
  auto epoch = resolve_source_date_epoch(
      plan->source_date_epoch, *df,
      remote && plan->source_date_epoch == "context" ? remote->time() : std::nullopt);
  if (!epoch) return report(epoch.error());
  if (plan->source_date_epoch == "context") {
    // The ARG SOURCE_DATE_EPOCH of the stages sees what it resolved to
    // (its warnings were printed once already).
    dockerfile::Linter again(*forced);
    opts.lint = &again;
    std::erase_if(opts.build_args, [](const auto& kv) { return kv.first == "SOURCE_DATE_EPOCH"; });
    opts.build_args.emplace_back("SOURCE_DATE_EPOCH", *epoch ? std::to_string(**epoch) : "");
    plan = frontend::make_plan(*df, opts);
    opts.lint = nullptr;
    if (!plan) return report(plan.error());
  }
  for (const auto& w : plan->warnings) std::cerr << "warning: " << w << "\n";
  std::vector<CacheSpec> cache_to;
  for (const auto& s : f.cache_to) {
    auto c = parse_cache_spec("--cache-to", s);
    if (!c) return report(c.error());
    cache_to.push_back(std::move(*c));
  }
  // Cache sources, in order; one that fails is a warning, not a failed build.
  for (const auto& s : f.cache_from) {
    auto c = parse_cache_spec("--cache-from", s);
    if (!c) return report(c.error());
    auto got = c->type == "registry"
                   ? cache::import_registry_cache(*store, c->ref, pulling.client)
                   : cache::import_cache(*store, c->path);
    if (!got) {
      std::cerr << "warning: --cache-from " << s << ": " << got.error().message << "\n";
      continue;
    }
    if (!quiet)
      std::cerr << fmt::format("imported {} cache records, {} blobs ({} B){} from {}\n",
                               got->records, got->blobs_copied, got->bytes_copied,
                               got->mounts ? fmt::format(", {} cache mounts", got->mounts) : "",
                               c->path);
  }

  builder::BuildOptions bo;
  bo.context =
      fs::absolute(context).lexically_normal();  // the stat cache is keyed by absolute path
  bo.ignore = &ignore;
  bo.named_contexts = named->dirs;
  bo.runtime = *runtime;
  bo.no_cache = f.no_cache;
  for (const auto& s : f.no_cache_filter) bo.no_cache_stages.insert(to_lower(s));
  bo.normalize_permissions = f.normalize_permissions;
  if (!f.shm_size.empty()) {
    auto n = dockerfile::parse_ram_size(f.shm_size);
    if (!n || *n == 0)
      return report(
          Error{Errc::invalid_argument,
                fmt::format("--shm-size {}: not a size (bytes, or 64m, 1g, ...)", f.shm_size)});
    bo.shm_size = *n;
  }
  for (const auto& u : f.ulimits) {
    auto limit = exec::parse_ulimit(u);
    if (!limit) return report(limit.error());
    std::erase_if(bo.ulimits, [&](const exec::Ulimit& o) { return o.name == limit->name; });
    bo.ulimits.push_back(*limit);
  }
  for (const auto& s : f.secrets) {
    auto secret = parse_secret(s);
    if (!secret) return report(secret.error());
    bo.secrets[secret->first] = secret->second;
  }
  for (const auto& s : f.ssh) {
    auto agent = parse_ssh(s);
    if (!agent) return report(agent.error());
    bo.ssh[agent->first] = agent->second;
  }
  // An escape hatch: every COPY through an overlay, as before copy_direct.
  if (const char* e = std::getenv("STRATA_COPY_OVERLAY"); e && std::string(e) == "1")
    bo.direct_copy = false;
  bo.build_name =
      fmt::format("{}#{}",
                  remote          ? f.context
                  : f.file == "-" ? (fs::absolute(context, ec) / "-").string()
                                  : fs::absolute(dockerfile_path, ec).lexically_normal().string(),
                  plan->target);
  bo.jobs =
      f.jobs > 0 ? f.jobs : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  bo.network = f.network == "none" ? "none" : "host";
  bo.pull = pulling;
  bo.log = [quiet](const std::string& line) {
    if (!quiet) std::cerr << line << "\n";
  };
  bo.source_date_epoch = *epoch;
  os::install_interrupt_handler();
  auto start = std::chrono::steady_clock::now();
  auto result = builder::build(*plan, *store, bo);
  if (!result) return report(result.error());
  const images::StoredImage* image = &result->image;
  for (const auto& t : f.tags) {
    if (auto r = store->tag(t, image->manifest_desc); !r) return report(r.error());
  }
  for (const auto& o : outputs) {
    Result<void> r;
    if (o.type == "local") {
      auto root = builder::Rootfs::mount(*store, image->layers, false);
      if (!root) return report(root.error());
      snapshot::LowerView layers(root->lowers());
      r = builder::copy_tree(root->path(), o.dest, &layers);
    } else if (o.type == "tar") {
      r = write_root_tar(*store, image->layers, o.dest);
    } else {
      auto layers = exporter::with_compression(*store, *image, result->base_layers, o.compression);
      if (!layers) return report(layers.error().with_context("--output " + o.dest));
      exporter::ArchiveOptions ao;
      ao.compression = exporter::compression_for(o.dest);
      std::optional<Progress> progress;
      if (!quiet) {
        progress.emplace("writing " + o.dest, transfers);
        ao.progress = [&](uint64_t done, uint64_t total) { progress->update(done, total); };
      }
      r = exporter::write_image_archive(*store, {{*layers, f.tags}}, o.dest, ao);
      if (r && progress) progress->finish();
    }
    if (!r) return report(r.error().with_context("writing --output " + o.dest));
  }
  for (const auto& ref : push_to) {
    std::optional<Progress> progress;
    std::function<void(uint64_t, uint64_t)> report_bytes;
    if (!quiet) {
      progress.emplace("pushing " + ref.str(), transfers);
      report_bytes = [&](uint64_t done, uint64_t total) { progress->update(done, total); };
    }
    auto pushed = images::push_image(*store, *image, ref, pulling.client, bo.log, report_bytes);
    if (!pushed) return report(pushed.error());
    if (progress) progress->finish();
    if (!quiet) std::cerr << fmt::format("pushed {} ({})\n", ref.str(), pushed->digest);
  }
  for (const auto& c : cache_to) {
    cache::CacheExportOptions eo = c.opts;
    std::optional<Progress> progress;
    if (!quiet) {
      progress.emplace("exporting the cache to " + c.path, transfers);
      eo.progress = [&](uint64_t done, uint64_t total) { progress->update(done, total); };
    }
    const auto& keys = c.max ? result->keys : result->image_keys;
    Result<cache::CacheTransferStats> done;
    if (c.type == "registry") {
      cache::RegistryCacheOptions ro;
      ro.client = pulling.client;
      ro.compression = c.opts.compression;
      ro.mounts = c.opts.mounts;
      ro.log = bo.log;
      ro.progress = eo.progress;
      done = cache::export_registry_cache(*store, keys, c.ref, ro);
    } else {
      done = cache::export_cache(*store, keys, c.path, eo);
    }
    if (!done) return report(done.error().with_context("--cache-to " + c.path));
    if (progress) progress->finish();
    if (!quiet)
      std::cerr << fmt::format("exported {} cache records to {}: {} new blobs, {} B{}\n",
                               done->records, c.path, done->blobs_copied, done->bytes_copied,
                               done->mounts ? fmt::format(", {} cache mounts", done->mounts) : "");
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!quiet) {
    std::cerr << fmt::format("built {} in {:.3f}s (running containers {:.3f}s){}\n",
                             image->manifest_desc.digest, secs, result->container_seconds,
                             f.tags.empty() ? "" : " as " + join(f.tags, ", "));
  }
  bool tar_on_stdout =
      std::any_of(outputs.begin(), outputs.end(), [](const Output& o) { return o.dest == "-"; });
  if (!tar_on_stdout) std::cout << image->manifest_desc.digest << "\n";
  lease->reset();
  // The automatic policy: past STRATA_GC_KEEP_STORAGE, evict least recently
  // used records (skipped while other builds hold the store).
  if (const char* limit = std::getenv("STRATA_GC_KEEP_STORAGE"); limit && *limit) {
    auto bytes = store::parse_size(limit);
    if (!bytes)
      return report(Error{Errc::invalid_argument,
                          fmt::format("STRATA_GC_KEEP_STORAGE={}: not a size", limit)});
    auto usage = store::disk_usage(*store);
    if (usage && usage->layers + usage->snapshots + usage->unreferenced > *bytes) {
      auto gc_lease = store::Lease::take(*store, true, false);
      if (gc_lease && *gc_lease) {
        store::PruneOptions po;
        po.keep_storage = *bytes;
        if (auto r = store::prune(*store, po); r && !quiet)
          std::cerr << fmt::format(
              "garbage collection: {} records, {} blobs, {} snapshots removed\n", r->records,
              r->blobs, r->snapshots);
      }
    }
  }
  return 0;
}

}  // namespace

}  // namespace strata::cli
