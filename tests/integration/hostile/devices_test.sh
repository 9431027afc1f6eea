#!/usr/bin/env bash
# Device nodes cannot reach the host's devices: a RUN step that makes a
# block or character device with a host device's numbers (here a loop
# device over a canary disk image) can neither make nor open it, with crun
# and with runc; a device node that a layer holds opens nothing in a
# container. The canary disk's bytes stay as they were.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/lib.sh"
MAKE="$(dirname "$0")/make_archive.py"
command -v losetup >/dev/null || fail "losetup (util-linux) is missing"
make_busybox

disk=$T/canary-disk.img
printf "LOOPCANARY%s" "$CANARY_SECRET" > "$disk" && truncate -s 1M "$disk"
disk_sum=$(sha256sum < "$disk")
LOOP=$(losetup -f --show "$disk") || fail "no loop device for the canary disk"
detach() { losetup -d "$LOOP" 2>/dev/null || true; hostile_cleanup; }
trap detach EXIT
major=$((0x$(stat -c %t "$LOOP"))) minor=$((0x$(stat -c %T "$LOOP")))

mkdir -p "$T/ctx"
cat > "$T/ctx/Dockerfile" <<DOCKERFILE
FROM busybox
RUN mkdir -p /tmp; for p in /tmp/blk /dev/blk; do \\
      mknod \$p b $major $minor 2>/dev/null && echo "made \$p"; \\
      dd if=\$p bs=64 count=1 2>/dev/null; echo overwritten | dd of=\$p 2>/dev/null; \\
    done > /block.out; \\
    mknod /tmp/mem c 1 1 2>/dev/null && echo "made /tmp/mem" >> /block.out; \\
    mknod /tmp/pipe p && mknod /dev/wh c 0 0 && echo "fifo and whiteout made" >> /block.out; \\
    rm -f /tmp/pipe /dev/wh /tmp/blk /tmp/mem
DOCKERFILE
for runtime in crun runc; do
  command -v "$runtime" >/dev/null || fail "$runtime is not installed"
  "$STRATA" --runtime "$runtime" build --progress quiet --no-cache -t dev-$runtime "$T/ctx" >/dev/null
  out=$("$STRATA" --runtime "$runtime" run dev-$runtime cat /block.out)
  expect_eq "$out" "fifo and whiteout made" "what a step could do with device nodes ($runtime)"
done

# A layer holding a block device with the loop device's numbers.
"$STRATA" save busybox -o "$T/busybox.tar" >/dev/null
mkdir -p "$T/bb" && tar -xf "$T/busybox.tar" -C "$T/bb"
base=$(jq -r '.layers[].digest' "$T/bb/blobs/sha256/$(jq -r '.manifests[0].digest' "$T/bb/index.json" | cut -d: -f2)" |
       sed "s|sha256:|\"$T/bb/blobs/sha256/|; s|$|\"|" | paste -sd,)
cat > "$T/devlayer.json" <<JSON
{"base_layers": [$base],
 "layers": [[{"name": "blk", "type": "block", "major": $major, "minor": $minor, "mode": 438},
             {"name": "mem", "type": "char", "major": 1, "minor": 1, "mode": 438}]]}
JSON
python3 "$MAKE" "$T/devlayer.tar" devlayer "$T/devlayer.json"
"$STRATA" load "$T/devlayer.tar" >/dev/null
for runtime in crun runc; do
  got=$("$STRATA" --runtime "$runtime" run devlayer sh -c \
        'dd if=/blk bs=64 count=1 2>/dev/null; echo overwritten | dd of=/blk 2>/dev/null; dd if=/mem bs=1 count=1 2>/dev/null | wc -c' || true)
  expect_eq "$got" "0" "what a layer's device nodes opened ($runtime)"
done
expect_eq "$(sha256sum < "$disk")" "$disk_sum" "the canary disk"
check_canary
echo "ok"
