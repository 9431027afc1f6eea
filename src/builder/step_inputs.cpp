#include "builder/step_inputs.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "builder/fetch.hpp"
#include "builder/file_steps.hpp"
#include "digest/sha256.hpp"
#include "os/fs.hpp"
#include "store/file_hash.hpp"

namespace fs = std::filesystem;

namespace strata::builder {

using dockerfile::Kind;
using frontend::PlannedStage;
using frontend::SourceRef;
using frontend::Step;
using nlohmann::json;

namespace {

// The file entries of a listing from `root`, regular files with their
// content digest.
Result<std::vector<graph::FileEntry>> file_entries(BuildState& st,
                                                   const std::vector<SourceFile>& files,
                                                   const fs::path& root) {
  std::vector<store::FileId> ids;
  for (const auto& f : files)
    if (f.type == 'f') ids.push_back({f.from, f.size, f.mtime, f.ctime, f.ino});
  auto digests = TRY_VALUE(store::content_digests(st.store, root, ids));
  std::vector<graph::FileEntry> out;
  size_t k = 0;
  for (const auto& f : files) {
    graph::FileEntry e{f.dest, f.type, f.mode, f.uid, f.gid, f.link, ""};
    if (f.type == 'f') e.content = digests[k++];
    out.push_back(std::move(e));
  }
  return out;
}

// A stage's files under `path` as a key: their content, modes and owners
// (not their times), so that a stage built again to the same files keys
// the steps that mount it the same, as BuildKit's content checksums do.
Result<std::string> stage_content_key(BuildState& st, int index, const std::string& path) {
  auto root = TRY_VALUE(Rootfs::mount(st.store, TRY_VALUE(st.stage_layers(index)), false));
  CopyOptions co;
  co.keep_owner = true;
  auto files = TRY_VALUE(list_sources(root.path(), {path}, "/", co));
  graph::StepInputs tree;
  for (const auto& f : files) {
    graph::FileEntry e{f.dest, f.type, f.mode, f.uid, f.gid, f.link, ""};
    if (f.type == 'f') {
      auto digest = TRY_VALUE(sha256_file(f.from));
      e.content = digest;
    }
    tree.files.push_back(std::move(e));
  }
  return graph::Source::stage_files(tree.files_digest());
}

// What a --from or a bind mount's from= stands for in a key.
// `path`: what of the source a bind mount shows (for a stage, its content
// is the key; "" keys a stage by its steps).
Result<std::string> source_key(BuildState& st, const SourceRef& ref,
                               const std::string& context_path) {
  switch (ref.kind) {
    case SourceRef::stage:
      if (!context_path.empty()) return stage_content_key(st, ref.index, context_path);
      return graph::Source::stage(st.built(ref.index).chain);
    case SourceRef::scratch:
      return graph::Source::scratch();
    case SourceRef::image: {
      auto img = TRY_VALUE(st.image(ref.name, st.platform));
      return graph::Source::image(img.manifest_desc.digest);
    }
    case SourceRef::context: {
      auto dir = TRY_VALUE(st.local_context(ref));
      CopyOptions co;
      co.ignore = dir.ignore;
      auto files = TRY_VALUE(list_sources(dir.root, {context_path}, "/", co));
      auto entries = TRY_VALUE(file_entries(st, files, dir.root));
      graph::StepInputs tree;
      tree.files = std::move(entries);
      return graph::Source::context(tree.files_digest());
    }
  }
  return std::string();
}

// The digest of what an ADD without --checksum gets from `url`, as
// BuildKit keys it: the content last downloaded when the server says its
// ETag still holds, else the content downloaded now (kept as a blob for
// the step and the next build).
Result<std::string> url_content(BuildState& st, const std::string& url) {
  auto known = TRY_VALUE(st.store.url_record(url));
  if (known && !known->etag.empty() && st.store.has_blob(known->digest)) {
    auto same = TRY_VALUE(still_current(url, known->etag));
    if (same) return known->digest;
  }
  auto tmp = TRY_VALUE(os::TempDir::create(st.store.tmp_dir(), "fetch-"));
  fs::path file = tmp.path() / "content";
  auto got = TRY_VALUE(download(url, file, ""));
  TRY(st.store.commit_blob(file, got.digest));
  store::Store::UrlRecord rec{got.etag, got.last_modified.value_or(-1), got.digest};
  TRY(st.store.put_url_record(url, rec));
  return got.digest;
}

}  // namespace

// What the step depends on; nullopt when it cannot be cached.
Result<std::optional<graph::StepInputs>> step_inputs(BuildState& st, const StageImage& img,
                                                     const Step& step, const PlannedStage& stage,
                                                     std::vector<SourceFile>& listing) {
  graph::StepInputs in;
  in.parent = img.chain;
  in.platform = stage.platform;
  if (step.kind == Kind::Workdir) {
    in.instruction = "WORKDIR " + step.args.at(0);
    if (step.args.size() > 1) in.user = step.args[1];
    return in;
  }
  if (step.kind == Kind::Run) {
    const auto& run = *step.run;
    in.instruction = "RUN " + json(run.argv).dump();
    in.env = run.env;
    in.user = run.user;
    in.workdir = run.workdir;
    std::string network = run.network == "default" ? st.opts.network : run.network;
    in.extra.emplace_back("network", network);
    in.extra.emplace_back("security", run.security);
    for (size_t i = 0; i < run.mounts.size(); ++i) {
      const auto& m = run.mounts[i];
      std::string desc = fmt::format(
          "type={},target={},id={},sharing={},ro={},mode={},uid={},gid={},size={},source={}",
          dockerfile::to_string(m.type), m.target, m.id, dockerfile::to_string(m.sharing),
          m.readonly, m.mode.value_or(0), m.uid.value_or(0), m.gid.value_or(0), m.size.value_or(0),
          m.source);
      if (m.env) desc += ",env=" + *m.env;  // the name only: a secret's value never enters a key
      if (m.required) desc += ",required";
      if (m.type == dockerfile::MountType::bind) {
        auto from =
            TRY_VALUE(source_key(st, run.mount_sources[i], m.source.empty() ? "." : m.source));
        desc += ",from=" + from;
      }
      in.extra.emplace_back(fmt::format("mount{}", i), desc);
    }
    for (const auto& f : run.files) in.extra.emplace_back("script:" + f.name, f.content);
    if (!run.hostname.empty()) in.extra.emplace_back("hostname", run.hostname);
    if (st.opts.shm_size) in.extra.emplace_back("shm-size", std::to_string(st.opts.shm_size));
    // As BuildKit: extra hosts are part of what a RUN is.
    for (const auto& h : st.opts.extra_hosts) in.extra.emplace_back("add-host:" + h.name, h.ip);
    for (const auto& u : st.opts.ulimits)
      in.extra.emplace_back("ulimit:" + u.name, fmt::format("{}:{}", u.soft, u.hard));
    return in;
  }
  const auto& c = *step.copy;
  json args = {{"sources", c.sources}, {"dest", c.dest},       {"chown", c.chown},
               {"chmod", c.chmod},     {"parents", c.parents}, {"excludes", c.excludes},
               {"link", c.link}};
  if (c.unpack) args["unpack"] = *c.unpack;
  in.instruction = std::string(c.add ? "ADD " : "COPY ") + args.dump();
  for (const auto& f : c.inline_files) in.extra.emplace_back("inline:" + f.name, f.content);
  std::vector<std::string> local;
  for (const auto& src : c.sources) {
    if (!dockerfile::is_remote_source(src)) {
      local.push_back(src);
      continue;
    }
    auto git_ref = TRY_VALUE(dockerfile::parse_git_ref(src));
    if (git_ref) {
      // The commit, not the ref or the checksum: the same commit hits.
      auto commit = TRY_VALUE(st.git_commit(*git_ref, c.checksum));
      const auto& g = *git_ref;
      in.extra.emplace_back(
          "git", fmt::format("{}@{}:{} keep-git-dir={} submodules={} mtime={}", g.remote, commit,
                             g.subdir, keep_git_dir(g, c), g.submodules.value_or(true),
                             g.mtime.empty() ? "checkout" : g.mtime));
    } else if (c.checksum.empty()) {
      if (!src.starts_with("http://") && !src.starts_with("https://"))
        return std::optional<graph::StepInputs>{};  // refused when the step runs
      auto digest = TRY_VALUE(url_content(st, src));
      in.extra.emplace_back("url", src + "@" + digest);
    } else {
      in.extra.emplace_back("url", src + "@" + c.checksum);
    }
  }
  if (local.empty()) return in;
  if (c.from.kind != SourceRef::context) {
    auto from = TRY_VALUE(source_key(st, c.from, ""));
    in.extra.emplace_back("from", from);
    return in;
  }
  auto co = TRY_VALUE(copy_options(st, c));
  auto dir = TRY_VALUE(st.local_context(c.from));
  co.ignore = dir.ignore;
  auto files = TRY_VALUE(list_sources(dir.root, local, c.dest, co));
  auto entries = TRY_VALUE(file_entries(st, files, dir.root));
  in.files = std::move(entries);
  listing = std::move(files);
  return in;
}

}  // namespace strata::builder
