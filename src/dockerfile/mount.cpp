#include "dockerfile/mount.hpp"

#include <fmt/format.h>

#include <charconv>

#include "util/strings.hpp"

namespace strata::dockerfile {
namespace {

const std::vector<std::string> kKeys = {"type", "from",        "source",   "src", "target",
                                        "dst",  "destination", "readonly", "ro",  "readwrite",
                                        "rw",   "required",    "size",     "id",  "sharing",
                                        "mode", "uid",         "gid",      "env"};

const std::vector<std::string> kTypes = {"bind", "cache", "tmpfs", "secret", "ssh"};

std::string suggestion(std::string_view word, const std::vector<std::string>& options) {
  std::string n = nearest(word, options);
  return n.empty() ? std::string() : fmt::format(" (did you mean {}?)", n);
}

// encoding/csv semantics for a single record.
Result<std::vector<std::string>> split_csv(std::string_view s) {
  std::vector<std::string> out;
  std::string cur;
  size_t i = 0;
  bool field_start = true;
  while (i <= s.size()) {
    if (i == s.size()) {
      out.push_back(cur);
      break;
    }
    char c = s[i];
    if (field_start && c == '"') {
      ++i;
      for (;;) {
        if (i >= s.size())
          return fail(Errc::syntax, fmt::format("unterminated quote in \"{}\"", s));
        if (s[i] == '"') {
          if (i + 1 < s.size() && s[i + 1] == '"') {
            cur.push_back('"');
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        cur.push_back(s[i++]);
      }
      if (i < s.size() && s[i] != ',')
        return fail(Errc::syntax, fmt::format("extraneous text after a quoted field in \"{}\"", s));
      field_start = false;
      continue;
    }
    if (c == ',') {
      out.push_back(cur);
      cur.clear();
      field_start = true;
      ++i;
      continue;
    }
    cur.push_back(c);
    field_start = false;
    ++i;
  }
  return out;
}

}  // namespace

std::string_view to_string(MountType t) {
  switch (t) {
    case MountType::bind:
      return "bind";
    case MountType::cache:
      return "cache";
    case MountType::tmpfs:
      return "tmpfs";
    case MountType::secret:
      return "secret";
    case MountType::ssh:
      return "ssh";
  }
  return "?";
}

std::string_view to_string(Sharing s) {
  switch (s) {
    case Sharing::shared:
      return "shared";
    case Sharing::private_:
      return "private";
    case Sharing::locked:
      return "locked";
  }
  return "?";
}

std::optional<uint64_t> parse_ram_size(std::string_view s) {
  auto num = take_number(s);
  if (!num) return std::nullopt;
  std::string unit = to_lower(trim(s));
  if (!unit.empty() && unit.back() == 'b') unit.pop_back();
  if (!unit.empty() && unit.back() == 'i') unit.pop_back();
  uint64_t mult = 1;
  if (unit.empty())
    mult = 1;
  else if (unit == "k")
    mult = 1ull << 10;
  else if (unit == "m")
    mult = 1ull << 20;
  else if (unit == "g")
    mult = 1ull << 30;
  else if (unit == "t")
    mult = 1ull << 40;
  else if (unit == "p")
    mult = 1ull << 50;
  else
    return std::nullopt;
  return static_cast<uint64_t>(*num * static_cast<double>(mult));
}

Result<std::vector<MountField>> parse_mount_fields(std::string_view spec) {
  auto parts = split_csv(spec);
  if (!parts) return std::unexpected(parts.error());
  std::vector<MountField> fields;
  for (const auto& part : *parts) {
    MountField f;
    size_t eq = part.find('=');
    f.key = to_lower(trim(part.substr(0, eq)));
    if (eq == std::string::npos) {
      f.bare = true;
      if (f.key != "readonly" && f.key != "ro" && f.key != "readwrite" && f.key != "rw" &&
          f.key != "required") {
        return fail(Errc::syntax, fmt::format("invalid field '{}' must be a key=value pair", part));
      }
    } else {
      f.value = part.substr(eq + 1);
    }
    if (std::find(kKeys.begin(), kKeys.end(), f.key) == kKeys.end()) {
      return fail(Errc::syntax, fmt::format("unexpected key '{}' in '{}'{}", f.key, part,
                                            suggestion(f.key, kKeys)));
    }
    if (f.key == "type" && f.value.find('$') == std::string::npos &&
        std::find(kTypes.begin(), kTypes.end(), to_lower(f.value)) == kTypes.end()) {
      return fail(Errc::syntax, fmt::format("unsupported mount type \"{}\"{}", f.value,
                                            suggestion(f.value, kTypes)));
    }
    if (f.key == "from") {
      size_t d = f.value.find('$');
      if (d != std::string::npos && d != f.value.size() - 1) {
        return fail(Errc::syntax,
                    "'from' doesn't support variable expansion, define alias stage instead");
      }
    }
    fields.push_back(std::move(f));
  }
  return fields;
}

Result<Mount> resolve_mount(const std::vector<MountField>& fields, const WordExpander& expand) {
  Mount m;
  std::vector<std::pair<const MountField*, std::string>> values;
  for (const auto& f : fields) {
    std::string v = f.value;
    if (!f.bare) {
      auto e = expand(f.value);
      if (!e) return std::unexpected(e.error());
      v = std::move(*e);
    }
    if (f.key == "type") {
      std::string t = to_lower(v);
      auto it = std::find(kTypes.begin(), kTypes.end(), t);
      if (it == kTypes.end()) {
        return fail(Errc::invalid_argument,
                    fmt::format("unsupported mount type \"{}\"{}", v, suggestion(v, kTypes)));
      }
      m.type = static_cast<MountType>(it - kTypes.begin());
    }
    values.emplace_back(&f, std::move(v));
  }
  bool ro_auto = true;
  auto bad = [](const MountField& f, const std::string& v) {
    return fail(Errc::invalid_argument, fmt::format("invalid value for {}: {}", f.key, v));
  };
  auto wrong_type = [&](const MountField& f) {
    return fail(Errc::invalid_argument,
                fmt::format("unexpected key '{}' for mount type '{}'", f.key, to_string(m.type)));
  };
  for (const auto& [fp, v] : values) {
    const MountField& f = *fp;
    const std::string& k = f.key;
    if (k == "type") continue;
    if (k == "from") {
      m.from = v;
    } else if (k == "source" || k == "src") {
      m.source = v;
    } else if (k == "target" || k == "dst" || k == "destination") {
      m.target = v;
    } else if (k == "readonly" || k == "ro" || k == "readwrite" || k == "rw") {
      bool val = true;
      if (!f.bare) {
        auto b = parse_go_bool(v);
        if (!b) return bad(f, v);
        val = *b;
      }
      m.readonly = (k == "readonly" || k == "ro") ? val : !val;
      ro_auto = false;
    } else if (k == "required") {
      if (m.type != MountType::secret && m.type != MountType::ssh) return wrong_type(f);
      bool val = true;
      if (!f.bare) {
        auto b = parse_go_bool(v);
        if (!b) return bad(f, v);
        val = *b;
      }
      m.required = val;
    } else if (k == "size") {
      if (m.type != MountType::tmpfs) return wrong_type(f);
      auto sz = parse_ram_size(v);
      if (!sz) return bad(f, v);
      m.size = *sz;
    } else if (k == "id") {
      m.id = v;
    } else if (k == "sharing") {
      if (m.type != MountType::cache) {
        return fail(Errc::invalid_argument,
                    fmt::format("invalid cache sharing set for {} mount", to_string(m.type)));
      }
      std::string s = to_lower(v);
      if (s == "shared")
        m.sharing = Sharing::shared;
      else if (s == "private")
        m.sharing = Sharing::private_;
      else if (s == "locked")
        m.sharing = Sharing::locked;
      else {
        return fail(
            Errc::invalid_argument,
            fmt::format("unrecognized sharing parameter '{}' (use shared, private or locked)", v));
      }
    } else if (k == "mode") {
      auto mode = parse_number<uint32_t>(v, 8);
      if (!mode) return fail(Errc::invalid_argument, fmt::format("invalid value {} for mode", v));
      m.mode = *mode;
    } else if (k == "uid" || k == "gid") {
      auto id = parse_number<uint32_t>(v);
      if (!id) return fail(Errc::invalid_argument, fmt::format("invalid value {} for {}", v, k));
      (k == "uid" ? m.uid : m.gid) = *id;
    } else if (k == "env") {
      if (m.type != MountType::secret) return wrong_type(f);
      m.env = v;
    }
  }
  if (ro_auto) m.readonly = !(m.type == MountType::cache || m.type == MountType::tmpfs);

  switch (m.type) {
    case MountType::bind:
    case MountType::cache:
    case MountType::tmpfs:
      if (m.target.empty()) {
        return fail(
            Errc::invalid_argument,
            fmt::format("mount type {} requires a target (target=/path)", to_string(m.type)));
      }
      if (m.type == MountType::cache && m.id.empty()) m.id = m.target;
      if (m.type == MountType::tmpfs && !m.from.empty())
        return fail(Errc::invalid_argument, "a tmpfs mount cannot have a from");
      break;
    case MountType::secret:
      if (!m.from.empty())
        return fail(Errc::invalid_argument, "secret mount should not have a from");
      if (m.id.empty() && m.target.empty() && m.source.empty() && !m.env) {
        return fail(Errc::invalid_argument,
                    "invalid secret mount: one of id, target or env is required");
      }
      if (!m.source.empty() && !m.id.empty())
        return fail(Errc::invalid_argument, "both source and id can't be set on a secret mount");
      if (m.id.empty()) {
        if (!m.source.empty())
          m.id = m.source;
        else if (!m.target.empty())
          m.id = m.target.substr(m.target.rfind('/') + 1);
        else
          m.id = *m.env;
      }
      if (m.target.empty() && !m.env) m.target = "/run/secrets/" + m.id;
      if (!m.mode) m.mode = 0400;
      break;
    case MountType::ssh:
      if (!m.from.empty()) return fail(Errc::invalid_argument, "ssh mount should not have a from");
      if (m.id.empty()) m.id = "default";
      if (m.target.empty()) m.target = "/run/buildkit/ssh_agent.0";
      if (!m.mode) m.mode = 0600;
      break;
  }
  if (m.type == MountType::cache && !m.mode) m.mode = 0755;
  return m;
}

}  // namespace strata::dockerfile
