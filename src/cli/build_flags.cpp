#include "cli/build_flags.hpp"

#include <fmt/format.h>
#include <sys/stat.h>

#include <charconv>
#include <cstdlib>

#include "archive/sink.hpp"
#include "archive/tree.hpp"
#include "os/fs.hpp"
#include "util/strings.hpp"

namespace fs = std::filesystem;

namespace strata::cli {

namespace {

// compression=, compression-level=, force-compression= of --output and
// --cache-to; false when `k` is none of them.
Result<bool> compression_key(const std::string& flag, const std::string& spec, const std::string& k,
                             const std::string& v, exporter::CompressionOptions& c) {
  if (k == "compression") {
    c.compression = exporter::parse_compression(v);
    if (!c.compression)
      return fail(Errc::invalid_argument,
                  fmt::format("{} {}: compression= takes gzip, zstd or uncompressed", flag, spec));
    return true;
  }
  if (k == "compression-level") {
    try {
      c.level = std::stoi(v);
    } catch (...) {
      return fail(Errc::invalid_argument,
                  fmt::format("{} {}: compression-level= takes a number", flag, spec));
    }
    return true;
  }
  if (k == "force-compression") {
    if (v != "true" && v != "false" && !v.empty())
      return fail(Errc::invalid_argument,
                  fmt::format("{} {}: force-compression= takes true or false", flag, spec));
    c.force = v != "false";
    return true;
  }
  return false;
}

// A level the compressor takes: the one named, or with no compression= both
// a gzip and a zstd layer may be recompressed at it.
Result<void> check_compression_level(const std::string& flag, const std::string& spec,
                                     const exporter::CompressionOptions& c) {
  for (auto kind : c.compression
                       ? std::vector{*c.compression}
                       : std::vector{archive::Compression::gzip, archive::Compression::zstd})
    if (auto r = archive::check_level(kind, c.level); !r)
      return std::unexpected(r.error().with_context(fmt::format("{} {}", flag, spec)));
  return {};
}

}  // namespace

Result<std::string> read_input_file(const fs::path& p) {
  auto text = os::read_file(p, kMaxInputFile);
  if (!text && text.error().code == Errc::io)
    return fail(Errc::not_found,
                fmt::format("cannot read {}: {}", p.string(), text.error().message));
  return text;
}

Result<std::pair<std::string, std::string>> parse_secret(const std::string& spec) {
  std::string id, src, env;
  for (const auto& field : split(spec, ',')) {
    size_t eq = field.find('=');
    std::string k = field.substr(0, eq), v = eq == std::string::npos ? "" : field.substr(eq + 1);
    if (k == "id")
      id = v;
    else if (k == "src" || k == "source")
      src = v;
    else if (k == "env")
      env = v;
    else if (k != "type")
      return fail(Errc::invalid_argument,
                  fmt::format("--secret {}: unknown key \"{}\" (use id=, src= or env=)", spec, k));
  }
  if (id.empty()) return fail(Errc::invalid_argument, fmt::format("--secret {}: no id=", spec));
  if (!src.empty() && !env.empty())
    return fail(Errc::invalid_argument,
                fmt::format("--secret {}: give src= or env=, not both", spec));
  if (!src.empty()) {
    auto value = read_input_file(src);
    if (!value) return std::unexpected(value.error().with_context("--secret id=" + id));
    return std::pair{id, *value};
  }
  if (env.empty())
    return fail(Errc::invalid_argument,
                fmt::format("--secret {}: say where the value is: src=FILE or env=VARIABLE", spec));
  const char* value = std::getenv(env.c_str());
  if (!value)
    return fail(Errc::not_found,
                fmt::format("--secret id={}: the environment variable {} is not set", id, env));
  return std::pair{id, std::string(value)};
}

Result<std::pair<std::string, fs::path>> parse_ssh(const std::string& spec) {
  size_t eq = spec.find('=');
  std::string id = spec.substr(0, eq);
  std::string sock = eq == std::string::npos ? "" : spec.substr(eq + 1);
  if (id.empty()) return fail(Errc::invalid_argument, fmt::format("--ssh {}: no id", spec));
  if (sock.empty()) {
    const char* env = std::getenv("SSH_AUTH_SOCK");
    if (!env || !*env)
      return fail(Errc::not_found,
                  fmt::format("--ssh {}: SSH_AUTH_SOCK is not set; start an agent (ssh-agent) "
                              "or give the socket: --ssh {}=PATH",
                              spec, id));
    sock = env;
  }
  struct stat st {};
  if (::stat(sock.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode))
    return fail(Errc::not_found, fmt::format("--ssh {}: {} is not a socket", spec, sock));
  return std::pair{id, fs::path(sock)};
}

Result<CacheSpec> parse_cache_spec(const std::string& flag, const std::string& spec) {
  CacheSpec c;
  // A plain reference, as docker users write it: a registry cache there, or
  // an image with an inline cache (in the store or in a registry).
  c.plain = spec.find('=') == std::string::npos;
  std::string fields = c.plain ? "type=registry,ref=" + spec : spec;
  auto boolean = [&](const std::string& k, const std::string& v) -> Result<bool> {
    if (v == "true" || v.empty()) return true;
    if (v == "false") return false;
    return fail(Errc::invalid_argument,
                fmt::format("{} {}: {}= takes true or false", flag, spec, k));
  };
  for (const auto& field : split(fields, ',')) {
    size_t eq = field.find('=');
    std::string k = field.substr(0, eq), v = eq == std::string::npos ? "" : field.substr(eq + 1);
    Result<bool> b = true;
    auto known = compression_key(flag, spec, k, v, c.opts.compression);
    if (!known) return std::unexpected(known.error());
    if (*known) continue;
    if (k == "type")
      c.type = v;
    else if (k == "dest" || k == "src" || k == "ref")
      c.path = v;
    else if (k == "mode" && (v == "min" || v == "max"))
      c.max = v == "max";
    else if (k == "mounts" && (b = boolean(k, v)))
      c.opts.mounts = *b;
    else if (k == "reset" && (b = boolean(k, v)))
      c.opts.reset = *b;
    else if (!b)
      return std::unexpected(b.error());
    else
      return fail(Errc::invalid_argument,
                  fmt::format("{} {}: unknown key \"{}\" (type=, dest=/src=/ref=, mode=min|max, "
                              "mounts=, reset=)",
                              flag, spec, k));
  }
  if (auto r = check_compression_level(flag, spec, c.opts.compression); !r)
    return std::unexpected(r.error());
  bool to = flag == "--cache-to";
  if (c.type == "inline" && to) {  // the records go into the image's config
    if (c.max)
      return fail(Errc::invalid_argument,
                  fmt::format("{} {}: an inline cache holds the steps behind the image's layers "
                              "(mode=min); use type=registry or type=local for mode=max",
                              flag, spec));
    return c;
  }
  if (c.type == "image" && !to) {
    if (c.path.empty())
      return fail(Errc::invalid_argument,
                  fmt::format("{} {}: say which image: ref=NAME", flag, spec));
    return c;
  }
  if (c.type != "local" && c.type != "archive" && c.type != "registry")
    return fail(Errc::invalid_argument,
                fmt::format("{} {}: type= must be local, archive, registry or {}", flag, spec,
                            to ? "inline" : "image"));
  if (c.path.empty())
    return fail(Errc::invalid_argument, fmt::format("{} {}: say where: {}", flag, spec,
                                                    c.type == "registry"   ? "ref=HOST/REPO:TAG"
                                                    : flag == "--cache-to" ? "dest=PATH"
                                                                           : "src=PATH"));
  if (c.type == "registry") {
    auto ref = oci::parse_reference(c.path);
    if (!ref) return std::unexpected(ref.error().with_context(flag + " " + spec));
    c.ref = *ref;
    if (c.opts.reset)
      return fail(Errc::invalid_argument,
                  fmt::format("{} {}: reset= is for type=local (a registry keeps what a tag "
                              "references)",
                              flag, spec));
  }
  if (c.type == "archive" && !archive::is_archive_name(c.path))
    return fail(Errc::invalid_argument,
                fmt::format("{} {}: an archive ends in .tar, .tar.gz or .tar.zst", flag, spec));
  return c;
}

Result<Output> parse_output(const std::string& spec) {
  Output o;
  for (const auto& field : split(spec, ',')) {
    size_t eq = field.find('=');
    std::string k = field.substr(0, eq), v = eq == std::string::npos ? "" : field.substr(eq + 1);
    auto known = compression_key("--output", spec, k, v, o.compression);
    if (!known) return std::unexpected(known.error());
    if (*known) continue;
    if (k == "type")
      o.type = v;
    else if (k == "dest")
      o.dest = v;
    else if (k == "tar" && (v == "true" || v == "false"))
      o.tar = v == "true";
    else if (k == "name" && !v.empty())
      o.names.push_back(v);
    else if (k == "push" && (v == "true" || v == "false"))
      o.push = v == "true";
    else if (k == "cache")
      o.cache = TRY_VALUE(cache::parse_cache_mode(v, "--output " + spec + ": cache="));
    else if (k == "rewrite-timestamp" && v == "true")
      continue;  // what strata does: new layers' times are clamped to SOURCE_DATE_EPOCH
    else if (k == "rewrite-timestamp")
      return fail(Errc::invalid_argument,
                  fmt::format("--output {}: strata always clamps the file times of the layers it "
                              "makes to SOURCE_DATE_EPOCH (rewrite-timestamp=true)",
                              spec));
    else if (eq == std::string::npos && o.type.empty() && field == "-")
      o.type = "tar", o.dest = field;  // --output -: a tar on stdout, as buildx
    else if (eq == std::string::npos && o.type.empty())
      o.type = "local", o.dest = field;  // --output DIR
    else
      return fail(
          Errc::invalid_argument,
          fmt::format("--output {}: unknown key \"{}\" (type=, dest=, name=, tar=, compression=, "
                      "compression-level=, force-compression=, cache=)",
                      spec, k));
  }
  if (auto r = check_compression_level("--output", spec, o.compression); !r)
    return std::unexpected(r.error());
  if (o.type != "oci" && o.type != "docker" && o.type != "image" && o.type != "local" &&
      o.type != "tar")
    return fail(Errc::invalid_argument,
                fmt::format("--output {}: type must be oci, docker, image, local or tar", spec));
  if (o.type == "image" && !o.dest.empty())
    return fail(Errc::invalid_argument,
                fmt::format("--output {}: type=image loads into the docker daemon and takes no "
                            "dest= (type=docker,dest=FILE writes an archive)",
                            spec));
  if (!o.names.empty() && !o.into_docker() && o.type != "image")
    return fail(Errc::invalid_argument,
                fmt::format("--output {}: name= is for type=image and for the image loaded into "
                            "the docker daemon (type=docker without dest=); use -t",
                            spec));
  if (o.push && o.type != "image")
    return fail(Errc::invalid_argument,
                fmt::format("--output {}: push=true is for type=image (or use --push)", spec));
  if (!o.tar && o.type != "oci")
    return fail(
        Errc::invalid_argument,
        fmt::format("--output {}: tar=false is for type=oci (an OCI layout directory)", spec));
  if (o.dest.empty() && o.type != "image" && !o.into_docker())
    return fail(Errc::invalid_argument, fmt::format("--output {}: dest= is required", spec));
  if (o.dest == "-" && o.type != "tar")
    return fail(Errc::invalid_argument,
                fmt::format("--output {}: only type=tar writes to standard output (dest=-)", spec));
  return o;
}

Result<std::pair<std::string, std::string>> parse_annotation(const std::string& spec) {
  std::string rest = spec;
  size_t eq = rest.find('=');
  size_t colon = rest.find(':');
  if (colon != std::string::npos && (eq == std::string::npos || colon < eq)) {
    std::string where = rest.substr(0, colon);
    if (where != "manifest")
      return fail(Errc::invalid_argument,
                  fmt::format("--annotation {}: strata puts annotations on the image manifest "
                              "(KEY=VALUE or manifest:KEY=VALUE); {} annotations are for "
                              "multi-platform images, which strata does not write yet",
                              spec, where));
    rest = rest.substr(colon + 1);
    eq = rest.find('=');
  }
  if (eq == std::string::npos || eq == 0)
    return fail(Errc::invalid_argument, fmt::format("--annotation {}: expected KEY=VALUE", spec));
  return std::pair{rest.substr(0, eq), rest.substr(eq + 1)};
}

Result<void> check_attestations(const std::string& provenance, const std::string& sbom,
                                const std::vector<std::string>& attest) {
  auto off = [](const std::string& v) { return v.empty() || v == "false" || v == "0"; };
  auto refuse = [](const std::string& what) -> Result<void> {
    return fail(Errc::invalid_argument,
                fmt::format("{}: strata does not write attestations (provenance, SBOM) yet; "
                            "leave the flag out or set it to false",
                            what));
  };
  if (!off(provenance)) return refuse("--provenance=" + provenance);
  if (!off(sbom)) return refuse("--sbom=" + sbom);
  for (const auto& a : attest) {
    bool disabled = false;
    for (const auto& field : split(a, ','))
      if (field == "disabled=true" || field == "disabled") disabled = true;
    if (!disabled) return refuse("--attest " + a);
  }
  return {};
}

archive::Compression new_layer_compression(const std::vector<Output>& outputs,
                                           const std::vector<CacheSpec>& cache_to, bool pushes) {
  std::vector<const exporter::CompressionOptions*> asked;
  for (const auto& o : outputs)
    if ((o.type == "oci" || o.type == "docker") && !o.into_docker())
      asked.push_back(&o.compression);
  for (const auto& c : cache_to)
    if (c.type != "inline") asked.push_back(&c.opts.compression);  // inline: in the config
  if (pushes || asked.empty()) return archive::Compression::gzip;
  auto wanted = asked.front()->compression;
  for (const auto* a : asked)
    if (!a->compression || a->compression != wanted || a->level >= 0)
      return archive::Compression::gzip;
  return *wanted;
}

Result<std::pair<std::string, std::string>> parse_build_context(const std::string& spec) {
  size_t eq = spec.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size())
    return fail(Errc::invalid_argument,
                fmt::format("--build-context {}: expected NAME=VALUE (a directory, "
                            "docker-image://REF, an http(s) URL or a git repository)",
                            spec));
  std::string name = to_lower(spec.substr(0, eq)), value = spec.substr(eq + 1);
  for (std::string_view unsupported : {"target:", "input:"})
    if (value.starts_with(unsupported))
      return fail(Errc::invalid_argument,
                  fmt::format("--build-context {}: {} contexts are not supported by strata (use "
                              "a directory, docker-image://REF, oci-layout://PATH, a URL or a git "
                              "repository)",
                              spec, unsupported));
  if (value == "docker-image://")
    return fail(Errc::invalid_argument,
                fmt::format("--build-context {}: docker-image:// needs an image reference", spec));
  return std::pair{name, value};
}

Result<OciLayoutRef> parse_oci_layout_ref(const std::string& value) {
  std::string rest = value.substr(std::string_view("oci-layout://").size());
  OciLayoutRef ref;
  if (size_t at = rest.rfind('@'); at != std::string::npos) {
    ref.digest = rest.substr(at + 1);
    rest = rest.substr(0, at);
    if (!ref.digest.starts_with("sha256:") || ref.digest.size() != 71)
      return fail(Errc::invalid_argument, "the digest must be sha256: and 64 hex digits");
  }
  size_t slash = rest.rfind('/');
  if (size_t colon = rest.rfind(':');
      colon != std::string::npos && (slash == std::string::npos || colon > slash)) {
    ref.tag = rest.substr(colon + 1);
    rest = rest.substr(0, colon);
  }
  if (rest.empty()) return fail(Errc::invalid_argument, "no layout directory");
  ref.dir = rest;
  return ref;
}

Result<std::string> pick_layout_image(const std::vector<exporter::LayoutImage>& images,
                                      const OciLayoutRef& ref) {
  std::string what = "OCI layout " + ref.dir.string();
  for (const auto& img : images) {
    if (!ref.digest.empty()
            ? img.manifest.digest == ref.digest
            : !ref.tag.empty() && (img.ref_name == ref.tag || img.name.ends_with(":" + ref.tag)))
      return img.manifest.digest;
  }
  if (!ref.digest.empty() || !ref.tag.empty())
    return fail(Errc::not_found,
                fmt::format("{} has no image {}", what, ref.digest.empty() ? ref.tag : ref.digest));
  if (images.size() != 1)
    return fail(Errc::invalid_argument,
                fmt::format("{} holds {} images: name one with :TAG or @sha256:DIGEST", what,
                            images.size()));
  return images[0].manifest.digest;
}

Result<std::optional<int64_t>> resolve_source_date_epoch(const std::string& v,
                                                         const dockerfile::Dockerfile& df,
                                                         std::optional<int64_t> context_time) {
  if (v == "context") return context_time;
  if (v.empty()) return std::nullopt;
  if (auto n = parse_number<int64_t>(v)) return n;
  std::string stage = to_lower(v);
  for (const auto& st : df.stages)
    if (st.from.as<dockerfile::FromCmd>().stage_name == stage)
      return fail(Errc::invalid_argument,
                  fmt::format("SOURCE_DATE_EPOCH={}: the time of a stage's remote source is not "
                              "supported by strata; give a number of seconds",
                              v));
  return fail(Errc::invalid_argument,
              fmt::format("invalid SOURCE_DATE_EPOCH: {} (a number of seconds since 1970)", v));
}

}  // namespace strata::cli
