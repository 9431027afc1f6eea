// OCI image-spec types (descriptors, manifests, indexes, configs, docker
// archive manifests) and media types, with their JSON forms, read from
// outside through oci/checked_json. Image configs stay nlohmann::json so
// that fields a base image sets and strata does not know survive a rebuild.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.hpp"

namespace strata::oci {

inline constexpr const char* kIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr const char* kManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr const char* kConfig = "application/vnd.oci.image.config.v1+json";
inline constexpr const char* kLayerTar = "application/vnd.oci.image.layer.v1.tar";
inline constexpr const char* kLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr const char* kLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd";
inline constexpr const char* kDockerManifest =
    "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr const char* kDockerManifestList =
    "application/vnd.docker.distribution.manifest.list.v2+json";
// An image index (OCI) or a manifest list (docker): not an image itself.
inline bool is_index_media_type(std::string_view media_type) {
  return media_type == kIndex || media_type == kDockerManifestList;
}
inline constexpr const char* kDockerConfig = "application/vnd.docker.container.image.v1+json";
inline constexpr const char* kDockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip";
inline constexpr const char* kRefNameAnnotation = "org.opencontainers.image.ref.name";

struct Descriptor {
  std::string media_type;
  std::string digest;
  int64_t size = 0;
  std::map<std::string, std::string> annotations;
  std::optional<nlohmann::json> platform;
};

// A layer of an image: its blob and the digest of its uncompressed tar
// (the config's diff id).
struct LayerRef {
  Descriptor blob;
  std::string diff_id;
};

struct Manifest {
  std::string media_type = kManifest;
  Descriptor config;
  std::vector<Descriptor> layers;
  std::map<std::string, std::string> annotations;  // --annotation
};

struct Index {
  std::string media_type = kIndex;
  std::vector<Descriptor> manifests;
  std::map<std::string, std::string> annotations;
};

// An image config: the document as it is (fields strata does not know
// survive a rebuild), its known fields checked, and its layers' diff ids.
struct Config {
  nlohmann::json doc;
  std::vector<std::string> diff_ids;
};

// One image of a docker archive's manifest.json.
struct DockerArchiveImage {
  std::string config;                  // path of the config in the archive
  std::vector<std::string> repo_tags;  // may be empty
  std::vector<std::string> layers;     // paths of the layer tars
};

// Parsers of documents from outside (oci/checked_json): sizes capped, every
// field strata reads checked for its type, errors that name `what` and the
// field; they never throw.
nlohmann::json to_json(const Descriptor& d);
Result<Descriptor> descriptor_from_json(const nlohmann::json& j,
                                        std::string_view what = "descriptor");
std::string to_json_text(const Manifest& m);  // canonical: the bytes that are hashed
Result<Manifest> parse_manifest(std::string_view text, std::string_view what = "manifest");
Result<Index> parse_index(std::string_view text, std::string_view what = "index");
Result<Config> parse_config(std::string_view text, std::string_view what = "image config");
Result<std::vector<DockerArchiveImage>> parse_docker_archive_manifest(std::string_view text);

// Canonical JSON text for a config or index (sorted keys, no spaces).
std::string canonical(const nlohmann::json& j);

// "busybox" -> "busybox:latest"; a name with a tag or digest is kept.
std::string normalize_name(std::string_view name);

// A name as containerd and BuildKit write it in an OCI index:
// "busybox" -> "docker.io/library/busybox:latest", "org/app:1" ->
// "docker.io/org/app:1"; a name with a registry host is kept.
std::string qualified_name(std::string_view name);
// The reverse, as docker shows names: "docker.io/library/busybox:latest" ->
// "busybox:latest".
std::string familiar_name(std::string_view name);
// The tag of a name ("latest" when it has none; "" for a digest).
std::string tag_of(std::string_view name);

}  // namespace strata::oci
