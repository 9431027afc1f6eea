#include "builder/image_config.hpp"

#include <fmt/format.h>

using nlohmann::json;

namespace strata::builder {

frontend::ImageConfig to_frontend_config(const json& config) {
  frontend::ImageConfig c;
  json cfg = config.value("config", json::object());
  if (!cfg.is_object()) return c;
  auto strings = [&](const char* key) -> std::optional<std::vector<std::string>> {
    if (!cfg.contains(key) || !cfg[key].is_array()) return std::nullopt;
    std::vector<std::string> out;
    for (const auto& v : cfg[key])
      if (v.is_string()) out.push_back(v.get<std::string>());
    return out;
  };
  if (auto env = strings("Env")) {
    for (const auto& kv : *env) {
      size_t eq = kv.find('=');
      c.env.emplace_back(kv.substr(0, eq), eq == std::string::npos ? "" : kv.substr(eq + 1));
    }
  }
  c.user = cfg.value("User", "");
  c.workdir = cfg.value("WorkingDir", "");
  if (auto s = strings("Shell"); s && !s->empty()) {
    c.shell = *s;
    c.shell_set = true;
  }
  auto text = [&](const char* key) {
    auto it = config.find(key);
    return it != config.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  if (!text("os").empty() && !text("architecture").empty()) {
    c.platform = text("os") + "/" + text("architecture");
    if (!text("variant").empty()) c.platform += "/" + text("variant");
  }
  c.cmd = strings("Cmd");
  c.entrypoint = strings("Entrypoint");
  if (cfg.contains("Labels") && cfg["Labels"].is_object())
    for (auto& [k, v] : cfg["Labels"].items())
      if (v.is_string()) c.labels[k] = v.get<std::string>();
  for (const char* key : {"ExposedPorts", "Volumes"}) {
    if (!cfg.contains(key) || !cfg[key].is_object()) continue;
    auto& out = std::string_view(key) == "Volumes" ? c.volumes : c.exposed_ports;
    for (auto& [k, v] : cfg[key].items()) out.push_back(k);
  }
  c.stop_signal = cfg.value("StopSignal", "");
  if (auto ob = strings("OnBuild")) c.onbuild = *ob;
  if (cfg.contains("Healthcheck") && cfg["Healthcheck"].is_object()) {
    const json& h = cfg["Healthcheck"];
    frontend::Healthcheck hc;
    if (h.contains("Test"))
      for (const auto& t : h["Test"]) hc.test.push_back(t.get<std::string>());
    hc.interval = h.value("Interval", int64_t{0});
    hc.timeout = h.value("Timeout", int64_t{0});
    hc.start_period = h.value("StartPeriod", int64_t{0});
    hc.start_interval = h.value("StartInterval", int64_t{0});
    hc.retries = h.value("Retries", 0);
    c.healthcheck = hc;
  }
  c.author = config.value("author", "");
  return c;
}

void apply_config(json& config, const frontend::ImageConfig& c) {
  json cfg = json::object();
  json env = json::array();
  for (const auto& [k, v] : c.env) env.push_back(k + "=" + v);
  if (!env.empty()) cfg["Env"] = env;
  if (!c.user.empty()) cfg["User"] = c.user;
  if (!c.workdir.empty()) cfg["WorkingDir"] = c.workdir;
  if (c.cmd) cfg["Cmd"] = *c.cmd;
  if (c.entrypoint) cfg["Entrypoint"] = *c.entrypoint;
  if (c.shell_set) cfg["Shell"] = c.shell;
  if (!c.labels.empty()) cfg["Labels"] = c.labels;
  if (!c.exposed_ports.empty()) {
    cfg["ExposedPorts"] = json::object();
    for (const auto& p : c.exposed_ports) cfg["ExposedPorts"][p] = json::object();
  }
  if (!c.volumes.empty()) {
    cfg["Volumes"] = json::object();
    for (const auto& v : c.volumes) cfg["Volumes"][v] = json::object();
  }
  if (!c.stop_signal.empty()) cfg["StopSignal"] = c.stop_signal;
  if (!c.onbuild.empty()) cfg["OnBuild"] = c.onbuild;
  if (c.healthcheck) {
    json h = {{"Test", c.healthcheck->test}};
    if (c.healthcheck->interval) h["Interval"] = c.healthcheck->interval;
    if (c.healthcheck->timeout) h["Timeout"] = c.healthcheck->timeout;
    if (c.healthcheck->start_period) h["StartPeriod"] = c.healthcheck->start_period;
    if (c.healthcheck->start_interval) h["StartInterval"] = c.healthcheck->start_interval;
    if (c.healthcheck->retries) h["Retries"] = c.healthcheck->retries;
    cfg["Healthcheck"] = h;
  }
  config["config"] = cfg;
  if (!c.author.empty()) config["author"] = c.author;
}

}  // namespace strata::builder
