// A build's timeline as Chrome trace events, the JSON that Perfetto and
// chrome://tracing open: a track per stage with its steps as slices (cached
// or ran, the key, why it ran, the seconds in its container and the
// builder's own), and a track "strata" with the build's transfers (pulls,
// pushes, archives, cache exports) and its messages. Written by
// `strata build --trace FILE` (cli/build_command) and `strata explain
// --trace FILE` (cli/image_commands, from the last build's record).
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/build_display.hpp"
#include "solver/build_record.hpp"

namespace strata::cli {

struct TraceSpan {
  std::string track;     // "app", "linux/arm64 app" (of several platforms), "strata"
  std::string name;      // "[app 3] RUN make", "pushing ..."
  std::string category;  // "cached", "ran", "incremental", "transfer", "message"
  double start = 0;      // Unix seconds
  double seconds = 0;
  nlohmann::json args = nlohmann::json::object();
};

// The steps of build records as spans (records without start times, from
// before they were kept, are left out).
std::vector<TraceSpan> spans_of_records(const std::vector<solver::StepRecord>& records);
// {"traceEvents": [...]}: a complete slice per span, its track a thread
// named as the track, times in microseconds from the first span.
std::string chrome_trace(const std::vector<TraceSpan>& spans);

// A display that shows what `inner` shows and keeps the transfers and
// messages as spans, for --trace.
class TracingDisplay : public BuildDisplay {
 public:
  explicit TracingDisplay(std::unique_ptr<BuildDisplay> inner) : inner_(std::move(inner)) {}
  void step(const solver::StepEvent& e) override { inner_->step(e); }
  void message(const std::string& line) override;
  void warning(const std::string& text) override { inner_->warning(text); }
  std::unique_ptr<TransferDisplay> transfer(const std::string& what) override;
  void close() override { inner_->close(); }
  std::vector<TraceSpan> spans() const;

 private:
  friend class TracingTransfer;
  void add(TraceSpan span);
  std::unique_ptr<BuildDisplay> inner_;
  mutable std::mutex mu_;
  std::vector<TraceSpan> spans_;
};

}  // namespace strata::cli
