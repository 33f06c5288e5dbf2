/* test_io_buf_pool.c — the pool of aligned I/O buffers: classes, reuse of
 * freed buffers (already faulted in), the idle bound, large requests. */
#include "helpers.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "io/io_buf_pool.h"
#include "io/io_direct.h"

static void test_classes_and_alignment(void **state)
{
    (void)state;
    struct { size_t n, cap; } cases[] = {
        { 1, IO_BUF_POOL_MIN },           { IO_BUF_POOL_MIN, IO_BUF_POOL_MIN },
        { IO_BUF_POOL_MIN + 1, 2 * IO_BUF_POOL_MIN }, { 300 << 10, 512 << 10 },
        { IO_BUF_POOL_MAX, IO_BUF_POOL_MAX }, { IO_BUF_POOL_MAX + 1, IO_BUF_POOL_MAX + 4096 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t cap = 0;
        char *p = io_buf_get(cases[i].n, &cap);
        assert_non_null(p);
        assert_int_equal(cap, cases[i].cap);
        assert_int_equal((uintptr_t)p % IO_DIRECT_ALIGN, 0);
        memset(p, 0xab, cap); /* all of cap is usable (ASan checks) */
        io_buf_put(p, cap);
    }
    io_buf_put(NULL, 0);
}

/* A buffer put back is the one the next get of its class returns, so its
 * pages are not faulted in again; a different class does not get it. */
static void test_reuse(void **state)
{
    (void)state;
    size_t cap;
    char *a = io_buf_get(256 << 10, &cap);
    assert_non_null(a);
    memset(a, 0x5a, cap);
    io_buf_put(a, cap);
    size_t cap2;
    char *other = io_buf_get(64 << 10, &cap2);
    assert_ptr_not_equal(other, a);
    char *b = io_buf_get(200 << 10, &cap);
    assert_ptr_equal(b, a);
    /* The same memory, not a fresh mapping at the same address (which
     * would read as zeros): past the pool's link the bytes are ours. */
    for (size_t i = 64; i < cap; i += 4096)
        assert_int_equal((unsigned char)b[i], 0x5a);
    io_buf_put(b, cap);
    io_buf_put(other, cap2);
}

/* At most IO_BUF_POOL_CLASS_BYTES of a class stay idle: of more buffers
 * put back, the rest are freed; getting them again empties the class. */
static void test_idle_bound(void **state)
{
    (void)state;
    enum { N = (int)(IO_BUF_POOL_CLASS_BYTES / IO_BUF_POOL_MAX) + 4 };
    char *bufs[N];
    size_t cap = 0;
    for (int i = 0; i < N; i++)
        assert_non_null(bufs[i] = io_buf_get(IO_BUF_POOL_MAX, &cap));
    assert_int_equal(io_buf_pool_idle(IO_BUF_POOL_MAX), 0);
    for (int i = 0; i < N; i++)
        io_buf_put(bufs[i], cap);
    assert_int_equal(io_buf_pool_idle(IO_BUF_POOL_MAX), IO_BUF_POOL_CLASS_BYTES);
    assert_int_equal(io_buf_pool_idle(IO_BUF_POOL_MAX + 1), 0);
    for (int i = 0; i < N; i++)
        assert_non_null(bufs[i] = io_buf_get(IO_BUF_POOL_MAX, &cap));
    assert_int_equal(io_buf_pool_idle(IO_BUF_POOL_MAX), 0);
    for (int i = 0; i < N; i++)
        io_buf_put(bufs[i], cap);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classes_and_alignment),
        cmocka_unit_test(test_reuse),
        cmocka_unit_test(test_idle_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
