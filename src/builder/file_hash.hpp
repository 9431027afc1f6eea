// Content digests of build-context files with a stat cache in the store
// (path, size, mtime, ctime, inode -> digest): a rebuild with nothing changed
// reads no file contents. Files that must be read are hashed in parallel.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "store/store.hpp"

namespace strata::builder {

// sha256 of each file's content, in the order given.
Result<std::vector<std::string>> content_digests(store::Store& store,
                                                 const std::vector<std::filesystem::path>& files);

}  // namespace strata::builder
