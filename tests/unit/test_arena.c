/* test_arena.c — alignment, sizes, large allocations, usage accounting. */
#include "helpers.h"

#include <stdlib.h>
#include <string.h>

#include "base/arena.h"

static void test_empty(void **state)
{
    (void)state;
    arena *a = arena_new(4096);
    assert_non_null(a);
    assert_int_equal(arena_memory_usage(a), 0);
    arena_free(a);
    arena_free(NULL);
}

static void test_alignment_and_zero(void **state)
{
    (void)state;
    arena *a = arena_new(1024);
    assert_non_null(a);
    for (size_t n = 0; n < 300; n++) {
        char *p = arena_alloc(a, n % 37);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % ARENA_ALIGN, 0);
    }
    char *z1 = arena_alloc(a, 0), *z2 = arena_alloc(a, 0);
    assert_non_null(z1);
    assert_ptr_not_equal(z1, z2);
    arena_free(a);
}

/* Many random sizes; every allocation filled with its own pattern and
 * verified at the end, so overlaps would show (and ASan sees overruns). */
static void test_many_sizes(void **state)
{
    (void)state;
    th_rng r;
    th_rng_seed(&r, th_seed());
    enum { N = 5000 };
    arena *a = arena_new(4096);
    assert_non_null(a);
    static char *ptrs[N];
    static size_t lens[N];
    size_t total = 0;
    for (int i = 0; i < N; i++) {
        size_t n;
        uint64_t kind = th_rng_below(&r, 100);
        if (kind < 80)
            n = th_rng_below(&r, 64);
        else if (kind < 98)
            n = th_rng_below(&r, 1024);      /* up to block/4 */
        else
            n = 1025 + th_rng_below(&r, 20000); /* own block */
        ptrs[i] = arena_alloc(a, n);
        lens[i] = n;
        total += n;
        assert_non_null(ptrs[i]);
        assert_int_equal((uintptr_t)ptrs[i] % ARENA_ALIGN, 0);
        memset(ptrs[i], (char)i, n);
    }
    for (int i = 0; i < N; i++)
        for (size_t j = 0; j < lens[i]; j++)
            assert_int_equal((unsigned char)ptrs[i][j], (unsigned char)i);
    assert_true(arena_memory_usage(a) >= total);
    /* Not wildly more than asked for (alignment + block tails). */
    assert_true(arena_memory_usage(a) <= total * 2 + N * ARENA_ALIGN + 8192);
    arena_free(a);
}

static void test_large_gets_own_block(void **state)
{
    (void)state;
    arena *a = arena_new(4096);
    assert_non_null(a);
    char *small1 = arena_alloc(a, 16);
    size_t u1 = arena_memory_usage(a);
    assert_true(u1 >= 4096 && u1 < 4096 + 256);

    /* > block/4: a block of its own, about its own size... */
    char *big = arena_alloc(a, 100000);
    assert_non_null(big);
    memset(big, 0xab, 100000);
    size_t u2 = arena_memory_usage(a);
    assert_true(u2 - u1 >= 100000 && u2 - u1 < 100000 + 256);

    /* ...and the current block keeps serving small allocations. */
    char *small2 = arena_alloc(a, 16);
    assert_ptr_equal(small2, small1 + 16);
    assert_int_equal(arena_memory_usage(a), u2);

    /* Exactly block/4 still comes from a normal block. */
    char *q = arena_alloc(a, 1024);
    assert_ptr_equal(q, small2 + 16);
    arena_free(a);
}

static void test_usage_grows(void **state)
{
    (void)state;
    arena *a = arena_new(1 << 16);
    assert_non_null(a);
    size_t prev = 0;
    int grew = 0;
    for (int i = 0; i < 10000; i++) {
        assert_non_null(arena_alloc(a, 100));
        size_t u = arena_memory_usage(a);
        assert_true(u >= prev);
        grew += u > prev;
        prev = u;
    }
    /* 10000 * 104 bytes in 64 KiB blocks: about 16 blocks. */
    assert_in_range(grew, 15, 18);
    assert_true(prev >= 10000 * 100);
    arena_free(a);
}

static void test_enomem(void **state)
{
    (void)state;
    arena *a = arena_new(4096);
    assert_non_null(a);
    assert_null(arena_alloc(a, SIZE_MAX));
    assert_null(arena_alloc(a, SIZE_MAX - 3));
    assert_non_null(arena_alloc(a, 8)); /* still usable */
    arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_alignment_and_zero),
        cmocka_unit_test(test_many_sizes),
        cmocka_unit_test(test_large_gets_own_block),
        cmocka_unit_test(test_usage_grows),
        cmocka_unit_test(test_enomem),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
