/* filenames.c — see filenames.h. */
#include "base/filenames.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

char *filename_make(const char *dir, enum file_kind kind, uint64_t number)
{
    unsigned long long n = (unsigned long long)number;
    char *path = NULL;
    int rc = -1;
    switch (kind) {
    case FILE_KIND_WAL: rc = asprintf(&path, "%s/%06llu.log", dir, n); break;
    case FILE_KIND_TABLE: rc = asprintf(&path, "%s/%06llu.sst", dir, n); break;
    case FILE_KIND_MANIFEST: rc = asprintf(&path, "%s/MANIFEST-%06llu", dir, n); break;
    case FILE_KIND_CURRENT: rc = asprintf(&path, "%s/CURRENT", dir); break;
    case FILE_KIND_TEMP: rc = asprintf(&path, "%s/CURRENT.tmp", dir); break;
    case FILE_KIND_LOCK: rc = asprintf(&path, "%s/LOCK", dir); break;
    }
    return rc < 0 ? NULL : path;
}

/* Parses the decimal number at the start of s; returns the byte after it,
 * or NULL if there is no digit or the value overflows 64 bits. */
static const char *parse_number(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    const char *p = s;
    for (; *p >= '0' && *p <= '9'; p++) {
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return NULL;
        v = v * 10 + d;
    }
    if (p == s)
        return NULL;
    *out = v;
    return p;
}

int filename_parse(const char *name, enum file_kind *kind, uint64_t *number)
{
    static const struct { const char *name; enum file_kind kind; } fixed[] = {
        { "CURRENT", FILE_KIND_CURRENT },
        { "CURRENT.tmp", FILE_KIND_TEMP },
        { "LOCK", FILE_KIND_LOCK },
    };
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        if (strcmp(name, fixed[i].name) == 0) {
            *kind = fixed[i].kind;
            *number = 0;
            return 1;
        }
    }
    uint64_t n;
    const char *rest;
    static const char manifest[] = "MANIFEST-";
    if (strncmp(name, manifest, sizeof manifest - 1) == 0) {
        rest = parse_number(name + sizeof manifest - 1, &n);
        if (!rest || *rest)
            return 0;
        *kind = FILE_KIND_MANIFEST;
        *number = n;
        return 1;
    }
    rest = parse_number(name, &n);
    if (!rest)
        return 0;
    if (strcmp(rest, ".log") == 0)
        *kind = FILE_KIND_WAL;
    else if (strcmp(rest, ".sst") == 0)
        *kind = FILE_KIND_TABLE;
    else
        return 0;
    *number = n;
    return 1;
}

int filename_scan(const char *dir, filename_scan_fn fn, void *ctx)
{
    DIR *d = opendir(dir);
    if (!d)
        return -errno;
    int rc = 0;
    struct dirent *de;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        enum file_kind kind;
        uint64_t number;
        if (filename_parse(de->d_name, &kind, &number))
            rc = fn(ctx, de->d_name, kind, number);
    }
    closedir(d);
    return rc;
}
