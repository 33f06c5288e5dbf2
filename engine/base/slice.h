/*
 * slice.h — a borrowed (pointer, length) view of bytes.
 *
 * A slice never owns its bytes; whoever hands one out says how long it
 * stays valid.
 */
#ifndef LSM_SLICE_H
#define LSM_SLICE_H

#include <stddef.h>
#include <string.h>

typedef struct slice {
    const char *data;
    size_t size;
} slice;

static inline slice slice_make(const void *p, size_t n)
{
    slice s = { (const char *)p, n };
    return s;
}

/* Bytewise order; a proper prefix sorts first.  <0, 0, >0 like memcmp. */
static inline int slice_compare(slice a, slice b)
{
    size_t n = a.size < b.size ? a.size : b.size;
    int r = n ? memcmp(a.data, b.data, n) : 0;
    if (r != 0)
        return r;
    return (a.size > b.size) - (a.size < b.size);
}

static inline int slice_equal(slice a, slice b)
{
    return a.size == b.size && (a.size == 0 || memcmp(a.data, b.data, a.size) == 0);
}

#endif
