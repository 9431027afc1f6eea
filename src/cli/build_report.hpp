// `strata explain --html FILE`: the last build as one self-contained HTML
// page (inline CSS and SVG, nothing fetched): a Gantt chart of its steps
// (a row per stage, a bar per step coloured cached / ran / incremental,
// its reason and times on hover), every step with why it ran, the biggest
// layers it made or reused, the cache mounts and their sizes, and where
// the time went. Written by cli/image_commands from the build record and
// what the store says of its layers and mounts.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "solver/build_record.hpp"

namespace strata::cli {

struct ReportInputs {
  std::vector<solver::StepRecord> steps;
  std::map<std::string, int64_t> layer_bytes;  // by step key: its layer's size
  struct Mount {
    std::string id;
    uint64_t bytes = 0;
  };
  std::vector<Mount> mounts;
};

std::string html_report(const ReportInputs& in);

// Text for HTML: & < > " ' as entities.
std::string html_escape(std::string_view text);

}  // namespace strata::cli
