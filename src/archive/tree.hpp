// A directory of plain files (a cache export, say) as one archive file and
// back, for CI systems that move one file: .tar, .tar.gz (.tgz) or .tar.zst
// by the file's name. Only directories and regular files are carried.
#pragma once

#include <filesystem>
#include <functional>

#include "util/error.hpp"

namespace strata::archive {

// Does the name say archive (.tar, .tar.gz, .tgz, .tar.zst)?
bool is_archive_name(const std::filesystem::path& p);

// Writes `dir` as `file` (through a temporary name beside it).
Result<void> pack_directory(const std::filesystem::path& dir, const std::filesystem::path& file);

// Unpacks an archive pack_directory wrote (any compression) into `dir`;
// entries that would leave `dir` are refused.
Result<void> unpack_directory(const std::filesystem::path& file, const std::filesystem::path& dir);

using DirectoryWork = std::function<Result<void>(const std::filesystem::path& dir)>;

// Runs `write` on the directory that becomes `dest`: `dest` itself, or, when
// its name says archive, a temporary directory under `tmp_parent` that is
// packed into `dest` afterwards.
Result<void> write_directory_or_archive(const std::filesystem::path& dest,
                                        const std::filesystem::path& tmp_parent,
                                        const DirectoryWork& write);

// Runs `read` on the directory `src` is: `src` itself, or the archive `src`
// unpacked into a temporary directory under `tmp_parent`.
Result<void> read_directory_or_archive(const std::filesystem::path& src,
                                       const std::filesystem::path& tmp_parent,
                                       const DirectoryWork& read);

}  // namespace strata::archive
