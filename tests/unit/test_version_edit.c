/* test_version_edit.c — version edit encoding (round trip, hostile input)
 * and building versions from edits (ordering, validation, lookups). */
#include "helpers.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/coding.h"
#include "base/dbformat.h"
#include "lsm.h"
#include "version/version.h"
#include "version/version_builder.h"
#include "version/version_edit.h"

/* A file whose keys are user keys "k<lo>" .. "k<hi>" (6 digits). */
static file_meta *mkfile(uint64_t number, int lo, int hi, uint64_t min_seq, uint64_t max_seq)
{
    file_meta *f = file_meta_new();
    assert_non_null(f);
    char u[16];
    snprintf(u, sizeof u, "k%06d", lo);
    f->smallest = malloc(strlen(u) + INTERNAL_TRAILER);
    f->smallest_len = ikey_encode(f->smallest, slice_make(u, strlen(u)), max_seq, LSM_TYPE_PUT);
    snprintf(u, sizeof u, "k%06d", hi);
    f->largest = malloc(strlen(u) + INTERNAL_TRAILER);
    f->largest_len = ikey_encode(f->largest, slice_make(u, strlen(u)), min_seq, LSM_TYPE_DELETE);
    f->number = number;
    f->size = 1000 + number;
    f->min_seq = min_seq;
    f->max_seq = max_seq;
    f->entries = 100 + number;
    f->deletions = number % 7;
    f->created_unix = 1700000000 + number;
    return f;
}

static void add(version_edit *e, int level, file_meta *f)
{
    assert_int_equal(version_edit_add_file(e, level, f), 0);
    file_meta_unref(f);
}

static void assert_file_equal(const file_meta *a, const file_meta *b)
{
    assert_int_equal(a->number, b->number);
    assert_int_equal(a->size, b->size);
    assert_int_equal(a->smallest_len, b->smallest_len);
    assert_memory_equal(a->smallest, b->smallest, a->smallest_len);
    assert_int_equal(a->largest_len, b->largest_len);
    assert_memory_equal(a->largest, b->largest, a->largest_len);
    assert_int_equal(a->min_seq, b->min_seq);
    assert_int_equal(a->max_seq, b->max_seq);
    assert_int_equal(a->entries, b->entries);
    assert_int_equal(a->deletions, b->deletions);
    assert_int_equal(a->created_unix, b->created_unix);
}

/* An edit using every field. */
static void full_edit(version_edit *e)
{
    version_edit_init(e);
    e->header = true;
    version_edit_set_log_number(e, 17);
    version_edit_set_next_file(e, 1ull << 40);
    version_edit_set_last_sequence(e, LSM_MAX_SEQUENCE);
    assert_int_equal(version_edit_delete_file(e, 0, 3), 0);
    assert_int_equal(version_edit_delete_file(e, 6, 1ull << 62), 0);
    add(e, 0, mkfile(20, 1, 999, 5, 900));
    add(e, 3, mkfile(21, 1000, 1999, 0, 0));
    add(e, 6, mkfile(300000, 5, 6, 1, LSM_MAX_SEQUENCE));
}

static void encode(const version_edit *e, char **buf, size_t *len)
{
    assert_int_equal(version_edit_encode(e, buf, len), 0);
}

static void test_round_trip(void **state)
{
    (void)state;
    version_edit e, d;
    full_edit(&e);
    char *buf;
    size_t len;
    encode(&e, &buf, &len);
    assert_int_equal(version_edit_decode(&d, slice_make(buf, len), NULL), 0);
    assert_true(d.header);
    assert_true(d.has_log_number && d.has_next_file && d.has_last_sequence);
    assert_int_equal(d.log_number, 17);
    assert_int_equal(d.next_file, 1ull << 40);
    assert_int_equal(d.last_sequence, LSM_MAX_SEQUENCE);
    assert_int_equal(d.ndeleted, 2);
    assert_int_equal(d.deleted[1].level, 6);
    assert_int_equal(d.deleted[1].number, 1ull << 62);
    assert_int_equal(d.nadded, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(d.added[i].level, e.added[i].level);
        assert_file_equal(d.added[i].f, e.added[i].f);
    }
    /* Re-encoding the decoded edit gives the same bytes. */
    char *buf2;
    size_t len2;
    encode(&d, &buf2, &len2);
    assert_int_equal(len, len2);
    assert_memory_equal(buf, buf2, len);
    free(buf2);
    free(buf);
    version_edit_free(&d);
    version_edit_free(&e);

    /* The empty edit is the single END byte. */
    version_edit_init(&e);
    encode(&e, &buf, &len);
    assert_int_equal(len, 1);
    assert_int_equal(version_edit_decode(&d, slice_make(buf, len), NULL), 0);
    assert_false(d.header || d.has_log_number || d.nadded || d.ndeleted);
    free(buf);
}

static void test_truncations(void **state)
{
    (void)state;
    version_edit e, d;
    full_edit(&e);
    char *buf;
    size_t len;
    encode(&e, &buf, &len);
    for (size_t n = 0; n < len; n++) {
        /* An exact-size copy so ASan catches any read past n. */
        char *cut = malloc(n ? n : 1);
        memcpy(cut, buf, n);
        assert_int_equal(version_edit_decode(&d, slice_make(cut, n), NULL), LSM_ECORRUPT);
        version_edit_free(&d);
        free(cut);
    }
    free(buf);
    version_edit_free(&e);
}

static void test_random_bytes(void **state)
{
    (void)state;
    th_rng rng;
    th_rng_seed(&rng, th_seed());
    int valid = 0, total = 20000;
    for (int i = 0; i < total; i++) {
        size_t n = (size_t)th_rng_below(&rng, 64);
        char *b = malloc(n ? n : 1);
        for (size_t j = 0; j < n; j++)
            b[j] = (char)th_rng_next(&rng);
        version_edit d;
        int rc = version_edit_decode(&d, slice_make(b, n), NULL);
        assert_true(rc == 0 || rc == LSM_ECORRUPT);
        valid += rc == 0;
        version_edit_free(&d);
        free(b);
    }
    assert_true(valid < total / 100); /* e.g. a lone END byte is valid */

    /* Mutations of a valid encoding: any outcome but a crash or a leak. */
    version_edit e;
    full_edit(&e);
    char *buf;
    size_t len;
    encode(&e, &buf, &len);
    char *m = malloc(len);
    for (int i = 0; i < total; i++) {
        memcpy(m, buf, len);
        for (int k = 1 + (int)th_rng_below(&rng, 3); k > 0; k--)
            m[th_rng_below(&rng, len)] = (char)th_rng_next(&rng);
        version_edit d;
        int rc = version_edit_decode(&d, slice_make(m, len), NULL);
        assert_true(rc == 0 || rc == LSM_ECORRUPT || rc == LSM_EVERSION);
        version_edit_free(&d);
    }
    free(m);
    free(buf);
    version_edit_free(&e);
}

/* Decodes hand-made bytes; returns the code and the reason. */
static int decode_bytes(const char *bytes, size_t n, const char **why)
{
    version_edit d;
    int rc = version_edit_decode(&d, slice_make(bytes, n), why);
    version_edit_free(&d);
    return rc;
}

static void test_rules(void **state)
{
    (void)state;
    const char *why;
    /* An ignorable tag (>= 64) is skipped, with a multi-byte tag too. */
    static const char ignorable[] = { 64, 2, 'x', 'y', (char)0x80, 0x01, 0, 2, 1, 9, 0 };
    assert_int_equal(decode_bytes(ignorable, sizeof ignorable, &why), 0);
    /* An unknown tag below 64 is corruption. */
    static const char unknown[] = { 63, 0, 0 };
    assert_int_equal(decode_bytes(unknown, sizeof unknown, &why), LSM_ECORRUPT);
    /* Bytes after END; a field body longer than its contents. */
    static const char after_end[] = { 0, 0 };
    assert_int_equal(decode_bytes(after_end, sizeof after_end, &why), LSM_ECORRUPT);
    static const char long_body[] = { EDIT_TAG_LOG_NUMBER, 2, 5, 5, 0 };
    assert_int_equal(decode_bytes(long_body, sizeof long_body, &why), LSM_ECORRUPT);
    /* Duplicate singleton. */
    static const char dup[] = { 2, 1, 5, 2, 1, 6, 0 };
    assert_int_equal(decode_bytes(dup, sizeof dup, &why), LSM_ECORRUPT);
    assert_string_equal(why, "duplicate field");
    /* A level out of range. */
    static const char level[] = { EDIT_TAG_DELETED_FILE, 2, LSM_NUM_LEVELS, 1, 0 };
    assert_int_equal(decode_bytes(level, sizeof level, &why), LSM_ECORRUPT);
    /* Header: magic, version, position. */
    char h[] = { EDIT_TAG_HEADER, 9, 'L', 'S', 'M', 'D', 'M', 'F', 'S', 'T', 1, 0 };
    assert_int_equal(decode_bytes(h, sizeof h, &why), 0);
    h[10] = 2;
    assert_int_equal(decode_bytes(h, sizeof h, &why), LSM_EVERSION);
    h[10] = 1;
    h[2] = 'X';
    assert_int_equal(decode_bytes(h, sizeof h, &why), LSM_ECORRUPT);
    h[2] = 'L';
    char late[sizeof h + 3] = { 2, 1, 5 };
    memcpy(late + 3, h, sizeof h);
    assert_int_equal(decode_bytes(late, sizeof late, &why), LSM_ECORRUPT);

    /* A new file with smallest > largest, with a short key, with
     * deletions > entries: all refused. */
    version_edit e;
    version_edit_init(&e);
    file_meta *f = mkfile(9, 50, 10, 1, 2);
    add(&e, 1, f);
    char *buf;
    size_t len;
    encode(&e, &buf, &len);
    assert_int_equal(decode_bytes(buf, len, &why), LSM_ECORRUPT);
    free(buf);
    version_edit_free(&e);

    version_edit_init(&e);
    f = mkfile(9, 10, 50, 1, 2);
    f->smallest_len = INTERNAL_TRAILER;
    add(&e, 1, f);
    encode(&e, &buf, &len);
    assert_int_equal(decode_bytes(buf, len, &why), LSM_ECORRUPT);
    free(buf);
    version_edit_free(&e);

    version_edit_init(&e);
    f = mkfile(9, 10, 50, 1, 2);
    f->deletions = f->entries + 1;
    add(&e, 1, f);
    encode(&e, &buf, &len);
    assert_int_equal(decode_bytes(buf, len, &why), LSM_ECORRUPT);
    free(buf);
    version_edit_free(&e);

    f = mkfile(9, 10, 50, 1, 2);
    assert_int_equal(version_edit_add_file(&e, LSM_NUM_LEVELS, f), -EINVAL);
    assert_int_equal(version_edit_add_file(&e, 0, NULL), -EINVAL);
    assert_int_equal(version_edit_delete_file(&e, -1, 1), -EINVAL);
    file_meta_unref(f);
    version_edit_free(&e);
}

/* ---- version building ---------------------------------------------------- */

static version *build(const version *base, version_edit *e, int expect)
{
    version_builder *b;
    assert_int_equal(version_builder_new(base, &b), 0);
    version *v = NULL;
    int rc = version_builder_apply(b, e);
    if (rc == 0)
        rc = version_builder_finish(b, &v);
    assert_int_equal(rc, expect);
    if (rc)
        assert_non_null(version_builder_why(b));
    version_builder_free(b);
    version_edit_free(e);
    return v;
}

static void test_builder(void **state)
{
    (void)state;
    version_edit e;
    version_edit_init(&e);
    /* Level 0 newest first: by max_seq, then by number. */
    add(&e, 0, mkfile(10, 0, 100, 1, 50));
    add(&e, 0, mkfile(11, 0, 100, 51, 90));
    add(&e, 0, mkfile(12, 0, 100, 60, 90));
    /* Level 1 by smallest key, added out of order. */
    add(&e, 1, mkfile(20, 300, 399, 1, 2));
    add(&e, 1, mkfile(21, 100, 199, 1, 2));
    add(&e, 1, mkfile(22, 200, 299, 1, 2));
    version *v1 = build(NULL, &e, 0);
    assert_int_equal(v1->nfiles[0], 3);
    assert_int_equal(v1->files[0][0]->number, 12);
    assert_int_equal(v1->files[0][1]->number, 11);
    assert_int_equal(v1->files[0][2]->number, 10);
    assert_int_equal(v1->files[1][0]->number, 21);
    assert_int_equal(v1->files[1][1]->number, 22);
    assert_int_equal(v1->files[1][2]->number, 20);
    assert_int_equal(version_level_bytes(v1, 1), 3000 + 20 + 21 + 22);
    assert_int_equal(version_total_files(v1), 6);

    /* Lookups at level 1. */
    assert_null(version_find_file(v1, 1, slice_make("k000050", 7)));
    assert_int_equal(version_find_file(v1, 1, slice_make("k000150", 7))->number, 21);
    assert_int_equal(version_find_file(v1, 1, slice_make("k000299", 7))->number, 22);
    assert_int_equal(version_find_file(v1, 1, slice_make("k000300", 7))->number, 20);
    assert_null(version_find_file(v1, 1, slice_make("k0001995", 8))); /* in a gap */
    assert_null(version_find_file(v1, 1, slice_make("k000400", 7)));
    assert_null(version_find_file(v1, 2, slice_make("k000150", 7)));
    char ik[32];
    size_t ikn = ikey_encode(ik, slice_make("k000250", 7), 9, LSM_TYPE_SEEK);
    assert_int_equal(version_find_file_index(v1, 1, slice_make(ik, ikn)), 1);
    ikn = ikey_encode(ik, slice_make("k000500", 7), 9, LSM_TYPE_SEEK);
    assert_int_equal(version_find_file_index(v1, 1, slice_make(ik, ikn)), 3);

    /* Move a file down a level and delete another in one edit; the base is
     * unchanged. */
    version_edit_init(&e);
    assert_int_equal(version_edit_delete_file(&e, 1, 22), 0);
    assert_int_equal(version_edit_delete_file(&e, 0, 10), 0);
    add(&e, 2, mkfile(22, 200, 299, 1, 2));
    version *v2 = build(v1, &e, 0);
    assert_int_equal(v2->nfiles[0], 2);
    assert_int_equal(v2->nfiles[1], 2);
    assert_int_equal(v2->nfiles[2], 1);
    assert_int_equal(v1->nfiles[1], 3);
    /* The files are shared, not copied. */
    assert_ptr_equal(v2->files[1][0], v1->files[1][0]);

    /* Overlap at level >= 1, a deleted file missing from its level, a
     * duplicate number: refused. */
    version_edit_init(&e);
    add(&e, 1, mkfile(30, 150, 160, 1, 2));
    assert_null(build(v2, &e, LSM_ECORRUPT));
    version_edit_init(&e);
    assert_int_equal(version_edit_delete_file(&e, 1, 12), 0);
    assert_null(build(v2, &e, LSM_ECORRUPT));
    version_edit_init(&e);
    add(&e, 3, mkfile(21, 900, 901, 1, 2));
    assert_null(build(v2, &e, LSM_ECORRUPT));

    version_unref(v1);
    version_unref(v2);
}

/* Many edits through one builder (the replay path): the hash table grows
 * and reuses tombstones. */
static void test_builder_many(void **state)
{
    (void)state;
    version_builder *b;
    assert_int_equal(version_builder_new(NULL, &b), 0);
    for (int i = 0; i < 2000; i++) {
        version_edit e;
        version_edit_init(&e);
        file_meta *f = mkfile(100 + (uint64_t)i, i * 10, i * 10 + 5, 1, 2);
        assert_int_equal(version_edit_add_file(&e, 1 + i % 3, f), 0);
        file_meta_unref(f);
        if (i % 4 == 3)
            assert_int_equal(version_edit_delete_file(&e, 1 + (i - 3) % 3, 100 + (uint64_t)i - 3), 0);
        assert_int_equal(version_builder_apply(b, &e), 0);
        version_edit_free(&e);
    }
    version *v;
    assert_int_equal(version_builder_finish(b, &v), 0);
    version_builder_free(b);
    assert_int_equal(version_total_files(v), 1500);
    for (int level = 1; level <= 3; level++)
        for (size_t i = 1; i < v->nfiles[level]; i++)
            assert_true(ikey_compare(file_meta_largest(v->files[level][i - 1]),
                                     file_meta_smallest(v->files[level][i])) < 0);
    version_unref(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_truncations),
        cmocka_unit_test(test_random_bytes),
        cmocka_unit_test(test_rules),
        cmocka_unit_test(test_builder),
        cmocka_unit_test(test_builder_many),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
