/* fuzzkit.c — see fuzzkit.h. */
#include "fuzzkit.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "table/block.h"
#include "base/coding.h"
#include "base/crc32c.h"
#include "base/log.h"
#include "table/sstable_format.h"
#include "wal/wal_format.h"

static char g_dir[256];
static lsm_io *g_io;
static int g_err_fd = 2; /* stderr as it was before libFuzzer's -close_fd_mask */

/* libFuzzer calls this before it may close stderr (-close_fd_mask=2 keeps
 * the engine's error lines about corrupt inputs out of the log): keep a
 * copy, so a failed property still says what failed. */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    int fd = dup(2);
    if (fd >= 0)
        g_err_fd = fd;
    return 0;
}

void fk_fail(const char *file, int line, const char *cond, const char *fmt, ...)
{
    char msg[1024];
    int n = snprintf(msg, sizeof msg, "%s:%d: property failed: %s: ", file, line, cond);
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof msg)
        n += vsnprintf(msg + n, sizeof msg - (size_t)n, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof msg - 1)
        n = (int)sizeof msg - 2;
    msg[n++] = '\n';
    if (write(g_err_fd, msg, (size_t)n) < 0)
        abort();
    abort();
}

static void rm_tree(const char *path)
{
    fk_clear_dir(path);
    rmdir(path);
}

static void cleanup(void)
{
    if (g_dir[0])
        rm_tree(g_dir);
    if (g_io)
        io_destroy(g_io);
}

void fk_init(void)
{
    if (g_dir[0])
        return;
    /* Corrupt inputs are refused with an error line each: keep only those. */
    lsm_log_set_level(LSM_LOG_ERROR);
    struct stat st;
    const char *base = getenv("FUZZ_TMPDIR");
    if (!base)
        base = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) ? "/dev/shm" : NULL;
    if (!base)
        base = getenv("TMPDIR");
    if (!base)
        base = "/tmp";
    snprintf(g_dir, sizeof g_dir, "%s/lsmfuzz-%d-XXXXXX", base, (int)getpid());
    FK_CHECK(mkdtemp(g_dir) != NULL, "mkdtemp %s: %s", g_dir, strerror(errno));
    FK_CHECK(io_posix_new(&g_io) == 0, "io_posix_new");
    atexit(cleanup);
}

const char *fk_dir(void)
{
    return g_dir;
}

const char *fk_path(const char *name)
{
    static char buf[512];
    snprintf(buf, sizeof buf, "%s/%s", g_dir, name);
    return buf;
}

lsm_io *fk_io(void)
{
    return g_io;
}

void fk_write_file(const char *path, const void *data, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    FK_CHECK(fd >= 0, "open %s: %s", path, strerror(errno));
    const char *p = data;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        FK_CHECK(w > 0, "write %s: %s", path, strerror(errno));
        p += w;
        n -= (size_t)w;
    }
    close(fd);
}

void fk_clear_dir(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        char sub[1024];
        snprintf(sub, sizeof sub, "%s/%s", path, de->d_name);
        if (de->d_type == DT_DIR) {
            rm_tree(sub);
        } else {
            FK_CHECK(unlink(sub) == 0 || errno == ENOENT, "unlink %s: %s", sub,
                     strerror(errno));
        }
    }
    closedir(d);
}

uint8_t fk_u8(fk_in *in)
{
    if (in->n == 0)
        return 0;
    in->n--;
    return *in->p++;
}

uint16_t fk_u16(fk_in *in)
{
    uint16_t lo = fk_u8(in);
    return (uint16_t)(lo | (uint16_t)fk_u8(in) << 8);
}

uint32_t fk_u32(fk_in *in)
{
    uint32_t lo = fk_u16(in);
    return lo | (uint32_t)fk_u16(in) << 16;
}

const uint8_t *fk_bytes(fk_in *in, size_t want, size_t *got)
{
    const uint8_t *p = in->p;
    *got = want < in->n ? want : in->n;
    in->p += *got;
    in->n -= *got;
    return p;
}

void fk_fix_wal_crcs(uint8_t *img, size_t n)
{
    size_t pos = 0;
    while (n - pos >= WAL_HEADER_SIZE) {
        char *h = (char *)img + pos;
        uint64_t len = get_fixed32(h + WAL_OFF_LENGTH);
        if (len > n - pos - WAL_HEADER_SIZE)
            break;
        uint32_t crc = crc32c(h + WAL_CRC_START, WAL_HEADER_SIZE - WAL_CRC_START + len);
        put_fixed32(h + WAL_OFF_CRC, crc32c_mask(crc));
        pos += WAL_HEADER_SIZE + len;
    }
}

/* Fixes one block's trailer when [offset, offset + size + trailer) is
 * inside end. */
static void fix_block(uint8_t *img, uint64_t end, sst_handle h)
{
    if (h.offset > end || h.size > end - h.offset ||
        end - h.offset - h.size < SST_BLOCK_TRAILER_SIZE)
        return;
    char *c = (char *)img + h.offset;
    uint8_t type = (uint8_t)c[h.size];
    put_fixed32(c + h.size + 1, sst_block_crc(slice_make(c, (size_t)h.size), type));
}

void fk_fix_sst_crcs(uint8_t *img, size_t n)
{
    if (n < SST_FOOTER_SIZE)
        return;
    uint64_t end = n - SST_FOOTER_SIZE;
    char *f = (char *)img + end;
    sst_handle index = { get_fixed64(f), get_fixed64(f + 8) };
    sst_handle filter = { get_fixed64(f + 16), get_fixed64(f + 24) };
    sst_handle props = { get_fixed64(f + 32), get_fixed64(f + 40) };
    /* Data blocks first: a fuzzed data handle may overlap a meta block,
     * whose trailer is then fixed last. */
    if (index.offset <= end && index.size <= end - index.offset && index.size <= UINT32_MAX) {
        block b;
        if (block_init(&b, slice_make(img + index.offset, (size_t)index.size)) == 0) {
            block_iter it;
            block_iter_init(&it, &b);
            int steps = 0;
            for (block_iter_first(&it); block_iter_valid(&it) && steps < 100000;
                 block_iter_next(&it), steps++) {
                sst_handle h;
                if (sst_handle_decode(block_iter_value(&it), &h) == 0)
                    fix_block(img, end, h);
            }
            block_iter_fini(&it);
        }
    }
    if (filter.size)
        fix_block(img, end, filter);
    fix_block(img, end, props);
    fix_block(img, end, index);
    put_fixed32(f + SST_FOOTER_CRC_OFF, sst_footer_crc(f));
}
