// Fuzzes the readers of outside JSON: OCI manifests, indexes and configs,
// docker archive manifests, descriptors, cache mount bundles. None may throw
// or crash, whatever the bytes.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "mounts/transfer.hpp"
#include "oci/checked_json.hpp"
#include "oci/image.hpp"

using namespace strata;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)oci::parse_manifest(text);
  (void)oci::parse_index(text);
  (void)oci::parse_config(text);
  (void)oci::parse_docker_archive_manifest(text);
  auto j = oci::parse_json(text, "input", oci::kMaxConfigBytes);
  if (!j) return 0;
  (void)oci::descriptor_from_json(*j);
  (void)mounts::bundle_from_json(*j);
  return 0;
}
