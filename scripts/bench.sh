#!/bin/sh
# bench.sh BUILD_DIR LSMBENCH_FLAGS... (make bench): runs BUILD_DIR/lsmbench
# with one column per target: embedded, rocksdb (if HAVE_ROCKSDB=1), lmdb (if
# HAVE_LMDB=1) and lsmd (if BUILD_DIR/lsmd is built: started on a temp dir and
# socket with the same engine settings, stopped after).  BENCH_DIRECT=1: the
# daemon runs with --use-direct-io and there is no lmdb column (LMDB has no
# direct I/O); the caller passes --direct-io to lsmbench.
b=$1; shift
tmp=$(mktemp -d /tmp/lsmbench.XXXXXX); pid=
trap '[ -n "$pid" ] && kill -TERM $pid 2>/dev/null && wait $pid; rm -rf $tmp' EXIT
trap 'exit 130' INT TERM
targets="--target embedded:$tmp/embedded"
if [ -n "${HAVE_ROCKSDB:-}" ]; then targets="$targets --target rocksdb:$tmp/rocksdb"
else echo "make bench: no rocksdb column (install librocksdb-dev and rebuild)"; fi
direct=
if [ -n "${BENCH_DIRECT:-}" ]; then direct=--use-direct-io
    echo "make bench: direct I/O (BENCH_DIRECT=1): no lmdb column"
elif [ -n "${HAVE_LMDB:-}" ]; then targets="$targets --target lmdb:$tmp/lmdb"
else echo "make bench: no lmdb column (install liblmdb-dev and rebuild)"; fi
if [ -x "$b/lsmd" ]; then
    "$b/lsmd" --dir "$tmp/lsmd-db" --socket "$tmp/lsmd.sock" --memtable-bytes 64M \
        --block-cache-bytes 64M --bloom-bits-per-key 10 $direct >"$tmp/lsmd.log" 2>&1 & pid=$!
    for i in $(seq 100); do [ -S "$tmp/lsmd.sock" ] && break; sleep 0.1; done
    if [ -S "$tmp/lsmd.sock" ]; then targets="$targets --target lsmd:$tmp/lsmd.sock"
    else echo "make bench: lsmd did not start, no lsmd column:"; cat "$tmp/lsmd.log"; fi
else
    echo "make bench: no lsmd column ($b/lsmd is not built yet)"
fi
echo "$b/lsmbench $targets $*"
"$b/lsmbench" $targets "$@"
