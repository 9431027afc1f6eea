#include "os/user_namespace.hpp"

#include <unistd.h>

#include <charconv>
#include <sstream>
#include <vector>

#include "os/fs.hpp"
#include "util/strings.hpp"

namespace strata::os {

namespace {

std::vector<IdMapping> self_uid_map() {
  auto text = read_file("/proc/self/uid_map");
  if (!text) return {};
  return parse_id_map(*text).value_or(std::vector<IdMapping>{});
}

}  // namespace

std::optional<std::vector<IdMapping>> parse_id_map(std::string_view text) {
  std::vector<IdMapping> out;
  std::istringstream in{std::string(text)};
  std::string a, b, c;
  while (in >> a >> b >> c) {
    auto inside = parse_number<uint64_t>(a), outside = parse_number<uint64_t>(b),
         count = parse_number<uint64_t>(c);
    if (!inside || !outside || !count) return std::nullopt;
    out.push_back({*inside, *outside, *count});
  }
  return out;
}

bool in_user_namespace() {
  static const bool in = [] {
    auto map = self_uid_map();
    return !(map.size() == 1 && map[0].inside == 0 && map[0].outside == 0 &&
             map[0].count == 4294967295u);
  }();
  return in;
}

uid_t outer_uid() {
  if (!in_user_namespace()) return ::getuid();
  for (const auto& m : self_uid_map())
    if (m.inside <= ::getuid() && ::getuid() < m.inside + m.count)
      return static_cast<uid_t>(m.outside + (::getuid() - m.inside));
  return ::getuid();
}

std::optional<SubidRange> find_subid_range(std::string_view file_text, std::string_view user,
                                           uid_t uid) {
  std::istringstream in{std::string(file_text)};
  std::string line;
  std::string uid_text = std::to_string(uid);
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    size_t a = line.find(':');
    size_t b = a == std::string::npos ? a : line.find(':', a + 1);
    if (b == std::string::npos) continue;
    std::string_view name = std::string_view(line).substr(0, a);
    if (name != user && name != uid_text) continue;
    auto start = parse_number<uint64_t>(std::string_view(line).substr(a + 1, b - a - 1));
    auto count = parse_number<uint64_t>(std::string_view(line).substr(b + 1));
    if (start && count && *count > 0) return SubidRange{*start, *count};
  }
  return std::nullopt;
}

}  // namespace strata::os
