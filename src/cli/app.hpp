// The command line: the global flags and every command, as main() parses
// them (global flags before or after the command; everything after
// `run IMAGE` is the container's). main() and the unit tests call it.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

#include "cli/common.hpp"

namespace strata::cli {

// Adds the global flags (into `g`) and the commands to `app`; the command
// that is parsed sets `run` to its action.
void add_commands(CLI::App& app, GlobalFlags& g, std::function<int()>& run);

}  // namespace strata::cli
