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
#include "db/options_table.h"

static char *join(const char *dir, const char *name)
{
    char *p = NULL;
    return asprintf(&p, "%s/%s", dir, name) < 0 ? NULL : p;
}

/* The file's bytes into a malloc'd buffer: header, lines, checksum. */
static int render(const lsm_options *o, char **out, size_t *len)
{
    char *buf = malloc(OPTIONS_FILE_MAX);
    if (!buf)
        return -ENOMEM;
    int n = snprintf(buf, OPTIONS_FILE_MAX, "%s %d\n", OPTIONS_FILE_MAGIC, OPTIONS_FILE_VERSION);
    int body = db_options_text(o, NULL, buf + n, OPTIONS_FILE_MAX - (size_t)n - 32);
    if (body < 0) { /* cannot happen: the table is far below the bound */
        free(buf);
        return -EOVERFLOW;
    }
    n += body;
    n += snprintf(buf + n, 32, "crc32c=0x%08" PRIx32 "\n", crc32c(buf, (size_t)n));
    *out = buf;
    *len = (size_t)n;
    return 0;
}

int options_file_write(lsm_io *io, const char *dir, const lsm_options *o, bool *renamed_out)
{
    char *tmp = join(dir, OPTIONS_FILE_TMP), *path = join(dir, OPTIONS_FILE_NAME);
    char *text = NULL;
    size_t len = 0;
    lsm_file *f = NULL;
    bool renamed = false;
    int rc = tmp && path ? render(o, &text, &len) : -ENOMEM;
    if (rc == 0)
        rc = io_open(io, tmp, IO_CREATE, &f);
    if (rc == 0) {
        rc = io_write_sync(io, f, text, len, 0);
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
        if (!renamed && tmp && f)
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

/* The next line of [*p, end): NUL-terminated in place; NULL at the end. */
static char *next_line(char **p, char *end)
{
    if (*p >= end)
        return NULL;
    char *s = *p, *nl = memchr(s, '\n', (size_t)(end - s));
    if (!nl)
        return NULL;
    *nl = '\0';
    *p = nl + 1;
    return s;
}

static int corrupt(const char *path, int line, const char *why)
{
    log_error("options: %s line %d: %s", path, line, why);
    return LSM_ECORRUPT;
}

int options_file_parse(const char *path, const char *text, size_t n, lsm_options *o)
{
    if (n == 0 || n > OPTIONS_FILE_MAX || memchr(text, '\0', n))
        return corrupt(path, 1, n == 0 ? "empty file" : "not a text file of ours");
    char *copy = malloc(n);
    if (!copy)
        return -ENOMEM;
    memcpy(copy, text, n);
    char *p = copy, *end = copy + n;
    int rc = 0, lineno = 1, fmt_version = 0;
    char magic[16];
    char *line = next_line(&p, end);
    if (!line || sscanf(line, "%15s %d", magic, &fmt_version) != 2 ||
        strcmp(magic, OPTIONS_FILE_MAGIC) != 0) {
        free(copy);
        return corrupt(path, 1, "no " OPTIONS_FILE_MAGIC " header");
    }
    if (fmt_version != OPTIONS_FILE_VERSION) {
        log_error("options: %s is format version %d; this engine reads version %d", path,
                  fmt_version, OPTIONS_FILE_VERSION);
        free(copy);
        return LSM_EVERSION;
    }
    /* The checksum first, so no line of a torn or edited file is used. */
    lsm_options next = *o;
    char *body = p;
    bool sealed = false;
    while (rc == 0 && (line = next_line(&p, end)) != NULL) {
        lineno++;
        uint32_t want;
        if (strncmp(line, "crc32c=", 7) == 0) {
            char *e;
            errno = 0;
            unsigned long v = strtoul(line + 7, &e, 16);
            want = (uint32_t)v;
            if (*e || errno || v > UINT32_MAX)
                rc = corrupt(path, lineno, "bad checksum line");
            else if (crc32c(text, (size_t)(line - copy)) != want)
                rc = corrupt(path, lineno, "checksum mismatch (torn or edited file)");
            else if (p != end)
                rc = corrupt(path, lineno, "bytes after the checksum line");
            sealed = true;
            break;
        }
    }
    if (rc == 0 && !sealed)
        rc = corrupt(path, lineno, "no checksum line (torn file)");
    /* Then the lines, now known to be as written. */
    bool seen[DB_OPTIONS_COUNT] = { false };
    lineno = 1;
    for (p = body; rc == 0 && strncmp(p, "crc32c=", 7) != 0;) {
        char *name = p;
        p += strlen(p) + 1; /* every line up to the checksum is NUL-ended now */
        lineno++;
        char *eq = strchr(name, '=');
        if (!eq) {
            rc = corrupt(path, lineno, "a line without '='");
            break;
        }
        *eq = '\0';
        int slot = db_option_index(name);
        if (slot < 0) {
            log_warn("options: %s line %d: unknown option \"%s\" skipped", path, lineno, name);
            continue;
        }
        if (seen[slot]) {
            rc = corrupt(path, lineno, "an option given twice");
            break;
        }
        seen[slot] = true;
        if (db_option_parse(&next, name, eq + 1) != 0) {
            log_error("options: %s line %d: bad value \"%s\" for %s", path, lineno, eq + 1,
                      name);
            rc = -EINVAL;
        }
    }
    free(copy);
    if (rc == 0)
        *o = next;
    return rc;
}

int lsm_options_load(const char *dir, lsm_options *o)
{
    if (!dir || !*dir || !o)
        return -EINVAL;
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
    char *buf = malloc(OPTIONS_FILE_MAX + 1);
    ssize_t got = 0, r = 0;
    int rc = buf ? 0 : -ENOMEM;
    while (rc == 0 && got <= OPTIONS_FILE_MAX &&
           (r = read(fd, buf + got, (size_t)(OPTIONS_FILE_MAX + 1 - got))) != 0) {
        if (r < 0 && errno != EINTR)
            rc = -errno;
        else if (r > 0)
            got += r;
    }
    close(fd);
    if (rc == 0)
        rc = options_file_parse(path, buf, (size_t)got, o);
    if (rc == 0)
        log_info("options: loaded %s", path);
    free(buf);
    free(path);
    return rc;
}
