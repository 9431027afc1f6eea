#include "oci/reference.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <cctype>

#include "util/strings.hpp"

namespace strata::oci {

namespace {

bool is_host(std::string_view first) {
  return first == "localhost" || first.find('.') != std::string_view::npos ||
         first.find(':') != std::string_view::npos || first.starts_with('[');
}

bool valid_path(std::string_view path) {
  if (path.empty() || path.front() == '/' || path.back() == '/') return false;
  for (char ch : path) {
    bool ok = std::islower(static_cast<unsigned char>(ch)) ||
              std::isdigit(static_cast<unsigned char>(ch)) || ch == '.' || ch == '_' || ch == '-' ||
              ch == '/';
    if (!ok) return false;
  }
  return path.find("//") == std::string_view::npos;
}

bool valid_tag(std::string_view tag) {
  if (tag.empty() || tag.size() > 128 || tag.front() == '.' || tag.front() == '-') return false;
  for (char ch : tag)
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '_' && ch != '.' && ch != '-')
      return false;
  return true;
}

}  // namespace

bool names_registry(std::string_view name) {
  size_t slash = name.find('/');
  return slash != std::string_view::npos && is_host(name.substr(0, slash));
}

Result<Reference> parse_reference(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return fail(Errc::invalid_argument,
                fmt::format("\"{}\" is not an image reference: {} (expected "
                            "[HOST[:PORT]/]NAME[:TAG][@sha256:DIGEST])",
                            text, why));
  };
  Reference r;
  std::string_view rest = text;
  if (size_t at = rest.find('@'); at != std::string_view::npos) {
    r.digest = std::string(rest.substr(at + 1));
    rest = rest.substr(0, at);
    if (r.digest.size() != 71 || !r.digest.starts_with("sha256:"))
      return bad("the digest must be sha256: and 64 hex digits");
    for (char ch : r.digest.substr(7))
      if (!std::isxdigit(static_cast<unsigned char>(ch)) ||
          std::isupper(static_cast<unsigned char>(ch)))
        return bad("the digest must be sha256: and 64 lower-case hex digits");
  }
  size_t slash = rest.find('/');
  if (slash != std::string_view::npos && is_host(rest.substr(0, slash))) {
    r.registry = std::string(rest.substr(0, slash));
    rest = rest.substr(slash + 1);
  } else {
    r.registry = kDockerHub;
  }
  size_t colon = rest.rfind(':');
  if (colon != std::string_view::npos) {
    r.tag = std::string(rest.substr(colon + 1));
    rest = rest.substr(0, colon);
    if (!valid_tag(r.tag)) return bad("the tag may hold letters, digits, '_', '.' and '-'");
  }
  if (!valid_path(rest))
    return bad("the name may hold lower-case letters, digits, '.', '_', '-' and '/'");
  r.repository = std::string(rest);
  if (r.registry == kDockerHub && r.repository.find('/') == std::string::npos)
    r.repository = "library/" + r.repository;
  if (r.registry == "index.docker.io" || r.registry == "registry-1.docker.io")
    r.registry = kDockerHub;
  if (r.tag.empty() && r.digest.empty()) r.tag = "latest";
  return r;
}

std::string Reference::api_host() const {
  return registry == kDockerHub ? "registry-1.docker.io" : registry;
}

std::string Reference::str() const {
  std::string s = repo_path();
  if (!tag.empty()) s += ":" + tag;
  if (!digest.empty()) s += "@" + digest;
  return s;
}

}  // namespace strata::oci
