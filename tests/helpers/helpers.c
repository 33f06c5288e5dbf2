/* helpers.c — see helpers.h. */
#include "helpers.h"

#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

char *th_tempdir(const char *tag)
{
    const char *base = getenv("TMPDIR");
    char *path = NULL;
    if (asprintf(&path, "%s/lsmtest-%s-XXXXXX", base ? base : "/tmp", tag) < 0)
        fail_msg("asprintf");
    if (!mkdtemp(path))
        fail_msg("mkdtemp %s", path);
    return path;
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb; (void)flag; (void)ftw;
    remove(p);
    return 0;
}

void th_rmrf_free(char *path)
{
    if (!path)
        return;
    nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(path);
}

uint64_t th_seed(void)
{
    const char *s = getenv("LSM_TEST_SEED");
    uint64_t seed = s ? strtoull(s, NULL, 0)
                      : (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20);
    fprintf(stderr, "seed: LSM_TEST_SEED=%llu\n", (unsigned long long)seed);
    return seed;
}

long th_env_long(const char *name, long def)
{
    const char *s = getenv(name);
    return s && *s ? strtol(s, NULL, 0) : def;
}

unsigned long long th_json_u64(const char *json, const char *anchor, const char *pattern)
{
    const char *at = strstr(json, anchor);
    if (!at)
        fail_msg("no %s in %s", anchor, json);
    const char *v = strstr(at, pattern);
    if (!v)
        fail_msg("no %s after %s in %s", pattern, anchor, json);
    return strtoull(v + strlen(pattern), NULL, 10);
}

int th_guest_skip(const char *name, const char *script)
{
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    (void)script;
    printf("%s: skipped: a sanitizer build (the guest runs in the plain pass)\n", name);
    return TEST_SKIP;
#else
    (void)name;
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "sh '%s' check", script);
    int st = system(cmd);
    return WIFEXITED(st) && WEXITSTATUS(st) == TEST_SKIP ? TEST_SKIP : 0;
#endif
}

int th_open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    assert_non_null(d);
    int n = 0;
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

size_t th_cached_pages(const char *path, size_t *pages)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0)
        fail_msg("th_cached_pages %s: cannot open", path);
    size_t len = (size_t)st.st_size, pg = (size_t)sysconf(_SC_PAGESIZE);
    size_t n = (len + pg - 1) / pg, cached = 0;
    if (n) {
        void *p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
        unsigned char *vec = malloc(n);
        if (p == MAP_FAILED || !vec || mincore(p, len, vec) != 0)
            fail_msg("th_cached_pages %s: mmap/mincore failed", path);
        for (size_t i = 0; i < n; i++)
            cached += vec[i] & 1;
        free(vec);
        munmap(p, len);
    }
    close(fd);
    if (pages)
        *pages = n;
    return cached;
}

char *th_read_source(const char *src_file, const char *rel)
{
    const char *t = strstr(src_file, "tests/");
    char *path;
    if (asprintf(&path, "%.*s%s", t ? (int)(t - src_file) : 0, src_file, rel) < 0)
        fail_msg("asprintf");
    FILE *f = fopen(path, "r");
    if (!f)
        fail_msg("cannot open %s (tests run from the source tree's root)", path);
    char *buf = NULL;
    size_t len = 0, cap = 0, n;
    do {
        if (len + 4096 + 1 > cap) {
            cap = (cap + 4096) * 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
        n = fread(buf + len, 1, 4096, f);
        len += n;
    } while (n > 0);
    fclose(f);
    buf[len] = '\0';
    free(path);
    return buf;
}
