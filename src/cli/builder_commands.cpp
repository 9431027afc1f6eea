#include "cli/builder_commands.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>

#include <algorithm>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/docker_plugin.hpp"
#include "oci/platform.hpp"
#include "os/fs.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace strata::cli {

namespace {

constexpr std::string_view kDefault = "default";

struct BuilderArgs {
  std::string name, driver, buildkitd_flags, config, format;
  std::vector<std::string> names, driver_opts, platforms;
  std::optional<std::string> endpoint;
  bool use = false, bootstrap = false, append = false, leave = false, global = false,
       use_default = false, all_inactive = false, force = false, keep_state = false,
       keep_daemon = false, no_trunc = false;
  std::string node;
};

// Holds the store's builders.json lock for a read-modify-write.
class BuildersLock {
 public:
  static Result<BuildersLock> take(const fs::path& root) {
    os::UniqueFd fd(::open((root / "builders.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
    if (!fd) return std::unexpected(os::errno_error("opening", root / "builders.lock"));
    if (::flock(fd.get(), LOCK_EX) != 0)
      return std::unexpected(os::errno_error("locking", root / "builders.lock"));
    return BuildersLock(std::move(fd));
  }

 private:
  explicit BuildersLock(os::UniqueFd fd) : fd_(std::move(fd)) {}
  os::UniqueFd fd_;
};

void ignored(const std::string& what) {
  std::cerr << fmt::format(
      "strata: {} is ignored: strata builds in its own store, on this "
      "machine\n",
      what);
}

bool exists(const Builders& b, const std::string& name) {
  return name == kDefault || std::find(b.names.begin(), b.names.end(), name) != b.names.end();
}

Error no_builder(const std::string& name) {
  return Error{Errc::not_found, fmt::format("no builder \"{}\" found", name)};
}

std::string platforms() {
  return oci::host_platform().str();
}

// What `docker buildx inspect` prints, strata's store as the node's endpoint.
void print_inspect(const std::string& name, const fs::path& root) {
  std::cout << fmt::format(
      "Name:          {}\nDriver:        strata\n\nNodes:\nName:      {}0\nEndpoint:  {}\n"
      "Status:    running\nBuildkit:  strata-{}\nPlatforms: {}\n",
      name, name, root.string(), kVersion, platforms());
}

int cmd_create(const GlobalFlags& g, const BuilderArgs& a) {
  auto store = open_store(g);
  if (!store) return report(store.error());
  if (!a.driver.empty()) ignored("--driver " + a.driver);
  for (const auto& o : a.driver_opts) ignored("--driver-opt " + o);
  if (!a.buildkitd_flags.empty()) ignored("--buildkitd-flags");
  if (!a.config.empty()) ignored("--config " + a.config);
  for (const auto& p : a.platforms) ignored("--platform " + p);
  if (!a.node.empty()) ignored("--node " + a.node);
  if (a.endpoint) ignored("the endpoint " + *a.endpoint);
  if (a.append || a.leave)
    return report(Error{Errc::invalid_argument,
                        "--append and --leave change the nodes of a builder; a strata builder "
                        "has one node, its store"});
  auto lock = BuildersLock::take(store->root());
  if (!lock) return report(lock.error());
  auto b = read_builders(store->root());
  if (!b) return report(b.error());
  std::string name = a.name;
  if (name.empty()) {
    for (int i = 0; name.empty() || exists(*b, name); ++i) name = fmt::format("strata{}", i);
  }
  if (auto r = check_builder_name(name); !r) return report(r.error());
  if (exists(*b, name))
    return report(Error{Errc::invalid_argument,
                        fmt::format("existing instance for \"{}\" but no append mode, specify "
                                    "--node to make changes for existing instances",
                                    name)});
  b->names.push_back(name);
  if (a.use) b->current = name;
  if (auto r = write_builders(store->root(), *b); !r) return report(r.error());
  std::cout << name << "\n";
  return 0;
}

int cmd_use(const GlobalFlags& g, const BuilderArgs& a) {
  auto store = open_store(g);
  if (!store) return report(store.error());
  if (a.global) ignored("--global");
  auto lock = BuildersLock::take(store->root());
  if (!lock) return report(lock.error());
  auto b = read_builders(store->root());
  if (!b) return report(b.error());
  std::string name = a.use_default || a.name.empty() ? std::string(kDefault) : a.name;
  if (!exists(*b, name)) return report(no_builder(name));
  b->current = name == kDefault ? "" : name;
  if (auto r = write_builders(store->root(), *b); !r) return report(r.error());
  return 0;
}

int cmd_inspect(const GlobalFlags& g, const BuilderArgs& a) {
  auto store = open_store(g);
  if (!store) return report(store.error());
  auto b = read_builders(store->root());
  if (!b) return report(b.error());
  std::string name = !a.name.empty()       ? a.name
                     : !b->current.empty() ? b->current
                                           : std::string(kDefault);
  if (!exists(*b, name)) return report(no_builder(name));
  print_inspect(name, store->root());
  return 0;
}

int cmd_ls(const GlobalFlags& g, const BuilderArgs& a) {
  auto store = open_store(g);
  if (!store) return report(store.error());
  auto b = read_builders(store->root());
  if (!b) return report(b.error());
  std::vector<std::string> all = b->names;
  all.push_back(std::string(kDefault));
  std::string current = b->current.empty() ? std::string(kDefault) : b->current;
  if (a.format == "json") {
    for (const auto& n : all)
      std::cout << json{{"Name", n},
                        {"Driver", "strata"},
                        {"Current", n == current},
                        {"Nodes",
                         {{{"Name", n + "0"},
                           {"Endpoint", store->root().string()},
                           {"Status", "running"},
                           {"Version", "strata-" + std::string(kVersion)},
                           {"Platforms", {platforms()}}}}}}
                       .dump()
                << "\n";
    return 0;
  }
  if (!a.format.empty() && a.format != "table")
    return report(Error{Errc::invalid_argument,
                        fmt::format("--format {}: strata prints table or json", a.format)});
  std::cout << fmt::format("{:<24} {:<24} {:<8} {:<14} {}\n", "NAME/NODE", "DRIVER/ENDPOINT",
                           "STATUS", "BUILDKIT", "PLATFORMS");
  for (const auto& n : all) {
    std::cout << fmt::format("{:<24} {}\n", n + (n == current ? " *" : ""), "strata");
    std::cout << fmt::format("  {:<22} {:<24} {:<8} {:<14} {}\n", n + "0", store->root().string(),
                             "running", "strata-" + std::string(kVersion), platforms());
  }
  return 0;
}

int cmd_rm(const GlobalFlags& g, const BuilderArgs& a) {
  auto store = open_store(g);
  if (!store) return report(store.error());
  if (a.keep_state) ignored("--keep-state (the store is always kept)");
  if (a.keep_daemon) ignored("--keep-daemon");
  auto lock = BuildersLock::take(store->root());
  if (!lock) return report(lock.error());
  auto b = read_builders(store->root());
  if (!b) return report(b.error());
  std::vector<std::string> names = a.names;
  if (a.all_inactive) return 0;  // strata's builders are all active: the store is there
  if (names.empty()) names.push_back(b->current.empty() ? std::string(kDefault) : b->current);
  for (const auto& n : names) {
    if (n == kDefault)
      return report(Error{Errc::invalid_argument,
                          "default is the store's own builder and cannot be removed"});
    if (!exists(*b, n)) return report(no_builder(n));
  }
  for (const auto& n : names) {
    std::erase(b->names, n);
    if (b->current == n) b->current.clear();
  }
  if (auto r = write_builders(store->root(), *b); !r) return report(r.error());
  // The store and its cache stay: other builder names stand on it too.
  for (const auto& n : names) std::cerr << n << " removed\n";
  return 0;
}

int cmd_stop(const GlobalFlags& g, const BuilderArgs& a) {
  auto store = open_store(g);
  if (!store) return report(store.error());
  auto b = read_builders(store->root());
  if (!b) return report(b.error());
  if (!a.name.empty() && !exists(*b, a.name)) return report(no_builder(a.name));
  return 0;  // nothing runs between builds
}

}  // namespace

Result<Builders> read_builders(const fs::path& root) {
  Builders b;
  std::error_code ec;
  if (!fs::exists(root / "builders.json", ec)) return b;
  auto text = TRY_VALUE(os::read_file(root / "builders.json", 1 << 20));
  auto j = json::parse(text, nullptr, false);
  if (!j.is_object())
    return fail(Errc::syntax, fmt::format("{}: not a JSON object; remove it to start again",
                                          (root / "builders.json").string()));
  if (j.contains("builders") && j["builders"].is_array())
    for (const auto& n : j["builders"])
      if (n.is_string()) b.names.push_back(n.get<std::string>());
  if (j.contains("current") && j["current"].is_string() &&
      exists(b, j["current"].get<std::string>()))
    b.current = j["current"].get<std::string>();
  return b;
}

Result<void> write_builders(const fs::path& root, const Builders& b) {
  json j = {{"builders", b.names}, {"current", b.current}};
  return os::write_file_atomic(root / "builders.json", j.dump(2) + "\n");
}

Result<void> check_builder_name(const std::string& name) {
  bool ok =
      !name.empty() && name.size() <= 128 && std::isalnum(static_cast<unsigned char>(name[0]));
  for (unsigned char c : name)
    if (!std::isalnum(c) && c != '-' && c != '_' && c != '.') ok = false;
  if (ok) return {};
  return fail(Errc::invalid_argument,
              fmt::format("invalid builder name \"{}\": letters, digits, '-', '_' and '.', "
                          "starting with a letter or digit",
                          name));
}

void add_builder_commands(CLI::App& app, const GlobalFlags& g, std::function<int()>& run) {
  auto a = std::make_shared<BuilderArgs>();
  auto* builder = app.add_subcommand(
      "builder", "Builder names for docker buildx scripts (create, use, inspect, ls, rm, stop)");
  builder->require_subcommand(1);
  auto* create = builder->add_subcommand("create", "Create a builder name (the store behind it)");
  create->add_option("--name", a->name, "The name (default: strata0, strata1, ...)");
  create->add_flag("--use", a->use, "Make it the current builder");
  create->add_option("--driver", a->driver, "Accepted and ignored");
  create->add_option("--driver-opt", a->driver_opts, "Accepted and ignored");
  create->add_option("--platform", a->platforms, "Accepted and ignored");
  create->add_option("--buildkitd-flags", a->buildkitd_flags, "Accepted and ignored");
  create->add_option("--config,--buildkitd-config", a->config, "Accepted and ignored");
  create->add_option("--node", a->node, "Accepted and ignored");
  create->add_flag("--bootstrap", a->bootstrap, "Nothing to start: accepted");
  create->add_flag("--append", a->append, "Refused: a strata builder has one node");
  create->add_flag("--leave", a->leave, "Refused: a strata builder has one node");
  create->add_option("endpoint", a->endpoint, "Accepted and ignored");
  create->callback([&g, &run, a] { run = [&g, a] { return cmd_create(g, *a); }; });
  auto* use = builder->add_subcommand("use", "Make a builder the current one");
  use->add_option("name", a->name, "The builder");
  use->add_flag("--default", a->use_default, "The default builder");
  use->add_flag("--global", a->global, "Accepted and ignored");
  use->callback([&g, &run, a] { run = [&g, a] { return cmd_use(g, *a); }; });
  auto* inspect = builder->add_subcommand("inspect", "Describe a builder (default: the current)");
  inspect->add_option("name", a->name, "The builder");
  inspect->add_option("--builder", a->name, "The builder");
  inspect->add_flag("--bootstrap", a->bootstrap, "Nothing to start: accepted");
  inspect->callback([&g, &run, a] { run = [&g, a] { return cmd_inspect(g, *a); }; });
  auto* ls = builder->add_subcommand("ls", "List the builders");
  ls->add_option("--format", a->format, "table (default) or json");
  ls->add_flag("--no-trunc", a->no_trunc, "Nothing is truncated: accepted");
  ls->callback([&g, &run, a] { run = [&g, a] { return cmd_ls(g, *a); }; });
  auto* rm = builder->add_subcommand("rm", "Remove builder names (the store stays)");
  rm->add_option("names", a->names, "The builders (default: the current)");
  rm->add_option("--builder", a->names, "The builder");
  rm->add_flag("--all-inactive", a->all_inactive, "Every inactive builder: none is");
  rm->add_flag("-f,--force", a->force, "No confirmation is asked: accepted");
  rm->add_flag("--keep-state", a->keep_state, "The store is always kept: accepted");
  rm->add_flag("--keep-daemon", a->keep_daemon, "Accepted and ignored");
  rm->callback([&g, &run, a] { run = [&g, a] { return cmd_rm(g, *a); }; });
  auto* stop = builder->add_subcommand("stop", "Nothing runs between builds: accepted");
  stop->add_option("name", a->name, "The builder");
  stop->add_option("--builder", a->name, "The builder");
  stop->callback([&g, &run, a] { run = [&g, a] { return cmd_stop(g, *a); }; });
}

}  // namespace strata::cli
