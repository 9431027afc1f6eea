#include "registry/client.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "digest/sha256.hpp"
#include "oci/checked_json.hpp"
#include "oci/image.hpp"
#include "os/fs.hpp"
#include "util/strings.hpp"

using nlohmann::json;

namespace strata::registry {

const char* const kManifestTypes =
    "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.docker.distribution.manifest.v2+json";

namespace {

constexpr uint64_t kMaxTokenReply = 1 << 20;  // a token server's JSON reply

// The registry's own words for a failed request, if it sent the spec's
// {"errors":[{"code","message"}]}.
std::string registry_message(const HttpResponse& r) {
  json j = json::parse(r.body, nullptr, false);
  if (j.is_object() && j.contains("errors") && j["errors"].is_array() && !j["errors"].empty()) {
    oci::Fields e(j["errors"][0], "error");
    auto code = e.string("code"), message = e.string("message");
    if (code && message) return fmt::format("{}: {}", code->value_or(""), message->value_or(""));
  }
  return "";
}

bool transient(long status) {
  return status >= 500 || status == 429;
}

// Authorization headers, shared by every Client of the process: a build
// that fetches ten base layers one by one asks the token server once. Keyed
// by registry, user and scope ("*": basic auth, any scope).
struct AuthCache {
  std::mutex mu;
  std::map<std::string, std::string> headers;
};
AuthCache& auth_cache() {
  static AuthCache cache;
  return cache;
}

void back_off(int attempt) {
  std::this_thread::sleep_for(std::chrono::milliseconds(200) * (1 << attempt));
}

}  // namespace

bool plain_http(const std::string& registry, const std::string& insecure) {
  std::string host = registry;
  if (host.starts_with('[')) {
    host = host.substr(1, host.find(']') - 1);
  } else if (size_t colon = host.rfind(':'); colon != std::string::npos) {
    host = host.substr(0, colon);
  }
  in_addr v4{};
  in6_addr v6{};
  if (host == "localhost") return true;
  if (::inet_pton(AF_INET, host.c_str(), &v4) == 1 && (ntohl(v4.s_addr) >> 24) == 127) return true;
  if (::inet_pton(AF_INET6, host.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6)) return true;
  for (const auto& h : split(insecure, ','))
    if (std::string(trim(h)) == registry || std::string(trim(h)) == host) return true;
  return false;
}

Client::Client(std::string registry, std::string repository, ClientOptions opts)
    : registry_(std::move(registry)), repository_(std::move(repository)), opts_(std::move(opts)) {
  oci::Reference r{registry_, repository_, "", ""};
  base_ = fmt::format("{}://{}", plain_http(registry_, opts_.insecure) ? "http" : "https",
                      r.api_host());
  creds_ = opts_.credentials ? opts_.credentials : find_credentials(registry_);
  if (const char* c = std::getenv("STRATA_UPLOAD_CHUNK_SIZE"); c && *c)
    opts_.chunk_size = std::max<uint64_t>(1, std::strtoull(c, nullptr, 10));
}

std::string Client::auth_key(const std::string& scope) const {
  std::string who = creds_ ? creds_->username + ":" + sha256_digest(creds_->password) : "";
  return registry_ + "\n" + who + "\n" + scope;
}

std::string Client::url(const std::string& path) const {
  return fmt::format("{}/v2/{}/{}", base_, repository_, path);
}

std::string Client::absolute(const std::string& location) const {
  if (location.starts_with("http://") || location.starts_with("https://")) return location;
  return base_ + (location.starts_with('/') ? "" : "/") + location;
}

Result<void> Client::authenticate(const HttpResponse& challenge, const std::string& scope) {
  auto [scheme, params] = parse_challenge(challenge.header("www-authenticate"));
  auto login_hint = [&] {
    return fmt::format("run `strata login {}` (or docker login) with an account that may use {}",
                       registry_, repository_);
  };
  if (scheme == "basic") {
    if (!creds_)
      return fail(Errc::invalid_argument,
                  fmt::format("{} asks for a user name and password: {}", registry_, login_hint()));
    std::lock_guard g(auth_cache().mu);
    auth_cache().headers[auth_key("*")] =
        "Basic " + base64_encode(creds_->username + ":" + creds_->password);
    return {};
  }
  if (scheme != "bearer" || params["realm"].empty())
    return fail(Errc::invalid_argument,
                fmt::format("{} asks for authentication strata does not know: \"{}\"", registry_,
                            challenge.header("www-authenticate")));
  HttpRequest req;
  req.url = params["realm"];
  req.url += req.url.find('?') == std::string::npos ? "?" : "&";
  if (!params["service"].empty()) req.url += "service=" + url_encode(params["service"]) + "&";
  for (const auto& s : split(scope, ' '))
    if (!s.empty()) req.url += "scope=" + url_encode(s) + "&";
  req.url.pop_back();
  if (creds_)
    req.headers.push_back("Authorization: Basic " +
                          base64_encode(creds_->username + ":" + creds_->password));
  req.timeout_seconds = 60;
  req.max_body = kMaxTokenReply;
  Result<HttpResponse> resp;
  for (int attempt = 0;; ++attempt) {
    resp = http_perform(req);
    if (!resp && resp.error().code != Errc::io) break;  // refused, not failed: no retry
    bool again = !resp || transient(resp->status);
    if (!again || attempt + 1 >= opts_.attempts) break;
    back_off(attempt);
  }
  if (!resp) return std::unexpected(resp.error().with_context("getting a token"));
  if (resp->status == 401 || resp->status == 403)
    return fail(Errc::invalid_argument,
                fmt::format("the token server of {} refused {}: {}", registry_,
                            creds_ ? "the stored credentials" : "anonymous access", login_hint()));
  if (resp->status != 200)
    return fail(Errc::io,
                fmt::format("the token server {} answered {}", params["realm"], resp->status));
  auto token = parse_token_reply(resp->body, "the token server " + params["realm"]);
  if (!token) return std::unexpected(token.error());
  std::lock_guard g(auth_cache().mu);
  auth_cache().headers[auth_key(scope)] = "Bearer " + *token;
  return {};
}

Result<std::string> parse_token_reply(std::string_view body, const std::string& what) {
  std::string doc = "the reply of " + what;
  auto j = oci::parse_json(body, doc, kMaxTokenReply);
  if (!j) return std::unexpected(j.error());
  auto f = oci::Fields::of(*j, doc);
  if (!f) return std::unexpected(f.error());
  auto token = f->string("token"), access_token = f->string("access_token");
  if (!token) return std::unexpected(token.error());
  if (!access_token) return std::unexpected(access_token.error());
  std::string value = token->value_or(access_token->value_or(""));
  if (value.empty()) return fail(Errc::io, fmt::format("{} sent no token", what));
  return value;
}

Result<HttpResponse> Client::call(HttpRequest req, Access access, bool retry,
                                  const std::function<Result<void>()>& restart,
                                  const std::string& extra_scope) {
  // No repository: a login check, which asks for a token without a scope.
  std::string scope = repository_.empty()
                          ? ""
                          : fmt::format("repository:{}:{}", repository_,
                                        access == Access::push ? "pull,push" : "pull");
  if (!extra_scope.empty()) scope += " " + extra_scope;
  const size_t plain_headers = req.headers.size();
  bool authenticated = false;
  for (int attempt = 0;;) {
    req.headers.resize(plain_headers);
    {
      AuthCache& cache = auth_cache();
      std::lock_guard g(cache.mu);
      auto it = cache.headers.find(auth_key(scope));
      if (it == cache.headers.end()) it = cache.headers.find(auth_key("*"));
      if (it != cache.headers.end()) req.headers.push_back("Authorization: " + it->second);
    }
    auto resp = http_perform(req);
    // Transport failures and 5xx/429 are retried when the request may be
    // sent again; 429 Too Many Requests always (the registry did not act on
    // it, so an upload's PATCH or PUT may be repeated too); a refused
    // response never.
    bool failed = !resp && resp.error().code == Errc::io;
    if (!resp && !failed) return resp;
    bool again = attempt + 1 < opts_.attempts &&
                 (retry ? failed || transient(resp->status) : resp && resp->status == 429);
    if (again) {
      back_off(attempt++);
    } else if (resp && resp->status == 401 && !authenticated) {
      if (auto a = authenticate(*resp, scope); !a) return std::unexpected(a.error());
      authenticated = true;
    } else {
      return resp;
    }
    if (restart)
      if (auto r = restart(); !r) return std::unexpected(r.error());
  }
}

namespace {

Error status_error(const HttpResponse& r, const std::string& what, const std::string& registry) {
  std::string says = registry_message(r);
  std::string detail =
      says.empty() ? fmt::format("HTTP {}", r.status) : fmt::format("HTTP {} ({})", r.status, says);
  Errc code = r.status == 404                      ? Errc::not_found
              : r.status == 401 || r.status == 403 ? Errc::invalid_argument
                                                   : Errc::io;
  std::string hint;
  if (r.status == 401)
    hint = fmt::format("; log in with `strata login {}`", registry);
  else if (r.status == 403)
    hint = "; the account may not do this";
  return Error{code, fmt::format("{}: {}{}", what, detail, hint)};
}

}  // namespace

Result<void> Client::check_login() {
  HttpRequest req;
  req.url = base_ + "/v2/";
  req.timeout_seconds = 60;
  auto resp = call(req, Access::pull, true);
  if (!resp) return std::unexpected(resp.error());
  if (resp->status != 200)
    return std::unexpected(status_error(*resp, "logging in to " + registry_, registry_));
  return {};
}

Result<RemoteManifest> Client::get_manifest(const std::string& ref) {
  HttpRequest req;
  req.url = url("manifests/" + ref);
  req.headers.push_back(std::string("Accept: ") + kManifestTypes);
  req.timeout_seconds = 120;
  req.max_body = oci::kMaxManifestBytes;
  auto resp = call(req, Access::pull, true);
  std::string what = fmt::format("manifest {}:{}", registry_ + "/" + repository_, ref);
  if (!resp) return std::unexpected(resp.error().with_context(what));
  if (resp->status != 200) return std::unexpected(status_error(*resp, what, registry_));
  RemoteManifest m;
  m.bytes = std::move(resp->body);
  m.digest = sha256_digest(m.bytes);
  m.media_type = resp->header("content-type");
  auto j = oci::parse_json(m.bytes, what, oci::kMaxManifestBytes);
  if (!j) return std::unexpected(j.error());
  auto f = oci::Fields::of(*j, what);
  if (!f) return std::unexpected(f.error());
  auto media_type = f->string("mediaType");
  if (!media_type) return std::unexpected(media_type.error());
  if (*media_type) m.media_type = **media_type;
  if (ref.starts_with("sha256:") && m.digest != ref)
    return fail(Errc::invalid_argument,
                fmt::format("{}: the registry sent content with digest {}", what, m.digest));
  return m;
}

Result<std::string> Client::put_manifest(const std::string& ref, const std::string& bytes,
                                         const std::string& media_type) {
  HttpRequest req;
  req.method = "PUT";
  req.url = url("manifests/" + ref);
  req.headers.push_back("Content-Type: " + media_type);
  req.body = bytes;
  req.timeout_seconds = 120;
  auto resp = call(req, Access::push, true);
  std::string what = fmt::format("pushing manifest {}/{}:{}", registry_, repository_, ref);
  if (!resp) return std::unexpected(resp.error().with_context(what));
  if (resp->status != 201 && resp->status != 200)
    return std::unexpected(status_error(*resp, what, registry_));
  std::string digest = resp->header("docker-content-digest");
  return digest.empty() ? sha256_digest(bytes) : digest;
}

Result<std::optional<int64_t>> Client::blob_size(const std::string& digest) {
  HttpRequest req;
  req.method = "HEAD";
  req.url = url("blobs/" + digest);
  req.timeout_seconds = 60;
  auto resp = call(req, Access::pull, true);
  if (!resp) return std::unexpected(resp.error());
  if (resp->status == 404) return std::optional<int64_t>{};
  if (resp->status != 200)
    return std::unexpected(status_error(*resp, "checking blob " + digest, registry_));
  std::string len = resp->header("content-length");
  return std::optional<int64_t>(len.empty() ? -1 : std::strtoll(len.c_str(), nullptr, 10));
}

Result<uint64_t> Client::fetch_blob(const std::string& digest, int64_t size,
                                    const std::function<Result<void>(std::string_view)>& out,
                                    const std::function<Result<void>()>& restart) {
  Sha256 hash;
  uint64_t got = 0;
  std::optional<Error> sink_error;
  HttpRequest req;
  req.url = url("blobs/" + digest);
  req.on_data = [&](std::string_view chunk) {
    hash.update(chunk.data(), chunk.size());
    got += chunk.size();
    if (size >= 0 && got > static_cast<uint64_t>(size)) {
      sink_error = Error{Errc::invalid_argument,
                         fmt::format("the registry sent more than the {} bytes of the blob", size)};
      return false;
    }
    auto r = out(chunk);
    if (!r) sink_error = r.error();
    return r.has_value();
  };
  auto again = [&]() -> Result<void> {
    if (sink_error) return std::unexpected(*sink_error);
    hash = Sha256{};
    got = 0;
    return restart();
  };
  std::string what = fmt::format("blob {} of {}/{}", digest, registry_, repository_);
  auto resp = call(req, Access::pull, true, again);
  if (sink_error) return std::unexpected(sink_error->with_context(what));
  if (!resp) return std::unexpected(resp.error().with_context(what));
  if (resp->status != 200) return std::unexpected(status_error(*resp, what, registry_));
  std::string actual = hash.finish();
  if (actual != digest || (size >= 0 && got != static_cast<uint64_t>(size)))
    return fail(Errc::invalid_argument,
                fmt::format("{}: the registry sent {} bytes with digest {} (expected {} bytes); "
                            "the registry's copy is corrupt, nothing was kept",
                            what, got, actual, size));
  return got;
}

Result<uint64_t> Client::fetch_blob_to(const std::string& digest, int64_t size, int fd,
                                       const std::function<void(size_t)>& received) {
  return fetch_blob(
      digest, size,
      [&](std::string_view chunk) -> Result<void> {
        if (auto r = os::write_all(fd, chunk.data(), chunk.size()); !r) return r;
        if (received) received(chunk.size());
        return {};
      },
      [&]() -> Result<void> {
        if (::ftruncate(fd, 0) != 0 || ::lseek(fd, 0, SEEK_SET) != 0)
          return fail(Errc::io,
                      fmt::format("truncating a download of {}: {}", digest, std::strerror(errno)));
        return {};
      });
}

Result<std::string> Client::fetch_small_blob(const std::string& digest, int64_t size,
                                             size_t limit) {
  if (size > static_cast<int64_t>(limit))
    return fail(Errc::invalid_argument,
                fmt::format("blob {} is {} bytes, more than the {} strata reads into memory",
                            digest, size, limit));
  std::string text;
  auto n = fetch_blob(
      digest, size,
      [&](std::string_view chunk) -> Result<void> {
        if (text.size() + chunk.size() > limit)
          return fail(Errc::invalid_argument,
                      fmt::format("blob {} is more than the {} bytes strata reads into memory",
                                  digest, limit));
        text.append(chunk);
        return {};
      },
      [&]() -> Result<void> {
        text.clear();
        return {};
      });
  if (!n) return std::unexpected(n.error());
  return text;
}

Result<bool> Client::mount_blob(const std::string& digest, const std::string& from_repository) {
  HttpRequest req;
  req.method = "POST";
  req.url = url(fmt::format("blobs/uploads/?mount={}&from={}", url_encode(digest),
                            url_encode(from_repository)));
  req.timeout_seconds = 60;
  auto resp = call(req, Access::push, true, {}, fmt::format("repository:{}:pull", from_repository));
  if (!resp) return std::unexpected(resp.error());
  if (resp->status == 201) return true;
  if (resp->status == 202) {
    // The registry opened an upload instead; close it again.
    HttpRequest del;
    del.method = "DELETE";
    del.url = absolute(resp->header("location"));
    del.timeout_seconds = 60;
    (void)call(del, Access::push, false);
    return false;
  }
  return std::unexpected(status_error(*resp, "mounting blob " + digest, registry_));
}

Result<void> Client::upload_once(const std::string& digest, int fd, uint64_t size,
                                 const std::function<void(size_t)>& sent) {
  std::string what = fmt::format("uploading blob {} to {}/{}", digest, registry_, repository_);
  HttpRequest start;
  start.method = "POST";
  start.url = url("blobs/uploads/");
  start.timeout_seconds = 60;
  auto resp = call(start, Access::push, false);
  if (!resp) return std::unexpected(resp.error().with_context(what));
  if (resp->status != 202) return std::unexpected(status_error(*resp, what, registry_));
  std::string location = absolute(resp->header("location"));
  auto with_digest = [&](const std::string& loc) {
    return loc + (loc.find('?') == std::string::npos ? "?" : "&") + "digest=" + url_encode(digest);
  };
  HttpRequest put;
  put.method = "PUT";
  put.headers.push_back("Content-Type: application/octet-stream");
  put.on_sent = sent;
  if (size <= opts_.chunk_size) {
    put.body_fd = fd;
    put.body_size = size;
  } else {
    for (uint64_t off = 0; off < size; off += opts_.chunk_size) {
      HttpRequest patch;
      patch.method = "PATCH";
      patch.url = location;
      patch.body_fd = fd;
      patch.body_offset = off;
      patch.body_size = std::min(opts_.chunk_size, size - off);
      patch.headers.push_back(fmt::format("Content-Range: {}-{}", off, off + patch.body_size - 1));
      patch.headers.push_back("Content-Type: application/octet-stream");
      patch.on_sent = sent;
      auto p = call(patch, Access::push, false);
      if (!p) return std::unexpected(p.error().with_context(what));
      if (p->status != 202) return std::unexpected(status_error(*p, what, registry_));
      location = absolute(p->header("location"));
    }
  }
  put.url = with_digest(location);
  auto done = call(put, Access::push, false);
  if (!done) return std::unexpected(done.error().with_context(what));
  if (done->status != 201) return std::unexpected(status_error(*done, what, registry_));
  return {};
}

Result<void> Client::push_blob(const std::string& digest, const std::filesystem::path& file,
                               const std::function<void(size_t)>& sent) {
  os::UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return std::unexpected(os::errno_error("opening", file));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return std::unexpected(os::errno_error("stat", file));
  for (int attempt = 0;; ++attempt) {
    auto r = upload_once(digest, fd.get(), static_cast<uint64_t>(st.st_size), sent);
    if (r || attempt + 1 >= opts_.attempts || r.error().code != Errc::io) return r;
    back_off(attempt);
  }
}

Challenge parse_challenge(std::string_view h) {
  std::map<std::string, std::string> params;
  size_t sp = h.find(' ');
  std::string scheme = to_lower(h.substr(0, sp));
  std::string_view rest = sp == std::string_view::npos ? "" : h.substr(sp + 1);
  while (!rest.empty()) {
    rest = trim(rest);
    size_t eq = rest.find('=');
    if (eq == std::string_view::npos) break;
    std::string key = to_lower(trim(rest.substr(0, eq)));
    rest = rest.substr(eq + 1);
    std::string value;
    if (rest.starts_with('"')) {
      size_t i = 1;
      for (; i < rest.size() && rest[i] != '"'; ++i) {
        if (rest[i] == '\\' && i + 1 < rest.size()) ++i;
        value += rest[i];
      }
      rest = rest.substr(std::min(i + 1, rest.size()));
    } else {
      size_t comma = rest.find(',');
      value = std::string(trim(rest.substr(0, comma)));
      rest = comma == std::string_view::npos ? "" : rest.substr(comma);
    }
    params[key] = value;
    rest = trim(rest);
    if (rest.starts_with(',')) rest = rest.substr(1);
  }
  return {scheme, params};
}

}  // namespace strata::registry
