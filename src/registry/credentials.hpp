// Registry credentials where docker keeps them: $DOCKER_CONFIG/config.json,
// else ~/.docker/config.json: the registry's helper in "credHelpers", else
// "auths" → host → "auth": base64("user:pass"), else the "credsStore"
// helper (docker-credential-NAME get). `strata login` writes to "auths",
// so docker, podman (with REGISTRY_AUTH_FILE) and strata share one login.
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
