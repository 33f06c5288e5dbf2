/* options_file.c — see options_file.h. */
#include "db/options_file.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/crc32c.h"
#include "base/log.h"
#include "lsm.h"

static char *join(const char *dir, const char *name)
{
    char *p = NULL;
    return asprintf(&p, "%s/%s", dir, name) < 0 ? NULL : p;
}

/* See options_file.h. */
int options_file_render(const char *body, size_t len, char **out, size_t *n)
{
    char *buf = malloc(OPTIONS_FILE_MAX);
    if (!buf)
        return -ENOMEM;
    int h = snprintf(buf, OPTIONS_FILE_MAX, "%s %d\n", OPTIONS_FILE_MAGIC, OPTIONS_FILE_VERSION);
    if (len > OPTIONS_FILE_MAX - (size_t)h - 32) { /* cannot happen: ~700 bytes */
        free(buf);
        return -E2BIG;
    }
    memcpy(buf + h, body, len);
    size_t m = (size_t)h + len;
    m += (size_t)snprintf(buf + m, 32, "crc32c=0x%08" PRIx32 "\n", crc32c(buf, m));
    *out = buf;
    *n = m;
    return 0;
}

int options_file_write(lsm_io *io, const char *dir, const char *body, size_t len,
                       bool *renamed_out)
{
    char *tmp = join(dir, OPTIONS_FILE_TMP), *path = join(dir, OPTIONS_FILE_NAME);
    char *text = NULL;
    size_t n = 0;
    lsm_file *f = NULL;
    bool renamed = false;
    int rc = tmp && path ? options_file_render(body, len, &text, &n) : -ENOMEM;
    if (rc == 0)
        rc = io_open(io, tmp, IO_CREATE, &f);
    if (rc == 0) {
        rc = io_write_sync(io, f, text, n, 0);
        int crc = io_close(io, f);
        rc = rc ? rc : crc;
    }
    if (rc == 0) {
        rc = io_rename(io, tmp, path);
        renamed = rc == 0;
    }
    if (rc == 0)
        rc = io_sync_dir(io, dir);
    if (rc != 0) {
        if (!renamed && f)
            io_unlink(io, tmp);
        log_error("options: writing %s failed: %s", path ? path : dir, lsm_strerror(rc));
    }
    if (renamed_out)
        *renamed_out = renamed;
    free(text);
    free(tmp);
    free(path);
    return rc;
}

static int corrupt(const char *path, int line, const char *why)
{
    log_error("options: %s line %d: %s", path, line, why);
    return LSM_ECORRUPT;
}

/* Checks the framing of text (n bytes, no NUL): header, version and the
 * checksum line, which must end the file.  *body and *body_end delimit
 * the option lines. */
static int check_frame(const char *path, const char *text, size_t n, const char **body,
                       const char **body_end)
{
    const char *end = text + n, *nl = memchr(text, '\n', n);
    char magic[16];
    int fmt_version = 0;
    if (!nl || nl - text > 40 || sscanf(text, "%15s %d", magic, &fmt_version) != 2 ||
        strcmp(magic, OPTIONS_FILE_MAGIC) != 0)
        return corrupt(path, 1, "no " OPTIONS_FILE_MAGIC " header");
    if (fmt_version != OPTIONS_FILE_VERSION) {
        log_error("options: %s is format version %d; this engine reads version %d", path,
                  fmt_version, OPTIONS_FILE_VERSION);
        return LSM_EVERSION;
    }
    *body = nl + 1;
    int line = 1;
    for (const char *p = nl + 1; p < end; p = nl + 1) {
        line++;
        nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            break;
        if (strncmp(p, "crc32c=", 7) != 0)
            continue;
        char hex[16];
        size_t hl = (size_t)(nl - p) - 7;
        if (hl == 0 || hl >= sizeof hex)
            return corrupt(path, line, "bad checksum line");
        memcpy(hex, p + 7, hl);
        hex[hl] = '\0';
        char *e;
        errno = 0;
        unsigned long want = strtoul(hex, &e, 16);
        if (*e || errno || want > UINT32_MAX)
            return corrupt(path, line, "bad checksum line");
        if (crc32c(text, (size_t)(p - text)) != (uint32_t)want)
            return corrupt(path, line, "checksum mismatch (torn or edited file)");
        if (nl + 1 != end)
            return corrupt(path, line, "bytes after the checksum line");
        *body_end = p;
        return 0;
    }
    return corrupt(path, line, "no checksum line (torn file)");
}

int options_file_parse(const char *path, const char *text, size_t n, options_line_fn fn,
                       void *ctx)
{
    if (n == 0 || n > OPTIONS_FILE_MAX || memchr(text, '\0', n))
        return corrupt(path, 1, n == 0 ? "empty file" : "not a text file of ours");
    const char *body, *body_end;
    int rc = check_frame(path, text, n, &body, &body_end);
    if (rc)
        return rc;
    /* Every line is checked for its '=' before fn sees any. */
    int line = 1;
    for (const char *p = body; p < body_end; p = strchr(p, '\n') + 1) {
        line++;
        const char *nl = strchr(p, '\n'), *eq = memchr(p, '=', (size_t)(nl - p));
        if (!eq || eq == p)
            return corrupt(path, line, "a line without name=value");
    }
    char *copy = malloc((size_t)(body_end - body) + 1);
    if (!copy)
        return -ENOMEM;
    memcpy(copy, body, (size_t)(body_end - body));
    copy[body_end - body] = '\0';
    line = 1;
    for (char *p = copy; rc == 0 && *p; ) {
        char *nl = strchr(p, '\n'), *eq = strchr(p, '=');
        *nl = '\0';
        *eq = '\0';
        rc = fn(ctx, p, eq + 1, ++line);
        p = nl + 1;
    }
    free(copy);
    return rc;
}

int options_file_load(const char *dir, options_line_fn fn, void *ctx)
{
    char *path = join(dir, OPTIONS_FILE_NAME);
    if (!path)
        return -ENOMEM;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        if (e != ENOENT)
            log_error("options: cannot open %s: %s", path, strerror(e));
        free(path);
        return -e;
    }
    /* One byte past the bound, so an oversized file shows as one. */
    char *buf = malloc(OPTIONS_FILE_MAX + 1);
    size_t got = 0;
    int rc = buf ? 0 : -ENOMEM;
    while (rc == 0 && got <= OPTIONS_FILE_MAX) {
        ssize_t r = read(fd, buf + got, OPTIONS_FILE_MAX + 1 - got);
        if (r == 0)
            break;
        if (r < 0 && errno != EINTR)
            rc = -errno;
        else if (r > 0)
            got += (size_t)r;
    }
    close(fd);
    if (rc == 0)
        rc = options_file_parse(path, buf, got, fn, ctx);
    else
        log_error("options: cannot read %s: %s", path, lsm_strerror(rc));
    free(buf);
    free(path);
    return rc;
}
