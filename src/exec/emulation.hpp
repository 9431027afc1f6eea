// Whether this machine can run another architecture's programs in a
// container: QEMU user emulation registered with binfmt_misc (Debian's
// qemu-user-static), with the fix-binary flag (F) so that the interpreter
// is found inside the container's root. The builder asks before a build
// whose RUN steps are for another architecture, so that a missing piece is
// an error that says what to do instead of "exec format error" midway.
#pragma once

#include <filesystem>
#include <string>

#include "util/error.hpp"

namespace strata::exec {

// `arch`: as OCI names it (arm64, arm, amd64, 386, ppc64le, s390x, riscv64,
// ...). The host's own architecture always can. `binfmt`: where binfmt_misc
// is mounted.
Result<void> check_can_run(const std::string& arch,
                           const std::filesystem::path& binfmt = "/proc/sys/fs/binfmt_misc");

}  // namespace strata::exec
