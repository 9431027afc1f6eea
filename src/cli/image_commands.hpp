// Commands on images in the store: images, inspect, tag, rmi, load, save, run.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

#include "cli/common.hpp"

namespace strata::cli {

// Adds the commands; each sets `run` to its action when it is parsed.
void add_image_commands(CLI::App& app, const GlobalFlags& g, std::function<int()>& run);

// `strata run`, whose arguments after the image are the container's command
// and must not be parsed as strata's flags.
int run_command(const GlobalFlags& g, const std::vector<std::string>& args);

}  // namespace strata::cli
