/* version_edit.c — see version_edit.h and docs/manifest-format.md. */
#include "version/version_edit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/coding.h"
#include "base/dbformat.h"
#include "lsm.h"

void version_edit_init(version_edit *e)
{
    memset(e, 0, sizeof *e);
}

void version_edit_free(version_edit *e)
{
    for (size_t i = 0; i < e->nadded; i++)
        file_meta_unref(e->added[i].f);
    free(e->added);
    free(e->deleted);
    version_edit_init(e);
}

/* Makes room for one more element of size sz in *arr. */
static int grow(void **arr, size_t *cap, size_t n, size_t sz)
{
    if (n < *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : 8;
    void *p = realloc(*arr, ncap * sz);
    if (!p)
        return -ENOMEM;
    *arr = p;
    *cap = ncap;
    return 0;
}

int version_edit_add_file(version_edit *e, int level, file_meta *f)
{
    if (level < 0 || level >= LSM_NUM_LEVELS || !f)
        return -EINVAL;
    if (grow((void **)&e->added, &e->added_cap, e->nadded, sizeof *e->added))
        return -ENOMEM;
    file_meta_ref(f);
    e->added[e->nadded++] = (edit_added){ level, f };
    return 0;
}

int version_edit_delete_file(version_edit *e, int level, uint64_t number)
{
    if (level < 0 || level >= LSM_NUM_LEVELS)
        return -EINVAL;
    if (grow((void **)&e->deleted, &e->deleted_cap, e->ndeleted, sizeof *e->deleted))
        return -ENOMEM;
    e->deleted[e->ndeleted++] = (edit_deleted){ level, number };
    return 0;
}

/* ---- encoding ----------------------------------------------------------
 * field = varint tag | varint body_length | body; the edit ends with the
 * single byte EDIT_TAG_END. */

static size_t new_file_body_len(int level, const file_meta *f)
{
    return (size_t)varint_length((uint64_t)level) + varint_length(f->number) +
           varint_length(f->size) + varint_length(f->smallest_len) + f->smallest_len +
           varint_length(f->largest_len) + f->largest_len + varint_length(f->min_seq) +
           varint_length(f->max_seq) + varint_length(f->entries) +
           varint_length(f->deletions) + varint_length(f->created_unix);
}

static size_t field_len(size_t body)
{
    return 1 + (size_t)varint_length(body) + body; /* every tag < 128 */
}

static char *put_field_head(char *p, enum edit_tag tag, size_t body)
{
    p = put_varint32(p, (uint32_t)tag);
    return put_varint64(p, body);
}

static char *put_u64_field(char *p, enum edit_tag tag, uint64_t v)
{
    p = put_field_head(p, tag, (size_t)varint_length(v));
    return put_varint64(p, v);
}

static char *put_bytes(char *p, const char *s, size_t n)
{
    p = put_varint64(p, n);
    if (n)
        memcpy(p, s, n);
    return p + n;
}

int version_edit_encode(const version_edit *e, char **buf, size_t *len)
{
    size_t n = 1; /* END */
    size_t header_body = MANIFEST_MAGIC_LEN + (size_t)varint_length(MANIFEST_FORMAT_VERSION);
    if (e->header)
        n += field_len(header_body);
    if (e->has_log_number)
        n += field_len((size_t)varint_length(e->log_number));
    if (e->has_next_file)
        n += field_len((size_t)varint_length(e->next_file));
    if (e->has_last_sequence)
        n += field_len((size_t)varint_length(e->last_sequence));
    for (size_t i = 0; i < e->ndeleted; i++)
        n += field_len((size_t)varint_length((uint64_t)e->deleted[i].level) +
                       (size_t)varint_length(e->deleted[i].number));
    for (size_t i = 0; i < e->nadded; i++)
        n += field_len(new_file_body_len(e->added[i].level, e->added[i].f));

    char *out = malloc(n);
    if (!out)
        return -ENOMEM;
    char *p = out;
    if (e->header) {
        p = put_field_head(p, EDIT_TAG_HEADER, header_body);
        memcpy(p, MANIFEST_MAGIC, MANIFEST_MAGIC_LEN);
        p = put_varint32(p + MANIFEST_MAGIC_LEN, MANIFEST_FORMAT_VERSION);
    }
    if (e->has_log_number)
        p = put_u64_field(p, EDIT_TAG_LOG_NUMBER, e->log_number);
    if (e->has_next_file)
        p = put_u64_field(p, EDIT_TAG_NEXT_FILE, e->next_file);
    if (e->has_last_sequence)
        p = put_u64_field(p, EDIT_TAG_LAST_SEQUENCE, e->last_sequence);
    for (size_t i = 0; i < e->ndeleted; i++) {
        const edit_deleted *d = &e->deleted[i];
        p = put_field_head(p, EDIT_TAG_DELETED_FILE,
                           (size_t)varint_length((uint64_t)d->level) +
                               (size_t)varint_length(d->number));
        p = put_varint32(p, (uint32_t)d->level);
        p = put_varint64(p, d->number);
    }
    for (size_t i = 0; i < e->nadded; i++) {
        const file_meta *f = e->added[i].f;
        int level = e->added[i].level;
        p = put_field_head(p, EDIT_TAG_NEW_FILE, new_file_body_len(level, f));
        p = put_varint32(p, (uint32_t)level);
        p = put_varint64(p, f->number);
        p = put_varint64(p, f->size);
        p = put_bytes(p, f->smallest, f->smallest_len);
        p = put_bytes(p, f->largest, f->largest_len);
        p = put_varint64(p, f->min_seq);
        p = put_varint64(p, f->max_seq);
        p = put_varint64(p, f->entries);
        p = put_varint64(p, f->deletions);
        p = put_varint64(p, f->created_unix);
    }
    *p++ = (char)EDIT_TAG_END;
    *buf = out;
    *len = (size_t)(p - out);
    return 0;
}

/* ---- decoding ----------------------------------------------------------
 * Every read is bounded by an explicit end; a field's body must be consumed
 * exactly. */

/* A byte cursor over [p, end); p becomes NULL at the first failed read. */
typedef struct cursor {
    const char *p, *end;
} cursor;

static uint64_t cur_varint(cursor *c)
{
    uint64_t v = 0;
    if (c->p)
        c->p = get_varint64(c->p, c->end, &v);
    return v;
}

static int cur_level(cursor *c)
{
    uint64_t v = cur_varint(c);
    if (v >= LSM_NUM_LEVELS)
        c->p = NULL;
    return (int)(c->p ? v : 0);
}

/* A length-prefixed byte string copied into malloc'd memory (empty allowed
 * here; file_meta_check rejects short keys).  NULL on failure; a failed
 * allocation sets *oom. */
static char *cur_bytes(cursor *c, size_t *len, int *oom)
{
    uint64_t n = cur_varint(c);
    if (!c->p || n > (uint64_t)(c->end - c->p)) {
        c->p = NULL;
        return NULL;
    }
    char *s = malloc(n ? n : 1);
    if (!s) {
        *oom = 1;
        c->p = NULL;
        return NULL;
    }
    memcpy(s, c->p, n);
    c->p += n;
    *len = n;
    return s;
}

static int decode_new_file(version_edit *e, cursor *c, const char **why)
{
    int oom = 0;
    file_meta *f = file_meta_new();
    if (!f)
        return -ENOMEM;
    int level = cur_level(c);
    f->number = cur_varint(c);
    f->size = cur_varint(c);
    f->smallest = cur_bytes(c, &f->smallest_len, &oom);
    f->largest = cur_bytes(c, &f->largest_len, &oom);
    f->min_seq = cur_varint(c);
    f->max_seq = cur_varint(c);
    f->entries = cur_varint(c);
    f->deletions = cur_varint(c);
    f->created_unix = cur_varint(c);
    int rc = 0;
    const char *bad = NULL;
    if (oom)
        rc = -ENOMEM;
    else if (!c->p)
        bad = "malformed new-file field";
    else
        bad = file_meta_check(f);
    if (bad) {
        *why = bad;
        rc = LSM_ECORRUPT;
    }
    if (rc == 0)
        rc = version_edit_add_file(e, level, f);
    file_meta_unref(f); /* the edit holds its own reference */
    return rc;
}

/* Decodes one field body [c->p, c->end) of a known tag. */
static int decode_field(version_edit *e, uint64_t tag, cursor *c, const char **why)
{
    bool *has = NULL;
    uint64_t *val = NULL;
    switch (tag) {
    case EDIT_TAG_HEADER: {
        if (c->end - c->p < MANIFEST_MAGIC_LEN ||
            memcmp(c->p, MANIFEST_MAGIC, MANIFEST_MAGIC_LEN) != 0) {
            *why = "bad MANIFEST magic";
            return LSM_ECORRUPT;
        }
        c->p += MANIFEST_MAGIC_LEN;
        uint64_t format = cur_varint(c);
        if (c->p && format > MANIFEST_FORMAT_VERSION) {
            *why = "MANIFEST written by a newer format version";
            return LSM_EVERSION;
        }
        if (c->p && format == 0)
            c->p = NULL;
        e->header = true;
        break;
    }
    case EDIT_TAG_LOG_NUMBER: has = &e->has_log_number; val = &e->log_number; break;
    case EDIT_TAG_NEXT_FILE: has = &e->has_next_file; val = &e->next_file; break;
    case EDIT_TAG_LAST_SEQUENCE: has = &e->has_last_sequence; val = &e->last_sequence; break;
    case EDIT_TAG_DELETED_FILE: {
        int level = cur_level(c);
        uint64_t number = cur_varint(c);
        if (c->p) {
            int rc = version_edit_delete_file(e, level, number);
            if (rc)
                return rc;
        }
        break;
    }
    case EDIT_TAG_NEW_FILE:
        return decode_new_file(e, c, why);
    default:
        *why = "unknown field tag";
        return LSM_ECORRUPT;
    }
    if (has) {
        if (*has) {
            *why = "duplicate field";
            return LSM_ECORRUPT;
        }
        *val = cur_varint(c);
        *has = true;
        if (c->p && tag == EDIT_TAG_LAST_SEQUENCE && *val > LSM_MAX_SEQUENCE) {
            *why = "last sequence out of range";
            return LSM_ECORRUPT;
        }
    }
    if (!c->p) {
        *why = "malformed field";
        return LSM_ECORRUPT;
    }
    return 0;
}

int version_edit_decode(version_edit *e, slice src, const char **why)
{
    const char *dummy;
    if (!why)
        why = &dummy;
    *why = NULL;
    version_edit_init(e);
    const char *p = src.data, *end = src.data + src.size;
    int rc = 0;
    for (bool first = true;; first = false) {
        uint64_t tag, body;
        if (p >= end) {
            *why = "missing end marker";
            return LSM_ECORRUPT;
        }
        p = get_varint64(p, end, &tag);
        if (!p) {
            *why = "malformed field tag";
            return LSM_ECORRUPT;
        }
        if (tag == EDIT_TAG_END) {
            if (p != end) {
                *why = "bytes after the end marker";
                return LSM_ECORRUPT;
            }
            return 0;
        }
        p = get_varint64(p, end, &body);
        if (!p || body > (uint64_t)(end - p)) {
            *why = "field length past the end";
            return LSM_ECORRUPT;
        }
        cursor c = { p, p + body };
        p += body;
        if (tag >= EDIT_TAG_IGNORABLE)
            continue; /* a compatible addition from a newer writer */
        if (tag == EDIT_TAG_HEADER && !first) {
            *why = "header not in first position";
            return LSM_ECORRUPT;
        }
        rc = decode_field(e, tag, &c, why);
        if (rc == 0 && c.p != c.end) {
            *why = "field body longer than its contents";
            rc = LSM_ECORRUPT;
        }
        if (rc)
            return rc;
    }
}
