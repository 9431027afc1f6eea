// The translation between an OCI image config and the frontend's
// ImageConfig: what a FROM inherits (ENV, WORKDIR, ...) and what a built
// stage's config says. Used by the builder and the build command.
#pragma once

#include <nlohmann/json.hpp>

#include "frontend/plan.hpp"

namespace strata::builder {

frontend::ImageConfig to_frontend_config(const nlohmann::json& config);
// Sets the "config" section of an OCI image config from the frontend's.
void apply_config(nlohmann::json& config, const frontend::ImageConfig& c);

}  // namespace strata::builder
