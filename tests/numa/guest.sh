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
# Needs what tests/guest/lib.sh says (QEMU, a kernel image, busybox, cpio;
# LSM_GUEST_KERNEL and LSM_GUEST_TIMEOUT).
set -u
guest_name=numa
. "$(dirname "$0")/../guest/lib.sh"
guest_need
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

# Each program at its own absolute path (the test starts lsmd by it).
guest_root
guest_put "$lsmd" "$guest_bin" || exit 1
# LSM_NUMA_SCRIPT=FILE runs that shell script in the guest instead (to look
# around by hand; it may call $guest_bin and $lsmd).
run=$guest_bin
if [ -n "${LSM_NUMA_SCRIPT:-}" ]; then
    cp "$LSM_NUMA_SCRIPT" "$root/script.sh" && run="sh /script.sh"
fi
guest_init "echo \"numa guest: kernel \$(uname -r), \$(ls -d /sys/devices/system/node/node* | wc -l) nodes, \$(nproc) CPUs\"
$run
echo \"numa guest: exit \$?\""
# shellcheck disable=SC2086 # $topo is a word list
guest_boot $topo -append "console=ttyS0 quiet panic=-1 LSM_NUMA_NODES=$nodes LSM_NUMA_WORKERS=$workers"
