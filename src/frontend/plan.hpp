// The resolved build plan: the stages a target needs, in build order, each
// step with its words expanded, its flags typed and, for COPY/ADD from the
// context, the files it selects. This is what `strata build --dry-run`
// prints and what the builder executes.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "dockerfile/dockerignore.hpp"
#include "dockerfile/instructions.hpp"
#include "dockerfile/lint.hpp"
#include "frontend/context.hpp"
#include "oci/platform.hpp"

namespace strata::frontend {

// --build-arg BUILDKIT_INLINE_CACHE=1, as docker users ask for an inline
// cache: read by the CLI (--cache-to type=inline), consumed by no stage.
inline constexpr std::string_view kInlineCacheArg = "BUILDKIT_INLINE_CACHE";

using EnvList = std::vector<std::pair<std::string, std::string>>;  // ordered, unique keys

// Where a FROM, COPY --from or mount from= points.
struct SourceRef {
  enum Kind { context, scratch, image, stage } kind = context;
  // The image reference or the stage name; for kind == context, "" for the
  // build context, else the name of a --build-context directory.
  std::string name;
  int index = -1;  // the stage's index, for kind == stage
};

// A --build-context NAME=VALUE: an image (docker-image://REF) or a
// directory, which the builder is given by name. It replaces the stage of
// that name, or the image a FROM, --from or from= names.
struct NamedContext {
  bool image = false;
  std::string ref;  // for an image: the reference ("scratch" for none)
};

struct InlineFile {
  std::string name;     // heredoc name; for RUN, the file under /dev/pipes/
  std::string content;  // expanded when the delimiter was not quoted
};

struct Healthcheck {
  std::vector<std::string> test;  // ["NONE"], ["CMD", ...] or ["CMD-SHELL", cmd]
  int64_t interval = 0, timeout = 0, start_period = 0, start_interval = 0;
  int retries = 0;
};

struct ImageConfig {
  EnvList env;
  std::string user;
  std::string workdir;
  std::vector<std::string> shell = {"/bin/sh", "-c"};
  bool shell_set = false;  // by SHELL here, in a parent stage or in the base image
  std::optional<std::vector<std::string>> cmd, entrypoint;
  std::map<std::string, std::string> labels;
  std::vector<std::string> exposed_ports;  // "80/tcp", sorted, unique
  std::vector<std::string> volumes;        // sorted, unique
  std::string stop_signal;
  std::optional<Healthcheck> healthcheck;
  std::vector<std::string> onbuild;
  std::string author;  // MAINTAINER
  // The os/arch[/variant] a base image was made for ("" when unknown, for
  // scratch and for stages).
  std::string platform;
};

struct RunStep {
  std::vector<std::string> argv;
  EnvList env;        // ENV plus the ARGs in scope
  EnvList proxy_env;  // proxy build args (HTTP_PROXY and http_proxy, ...): not in the key
  std::string user, workdir;
  std::vector<dockerfile::Mount> mounts;
  std::vector<SourceRef> mount_sources;  // what each mount's from= names (context if none)
  std::string network = "default";
  std::string security = "sandbox";
  std::string hostname;           // --build-arg BUILDKIT_SANDBOX_HOSTNAME; "" = strata's default
  std::vector<InlineFile> files;  // a heredoc script run as /dev/pipes/<name>
  // Marked # strata:incremental: on a miss it runs on top of its earlier
  // result (builder/incremental). Not part of its key.
  bool incremental = false;
};

struct CopyStep {
  bool add = false;
  SourceRef from;
  std::vector<std::string> sources;  // expanded
  std::vector<InlineFile> inline_files;
  std::string dest;  // expanded, made absolute against the workdir
  std::string chown, chmod, checksum;
  std::vector<std::string> excludes;
  bool link = false, parents = false, keep_git_dir = false;
  std::optional<bool> unpack;  // ADD --unpack; default: local archives are, URLs are not
  std::string history;         // as BuildKit records it: "COPY [--chown=..] SRC... DEST"
  // For sources in the build context (when one was given): the files selected.
  std::optional<std::vector<std::string>> selected;
};

struct Step {
  dockerfile::Kind kind;
  int line = 0, end_line = 0;
  std::string text;      // the instruction as written (continuations joined)
  std::string history;   // the image history's created_by, as BuildKit writes it
  bool onbuild = false;  // a trigger inherited from the parent stage
  // The expanded arguments: ENV/LABEL/ARG as "k=v"; CMD/ENTRYPOINT/SHELL as
  // argv; EXPOSE ports; VOLUME paths; USER, STOPSIGNAL, MAINTAINER, ONBUILD
  // as one value; WORKDIR as its path and, under a USER, that user.
  std::vector<std::string> args;
  std::optional<RunStep> run;
  std::optional<CopyStep> copy;
  std::optional<Healthcheck> healthcheck;
};

struct PlannedStage {
  int index = 0;
  std::string name;  // "" when the stage has no AS
  int line = 0;
  SourceRef base;
  std::string platform;
  std::vector<Step> steps;
  ImageConfig config;     // the stage's image config after its last step
  std::vector<int> deps;  // stages this one needs (FROM, --from, mount from=)
};

struct Plan {
  std::string dockerfile;
  std::string target;  // the target stage's name or index
  std::string platform;
  std::vector<PlannedStage> stages;   // needed stages, dependencies first
  std::vector<std::string> warnings;  // strata's own; lint rules go to PlanOptions.lint
  // SOURCE_DATE_EPOCH as the Dockerfile's global scope has it: the build
  // arg, else the default of a global `ARG SOURCE_DATE_EPOCH=...`; "" if
  // neither. A number, or "context" / a stage name for the builder to
  // resolve (cli/build_command).
  std::string source_date_epoch;
};

struct PlanOptions {
  std::vector<std::pair<std::string, std::string>> build_args;
  std::map<std::string, std::string> labels;            // --label: set on the target's image
  std::string target;                                   // "" = the last stage
  oci::Platform platform = oci::host_platform();        // TARGETPLATFORM
  oci::Platform build_platform = oci::host_platform();  // BUILDPLATFORM
  const BuildContext* context = nullptr;                // when set, COPY/ADD list their files
  bool allow_insecure = false;  // --allow security.insecure: RUN --security=insecure
  // Where BuildKit's lint rules are reported: those of the whole file always,
  // those of steps for the stages the target needs, or for every stage with
  // all_stages (a check, which then also fails on an error in any stage).
  dockerfile::Linter* lint = nullptr;
  bool all_stages = false;
  const dockerfile::IgnoreMatcher* ignore = nullptr;   // .dockerignore, for CopyIgnoredFile
  std::map<std::string, NamedContext> named_contexts;  // by lower-case name
  // When set, the config of an image a FROM names (its ENV, WORKDIR, USER,
  // CMD, ONBUILD, ...), so that steps see it as the build will. Without it
  // (a dry run), images start from an empty config.
  std::function<Result<ImageConfig>(const std::string& ref, const std::string& platform)>
      base_config;
};

Result<Plan> make_plan(const dockerfile::Dockerfile& df, const PlanOptions& opts);

}  // namespace strata::frontend
