#!/bin/sh
# guest.sh check | GUEST_BIN REPLAY_LOG — boots a QEMU guest with four
# virtual disks and the kernel modules of dm-log-writes, dm-snapshot and
# ext4, and runs GUEST_BIN (tests/crashfs/crashfs_guest.c) in it with
# REPLAY_LOG on its PATH; the console goes to stdout, the last line being
# "crashfs guest: exit N".  Exits 0 when the guest ran (the caller reads N),
# 77 with the reason when it cannot run here, else 1.  `check` only checks
# the prerequisites.
# Needs what tests/guest/lib.sh says, the kernel's modules in
# /lib/modules/VERSION (Debian's linux-image-amd64 has them), dmsetup and
# mkfs.ext4.  LSM_CRASHFS_OPS and LSM_CRASHFS_POINTS pass to the guest.
set -u
guest_name=crashfs
. "$(dirname "$0")/../guest/lib.sh"
guest_need
mods=/lib/modules/$kver/kernel
[ -d "$mods" ] || guest_skip "no modules for the kernel $kver in /lib/modules"
dmsetup=$(command -v dmsetup) || guest_skip "no dmsetup (Debian: dmsetup)"
mkfs=$(command -v mkfs.ext4) || guest_skip "no mkfs.ext4 (Debian: e2fsprogs)"
[ "$1" = check ] && exit 0
guest_bin=$1 replay_log=$2
lsmd=$(dirname "$(dirname "$guest_bin")")/lsmd
[ -x "$lsmd" ] || { echo "guest.sh: build $lsmd first" >&2; exit 2; }

guest_root
guest_put "$guest_bin" "$replay_log" "$lsmd" "$dmsetup" "$mkfs" || exit 1
mkdir -p "$root/etc" "$root/mods" "$root/mnt"
cp /etc/mke2fs.conf "$root/etc/" 2>/dev/null || true
# In dependency order (modules.dep).
n=0
for m in lib/crc16 fs/mbcache fs/jbd2/jbd2 crypto/crc32c_generic lib/libcrc32c fs/ext4/ext4 \
         drivers/virtio/virtio_ring drivers/virtio/virtio drivers/virtio/virtio_pci_legacy_dev \
         drivers/virtio/virtio_pci_modern_dev drivers/virtio/virtio_pci drivers/block/virtio_blk \
         drivers/md/dm-mod drivers/md/dm-log-writes drivers/md/dm-bufio drivers/md/dm-snapshot \
         drivers/md/dm-flakey; do
    n=$((n + 1))
    [ -f "$mods/$m.ko" ] || continue # built into this kernel
    cp "$mods/$m.ko" "$root/mods/$(printf %02d $n)-${m##*/}.ko"
done
guest_init "for m in /mods/*.ko; do insmod \$m 2>/dev/null; done
export PATH=\$PATH:$(dirname "$replay_log") LSM_CRASHFS_OPS=${LSM_CRASHFS_OPS:-1000} LSM_CRASHFS_POINTS=${LSM_CRASHFS_POINTS:-25} LSM_CRASHFS_LSMD=$lsmd LSM_CRASHFS_PUTS=${LSM_CRASHFS_PUTS:-30}
echo \"crashfs guest: kernel \$(uname -r)\"
$guest_bin
echo \"crashfs guest: exit \$?\""

disks=$(mktemp -d "${TMPDIR:-/tmp}/lsm-crashfs-disks.XXXXXX")
trap 'rm -rf "$root" "$root.cpio" "$root.rc" "$disks"' EXIT
drives=""
for d in data:256M log:512M replay:256M cow:128M; do
    truncate -s "${d#*:}" "$disks/${d%%:*}.img"
    drives="$drives -drive file=$disks/${d%%:*}.img,format=raw,if=virtio"
done
# Every point (LSM_CRASHFS_POINTS=0) takes far longer than the sample.
[ "${LSM_CRASHFS_POINTS:-25}" = 0 ] && LSM_GUEST_TIMEOUT=${LSM_GUEST_TIMEOUT:-7200}
LSM_GUEST_TIMEOUT=${LSM_GUEST_TIMEOUT:-900}
# shellcheck disable=SC2086 # $drives is a word list
guest_boot -m 1G -smp 2 $drives -append "console=ttyS0 quiet panic=-1"
