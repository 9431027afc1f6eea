#include "oci/image.hpp"

#include <fmt/format.h>

#include "digest/sha256.hpp"
#include "oci/checked_json.hpp"

namespace strata::oci {

using nlohmann::json;

json to_json(const Descriptor& d) {
  json j = {{"mediaType", d.media_type}, {"digest", d.digest}, {"size", d.size}};
  if (!d.annotations.empty()) j["annotations"] = d.annotations;
  if (d.platform) j["platform"] = *d.platform;
  return j;
}

Result<Descriptor> descriptor_from_json(const json& j, std::string_view what) {
  auto f = Fields::of(j, std::string(what));
  if (!f) return std::unexpected(f.error());
  Descriptor d;
  auto media_type = f->string("mediaType");
  if (!media_type) return std::unexpected(media_type.error());
  d.media_type = media_type->value_or("");
  auto digest = f->need(f->string("digest"), "digest");
  if (!digest) return std::unexpected(digest.error());
  d.digest = std::move(*digest);
  if (!valid_digest(d.digest))
    return fail(Errc::syntax, fmt::format("{}: unsupported digest \"{}\"", what, d.digest));
  auto size = f->need(f->integer("size"), "size");
  if (!size) return std::unexpected(size.error());
  if (*size < 0) return fail(Errc::syntax, fmt::format("{}: a negative size", what));
  d.size = *size;
  auto annotations = f->string_map("annotations");
  if (!annotations) return std::unexpected(annotations.error());
  if (*annotations)
    for (auto& [k, v] : **annotations) d.annotations[k] = std::move(v);
  auto platform = f->object("platform");
  if (!platform) return std::unexpected(platform.error());
  if (*platform) d.platform = **platform;
  return d;
}

std::string canonical(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string to_json_text(const Manifest& m) {
  json layers = json::array();
  for (const auto& l : m.layers) layers.push_back(to_json(l));
  json j = {{"schemaVersion", 2},
            {"mediaType", m.media_type},
            {"config", to_json(m.config)},
            {"layers", layers}};
  if (!m.annotations.empty()) j["annotations"] = m.annotations;
  return canonical(j);
}

Result<Manifest> parse_manifest(std::string_view text, std::string_view what) {
  auto j = parse_json(text, what, kMaxManifestBytes);
  if (!j) return std::unexpected(j.error());
  auto f = Fields::of(*j, std::string(what));
  if (!f) return std::unexpected(f.error());
  Manifest m;
  auto media_type = f->string("mediaType");
  if (!media_type) return std::unexpected(media_type.error());
  m.media_type = media_type->value_or(kManifest);
  auto config = f->object("config");
  if (!config) return std::unexpected(config.error());
  if (!*config) return f->missing("config");
  auto c = descriptor_from_json(**config, fmt::format("{}: config", what));
  if (!c) return std::unexpected(c.error());
  m.config = std::move(*c);
  auto layers = f->array("layers");
  if (!layers) return std::unexpected(layers.error());
  if (!*layers) return f->missing("layers");
  for (size_t i = 0; i < (*layers)->size(); ++i) {
    auto d = descriptor_from_json((**layers)[i], fmt::format("{}: layer {}", what, i + 1));
    if (!d) return std::unexpected(d.error());
    m.layers.push_back(std::move(*d));
  }
  auto annotations = TRY_VALUE(f->string_map("annotations"));
  if (annotations)
    for (auto& [k, v] : *annotations) m.annotations[k] = std::move(v);
  return m;
}

Result<Index> parse_index(std::string_view text, std::string_view what) {
  auto j = parse_json(text, what, kMaxManifestBytes);
  if (!j) return std::unexpected(j.error());
  auto f = Fields::of(*j, std::string(what));
  if (!f) return std::unexpected(f.error());
  Index index;
  auto media_type = f->string("mediaType");
  if (!media_type) return std::unexpected(media_type.error());
  index.media_type = media_type->value_or(kIndex);
  auto manifests = f->array("manifests");
  if (!manifests) return std::unexpected(manifests.error());
  if (!*manifests) return f->missing("manifests");
  for (size_t i = 0; i < (*manifests)->size(); ++i) {
    auto d = descriptor_from_json((**manifests)[i], fmt::format("{}: manifest {}", what, i + 1));
    if (!d) return std::unexpected(d.error());
    index.manifests.push_back(std::move(*d));
  }
  auto annotations = TRY_VALUE(f->string_map("annotations"));
  if (annotations)
    for (auto& [k, v] : *annotations) index.annotations[k] = std::move(v);
  return index;
}

namespace {

// The fields of an image config that strata reads have the types the image
// spec gives them (so that reading them later cannot fail).
Result<void> check_config_section(const Fields& top) {
  auto section = top.object("config");
  if (!section) return std::unexpected(section.error());
  if (!*section) return {};
  Fields c(**section, top.what() + ": config");
  for (const char* key : {"User", "WorkingDir", "StopSignal"})
    if (auto r = c.string(key); !r) return std::unexpected(r.error());
  for (const char* key : {"Env", "Cmd", "Entrypoint", "Shell", "OnBuild"})
    if (auto r = c.strings(key); !r) return std::unexpected(r.error());
  if (auto r = c.string_map("Labels"); !r) return std::unexpected(r.error());
  for (const char* key : {"ExposedPorts", "Volumes"})
    if (auto r = c.object(key); !r) return std::unexpected(r.error());
  auto health = c.object("Healthcheck");
  if (!health) return std::unexpected(health.error());
  if (*health) {
    Fields h(**health, c.what() + ": Healthcheck");
    if (auto r = h.strings("Test"); !r) return std::unexpected(r.error());
    for (const char* key : {"Interval", "Timeout", "StartPeriod", "StartInterval", "Retries"})
      if (auto r = h.integer(key); !r) return std::unexpected(r.error());
  }
  return {};
}

}  // namespace

Result<Config> parse_config(std::string_view text, std::string_view what) {
  auto j = parse_json(text, what, kMaxConfigBytes);
  if (!j) return std::unexpected(j.error());
  auto f = Fields::of(*j, std::string(what));
  if (!f) return std::unexpected(f.error());
  for (const char* key : {"architecture", "os", "variant", "author", "created"})
    if (auto r = f->string(key); !r) return std::unexpected(r.error());
  if (auto r = check_config_section(*f); !r) return std::unexpected(r.error());
  auto history = f->array("history");
  if (!history) return std::unexpected(history.error());
  if (*history) {
    for (size_t i = 0; i < (*history)->size(); ++i) {
      auto h = Fields::of((**history)[i], fmt::format("{}: history entry {}", what, i + 1));
      if (!h) return std::unexpected(h.error());
      for (const char* key : {"created", "created_by", "author", "comment"})
        if (auto r = h->string(key); !r) return std::unexpected(r.error());
      if (auto r = h->boolean("empty_layer"); !r) return std::unexpected(r.error());
    }
  }
  // Docker leaves "diff_ids" out of an image without layers (omitempty);
  // that its count matches the manifest's layers is checked by the caller.
  auto rootfs = f->object("rootfs");
  if (!rootfs) return std::unexpected(rootfs.error());
  std::vector<std::string> diff_ids;
  if (*rootfs) {
    Fields r(**rootfs, std::string(what) + ": rootfs");
    auto listed = r.strings("diff_ids");
    if (!listed) return std::unexpected(listed.error());
    if (*listed) diff_ids = std::move(**listed);
    for (const auto& d : diff_ids)
      if (!valid_digest(d))
        return fail(Errc::syntax, fmt::format("{}: unsupported diff id \"{}\"", r.what(), d));
  }
  return Config{std::move(*j), std::move(diff_ids)};
}

Result<std::vector<DockerArchiveImage>> parse_docker_archive_manifest(std::string_view text) {
  constexpr std::string_view what = "manifest.json";
  auto j = parse_json(text, what, kMaxManifestBytes);
  if (!j) return std::unexpected(j.error());
  if (!j->is_array()) return fail(Errc::syntax, "manifest.json is not a list");
  std::vector<DockerArchiveImage> out;
  for (size_t i = 0; i < j->size(); ++i) {
    auto f = Fields::of((*j)[i], fmt::format("manifest.json: entry {}", i + 1));
    if (!f) return std::unexpected(f.error());
    DockerArchiveImage img;
    auto config = f->need(f->string("Config"), "Config");
    if (!config) return std::unexpected(config.error());
    img.config = std::move(*config);
    auto tags = f->strings("RepoTags");
    if (!tags) return std::unexpected(tags.error());
    img.repo_tags = tags->value_or(std::vector<std::string>{});
    auto layers = f->need(f->strings("Layers"), "Layers");
    if (!layers) return std::unexpected(layers.error());
    img.layers = std::move(*layers);
    out.push_back(std::move(img));
  }
  return out;
}

std::string normalize_name(std::string_view name) {
  std::string n(name);
  if (n.find('@') != std::string::npos) return n;
  size_t slash = n.rfind('/');
  size_t colon = n.rfind(':');
  if (colon == std::string::npos || (slash != std::string::npos && colon < slash)) n += ":latest";
  return n;
}

std::string qualified_name(std::string_view name) {
  std::string n = normalize_name(name);
  size_t slash = n.find('/');
  std::string first = slash == std::string::npos ? "" : n.substr(0, slash);
  bool has_host = !first.empty() && (first.find('.') != std::string::npos ||
                                     first.find(':') != std::string::npos || first == "localhost");
  if (has_host) return n;
  return slash == std::string::npos ? "docker.io/library/" + n : "docker.io/" + n;
}

std::string familiar_name(std::string_view name) {
  std::string n = normalize_name(name);
  constexpr std::string_view library = "docker.io/library/", hub = "docker.io/";
  if (n.starts_with(library) && n.find('/', library.size()) == std::string::npos)
    return n.substr(library.size());
  if (n.starts_with(hub)) return n.substr(hub.size());
  return n;
}

std::string tag_of(std::string_view name) {
  std::string n = normalize_name(name);
  if (n.find('@') != std::string::npos) return "";
  return n.substr(n.rfind(':') + 1);
}

}  // namespace strata::oci
