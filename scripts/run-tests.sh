#!/bin/sh
# run-tests.sh BINDIR SRC... — runs each test program; a program whose source
# says LSM_TEST_PER_BACKEND runs once per real I/O backend (LSMD_IO=uring,
# LSMD_IO=posix).  Exit 77 means skipped.  Fails if any program fails.
bindir=$1; shift
# Quiet by default: expected refusals log at warn; real trouble at error.
export LSMD_LOG_LEVEL="${LSMD_LOG_LEVEL:-error}"
# Under a sanitizer the long randomized tests run shorter by default: those
# runs hunt races and memory errors; the plain run carries the volume
# (200,000 model ops, 50 crash cycles, ...).  Set the variables to override.
if [ -n "${SAN:-}" ]; then
    export LSM_MODEL_OPS="${LSM_MODEL_OPS:-30000}"
    export LSM_CRASH_CYCLES="${LSM_CRASH_CYCLES:-20}"
    export LSM_POWER_ROUNDS="${LSM_POWER_ROUNDS:-15}"
    export LSM_TEST_SHORT="${LSM_TEST_SHORT:-1}"
    export LSM_TEST_LATENCY_SLACK_MS="${LSM_TEST_LATENCY_SLACK_MS:-300}"
fi
failed=""; passed=0; skipped=0
run() { # name backend
    bin="$bindir/$1"
    t0=$(date +%s.%N)
    if [ -n "$2" ]; then
        echo "=== $1 (io=$2${LSMD_URING_SYNC:+, writes and syncs through the ring})"
        LSMD_IO=$2 "$bin"
    else
        echo "=== $1"
        "$bin"
    fi
    rc=$?
    t1=$(date +%s.%N)
    echo "--- $1${2:+ (io=$2)}: exit $rc, $(echo "$t1 - $t0" | awk '{printf "%.1f", $1 - $3}') s"
    case $rc in
        0) passed=$((passed + 1)) ;;
        77) skipped=$((skipped + 1)); echo "--- $1 skipped" ;;
        *) failed="$failed $1${2:+(io=$2${LSMD_URING_SYNC:+,ring})}"; echo "--- $1 FAILED (exit $rc)" ;;
    esac
}
for src in "$@"; do
    name=$(basename "$src"); name=${name%.c}; name=${name%.sh}
    if grep -q LSM_TEST_PER_BACKEND "$src"; then
        run "$name" uring
        run "$name" posix
        # Sources marked LSM_TEST_RING_PATHS also run with plain writes and
        # syncs forced through the ring (by default they are issued inline).
        if grep -q LSM_TEST_RING_PATHS "$src"; then
            export LSMD_URING_WRITES=ring LSMD_URING_SYNC=ring
            run "$name" uring
            unset LSMD_URING_WRITES LSMD_URING_SYNC
        fi
    else
        run "$name" ""
    fi
done
echo "=== summary: $passed passed, $skipped skipped, failed:${failed:- none}"
[ -z "$failed" ]
