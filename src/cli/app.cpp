#include "cli/app.hpp"

#include <fmt/format.h>

#include "cli/build_command.hpp"
#include "cli/builder_commands.hpp"
#include "cli/docker_plugin.hpp"
#include "cli/image_commands.hpp"
#include "cli/registry_commands.hpp"

namespace strata::cli {

namespace {

void add_global_flags(CLI::App& to, GlobalFlags& g) {
  to.add_option("--root", g.root,
                "Store directory (default: $STRATA_ROOT, else /var/lib/strata as root, "
                "~/.local/share/strata without root)");
  to.add_option("--runtime", g.runtime, "OCI runtime: crun (default when installed) or runc")
      ->check(CLI::IsMember({"crun", "runc"}));
  to.add_option("--insecure-registry", g.insecure_registries,
                "Speak plain http to this registry (repeatable; loopback registries always are)");
}

// As with docker, a repeatable flag takes one value each time it is given,
// so flags may come before and after the positional arguments
// (`build -t a CONTEXT --no-cache`, `build --insecure-registry H CONTEXT`):
// on every command, the global flags and nested commands included.
void one_value_per_flag(CLI::App& app) {
  for (auto* o : app.get_options())
    if (!o->get_positional() && o->get_expected_max() > 1)
      o->expected(1)->allow_extra_args(false)->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  for (auto* sub : app.get_subcommands({})) one_value_per_flag(*sub);
}

}  // namespace

void add_commands(CLI::App& app, GlobalFlags& g, std::function<int()>& run) {
  app.require_subcommand(1);
  app.fallthrough();  // global flags may follow the command
  app.set_version_flag("--version", fmt::format("strata {}", kVersion));
  add_global_flags(app, g);
  add_build_command(app, g, run);
  add_image_commands(app, g, run);
  add_registry_commands(app, g, run);
  add_builder_commands(app, g, run);
  add_install_plugin_command(app, run);
  // What follows `run IMAGE` is the container's command line: nothing of it
  // may fall through to the parser above, so run takes the global flags
  // (before the image) itself.
  auto* run_command = app.get_subcommand("run");
  run_command->fallthrough(false);
  app.get_subcommand("unshare")->fallthrough(false);
  add_global_flags(*run_command, g);
  one_value_per_flag(app);
}

}  // namespace strata::cli
