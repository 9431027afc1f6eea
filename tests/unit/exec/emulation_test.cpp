// What the emulation check says for each missing piece, against a fake
// binfmt_misc directory.
#include "exec/emulation.hpp"

#include <gtest/gtest.h>
#include <sys/utsname.h>

#include <fstream>

#include "os/fs.hpp"

namespace fs = std::filesystem;

namespace strata::exec {
namespace {

class Emulation : public ::testing::Test {
 protected:
  void SetUp() override {
    struct utsname u {};
    ASSERT_EQ(::uname(&u), 0);
    if (std::string(u.machine) != "x86_64") GTEST_SKIP() << "written for an x86_64 host";
    auto d = os::make_temp_dir(fs::temp_directory_path(), "binfmt-");
    ASSERT_TRUE(d);
    dir_ = *d;
  }
  void TearDown() override {
    if (!dir_.empty()) (void)os::remove_tree(dir_);
  }
  void write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
  }
  std::string error(const std::string& arch) {
    auto r = check_can_run(arch, dir_);
    return r ? std::string() : r.error().message;
  }
  fs::path dir_;
};

TEST_F(Emulation, EachMissingPieceSaysWhatToDo) {
  EXPECT_EQ(error("amd64"), "");  // the host's own
  EXPECT_EQ(error("386"), "");
  EXPECT_NE(error("arm64").find("binfmt_misc is not mounted at " + dir_.string() +
                                ": mount it (mount -t binfmt_misc binfmt_misc"),
            std::string::npos)
      << error("arm64");
  write("status", "enabled\n");
  EXPECT_NE(error("arm64").find("no interpreter for aarch64 is registered"), std::string::npos);
  EXPECT_NE(error("arm64").find("apt-get install qemu-user-static"), std::string::npos);
  write("qemu-aarch64",
        "disabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\nflags: PF\n");
  EXPECT_NE(error("arm64").find("update-binfmts --enable qemu-aarch64"), std::string::npos);
  write("qemu-aarch64",
        "enabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\nflags: P\n");
  EXPECT_NE(error("arm64").find("without the F (fix binary) flag"), std::string::npos);
  write("qemu-aarch64",
        "enabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\nflags: POCF\n"
        "offset 0\nmagic 7f454c46\n");
  EXPECT_EQ(error("arm64"), "");
  EXPECT_NE(error("s390x").find("qemu-s390x"), std::string::npos);
}

}  // namespace
}  // namespace strata::exec
