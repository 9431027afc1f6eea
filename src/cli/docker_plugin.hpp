// strata as the docker CLI's buildx plugin: installed as `docker-buildx` in
// a cli-plugins directory, the docker CLI runs it for `docker buildx …` (and
// docker 23 and later for `docker build …`). The plugin protocol
// (`docker-cli-plugin-metadata`, the plugin's name as the first argument),
// the translation of `buildx` commands into strata's own, and
// `strata install-plugin`. main() asks plugin_call first.
#pragma once

#include <CLI/CLI.hpp>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "util/error.hpp"

namespace strata::cli {

inline constexpr std::string_view kVersion = "0.1.0";

// What a plugin invocation asks for: strata's own command line to run
// (`build …`), or text to print (the metadata, a version).
struct PluginCall {
  std::vector<std::string> args;   // strata's arguments, without the program name
  std::string print;               // printed on stdout instead, when args is empty
  std::vector<std::string> notes;  // said on stderr first: buildx options strata ignores
};

// argv as the docker CLI passes it to a plugin (argv[0] the binary,
// argv[1] `docker-cli-plugin-metadata` or `buildx`); nullopt when it is
// not a plugin invocation (an ordinary strata command line). buildx's
// commands become strata's: build -> build, create/use/inspect/ls/rm/stop ->
// builder ..., du -> cache du, prune -> cache prune, imagetools inspect ->
// imagetools inspect; `--builder N` before the command goes to it. A buildx
// command strata does not provide is an error that says so.
std::optional<Result<PluginCall>> plugin_call(const std::vector<std::string>& argv);

// The user's directory of docker CLI plugins, the first place docker
// looks: $DOCKER_CONFIG/cli-plugins, else ~/.docker/cli-plugins.
std::filesystem::path user_plugin_dir();

// Links `binary` as `dir`/docker-buildx (dir: the user's plugin directory
// when not given); an existing docker-buildx that is not strata is kept
// unless `replace`. Returns the link's path.
Result<std::filesystem::path> install_plugin(const std::filesystem::path& binary,
                                             std::optional<std::filesystem::path> dir,
                                             bool replace);

// `strata install-plugin [--dir DIR] [--replace]`.
void add_install_plugin_command(CLI::App& app, std::function<int()>& run);

}  // namespace strata::cli
