#include "os/leftovers.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "os/fs.hpp"

namespace fs = std::filesystem;

namespace strata::os {

namespace {

std::optional<pid_t> parse_pid(std::string_view digits) {
  pid_t pid = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), pid);
  if (ec != std::errc() || end != digits.data() + digits.size() || pid <= 0) return std::nullopt;
  return pid;
}

// /proc/self/mountinfo's mount points, with its octal escapes undone.
std::vector<std::string> mount_points() {
  std::vector<std::string> out;
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    size_t at = 0;
    for (int field = 0; field < 4 && at != std::string::npos; ++field) at = line.find(' ', at + 1);
    if (at == std::string::npos) continue;
    size_t end = line.find(' ', at + 1);
    std::string_view raw = std::string_view(line).substr(at + 1, end - at - 1);
    std::string mp;
    for (size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '\\' && i + 4 <= raw.size()) {
        int v = 0;
        auto [p, ec] = std::from_chars(raw.data() + i + 1, raw.data() + i + 4, v, 8);
        if (ec == std::errc() && p == raw.data() + i + 4) {
          mp.push_back(static_cast<char>(v));
          i += 3;
          continue;
        }
      }
      mp.push_back(raw[i]);
    }
    out.push_back(std::move(mp));
  }
  return out;
}

}  // namespace

std::optional<pid_t> owner_of(std::string_view name) {
  for (size_t i = 0; i < name.size(); ++i) {
    if (name[i] != '-') continue;
    size_t j = i + 1;
    while (j < name.size() && name[j] >= '0' && name[j] <= '9') ++j;
    if (j > i + 1 && (j == name.size() || name[j] == '-'))
      return parse_pid(name.substr(i + 1, j - i - 1));
  }
  return std::nullopt;
}

bool process_alive(pid_t pid) {
  if (::kill(pid, 0) != 0 && errno != EPERM) return false;
  // A zombie (killed, not yet waited for by its parent) is gone too.
  std::ifstream stat(fmt::format("/proc/{}/stat", pid));
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  size_t paren = text.rfind(')');
  if (paren == std::string::npos || paren + 2 >= text.size()) return true;
  char state = text[paren + 2];
  return state != 'Z' && state != 'X';
}

size_t remove_leftovers(const fs::path& dir, std::optional<pid_t> only) {
  auto names = list_dir(dir);
  if (!names) return 0;
  std::vector<fs::path> gone;
  for (const auto& name : *names) {
    auto pid = owner_of(name);
    if (!pid || *pid == ::getpid()) continue;
    if (only ? *pid != *only : process_alive(*pid)) continue;
    gone.push_back(dir / name);
  }
  if (gone.empty()) return 0;
  // Mounts below those entries, deepest first: never delete through one.
  std::vector<std::string> mounted;
  for (auto& mp : mount_points())
    for (const auto& g : gone)
      if (mp == g.string() || mp.starts_with(g.string() + "/")) mounted.push_back(mp);
  std::sort(mounted.begin(), mounted.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  for (const auto& mp : mounted) ::umount2(mp.c_str(), MNT_DETACH);
  std::vector<std::string> left = mounted.empty() ? std::vector<std::string>{} : mount_points();
  size_t removed = 0;
  for (const auto& g : gone) {
    bool still_mounted = std::any_of(left.begin(), left.end(), [&](const std::string& mp) {
      return mp == g.string() || mp.starts_with(g.string() + "/");
    });
    if (still_mounted) continue;  // a detach that did not take: left for later
    if (remove_tree(g)) ++removed;
  }
  return removed;
}

void remove_stale_siblings(const fs::path& path) {
  auto names = list_dir(path.parent_path().empty() ? "." : path.parent_path());
  if (!names) return;
  std::string prefix = path.filename().string() + ".tmp-";
  for (const auto& name : *names) {
    if (!name.starts_with(prefix)) continue;
    auto pid = parse_pid(std::string_view(name).substr(prefix.size()));
    if (pid && *pid != ::getpid() && !process_alive(*pid))
      ::unlink((path.parent_path() / name).c_str());
  }
}

}  // namespace strata::os
