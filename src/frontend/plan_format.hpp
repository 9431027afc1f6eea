// Renders a Plan for people (text) and for programs (JSON), as printed by
// `strata build --dry-run [--format json]`.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>

#include "frontend/plan.hpp"

namespace strata::frontend {

std::string plan_to_text(const Plan& plan);
nlohmann::json plan_to_json(const Plan& plan);
// The JSON document as text; bytes that are not UTF-8 become U+FFFD.
std::string plan_to_json_text(const Plan& plan);

// Go-style duration: 90s -> "1m30s", 0.5s -> "500ms".
std::string format_duration(int64_t ns);

}  // namespace strata::frontend
