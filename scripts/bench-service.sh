#!/bin/sh
# bench-service.sh BUILD_DIR (make bench-service): the daemon's figures
# beside their anchors, all from one run:
#
#   1. fio on the database's file system: 4 KiB random reads, direct,
#      io_uring, depth 32 (on the bench-cold fio file); one writer doing
#      4 KiB writes each followed by fdatasync.
#   2. Cold reads, direct I/O with a 64 MiB block cache (the database is
#      50x that): the embedded engine's multireadrandom (lsmbench --cold
#      --cold-mode direct, which also builds or reuses the database), then
#      lsmd --use-direct-io on the same database, 4 client processes x
#      --iodepth 32: readrandom and multireadrandom (batch 32).  The page
#      cache is dropped before each workload.
#   3. A cold scan beside in-memory gets: one client warms and then reads a
#      small key range at depth 1 while another scans the whole database
#      (readseq, cold); the warm client's p50/p99 with and without the scan.
#   4. Synced puts: the embedded engine with 8 threads and lsmd with 8 client
#      processes, each put waiting for its fdatasync, ROUNDS times
#      alternated; fio's one-writer fdatasync figure beside them.
#   5. In memory, depth 1: gets through lsmd, p50 and p99.
#
# Environment (defaults in brackets):
#   BENCH_COLD_DIR     the cold database [/var/tmp/lsmbench-cold] (shared
#                      with make bench-cold; the fio file is DIR.fio)
#   BENCH_COLD_NUM     its keys [6m: 6,000,000 x (16 + 500) bytes = 3.1 GB]
#   BENCH_READS        cold gets per workload [400k]
#   BENCH_SYNC_S       seconds per synced-put run [8]
#   BENCH_ROUNDS       synced-put rounds [3]
#   BENCH_FIO_S        seconds per fio job [10]
# JSON of every run and the table are kept in BUILD_DIR/bench-service/.
# Needs root (drop_caches), fio and python3.
set -eu
b=$(cd "$1" && pwd)
dir=${BENCH_COLD_DIR:-/var/tmp/lsmbench-cold}
num=${BENCH_COLD_NUM:-6m}
reads=${BENCH_READS:-400k}
sync_s=${BENCH_SYNC_S:-8}
rounds=${BENCH_ROUNDS:-3}
fio_s=${BENCH_FIO_S:-10}
fiofile=$dir.fio
out=$b/bench-service

[ "$(id -u)" -eq 0 ] || { echo "make bench-service: needs root (it drops the page cache)" >&2; exit 1; }
command -v fio >/dev/null || { echo "make bench-service: fio is not installed" >&2; exit 1; }
rm -rf "$out"; mkdir -p "$out"
tmp=$(mktemp -d /var/tmp/lsmbench-service.XXXXXX)
pid=
stop_lsmd() { [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" || true; pid=; }
trap 'stop_lsmd; rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

drop() { sync; echo 3 >/proc/sys/vm/drop_caches; }
start_lsmd() { # DIR EXTRA-FLAGS...: lsmd on DIR, socket $tmp/lsmd.sock
    d=$1; shift
    rm -f "$tmp/lsmd.sock"
    "$b/lsmd" --dir "$d" --socket "$tmp/lsmd.sock" --block-cache-bytes 64M \
        --memtable-bytes 64M "$@" >>"$out/lsmd.log" 2>&1 & pid=$!
    for i in $(seq 300); do [ -S "$tmp/lsmd.sock" ] && return 0; sleep 0.1; done
    echo "make bench-service: lsmd did not start:" >&2; cat "$out/lsmd.log" >&2; exit 1
}
bench() { # NAME LSMBENCH-ARGS...: JSON to $out/NAME.json
    name=$1; shift
    echo "lsmbench $*" | sed "s|$tmp|TMP|g"
    "$b/lsmbench" --output-format json --progress 0 "$@" >"$out/$name.json"
}
lsmd_bench() { bench "$@" --target "lsmd:$tmp/lsmd.sock"; }
cold_shape="--num $num --key-size 16 --value-size 500"

# 1. fio
echo "== fio"
[ -f "$fiofile" ] || { echo "make bench-service: no $fiofile: run make bench-cold once first" >&2; exit 1; }
fio --name=randread32 --filename="$fiofile" --ioengine=io_uring --direct=1 --rw=randread \
    --bs=4k --iodepth=32 --runtime="$fio_s" --time_based --output-format=json >"$out/fio-randread32.json"
fio --name=fsync --filename="$tmp/fio-fsync" --size=64M --rw=write --bs=4k --fdatasync=1 \
    --runtime="$fio_s" --time_based --output-format=json >"$out/fio-fsync.json"
rm -f "$tmp/fio-fsync"

# 2. cold reads
echo "== cold reads (direct I/O, 64 MiB block cache)"
bench embedded-cold --target "embedded:$dir" --cold 1 --cold-mode direct --cold-memory 512M \
    $cold_shape --cache-bytes 64M --benchmarks multireadrandom --batch 32 --reads "$reads"
start_lsmd "$dir" --use-direct-io
drop
lsmd_bench lsmd-cold-get $cold_shape --use-existing 1 --clients 4 --iodepth 32 \
    --benchmarks readrandom --reads "$reads"
drop
lsmd_bench lsmd-cold-mget $cold_shape --use-existing 1 --clients 4 --iodepth 32 \
    --benchmarks multireadrandom --batch 32 --reads "$reads"

# 3. a cold scan beside in-memory gets (same daemon, still direct)
echo "== in-memory gets beside a cold scan"
hot="--num 20k --key-size 16 --value-size 500 --use-existing 1 --iodepth 1"
lsmd_bench hot-warm $hot --benchmarks readrandom --reads 100k
lsmd_bench hot-alone $hot --benchmarks readrandom --duration 5
drop
lsmd_bench scan $cold_shape --use-existing 1 --benchmarks readseq --duration 12 &
spid=$!
sleep 1
lsmd_bench hot-scan $hot --benchmarks readrandom --duration 5
wait $spid
stop_lsmd

# 4. synced puts
echo "== synced puts, 8 writers"
for r in $(seq "$rounds"); do
    rm -rf "$tmp/emb" "$tmp/db"
    bench "sync-embedded-$r" --target "embedded:$tmp/emb" --threads 8 --sync 1 \
        --benchmarks fillrandom --num 10m --duration "$sync_s" --value-size 100
    start_lsmd "$tmp/db"
    lsmd_bench "sync-lsmd-$r" --clients 8 --sync 1 --benchmarks fillrandom --num 10m \
        --duration "$sync_s" --value-size 100
    stop_lsmd
done

# 5. in memory, depth 1
echo "== in-memory gets at depth 1"
rm -rf "$tmp/db"
start_lsmd "$tmp/db"
lsmd_bench mem-fill --num 200k --value-size 100 --benchmarks fillseq
lsmd_bench mem-get1 --num 200k --value-size 100 --use-existing 1 --iodepth 1 \
    --benchmarks readrandom --reads 400k
stop_lsmd

python3 - "$out" "$rounds" <<'EOF' | tee "$out/table.txt"
import json, sys
out, rounds = sys.argv[1], int(sys.argv[2])

def job(name):
    with open(f"{out}/{name}.json") as f:
        jobs = json.load(f)["jobs"]
    j = jobs[-1]
    if j["error"]:
        sys.exit(f"make bench-service: {name}: {j['error']}")
    return j

def fio(name, kind):
    with open(f"{out}/fio-{name}.json") as f:
        return json.load(f)["jobs"][0][kind]

def row(name, ours, theirs, target, ok):
    print(f"{name:58} {ours:12.1f} {theirs:12.1f} {ours / theirs:6.2f}x  {target} "
          f"{'met' if ok(ours / theirs) else 'NOT met'}")

fio32 = fio("randread32", "read")["iops"]
fsync = fio("fsync", "write")["iops"]
emb = job("embedded-cold")["ops_per_sec"]
get, mget = job("lsmd-cold-get")["ops_per_sec"], job("lsmd-cold-mget")["ops_per_sec"]
print(f"\nfio: randread 4 KiB direct depth 32 {fio32:.0f} IOPS; one writer 4 KiB + fdatasync "
      f"{fsync:.0f} writes/s")
print(f"{'figure':58} {'ours':>12} {'anchor':>12} {'ratio':>7}  target")
row("cold readrandom, lsmd 4 clients x depth 32, vs fio d32", get, fio32, ">= 0.70x",
    lambda r: r >= 0.7)
row("cold multireadrandom, lsmd 4 x depth 32, vs fio d32", mget, fio32, ">= 0.70x",
    lambda r: r >= 0.7)
row("cold multireadrandom, lsmd vs embedded (1 thread)", mget, emb, ">= 0.90x",
    lambda r: r >= 0.9)
alone, scan = job("hot-alone")["latency_ns"], job("hot-scan")["latency_ns"]
sc = job("scan")
print(f"in-memory gets at depth 1, alone: p50 {alone['p50'] / 1e3:.1f} us, p99 "
      f"{alone['p99'] / 1e3:.1f} us; beside a cold scan ({sc['ops_per_sec']:.0f} entries/s): "
      f"p50 {scan['p50'] / 1e3:.1f} us, p99 {scan['p99'] / 1e3:.1f} us (target p99 <= 100 us: "
      f"{'met' if scan['p99'] <= 100e3 else 'NOT met'})")
met = 0
for r in range(1, rounds + 1):
    e, l = job(f"sync-embedded-{r}")["ops_per_sec"], job(f"sync-lsmd-{r}")["ops_per_sec"]
    met += l >= e
    print(f"synced puts round {r}: embedded 8 threads {e:.0f}/s, lsmd 8 processes {l:.0f}/s: "
          f"{l / e:.2f}x embedded, {l / fsync:.1f}x fio fdatasync")
print(f"synced puts >= 1.0x embedded in {met} of {rounds} rounds (target: all)")
m = job("mem-get1")["latency_ns"]
print(f"in-memory get through lsmd at depth 1: p50 {m['p50'] / 1e3:.2f} us, p99 "
      f"{m['p99'] / 1e3:.2f} us (targets 2 and 10 us: "
      f"{'met' if m['p50'] <= 2e3 and m['p99'] <= 10e3 else 'NOT met'})")
EOF
