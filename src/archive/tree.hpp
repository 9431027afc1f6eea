// A directory of plain files (a cache export, say) as one archive file and
// back, for CI systems that move one file: .tar, .tar.gz (.tgz) or .tar.zst
// by the file's name. Only directories and regular files are carried.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <type_traits>

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
Result<void> in_output_directory(const std::filesystem::path& dest,
                                 const std::filesystem::path& tmp_parent,
                                 const DirectoryWork& write);

// Runs `read` on the directory `src` is: `src` itself, or the archive `src`
// unpacked into a temporary directory under `tmp_parent`.
Result<void> in_input_directory(const std::filesystem::path& src,
                                const std::filesystem::path& tmp_parent, const DirectoryWork& read);

namespace detail {
// Runs `in_directory` with `work`, a function of the directory returning a
// Result of any type, and returns what `work` returned.
template <class In, class F>
auto keeping_result(In in_directory, const std::filesystem::path& where,
                    const std::filesystem::path& tmp_parent, F& work) {
  using R = std::invoke_result_t<F&, const std::filesystem::path&>;
  std::optional<R> out;
  auto done =
      in_directory(where, tmp_parent, [&](const std::filesystem::path& dir) -> Result<void> {
        out.emplace(work(dir));
        if (!*out) return std::unexpected(out->error());
        return {};
      });
  if (!done) return R(std::unexpected(done.error()));
  return std::move(*out);
}
}  // namespace detail

// in_output_directory / in_input_directory for work that returns a value
// (an export's or import's statistics): that value.
template <class F>
auto write_directory_or_archive(const std::filesystem::path& dest,
                                const std::filesystem::path& tmp_parent, F&& write) {
  return detail::keeping_result(in_output_directory, dest, tmp_parent, write);
}
template <class F>
auto read_directory_or_archive(const std::filesystem::path& src,
                               const std::filesystem::path& tmp_parent, F&& read) {
  return detail::keeping_result(in_input_directory, src, tmp_parent, read);
}

}  // namespace strata::archive
