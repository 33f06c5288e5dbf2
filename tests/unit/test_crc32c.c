/* test_crc32c.c — CRC-32C against published vectors, hardware against
 * portable, extend composition, masking. */
#include "helpers.h"

#include <stdlib.h>
#include <string.h>

#include "base/crc32c.h"

/* RFC 3720 (iSCSI) appendix B.4 and the common "123456789" check value. */
static void test_rfc3720_vectors(void **state)
{
    (void)state;
    unsigned char buf[32];

    memset(buf, 0, sizeof(buf));
    assert_int_equal(crc32c(buf, sizeof(buf)), 0x8a9136aa);
    assert_int_equal(crc32c_extend_portable(0, buf, sizeof(buf)), 0x8a9136aa);

    memset(buf, 0xff, sizeof(buf));
    assert_int_equal(crc32c(buf, sizeof(buf)), 0x62a8ab43);
    assert_int_equal(crc32c_extend_portable(0, buf, sizeof(buf)), 0x62a8ab43);

    for (int i = 0; i < 32; i++)
        buf[i] = (unsigned char)i;
    assert_int_equal(crc32c(buf, sizeof(buf)), 0x46dd794e);
    assert_int_equal(crc32c_extend_portable(0, buf, sizeof(buf)), 0x46dd794e);

    for (int i = 0; i < 32; i++)
        buf[i] = (unsigned char)(31 - i);
    assert_int_equal(crc32c(buf, sizeof(buf)), 0x113fdb5c);
    assert_int_equal(crc32c_extend_portable(0, buf, sizeof(buf)), 0x113fdb5c);

    assert_int_equal(crc32c("123456789", 9), 0xe3069283);
    assert_int_equal(crc32c_extend_portable(0, "123456789", 9), 0xe3069283);

    assert_int_equal(crc32c("", 0), 0);
    assert_int_equal(crc32c(NULL, 0), 0);
}

/* The iSCSI SCSI Read (10) command PDU of RFC 3720 B.4. */
static void test_rfc3720_read_pdu(void **state)
{
    (void)state;
    static const unsigned char pdu[48] = {
        0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
        0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18, 0x28, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    };
    assert_int_equal(crc32c(pdu, sizeof(pdu)), 0xd9963a56);
    assert_int_equal(crc32c_extend_portable(0, pdu, sizeof(pdu)), 0xd9963a56);
}

/* Bit-at-a-time reference: slow, obviously right. */
static uint32_t crc_bitwise(const unsigned char *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    while (n--) {
        c ^= *p++;
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0x82f63b78u & (0u - (c & 1)));
    }
    return ~c;
}

/* Random lengths (covering every path: tails, 8-byte words, the 3 x 256
 * and 3 x 8192 interleaved streams) at random alignments. */
static void test_hw_equals_portable(void **state)
{
    (void)state;
    th_rng r;
    th_rng_seed(&r, th_seed());
    size_t cap = 3 * 8192 * 2 + 4096 + 64;
    unsigned char *buf = malloc(cap);
    assert_non_null(buf);
    for (size_t i = 0; i < cap; i++)
        buf[i] = (unsigned char)th_rng_next(&r);

    for (int iter = 0; iter < 2000; iter++) {
        size_t off = th_rng_below(&r, 16);
        size_t len;
        switch (iter % 4) {
        case 0: len = th_rng_below(&r, 64); break;
        case 1: len = th_rng_below(&r, 2048); break;
        default: len = th_rng_below(&r, cap - 16); break;
        }
        uint32_t seed = iter % 3 ? (uint32_t)th_rng_next(&r) : 0;
        uint32_t hw = crc32c_extend(seed, buf + off, len);
        uint32_t sw = crc32c_extend_portable(seed, buf + off, len);
        assert_int_equal(hw, sw);
        if (seed == 0 && len < 4096)
            assert_int_equal(sw, crc_bitwise(buf + off, len));
    }
    /* The exact stream-size boundaries. */
    static const size_t edges[] = { 767, 768, 769, 775, 776, 24575, 24576,
                                    24577, 24576 + 768, 49152, 49159 };
    for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++)
        for (size_t off = 0; off < 8; off++)
            assert_int_equal(crc32c(buf + off, edges[i]),
                             crc32c_extend_portable(0, buf + off, edges[i]));
    free(buf);
}

static void test_extend_composes(void **state)
{
    (void)state;
    th_rng r;
    th_rng_seed(&r, th_seed());
    unsigned char buf[30000];
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (unsigned char)th_rng_next(&r);
    assert_int_equal(crc32c_extend(crc32c("hello ", 6), "world", 5),
                     crc32c("hello world", 11));
    for (int iter = 0; iter < 200; iter++) {
        size_t n = th_rng_below(&r, sizeof(buf) + 1);
        size_t cut = th_rng_below(&r, n + 1);
        uint32_t whole = crc32c(buf, n);
        assert_int_equal(crc32c_extend(crc32c(buf, cut), buf + cut, n - cut), whole);
        assert_int_equal(crc32c_extend_portable(crc32c_extend_portable(0, buf, cut),
                                                buf + cut, n - cut),
                         whole);
    }
}

static void test_mask(void **state)
{
    (void)state;
    uint32_t crc = crc32c("foo", 3);
    assert_int_not_equal(crc32c_mask(crc), crc);
    assert_int_not_equal(crc32c_mask(crc32c_mask(crc)), crc);
    assert_int_equal(crc32c_unmask(crc32c_mask(crc)), crc);
    assert_int_equal(crc32c_unmask(crc32c_unmask(crc32c_mask(crc32c_mask(crc)))), crc);
    th_rng r;
    th_rng_seed(&r, 42);
    for (int i = 0; i < 1000; i++) {
        uint32_t v = (uint32_t)th_rng_next(&r);
        assert_int_equal(crc32c_unmask(crc32c_mask(v)), v);
    }
}

static void test_hw_reported(void **state)
{
    (void)state;
    int hw = crc32c_hw_available();
    assert_true(hw == 0 || hw == 1);
#if defined(__x86_64__)
    __builtin_cpu_init();
    assert_int_equal(hw, __builtin_cpu_supports("sse4.2") ? 1 : 0);
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc3720_vectors),
        cmocka_unit_test(test_rfc3720_read_pdu),
        cmocka_unit_test(test_hw_equals_portable),
        cmocka_unit_test(test_extend_composes),
        cmocka_unit_test(test_mask),
        cmocka_unit_test(test_hw_reported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
