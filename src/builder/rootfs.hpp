// A root filesystem assembled from layer snapshots with overlayfs: writable
// (a fresh upper dir that becomes the step's layer) or read-only (COPY
// --from, bind mounts, `strata run` sources). Unmounted on destruction.
#pragma once

#include <filesystem>
#include <vector>

#include "oci/image.hpp"
#include "store/store.hpp"

namespace strata::builder {

class Rootfs {
 public:
  // `above`: directories stacked over the layers, topmost first (a marked
  // RUN's earlier changes, builder/incremental).
  static Result<Rootfs> mount(store::Store& store, const std::vector<oci::LayerRef>& layers,
                              bool writable, const std::vector<std::filesystem::path>& above = {});
  ~Rootfs();
  Rootfs(Rootfs&& o) noexcept;
  Rootfs& operator=(Rootfs&&) = delete;

  const std::filesystem::path& path() const { return merged_; }
  const std::filesystem::path& upper() const { return upper_; }
  // The snapshot directories stacked below, topmost first.
  const std::vector<std::filesystem::path>& lowers() const { return lowers_; }
  // Unmounts now (the upper dir stays until destruction or take_upper()).
  Result<void> unmount();
  // Hands the upper dir over (e.g. to become a snapshot); it is not removed.
  void release_upper() { upper_released_ = true; }

 private:
  Rootfs() = default;
  std::filesystem::path dir_, merged_, upper_;
  std::vector<std::filesystem::path> lowers_;
  bool mounted_ = false, upper_released_ = false;
};

}  // namespace strata::builder
