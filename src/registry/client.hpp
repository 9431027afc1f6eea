// A client of one repository on an OCI distribution registry
// (distribution-spec v2): manifests and blobs, pulled and pushed. Handles
// auth (anonymous, basic, and bearer tokens from WWW-Authenticate, with the
// docker config's credentials), retries with backoff on 5xx, 429 and dropped
// connections, and checks every blob's digest as it arrives.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "oci/reference.hpp"
#include "registry/credentials.hpp"
#include "registry/http.hpp"

namespace strata::registry {

struct ClientOptions {
  std::string insecure;  // hosts spoken to over plain http (see plain_http)
  int attempts = 5;      // tries per request; waits 0.2 s, 0.4 s, ... between
  // Blobs larger than this are uploaded in chunks (PATCH with Content-Range),
  // smaller ones in one PUT. $STRATA_UPLOAD_CHUNK_SIZE overrides it.
  uint64_t chunk_size = 64ull << 20;
  // Credentials to use instead of the docker config's (strata login).
  std::optional<Credentials> credentials;
};

struct RemoteManifest {
  std::string bytes, media_type, digest;
};

// The media types strata accepts as manifests, for Accept headers.
extern const char* const kManifestTypes;

class Client {
 public:
  Client(std::string registry, std::string repository, ClientOptions opts = {});
  Client(const oci::Reference& ref, ClientOptions opts = {})
      : Client(ref.registry, ref.repository, std::move(opts)) {}

  const std::string& registry() const { return registry_; }
  const std::string& repository() const { return repository_; }

  // GET /v2/: checks that the registry answers and accepts the credentials.
  Result<void> check_login();

  // A manifest or index by tag or digest; its digest is checked when asked
  // for by digest. Not found is Errc::not_found.
  Result<RemoteManifest> get_manifest(const std::string& ref);
  // PUT; returns the digest the registry stores it under.
  Result<std::string> put_manifest(const std::string& ref, const std::string& bytes,
                                   const std::string& media_type);

  // HEAD: the blob's size if the repository has it.
  Result<std::optional<int64_t>> blob_size(const std::string& digest);
  // Streams the blob to `out`, checking size (when known, -1 otherwise) and
  // digest; on a retry `restart` is called first to drop what was written.
  Result<uint64_t> fetch_blob(const std::string& digest, int64_t size,
                              const std::function<Result<void>(std::string_view)>& out,
                              const std::function<Result<void>()>& restart);
  // The same into a file (truncated again on a retry); `received` hears of
  // the bytes as they arrive ...
  Result<uint64_t> fetch_blob_to(const std::string& digest, int64_t size, int fd,
                                 const std::function<void(size_t)>& received = {});
  // ... or into memory, for small blobs (configs, manifests) up to `limit`.
  Result<std::string> fetch_small_blob(const std::string& digest, int64_t size,
                                       size_t limit = 64u << 20);
  // Asks the registry to link a blob from another repository of the same
  // registry; false when it would not (then upload it).
  Result<bool> mount_blob(const std::string& digest, const std::string& from_repository);
  // Uploads a file whose content has `digest`; `sent` hears of the bytes
  // as they go.
  Result<void> push_blob(const std::string& digest, const std::filesystem::path& file,
                         const std::function<void(size_t)>& sent = {});

 private:
  enum class Access { pull, push };
  // `retry`: the request may be sent again after a transport failure or a
  // 5xx (it changes nothing twice); a 429 is retried either way.
  Result<HttpResponse> call(HttpRequest req, Access access, bool retry,
                            const std::function<Result<void>()>& restart = {},
                            const std::string& extra_scope = "");
  Result<void> authenticate(const HttpResponse& challenge, const std::string& scope);
  std::string url(const std::string& path) const;
  std::string absolute(const std::string& location) const;
  Result<void> upload_once(const std::string& digest, int fd, uint64_t size,
                           const std::function<void(size_t)>& sent);

  std::string registry_, repository_, base_;
  ClientOptions opts_;
  std::optional<Credentials> creds_;
  // Where this client's Authorization header for `scope` is kept (a cache
  // shared by the process, per registry and credentials).
  std::string auth_key(const std::string& scope) const;
};

// Plain http for this registry: loopback hosts always, others when listed in
// `insecure` (comma-separated hosts, from --insecure-registry or
// $STRATA_INSECURE_REGISTRIES).
bool plain_http(const std::string& registry, const std::string& insecure);
// A WWW-Authenticate header: `Bearer realm="…",service="…"` -> "bearer" and
// the parameters (quoted values unescaped).
struct Challenge {
  std::string scheme;  // lower case
  std::map<std::string, std::string> params;
};
Challenge parse_challenge(std::string_view header);

// The token in a token server's reply ({"token": …} or {"access_token": …});
// `what` names the server in errors.
Result<std::string> parse_token_reply(std::string_view body, const std::string& what);

}  // namespace strata::registry
