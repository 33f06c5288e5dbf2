/* test_filenames.c — names of database files and their parser. */
#include "helpers.h"

#include <stdlib.h>
#include <string.h>

#include "base/filenames.h"

static void check_make(char *got, const char *want)
{
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

static void test_make(void **state)
{
    (void)state;
    check_make(filename_wal("/d", 7), "/d/000007.log");
    check_make(filename_table("/d", 1234567), "/d/1234567.sst");
    check_make(filename_manifest("db", 1), "db/MANIFEST-000001");
    check_make(filename_current("db"), "db/CURRENT");
    check_make(filename_current_tmp("db"), "db/CURRENT.tmp");
    check_make(filename_lock("db"), "db/LOCK");
}

static void test_parse(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        int ok;
        enum file_kind kind;
        uint64_t number;
    } cases[] = {
        { "000007.log", 1, FILE_KIND_WAL, 7 },
        { "7.log", 1, FILE_KIND_WAL, 7 },
        { "18446744073709551615.sst", 1, FILE_KIND_TABLE, UINT64_MAX },
        { "18446744073709551616.sst", 0, 0, 0 },   /* overflow */
        { "MANIFEST-000003", 1, FILE_KIND_MANIFEST, 3 },
        { "CURRENT", 1, FILE_KIND_CURRENT, 0 },
        { "CURRENT.tmp", 1, FILE_KIND_TEMP, 0 },
        { "LOCK", 1, FILE_KIND_LOCK, 0 },
        { "MANIFEST-", 0, 0, 0 },
        { "MANIFEST-12x", 0, 0, 0 },
        { "000007.log.bak", 0, 0, 0 },
        { ".log", 0, 0, 0 },
        { "-1.sst", 0, 0, 0 },
        { "000007.txt", 0, 0, 0 },
        { "CURRENTX", 0, 0, 0 },
        { "", 0, 0, 0 },
        { ".", 0, 0, 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        enum file_kind kind = FILE_KIND_LOCK;
        uint64_t number = 99;
        int ok = filename_parse(cases[i].name, &kind, &number);
        assert_int_equal(ok, cases[i].ok);
        if (ok) {
            assert_int_equal(kind, cases[i].kind);
            assert_int_equal(number, cases[i].number);
        }
    }
    /* Every name we make parses back. */
    char *p = filename_manifest(".", 123456789);
    enum file_kind kind;
    uint64_t number;
    assert_int_equal(filename_parse(p + 2, &kind, &number), 1);
    assert_int_equal(kind, FILE_KIND_MANIFEST);
    assert_int_equal(number, 123456789);
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_make),
        cmocka_unit_test(test_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
