#!/bin/sh
# test_deps_sets.sh — scripts/deps.sh asks each target for its own packages
# only: on a machine where a non-root user lacks clang and RocksDB (a
# stand-in dpkg-query and id on PATH), `make run`'s set passes and the
# daemon can be built, while the test and bench sets fail with the one
# sudo apt-get command naming exactly what is missing.
set -eu
fail() { echo "FAIL: $*" >&2; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/dpkg-query" <<'EOS'
#!/bin/sh
# stand-in: every package is installed but these
for a; do p=$a; done
case $p in clang|librocksdb-dev|libcmocka-dev) exit 1 ;; esac
echo "install ok installed"
EOS
printf '#!/bin/sh\necho 1000\n' > "$tmp/id"
chmod +x "$tmp/dpkg-query" "$tmp/id"
deps() { PATH=$tmp:$PATH scripts/deps.sh check-or-install "$@" 2>&1; }

out=$(deps run) || fail "run set refused without clang and rocksdb: $out"
out=$(deps bench) && fail "bench set passed without librocksdb-dev"
echo "$out" | grep -q "run: sudo apt-get install -y librocksdb-dev$" || fail "bench set said: $out"
out=$(deps test) && fail "test set passed without clang"
for p in clang librocksdb-dev libcmocka-dev; do
    echo "$out" | grep -q " $p" || fail "test set did not name $p: $out"
done
out=$(deps run gcovr) || fail "run set + an extra package: $out"
# No set: everything (make deps).
out=$(deps) && fail "the full set passed without clang"
grep -q '^run:$' Makefile && sed -n '/^run:$/,/^$/p' Makefile | grep -q 'check-or-install run' ||
    fail "make run does not check the run set only"
echo "deps sets: ok"
