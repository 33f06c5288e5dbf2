#!/bin/sh
# test_man_completion.sh — the generated man pages and the lsmctl bash
# completion follow the programs:
#   - lsmd.8, lsmctl.1, lsmbench.1 name every flag their program's --help
#     prints, lsm.3 every function lsm.h declares, each with the version;
#     groff renders all four without a warning;
#   - completing `lsmctl <TAB>` offers exactly the commands of lsmctl's
#     command table (tools/lsmctl/main.c), `lsmctl --so<TAB>` --socket,
#     `lsmctl stats --format <TAB>` the formats.
# Runs from the top of the tree; the programs are in the directory above
# this script's (make test copies it to $(B)/tests/).
set -eu
b=$(cd "$(dirname "$0")/.." && pwd)
fail() { echo "FAIL: $*" >&2; exit 1; }
v=$(sed -n 's/^#define LSM_VERSION "\(.*\)"/\1/p' engine/lsm.h)

for page in lsmd.8:lsmd lsmctl.1:lsmctl lsmbench.1:lsmbench lsm.3:; do
    f=$b/man/${page%%:*} prog=${page#*:}
    [ -s "$f" ] || fail "no $f"
    grep -q "lsmd $v" "$f" || fail "$f does not carry version $v"
    if [ -n "$prog" ]; then
        for flag in $("$b/$prog" --help 2>&1 | grep -o -- '--[a-z][a-z0-9-]*' | sort -u); do
            grep -q -- "$flag" "$f" || fail "$f lacks $flag (in $prog --help)"
        done
    else
        for fn in $(grep -o '[ *]lsm_[a-z0-9_]*(' engine/lsm.h | tr -d ' *(' | sort -u); do
            grep -q "$fn" "$f" || fail "$f lacks $fn (declared in lsm.h)"
        done
    fi
    if command -v groff >/dev/null; then
        w=$(LC_ALL=C groff -man -ww -z "$f" 2>&1) || fail "groff failed on $f: $w"
        [ -z "$w" ] || fail "groff warns on $f: $w"
    fi
done

command -v bash >/dev/null || { echo "skipped: no bash for the completion"; exit 77; }
want=$(sed -n 's/^ *{ "\([a-z-]*\)", cmd_.*/\1/p' tools/lsmctl/main.c | sort -u | tr '\n' ' ')
[ -n "$want" ] || fail "no command table found in tools/lsmctl/main.c"
complete() { # WORDS... : what _lsmctl offers for the last word
    bash -c '. tools/completion/lsmctl; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _lsmctl
             printf "%s\n" "${COMPREPLY[@]}" | sort -u | tr "\n" " "' complete "$@"
}
got=$(complete "$b/lsmctl" "")
[ "$got" = "$want" ] || fail "lsmctl <TAB> offers: $got; the command table has: $want"
case $(complete "$b/lsmctl" --so) in *--socket*) ;; *) fail "lsmctl --so<TAB> does not offer --socket" ;; esac
[ "$(complete "$b/lsmctl" stats --format "")" = "json prometheus text " ] ||
    fail "lsmctl stats --format <TAB>: $(complete "$b/lsmctl" stats --format "")"
[ "$(complete "$b/lsmctl" snapshot "")" = "create list release " ] || fail "lsmctl snapshot <TAB>"
echo "man pages and completion: ok"
