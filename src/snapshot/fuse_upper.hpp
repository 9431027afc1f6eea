// fuse-overlayfs (strata without root where the kernel cannot mount
// overlayfs in a user namespace) marks every directory it creates opaque,
// with an attribute and two marker entries; the kernel marks only those
// that replace something below. The builder calls normalize_fuse_upper on
// a step's upper dir before it becomes a layer, so that the layer is the
// one the kernel's overlay (and a build as root) gives.
#pragma once

#include <filesystem>

#include "snapshot/lower_view.hpp"
#include "util/error.hpp"

namespace strata::snapshot {

// The opaque marks of the upper's directories that have nothing below them
// in `lowers` go; those over something below stay.
Result<void> normalize_fuse_upper(const std::filesystem::path& upper, const LowerView& lowers);

}  // namespace strata::snapshot
