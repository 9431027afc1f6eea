#include "cli/docker_plugin.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/common.hpp"
#include "os/fs.hpp"

namespace fs = std::filesystem;

namespace strata::cli {

namespace {

constexpr std::string_view kMetadataCommand = "docker-cli-plugin-metadata";

}  // namespace

namespace {

// buildx prune's flags in `strata cache prune`'s words.
Result<PluginCall> translate_prune(const std::vector<std::string>& given) {
  PluginCall call{{"cache", "prune"}, "", {}};
  std::vector<std::string> flags;  // -af is -a -f, as cobra reads it
  for (const auto& f : given)
    if (f.size() > 2 && f[0] == '-' && f[1] != '-' &&
        f.find_first_not_of("af", 1) == std::string::npos)
      for (char c : f.substr(1)) flags.push_back(std::string("-") + c);
    else
      flags.push_back(f);
  for (size_t i = 0; i < flags.size(); ++i) {
    std::string f = flags[i], value;
    if (size_t eq = f.find('='); f.starts_with("--") && eq != std::string::npos)
      value = f.substr(eq + 1), f = f.substr(0, eq);
    auto next = [&]() -> std::string {
      if (!value.empty()) return value;
      return i + 1 < flags.size() ? flags[++i] : "";
    };
    if (f == "-a" || f == "--all") {
      call.args.push_back("--all");
    } else if (f == "-f" || f == "--force") {
      // strata asks no confirmation
    } else if (f == "--verbose") {
      call.notes.push_back("strata: --verbose is ignored: the summary is what strata prints");
    } else if (f == "--builder") {
      next();  // every builder name stands on the store
    } else if (f == "--keep-storage" || f == "--max-used-space") {
      call.args.push_back("--keep-storage");
      call.args.push_back(next());
    } else if (f == "--filter") {
      std::string filter = next();
      if (!filter.starts_with("until="))
        return fail(Errc::invalid_argument,
                    fmt::format("docker buildx prune --filter {}: strata prunes by age "
                                "(until=DURATION) and size (--keep-storage) only",
                                filter));
      call.args.push_back("--keep-duration");
      call.args.push_back(filter.substr(6));
    } else {
      return fail(Errc::invalid_argument,
                  fmt::format("docker buildx prune {}: not an option strata knows (-a, -f, "
                              "--filter until=DUR, --keep-storage SIZE)",
                              flags[i]));
    }
  }
  return call;
}

}  // namespace

std::optional<Result<PluginCall>> plugin_call(const std::vector<std::string>& argv) {
  if (argv.size() < 2) return std::nullopt;
  if (argv[1] == kMetadataCommand) {
    nlohmann::json meta = {
        {"SchemaVersion", "0.1.0"},
        {"Vendor", "strata"},
        {"Version", std::string(kVersion)},
        {"ShortDescription", "Build images with strata (a buildx-compatible face)"}};
    return PluginCall{{}, meta.dump() + "\n", {}};
  }
  if (argv[1] != "buildx") return std::nullopt;
  std::vector<std::string> rest(argv.begin() + 2, argv.end());
  // buildx's own flag before the command: `docker buildx --builder N inspect`.
  std::optional<std::string> builder;
  while (!rest.empty() && (rest[0] == "--builder" || rest[0].starts_with("--builder="))) {
    if (rest[0] == "--builder" && rest.size() < 2)
      return Result<PluginCall>(fail(Errc::invalid_argument, "docker buildx --builder: no name"));
    builder = rest[0] == "--builder" ? rest[1] : rest[0].substr(10);
    rest.erase(rest.begin(), rest.begin() + (rest[0] == "--builder" ? 2 : 1));
  }
  if (rest.empty() || rest[0] == "--help" || rest[0] == "-h") return PluginCall{{"--help"}, "", {}};
  const std::string command = rest[0];
  std::vector<std::string> flags(rest.begin() + 1, rest.end());
  auto with_builder = [&](std::vector<std::string> args) {
    args.insert(args.end(), flags.begin(), flags.end());
    if (builder) args.insert(args.end(), {"--builder", *builder});
    return PluginCall{std::move(args), "", {}};
  };
  if (command == "version")
    // As buildx prints it (tools compare the second field), strata named
    // in the third.
    return PluginCall{
        {}, fmt::format("github.com/docker/buildx v0.12.1 strata-{}\n", kVersion), {}};
  if (command == "build" || command == "b") return with_builder({"build"});
  if (command == "inspect" || command == "rm" || command == "stop")
    return with_builder({"builder", command});
  if (command == "create" || command == "use" || command == "ls")
    return PluginCall{[&] {
                        std::vector<std::string> args{"builder", command};
                        args.insert(args.end(), flags.begin(), flags.end());
                        return args;
                      }(),
                      "",
                      {}};
  if (command == "du") {
    PluginCall call{{"cache", "du"}, "", {}};
    for (const auto& f : flags)
      if (f == "--verbose" || f.starts_with("--filter"))
        call.notes.push_back(
            fmt::format("strata: {} is ignored: strata's du prints its store "
                        "by kind",
                        f));
    return call;
  }
  if (command == "prune") return translate_prune(flags);
  if (command == "imagetools" && !flags.empty() &&
      (flags[0] == "inspect" || flags[0] == "create")) {
    std::vector<std::string> args{"imagetools"};
    args.insert(args.end(), flags.begin(), flags.end());
    return PluginCall{std::move(args), "", {}};
  }
  return Result<PluginCall>(
      fail(Errc::invalid_argument,
           fmt::format("docker buildx {}: strata provides build, create, use, inspect, ls, rm, "
                       "stop, du, prune, imagetools inspect|create and version; run strata's own "
                       "commands for the rest (strata --help)",
                       command)));
}

fs::path user_plugin_dir() {
  if (const char* config = std::getenv("DOCKER_CONFIG"); config && *config)
    return fs::path(config) / "cli-plugins";
  const char* home = std::getenv("HOME");
  return fs::path(home && *home ? home : "/root") / ".docker" / "cli-plugins";
}

Result<fs::path> install_plugin(const fs::path& binary, std::optional<fs::path> dir, bool replace) {
  fs::path where = dir ? *dir : user_plugin_dir();
  TRY(os::make_dirs(where));
  fs::path link = where / "docker-buildx";
  std::error_code ec;
  if (fs::exists(fs::symlink_status(link, ec))) {
    bool ours = fs::equivalent(link, binary, ec);
    if (!ours && !replace)
      return fail(Errc::invalid_argument,
                  fmt::format("{} exists and is not strata (docker's own buildx?): move it away, "
                              "or pass --replace",
                              link.string()));
    fs::remove(link, ec);
    if (ec) return fail(Errc::io, fmt::format("removing {}: {}", link.string(), ec.message()));
  }
  fs::create_symlink(fs::absolute(binary), link, ec);
  if (ec) return fail(Errc::io, fmt::format("linking {}: {}", link.string(), ec.message()));
  return link;
}

void add_install_plugin_command(CLI::App& app, std::function<int()>& run) {
  struct Args {
    std::string dir;
    bool replace = false;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand(
      "install-plugin",
      "Install strata as the docker CLI's buildx plugin (docker buildx build runs strata)");
  cmd->add_option(
      "--dir", a->dir,
      "The cli-plugins directory (default: $DOCKER_CONFIG/cli-plugins or ~/.docker/cli-plugins)");
  cmd->add_flag("--replace", a->replace, "Replace a docker-buildx that is there already");
  cmd->callback([&run, a] {
    run = [a] {
      std::error_code ec;
      fs::path self = fs::read_symlink("/proc/self/exe", ec);
      if (ec)
        return report(Error{Errc::io, "cannot tell where the strata binary is: " + ec.message()});
      auto link = install_plugin(
          self, a->dir.empty() ? std::nullopt : std::optional<fs::path>(a->dir), a->replace);
      if (!link) return report(link.error());
      std::cout << fmt::format("installed {} -> {}: `docker buildx build` now runs strata\n",
                               link->string(), self.string());
      return 0;
    };
  });
}

}  // namespace strata::cli
