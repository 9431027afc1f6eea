// The live terminal display: the block of running steps with their timers
// and last output lines, lines that fit the terminal, a block cut to its
// height, escape codes of a step's output kept off the screen, finished
// steps put above, and nothing drawn before the first step.
#include "cli/tty_display.hpp"

#include <gtest/gtest.h>

#include <sstream>

#include "util/strings.hpp"

namespace strata::cli {
namespace {

using Kind = solver::StepEvent::Kind;

solver::StepEvent event(Kind kind, std::string step, std::string text = {}) {
  solver::StepEvent e;
  e.kind = kind;
  e.step = std::move(step);
  e.text = std::move(text);
  return e;
}

TEST(TtyDisplay, RunningStepsWithTimersAndTheirLastLines) {
  std::ostringstream out;
  TtyDisplay d(
      out,
      [] {
        return TerminalSize{60, 20};
      },
      false);
  auto t0 = TtyDisplay::Clock::now();
  d.step(event(Kind::started, "[a 2/2] RUN make"));
  d.step(event(Kind::started, "[b 2/2] RUN test"));
  for (int i = 1; i <= 6; ++i)
    d.step(event(Kind::output, "[a 2/2] RUN make", "line " + std::to_string(i)));
  d.step(event(Kind::output, "[b 2/2] RUN test", "\x1b[31mred\x1b[0m\tand tab"));
  auto lines = split(d.frame(t0 + std::chrono::milliseconds(3400), {60, 20}), '\n');
  ASSERT_GE(lines.size(), 8u);
  EXPECT_TRUE(lines[0].starts_with("[+] Building ")) << lines[0];
  EXPECT_NE(lines[0].find("(0/2)"), std::string::npos) << lines[0];
  EXPECT_TRUE(lines[1].starts_with(" => [a 2/2] RUN make")) << lines[1];
  EXPECT_TRUE(lines[1].ends_with("3.4s")) << lines[1];
  EXPECT_EQ(lines[1].size(), 59u);         // flush with the edge, never the last column
  EXPECT_EQ(lines[2], " => => # line 3");  // the last four lines
  EXPECT_EQ(lines[5], " => => # line 6");
  EXPECT_TRUE(lines[6].starts_with(" => [b 2/2] RUN test")) << lines[6];
  EXPECT_EQ(lines[7], " => => # red    and tab");
  for (const auto& l : lines) EXPECT_EQ(l.find('\x1b'), std::string::npos) << l;
}

TEST(TtyDisplay, NarrowAndShortTerminals) {
  std::ostringstream out;
  TtyDisplay d(
      out,
      [] {
        return TerminalSize{30, 6};
      },
      false);
  for (int i = 0; i < 5; ++i)
    d.step(event(Kind::started,
                 "[s" + std::to_string(i) + " 2/2] RUN a-rather-long-command --with flags"));
  auto lines = split(d.frame(TtyDisplay::Clock::now(), {30, 6}), '\n');
  ASSERT_EQ(lines.size(), 5u);  // the terminal's rows less one
  for (const auto& l : lines) EXPECT_LE(l.size(), 29u) << l;
  EXPECT_NE(lines.back().find("more lines"), std::string::npos) << lines.back();
  EXPECT_TRUE(lines[1].ends_with("s")) << lines[1];  // the timer stays, the name is cut
}

TEST(TtyDisplay, FinishedStepsStayAboveAndCloseSaysFinished) {
  std::ostringstream out;
  {
    TtyDisplay d(
        out,
        [] {
          return TerminalSize{80, 24};
        },
        false);
    d.message("before any step");  // no block yet
    EXPECT_EQ(out.str(), "before any step\n");
    d.step(event(Kind::started, "[a 1/3] COPY . /src"));
    d.step(event(Kind::cached, "[a 1/3] COPY . /src"));
    d.step(event(Kind::done, "[a 1/3] COPY . /src"));
    d.step(event(Kind::started, "[a 2/3] RUN false"));
    d.step(event(Kind::output, "[a 2/3] RUN false", "it broke"));
    d.step(event(Kind::failed, "[a 2/3] RUN false", "exit code: 1"));
    d.close();
    d.message("after");
  }
  std::string s = out.str();
  EXPECT_NE(s.find(" => CACHED [a 1/3] COPY . /src\n"), std::string::npos) << s;
  EXPECT_NE(s.find(" => ERROR [a 2/3] RUN false"), std::string::npos) << s;
  EXPECT_NE(s.find(" => => # it broke\n"), std::string::npos) << s;
  EXPECT_NE(s.find("(2/2) FINISHED\n"), std::string::npos) << s;
  EXPECT_TRUE(s.ends_with("FINISHED\nafter\n")) << s;  // closed: plain lines after
  EXPECT_NE(s.find("\x1b["), std::string::npos);       // the block was redrawn in place
}

TEST(TtyDisplay, Timers) {
  EXPECT_EQ(step_timer(0), "0.0s");
  EXPECT_EQ(step_timer(3.44), "3.4s");
  EXPECT_EQ(step_timer(125.0), "125.0s");
}

}  // namespace
}  // namespace strata::cli
