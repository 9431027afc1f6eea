// `strata build`: flags as `docker buildx build` spells them.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

namespace strata::cli {

struct BuildFlags {
  std::string context;
  std::string file;  // -f; "" = <context>/Dockerfile, "-" = stdin
  std::string target;
  std::string platform;                 // target platform; "" = the host's
  std::vector<std::string> build_args;  // K=V, or K to take V from the environment
  bool dry_run = false;
  std::string format = "text";
};

CLI::App* add_build_command(CLI::App& app, BuildFlags& flags);
// Runs the command; returns the process exit code.
int run_build(const BuildFlags& flags);

}  // namespace strata::cli
