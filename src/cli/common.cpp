#include "cli/common.hpp"

#include <cstdlib>
#include <iostream>

#include "exec/leftover_containers.hpp"
#include "util/strings.hpp"

namespace strata::cli {

int report(const Error& e) {
  std::cerr << "error: " << e.message << "\n";
  return 1;
}

Result<store::Store> open_store(const GlobalFlags& g) {
  auto root = g.root.empty() ? store::default_root() : std::filesystem::path(g.root);
  // Containers of strata processes that were killed (and their watchers
  // with them) go first; opening the store then removes what they left.
  exec::reap_containers();
  auto s = store::Store::open(root);
  if (!s) return std::unexpected(s.error().with_context("opening the store at " + root.string()));
  for (const auto& note : s->recovery_notes()) std::cerr << "warning: " << note << "\n";
  s->set_blob_fetcher(images::registry_fetcher(pull_options(g)));
  return s;
}

images::PullOptions pull_options(const GlobalFlags& g) {
  images::PullOptions o;
  std::vector<std::string> hosts = g.insecure_registries;
  if (const char* e = std::getenv("STRATA_INSECURE_REGISTRIES"); e && *e) hosts.push_back(e);
  o.client.insecure = join(hosts, ",");
  o.log = [](const std::string& line) { std::cerr << line << "\n"; };
  return o;
}

Result<docker::DockerLoadResult> load_into_docker_daemon(
    store::Store& store, const images::StoredImage& image, const std::vector<std::string>& names,
    const std::function<void(const std::string&)>& note) {
  auto engine = TRY_VALUE(docker::Engine::from_environment());
  auto r = docker::load_into_docker(store, engine, image, names, note);
  if (!r) return std::unexpected(r.error().with_context("loading into the docker daemon"));
  return r;
}

}  // namespace strata::cli
