#include "cli/build_trace.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

using nlohmann::json;

namespace strata::cli {

namespace {

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

std::vector<TraceSpan> spans_of_records(const std::vector<solver::StepRecord>& records) {
  std::vector<TraceSpan> out;
  // The platform names the track only when the build had several.
  std::set<std::string> platforms;
  for (const auto& r : records) platforms.insert(r.platform);
  for (const auto& r : records) {
    if (r.started <= 0) continue;
    TraceSpan s;
    s.track = platforms.size() > 1 ? r.platform + " " + r.stage : r.stage;
    s.name = fmt::format("[{} {}] {}", r.stage, r.number, r.text);
    s.category = r.cached ? "cached" : !r.incremental_on.empty() ? "incremental" : "ran";
    s.start = r.started;
    s.seconds = r.cached ? 0 : r.seconds;
    s.args = {{"line", r.line}, {"cached", r.cached}};
    if (!r.key.empty()) s.args["key"] = r.key;
    if (!r.cached) {
      s.args["reason"] = r.reason;
      s.args["seconds"] = r.seconds;
      if (r.container_seconds > 0) {
        s.args["container_seconds"] = r.container_seconds;
        s.args["builder_seconds"] = std::max(0.0, r.seconds - r.container_seconds);
      }
    }
    if (!r.incremental_on.empty())
      s.args["incremental"] = {{"on", r.incremental_on}, {"from", r.incremental_from}};
    out.push_back(std::move(s));
  }
  return out;
}

std::string chrome_trace(const std::vector<TraceSpan>& spans) {
  double origin = spans.empty() ? 0 : spans.front().start;
  for (const auto& s : spans) origin = std::min(origin, s.start);
  std::map<std::string, int> tids;
  json events = json::array();
  events.push_back(
      {{"name", "process_name"}, {"ph", "M"}, {"pid", 1}, {"args", {{"name", "strata build"}}}});
  for (const auto& s : spans) {
    auto [it, added] = tids.try_emplace(s.track, static_cast<int>(tids.size()) + 1);
    if (added)
      events.push_back({{"name", "thread_name"},
                        {"ph", "M"},
                        {"pid", 1},
                        {"tid", it->second},
                        {"args", {{"name", s.track}}}});
    auto us = [](double secs) { return static_cast<int64_t>(secs * 1e6 + 0.5); };
    events.push_back({{"name", s.name},
                      {"cat", s.category},
                      {"ph", "X"},
                      {"pid", 1},
                      {"tid", it->second},
                      {"ts", us(s.start - origin)},
                      {"dur", std::max<int64_t>(us(s.seconds), 1)},
                      {"args", s.args}});
  }
  json doc = {{"traceEvents", events}, {"displayTimeUnit", "ms"}};
  return doc.dump(1, ' ', false, json::error_handler_t::replace) + "\n";
}

void TracingDisplay::add(TraceSpan span) {
  std::lock_guard lock(mu_);
  spans_.push_back(std::move(span));
}

std::vector<TraceSpan> TracingDisplay::spans() const {
  std::lock_guard lock(mu_);
  return spans_;
}

void TracingDisplay::message(const std::string& line) {
  inner_->message(line);
  add({"strata", line, "message", unix_now(), 0, json::object()});
}

class TracingTransfer : public TransferDisplay {
 public:
  TracingTransfer(TracingDisplay& d, std::string what, std::unique_ptr<TransferDisplay> inner)
      : d_(d), what_(std::move(what)), inner_(std::move(inner)), start_(unix_now()) {}
  ~TracingTransfer() override { finish(); }
  void update(uint64_t done, uint64_t total) override {
    done_ = done;
    total_ = total;
    if (inner_) inner_->update(done, total);
  }
  void finish() override {
    if (finished_) return;
    finished_ = true;
    if (inner_) inner_->finish();
    d_.add({"strata",
            what_,
            "transfer",
            start_,
            unix_now() - start_,
            {{"bytes", done_}, {"total", total_}}});
  }

 private:
  TracingDisplay& d_;
  std::string what_;
  std::unique_ptr<TransferDisplay> inner_;
  double start_;
  uint64_t done_ = 0, total_ = 0;
  bool finished_ = false;
};

std::unique_ptr<TransferDisplay> TracingDisplay::transfer(const std::string& what) {
  return std::make_unique<TracingTransfer>(*this, what, inner_->transfer(what));
}

}  // namespace strata::cli
