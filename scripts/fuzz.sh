#!/bin/sh
# fuzz.sh FUZZ_DIR SECONDS TARGET... (make fuzz): runs FUZZ_DIR/fuzz_TARGET for
# SECONDS each on its corpus (FUZZ_DIR/corpus/TARGET, grown here, plus the
# seeds and regressions in tests/fuzz/), under nice.  stderr is closed for the
# target (the engine's lines about corrupt inputs); crash reports still show.
fb=$1; seconds=$2; shift 2
for t in "$@"; do
    mkdir -p "$fb/corpus/$t" "$fb/artifacts/$t"
    regs=tests/fuzz/regressions/$t; [ -d "$regs" ] || regs=
    echo "=== fuzz $t for $seconds s"
    LSMD_LOG_LEVEL=error nice -n 10 "$fb/fuzz_$t" -max_total_time="$seconds" \
        -timeout=30 -rss_limit_mb=4096 -print_final_stats=1 -close_fd_mask=2 \
        -artifact_prefix="$fb/artifacts/$t/" \
        "$fb/corpus/$t" "tests/fuzz/corpus/$t" $regs || {
        echo "fuzz $t FAILED: the input is in $fb/artifacts/$t/;" \
             "fix it and keep it in tests/fuzz/regressions/$t/"; exit 1; }
done
