// Commands that talk to registries: pull, push, login, logout.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

#include "cli/common.hpp"

namespace strata::cli {

void add_registry_commands(CLI::App& app, const GlobalFlags& g, std::function<int()>& run);

}  // namespace strata::cli
