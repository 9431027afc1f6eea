// Content digests of files (build contexts, cache mounts being exported)
// with a stat cache in the store (path, size, mtime, ctime, inode -> digest):
// a rebuild or re-export with nothing changed reads no file contents. Files
// that must be read are hashed in parallel.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "store/store.hpp"

namespace strata::store {

// A file and what its stat said (the stat cache's key).
struct FileId {
  std::string path;
  int64_t size = 0, mtime = 0, ctime = 0, ino = 0;  // times in nanoseconds
};

// sha256 of each file's content, in the order given. `root` is a directory
// all the files are under (their cache entries are read in one query).
Result<std::vector<std::string>> content_digests(Store& store, const std::filesystem::path& root,
                                                 const std::vector<FileId>& files);

}  // namespace strata::store
