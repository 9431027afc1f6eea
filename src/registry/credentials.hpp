// Registry credentials where docker keeps them: $DOCKER_CONFIG/config.json,
// else ~/.docker/config.json, "auths" → host → "auth": base64("user:pass").
// `strata login` writes there too, so docker, podman (with
// REGISTRY_AUTH_FILE) and strata share one login. Credential helpers
// (credsStore, credHelpers) are not consulted.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "util/error.hpp"

namespace strata::registry {

struct Credentials {
  std::string username, password;
};

std::filesystem::path docker_config_path();

// The credentials for `registry` ("host:port", "docker.io"), if any.
std::optional<Credentials> find_credentials(const std::string& registry);

// Adds (or with nullopt removes) the entry for `registry`, keeping every
// other field of the file; written atomically with mode 0600.
Result<void> store_credentials(const std::string& registry, const std::optional<Credentials>& c);

}  // namespace strata::registry
