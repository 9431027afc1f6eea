#include "cli/tty_display.hpp"

#include <fmt/format.h>
#include <sys/ioctl.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "util/strings.hpp"

using Kind = strata::solver::StepEvent::Kind;

namespace strata::cli {

namespace {

constexpr size_t kTailLines = 4;  // of a running step's output

// A line of a step's output as the terminal may show it: no escape or
// control codes (they would move the cursor), tabs as spaces.
std::string printable(std::string_view line) {
  std::string out;
  out.reserve(line.size());
  for (size_t i = 0; i < line.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(line[i]);
    if (c == '\x1b') {  // an escape sequence: CSI up to its final byte, else the next byte
      if (i + 1 < line.size() && line[i + 1] == '[') {
        i += 2;
        while (i < line.size() && !(line[i] >= 0x40 && line[i] <= 0x7e)) ++i;
      } else {
        ++i;
      }
      continue;
    }
    if (c == '\t')
      out += "    ";
    else if (c < 0x20 || c == 0x7f)
      continue;
    else
      out += static_cast<char>(c);
  }
  return out;
}

// At most `width` characters (UTF-8 code points) of `line`.
std::string fit(const std::string& line, int width) {
  if (width <= 0) return "";
  size_t chars = 0, i = 0;
  for (; i < line.size(); ++i) {
    if ((static_cast<unsigned char>(line[i]) & 0xc0) == 0x80) continue;
    if (chars == static_cast<size_t>(width)) break;
    ++chars;
  }
  return line.substr(0, i);
}

size_t length(const std::string& line) {
  size_t n = 0;
  for (unsigned char c : line) n += (c & 0xc0) != 0x80;
  return n;
}

// `left`, and `right` flush with the terminal's right edge (or after one
// space when they do not fit together).
std::string with_timer(const std::string& left, const std::string& right, int width) {
  int room = width - static_cast<int>(length(right)) - 1;
  std::string l = fit(left, std::max(room, 0));
  int pad = std::max(1, width - static_cast<int>(length(l)) - static_cast<int>(length(right)));
  return fit(l + std::string(static_cast<size_t>(pad), ' ') + right, width);
}

}  // namespace

TerminalSize terminal_size(int fd) {
  TerminalSize s;
  struct winsize ws {};
  if (::ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 && ws.ws_row > 0) {
    s.columns = ws.ws_col;
    s.rows = ws.ws_row;
    return s;
  }
  if (const char* c = std::getenv("COLUMNS")) s.columns = std::max(std::atoi(c), 20);
  if (const char* l = std::getenv("LINES")) s.rows = std::max(std::atoi(l), 5);
  return s;
}

std::string step_timer(double seconds) {
  return fmt::format("{:.1f}s", std::max(seconds, 0.0));
}

struct TtyDisplay::State {
  std::ostream& out;
  std::function<TerminalSize()> size;
  std::mutex mu;
  Clock::time_point start = Clock::now();
  struct Running {
    std::string name;
    Clock::time_point since;
    std::deque<std::string> tail;
  };
  std::vector<Running> running;  // in the order they started
  struct Transfer {
    std::string what;
    uint64_t done = 0, total = 0;
    Clock::time_point since;
  };
  std::map<uint64_t, Transfer> transfers;
  uint64_t next_transfer = 0;
  size_t started = 0, finished = 0;
  int drawn = 0;        // lines of the live block on the screen
  bool active = false;  // a step or transfer began: the block is shown
  bool closed = false;
  bool stopping = false;
  std::condition_variable wake;
  std::thread ticker;

  State(std::ostream& o, std::function<TerminalSize()> s) : out(o), size(std::move(s)) {}

  Running* find(const std::string& name) {
    for (auto& r : running)
      if (r.name == name) return &r;
    return nullptr;
  }

  std::vector<std::string> block(Clock::time_point now, TerminalSize sz) {
    int width = std::max(sz.columns - 1, 10);  // never the last column: no wrap
    std::vector<std::string> lines;
    double total = std::chrono::duration<double>(now - start).count();
    lines.push_back(
        fit(fmt::format("[+] Building {} ({}/{})", step_timer(total), finished, started), width));
    for (const auto& r : running) {
      double secs = std::chrono::duration<double>(now - r.since).count();
      lines.push_back(with_timer(" => " + r.name, step_timer(secs), width));
      for (const auto& t : r.tail) lines.push_back(fit(" => => # " + t, width));
    }
    for (const auto& [id, t] : transfers) {
      std::string bytes = human_size(static_cast<double>(t.done));
      if (t.total) bytes += " / " + human_size(static_cast<double>(t.total));
      double secs = std::chrono::duration<double>(now - t.since).count();
      lines.push_back(with_timer(" => " + t.what + " " + bytes, step_timer(secs), width));
    }
    // A block taller than the terminal: its first lines, and what is left out.
    size_t room = static_cast<size_t>(std::max(sz.rows - 1, 2));
    if (lines.size() > room) {
      size_t more = lines.size() - (room - 1);
      lines.resize(room - 1);
      lines.push_back(fit(fmt::format(" => ... {} more lines", more), width));
    }
    return lines;
  }

  // With mu held: the block taken off, `above` printed to stay, the block
  // drawn again (unless closed).
  void redraw(const std::vector<std::string>& above) {
    if (drawn > 0) out << "\x1b[" << drawn << "F\x1b[J";
    drawn = 0;
    for (const auto& l : above) out << l << "\n";
    if (active && !closed) {
      auto lines = block(Clock::now(), size());
      for (const auto& l : lines) out << l << "\n";
      drawn = static_cast<int>(lines.size());
    }
    out << std::flush;
  }

  int width() { return std::max(size().columns - 1, 10); }
};

TtyDisplay::TtyDisplay(std::ostream& out, std::function<TerminalSize()> size, bool redraw_thread)
    : s_(std::make_unique<State>(out, std::move(size))) {
  if (!redraw_thread) return;
  s_->ticker = std::thread([s = s_.get()] {
    std::unique_lock lock(s->mu);
    while (!s->stopping) {
      s->wake.wait_for(lock, std::chrono::milliseconds(100));
      if (!s->stopping && !s->closed && s->active) s->redraw({});
    }
  });
}

TtyDisplay::~TtyDisplay() {
  close();
}

void TtyDisplay::close() {
  {
    std::lock_guard lock(s_->mu);
    s_->stopping = true;
  }
  s_->wake.notify_all();
  if (s_->ticker.joinable()) s_->ticker.join();
  std::lock_guard lock(s_->mu);
  if (s_->closed) return;
  double total = std::chrono::duration<double>(Clock::now() - s_->start).count();
  s_->closed = true;
  if (!s_->active) return;
  s_->redraw({fit(
      fmt::format("[+] Building {} ({}/{}) FINISHED", step_timer(total), s_->finished, s_->started),
      s_->width())});
}

void TtyDisplay::step(const solver::StepEvent& e) {
  std::lock_guard lock(s_->mu);
  auto now = Clock::now();
  State::Running* r = s_->find(e.step);
  auto tail = [&](std::string line) {
    if (!r) return;
    r->tail.push_back(printable(line));
    while (r->tail.size() > kTailLines) r->tail.pop_front();
  };
  auto end = [&](const std::string& prefix, bool timer, bool with_tail) {
    std::vector<std::string> above;
    double secs = r ? std::chrono::duration<double>(now - r->since).count() : 0;
    int w = s_->width();
    above.push_back(timer ? with_timer(" => " + prefix + e.step, step_timer(secs), w)
                          : fit(" => " + prefix + e.step, w));
    if (with_tail && r)
      for (const auto& t : r->tail) above.push_back(fit(" => => # " + t, w));
    if (r) s_->running.erase(s_->running.begin() + (r - s_->running.data()));
    ++s_->finished;
    s_->redraw(above);
  };
  switch (e.kind) {
    case Kind::started:
      s_->active = true;
      if (!r) {
        s_->running.push_back({e.step, now, {}});
        ++s_->started;
      }
      break;
    case Kind::missed:
      tail("cache miss: " + e.text);
      break;
    case Kind::output:
    case Kind::note:
      tail(e.text);
      break;
    case Kind::cached:
      return end("CACHED ", false, false);
    case Kind::done:
      if (!r) return;  // a cached step ends twice: cached, then done
      return end("", true, false);
    case Kind::failed:
      if (!r) return;
      return end("ERROR ", true, true);
  }
  if (s_->closed) return;
  s_->redraw({});
}

void TtyDisplay::message(const std::string& line) {
  std::lock_guard lock(s_->mu);
  s_->redraw({printable(line)});
}

void TtyDisplay::warning(const std::string& text) {
  message("warning: " + text);
}

class TtyTransfer : public TransferDisplay {
 public:
  TtyTransfer(TtyDisplay::State& s, const std::string& what) : s_(s) {
    std::lock_guard lock(s_.mu);
    id_ = s_.next_transfer++;
    s_.active = true;
    s_.transfers[id_] = {what, 0, 0, TtyDisplay::Clock::now()};
  }
  ~TtyTransfer() override { finish(); }
  void update(uint64_t done, uint64_t total) override {
    std::lock_guard lock(s_.mu);
    auto it = s_.transfers.find(id_);
    if (it == s_.transfers.end()) return;
    it->second.done = done;
    it->second.total = total;
  }
  void finish() override {
    std::lock_guard lock(s_.mu);
    auto it = s_.transfers.find(id_);
    if (it == s_.transfers.end()) return;
    const auto& t = it->second;
    double secs = std::chrono::duration<double>(TtyDisplay::Clock::now() - t.since).count();
    std::string line = with_timer(
        " => " + t.what + " " + human_size(static_cast<double>(t.total ? t.total : t.done)),
        step_timer(secs), s_.width());
    s_.transfers.erase(it);
    s_.redraw({line});
  }

 private:
  TtyDisplay::State& s_;
  uint64_t id_ = 0;
};

std::unique_ptr<TransferDisplay> TtyDisplay::transfer(const std::string& what) {
  return std::make_unique<TtyTransfer>(*s_, what);
}

std::string TtyDisplay::frame(Clock::time_point now, TerminalSize size) {
  std::lock_guard lock(s_->mu);
  return join(s_->block(now, size), "\n");
}

}  // namespace strata::cli
