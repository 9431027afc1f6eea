// `strata builder create|use|inspect|ls|rm|stop`: the builder names docker
// buildx scripts create and select (`docker buildx create --name N --use`,
// `docker buildx inspect N`), kept in the store (builders.json) with the
// store behind every one of them; what the docker CLI plugin runs for those
// buildx commands. buildx's options that mean nothing to strata are
// accepted and said to be ignored, once, on stderr.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "cli/common.hpp"

namespace strata::cli {

// The builders of a store: "default" always, and those created.
struct Builders {
  std::vector<std::string> names;  // created ones, in order
  std::string current;             // "" = default
};

// Reads and writes `root`/builders.json (a missing file: no builder yet).
Result<Builders> read_builders(const std::filesystem::path& root);
Result<void> write_builders(const std::filesystem::path& root, const Builders& b);

// buildx's rules for a builder name: letters, digits, '-', '_', '.'.
Result<void> check_builder_name(const std::string& name);

void add_builder_commands(CLI::App& app, const GlobalFlags& g, std::function<int()>& run);

}  // namespace strata::cli
