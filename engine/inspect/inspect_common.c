/* inspect_common.c — the damage sink, byte printing, backend and LOCK the
 * inspect calls share (inspect_internal.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "base/dbformat.h"
#include "base/filenames.h"
#include "inspect/inspect_internal.h"
#include "lsm.h"

void insp_damage(insp *c, const char *path, uint64_t off, const char *fmt, ...)
{
    char what[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (c->out) {
        if (off == UINT64_MAX)
            fprintf(c->out, "DAMAGE %s offset -: %s\n", path, what);
        else
            fprintf(c->out, "DAMAGE %s offset %llu: %s\n", path, (unsigned long long)off, what);
    }
    if (c->ndamage++ == 0 && c->first) {
        snprintf(c->first->path, sizeof c->first->path, "%s", path);
        c->first->offset = off;
        snprintf(c->first->what, sizeof c->first->what, "%s", what);
    }
}

void insp_printf(insp *c, const char *fmt, ...)
{
    if (!c->out)
        return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(c->out, fmt, ap);
    va_end(ap);
}

void insp_bytes(FILE *f, slice s)
{
    const unsigned char *p = (const unsigned char *)s.data;
    for (size_t i = 0; i < s.size; i++) {
        if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\')
            fputc(p[i], f);
        else
            fprintf(f, "\\x%02x", p[i]);
    }
}

void insp_ikey(FILE *f, slice ik)
{
    if (ik.size < INTERNAL_TRAILER) {
        fputs("(short key)", f);
        return;
    }
    fputc('\'', f);
    insp_bytes(f, ikey_user(ik));
    fputc('\'', f);
    unsigned t = (unsigned)ikey_type(ik);
    fprintf(f, " @%llu ", (unsigned long long)ikey_seq(ik));
    if (t == LSM_TYPE_PUT)
        fputs("PUT", f);
    else if (t == LSM_TYPE_DELETE)
        fputs("DEL", f);
    else
        fprintf(f, "type %u", t);
}

int insp_io_new(lsm_io **out)
{
    return io_posix_new(out);
}

int insp_run_file(const char *path, unsigned flags, FILE *out, inspect_damage *first,
                  insp_file_fn fn)
{
    if (flags & INSPECT_VALUES)
        flags |= INSPECT_KEYS;
    insp c = { .out = out, .first = first };
    lsm_io *io;
    int rc = insp_io_new(&io);
    if (rc)
        return rc;
    rc = fn(&c, io, path, flags);
    io_destroy(io);
    return rc;
}

int insp_lock(const char *dir, int *fd_out)
{
    char *path = filename_lock(dir);
    if (!path)
        return -ENOMEM;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    free(path);
    if (fd < 0)
        return -errno;
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int err = errno;
        close(fd);
        return err == EWOULDBLOCK ? -EBUSY : -err;
    }
    *fd_out = fd;
    return 0;
}

void insp_table_free(insp_table *t)
{
    if (!t)
        return;
    free(t->smallest);
    free(t->largest);
    t->smallest = t->largest = NULL;
}

int insp_read_current(insp *c, lsm_io *io, const char *dir, uint64_t *number)
{
    char *path = filename_current(dir);
    if (!path)
        return -ENOMEM;
    char *buf;
    size_t n;
    int rc = io_read_all(io, path, &buf, &n);
    if (rc) {
        free(path);
        return rc;
    }
    /* Exactly "MANIFEST-<digits>\n" (docs/manifest-format.md). */
    char name[64];
    enum file_kind kind;
    rc = 0;
    if (n < 2 || n >= sizeof name || buf[n - 1] != '\n') {
        rc = LSM_ECORRUPT;
    } else {
        memcpy(name, buf, n - 1);
        name[n - 1] = '\0';
        if (!filename_parse(name, &kind, number) || kind != FILE_KIND_MANIFEST)
            rc = LSM_ECORRUPT;
    }
    if (rc) {
        insp_damage(c, path, 0, "CURRENT does not hold exactly MANIFEST-NNNNNN and a newline "
                    "(%zu bytes)", n);
    }
    free(buf);
    free(path);
    return rc;
}
