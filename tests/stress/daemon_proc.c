/* daemon_proc.c — see daemon_proc.h. */
#include "daemon_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lsmd.h"

double dp_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_s(double s)
{
    struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };
    nanosleep(&ts, NULL);
}

/* ---- settings ------------------------------------------------------------- */

void dp_settings_random(dp_settings *s, uint64_t r1, uint64_t r2)
{
    s->compaction = (r1 & 1) ? "tiered" : "leveled";
    s->io = (r1 >> 1 & 1) ? "posix" : "uring";
    s->workers = 1 + (int)((r1 >> 2) % 3);
    /* 64 KiB .. 4 MiB, about log-uniform: small ones flush every few ms. */
    uint64_t mt = 64ull << 10 << ((r1 >> 4) % 7);
    mt += (r1 >> 8) % mt;
    s->memtable_bytes = mt > (4ull << 20) ? 4ull << 20 : mt;
    s->bloom_bits = (int)((r1 >> 32) % 17);
    s->block_bytes = (r2 & 7) == 0 ? 256 : 1024ull << ((r2 >> 3) % 4);
    s->sstable_target_bytes = 32ull << 10 << ((r2 >> 5) % 6);
    s->level_base_bytes = 256ull << 10 << ((r2 >> 8) % 4);
    s->l0_trigger = 2 + (int)((r2 >> 12) % 5);
    s->max_imm = 1 + (int)((r2 >> 16) % 3);
    s->tiered_min_merge = 2 + (int)((r2 >> 20) % 3);
}

static const char *size_str(char *buf, size_t cap, uint64_t v)
{
    if (v % (1u << 20) == 0)
        snprintf(buf, cap, "%lluM", (unsigned long long)(v >> 20));
    else if (v % 1024 == 0)
        snprintf(buf, cap, "%lluK", (unsigned long long)(v >> 10));
    else
        snprintf(buf, cap, "%llu", (unsigned long long)v);
    return buf;
}

void dp_settings_str(const dp_settings *s, char *buf, size_t cap)
{
    char mt[24], bb[24], st[24], lb[24];
    snprintf(buf, cap, "%s mt=%s bloom=%d io=%s w=%d blk=%s sst=%s l1=%s l0trig=%d imm=%d tmin=%d",
             s->compaction, size_str(mt, sizeof mt, s->memtable_bytes), s->bloom_bits, s->io,
             s->workers, size_str(bb, sizeof bb, s->block_bytes),
             size_str(st, sizeof st, s->sstable_target_bytes),
             size_str(lb, sizeof lb, s->level_base_bytes), s->l0_trigger, s->max_imm,
             s->tiered_min_merge);
}

void dp_arm_str(const dp_arm *a, char *buf, size_t cap)
{
    switch (a->mode) {
    case DP_ARM_POINT:
        snprintf(buf, cap, "LSMD_KILLPOINT=%s:%llu", a->point, (unsigned long long)a->n);
        break;
    case DP_ARM_RANDOM:
        snprintf(buf, cap, "LSMD_KILLPOINT_RANDOM=%u LSMD_KILLPOINT_SEED=%llu", a->permille,
                 (unsigned long long)a->seed);
        break;
    default:
        snprintf(buf, cap, "unarmed");
    }
}

void dp_exit_str(const dp_exit *e, char *buf, size_t cap)
{
    if (WIFEXITED(e->status))
        snprintf(buf, cap, "exit %d", WEXITSTATUS(e->status));
    else if (WIFSIGNALED(e->status) && e->killpoint)
        snprintf(buf, cap, "%s at %s", strsignal(WTERMSIG(e->status)), e->point);
    else if (WIFSIGNALED(e->status))
        snprintf(buf, cap, "%s", strsignal(WTERMSIG(e->status)));
    else
        snprintf(buf, cap, "status %#x", e->status);
}

/* ---- paths ---------------------------------------------------------------- */

static char *join(const char *a, const char *b)
{
    char *p;
    return asprintf(&p, "%s/%s", a, b) < 0 ? NULL : p;
}

int dp_init(dp_daemon *d, const char *bin, const char *root)
{
    memset(d, 0, sizeof *d);
    d->bin = bin;
    d->root = strdup(root);
    d->db = join(root, "db");
    d->sock = join(root, "lsmd.sock");
    d->conf = join(root, "lsmd.conf");
    d->log = join(root, "lsmd.log");
    d->kplog = join(root, "killpoints.log");
    if (!d->root || !d->db || !d->sock || !d->conf || !d->log || !d->kplog) {
        dp_free(d);
        return -ENOMEM;
    }
    return 0;
}

void dp_free(dp_daemon *d)
{
    free(d->root);
    free(d->db);
    free(d->sock);
    free(d->conf);
    free(d->log);
    free(d->kplog);
    memset(d, 0, sizeof *d);
}

static int write_conf(const dp_daemon *d, const dp_settings *s)
{
    FILE *f = fopen(d->conf, "w");
    if (!f)
        return -errno;
    fprintf(f,
            "# written by the stress driver for start #%u\n"
            "[lsmd]\n"
            "workers = %d\nio = %s\ncompaction = %s\n"
            "memtable_bytes = %llu\nbloom_bits_per_key = %d\nblock_bytes = %llu\n"
            "sstable_target_bytes = %llu\nmax_immutable_memtables = %d\n"
            "l0_compaction_trigger = %d\ntiered_min_merge = %d\n"
            "[engine]\nlevel_base_bytes = %llu\n",
            d->starts, s->workers, s->io, s->compaction,
            (unsigned long long)s->memtable_bytes, s->bloom_bits,
            (unsigned long long)s->block_bytes, (unsigned long long)s->sstable_target_bytes,
            s->max_imm, s->l0_trigger, s->tiered_min_merge,
            (unsigned long long)s->level_base_bytes);
    return fclose(f) == 0 ? 0 : -errno;
}

/* ---- exits ---------------------------------------------------------------- */

/* Reads the kill-point lines written since the last look; one naming pid
 * means the daemon killed itself there. */
static void read_kplog(dp_daemon *d, pid_t pid, dp_exit *ex)
{
    FILE *f = fopen(d->kplog, "r");
    if (!f)
        return;
    if (fseek(f, d->kplog_seen, SEEK_SET) == 0) {
        char name[64];
        int p;
        while (fscanf(f, "%63s %d", name, &p) == 2) {
            if (p == (int)pid) {
                ex->killpoint = true;
                snprintf(ex->point, sizeof ex->point, "%s", name);
            }
        }
        d->kplog_seen = ftell(f);
    }
    fclose(f);
}

static void reaped(dp_daemon *d, int status, dp_exit *ex)
{
    memset(ex, 0, sizeof *ex);
    ex->status = status;
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        read_kplog(d, d->pid, ex);
    else
        read_kplog(d, -1, ex); /* skip whatever is there */
    d->pid = 0;
}

bool dp_exited(dp_daemon *d, dp_exit *ex)
{
    if (d->pid == 0)
        return true;
    int status;
    if (waitpid(d->pid, &status, WNOHANG) != d->pid)
        return false;
    reaped(d, status, ex);
    return true;
}

void dp_kill(dp_daemon *d, dp_exit *ex)
{
    if (d->pid == 0)
        return;
    kill(d->pid, SIGKILL);
    int status = 0;
    while (waitpid(d->pid, &status, 0) < 0 && errno == EINTR)
        ;
    reaped(d, status, ex);
}

int dp_stop(dp_daemon *d, double timeout_s, dp_exit *ex)
{
    if (d->pid == 0)
        return -1;
    kill(d->pid, SIGTERM);
    double deadline = dp_now() + timeout_s;
    while (!dp_exited(d, ex)) {
        if (dp_now() > deadline) {
            dp_kill(d, ex);
            return -1;
        }
        sleep_s(0.005);
    }
    return WIFEXITED(ex->status) && WEXITSTATUS(ex->status) == 0 ? 0 : -1;
}

/* ---- start ---------------------------------------------------------------- */

static _Noreturn void exec_child(const dp_daemon *d, const dp_settings *s, const dp_arm *a)
{
    int fd = open(d->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd >= 0) {
        char set[256], arm[128];
        dp_settings_str(s, set, sizeof set);
        dp_arm_str(a, arm, sizeof arm);
        dprintf(fd, "==== stress start #%u pid %d: %s; %s\n", d->starts, (int)getpid(), set, arm);
        dup2(fd, 1);
        dup2(fd, 2);
    }
    unsetenv("LSMD_KILLPOINT");
    unsetenv("LSMD_KILLPOINT_RANDOM");
    unsetenv("LSMD_KILLPOINT_SEED");
    setenv("LSMD_KILLPOINT_LOG", d->kplog, 1);
    setenv("LSMD_LOG_LEVEL", getenv("LSMD_LOG_LEVEL") ? getenv("LSMD_LOG_LEVEL") : "warn", 1);
    char buf[128];
    if (a->mode == DP_ARM_POINT) {
        snprintf(buf, sizeof buf, "%s:%llu", a->point, (unsigned long long)a->n);
        setenv("LSMD_KILLPOINT", buf, 1);
    } else if (a->mode == DP_ARM_RANDOM) {
        snprintf(buf, sizeof buf, "%u", a->permille);
        setenv("LSMD_KILLPOINT_RANDOM", buf, 1);
        snprintf(buf, sizeof buf, "%llu", (unsigned long long)a->seed);
        setenv("LSMD_KILLPOINT_SEED", buf, 1);
    }
    const char *argv[] = { d->bin, "--config", d->conf, "--dir", d->db, "--socket", d->sock, NULL };
    execv(d->bin, (char *const *)argv);
    dprintf(2, "stress: exec %s: %s\n", d->bin, strerror(errno));
    _exit(127);
}

int dp_spawn(dp_daemon *d, const dp_settings *s, const dp_arm *a)
{
    if (d->pid != 0)
        return -EBUSY;
    d->starts++;
    int rc = write_conf(d, s);
    if (rc)
        return rc;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return -errno;
    if (pid == 0)
        exec_child(d, s, a);
    d->pid = pid;
    return 0;
}

int dp_start(dp_daemon *d, const dp_settings *s, const dp_arm *a, double timeout_s, dp_exit *ex)
{
    int rc = dp_spawn(d, s, a);
    return rc ? rc : dp_wait_ready(d, timeout_s, ex);
}

int dp_wait_ready(dp_daemon *d, double timeout_s, dp_exit *ex)
{
    lsmd_conn_options co;
    lsmd_conn_options_init(&co);
    co.connect_timeout_ms = 2000;
    double deadline = dp_now() + timeout_s;
    for (;;) {
        if (dp_exited(d, ex))
            return DP_DIED;
        lsmd_conn *c;
        if (lsmd_connect_opts(d->sock, &co, &c) == 0) {
            int prc = lsmd_ping(c);
            lsmd_disconnect(c);
            if (prc == 0)
                return DP_STARTED;
        }
        if (dp_now() > deadline) {
            dp_kill(d, ex);
            return -ETIMEDOUT;
        }
        sleep_s(0.005);
    }
}

void dp_dump_log(const dp_daemon *d, FILE *f, int lines)
{
    FILE *in = fopen(d->log, "r");
    if (!in)
        return;
    enum { MAXL = 200 };
    if (lines > MAXL)
        lines = MAXL;
    char *ring[MAXL] = { 0 };
    size_t cap[MAXL] = { 0 };
    long n = 0;
    while (getline(&ring[n % lines], &cap[n % lines], in) > 0)
        n++;
    fclose(in);
    fprintf(f, "---- tail of %s ----\n", d->log);
    for (long i = n > lines ? n - lines : 0; i < n; i++)
        fputs(ring[i % lines], f);
    fprintf(f, "---- end of %s ----\n", d->log);
    for (int i = 0; i < lines; i++)
        free(ring[i]);
}
