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

std::optional<Result<PluginCall>> plugin_call(const std::vector<std::string>& argv) {
  if (argv.size() < 2) return std::nullopt;
  if (argv[1] == kMetadataCommand) {
    nlohmann::json meta = {
        {"SchemaVersion", "0.1.0"},
        {"Vendor", "strata"},
        {"Version", std::string(kVersion)},
        {"ShortDescription", "Build images with strata (a buildx-compatible face)"}};
    return PluginCall{{}, meta.dump() + "\n"};
  }
  if (argv[1] != "buildx") return std::nullopt;
  std::vector<std::string> rest(argv.begin() + 2, argv.end());
  if (rest.empty() || rest[0] == "--help" || rest[0] == "-h") return PluginCall{{"--help"}, ""};
  const std::string& command = rest[0];
  if (command == "version")
    // As buildx prints it (tools compare the second field), strata named
    // in the third.
    return PluginCall{{}, fmt::format("github.com/docker/buildx v0.12.1 strata-{}\n", kVersion)};
  if (command == "build" || command == "b") {
    std::vector<std::string> args = {"build"};
    args.insert(args.end(), rest.begin() + 1, rest.end());
    return PluginCall{std::move(args), ""};
  }
  return Result<PluginCall>(
      fail(Errc::invalid_argument,
           fmt::format("docker buildx {}: strata provides `docker buildx build` and `docker buildx "
                       "version` so far; run strata's own commands for the rest (strata --help)",
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
