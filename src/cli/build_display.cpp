#include "cli/build_display.hpp"

#include <fmt/format.h>

#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>

#include "cli/progress.hpp"
#include "cli/tty_display.hpp"
#include "digest/sha256.hpp"
#include "util/strings.hpp"

using nlohmann::json;
using Clock = std::chrono::system_clock;
using Kind = strata::solver::StepEvent::Kind;

namespace strata::cli {

std::string rfc3339_nano(Clock::time_point t) {
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ns / 1'000'000'000);
  long frac = static_cast<long>(ns % 1'000'000'000);
  if (frac < 0) {
    frac += 1'000'000'000;
    --secs;
  }
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::string out = buf;
  if (frac) {
    std::string f = fmt::format("{:09d}", frac);
    f.erase(f.find_last_not_of('0') + 1);
    out += "." + f;
  }
  return out + "Z";
}

namespace {

// --progress quiet|none: warnings only.
class QuietDisplay : public BuildDisplay {
 public:
  explicit QuietDisplay(std::ostream& out) : out_(out) {}
  void step(const solver::StepEvent&) override {}
  void message(const std::string&) override {}
  void warning(const std::string& text) override {
    std::lock_guard g(mu_);
    out_ << "warning: " << text << "\n";
  }
  std::unique_ptr<TransferDisplay> transfer(const std::string&) override { return nullptr; }

 private:
  std::mutex mu_;
  std::ostream& out_;
};

class PlainTransfer : public TransferDisplay {
 public:
  PlainTransfer(std::string what, bool in_place, std::ostream& out)
      : progress_(std::move(what), in_place, out) {}
  void update(uint64_t done, uint64_t total) override { progress_.update(done, total); }
  void finish() override { progress_.finish(); }

 private:
  Progress progress_;
};

// --progress plain|auto: the step's name when it starts, then its lines
// indented (CACHED, the miss reason, "| " and its output, DONE).
class PlainDisplay : public BuildDisplay {
 public:
  PlainDisplay(std::ostream& out, bool in_place) : out_(out), in_place_(in_place) {}

  void step(const solver::StepEvent& e) override {
    std::string line;
    switch (e.kind) {
      case Kind::started:
        line = e.step;
        break;
      case Kind::cached:
        line = "  CACHED";
        break;
      case Kind::missed:
        line = "  cache miss: " + e.text;
        break;
      case Kind::output:
        line = "  | " + e.text;
        break;
      case Kind::note:
        line = "  " + e.text;
        break;
      case Kind::done:
        if (!e.ran) return;
        line = fmt::format("  DONE {:.3f}s", e.seconds);
        break;
      case Kind::failed:
        return;  // the error is said in full when the build ends
    }
    std::lock_guard g(mu_);
    out_ << line << "\n";
  }
  void message(const std::string& line) override {
    std::lock_guard g(mu_);
    out_ << line << "\n";
  }
  void warning(const std::string& text) override { message("warning: " + text); }
  std::unique_ptr<TransferDisplay> transfer(const std::string& what) override {
    return std::make_unique<PlainTransfer>(what, in_place_, out_);
  }

 private:
  std::mutex mu_;
  std::ostream& out_;
  bool in_place_;
};

// --progress rawjson: what BuildKit's client receives, a SolveStatus per
// line. Each step is a vertex (its digest that of its name; its input the
// step before it), sent again whole whenever it changes; its output lines
// are logs on stream 1, strata's own lines about it (the miss reason,
// notes) logs on stream 2; a message is a vertex that starts and completes
// at once; a transfer is a vertex with a status of its bytes.
class RawJsonDisplay : public BuildDisplay {
 public:
  explicit RawJsonDisplay(std::ostream& out) : out_(out) {}

  void step(const solver::StepEvent& e) override {
    std::lock_guard g(mu_);
    Vertex& v = vertex(e.step, e.at);
    switch (e.kind) {
      case Kind::started:
        v.started = e.at;
        if (!e.after.empty()) v.input = vertex(e.after, e.at).digest;
        break;
      case Kind::cached:
        v.cached = true;
        v.completed = e.at;
        break;
      case Kind::missed:
        return send_log(v, 2, "cache miss: " + e.text, e.at);
      case Kind::output:
        return send_log(v, 1, e.text, e.at);
      case Kind::note:
        return send_log(v, 2, e.text, e.at);
      case Kind::done:
        v.completed = e.at;
        break;
      case Kind::failed:
        v.completed = e.at;
        v.error = e.text;
        break;
    }
    send({{"vertexes", json::array({vertex_json(v)})}});
  }

  void message(const std::string& line) override {
    std::lock_guard g(mu_);
    auto now = Clock::now();
    Vertex v;
    v.digest = sha256_digest(fmt::format("strata message {} {}", ++messages_, line));
    v.name = line;
    v.started = v.completed = now;
    send({{"vertexes", json::array({vertex_json(v)})}});
  }

  void warning(const std::string& text) override {
    std::lock_guard g(mu_);
    send({{"warnings", json::array({{{"level", 1}, {"short", base64_encode(text)}}})}});
  }

  std::unique_ptr<TransferDisplay> transfer(const std::string& what) override;

 private:
  friend class RawJsonTransfer;
  struct Vertex {
    std::string digest, input, name, error;
    std::optional<Clock::time_point> started, completed;
    bool cached = false;
  };

  Vertex& vertex(const std::string& name, Clock::time_point at) {
    auto [it, added] = vertices_.try_emplace(name);
    if (added) {
      it->second.name = name;
      it->second.digest = sha256_digest(name);
      it->second.started = at;
    }
    return it->second;
  }

  static json vertex_json(const Vertex& v) {
    json j = {{"digest", v.digest}, {"name", v.name}};
    if (!v.input.empty()) j["inputs"] = json::array({v.input});
    if (v.started) j["started"] = rfc3339_nano(*v.started);
    if (v.completed) j["completed"] = rfc3339_nano(*v.completed);
    if (v.cached) j["cached"] = true;
    if (!v.error.empty()) j["error"] = v.error;
    return j;
  }

  void send_log(const Vertex& v, int stream, const std::string& line, Clock::time_point at) {
    send({{"logs", json::array({{{"vertex", v.digest},
                                 {"stream", stream},
                                 {"data", base64_encode(line + "\n")},
                                 {"timestamp", rfc3339_nano(at)}}})}});
  }

  void send(const json& status) {
    out_ << status.dump(-1, ' ', false, json::error_handler_t::replace) << "\n" << std::flush;
  }

  std::mutex mu_;
  std::ostream& out_;
  std::map<std::string, Vertex> vertices_;  // steps, by name
  uint64_t messages_ = 0;
};

class RawJsonTransfer : public TransferDisplay {
 public:
  RawJsonTransfer(RawJsonDisplay& d, const std::string& what) : d_(d) {
    std::lock_guard g(d_.mu_);
    v_.name = what;
    v_.digest = sha256_digest(fmt::format("strata transfer {} {}", ++d_.messages_, what));
    v_.started = Clock::now();
    d_.send({{"vertexes", json::array({RawJsonDisplay::vertex_json(v_)})}});
  }
  void update(uint64_t done, uint64_t total) override {
    std::lock_guard g(d_.mu_);
    done_ = done;
    total_ = total;
    auto now = Clock::now();
    if (now - last_ < std::chrono::milliseconds(500)) return;
    last_ = now;
    send_status(now, false);
  }
  void finish() override {
    std::lock_guard g(d_.mu_);
    auto now = Clock::now();
    send_status(now, true);
    v_.completed = now;
    d_.send({{"vertexes", json::array({RawJsonDisplay::vertex_json(v_)})}});
  }

 private:
  // With d_.mu_ held.
  void send_status(Clock::time_point now, bool completed) {
    json s = {{"id", v_.name},
              {"vertex", v_.digest},
              {"name", v_.name},
              {"current", done_},
              {"timestamp", rfc3339_nano(now)},
              {"started", rfc3339_nano(*v_.started)}};
    if (total_) s["total"] = total_;
    if (completed) s["completed"] = rfc3339_nano(now);
    d_.send({{"statuses", json::array({s})}});
  }

  RawJsonDisplay& d_;
  RawJsonDisplay::Vertex v_;
  uint64_t done_ = 0, total_ = 0;
  Clock::time_point last_{};
};

std::unique_ptr<TransferDisplay> RawJsonDisplay::transfer(const std::string& what) {
  return std::make_unique<RawJsonTransfer>(*this, what);
}

}  // namespace

Result<std::unique_ptr<BuildDisplay>> make_build_display(std::string_view mode, std::ostream& out,
                                                         bool terminal) {
  if (mode == "quiet" || mode == "none") return std::make_unique<QuietDisplay>(out);
  const char* term = std::getenv("TERM");
  bool dumb = term && std::string_view(term) == "dumb";
  if (mode == "tty" || (mode == "auto" && terminal && !dumb))
    return std::make_unique<TtyDisplay>(out, [] { return terminal_size(STDERR_FILENO); });
  if (mode == "auto") return std::make_unique<PlainDisplay>(out, terminal);
  if (mode == "plain") return std::make_unique<PlainDisplay>(out, false);
  if (mode == "rawjson") return std::make_unique<RawJsonDisplay>(out);
  return fail(
      Errc::invalid_argument,
      fmt::format("--progress {}: not a mode; use auto, tty, plain, rawjson, quiet or none", mode));
}

}  // namespace strata::cli
