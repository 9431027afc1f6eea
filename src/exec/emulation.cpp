#include "exec/emulation.hpp"

#include <fmt/format.h>
#include <sys/utsname.h>

#include <map>

#include "os/fs.hpp"
#include "util/strings.hpp"

namespace fs = std::filesystem;

namespace strata::exec {

namespace {

// The kernel's and QEMU's name of an OCI architecture.
std::string machine_of(const std::string& arch) {
  static const std::map<std::string, std::string> names = {
      {"amd64", "x86_64"},       {"arm64", "aarch64"},     {"arm", "arm"},
      {"386", "i386"},           {"ppc64le", "ppc64le"},   {"s390x", "s390x"},
      {"riscv64", "riscv64"},    {"mips64le", "mips64el"}, {"mips64", "mips64"},
      {"loong64", "loongarch64"}};
  auto it = names.find(arch);
  return it == names.end() ? arch : it->second;
}

std::string host_machine() {
  struct utsname u {};
  return ::uname(&u) == 0 ? u.machine : "x86_64";
}

}  // namespace

Result<void> check_can_run(const std::string& arch, const fs::path& binfmt) {
  std::string machine = machine_of(arch);
  std::string host = host_machine();
  if (machine == host || (machine == "arm" && host.starts_with("armv")) ||
      (machine == "i386" && host == "x86_64"))
    return {};
  std::string entry = "qemu-" + machine;
  std::string how = fmt::format(
      "install Debian's qemu-user-static (apt-get install qemu-user-static binfmt-support), "
      "which registers QEMU for each architecture, then check with update-binfmts --display {}",
      entry);
  std::error_code ec;
  if (!fs::exists(binfmt / "status", ec))
    return fail(Errc::invalid_argument,
                fmt::format("RUN steps for {} need QEMU user emulation, and binfmt_misc is not "
                            "mounted at {}: mount it (mount -t binfmt_misc binfmt_misc {}), then "
                            "{}",
                            arch, binfmt.string(), binfmt.string(), how));
  auto text = os::read_file(binfmt / entry, 4096);
  if (!text)
    return fail(Errc::invalid_argument,
                fmt::format("RUN steps for {} need QEMU user emulation, and no interpreter for "
                            "{} is registered with binfmt_misc ({} is missing): {}",
                            arch, machine, (binfmt / entry).string(), how));
  std::string flags;
  bool enabled = false;
  for (const auto& line : split(*text, '\n')) {
    if (line == "enabled") enabled = true;
    if (line.starts_with("flags:")) flags = std::string(trim(line.substr(6)));
  }
  if (!enabled)
    return fail(Errc::invalid_argument,
                fmt::format("RUN steps for {} need QEMU user emulation, and its binfmt_misc entry "
                            "{} is disabled: enable it (update-binfmts --enable {}, or echo 1 > "
                            "{})",
                            arch, entry, entry, (binfmt / entry).string()));
  if (flags.find('F') == std::string::npos)
    return fail(Errc::invalid_argument,
                fmt::format("RUN steps for {} need QEMU user emulation, and {} is registered "
                            "without the F (fix binary) flag, so the interpreter cannot be "
                            "found inside a container: register it again with F (Debian's "
                            "qemu-user-static does: reinstall it, or update-binfmts --package "
                            "qemu-user-static --install {} ... --fix-binary yes)",
                            arch, entry, entry));
  return {};
}

}  // namespace strata::exec
