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

}  // namespace strata::cli
