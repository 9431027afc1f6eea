#include "registry/credentials.hpp"

#include <fmt/format.h>
#include <sys/stat.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "oci/reference.hpp"
#include "os/fs.hpp"
#include "os/process.hpp"
#include "util/strings.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace strata::registry {

namespace {

// The keys docker writes: "host:port", "https://host/v1/" for Docker Hub.
std::string key_host(std::string key) {
  if (size_t s = key.find("://"); s != std::string::npos) key = key.substr(s + 3);
  key = key.substr(0, key.find('/'));
  if (key == "index.docker.io" || key == "registry-1.docker.io") key = oci::kDockerHub;
  return key;
}

std::string file_key(const std::string& registry) {
  return registry == oci::kDockerHub ? "https://index.docker.io/v1/" : registry;
}

}  // namespace

fs::path docker_config_path() {
  if (const char* d = std::getenv("DOCKER_CONFIG"); d && *d) return fs::path(d) / "config.json";
  const char* home = std::getenv("HOME");
  return fs::path(home ? home : "/root") / ".docker" / "config.json";
}

namespace {

// Asks `docker-credential-NAME get` (docker's credential helper protocol:
// the server on stdin, {"Username","Secret"} on stdout).
std::optional<Credentials> from_helper(const std::string& name, const std::string& registry) {
  if (name.empty() || name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                             "0123456789-_.") != std::string::npos)
    return std::nullopt;
  os::ProcessSpec spec;
  spec.argv = {"/bin/sh", "-c",
               "printf '%s' \"$0\" | exec docker-credential-" + name + " get 2>/dev/null",
               file_key(registry)};
  std::string out;
  spec.on_line = [&](const std::string& line) { out += line + "\n"; };
  auto r = os::run_process(spec);
  if (!r || r->exit_code != 0) return std::nullopt;
  json j = json::parse(out, nullptr, false);
  if (!j.is_object() || !j.contains("Secret") || !j["Secret"].is_string()) return std::nullopt;
  return Credentials{j.value("Username", ""), j["Secret"].get<std::string>()};
}

std::optional<Credentials> from_auths(const json& auths, const std::string& registry) {
  for (const auto& [key, entry] : auths.items()) {
    if (key_host(key) != registry || !entry.is_object()) continue;
    std::string auth = entry.value("auth", "");
    if (auto plain = base64_decode(auth)) {
      size_t colon = plain->find(':');
      if (colon != std::string::npos)
        return Credentials{plain->substr(0, colon), plain->substr(colon + 1)};
    }
    if (entry.contains("username") && entry.contains("password"))
      return Credentials{entry.value("username", ""), entry.value("password", "")};
  }
  return std::nullopt;
}

}  // namespace

std::optional<Credentials> find_credentials(const std::string& registry) {
  auto text = os::read_file(docker_config_path());
  if (!text) return std::nullopt;
  json cfg = json::parse(*text, nullptr, false);
  if (!cfg.is_object()) return std::nullopt;
  // As docker reads it: a helper for this registry, then auths, then the
  // default helper.
  if (cfg.contains("credHelpers") && cfg["credHelpers"].is_object())
    for (const auto& [key, helper] : cfg["credHelpers"].items())
      if (key_host(key) == registry && helper.is_string())
        return from_helper(helper.get<std::string>(), registry);
  if (cfg.contains("auths") && cfg["auths"].is_object()) {
    if (auto found = from_auths(cfg["auths"], registry)) return found;
  }
  if (cfg.contains("credsStore") && cfg["credsStore"].is_string())
    return from_helper(cfg["credsStore"].get<std::string>(), registry);
  return std::nullopt;
}

Result<void> store_credentials(const std::string& registry, const std::optional<Credentials>& c) {
  fs::path path = docker_config_path();
  json cfg = json::object();
  if (auto text = os::read_file(path)) {
    cfg = json::parse(*text, nullptr, false);
    if (!cfg.is_object())
      return fail(Errc::syntax,
                  fmt::format("{} is not a JSON object; fix or remove it", path.string()));
  }
  if (!cfg.contains("auths") || !cfg["auths"].is_object()) cfg["auths"] = json::object();
  json& auths = cfg["auths"];
  for (auto it = auths.begin(); it != auths.end();) {
    if (key_host(it.key()) == registry)
      it = auths.erase(it);
    else
      ++it;
  }
  if (c) auths[file_key(registry)] = {{"auth", base64_encode(c->username + ":" + c->password)}};
  if (auto r = os::make_dirs(path.parent_path()); !r) return r;
  // Never readable by others, not even for a moment: the umask makes the
  // temporary file 0600 before it is renamed into place.
  mode_t old_mask = ::umask(077);
  auto r = os::write_file_atomic(path, cfg.dump(1, '\t') + "\n");
  ::umask(old_mask);
  return r;
}

}  // namespace strata::registry
