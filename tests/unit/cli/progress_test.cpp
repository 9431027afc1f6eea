// Progress lines of transfers: plain lines never carry an escape code; in
// place, each line rewrites the last; the totals, rate and time left.
#include "cli/progress.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <sstream>
#include <thread>

namespace strata::cli {
namespace {

TEST(Progress, PlainHasNoEscapeCodes) {
  std::ostringstream out;
  Progress p("saving x", false, out);
  p.update(512, 2048);  // within the first five seconds: nothing yet
  EXPECT_EQ(out.str(), "");
  p.update(2048, 2048);
  p.finish();
  EXPECT_EQ(out.str().find('\033'), std::string::npos) << out.str();
  EXPECT_EQ(out.str().find('\r'), std::string::npos) << out.str();
  EXPECT_TRUE(out.str().starts_with("saving x: 2.0 KiB in ")) << out.str();
  EXPECT_TRUE(out.str().ends_with("s\n")) << out.str();
}

TEST(Progress, InPlaceRewritesTheLine) {
  std::ostringstream out;
  Progress p("loading y", true, out);
  std::this_thread::sleep_for(std::chrono::milliseconds(250));
  p.update(1 << 20, 4 << 20);
  std::string line = out.str();
  EXPECT_TRUE(line.starts_with("\r\033[Kloading y: 1.0 MiB of 4.0 MiB, ")) << line;
  EXPECT_NE(line.find("/s, "), std::string::npos) << line;
  EXPECT_NE(line.find("s left"), std::string::npos) << line;
  EXPECT_EQ(line.find('\n'), std::string::npos) << line;
  p.update(2 << 20, 4 << 20);  // within 200 ms of the last: not redrawn
  EXPECT_EQ(out.str(), line);
  p.finish();
  EXPECT_TRUE(out.str().substr(line.size()).starts_with("\r\033[Kloading y: 2.0 MiB in "))
      << out.str();
}

TEST(Progress, UnknownTotal) {
  std::ostringstream out;
  Progress p("pulling z", true, out);
  std::this_thread::sleep_for(std::chrono::milliseconds(250));
  p.update(100, 0);
  EXPECT_EQ(out.str().find(" of "), std::string::npos) << out.str();
  EXPECT_EQ(out.str().find("left"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("pulling z: 100 B, "), std::string::npos) << out.str();
}

}  // namespace
}  // namespace strata::cli
