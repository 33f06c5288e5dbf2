#!/bin/sh
# bench-cold.sh BUILD_DIR (make bench-cold): the out-of-memory case, with
# fio's figures for the same disk from the same run beside ours.
#
#   1. fio on a file on the database's file system, at least as large as
#      the database: 4 KiB random reads, direct, io_uring, at depth 32 and
#      at depth 1; 1 MiB sequential direct writes at depth 8.
#   2. lsmbench --cold on the embedded engine (bench/cold.h: builds or
#      reuses the database, drops the page cache before each workload),
#      once per mode of BENCH_COLD_MODES: "cgroup" (buffered engine in a
#      memory cgroup of BENCH_COLD_MEMORY) and "direct" (use_direct_io, the
#      block cache the only cache): readrandom at depth 1, multireadrandom
#      in batches of 32 (one key is one 4 KiB block read when cold), and a
#      full compaction (compact).
#   3. a table per mode: our figure, fio's, the ratio and the target.
#
# Environment (defaults in brackets):
#   BENCH_COLD_DIR     database directory [/var/tmp/lsmbench-cold]; the fio
#                      file is $BENCH_COLD_DIR.fio beside it; both are kept
#                      and reused by the next run (remove them by hand)
#   BENCH_COLD_NUM     keys [5m: 5,000,000 x (16 + 500) bytes = 2.6 GB]
#   BENCH_COLD_VALUE   value bytes [500]
#   BENCH_COLD_MEMORY  memory the engine may use: the cgroup limit [512M]
#   BENCH_COLD_MODES   the modes to run, in order ["cgroup direct"]
#   BENCH_COLD_READS   multireadrandom keys [200k]
#   BENCH_COLD_READS1  readrandom (depth 1) gets [20k]
#   BENCH_COLD_FIO_S   seconds per fio job [15]
# fio's and lsmbench's JSON and the table are kept in BUILD_DIR/bench-cold/.
# Needs root (drop_caches, the cgroup), fio and python3.
set -eu
b=$1
dir=${BENCH_COLD_DIR:-/var/tmp/lsmbench-cold}
num=${BENCH_COLD_NUM:-5m}
value=${BENCH_COLD_VALUE:-500}
mem=${BENCH_COLD_MEMORY:-512M}
modes=${BENCH_COLD_MODES:-cgroup direct}
reads=${BENCH_COLD_READS:-200k}
reads1=${BENCH_COLD_READS1:-20k}
fio_s=${BENCH_COLD_FIO_S:-15}
fiofile=$dir.fio

[ "$(id -u)" -eq 0 ] || { echo "make bench-cold: needs root (it drops the page cache and makes a memory cgroup)" >&2; exit 1; }
command -v fio >/dev/null || { echo "make bench-cold: fio is not installed (scripts/deps.sh check-or-install fio)" >&2; exit 1; }
command -v python3 >/dev/null || { echo "make bench-cold: needs python3 to read fio's JSON" >&2; exit 1; }

out=$b/bench-cold
rm -rf "$out"; mkdir -p "$out"
mkdir -p "$(dirname "$dir")"

# The fio file: as large as the database's key and value bytes, rounded up
# to whole MiB (fio lays it out once; a file of the right size is reused).
count=$(python3 -c "import sys; s=sys.argv[1].lower(); m={'k':10**3,'m':10**6,'g':10**9}; print(int(float(s[:-1])*m[s[-1]]) if s[-1] in m else int(s))" "$num")
mib=$(( (count * (16 + value) + 1048575) / 1048576 ))
if [ ! -f "$fiofile" ] || [ "$(stat -c %s "$fiofile")" -ne $((mib * 1048576)) ]; then
    rm -f "$fiofile"
fi

run_fio() { # NAME FIO-ARGS...
    name=$1; shift
    echo "fio $name: fio --filename=$fiofile --size=${mib}M $*"
    fio --name="$name" --filename="$fiofile" --size="${mib}M" --ioengine=io_uring --direct=1 \
        --runtime="$fio_s" --time_based --lat_percentiles=1 --output-format=json "$@" \
        >"$out/$name.json"
}
# Lay the file out first so the reads do not measure its creation.
[ -f "$fiofile" ] || fio --name=layout --filename="$fiofile" --size="${mib}M" --rw=write \
    --bs=1M --direct=1 --ioengine=io_uring --iodepth=8 --output-format=json >/dev/null
run_fio randread32 --rw=randread --bs=4k --iodepth=32
run_fio randread1 --rw=randread --bs=4k --iodepth=1
run_fio seqwrite8 --rw=write --bs=1M --iodepth=8

for mode in $modes; do
    cat >"$out/cold-$mode.ini" <<EOF
[global]
target = embedded:$dir
cold = 1
cold-mode = $mode
cold-memory = $mem
num = $num
key-size = 16
value-size = $value
[readrandom]
benchmarks = readrandom
reads = $reads1
[multireadrandom]
benchmarks = multireadrandom
batch = 32
reads = $reads
[compact]
benchmarks = compact
EOF
    echo "$b/lsmbench --output-format json $out/cold-$mode.ini   # job file:"
    sed 's/^/    /' "$out/cold-$mode.ini"
    "$b/lsmbench" --output-format json "$out/cold-$mode.ini" >"$out/lsmbench-$mode.json"
done

python3 - "$out" "$dir" $modes <<'EOF' >"$out/table.txt"
import json, sys
tmp, dbdir, modes = sys.argv[1], sys.argv[2], sys.argv[3:]

def fio(name):
    with open(f"{tmp}/{name}.json") as f:
        return json.load(f)["jobs"][0]

r32, r1, w8 = fio("randread32")["read"], fio("randread1")["read"], fio("seqwrite8")["write"]
fio_iops32 = r32["iops"]
fio_p50_1 = r1["lat_ns"]["percentile"]["50.000000"]
fio_wbw = w8["bw_bytes"] / 1e6

print(f"\nfio, same file system ({dbdir}.fio): randread 4 KiB direct io_uring: depth 32 "
      f"{fio_iops32:.0f} IOPS, depth 1 p50 {fio_p50_1 / 1e3:.1f} us; seq write 1 MiB depth 8 "
      f"{fio_wbw:.0f} MB/s")
for mode in modes:
    with open(f"{tmp}/lsmbench-{mode}.json") as f:
        lb = json.load(f)
    jobs = {j["workload"]: j for j in lb["jobs"]}
    for w in ("readrandom", "multireadrandom", "compact"):
        j = jobs.get(w)
        if j is None or j["error"]:
            sys.exit(f"make bench-cold: lsmbench {w} ({mode}) failed: {j and j['error']}")
    ours_keys = jobs["multireadrandom"]["ops_per_sec"]
    ours_p50 = jobs["readrandom"]["latency_ns"]["p50"]
    c = jobs["compact"]
    ours_cbw = c["compaction_written_bytes"] / c["seconds"] / 1e6
    tbytes = next((t["table_bytes"] for t in lb["targets"]), 0)
    memb = jobs["readrandom"]["cold"]["memory_bytes"]
    how = (f"buffered, in a memory cgroup of {memb >> 20} MiB (engine, caches and page cache)"
           if mode == "cgroup" else
           f"direct I/O (use_direct_io), block cache the only cache, engine memory within "
           f"{memb >> 20} MiB")
    mr = jobs["multireadrandom"]
    print(f"\nbench-cold [{mode}]: embedded engine, {how}; page cache dropped before each "
          f"workload; {tbytes / 1e9:.2f} GB of tables ({tbytes / memb:.1f}x the memory); "
          f"multireadrandom found {mr['found']} of {mr['found'] + mr['notfound']} keys")
    print(f"{'figure':50} {'ours':>12} {'fio':>12} {'ratio':>7}  target")
    rows = [
        ("multireadrandom batch 32, keys/s vs fio IOPS d32", ours_keys, fio_iops32,
         ours_keys / fio_iops32, ">= 0.70x", ours_keys / fio_iops32 >= 0.7),
        ("readrandom depth 1 p50 us vs fio p50 d1", ours_p50 / 1e3, fio_p50_1 / 1e3,
         ours_p50 / fio_p50_1, "<= 1.50x", ours_p50 / fio_p50_1 <= 1.5),
        ("full compaction MB/s written vs fio seq write", ours_cbw, fio_wbw,
         ours_cbw / fio_wbw, ">= 0.35x", ours_cbw / fio_wbw >= 0.35),
    ]
    for name, ours, theirs, ratio, target, ok in rows:
        print(f"{name:50} {ours:12.1f} {theirs:12.1f} {ratio:6.2f}x  {target} "
              f"{'met' if ok else 'NOT met'}")
EOF
cat "$out/table.txt"
