#!/bin/sh
# deps.sh install|check-or-install [PKG...] — make sure the Debian packages
# lsmd builds against (and PKG..., for one target only) are present.  Installs
# with apt-get when root; otherwise prints the one command to run.
set -eu
# build + tests; clang and its runtime for the libFuzzer targets (make fuzz);
# librocksdb-dev and liblmdb-dev for lsmbench's rocksdb and lmdb targets
# (make bench); python3 for the layer check (make check-layers, run by make
# test).  libsystemd-dev: lsmd's sd_notify (Type=notify readiness); the
# library works, and does nothing, without systemd.
PKGS="liburing-dev libnuma-dev libcmocka-dev pkg-config libxxhash-dev libinih-dev
      clang libclang-rt-14-dev librocksdb-dev liblmdb-dev python3
      libsystemd-dev"
# lsmd's GET /metrics (metrics_listen) links libmicrohttpd; tests only:
# prometheus (promtool and the server) for test_metrics_prometheus, which
# exits 77 (skipped) without it.
PKGS="$PKGS libmicrohttpd-dev prometheus"
# Tests only: the NUMA tests (make test-numa, part of make test) boot a QEMU
# guest with a NUMA topology on a kernel image from /boot (tests/numa/guest.sh;
# LSM_NUMA_KERNEL overrides), with busybox as its shell and cpio to pack it.
PKGS="$PKGS qemu-system-x86 linux-image-amd64 busybox-static cpio"
# Optional, asked for by one target: gcovr (make coverage).
mode=${1:-}; [ $# -gt 0 ] && shift
PKGS="$PKGS $*"

missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && { [ "$mode" = install ] && echo "deps: all present ($PKGS)"; exit 0; }

if [ "$(id -u)" -ne 0 ]; then
    echo "deps: missing:$missing — run: sudo apt-get install -y$missing" >&2
    exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get install -y $missing || { apt-get update && apt-get install -y $missing; }
