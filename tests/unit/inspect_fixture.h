/*
 * inspect_fixture.h — what test_inspect.c (the dumps and verify) and
 * test_repair.c share: a database left as a crash leaves it (three flushed
 * tables and a WAL that overwrites and deletes some of their keys, written
 * by a child that exits without closing), the expected value of every key,
 * real `lsmctl` runs, and ways to damage a file.
 *
 * Keys are "key%05d".  Table t (0..2) holds keys t*300 .. t*300+299 with
 * value "t<t>-<i>" padded to 200 bytes.  The WAL overwrites keys 0..49
 * ("wal-<i>"), deletes keys 300..349 and adds keys 900..949 ("wal-<i>").
 */
#ifndef LSM_TEST_INSPECT_FIXTURE_H
#define LSM_TEST_INSPECT_FIXTURE_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"
#include "lsm.h"

#define FX_TABLE_KEYS 300
#define FX_TABLES 3
#define FX_KEYS 1000

static inline void fx_key(char *buf, int i) { snprintf(buf, 16, "key%05d", i); }

/* Value as table t wrote it (NUL-terminated, 200 bytes). */
static inline void fx_table_value(char *buf, int t, int i)
{
    int n = snprintf(buf, 201, "t%d-%05d-", t, i);
    memset(buf + n, 'a' + i % 26, (size_t)(200 - n));
    buf[200] = '\0';
}

static inline bool fx_wal_overwrites(int i) { return i < 50; }
static inline bool fx_wal_deletes(int i) { return i >= 300 && i < 350; }
static inline bool fx_wal_adds(int i) { return i >= 900 && i < 950; }
#define FX_WAL_RECORDS 150

/* The WAL record (0..149) that writes key i, or -1.  Records run in key
 * order: 50 overwrites, 50 deletes, 50 adds. */
static inline int fx_wal_record(int i)
{
    if (fx_wal_overwrites(i))
        return i;
    if (fx_wal_deletes(i))
        return 50 + i - 300;
    if (fx_wal_adds(i))
        return 100 + i - 900;
    return -1;
}

/* Byte offset of WAL record j: 46 bytes a put ("key%05d", "wal-%05d"),
 * 37 a delete (20-byte header, 9-byte entry header, key, value). */
static inline long fx_wal_offset(int j)
{
    long off = 0;
    for (int r = 0; r < j; r++)
        off += r >= 50 && r < 100 ? 37 : 46;
    return off;
}

/* The value key i holds, or NULL (absent), when table `lost` (-1: none)
 * is gone and only the first wal_kept WAL records survive. */
static inline const char *fx_expected_after(int i, char *buf, int lost, int wal_kept)
{
    int j = fx_wal_record(i);
    if (j >= 0 && j < wal_kept) {
        if (fx_wal_deletes(i))
            return NULL;
        snprintf(buf, 201, "wal-%05d", i);
        return buf;
    }
    if (i >= FX_TABLES * FX_TABLE_KEYS || i / FX_TABLE_KEYS == lost)
        return NULL;
    fx_table_value(buf, i / FX_TABLE_KEYS, i);
    return buf;
}

/* The value key i holds in the intact database, or NULL (absent). */
static inline const char *fx_expected(int i, char *buf)
{
    return fx_expected_after(i, buf, -1, FX_WAL_RECORDS);
}

/* Writes the database described above into dir and "crashes" (_exit with
 * the engine open: the WAL stays, as after kill -9). */
static inline void fx_make_db(const char *dir)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        lsm_options o;
        lsm_options_init(&o);
        lsm_db *db;
        if (lsm_open(dir, &o, &db))
            _exit(10);
        char k[16], v[201];
        for (int t = 0; t < FX_TABLES; t++) {
            for (int i = t * FX_TABLE_KEYS; i < (t + 1) * FX_TABLE_KEYS; i++) {
                fx_key(k, i);
                fx_table_value(v, t, i);
                if (lsm_put(db, k, strlen(k), v, strlen(v), 0))
                    _exit(11);
            }
            if (lsm_flush(db))
                _exit(12);
        }
        for (int i = 0; i < FX_KEYS; i++) {
            fx_key(k, i);
            int rc = 0;
            if (fx_wal_overwrites(i) || fx_wal_adds(i)) {
                snprintf(v, sizeof v, "wal-%05d", i);
                rc = lsm_put(db, k, strlen(k), v, strlen(v), 0);
            } else if (fx_wal_deletes(i)) {
                rc = lsm_delete(db, k, strlen(k), 0);
            }
            if (rc)
                _exit(13);
        }
        _exit(0); /* no lsm_close: the WAL holds the last writes */
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* cmocka setup: *state = a fresh directory holding the database above. */
static inline int fx_setup(void **state)
{
    char *dir = th_tempdir("inspect");
    fx_make_db(dir);
    *state = dir;
    return 0;
}

static inline int fx_teardown(void **state)
{
    th_rmrf_free(*state);
    return 0;
}

/* Paths (malloc'd, sorted) of dir's files ending in suffix; returns n. */
static inline int fx_files(const char *dir, const char *suffix, char **out, int cap)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    size_t sl = strlen(suffix);
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        if (l > sl && strcmp(e->d_name + l - sl, suffix) == 0 && n < cap) {
            out[n] = malloc(strlen(dir) + l + 2);
            sprintf(out[n++], "%s/%s", dir, e->d_name);
        }
    }
    closedir(d);
    for (int i = 0; i < n; i++) /* sort: file numbers are zero-padded */
        for (int j = i + 1; j < n; j++)
            if (strcmp(out[j], out[i]) < 0) {
                char *t = out[i];
                out[i] = out[j];
                out[j] = t;
            }
    return n;
}

static inline void fx_free_files(char **f, int n)
{
    for (int i = 0; i < n; i++)
        free(f[i]);
}

static inline long fx_size(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return (long)st.st_size;
}

/* XORs the byte at off with 0xff. */
static inline void fx_flip(const char *path, long off)
{
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    unsigned char c;
    assert_int_equal(pread(fd, &c, 1, off), 1);
    c ^= 0xff;
    assert_int_equal(pwrite(fd, &c, 1, off), 1);
    close(fd);
}

static inline void fx_truncate(const char *path, long size)
{
    assert_int_equal(truncate(path, size), 0);
}

static inline void fx_write(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Runs `lsmctl ARGS...` (NULL-terminated) as a child process with stdout
 * and stderr into out (cap bytes, NUL-terminated); returns its exit
 * status. */
static inline int fx_lsmctl(char *out, size_t cap, ...)
{
    const char *argv[16] = { LSMCTL_BIN };
    int argc = 1;
    va_list ap;
    va_start(ap, cap);
    const char *a;
    while ((a = va_arg(ap, const char *)) != NULL && argc < 15)
        argv[argc++] = a;
    va_end(ap);
    argv[argc] = NULL;
    int pfd[2];
    assert_int_equal(pipe(pfd), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(pfd[1], 1);
        dup2(pfd[1], 2);
        close(pfd[0]);
        close(pfd[1]);
        execv(LSMCTL_BIN, (char *const *)argv);
        _exit(98);
    }
    close(pfd[1]);
    size_t used = 0;
    ssize_t r;
    char sink[4096];
    while ((r = read(pfd[0], used + 1 < cap ? out + used : sink,
                     used + 1 < cap ? cap - 1 - used : sizeof sink)) > 0)
        if (used + 1 < cap)
            used += (size_t)r;
    out[used] = '\0';
    close(pfd[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

/* Opens dir and checks every key 0..FX_KEYS-1 against
 * fx_expected_after(lost, wal_kept). */
static inline void fx_check_db(const char *dir, int lost, int wal_kept)
{
    lsm_options o;
    lsm_options_init(&o);
    o.create_if_missing = 0;
    lsm_db *db;
    assert_int_equal(lsm_open(dir, &o, &db), 0);
    for (int i = 0; i < FX_KEYS; i++) {
        char k[16], buf[201];
        fx_key(k, i);
        const char *want = fx_expected_after(i, buf, lost, wal_kept);
        void *v = NULL;
        size_t vl = 0;
        int rc = lsm_get(db, NULL, k, strlen(k), &v, &vl);
        if (!want) {
            if (rc != LSM_ENOTFOUND)
                fail_msg("key %d: expected absent, got rc %d", i, rc);
        } else {
            if (rc != 0)
                fail_msg("key %d: expected a value, got rc %d", i, rc);
            assert_int_equal(vl, strlen(want));
            assert_memory_equal(v, want, vl);
        }
        lsm_free(v);
    }
    assert_int_equal(lsm_close(db), 0);
}

/* `cmd` (verify or repair) and fn refuse dir while an engine has it open:
 * -EBUSY, and lsmctl exits 1 saying so. */
static inline void fx_assert_refused_while_open(const char *dir, const char *cmd,
                                                int (*fn)(const char *))
{
    lsm_options o;
    lsm_options_init(&o);
    lsm_db *db;
    assert_int_equal(lsm_open(dir, &o, &db), 0);
    assert_int_equal(fn(dir), -EBUSY);
    static char out[4096];
    assert_int_equal(fx_lsmctl(out, sizeof out, cmd, dir, NULL), 1);
    assert_non_null(strstr(out, "the database is open"));
    assert_int_equal(lsm_close(db), 0);
}

#endif
