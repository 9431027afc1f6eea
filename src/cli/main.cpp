// strata: a daemonless, cache-first OCI image builder. Entry point: parses
// the command line and dispatches to the commands.
#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/build_command.hpp"

int main(int argc, char** argv) {
  CLI::App app{"strata: a daemonless, cache-first OCI image builder"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "strata 0.1.0");
  strata::cli::BuildFlags build;
  auto* build_cmd = strata::cli::add_build_command(app, build);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (build_cmd->parsed()) return strata::cli::run_build(build);
  return 0;
}
