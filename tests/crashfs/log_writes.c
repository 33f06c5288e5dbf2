/* log_writes.c — see log_writes.h. */
#include "log_writes.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define ENTRY_BYTES 32u /* sector, nr_sectors, flags, data_len */
#define COPY_CHUNK (1u << 20)
#define KNOWN_FLAGS (LW_FLUSH | LW_FUA | LW_DISCARD | LW_MARK | LW_METADATA)

struct lw_log {
    int fd;
    uint32_t ss;        /* sectorsize */
    uint64_t nr;        /* nr_entries */
    uint64_t size;      /* bytes in the log device or file */
    uint64_t pos;       /* the next entry's header */
    uint64_t next;      /* entries read */
    uint64_t data_pos;  /* the last entry's data */
    char *block;        /* one sectorsize block */
    char *chunk;        /* COPY_CHUNK bytes for lw_apply */
};

static int say(char *why, size_t n, int rc, const char *fmt, ...)
{
    if (why && n) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, n, fmt, ap);
        va_end(ap);
    }
    return rc;
}

static uint64_t le64(const char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | (uint8_t)p[i];
    return v;
}

static uint32_t le32(const char *p)
{
    return (uint32_t)(uint8_t)p[0] | (uint32_t)(uint8_t)p[1] << 8 |
           (uint32_t)(uint8_t)p[2] << 16 | (uint32_t)(uint8_t)p[3] << 24;
}

/* Reads exactly n bytes at off; a short read is -EIO (the log ends early). */
static int read_at(int fd, void *buf, size_t n, uint64_t off)
{
    size_t done = 0;
    while (done < n) {
        ssize_t r = pread(fd, (char *)buf + done, n - done, (off_t)(off + done));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        if (r == 0)
            return -EIO;
        done += (size_t)r;
    }
    return 0;
}

static int write_at(int fd, const void *buf, size_t n, uint64_t off)
{
    size_t done = 0;
    while (done < n) {
        ssize_t r = pwrite(fd, (const char *)buf + done, n - done, (off_t)(off + done));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        done += (size_t)r;
    }
    return 0;
}

int lw_device_bytes(int fd, uint64_t *out)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return -errno;
    if (S_ISBLK(st.st_mode))
        return ioctl(fd, BLKGETSIZE64, out) == 0 ? 0 : -errno;
    *out = (uint64_t)st.st_size;
    return 0;
}

int lw_open(const char *path, lw_log **out, char *why, size_t why_len)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return say(why, why_len, -errno, "%s: %s", path, strerror(errno));
    char super[ENTRY_BYTES - 4];
    uint64_t size = 0;
    int rc = lw_device_bytes(fd, &size);
    if (rc == 0)
        rc = read_at(fd, super, sizeof super, 0);
    if (rc) {
        close(fd);
        return say(why, why_len, rc, "%s: cannot read the super: %s", path, strerror(-rc));
    }
    uint64_t magic = le64(super), version = le64(super + 8), nr = le64(super + 16);
    uint32_t ss = le32(super + 24);
    rc = -EINVAL;
    if (magic != LW_MAGIC)
        say(why, why_len, rc, "%s: not a dm-log-writes log (magic %#llx)", path,
            (unsigned long long)magic);
    else if (version != LW_VERSION)
        say(why, why_len, rc, "%s: log version %llu, this reader knows %d", path,
            (unsigned long long)version, LW_VERSION);
    else if (ss < 512 || ss > 65536 || (ss & (ss - 1)))
        say(why, why_len, rc, "%s: sectorsize %u is not a power of two in 512..65536",
            path, ss);
    else
        rc = 0;
    lw_log *lw = rc ? NULL : calloc(1, sizeof *lw);
    if (rc == 0 && (!lw || !(lw->block = malloc(ss)) || !(lw->chunk = malloc(COPY_CHUNK))))
        rc = say(why, why_len, -ENOMEM, "out of memory");
    if (rc) {
        if (lw) {
            free(lw->block);
            free(lw);
        }
        close(fd);
        return rc;
    }
    lw->fd = fd;
    lw->ss = ss;
    lw->nr = nr;
    lw->size = size;
    lw->pos = ss;
    *out = lw;
    return 0;
}

void lw_close(lw_log *lw)
{
    if (!lw)
        return;
    close(lw->fd);
    free(lw->block);
    free(lw->chunk);
    free(lw);
}

uint32_t lw_sectorsize(const lw_log *lw)
{
    return lw->ss;
}

uint64_t lw_nr_entries(const lw_log *lw)
{
    return lw->nr;
}

int lw_next(lw_log *lw, lw_entry *e, char *why, size_t why_len)
{
    if (lw->next >= lw->nr)
        return 0;
    memset(e, 0, sizeof *e);
    e->index = lw->next;
    int rc = read_at(lw->fd, lw->block, lw->ss, lw->pos);
    if (rc)
        return say(why, why_len, rc, "entry %llu at byte %llu: cannot read its header: %s",
                   (unsigned long long)e->index, (unsigned long long)lw->pos,
                   strerror(-rc));
    e->sector = le64(lw->block);
    e->nr_sectors = le64(lw->block + 8);
    e->flags = le64(lw->block + 16);
    e->data_len = le64(lw->block + 24);
    if (e->flags & ~(uint64_t)KNOWN_FLAGS)
        return say(why, why_len, -EINVAL, "entry %llu: unknown flags %#llx",
                   (unsigned long long)e->index, (unsigned long long)e->flags);
    if (e->flags & LW_MARK) {
        if (e->data_len > lw->ss - ENTRY_BYTES || e->data_len > LW_MARK_MAX)
            return say(why, why_len, -EINVAL, "entry %llu: a mark of %llu bytes",
                       (unsigned long long)e->index, (unsigned long long)e->data_len);
        memcpy(e->mark, lw->block + ENTRY_BYTES, e->data_len);
    }
    /* Data blocks follow the header, except for a discard (none logged). */
    uint64_t data_blocks = (e->flags & LW_DISCARD) ? 0 : e->nr_sectors;
    uint64_t room = lw->size > lw->pos ? (lw->size - lw->pos) / lw->ss : 0; /* header's too */
    if (room == 0 || data_blocks > room - 1)
        return say(why, why_len, -EINVAL,
                   "entry %llu: %llu data blocks run past the end of the log",
                   (unsigned long long)e->index, (unsigned long long)data_blocks);
    lw->data_pos = lw->pos + lw->ss;
    lw->pos += (1 + data_blocks) * lw->ss;
    lw->next++;
    return 1;
}

int lw_apply(lw_log *lw, const lw_entry *e, int fd, uint64_t dev_bytes, char *why,
             size_t why_len)
{
    if (!(e->flags & LW_DISCARD) && (e->nr_sectors == 0 || (e->flags & LW_MARK)))
        return 0; /* a flush or a mark: nothing to write */
    uint64_t off = e->sector * lw->ss, n = e->nr_sectors * lw->ss;
    if (e->sector > dev_bytes / lw->ss || n > dev_bytes - off)
        return say(why, why_len, -EINVAL,
                   "entry %llu: blocks %llu..%llu are past the end of the target (%llu bytes)",
                   (unsigned long long)e->index, (unsigned long long)e->sector,
                   (unsigned long long)(e->sector + e->nr_sectors),
                   (unsigned long long)dev_bytes);
    if (e->flags & LW_DISCARD)
        memset(lw->chunk, 0, COPY_CHUNK);
    for (uint64_t done = 0; done < n;) {
        size_t k = n - done < COPY_CHUNK ? (size_t)(n - done) : COPY_CHUNK;
        int rc = 0;
        if (!(e->flags & LW_DISCARD))
            rc = read_at(lw->fd, lw->chunk, k, lw->data_pos + done);
        if (rc == 0)
            rc = write_at(fd, lw->chunk, k, off + done);
        if (rc)
            return say(why, why_len, rc, "entry %llu: %s", (unsigned long long)e->index,
                       strerror(-rc));
        done += k;
    }
    return 0;
}

int lw_is_point(const lw_entry *e)
{
    return (e->flags & (LW_FLUSH | LW_FUA | LW_MARK)) != 0;
}

void lw_print(FILE *f, const lw_entry *e)
{
    static const struct {
        uint64_t bit;
        const char *name;
    } names[] = { { LW_FLUSH, "FLUSH" }, { LW_FUA, "FUA" }, { LW_DISCARD, "DISCARD" },
                  { LW_MARK, "MARK" }, { LW_METADATA, "META" } };
    fprintf(f, "%llu ", (unsigned long long)e->index);
    const char *sep = "";
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (e->flags & names[i].bit) {
            fprintf(f, "%s%s", sep, names[i].name);
            sep = "|";
        }
    if (!*sep)
        fputs("WRITE", f);
    fprintf(f, " sector %llu len %llu", (unsigned long long)e->sector,
            (unsigned long long)e->nr_sectors);
    if (e->flags & LW_MARK)
        fprintf(f, " mark %s", e->mark);
    fputc('\n', f);
}
