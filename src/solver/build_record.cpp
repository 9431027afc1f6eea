#include "solver/build_record.hpp"

#include <nlohmann/json.hpp>

using nlohmann::json;

namespace strata::solver {

std::string records_to_json(const std::vector<StepRecord>& records) {
  json out = json::array();
  for (const auto& r : records) {
    json e = {{"stage", r.stage}, {"index", r.index}, {"step", r.number},  {"line", r.line},
              {"text", r.text},   {"key", r.key},     {"cached", r.cached}};
    if (!r.cached) {
      e["reason"] = r.reason;
      e["seconds"] = r.seconds;
      if (r.container_seconds > 0) e["container_seconds"] = r.container_seconds;
    }
    if (r.started > 0) e["started"] = r.started;
    if (!r.platform.empty()) e["platform"] = r.platform;
    if (!r.incremental_on.empty())
      e["incremental"] = {{"on", r.incremental_on}, {"from", r.incremental_from}};
    out.push_back(std::move(e));
  }
  return out.dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<std::vector<StepRecord>> records_from_json(std::string_view text) {
  json doc = json::parse(text, nullptr, false);
  if (!doc.is_array()) return fail(Errc::invalid_argument, "a build record is not a JSON array");
  std::vector<StepRecord> out;
  for (const auto& e : doc) {
    if (!e.is_object())
      return fail(Errc::invalid_argument, "a build record's step is not an object");
    auto text_of = [&](const char* name) -> std::string {
      auto it = e.find(name);
      return it != e.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    auto number_of = [&](const char* name) -> double {
      auto it = e.find(name);
      return it != e.end() && it->is_number() ? it->get<double>() : 0;
    };
    StepRecord r;
    r.stage = text_of("stage");
    r.index = static_cast<size_t>(number_of("index"));
    // Records without a step number (none yet) showed it as index + 1.
    r.number = e.contains("step") ? static_cast<size_t>(number_of("step")) : r.index + 1;
    r.line = static_cast<int>(number_of("line"));
    r.text = text_of("text");
    r.platform = text_of("platform");
    r.key = text_of("key");
    auto cached = e.find("cached");
    r.cached = cached != e.end() && cached->is_boolean() && cached->get<bool>();
    r.reason = text_of("reason");
    r.seconds = number_of("seconds");
    r.started = number_of("started");
    r.container_seconds = number_of("container_seconds");
    if (auto inc = e.find("incremental"); inc != e.end() && inc->is_object()) {
      auto on = inc->find("on"), from = inc->find("from");
      if (on != inc->end() && on->is_string()) r.incremental_on = on->get<std::string>();
      if (from != inc->end() && from->is_string()) r.incremental_from = from->get<std::string>();
    }
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace strata::solver
