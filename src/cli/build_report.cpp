#include "cli/build_report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "util/strings.hpp"

namespace strata::cli {

namespace {

constexpr const char* kStyle = R"(
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #212121; background: #fff; }
h1 { font-size: 20px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 28px 0 8px; }
.summary { color: #555; }
table { border-collapse: collapse; } td, th { padding: 3px 10px 3px 0; text-align: left; vertical-align: top; }
th { border-bottom: 1px solid #ccc; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.cached { color: #616161; } .ran { color: #0d47a1; } .incremental { color: #e65100; }
.key { font-family: monospace; font-size: 12px; color: #757575; }
.legend span { display: inline-block; width: 12px; height: 12px; margin: 0 4px 0 14px; vertical-align: -1px; }
svg text { font: 12px system-ui, sans-serif; fill: #212121; }
.bar { width: 240px; background: #e3f2fd; } .bar div { background: #1976d2; height: 10px; }
)";

const char* colour(const solver::StepRecord& r) {
  if (r.cached) return "#9e9e9e";
  if (!r.incremental_on.empty()) return "#f57c00";
  return "#1976d2";
}

const char* kind(const solver::StepRecord& r) {
  if (r.cached) return "cached";
  if (!r.incremental_on.empty()) return "incremental";
  return "ran";
}

std::string seconds(double s) {
  return fmt::format("{:.2f} s", s);
}

std::string step_name(const solver::StepRecord& r) {
  return fmt::format("[{} {}] {}", r.stage, r.number, r.text);
}

std::string track_of(const solver::StepRecord& r, bool platforms) {
  return platforms ? r.platform + " " + r.stage : r.stage;
}

// The Gantt chart: a row per track, a bar per step at its time.
std::string gantt(const std::vector<solver::StepRecord>& steps, double origin, double total) {
  std::set<std::string> platform_set;
  for (const auto& r : steps) platform_set.insert(r.platform);
  bool platforms = platform_set.size() > 1;
  std::vector<std::string> tracks;
  for (const auto& r : steps) {
    std::string t = track_of(r, platforms);
    if (std::find(tracks.begin(), tracks.end(), t) == tracks.end()) tracks.push_back(t);
  }
  const int label = 170, width = 900, row = 30, top = 24;
  int height = top + row * static_cast<int>(tracks.size()) + 10;
  double scale = total > 0 ? width / total : 0;
  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" role=\"img\">\n",
      label + width + 20, height);
  // A tick a second (or fewer, for long builds), with its time.
  double step = total <= 10 ? 1 : total <= 60 ? 5 : total <= 600 ? 60 : 300;
  for (double t = 0; t <= total + 1e-9; t += step) {
    int x = label + static_cast<int>(t * scale);
    svg += fmt::format(
        "<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"#e0e0e0\"/>"
        "<text x=\"{0}\" y=\"14\" text-anchor=\"middle\">{3}s</text>\n",
        x, top - 4, height - 6, static_cast<int>(t));
  }
  for (size_t i = 0; i < tracks.size(); ++i) {
    int y = top + row * static_cast<int>(i);
    svg +=
        fmt::format("<text x=\"0\" y=\"{}\">{}</text>\n", y + 19,
                    html_escape(tracks[i].size() > 24 ? tracks[i].substr(0, 23) + "…" : tracks[i]));
  }
  for (const auto& r : steps) {
    if (r.started <= 0) continue;
    size_t i = static_cast<size_t>(std::find(tracks.begin(), tracks.end(), track_of(r, platforms)) -
                                   tracks.begin());
    int y = top + row * static_cast<int>(i) + 4;
    double start = r.started - origin, dur = r.cached ? 0 : r.seconds;
    int x = label + static_cast<int>(start * scale);
    int w = std::max(3, static_cast<int>(dur * scale));
    std::string tip = step_name(r) + "\n" +
                      (r.cached ? std::string("cached")
                                : fmt::format("ran {}: {}", seconds(r.seconds), r.reason));
    if (r.container_seconds > 0)
      tip += fmt::format("\nin its container {}", seconds(r.container_seconds));
    svg += fmt::format(
        "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"22\" rx=\"3\" fill=\"{}\" "
        "stroke=\"#fff\"><title>{}</title></rect>\n",
        x, y, w, colour(r), html_escape(tip));
  }
  return svg + "</svg>\n";
}

std::string size_bar(double part, double whole) {
  int pct = whole > 0 ? static_cast<int>(100 * part / whole + 0.5) : 0;
  return fmt::format("<div class=\"bar\"><div style=\"width:{}%\"></div></div>", pct);
}

}  // namespace

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string html_report(const ReportInputs& in) {
  const auto& steps = in.steps;
  double origin = 0, end = 0;
  for (const auto& r : steps) {
    if (r.started <= 0) continue;
    if (origin == 0 || r.started < origin) origin = r.started;
    end = std::max(end, r.started + (r.cached ? 0 : r.seconds));
  }
  double total = end > origin ? end - origin : 0;
  size_t cached = static_cast<size_t>(
      std::count_if(steps.begin(), steps.end(), [](const auto& r) { return r.cached; }));
  std::string h =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
      "<title>strata build report</title>\n<style>";
  h += kStyle;
  h += "</style></head><body>\n<h1>strata build report</h1>\n";
  h += fmt::format(
      "<p class=\"summary\">{} steps: {} ran, {} cached; {} from the first step to the last.</p>\n",
      steps.size(), steps.size() - cached, cached, seconds(total));

  h += "<h2>Timeline</h2>\n<p class=\"legend\"><span style=\"background:#1976d2\"></span>ran"
       "<span style=\"background:#9e9e9e\"></span>cached"
       "<span style=\"background:#f57c00\"></span>ran incrementally</p>\n";
  if (total > 0 || !steps.empty()) h += gantt(steps, origin, std::max(total, 0.001));

  h += "<h2>Steps</h2>\n<table><tr><th>step</th><th></th><th class=\"num\">seconds</th>"
       "<th class=\"num\">in container</th><th>why it ran</th></tr>\n";
  for (const auto& r : steps) {
    std::string why = r.cached ? "" : r.reason;
    if (!r.incremental_on.empty())
      why += fmt::format(" (incrementally on {} from {})", r.incremental_on, r.incremental_from);
    h += fmt::format(
        "<tr><td>{}<br><span class=\"key\">{}</span></td><td class=\"{}\">{}</td>"
        "<td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>\n",
        html_escape(step_name(r)), html_escape(r.key), kind(r), kind(r),
        r.cached ? "" : fmt::format("{:.2f}", r.seconds),
        r.container_seconds > 0 ? fmt::format("{:.2f}", r.container_seconds) : "",
        html_escape(why));
  }
  h += "</table>\n";

  // The layers, biggest first.
  std::vector<std::pair<int64_t, const solver::StepRecord*>> layers;
  for (const auto& r : steps)
    if (auto it = in.layer_bytes.find(r.key); it != in.layer_bytes.end() && it->second > 0)
      layers.emplace_back(it->second, &r);
  std::sort(layers.begin(), layers.end(),
            [](const auto& a, const auto& b) { return a.first > b.first; });
  h += "<h2>Biggest layers</h2>\n";
  if (layers.empty()) {
    h += "<p>No step of this build made a layer the store still has.</p>\n";
  } else {
    double biggest = static_cast<double>(layers.front().first);
    h += "<table><tr><th>step</th><th class=\"num\">size</th><th></th></tr>\n";
    for (size_t i = 0; i < layers.size() && i < 10; ++i)
      h += fmt::format("<tr><td>{}</td><td class=\"num\">{}</td><td>{}</td></tr>\n",
                       html_escape(step_name(*layers[i].second)),
                       human_size(static_cast<double>(layers[i].first)),
                       size_bar(static_cast<double>(layers[i].first), biggest));
    h += "</table>\n";
  }

  h += "<h2>Cache mounts</h2>\n";
  if (in.mounts.empty()) {
    h += "<p>The store has no cache mounts.</p>\n";
  } else {
    uint64_t biggest = 0;
    for (const auto& m : in.mounts) biggest = std::max(biggest, m.bytes);
    h += "<table><tr><th>id</th><th class=\"num\">size</th><th></th></tr>\n";
    for (const auto& m : in.mounts)
      h += fmt::format("<tr><td>{}</td><td class=\"num\">{}</td><td>{}</td></tr>\n",
                       html_escape(m.id), human_size(static_cast<double>(m.bytes)),
                       size_bar(static_cast<double>(m.bytes), static_cast<double>(biggest)));
    h += "</table>\n";
  }

  // Where the time went: RUN containers, the builder's own part of RUN
  // steps (mounts, layers), and the other steps (copies, workdirs).
  double containers = 0, run_builder = 0, other = 0;
  for (const auto& r : steps) {
    if (r.cached) continue;
    if (r.text.starts_with("RUN")) {
      containers += r.container_seconds;
      run_builder += std::max(0.0, r.seconds - r.container_seconds);
    } else {
      other += r.seconds;
    }
  }
  double all = containers + run_builder + other;
  h += "<h2>Where the time went</h2>\n<table><tr><th></th><th class=\"num\">seconds</th>"
       "<th></th></tr>\n";
  for (auto [what, secs] : {std::pair<const char*, double>{"RUN containers", containers},
                            {"RUN steps, strata's part (mounts, layers)", run_builder},
                            {"COPY, ADD and WORKDIR steps (files, layers)", other}})
    h += fmt::format("<tr><td>{}</td><td class=\"num\">{:.2f}</td><td>{}</td></tr>\n", what, secs,
                     size_bar(secs, all));
  h += "</table>\n<p class=\"summary\">Steps of stages that run at once overlap, so these can "
       "add up to more than the build took. Pulls, pushes and exports are in "
       "<code>strata build --trace</code>.</p>\n</body></html>\n";
  return h;
}

}  // namespace strata::cli
