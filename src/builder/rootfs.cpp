#include "builder/rootfs.hpp"

#include "os/fs.hpp"
#include "os/mount.hpp"
#include "snapshot/layer.hpp"

namespace fs = std::filesystem;

namespace strata::builder {

Result<Rootfs> Rootfs::mount(store::Store& store, const std::vector<oci::LayerRef>& layers,
                             bool writable, const std::vector<fs::path>& above) {
  std::vector<fs::path> lowers = above;
  for (auto it = layers.rbegin(); it != layers.rend(); ++it) {
    auto snap = TRY_VALUE(snapshot::ensure_snapshot(store, it->blob, it->diff_id));
    lowers.insert(lowers.end(), snap.begin(), snap.end());
  }
  auto dir = TRY_VALUE(os::make_temp_dir(store.tmp_dir(), "rootfs-"));
  Rootfs r;
  r.dir_ = dir;
  r.merged_ = dir / "merged";
  r.lowers_ = lowers;
  fs::path work = dir / "work";
  if (writable) r.upper_ = dir / "upper";
  for (const auto& d : {r.merged_, work, writable ? r.upper_ : r.merged_}) {
    TRY(os::make_dirs(d));
  }
  if (lowers.empty() && !writable) {
    r.mounted_ = false;  // an empty, read-only root: the empty directory itself
    return r;
  }
  TRY(os::mount_overlay(lowers, r.upper_, work, r.merged_));
  r.mounted_ = true;
  return r;
}

Rootfs::Rootfs(Rootfs&& o) noexcept
    : dir_(std::move(o.dir_)),
      merged_(std::move(o.merged_)),
      upper_(std::move(o.upper_)),
      lowers_(std::move(o.lowers_)),
      mounted_(o.mounted_),
      upper_released_(o.upper_released_) {
  o.mounted_ = false;
  o.dir_.clear();
}

Result<void> Rootfs::unmount() {
  if (!mounted_) return {};
  mounted_ = false;
  return os::unmount(merged_);
}

Rootfs::~Rootfs() {
  if (dir_.empty()) return;
  // Never delete through a mount that is still there.
  if (!unmount()) return;
  if (upper_released_) {
    // Everything but the upper dir goes.
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir_, ec))
      if (e.path() != upper_) (void)os::remove_tree(e.path());
    fs::remove(dir_, ec);
  } else {
    (void)os::remove_tree(dir_);
  }
}

}  // namespace strata::builder
