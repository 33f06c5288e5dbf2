#!/bin/sh
# test_fresh_clone.sh — a new user's first steps on a git clone of HEAD (what
# is committed, not the working tree), in a temp dir:
#   1. make run's path on a machine without the bench headers: builds, starts
#      lsmd on the default socket ($XDG_RUNTIME_DIR/lsmd.sock), lsmctl put
#      and get through it, SIGTERM stops it;
#   2. make bench-build whose deps step "installs" RocksDB and LMDB (a
#      stand-in deps.sh makes the headers appear in BENCH_INCLUDE during the
#      run): lsmbench must be rebuilt with both and run both targets;
#   3. make install PREFIX=tmp: pkg-config builds of an engine program and a
#      client program, shared and static, each defining its own arena_new
#      (and the client its own conn_call), names the libraries use inside;
#      they run against the installed libraries and a running installed lsmd;
#      the man pages and the completion are there;
#   4. make uninstall leaves nothing but the kept config file;
# and first: the clone's README and docs stand alone (every relative link
# resolves inside the clone; no file outside it is named).
# Skipped (77) under a sanitizer (make test's SAN runs: this one rebuilds
# the tree itself) and outside a git checkout.  Runs make from the top of
# the tree (make test's directory).
set -eu
[ -z "${SAN:-}" ] || { echo "skipped: SAN=$SAN (the plain run covers the build)"; exit 77; }
top=$(git rev-parse --show-toplevel 2>/dev/null) || { echo "skipped: not a git checkout"; exit 77; }
for t in git pkg-config cc; do
    command -v $t >/dev/null || { echo "skipped: $t is not installed"; exit 77; }
done
# A clean make: nothing from the make that runs this test (T=, SAN=, -j).
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES LSMD_SOCKET BENCH_INCLUDE DEPS_SH

tmp=$(mktemp -d /tmp/fresh-clone.XXXXXX)
pgid=""; daemon=""
cleanup() {
    [ -n "$pgid" ] && kill -KILL "-$pgid" 2>/dev/null
    [ -n "$daemon" ] && kill -KILL "$daemon" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "--- $*"; }
# wait_for FILE SECONDS: until the socket FILE exists
wait_for() {
    i=0; while [ ! -S "$1" ]; do
        i=$((i + 1)); [ $i -le $(($2 * 10)) ] || return 1; sleep 0.1
    done
}

step "git clone of HEAD ($(git -C "$top" rev-parse --short HEAD))"
git clone -q "$top" "$tmp/src"
git -C "$tmp/src" checkout -q "$(git -C "$top" rev-parse HEAD)"
cd "$tmp/src"

step "README.md and docs/*.md: links resolve inside the clone"
for md in README.md docs/*.md; do
    grep -o '](\([^)]*\))' "$md" | sed 's/^](\(.*\))$/\1/' | while read -r link; do
        case $link in http*|mailto:*|\#*) continue ;; esac
        target=$(dirname "$md")/${link%%#*}
        [ -e "$target" ] || fail "$md links to $link, which is not in the clone"
        case $(realpath -m "$target") in "$tmp/src"/*) ;; *) fail "$md links outside the clone: $link" ;; esac
    done
done
! grep -n '\.\./shared\|DESIGN\.md\|BENCHMARKS\.md' README.md docs/*.md || fail "README/docs name files outside the clone"

step "make run (no bench headers in BENCH_INCLUDE): build, serve, put/get, SIGTERM"
mkdir -p "$tmp/noinc" "$tmp/xdg"; chmod 700 "$tmp/xdg"
XDG_RUNTIME_DIR=$tmp/xdg BENCH_INCLUDE=$tmp/noinc setsid make -j2 run > "$tmp/run.log" 2>&1 &
pgid=$!
wait_for "$tmp/xdg/lsmd.sock" 110 || { tail -20 "$tmp/run.log"; fail "make run: no socket after 110 s"; }
XDG_RUNTIME_DIR=$tmp/xdg build/lsmctl put fresh clone || fail "lsmctl put"
[ "$(XDG_RUNTIME_DIR=$tmp/xdg build/lsmctl get fresh)" = clone ] || fail "lsmctl get"
kill -TERM "-$pgid"; wait "$pgid" 2>/dev/null || true; pgid=""
grep -q "rocksdb=" build/bench-features && ! grep -q "rocksdb=1" build/bench-features ||
    fail "make run's lsmbench should be built without RocksDB here"

if [ -e /usr/include/rocksdb/c.h ] && [ -e /usr/include/lmdb.h ]; then
    step "make bench-build whose deps step installs RocksDB and LMDB"
    mkdir -p "$tmp/inc"
    cat > "$tmp/deps.sh" <<EOS
#!/bin/sh
# stand-in for scripts/deps.sh: the bench packages "arrive" now
ln -sf /usr/include/rocksdb "$tmp/inc/rocksdb"; ln -sf /usr/include/lmdb.h "$tmp/inc/lmdb.h"
EOS
    chmod +x "$tmp/deps.sh"
    DEPS_SH=$tmp/deps.sh BENCH_INCLUDE=$tmp/inc make -j2 bench-build > "$tmp/bench.log" 2>&1 ||
        { tail -20 "$tmp/bench.log"; fail "make bench-build"; }
    for t in rocksdb lmdb; do
        build/lsmbench --target "$t:$tmp/$t-db" --num 1000 --benchmarks fillseq \
            > "$tmp/$t.out" 2>&1 || { cat "$tmp/$t.out"; fail "lsmbench $t:DIR after make bench-build"; }
    done
else
    echo "(no librocksdb-dev or liblmdb-dev: bench-build step skipped)"
fi

step "make install PREFIX=$tmp/p"
p=$tmp/p
make install PREFIX="$p" > "$tmp/install.log" 2>&1 || { tail -20 "$tmp/install.log"; fail "make install"; }
export PKG_CONFIG_PATH=$p/lib/pkgconfig
v=$(sed -n 's/^#define LSM_VERSION "\(.*\)"/\1/p' engine/lsm.h)
for pc in lsm lsmd; do
    [ "$(pkg-config --modversion $pc)" = "$v" ] || fail "$pc.pc: version is not $v"
    [ "$(pkg-config --variable=prefix $pc)" = "$p" ] || fail "$pc.pc: prefix is not $p"
done
for prog in lsmd lsmctl lsmbench; do
    "$p/bin/$prog" --help > /dev/null 2>&1 || fail "installed $prog --help"
done
for f in share/man/man8/lsmd.8 share/man/man1/lsmctl.1 share/man/man1/lsmbench.1 \
         share/man/man3/lsm.3 share/bash-completion/completions/lsmctl; do
    [ -s "$p/$f" ] || fail "make install: no $f"
done
grep -q -- 'metrics\\-listen\|metrics-listen' "$p/share/man/man8/lsmd.8" || fail "lsmd.8 lacks lsmd --help's flags"
grep -q 'lmdb:DIR' "$p/share/man/man1/lsmbench.1" || fail "lsmbench.1 lacks lmdb:DIR"
grep -q 'lsm_open' "$p/share/man/man3/lsm.3" || fail "lsm.3 lacks lsm_open"

cat > "$tmp/engine.c" <<'EOS'
#include <lsm.h>
#include <stdio.h>
#include <string.h>
/* Names the engine uses inside: the application's own must win and link. */
int arena_new(void) { return 42; }
int histogram_init(void) { return 7; }
int main(int argc, char **argv)
{
    lsm_db *db; void *v; size_t n;
    if (argc < 2 || lsm_open(argv[1], NULL, &db) != 0) return 1;
    if (lsm_put(db, "k", 1, "engine", 6, LSM_SYNC) != 0) return 2;
    if (lsm_get(db, NULL, "k", 1, &v, &n) != 0 || n != 6 || memcmp(v, "engine", 6)) return 3;
    lsm_free(v);
    lsm_close(db);
    if (arena_new() != 42 || histogram_init() != 7) return 4;
    puts("engine ok");
    return 0;
}
EOS
cat > "$tmp/client.c" <<'EOS'
#include <lsmd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
/* Names liblsmd uses inside (conn_call) and liblsm (arena_new). */
int arena_new(void) { return 42; }
int conn_call(void) { return 9; }
int main(int argc, char **argv)
{
    lsmd_conn *c; void *v; size_t n;
    if (argc < 2 || lsmd_connect(argv[1], &c) != 0) return 1;
    if (lsmd_put(c, "k", 1, "client", 6, LSM_SYNC) != 0) return 2;
    if (lsmd_get(c, 0, "k", 1, &v, &n) != 0 || n != 6 || memcmp(v, "client", 6)) return 3;
    free(v);
    lsmd_disconnect(c);
    if (arena_new() != 42 || conn_call() != 9) return 4;
    puts("client ok");
    return 0;
}
EOS
"$p/bin/lsmd" --dir "$tmp/served" --socket "$tmp/s.sock" > "$tmp/lsmd.log" 2>&1 &
daemon=$!
wait_for "$tmp/s.sock" 20 || { cat "$tmp/lsmd.log"; fail "installed lsmd: no socket"; }
for prog in engine:lsm client:lsmd; do
    name=${prog%%:*} pc=${prog#*:}
    libdir=$(pkg-config --variable=libdir $pc)
    # shared: the SONAME libX.so.MAJOR is what the program needs
    cc -o "$tmp/$name-shared" "$tmp/$name.c" $(pkg-config --cflags --libs $pc) -Wl,-rpath,"$libdir" ||
        fail "$name: shared link (pkg-config $pc)"
    readelf -d "$tmp/$name-shared" | grep -q "NEEDED.*\[lib$pc.so.${v%%.*}\]" ||
        fail "$name-shared does not need lib$pc.so.${v%%.*}"
    # static: the archives through pkg-config --static
    cc -o "$tmp/$name-static" "$tmp/$name.c" $(pkg-config --cflags $pc) \
        $(pkg-config --static --libs $pc | sed -e 's/-llsmd\b/-l:liblsmd.a/' -e 's/-llsm\b/-l:liblsm.a/') ||
        fail "$name: static link (pkg-config --static $pc)"
    ! readelf -d "$tmp/$name-static" | grep -q "NEEDED.*liblsm" || fail "$name-static needs a shared liblsm*"
    for kind in shared static; do
        if [ $name = engine ]; then arg=$tmp/db-$kind; else arg=$tmp/s.sock; fi
        "$tmp/$name-$kind" "$arg" || fail "$name-$kind exited $?"
    done
done
kill -TERM "$daemon"; wait "$daemon" 2>/dev/null || true; daemon=""

step "make uninstall PREFIX=$tmp/p"
make uninstall PREFIX="$p" > "$tmp/uninstall.log" 2>&1 || { tail -20 "$tmp/uninstall.log"; fail "make uninstall"; }
left=$(cd "$p" && find . ! -type d ! -path ./etc/lsmd/lsmd.conf)
[ -z "$left" ] || fail "make uninstall left: $left"
echo "fresh clone: ok"
