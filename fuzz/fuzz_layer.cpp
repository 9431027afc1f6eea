// Fuzzes the tar reader and layer unpacking: any bytes as a layer blob (tar,
// or compressed), read entry by entry, hashed, and unpacked into a fresh
// directory. Whatever the entries say, nothing may appear outside it (the
// fuzzer aborts if the directory around it holds anything else).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string_view>

#include "archive/tar.hpp"
#include "os/fs.hpp"
#include "snapshot/layer.hpp"

using namespace strata;
namespace fs = std::filesystem;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  static const fs::path work = [] {
    fs::path w = fs::temp_directory_path() / ("strata-fuzz-layer-" + std::to_string(::getpid()));
    fs::remove_all(w);
    fs::create_directories(w / "inner");
    return w;
  }();
  const fs::path blob = work / "blob", dest = work / "inner" / "dest";
  if (!os::write_file_atomic(blob, bytes)) return 0;

  if (auto r = archive::TarReader::open_memory(bytes)) {
    for (int i = 0; i < 10000; ++i) {
      auto e = r->next();
      if (!e || !*e) break;
      (void)r->read_data();
    }
  }
  fs::create_directories(dest);
  if (auto r = archive::TarReader::open_hashing(blob)) {
    if (snapshot::unpack_layer(*r, dest)) (void)r->finish_hashing();
  }
  // Only blob and inner/ (holding dest) may exist.
  size_t outside = 0;
  for (const auto& e : fs::directory_iterator(work))
    outside += e.path() != blob && e.path() != work / "inner";
  for (const auto& e : fs::directory_iterator(work / "inner")) outside += e.path() != dest;
  if (outside) std::abort();
  fs::remove_all(dest);
  return 0;
}
