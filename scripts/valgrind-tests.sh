#!/bin/sh
# valgrind-tests.sh BINDIR NAME... (make valgrind): runs BINDIR/test_NAME under
# valgrind with the posix backend; fails at the first error or leak.
bindir=$1; shift
for t in "$@"; do
    echo "=== valgrind test_$t (io=posix)"
    LSMD_IO=posix LSMD_LOG_LEVEL=error valgrind -q --error-exitcode=1 --leak-check=full \
        "$bindir/test_$t" || { echo "--- valgrind test_$t FAILED"; exit 1; }
done
echo "=== valgrind: all clean"
