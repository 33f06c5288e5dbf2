#!/bin/sh
# guest.sh check | NODES GUEST_BIN — boots a QEMU guest with a NUMA topology
# and runs GUEST_BIN (tests/numa/numa_guest.c, built with the lsmd it starts)
# in it; the guest's console goes to stdout, the last line being
# "numa guest: exit N" (N: GUEST_BIN's exit code).  Exits 0 when the guest
# ran (the caller reads N), 77 with the reason when it cannot run here, 1 on
# a boot that did not finish.  `check` only checks the prerequisites.
#   NODES=2  nodes 0-1: 2 CPUs and 1 GiB each
#   NODES=4  nodes 0-3: 1, 3, 1 and 0 CPUs (node 3 is memory only), 512 MiB each:
#            the default of 2 workers per node gives 1, 2, 1, 0 (one per CPU
#            would give node 1 three)
# Needs qemu-system-x86_64, a kernel image (LSM_NUMA_KERNEL, else the newest
# /boot/vmlinuz-*; Debian: linux-image-amd64), busybox (busybox-static) and
# cpio.  Uses KVM when /dev/kvm is writable, else software emulation (about
# 10 s to boot).  LSM_NUMA_TIMEOUT (s, default 300) bounds a boot.
set -u
skip() { echo "numa guest: skipped: $*"; exit 77; }
command -v qemu-system-x86_64 >/dev/null ||
    skip "no qemu-system-x86_64 (Debian: qemu-system-x86; make deps installs it)"
kernel=${LSM_NUMA_KERNEL:-$(ls -1 /boot/vmlinuz-* 2>/dev/null | sort -V | tail -n 1)}
[ -n "$kernel" ] || skip "no kernel image in /boot (Debian: linux-image-amd64) and no LSM_NUMA_KERNEL"
[ -r "$kernel" ] || skip "cannot read the kernel image $kernel (run as root, or set LSM_NUMA_KERNEL)"
busybox=$(command -v busybox) || skip "no busybox (Debian: busybox-static)"
command -v cpio >/dev/null || skip "no cpio"
[ "$1" = check ] && exit 0

nodes=$1 guest_bin=$2
case $nodes in
2) topo="-m 2G -smp 4
   -object memory-backend-ram,id=m0,size=1G -object memory-backend-ram,id=m1,size=1G
   -numa node,nodeid=0,cpus=0-1,memdev=m0 -numa node,nodeid=1,cpus=2-3,memdev=m1"
   workers=2,2 ;;
4) topo="-m 2G -smp 5
   -object memory-backend-ram,id=m0,size=512M -object memory-backend-ram,id=m1,size=512M
   -object memory-backend-ram,id=m2,size=512M -object memory-backend-ram,id=m3,size=512M
   -numa node,nodeid=0,cpus=0,memdev=m0 -numa node,nodeid=1,cpus=1-3,memdev=m1
   -numa node,nodeid=2,cpus=4,memdev=m2 -numa node,nodeid=3,memdev=m3"
   workers=1,2,1,0 ;;
*) echo "guest.sh: NODES must be 2 or 4" >&2; exit 2 ;;
esac
lsmd=$(dirname "$(dirname "$guest_bin")")/lsmd
[ -x "$guest_bin" ] && [ -x "$lsmd" ] || { echo "guest.sh: build $guest_bin and $lsmd first" >&2; exit 2; }

root=$(mktemp -d "${TMPDIR:-/tmp}/lsm-numa-guest.XXXXXX")
trap 'rm -rf "$root"' EXIT
# Each program at its own absolute path (the test starts lsmd by it), with
# the shared libraries ldd names at theirs.
put() { mkdir -p "$root$(dirname "$1")" && cp -L "$1" "$root$1"; }
for f in "$busybox" "$lsmd" "$guest_bin"; do
    put "$f"
    for lib in $(ldd "$f" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do
        [ -e "$root$lib" ] || put "$lib"
    done
done
mkdir -p "$root/bin" "$root/proc" "$root/sys" "$root/dev" "$root/tmp"
[ "$busybox" = /bin/busybox ] || cp -L "$busybox" "$root/bin/busybox"
# LSM_NUMA_SCRIPT=FILE runs that shell script in the guest instead (to look
# around by hand; it may call $guest_bin and $lsmd).
run=$guest_bin
if [ -n "${LSM_NUMA_SCRIPT:-}" ]; then
    cp "$LSM_NUMA_SCRIPT" "$root/script.sh" && run="sh /script.sh"
fi
cat > "$root/init" <<INIT
#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
/bin/busybox --install -s /bin
export PATH=/bin LD_LIBRARY_PATH=/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
export TMPDIR=/tmp HOME=/tmp LSMD_LOG_LEVEL=info
cd /tmp
echo "numa guest: kernel \$(uname -r), \$(ls -d /sys/devices/system/node/node* | wc -l) nodes, \$(nproc) CPUs"
$run
echo "numa guest: exit \$?"
poweroff -f
INIT
chmod 755 "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet) > "$root.cpio" || exit 1
trap 'rm -rf "$root" "$root.cpio" "$root.rc"' EXIT

accel="-accel tcg"
[ -w /dev/kvm ] && accel="-accel kvm -cpu host"
# shellcheck disable=SC2086 # $topo and $accel are word lists
{ timeout "${LSM_NUMA_TIMEOUT:-300}" qemu-system-x86_64 $accel $topo -kernel "$kernel" \
    -initrd "$root.cpio" -nodefaults -display none -serial stdio -monitor none -no-reboot \
    -append "console=ttyS0 quiet panic=-1 LSM_NUMA_NODES=$nodes LSM_NUMA_WORKERS=$workers" \
    </dev/null; echo $? > "$root.rc"; } | sed -u 's/\r$//'
rc=$(cat "$root.rc")
[ $rc -eq 0 ] || echo "numa guest: qemu exit $rc"
exit $rc
