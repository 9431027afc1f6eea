#include "docker/load.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "archive/tar.hpp"
#include "digest/sha256.hpp"
#include "oci/reference.hpp"
#include "os/fs.hpp"
#include "util/strings.hpp"

using nlohmann::json;

namespace strata::docker {

namespace {

// The layer chains of every image the daemon has (RootFS.Layers, bottom
// first), stopping early once one holds all of `ours`.
Result<std::vector<std::vector<std::string>>> daemon_chains(Engine& engine,
                                                            const std::vector<std::string>& ours) {
  auto list = TRY_VALUE(engine.get("/images/json?all=1"));
  if (!list.ok())
    return fail(Errc::io, fmt::format("listing the images of the docker daemon at {}: {}",
                                      engine.address(), list.message()));
  auto images = json::parse(list.body, nullptr, false);
  std::vector<std::vector<std::string>> chains;
  if (!images.is_array()) return chains;
  for (const auto& img : images) {
    if (!img.is_object() || !img.contains("Id") || !img["Id"].is_string()) continue;
    auto inspected = TRY_VALUE(engine.get("/images/" + img["Id"].get<std::string>() + "/json"));
    if (!inspected.ok()) continue;  // removed meanwhile
    auto doc = json::parse(inspected.body, nullptr, false);
    std::vector<std::string> chain;
    if (doc.is_object() && doc.contains("RootFS") && doc["RootFS"].is_object() &&
        doc["RootFS"].contains("Layers") && doc["RootFS"]["Layers"].is_array())
      for (const auto& l : doc["RootFS"]["Layers"])
        if (l.is_string()) chain.push_back(l.get<std::string>());
    chains.push_back(std::move(chain));
    if (layers_present(ours, {chains.back()}) == ours.size()) break;
  }
  return chains;
}

// The uncompressed size of a layer: known to the store, else counted now
// (and checked against the diff id on the way) and remembered.
Result<uint64_t> uncompressed_size(store::Store& store, const oci::LayerRef& layer) {
  if (auto known = TRY_VALUE(store.layer_size(layer.diff_id))) return *known;
  archive::NullSink discard;
  archive::HashingSink hashed(discard);
  TRY(archive::decompress(store.blob_path(layer.blob.digest), hashed));
  TRY(hashed.finish());
  if (hashed.digest() != layer.diff_id)
    return fail(Errc::invalid_argument,
                fmt::format("layer {} holds content with the digest {}, not its diff id {}; "
                            "the image is damaged",
                            layer.blob.digest, hashed.digest(), layer.diff_id));
  TRY(store.put_layer_size(layer.diff_id, hashed.size()));
  return hashed.size();
}

// docker names: "app" -> "app:latest"; a name by digest alone has no tag
// docker can give it and is left out.
std::vector<std::string> docker_tags(const std::vector<std::string>& names) {
  std::vector<std::string> tags;
  for (const auto& n : names) {
    auto ref = oci::parse_reference(n);
    if (!ref || ref->tag.empty()) continue;
    std::string t = oci::normalize_name(n);
    if (std::find(tags.begin(), tags.end(), t) == tags.end()) tags.push_back(t);
  }
  return tags;
}

// POST /images/load answers 200 and then says in its JSON lines whether it
// worked.
Result<void> check_load_answer(const EngineResponse& r, const Engine& engine) {
  if (!r.ok())
    return fail(Errc::io, fmt::format("the docker daemon at {} refused the image ({}): {}",
                                      engine.address(), r.status, r.message()));
  for (const auto& line : split(r.body, '\n')) {
    auto j = json::parse(line, nullptr, false);
    if (j.is_object() && j.contains("error"))
      return fail(
          Errc::io,
          fmt::format("the docker daemon at {} could not load the image: {}", engine.address(),
                      j["error"].is_string() ? j["error"].get<std::string>() : line));
  }
  return {};
}

Result<void> tag_in_daemon(Engine& engine, const std::string& id, const std::string& tag) {
  auto ref = TRY_VALUE(oci::parse_reference(tag));
  std::string repo = ref.registry + "/" + ref.repository;
  auto r = TRY_VALUE(engine.post(
      fmt::format("/images/{}/tag?repo={}&tag={}", id, url_encode(repo), url_encode(ref.tag))));
  if (!r.ok())
    return fail(Errc::io, fmt::format("tagging {} as {} in the docker daemon at {}: {}", id, tag,
                                      engine.address(), r.message()));
  return {};
}

}  // namespace

size_t layers_present(const std::vector<std::string>& ours,
                      const std::vector<std::vector<std::string>>& theirs) {
  size_t best = 0;
  for (const auto& chain : theirs) {
    size_t n = 0;
    while (n < ours.size() && n < chain.size() && ours[n] == chain[n]) ++n;
    best = std::max(best, n);
  }
  return best;
}

Result<DockerLoadResult> load_into_docker(store::Store& store, Engine& engine,
                                          const images::StoredImage& image,
                                          const std::vector<std::string>& names,
                                          const std::function<void(const std::string&)>& note) {
  DockerLoadResult out;
  out.image_id = image.manifest.config.digest;
  out.layers = image.layers.size();
  std::vector<std::string> tags = docker_tags(names);
  auto say = [&](const std::string& s) {
    if (note) note(s);
  };

  auto existing = TRY_VALUE(engine.get("/images/" + out.image_id + "/json"));
  if (existing.ok()) {
    out.was_there = true;
    for (const auto& t : tags) TRY(tag_in_daemon(engine, out.image_id, t));
    say(fmt::format("the docker daemon has image {} already: tagged, nothing sent",
                    out.image_id.substr(0, 19)));
    return out;
  }
  if (existing.status != 404)
    return fail(Errc::io, fmt::format("asking the docker daemon at {} for image {}: {}",
                                      engine.address(), out.image_id, existing.message()));

  std::vector<std::string> ours;
  for (const auto& l : image.layers) ours.push_back(l.diff_id);
  size_t present = layers_present(ours, TRY_VALUE(daemon_chains(engine, ours)));
  std::vector<uint64_t> sizes(image.layers.size(), 0);
  for (size_t i = present; i < image.layers.size(); ++i) {
    TRY(store.ensure_blob(image.layers[i].blob));
    sizes[i] = TRY_VALUE(uncompressed_size(store, image.layers[i]));
  }
  auto config = TRY_VALUE(os::read_file(store.blob_path(image.manifest.config.digest)));

  std::string config_name = std::string(digest_hex(image.manifest.config.digest)) + ".json";
  json layer_names = json::array();
  for (const auto& l : image.layers)
    layer_names.push_back(std::string(digest_hex(l.diff_id)) + "/layer.tar");
  json manifest =
      json::array({{{"Config", config_name}, {"RepoTags", tags}, {"Layers", layer_names}}});

  auto write_archive = [&](archive::Sink& body) -> Result<void> {
    // Layers are decompressed on this thread and sent from another, so
    // that neither waits for the other.
    archive::ThreadedSink sending(body);
    archive::TarWriter tar(sending);
    TRY(tar.add_data(archive::TarEntry::archive_member(config_name, config.size()), config));
    TRY(tar.add_data(archive::TarEntry::archive_member("manifest.json", 0), manifest.dump()));
    for (size_t i = present; i < image.layers.size(); ++i) {
      archive::TarEntry dir;
      dir.type = archive::TarEntry::dir;
      dir.path = digest_hex(image.layers[i].diff_id);
      dir.mode = 0755;
      TRY(tar.add(dir));
      const auto& blob = image.layers[i].blob;
      TRY(tar.add_streamed(archive::TarEntry::archive_member(dir.path + "/layer.tar", sizes[i]),
                           [&](archive::Sink& content) {
                             return archive::decompress(store.blob_path(blob.digest), content);
                           }));
      ++out.layers_sent;
    }
    return tar.finish();
  };
  auto answer = TRY_VALUE(engine.post_stream("/images/load?quiet=1", "application/x-tar",
                                             write_archive, &out.bytes_sent));
  TRY(check_load_answer(answer, engine));
  say(
      fmt::format("loaded into the docker daemon: {} of {} layers sent ({} already there), {} "
                  "bytes",
                  out.layers_sent, out.layers, present, out.bytes_sent));
  return out;
}

}  // namespace strata::docker
