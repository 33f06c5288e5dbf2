#!/bin/sh
# deps.sh install|check-or-install [SET...] [PKG...] — make sure the Debian
# packages a target needs are present.  Installs with apt-get when root;
# otherwise prints the one command to run and fails.
#
# SETs: run (build and run lsmd, lsmctl, the libraries: what `make run` and
# `make install` need), bench (make bench's comparison targets), test (make
# test: run + bench + the test tools).  No SET: all of them (`make deps`).
# Other words are extra packages for one target (gcovr, fio).
set -eu
# run: the build, and what lsmd links.  libsystemd-dev: lsmd's sd_notify
# (Type=notify readiness; does nothing without systemd); libmicrohttpd-dev:
# lsmd's GET /metrics (metrics_listen); libinih-dev: the config file.
RUN="gcc make liburing-dev libnuma-dev libxxhash-dev libinih-dev libsystemd-dev
     libmicrohttpd-dev"
# bench: librocksdb-dev and liblmdb-dev, lsmbench's rocksdb:DIR and lmdb:DIR
# targets (lsmbench builds without them, make bench compares against them).
BENCH="librocksdb-dev liblmdb-dev"
# test: cmocka; clang and its runtime for the libFuzzer targets (make fuzz);
# python3 for the layer check (make check-layers); pkg-config and git for
# the fresh-clone test; prometheus (promtool and the server) for
# test_metrics_prometheus, which exits 77 (skipped) without it.
TEST="libcmocka-dev pkg-config git clang libclang-rt-14-dev python3 prometheus"
# The NUMA tests (make test-numa, part of make test) boot a QEMU guest with a
# NUMA topology on a kernel image from /boot (tests/numa/guest.sh;
# LSM_GUEST_KERNEL overrides), with busybox as its shell and cpio to pack it.
TEST="$TEST qemu-system-x86 linux-image-amd64 busybox-static cpio"
# The crash-consistency guest (make test-crashfs, part of make test) also
# takes dmsetup and mkfs.ext4 into it, and the kernel's dm-log-writes module.
TEST="$TEST dmsetup e2fsprogs"

mode=${1:-}; [ $# -gt 0 ] && shift
PKGS=""; sets=0
for w in "$@"; do
    case $w in
        run)   PKGS="$PKGS $RUN"; sets=1 ;;
        bench) PKGS="$PKGS $RUN $BENCH"; sets=1 ;;
        test)  PKGS="$PKGS $RUN $BENCH $TEST"; sets=1 ;;
        *)     PKGS="$PKGS $w" ;;
    esac
done
[ "$sets" = 1 ] || PKGS="$RUN $BENCH $TEST $PKGS"

missing=""
for p in $PKGS; do
    case " $missing " in *" $p "*) continue ;; esac
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && { [ "$mode" = install ] && echo "deps: all present ($(echo $PKGS))"; exit 0; }

if [ "$(id -u)" -ne 0 ]; then
    echo "deps: missing:$missing — run: sudo apt-get install -y$missing" >&2
    exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get install -y $missing || { apt-get update && apt-get install -y $missing; }
