#include "cli/build_command.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "dockerfile/instructions.hpp"
#include "frontend/context.hpp"
#include "frontend/plan.hpp"
#include "frontend/plan_format.hpp"

namespace fs = std::filesystem;

namespace strata::cli {
namespace {

int report(const Error& e) {
  std::cerr << "error: " << e.message << "\n";
  return 1;
}

Result<std::string> read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in)
    return fail(Errc::not_found,
                fmt::format("cannot read {}: {}", p.string(), std::strerror(errno)));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

CLI::App* add_build_command(CLI::App& app, BuildFlags& f) {
  auto* cmd = app.add_subcommand("build", "Build an image from a Dockerfile");
  cmd->add_option("context", f.context, "Build context directory")->required();
  cmd->add_option("-f,--file", f.file, "Dockerfile (default: CONTEXT/Dockerfile; - for stdin)");
  cmd->add_option("--target", f.target, "Build this stage and the stages it needs");
  cmd->add_option("--platform", f.platform,
                  "Target platform (os/arch[/variant]); default: the host's");
  cmd->add_option("--build-arg", f.build_args, "Set a build-time variable (K=V, or K to use $K)");
  cmd->add_flag("--dry-run", f.dry_run, "Print the resolved plan; build nothing");
  cmd->add_option("--format", f.format, "Plan format for --dry-run")
      ->check(CLI::IsMember({"text", "json"}));
  return cmd;
}

int run_build(const BuildFlags& f) {
  if (!f.dry_run) {
    return report(Error{Errc::invalid_argument,
                        "this strata can only plan builds: add --dry-run to print the plan"});
  }
  fs::path context = f.context;
  fs::path dockerfile_path = f.file.empty() ? context / "Dockerfile" : fs::path(f.file);
  std::string display = f.file.empty() ? "Dockerfile" : f.file;

  std::string text;
  if (f.file == "-") {
    std::stringstream ss;
    ss << std::cin.rdbuf();
    text = ss.str();
    display = "Dockerfile";
  } else {
    auto t = read_file(dockerfile_path);
    if (!t) return report(t.error());
    text = std::move(*t);
  }

  auto df = dockerfile::read_dockerfile(text, display);
  if (!df) return report(df.error());

  frontend::PlanOptions opts;
  opts.target = f.target;
  if (!f.platform.empty()) {
    auto p = frontend::parse_platform(f.platform);
    if (!p) return report(p.error());
    opts.platform = *p;
  }
  for (const auto& a : f.build_args) {
    size_t eq = a.find('=');
    if (eq == 0)
      return report(Error{Errc::invalid_argument,
                          fmt::format("invalid --build-arg \"{}\": the name is empty", a)});
    if (eq == std::string::npos) {
      // As docker does: --build-arg NAME takes the value from the environment.
      if (const char* v = std::getenv(a.c_str())) opts.build_args.emplace_back(a, v);
      continue;
    }
    opts.build_args.emplace_back(a.substr(0, eq), a.substr(eq + 1));
  }

  fs::path ignore_path = f.file == "-" ? context / ".dockerignore"
                                       : frontend::find_ignore_file(dockerfile_path, context);
  dockerfile::IgnoreMatcher ignore;
  std::error_code ec;
  if (!ignore_path.empty() && fs::exists(ignore_path, ec)) {
    auto t = read_file(ignore_path);
    if (!t) return report(t.error());
    auto m = dockerfile::IgnoreMatcher::parse(*t, ignore_path.filename().string());
    if (!m) return report(m.error());
    ignore = std::move(*m);
  }
  auto ctx = frontend::BuildContext::open(context, ignore);
  if (!ctx) return report(ctx.error());
  opts.context = &*ctx;

  auto plan = frontend::make_plan(*df, opts);
  if (!plan) return report(plan.error());
  for (const auto& w : plan->warnings) std::cerr << "warning: " << w << "\n";
  if (f.format == "json") {
    std::cout << frontend::plan_to_json_text(*plan) << "\n";
  } else {
    std::cout << frontend::plan_to_text(*plan);
  }
  return 0;
}

}  // namespace strata::cli
