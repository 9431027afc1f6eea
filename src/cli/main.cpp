// strata: a daemonless, cache-first OCI image builder. Entry point: parses
// the command line and dispatches to the commands.
#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "cli/app.hpp"
#include "cli/docker_plugin.hpp"
#include "exec/leftover_containers.hpp"
#include "exec/rootless.hpp"

namespace {

// A build allocates and frees megabytes at a time (layer blocks, cache
// records); on a virtual machine every first touch of a 4 KiB page is an
// expensive fault. So: one arena, large blocks from the heap rather than
// their own mappings, freed memory kept, the heap grown 64 MiB at a time and
// backed by transparent huge pages where the kernel allows them (madvise).
void tune_allocator() {
  constexpr size_t kPad = size_t{64} << 20;
  constexpr uintptr_t kHuge = uintptr_t{2} << 20;
  mallopt(M_ARENA_MAX, 1);
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 512 << 20);
  mallopt(M_TOP_PAD, static_cast<int>(kPad));
  // Grow the heap now (a block the heap cannot hold yet, plus the pad) and
  // advise the new part, which later blocks reuse.
  void* block = malloc(16 << 20);
  auto low = (reinterpret_cast<uintptr_t>(block) + kHuge - 1) & ~(kHuge - 1);
  auto top = reinterpret_cast<uintptr_t>(sbrk(0));
  if (block && low < top) madvise(reinterpret_cast<void*>(low), top - low, MADV_HUGEPAGE);
  free(block);
}

// The last guard: input from outside is read without exceptions, so one
// reaching here is a bug; it still unwinds (temporary files and mounts are
// undone by their owners) and ends in an error rather than an abort.
int guarded(const std::function<int()>& command) {
  try {
    return command();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: internal error: %s (a bug in strata; please report it)\n",
                 e.what());
    return 70;
  }
}

}  // namespace

int main(int argc, char** argv) {
  // Not a command: the watcher a build starts (exec/leftover_containers).
  if (argc > 1 && std::string_view(argv[1]) == "__watch")
    return strata::exec::watcher_main(argc, argv);
  // Without root: strata again, in a user namespace of its own.
  if (auto code = strata::exec::run_rootless(argc, argv)) return *code;
  tune_allocator();
  CLI::App app{"strata: a daemonless, cache-first OCI image builder"};
  strata::cli::GlobalFlags g;
  std::function<int()> run;
  strata::cli::add_commands(app, g, run);
  std::vector<std::string> args(argv, argv + argc);
  try {
    // Run by the docker CLI as its buildx plugin: buildx's commands in
    // strata's words.
    if (auto call = strata::cli::plugin_call(args)) {
      if (!*call) return strata::cli::report(call->error());
      for (const auto& note : (*call)->notes) std::fprintf(stderr, "%s\n", note.c_str());
      if ((*call)->args.empty()) {
        std::fputs((*call)->print.c_str(), stdout);
        return 0;
      }
      std::vector<std::string> reversed((*call)->args.rbegin(), (*call)->args.rend());
      app.parse(reversed);
    } else {
      app.parse(argc, argv);
    }
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return run ? guarded(run) : 0;
}
