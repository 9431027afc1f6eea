// Fuzzes what a registry sends that strata parses besides manifests: the
// WWW-Authenticate challenge, a token server's reply, an index to pick a
// platform from.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "oci/platform.hpp"
#include "registry/client.hpp"

using namespace strata;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto c = registry::parse_challenge(text);
  (void)c.params["realm"];
  (void)registry::parse_token_reply(text, "the fuzzer");
  if (auto index = oci::parse_index(text, "the fuzzer"))
    (void)oci::pick_platform(*index, {"linux", "arm64", "v8"});
  return 0;
}
