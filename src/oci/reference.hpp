// Image references as `docker pull` reads them: [HOST[:PORT]/]PATH[:TAG][@DIGEST].
// A first component with a dot or a colon, or "localhost", is a registry
// host; otherwise the registry is Docker Hub and a one-component path gets
// "library/" in front.
#pragma once

#include <string>
#include <string_view>

#include "util/error.hpp"

namespace strata::oci {

inline constexpr const char* kDockerHub = "docker.io";

struct Reference {
  std::string registry;    // "127.0.0.1:5000", "docker.io"
  std::string repository;  // "team/app", "library/busybox"
  std::string tag;         // "latest" when neither tag nor digest was given
  std::string digest;      // "sha256:…" or empty

  // What to ask the registry's manifest endpoint for: the digest, else the tag.
  std::string manifest_ref() const { return digest.empty() ? tag : digest; }
  // The host the API lives on (Docker Hub's is registry-1.docker.io).
  std::string api_host() const;
  // "registry/repository:tag" (or "@digest" when there is no tag).
  std::string str() const;
  // "registry/repository", the source a blob can be fetched from again.
  std::string repo_path() const { return registry + "/" + repository; }
};

Result<Reference> parse_reference(std::string_view text);

// True when `name` starts with a registry host ("host:5000/app", "ghcr.io/x").
bool names_registry(std::string_view name);

}  // namespace strata::oci
