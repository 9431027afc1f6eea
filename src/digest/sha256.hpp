// Content digests: streaming SHA-256 (OpenSSL, SHA-NI where the CPU has it)
// and the "sha256:<hex>" strings OCI uses to name content.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "util/error.hpp"

namespace strata {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;

  void update(const void* data, size_t size);
  void update(std::string_view s) { update(s.data(), s.size()); }
  // "sha256:<64 hex>"; the hasher cannot be updated afterwards.
  std::string finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

std::string sha256_digest(std::string_view data);
Result<std::string> sha256_file(const std::filesystem::path& path);

// Is `d` a well-formed "sha256:<64 lower-case hex>"?
bool valid_digest(std::string_view d);
// The hex part of a digest ("sha256:abc" -> "abc").
std::string_view digest_hex(std::string_view d);

}  // namespace strata
