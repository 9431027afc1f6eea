#include "oci/checked_json.hpp"

#include <fmt/format.h>

namespace strata::oci {

using nlohmann::json;

Result<json> parse_json(std::string_view text, std::string_view what, uint64_t limit) {
  if (text.size() > limit)
    return fail(Errc::invalid_argument, fmt::format("{} is {} bytes, more than the {} strata reads",
                                                    what, text.size(), limit));
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded()) return fail(Errc::syntax, fmt::format("{} is not JSON", what));
  return j;
}

Result<Fields> Fields::of(const json& j, std::string what, bool allow_null) {
  if (!j.is_object() && !(allow_null && j.is_null()))
    return fail(Errc::syntax, fmt::format("{} is not a JSON object", what));
  return Fields(j, std::move(what));
}

const json* Fields::find(std::string_view key) const {
  if (!obj_.is_object()) return nullptr;
  auto it = obj_.find(key);
  if (it == obj_.end() || it->is_null()) return nullptr;
  return &*it;
}

std::unexpected<Error> Fields::missing(std::string_view key) const {
  return fail(Errc::syntax, fmt::format("{}: \"{}\" is missing", what_, key));
}

std::unexpected<Error> Fields::wrong(std::string_view key, std::string_view expected) const {
  const json* v = find(key);
  return fail(Errc::syntax, fmt::format("{}: \"{}\" is {}, not {}", what_, key,
                                        v ? v->type_name() : "absent", expected));
}

Result<std::optional<std::string>> Fields::string(std::string_view key) const {
  const json* v = find(key);
  if (!v) return std::optional<std::string>{};
  if (!v->is_string()) return wrong(key, "a string");
  return std::optional<std::string>{v->get<std::string>()};
}

Result<std::optional<int64_t>> Fields::integer(std::string_view key) const {
  const json* v = find(key);
  if (!v) return std::optional<int64_t>{};
  if (v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))
    return wrong(key, "an integer below 2^63");
  if (!v->is_number_integer()) return wrong(key, "an integer");
  return std::optional<int64_t>{v->get<int64_t>()};
}

Result<std::optional<bool>> Fields::boolean(std::string_view key) const {
  const json* v = find(key);
  if (!v) return std::optional<bool>{};
  if (!v->is_boolean()) return wrong(key, "true or false");
  return std::optional<bool>{v->get<bool>()};
}

Result<std::optional<std::vector<std::string>>> Fields::strings(std::string_view key) const {
  const json* v = find(key);
  if (!v) return std::optional<std::vector<std::string>>{};
  if (!v->is_array()) return wrong(key, "a list of strings");
  std::vector<std::string> out;
  out.reserve(v->size());
  for (const auto& s : *v) {
    if (!s.is_string()) return wrong(key, "a list of strings");
    out.push_back(s.get<std::string>());
  }
  return std::optional<std::vector<std::string>>{std::move(out)};
}

Result<std::optional<std::vector<std::pair<std::string, std::string>>>> Fields::string_map(
    std::string_view key) const {
  using Map = std::vector<std::pair<std::string, std::string>>;
  const json* v = find(key);
  if (!v) return std::optional<Map>{};
  if (!v->is_object()) return wrong(key, "an object of strings");
  Map out;
  for (auto it = v->begin(); it != v->end(); ++it) {
    if (!it->is_string()) return wrong(key, "an object of strings");
    out.emplace_back(it.key(), it->get<std::string>());
  }
  return std::optional<Map>{std::move(out)};
}

Result<const json*> Fields::object(std::string_view key) const {
  const json* v = find(key);
  if (v && !v->is_object()) return wrong(key, "an object");
  return v;
}

Result<const json*> Fields::array(std::string_view key) const {
  const json* v = find(key);
  if (v && !v->is_array()) return wrong(key, "a list");
  return v;
}

}  // namespace strata::oci
