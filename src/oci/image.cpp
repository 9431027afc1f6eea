#include "oci/image.hpp"

#include <fmt/format.h>

#include "digest/sha256.hpp"

namespace strata::oci {

using nlohmann::json;

json to_json(const Descriptor& d) {
  json j = {{"mediaType", d.media_type}, {"digest", d.digest}, {"size", d.size}};
  if (!d.annotations.empty()) j["annotations"] = d.annotations;
  if (d.platform) j["platform"] = *d.platform;
  return j;
}

Result<Descriptor> descriptor_from_json(const json& j) {
  if (!j.is_object() || !j.contains("digest") || !j["digest"].is_string() || !j.contains("size") ||
      !j["size"].is_number_integer()) {
    return fail(Errc::syntax, "malformed descriptor: needs a digest and a size");
  }
  Descriptor d;
  d.media_type = j.value("mediaType", "");
  d.digest = j["digest"].get<std::string>();
  d.size = j["size"].get<int64_t>();
  if (!valid_digest(d.digest))
    return fail(Errc::syntax, fmt::format("unsupported digest \"{}\"", d.digest));
  if (d.size < 0) return fail(Errc::syntax, "descriptor with a negative size");
  if (j.contains("annotations") && j["annotations"].is_object()) {
    for (auto& [k, v] : j["annotations"].items())
      if (v.is_string()) d.annotations[k] = v.get<std::string>();
  }
  if (j.contains("platform")) d.platform = j["platform"];
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
  return canonical(j);
}

Result<Manifest> parse_manifest(std::string_view text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return fail(Errc::syntax, "manifest is not a JSON object");
  Manifest m;
  m.media_type = j.value("mediaType", kManifest);
  if (!j.contains("config")) return fail(Errc::syntax, "manifest without a config");
  auto c = descriptor_from_json(j["config"]);
  if (!c) return std::unexpected(c.error().with_context("manifest config"));
  m.config = *c;
  if (j.contains("layers") && j["layers"].is_array()) {
    for (const auto& l : j["layers"]) {
      auto d = descriptor_from_json(l);
      if (!d) return std::unexpected(d.error().with_context("manifest layer"));
      m.layers.push_back(*d);
    }
  }
  return m;
}

std::string normalize_name(std::string_view name) {
  std::string n(name);
  if (n.find('@') != std::string::npos) return n;
  size_t slash = n.rfind('/');
  size_t colon = n.rfind(':');
  if (colon == std::string::npos || (slash != std::string::npos && colon < slash)) n += ":latest";
  return n;
}

}  // namespace strata::oci
