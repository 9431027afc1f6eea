#include "cli/build_command.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "archive/tree.hpp"
#include "builder/builder.hpp"
#include "builder/copy.hpp"
#include "builder/image_config.hpp"
#include "builder/rootfs.hpp"
#include "cache/local_cache.hpp"
#include "cache/registry_cache.hpp"
#include "cli/build_display.hpp"
#include "cli/build_flags.hpp"
#include "cli/build_trace.hpp"
#include "cli/lint_report.hpp"
#include "cli/remote_context.hpp"
#include "dockerfile/instructions.hpp"
#include "dockerfile/mount.hpp"
#include "exec/runtime.hpp"
#include "export/convert.hpp"
#include "export/image_archive.hpp"
#include "frontend/context.hpp"
#include "frontend/plan.hpp"
#include "frontend/plan_format.hpp"
#include "images/push.hpp"
#include "os/fs.hpp"
#include "os/process.hpp"
#include "snapshot/layer.hpp"
#include "snapshot/lower_view.hpp"
#include "solver/step_cache.hpp"
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
  auto root = TRY_VALUE(builder::Rootfs::mount(store, layers, false));
  auto tree = TRY_VALUE(os::TempDir::create(store.tmp_dir(), "tar-output-"));
  snapshot::LowerView view(root.lowers());
  if (auto r = builder::copy_tree(root.path(), tree.path() / "root", &view); !r) return r;
  if (dest == "-") {
    archive::FdSink out(STDOUT_FILENO);
    return snapshot::write_tree_tar(tree.path() / "root", out);
  }
  auto file = TRY_VALUE(os::NewFile::create(dest));
  archive::FdSink out(file.fd());
  if (auto r = snapshot::write_tree_tar(tree.path() / "root", out); !r) return r;
  return file.publish();
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
                  "type=oci|docker,dest=FILE.tar, type=local,dest=DIR, type=tar,dest=FILE|-, or "
                  "type=docker|image (no dest): into the docker daemon");
  cmd->add_flag("--load", f->load,
                "Load the image into the docker daemon at $DOCKER_HOST (--output type=docker)");
  cmd->add_option("--network", f->network, "Network for RUN steps: host (default) or none")
      ->check(CLI::IsMember({"host", "none", "default"}));
  cmd->add_option("--progress", f->progress,
                  "auto, plain, rawjson (BuildKit's SolveStatus JSON, a line each), tty, quiet "
                  "or none (the same as quiet)")
      ->check(CLI::IsMember({"auto", "plain", "rawjson", "tty", "quiet", "none"}));
  cmd->add_flag_callback(
      "-q,--quiet", [f] { f->progress = "quiet"; }, "No build output; the digest on stdout");
  cmd->add_option("--iidfile", f->iidfile, "Write the image id (its config digest) to this file");
  cmd->add_option("--trace", f->trace,
                  "Write the build as Chrome trace events (Perfetto, chrome://tracing): a track "
                  "per stage, a slice per step, the transfers");
  cmd->add_option("--metadata-file", f->metadata_file,
                  "Write what was built as JSON (containerimage.digest, "
                  "containerimage.config.digest, containerimage.descriptor, image.name, "
                  "buildx.build.ref)");
  cmd->add_option("--builder", f->builder,
                  "Accepted for docker buildx's scripts: strata builds in its store whatever "
                  "the name");
  cmd->add_option("--cgroup-parent", f->cgroup_parent, "Accepted and ignored (said on stderr)");
  cmd->add_option("--provenance", f->provenance, "false only: strata writes no attestation yet");
  cmd->add_option("--sbom", f->sbom, "false only: strata writes no attestation yet");
  cmd->add_option("--attest", f->attest, "type=...,disabled=true only (repeatable)");
  cmd->add_option("--jobs", f->jobs, "Stages built at once (default: the number of cores)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--no-cache", f->no_cache, "Run every step; still record the results");
  cmd->add_flag("--incremental,!--no-incremental", f->incremental,
                "Let RUNs marked # strata:incremental run on top of their earlier result when "
                "they miss (default true; --incremental=false or --no-incremental: build them, "
                "and what they made incrementally, from scratch)");
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
                  "Export the build cache: type=local,dest=DIR, type=archive,dest=FILE.tar.zst "
                  "or type=registry,ref=REF (or REF alone) [,mode=min|max][,mounts=true]"
                  "[,reset=true]");
  cmd->add_option("--cache-from", f->cache_from,
                  "Import a build cache first: type=local,src=DIR, type=archive,src=FILE or "
                  "type=registry,ref=REF (or REF alone) (repeatable; a missing source is a "
                  "warning)");
  cmd->add_option("--allow", f->allow,
                  "Grant an entitlement: security.insecure (RUN --security=insecure) or "
                  "network.host (always granted: RUN uses the host network by default)");
  cmd->add_option("--shm-size", f->shm_size, "Size of /dev/shm in RUN steps (default 64m)");
  cmd->add_option("--annotation", f->annotations,
                  "An annotation of the image manifest: [manifest:]KEY=VALUE (repeatable)");
  cmd->add_option("--add-host", f->add_hosts,
                  "A line of /etc/hosts in RUN steps: NAME:IP (repeatable)");
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

// One `strata build`, phase by phase: read the Dockerfile, set the plan's
// options, plan (or check, or a dry run), import caches, set the build's
// options, build, deliver (tags, outputs, pushes, cache exports), collect
// garbage. Each phase reads what the earlier ones left in the members.
class BuildCommand {
 public:
  BuildCommand(const GlobalFlags& g, const BuildFlags& f) : g_(g), f_(f) {}

  int run() {
    auto shown = make_build_display(f_.progress, std::cerr, ::isatty(STDERR_FILENO) == 1);
    if (!shown) return report(shown.error());
    build_display_ = std::move(*shown);
    if (!f_.trace.empty()) {
      auto tracing = std::make_unique<TracingDisplay>(std::move(build_display_));
      tracing_ = tracing.get();
      build_display_ = std::move(tracing);
    }
    if (auto r = check_attestations(f_.provenance, f_.sbom, f_.attest); !r)
      return report(r.error());
    note_ignored_flags();
    if (auto r = read_inputs(); !r) return report(r.error());
    if (auto r = set_plan_options(); !r) return report(r.error());
    auto df = dockerfile::read_dockerfile(text_, display_, &*lint_);
    if (!df) return lint_done(df.error());
    df_.emplace(std::move(*df));
    if (auto r = read_ignore_file(); !r) return report(r.error());
    if (f_.dry_run && !call_.check) return dry_run();
    if (auto r = open_store(); !r) return report(r.error());
    auto plan = frontend::make_plan(*df_, opts_);
    if (!plan || call_.check) return lint_done(plan ? std::nullopt : std::optional(plan.error()));
    lint_done(std::nullopt);
    plan_ = std::move(*plan);
    if (auto r = resolve_epoch(); !r) return report(r.error());
    for (const auto& w : plan_->warnings) build_display_->warning(w);
    if (auto r = import_caches(); !r) return report(r.error());
    os::install_interrupt_handler();
    auto start = std::chrono::steady_clock::now();
    if (platforms_.size() > 1) return build_platforms(start);
    auto bo = build_options();
    if (!bo) return report(bo.error());
    auto result = builder::build(*plan_, *store_, *bo);
    if (!result) return report(result.error());
    if (auto r = note_build_cache(*result); !r) return report(r.error());
    if (auto r = deliver(*result); !r) return report(r.error());
    if (auto r =
            write_build_files(result->image.manifest_desc, result->image.manifest.config.digest);
        !r)
      return report(r.error());
    if (auto r = write_trace(result->records); !r) return report(r.error());
    const auto& image = result->image;
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    build_display_->message(fmt::format("built {} in {:.3f}s (running containers {:.3f}s){}",
                                        image.manifest_desc.digest, secs, result->container_seconds,
                                        f_.tags.empty() ? "" : " as " + join(f_.tags, ", ")));
    bool tar_on_stdout = std::any_of(outputs_.begin(), outputs_.end(),
                                     [](const Output& o) { return o.dest == "-"; });
    build_display_->close();
    if (!tar_on_stdout) std::cout << image.manifest_desc.digest << "\n";
    lease_.reset();
    if (auto r = collect_garbage(); !r) return report(r.error());
    return 0;
  }

 private:
  // An error, said once the display has put down what it shows.
  int report(const Error& e) {
    if (build_display_) build_display_->close();
    return cli::report(e);
  }

  bool quiet() const { return f_.progress == "quiet" || f_.progress == "none"; }

  // --platform a,b: the target planned for each platform in turn, then
  // built for all at once (the cores shared out; a step the platforms share,
  // such as one of a FROM --platform=$BUILDPLATFORM stage, runs once), then
  // one index of the images, which the tags name and --push pushes whole.
  int build_platforms(std::chrono::steady_clock::time_point start) {
    for (const auto& o : outputs_)  // said before anything is built
      if (o.into_docker() || o.type == "tar")
        return report(Error{
            Errc::invalid_argument,
            fmt::format("{}: takes one platform's image; with --platform {} strata can tag (-t), "
                        "push (--push) or write (--output type=oci|docker|local) the whole, or "
                        "build each platform on its own",
                        o.into_docker() ? "--load" : "--output type=tar", f_.platform)});
    size_t n = platforms_.size();
    std::vector<frontend::Plan> plans;
    std::vector<builder::BuildOptions> options;
    auto running = std::make_shared<solver::RunningSteps>();
    auto stop = std::make_shared<std::atomic<bool>>(false);  // one failed: the others stop
    for (size_t i = 0; i < n; ++i) {
      if (i > 0) {
        opts_.platform = platforms_[i];
        opts_.lint = nullptr;  // the file's checks were reported once
        auto plan = frontend::make_plan(*df_, opts_);
        if (!plan) return report(plan.error().with_context(platforms_[i].str()));
        plan_ = std::move(*plan);
        if (auto r = resolve_epoch(); !r) return report(r.error());
      }
      auto bo = build_options();
      if (!bo) return report(bo.error());
      bo->label = platforms_[i].str();
      bo->build_name += " " + bo->label;  // each platform's last build, for the next one's reasons
      bo->running_steps = running;
      bo->stop = stop;
      bo->jobs = std::max(1, bo->jobs / static_cast<int>(n));  // the display takes any thread's
      plans.push_back(*plan_);
      options.push_back(std::move(*bo));
    }
    std::vector<Result<builder::BuildResult>> built_results(
        n, Result<builder::BuildResult>(std::unexpected(Error{Errc::internal, "not built"})));
    std::atomic<size_t> failed{n};  // the first build that failed
    {
      std::vector<std::jthread> builds;
      for (size_t i = 0; i < n; ++i)
        builds.emplace_back([&, i] {
          built_results[i] = builder::build(plans[i], *store_, options[i]);
          size_t none = n;
          if (!built_results[i] && failed.compare_exchange_strong(none, i)) *stop = true;
        });
    }
    if (failed < n)
      return report(built_results[failed].error().with_context(platforms_[failed].str()));
    std::vector<builder::BuildResult> results;
    double containers = 0;
    for (size_t i = 0; i < n; ++i) {
      auto& result = built_results[i];
      if (auto r = note_build_cache(*result); !r) return report(r.error());
      containers += result->container_seconds;
      results.push_back(std::move(*result));
    }
    std::vector<images::StoredImage> built;
    for (const auto& r : results) built.push_back(r.image);
    auto index = put_index(built);
    if (!index) return report(index.error());
    if (auto r = deliver_index(*index, results); !r) return report(r.error());
    if (auto r = write_build_files(*index, ""); !r) return report(r.error());
    std::vector<solver::StepRecord> records;
    for (const auto& r : results) records.insert(records.end(), r.records.begin(), r.records.end());
    if (auto r = write_trace(records); !r) return report(r.error());
    std::vector<std::string> names;
    for (const auto& p : platforms_) names.push_back(p.str());
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    build_display_->message(fmt::format("built {} for {} in {:.3f}s (running containers {:.3f}s){}",
                                        index->digest, join(names, ", "), secs, containers,
                                        f_.tags.empty() ? "" : " as " + join(f_.tags, ", ")));
    build_display_->close();
    std::cout << index->digest << "\n";
    lease_.reset();
    if (auto r = collect_garbage(); !r) return report(r.error());
    return 0;
  }

  // The index of a multi-platform build's images (in platforms_' order),
  // in the store.
  Result<oci::Descriptor> put_index(const std::vector<images::StoredImage>& images) {
    nlohmann::json manifests = nlohmann::json::array();
    for (size_t i = 0; i < images.size(); ++i) {
      const auto& d = images[i].manifest_desc;
      nlohmann::json platform = {{"architecture", platforms_[i].arch}, {"os", platforms_[i].os}};
      if (!platforms_[i].variant.empty()) platform["variant"] = platforms_[i].variant;
      manifests.push_back({{"mediaType", d.media_type},
                           {"digest", d.digest},
                           {"size", d.size},
                           {"platform", platform}});
    }
    nlohmann::json index = {
        {"schemaVersion", 2}, {"mediaType", oci::kIndex}, {"manifests", manifests}};
    return store_->put_blob(oci::canonical(index), oci::kIndex);
  }

  // Tags, --output, --push and --cache-to for an index (the docker daemon
  // cannot take one: build_platforms refused --load).
  Result<void> deliver_index(const oci::Descriptor& index,
                             const std::vector<builder::BuildResult>& results) {
    auto log = messages();
    for (const auto& t : f_.tags) TRY(store_->tag(t, index));
    // The steps of every platform's build.
    builder::BuildResult all;
    for (const auto& r : results) {
      all.keys.insert(all.keys.end(), r.keys.begin(), r.keys.end());
      all.image_keys.insert(all.image_keys.end(), r.image_keys.begin(), r.image_keys.end());
    }
    for (const auto& o : outputs_)
      if (auto r = write_index_output(results, all, o); !r)
        return std::unexpected(r.error().with_context("writing --output " + o.dest));
    for (const auto& ref : push_to_)
      TRY(push_shown(ref, [&](const images::ProgressFn& bytes) {
        return images::push_index(*store_, index, ref, pulling_.client, log, bytes);
      }));
    return export_caches(all, log);
  }

  // Every --cache-to but inline (in each image already).
  Result<void> export_caches(const builder::BuildResult& steps,
                             const std::function<void(const std::string&)>& log) {
    for (const auto& c : cache_to_) {
      if (c.type == "inline") continue;
      if (auto r = export_cache(steps, c, log); !r)
        return std::unexpected(r.error().with_context("--cache-to " + c.path));
    }
    return {};
  }

  // --output of a multi-platform build: type=local a directory per platform
  // (linux_arm64, as buildx names them), an archive or layout the index and
  // every platform's image (an index of its own when the output's
  // compression differs from the images').
  Result<void> write_index_output(const std::vector<builder::BuildResult>& results,
                                  const builder::BuildResult& steps, const Output& o) {
    if (o.type == "image") return {};  // push=true: pushed with the others
    if (o.type == "local") {
      for (size_t i = 0; i < results.size(); ++i) {
        std::string dir = platforms_[i].os + "_" + platforms_[i].arch +
                          (platforms_[i].variant.empty() ? "" : "_" + platforms_[i].variant);
        auto root = TRY_VALUE(builder::Rootfs::mount(*store_, results[i].image.layers, false));
        snapshot::LowerView layers(root.lowers());
        TRY(builder::copy_tree(root.path(), fs::path(o.dest) / dir, &layers));
      }
      return {};
    }
    std::vector<images::StoredImage> converted;
    for (const auto& r : results)
      converted.push_back(
          TRY_VALUE(exporter::with_compression(*store_, r.image, r.base_layers, o.compression)));
    auto index = TRY_VALUE(put_index(converted));
    return write_image_output({std::move(converted), f_.tags, index}, steps, o);
  }

  // A push with its bytes shown and its digest said.
  Result<void> push_shown(
      const oci::Reference& ref,
      const std::function<Result<images::PushStats>(const images::ProgressFn&)>& push) {
    auto shown = progress("pushing " + ref.str());
    images::ProgressFn bytes;
    if (shown) bytes = [&](uint64_t done, uint64_t total) { shown->update(done, total); };
    auto pushed = TRY_VALUE(push(bytes));
    if (shown) shown->finish();
    build_display_->message(fmt::format("pushed {} ({})", ref.str(), pushed.digest));
    return {};
  }

  // Where the lines of pulls, pushes and exports go.
  std::function<void(const std::string&)> messages() const {
    if (quiet()) return {};
    return [d = build_display_.get()](const std::string& line) { d->message(line); };
  }

  // Flags docker buildx takes that mean nothing to strata: said once.
  void note_ignored_flags() const {
    if (!f_.builder.empty())
      std::cerr << fmt::format("note: --builder {}: strata builds in its own store (--root)\n",
                               f_.builder);
    if (!f_.cgroup_parent.empty())
      std::cerr << fmt::format(
          "note: --cgroup-parent {}: ignored (each RUN step has a cgroup of "
          "its own)\n",
          f_.cgroup_parent);
  }

  // --trace: the steps' records and the transfers the display saw.
  Result<void> write_trace(const std::vector<solver::StepRecord>& records) const {
    if (f_.trace.empty()) return {};
    auto spans = spans_of_records(records);
    auto more = tracing_->spans();
    spans.insert(spans.end(), more.begin(), more.end());
    return os::write_file_atomic(f_.trace, chrome_trace(spans));
  }

  // --iidfile and --metadata-file, as buildx writes them: of an image (its
  // config digest is the image id), or of an index (no config: the index's
  // digest).
  Result<void> write_build_files(const oci::Descriptor& built,
                                 const std::string& config_digest) const {
    if (!f_.iidfile.empty())
      TRY(os::write_file_atomic(f_.iidfile, config_digest.empty() ? built.digest : config_digest));
    if (f_.metadata_file.empty()) return {};
    std::vector<std::string> names;
    for (const auto& t : f_.tags) {  // in full, as BuildKit writes them
      auto ref = oci::parse_reference(t);
      names.push_back(ref ? ref->str() : t);
    }
    nlohmann::json meta = {
        {"containerimage.digest", built.digest},
        {"containerimage.descriptor",
         {{"mediaType", built.media_type}, {"digest", built.digest}, {"size", built.size}}},
        {"buildx.build.ref", fmt::format("strata/{}/{}", ::getpid(), std::time(nullptr))}};
    if (!config_digest.empty()) meta["containerimage.config.digest"] = config_digest;
    if (!names.empty()) meta["image.name"] = join(names, ",");
    return os::write_file_atomic(f_.metadata_file, meta.dump(2) + "\n");
  }

  // --output, the context (a directory, standard input, a URL or a git
  // repository) and the Dockerfile's text.
  Result<void> read_inputs() {
    for (const auto& o : f_.outputs) outputs_.push_back(TRY_VALUE(parse_output(o)));
    if (f_.load) outputs_.push_back(TRY_VALUE(parse_output("type=docker")));
    if (is_remote_context(f_.context)) {
      if (f_.context == "-" && f_.file == "-")
        return fail(Errc::invalid_argument,
                    "the context and the Dockerfile cannot both come from standard input");
      remote_.emplace(TRY_VALUE(open_remote_context(f_.context)));
    }
    context_ = remote_ ? remote_->root : fs::path(f_.context);
    // A remote context's -f names a file in it, as buildx reads it.
    dockerfile_path_ = f_.file.empty() ? context_ / "Dockerfile"
                       : remote_ && fs::path(f_.file).is_relative() && f_.file != "-"
                           ? context_ / f_.file
                           : fs::path(f_.file);
    display_ = f_.file.empty() ? "Dockerfile" : f_.file;
    std::error_code ec;
    if (f_.file.empty() && !fs::exists(dockerfile_path_, ec) &&
        fs::exists(context_ / "dockerfile", ec)) {
      dockerfile_path_ = context_ / "dockerfile";  // as docker and BuildKit fall back to it
      display_ = "dockerfile";
    }
    if (remote_ && remote_->dockerfile && (f_.file.empty() || f_.context != "-")) {
      text_ = *remote_->dockerfile;  // a URL's Dockerfile whatever -f names, as BuildKit
      display_ = "Dockerfile";
    } else if (f_.file == "-") {
      text_ =
          TRY_VALUE(os::read_fd(STDIN_FILENO, "the Dockerfile on standard input", kMaxInputFile));
      display_ = "Dockerfile";
    } else {
      text_ = TRY_VALUE(read_input_file(dockerfile_path_));
    }
    call_ = TRY_VALUE(parse_call(f_.check ? "check" : f_.call));
    return {};
  }

  // --target, --label, --allow, --platform, --build-arg, --build-context
  // and the build checks' configuration.
  Result<void> set_plan_options() {
    opts_.target = f_.target;
    for (const auto& l : f_.labels) {
      size_t eq = l.find('=');
      if (eq == 0)
        return fail(Errc::invalid_argument,
                    fmt::format("invalid --label \"{}\": the name is empty", l));
      opts_.labels[l.substr(0, eq)] = eq == std::string::npos ? "" : l.substr(eq + 1);
    }
    for (const auto& a : f_.allow) {
      if (a == "security.insecure")
        opts_.allow_insecure = true;
      else if (a != "network.host")
        return fail(Errc::invalid_argument,
                    fmt::format("--allow {}: unknown entitlement (security.insecure or "
                                "network.host)",
                                a));
    }
    // --platform a,b: the target built once for each, as one image index.
    for (const auto& p : split(f_.platform, ',')) {
      if (trim(p).empty()) continue;
      auto parsed = TRY_VALUE(oci::parse_platform(trim(p)));
      if (std::none_of(platforms_.begin(), platforms_.end(),
                       [&](const oci::Platform& q) { return q.str() == parsed.str(); }))
        platforms_.push_back(parsed);
    }
    if (platforms_.empty()) platforms_.push_back(opts_.platform);
    opts_.platform = platforms_.front();
    for (const auto& a : f_.build_args) {
      size_t eq = a.find('=');
      if (eq == 0)
        return fail(Errc::invalid_argument,
                    fmt::format("invalid --build-arg \"{}\": the name is empty", a));
      if (eq == std::string::npos) {
        // As docker does: --build-arg NAME takes the value from the environment.
        if (const char* v = std::getenv(a.c_str())) opts_.build_args.emplace_back(a, v);
        continue;
      }
      opts_.build_args.emplace_back(a.substr(0, eq), a.substr(eq + 1));
    }
    // SOURCE_DATE_EPOCH from the environment is a build arg, as buildx passes it.
    if (const char* e = std::getenv("SOURCE_DATE_EPOCH");
        e && std::none_of(opts_.build_args.begin(), opts_.build_args.end(),
                          [](const auto& kv) { return kv.first == "SOURCE_DATE_EPOCH"; }))
      opts_.build_args.emplace_back("SOURCE_DATE_EPOCH", e);
    named_.emplace(TRY_VALUE(BuildContexts::open(f_.build_contexts)));
    opts_.named_contexts = named_->for_plan;
    forced_lint_ = TRY_VALUE(forced_lint_config(opts_.build_args));
    lint_.emplace(forced_lint_);
    opts_.lint = &*lint_;
    opts_.all_stages = call_.check && f_.target.empty();
    return {};
  }

  // A check prints what it found, the error too; a build prints the
  // warnings before it goes on or fails. Returns the exit code.
  int lint_done(const std::optional<Error>& error) {
    if (call_.check) {
      auto source = dockerfile::SourceText::from(text_, display_);
      std::optional<std::string> message;
      if (error) message = error->message;
      std::cout << (call_.json ? check_json(*lint_, source, message) + "\n"
                               : check_text(*lint_, source, message));
      return error || !lint_->warnings().empty() ? 1 : 0;
    }
    std::cerr << lint_warning_lines(*lint_);
    return error ? report(*error) : 0;
  }

  // The .dockerignore beside the Dockerfile or in the context.
  Result<void> read_ignore_file() {
    std::error_code ec;
    fs::path path = f_.file == "-" ? context_ / ".dockerignore"
                                   : frontend::find_ignore_file(dockerfile_path_, context_);
    if (!path.empty() && fs::exists(path, ec)) {
      auto text = TRY_VALUE(read_input_file(path));
      ignore_ = TRY_VALUE(dockerfile::IgnoreMatcher::parse(text, path.filename().string()));
    }
    opts_.ignore = &ignore_;
    if (!fs::is_directory(context_, ec))
      return fail(Errc::not_found,
                  fmt::format("build context {} is not a directory", context_.string()));
    return {};
  }

  // The image each oci-layout context names: from the layout's index, or
  // imported into `store` first.
  Result<void> resolve_layouts(store::Store* store) {
    for (const auto& [name, nc] : TRY_VALUE(named_->resolve_layouts(store)))
      opts_.named_contexts[name] = nc;
    return {};
  }

  // --dry-run: the plan, without a store. It lists the files each COPY
  // selects; a real build selects them as it copies (and hashes them for
  // the cache), so it skips this walk.
  int dry_run() {
    if (auto r = resolve_layouts(nullptr); !r) return report(r.error());
    auto ctx = frontend::BuildContext::open(context_, ignore_);
    if (!ctx) return report(ctx.error());
    opts_.context = &*ctx;
    auto plan = frontend::make_plan(*df_, opts_);
    if (!plan) return lint_done(plan.error());
    lint_done(std::nullopt);
    if (auto epoch = resolve_source_date_epoch(plan->source_date_epoch, *df_, context_time(*plan));
        !epoch)
      return report(epoch.error());
    for (const auto& w : plan->warnings) std::cerr << "warning: " << w << "\n";
    std::cout << (f_.format == "json" ? frontend::plan_to_json_text(*plan) + "\n"
                                      : frontend::plan_to_text(*plan));
    return 0;
  }

  std::optional<int64_t> context_time(const frontend::Plan& plan) const {
    return remote_ && plan.source_date_epoch == "context" ? remote_->time() : std::nullopt;
  }

  // The store (held by a lease against collection), the registries to push
  // to, how images are pulled, and the plan's view of base images.
  Result<void> open_store() {
    if (f_.push) {
      for (const auto& t : f_.tags) {
        if (!oci::names_registry(t)) continue;
        auto ref = oci::parse_reference(t);
        if (!ref) return std::unexpected(ref.error().with_context("-t " + t));
        push_to_.push_back(*ref);
      }
      if (push_to_.empty())
        return fail(Errc::invalid_argument,
                    "--push needs a -t that names a registry (HOST[:PORT]/NAME[:TAG])");
    }
    for (const auto& o : outputs_) {
      if (!o.push) continue;
      size_t before = push_to_.size();
      for (const auto& n : o.names.empty() ? f_.tags : o.names) {
        if (!oci::names_registry(n)) continue;
        auto ref = oci::parse_reference(n);
        if (!ref) return std::unexpected(ref.error().with_context("--output name=" + n));
        push_to_.push_back(*ref);
      }
      if (push_to_.size() == before)
        return fail(Errc::invalid_argument,
                    "--output type=image,push=true needs a name= (or -t) that names a registry "
                    "(HOST[:PORT]/NAME[:TAG])");
    }
    store_.emplace(TRY_VALUE(cli::open_store(g_)));
    // Nothing this build uses may be collected while it runs.
    lease_ = TRY_VALUE(store::Lease::take(*store_, false));
    TRY(resolve_layouts(&*store_));
    pulling_ = pull_options(g_);
    pulling_.log = messages();
    store_->set_blob_fetcher(images::registry_fetcher(pulling_));  // layers fetched lazily
    opts_.base_config = [this](const std::string& ref,
                               const std::string& platform) -> Result<frontend::ImageConfig> {
      images::PullOptions o = pulling_;
      o.platform = TRY_VALUE(oci::parse_platform(platform));
      bool refresh = f_.pull && refreshed_.insert(ref + " " + platform).second;
      auto img = TRY_VALUE(images::find_or_pull(*store_, ref, o, refresh));
      return builder::to_frontend_config(img.config);
    };
    return {};
  }

  // SOURCE_DATE_EPOCH resolved; "context" plans again, so that the stages'
  // ARG SOURCE_DATE_EPOCH sees what it resolved to (its warnings were
  // printed once already).
  Result<void> resolve_epoch() {
    epoch_ =
        TRY_VALUE(resolve_source_date_epoch(plan_->source_date_epoch, *df_, context_time(*plan_)));
    if (plan_->source_date_epoch != "context") return {};
    dockerfile::Linter again(forced_lint_);
    opts_.lint = &again;
    std::erase_if(opts_.build_args, [](const auto& kv) { return kv.first == "SOURCE_DATE_EPOCH"; });
    opts_.build_args.emplace_back("SOURCE_DATE_EPOCH", epoch_ ? std::to_string(*epoch_) : "");
    auto plan = frontend::make_plan(*df_, opts_);
    opts_.lint = nullptr;
    plan_ = TRY_VALUE(std::move(plan));
    return {};
  }

  // --cache-to parsed, --cache-from imported in order; a source that fails
  // is a warning, not a failed build.
  Result<void> import_caches() {
    for (const auto& s : f_.cache_to)
      cache_to_.push_back(TRY_VALUE(parse_cache_spec("--cache-to", s)));
    for (const auto& [k, v] : opts_.build_args)
      if (k == frontend::kInlineCacheArg && v != "" && v != "0" && v != "false")
        cache_to_.push_back(TRY_VALUE(parse_cache_spec("--cache-to", "type=inline")));
    for (const auto& s : f_.cache_from) {
      auto c = TRY_VALUE(parse_cache_spec("--cache-from", s));
      std::string source;
      auto got = import_cache_source(c, source);
      if (!got) {
        build_display_->warning("--cache-from " + s + ": " + got.error().message);
        continue;
      }
      cache_sources_.push_back(source);
      build_display_->message(fmt::format(
          "imported {} cache records, {} blobs ({} B){} from {}{}", got->records, got->blobs_copied,
          got->bytes_copied, got->mounts ? fmt::format(", {} cache mounts", got->mounts) : "",
          c.path, got->from_image ? " (the image's inline cache)" : ""));
    }
    return {};
  }

  // One --cache-from: a plain reference is an image in the store when one
  // of that name carries an inline cache, else a registry's (a cache there,
  // or an image with an inline cache). `source`: what its records are
  // noted as imported from.
  Result<cache::CacheTransferStats> import_cache_source(const CacheSpec& c, std::string& source) {
    source = c.path;
    if (c.type == "image" || c.plain) {
      auto img = images::load_image(*store_, c.path);
      if (img && (c.type == "image" || cache::has_inline_cache(img->config)))
        return cache::import_image_cache(*store_, *img, c.path);
      if (c.type == "image") return std::unexpected(img.error());
    }
    if (c.type == "registry") {
      source = c.ref.str();
      return cache::import_registry_cache(*store_, c.ref, pulling_.client);
    }
    return cache::import_cache(*store_, c.path);
  }

  Result<builder::BuildOptions> build_options() {
    builder::BuildOptions bo;
    std::error_code ec;
    // The stat cache is keyed by absolute path.
    bo.context = fs::absolute(context_).lexically_normal();
    bo.ignore = &ignore_;
    bo.named_contexts = named_->dirs;
    bo.runtime = TRY_VALUE(exec::choose_runtime(g_.runtime));
    bo.runtime.tmp_dir = store_->tmp_dir();
    bo.no_cache = f_.no_cache;
    bo.incremental = f_.incremental;
    for (const auto& s : f_.no_cache_filter) bo.no_cache_stages.insert(to_lower(s));
    bo.normalize_permissions = f_.normalize_permissions;
    if (!f_.shm_size.empty()) {
      auto n = dockerfile::parse_ram_size(f_.shm_size);
      if (!n || *n == 0)
        return fail(Errc::invalid_argument,
                    fmt::format("--shm-size {}: not a size (bytes, or 64m, 1g, ...)", f_.shm_size));
      bo.shm_size = *n;
    }
    for (const auto& a : f_.annotations) {
      auto [key, value] = TRY_VALUE(parse_annotation(a));
      bo.annotations[key] = value;
    }
    for (const auto& h : f_.add_hosts)
      bo.extra_hosts.push_back(TRY_VALUE(exec::parse_extra_host(h)));
    for (const auto& u : f_.ulimits) {
      auto limit = TRY_VALUE(exec::parse_ulimit(u));
      std::erase_if(bo.ulimits, [&](const exec::Ulimit& o) { return o.name == limit.name; });
      bo.ulimits.push_back(limit);
    }
    for (const auto& s : f_.secrets) {
      auto secret = TRY_VALUE(parse_secret(s));
      bo.secrets[secret.first] = secret.second;
    }
    for (const auto& s : f_.ssh) {
      auto agent = TRY_VALUE(parse_ssh(s));
      bo.ssh[agent.first] = agent.second;
    }
    // An escape hatch: every COPY through an overlay, as before copy_direct.
    if (const char* e = std::getenv("STRATA_COPY_OVERLAY"); e && std::string(e) == "1")
      bo.direct_copy = false;
    bo.build_name = fmt::format(
        "{}#{}",
        remote_          ? f_.context
        : f_.file == "-" ? (fs::absolute(context_, ec) / "-").string()
                         : fs::absolute(dockerfile_path_, ec).lexically_normal().string(),
        plan_->target);
    bo.jobs =
        f_.jobs > 0 ? f_.jobs : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    bo.network = f_.network == "none" ? "none" : "host";
    bo.pull = pulling_;
    if (!quiet())
      bo.events = [d = build_display_.get()](const solver::StepEvent& e) { d->step(e); };
    bo.source_date_epoch = epoch_;
    bo.cache_sources = cache_sources_;
    bo.compression = new_layer_compression(outputs_, cache_to_, !push_to_.empty());
    return bo;
  }

  // A transfer's progress, unless quiet (nullptr).
  std::unique_ptr<TransferDisplay> progress(const std::string& what) const {
    return build_display_->transfer(what);
  }

  // The records of the steps behind the image into its config (an inline
  // cache); the steps noted with the image, so that an archive of it
  // carries them.
  Result<void> note_build_cache(builder::BuildResult& result) {
    if (std::any_of(cache_to_.begin(), cache_to_.end(),
                    [](const CacheSpec& c) { return c.type == "inline"; }))
      result.image = TRY_VALUE(cache::with_inline_cache(*store_, result.image, result.image_keys));
    return store_->put_image_steps(result.image.manifest_desc.digest,
                                   {result.image_keys, result.keys});
  }

  // Tags, --output, --push and --cache-to, in that order.
  Result<void> deliver(const builder::BuildResult& result) {
    auto log = messages();
    const images::StoredImage& image = result.image;
    for (const auto& t : f_.tags) TRY(store_->tag(t, image.manifest_desc));
    for (const auto& o : outputs_)
      if (auto r = write_output(result, o); !r)
        return std::unexpected(
            r.error().with_context(o.into_docker() ? "--load" : "writing --output " + o.dest));
    for (const auto& ref : push_to_)
      TRY(push_shown(ref, [&](const images::ProgressFn& bytes) {
        return images::push_image(*store_, image, ref, pulling_.client, log, bytes);
      }));
    return export_caches(result, log);
  }

  Result<void> write_output(const builder::BuildResult& result, const Output& o) {
    const images::StoredImage& image = result.image;
    if (o.type == "local") {
      auto root = TRY_VALUE(builder::Rootfs::mount(*store_, image.layers, false));
      snapshot::LowerView layers(root.lowers());
      return builder::copy_tree(root.path(), o.dest, &layers);
    }
    if (o.type == "tar") return write_root_tar(*store_, image.layers, o.dest);
    if (o.into_docker()) {
      std::vector<std::string> names = f_.tags;
      names.insert(names.end(), o.names.begin(), o.names.end());
      TRY(load_into_docker_daemon(*store_, image, names, messages()));
      return {};
    }
    if (o.type == "image") return {};  // push=true: pushed with the others below
    auto layers = exporter::with_compression(*store_, image, result.base_layers, o.compression);
    if (!layers) return std::unexpected(layers.error().with_context("--output " + o.dest));
    return write_image_output({{std::move(*layers)}, f_.tags, {}}, result, o);
  }

  // An OCI layout, or an archive (OCI and docker at once), of the image
  // with the build cache of `steps` it carries (o.cache: its layers
  // compressed as the image's are).
  Result<void> write_image_output(const exporter::ArchiveImage& image,
                                  const builder::BuildResult& steps, const Output& o) {
    auto extras = TRY_VALUE(cache::archive_cache(*store_,
                                                 o.cache == cache::CacheMode::max ? steps.keys
                                                 : o.cache == cache::CacheMode::min
                                                     ? steps.image_keys
                                                     : std::vector<std::string>{},
                                                 o.compression));
    if (!o.tar) return exporter::write_image_layout(*store_, {image}, o.dest, extras);
    exporter::ArchiveOptions ao;
    ao.extras = std::move(extras);
    ao.compression = exporter::compression_for(o.dest);
    auto shown = progress("writing " + o.dest);
    if (shown) ao.progress = [&](uint64_t done, uint64_t total) { shown->update(done, total); };
    TRY(exporter::write_image_archive(*store_, {image}, o.dest, ao));
    if (shown) shown->finish();
    return {};
  }

  Result<void> export_cache(const builder::BuildResult& result, const CacheSpec& c,
                            const std::function<void(const std::string&)>& log) {
    cache::CacheExportOptions eo = c.opts;
    auto shown = progress("exporting the cache to " + c.path);
    if (shown) eo.progress = [&](uint64_t done, uint64_t total) { shown->update(done, total); };
    const auto& keys = c.max ? result.keys : result.image_keys;
    cache::CacheTransferStats done;
    if (c.type == "registry") {
      cache::RegistryCacheOptions ro;
      ro.client = pulling_.client;
      ro.compression = c.opts.compression;
      ro.mounts = c.opts.mounts;
      ro.log = log;
      ro.progress = eo.progress;
      done = TRY_VALUE(cache::export_registry_cache(*store_, keys, c.ref, ro));
    } else {
      done = TRY_VALUE(cache::export_cache(*store_, keys, c.path, eo));
    }
    if (shown) shown->finish();
    build_display_->message(
        fmt::format("exported {} cache records to {}: {} new blobs, {} B{}", done.records, c.path,
                    done.blobs_copied, done.bytes_copied,
                    done.mounts ? fmt::format(", {} cache mounts", done.mounts) : ""));
    return {};
  }

  // The automatic policy: past STRATA_GC_KEEP_STORAGE, evict least recently
  // used records (skipped while other builds hold the store).
  Result<void> collect_garbage() {
    const char* limit = std::getenv("STRATA_GC_KEEP_STORAGE");
    if (!limit || !*limit) return {};
    auto bytes = store::parse_size(limit);
    if (!bytes)
      return fail(Errc::invalid_argument,
                  fmt::format("STRATA_GC_KEEP_STORAGE={}: not a size", limit));
    auto usage = store::disk_usage(*store_);
    if (!usage || usage->layers + usage->snapshots + usage->unreferenced <= *bytes) return {};
    auto gc_lease = store::Lease::take(*store_, true, false);
    if (!gc_lease || !*gc_lease) return {};
    store::PruneOptions po;
    po.keep_storage = *bytes;
    if (auto r = store::prune(*store_, po))
      build_display_->message(
          fmt::format("garbage collection: {} records, {} blobs, {} snapshots removed", r->records,
                      r->blobs, r->snapshots));
    return {};
  }

  const GlobalFlags& g_;
  const BuildFlags& f_;
  // first: the store's fetcher and the build send to it
  std::unique_ptr<BuildDisplay> build_display_;
  TracingDisplay* tracing_ = nullptr;  // --trace: in build_display_
  // read_inputs
  std::vector<Output> outputs_;
  std::optional<RemoteContext> remote_;
  fs::path context_, dockerfile_path_;
  std::string display_, text_;  // the Dockerfile's name in messages, and its text
  CallSpec call_;
  // set_plan_options, read_ignore_file
  frontend::PlanOptions opts_;
  std::optional<BuildContexts> named_;
  std::optional<dockerfile::LintConfig> forced_lint_;
  std::optional<dockerfile::Linter> lint_;
  std::optional<dockerfile::Dockerfile> df_;
  dockerfile::IgnoreMatcher ignore_;
  // open_store
  std::vector<oci::Reference> push_to_;
  std::optional<store::Store> store_;
  std::optional<store::Lease> lease_;
  images::PullOptions pulling_;
  std::set<std::string> refreshed_;  // images --pull resolved again already
  // plan, resolve_epoch
  std::optional<frontend::Plan> plan_;
  std::optional<int64_t> epoch_;
  std::vector<CacheSpec> cache_to_;
  std::vector<std::string> cache_sources_;  // the --cache-from sources imported
  std::vector<oci::Platform> platforms_;    // --platform: one, or several (an index)
};

int run_build(const GlobalFlags& g, const BuildFlags& f) {
  return BuildCommand(g, f).run();
}

}  // namespace

}  // namespace strata::cli
