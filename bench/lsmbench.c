/*
 * lsmbench.c — fio-style benchmark of the embedded engine, the lsmd daemon
 * and RocksDB.  Usage and workloads: bench_config.h, workload.h,
 * docs/benchmarking.md.
 *
 * Order of work: for each target (several --target flags run the whole
 * plan once per target), for each job, for each workload of its
 * --benchmarks list: run it (runner.h), report it, draw its pictures.
 * Consecutive jobs on the same target share one open database, as
 * db_bench's --benchmarks list does; a target's database is emptied when
 * first opened unless --use-existing, and its settings are those of the
 * job that opens it.  When a target is closed its end-of-run figures are
 * printed; with several targets a comparison table ends the text output.
 *
 * Exit status: 0, 1 if any job failed, 2 for a usage error.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "bench_config.h"
#include "bench_worker.h"
#include "cold.h"
#include "event_log.h"
#include "base/log.h"
#include "report.h"
#include "runner.h"
#include "svg_latency.h"
#include "target.h"
#include "viz/svg_schedule.h"
#include "workload.h"

typedef struct app {
    bench_plan plan;
    bool text;
    bool progress;
    job_report *jobs;
    size_t njobs, capjobs;
    target_report *targets;
    size_t ntargets;
    /* The open target. */
    target *t;
    char spec[BENCH_PATH_MAX];
    event_log events;
    char (*opened)[BENCH_PATH_MAX]; /* specs opened so far (emptied once) */
    size_t nopened;
    int failures;
    bool cold_ready;                /* cold_prepare done on the open target */
} app;

static void on_signal(int sig)
{
    (void)sig;
    runner_interrupted = 1;
}

static void close_target(app *a)
{
    if (!a->t)
        return;
    target_report *nt = realloc(a->targets, (a->ntargets + 1) * sizeof *nt);
    if (nt) {
        a->targets = nt;
        target_report *r = &a->targets[a->ntargets++];
        memset(r, 0, sizeof *r);
        snprintf(r->target, sizeof r->target, "%s", a->spec);
        r->rc = a->t->ops->summary ? a->t->ops->summary(a->t, &r->s) : -ENOTSUP;
        if (a->text)
            report_target_text(stdout, r);
    }
    a->t->ops->close(a->t);
    a->t = NULL;
    a->cold_ready = false;
    a->spec[0] = 0;
    event_log_free(&a->events);
}

/* mode: OPEN_FRESH / OPEN_EXISTING, or -1 for the usual choice (fresh the
 * first time a spec is opened, unless --use-existing). */
static int open_target_mode(app *a, const bench_config *cfg, int force)
{
    if (a->t && strcmp(a->spec, cfg->target) == 0)
        return 0;
    close_target(a);
    char err[256];
    const char *arg;
    const target_ops *ops = target_lookup(cfg->target, &arg, err, sizeof err);
    if (!ops) {
        fprintf(stderr, "lsmbench: %s\n", err);
        return -EINVAL;
    }
    bool before = false;
    for (size_t i = 0; i < a->nopened; i++)
        before |= strcmp(a->opened[i], cfg->target) == 0;
    int mode = force >= 0 ? force : cfg->use_existing || before ? OPEN_EXISTING : OPEN_FRESH;
    int rc = ops->open(arg, cfg, mode, &a->t);
    if (rc) {
        a->t = NULL;
        return rc;
    }
    if (!before) {
        void *no = realloc(a->opened, (a->nopened + 1) * sizeof *a->opened);
        if (no) {
            a->opened = no;
            snprintf(a->opened[a->nopened++], BENCH_PATH_MAX, "%s", cfg->target);
        }
    }
    snprintf(a->spec, sizeof a->spec, "%s", cfg->target);
    event_log_init(&a->events);
    return 0;
}

static int open_target(app *a, const bench_config *cfg)
{
    return open_target_mode(a, cfg, -1);
}

/* A file name part: letters, digits, '-', '_' and '.' kept, others '_'. */
static void sanitize(char *dst, size_t cap, const char *src)
{
    size_t n = 0;
    for (; *src && n + 1 < cap; src++) {
        char c = *src;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_' || c == '.';
        dst[n++] = ok ? c : '_';
    }
    dst[n] = 0;
}

/* Writes one picture: the schedule of events when ev is set, else the
 * latency chart of o.  Returns 0, or -1 after saying what failed. */
static int write_svg(const char *path, const char *ev, const run_output *o,
                     const svg_latency_opts *lo, const svg_schedule_opts *so)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "lsmbench: %s: %s\n", path, strerror(errno));
        return -1;
    }
    int rc = ev ? svg_compaction_schedule_ex(ev, f, so) : svg_latency_chart(o->pts, o->npts, f, lo);
    if (fclose(f) != 0 && !rc)
        rc = -errno;
    if (rc)
        fprintf(stderr, "lsmbench: writing %s failed: %s\n", path, target_strerror(rc));
    return rc ? -1 : 0;
}

static void write_pictures(app *a, job_report *j, const run_output *o)
{
    const char *dir = a->plan.g.svg_dir;
    if (!dir[0])
        return;
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "lsmbench: mkdir %s: %s\n", dir, strerror(errno));
        return;
    }
    char job[64], scheme[32];
    sanitize(job, sizeof job, j->job);
    snprintf(scheme, sizeof scheme, "%.*s", (int)strcspn(j->target, ":"), j->target);
    /* DIR/NN-[JOB-]WORKLOAD-SCHEME-{latency,compactions}.svg */
    char base[BENCH_PATH_MAX];
    int n = !job[0] || strcmp(job, j->workload) == 0
                ? snprintf(base, sizeof base, "%s/%02zu-%s-%s", dir, a->njobs, j->workload, scheme)
                : snprintf(base, sizeof base, "%s/%02zu-%s-%s-%s", dir, a->njobs, job,
                           j->workload, scheme);
    if (n < 0 || (size_t)n + 20 >= sizeof j->svg_latency) {
        fprintf(stderr, "lsmbench: --svg-dir %s: path too long\n", dir);
        return;
    }

    char title[BENCH_PATH_MAX + 64], sub[256];
    if (snprintf(title, sizeof title, "%s on %s: latency over time", j->workload, j->target) < 0)
        title[0] = 0;
    static const double ps[] = { 50, 99 };
    uint64_t v[2];
    histogram_percentiles(&j->all, ps, 2, v);
    snprintf(sub, sizeof sub,
             "%d client(s) x %d thread(s), iodepth %d; %.0f ops/s overall, p50 %.1f us, "
             "p99 %.1f us",
             j->clients, j->threads, j->iodepth, report_ops_per_sec(j), (double)v[0] / 1e3,
             (double)v[1] / 1e3);
    memcpy(j->svg_latency, base, (size_t)n);
    memcpy(j->svg_latency + n, "-latency.svg", sizeof "-latency.svg");
    svg_latency_opts lo = { .title = title, .subtitle = sub };
    if (write_svg(j->svg_latency, NULL, o, &lo, NULL) != 0)
        j->svg_latency[0] = 0;
    if (!a->t->ops->has_events)
        return;
    char *ev = event_log_window_json(&a->events, o->wall_start_us, o->wall_end_us);
    if (!ev)
        return;
    memcpy(j->svg_schedule, base, (size_t)n);
    memcpy(j->svg_schedule + n, "-compactions.svg", sizeof "-compactions.svg");
    if (snprintf(title, sizeof title, "%s on %s: flush / compaction schedule", j->workload,
                 j->target) < 0)
        title[0] = 0;
    svg_schedule_opts so = { .title = title, .from_us = o->wall_start_us,
                             .to_us = o->wall_end_us };
    if (write_svg(j->svg_schedule, ev, NULL, NULL, &so) != 0)
        j->svg_schedule[0] = 0;
    free(ev);
}

static uint64_t wall_now_us(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (uint64_t)tv.tv_sec * 1000000u + (uint64_t)tv.tv_usec;
}

/* The compact workload: one timed call, reported as one write operation
 * whose bytes are the table bytes the compaction wrote. */
static int run_compact(app *a, run_output *o, uint64_t *written, uint64_t *read)
{
    memset(o, 0, sizeof *o);
    o->res = result_new();
    if (!o->res)
        return -ENOMEM;
    o->wall_start_us = wall_now_us();
    uint64_t t0 = bench_now_ns();
    int rc = a->t->ops->compact_all(a->t, written, read);
    uint64_t t1 = bench_now_ns();
    o->wall_end_us = wall_now_us();
    o->seconds = (double)(t1 - t0) / 1e9;
    o->res->c.start_ns = t0;
    o->res->c.end_ns = t1;
    if (rc) {
        o->error = rc;
        o->res->c.errors = 1;
        return rc;
    }
    histogram_record(&o->res->h[CLASS_WRITE], t1 - t0);
    o->res->c.ops[CLASS_WRITE] = 1;
    o->res->c.bytes[CLASS_WRITE] = *written;
    return 0;
}

/* Runs workload wl of job cfg on the open target and reports it. */
static int run_workload(app *a, const bench_config *cfg, const workload *wl, uint64_t salt)
{
    int rc;
    if (cfg->cold && (rc = cold_drop_caches()) != 0) {
        fprintf(stderr, "lsmbench: --cold: dropping the page cache failed: %s\n",
                target_strerror(rc));
        a->failures++;
        return rc;
    }
    const char *arg = strchr(cfg->target, ':') + 1;
    char label[128];
    snprintf(label, sizeof label, "%s on %.*s", wl->name, (int)strcspn(cfg->target, ":"),
             cfg->target);
    run_output o;
    uint64_t written = 0, read = 0;
    if (wl->kind == WL_COMPACT) {
        rc = run_compact(a, &o, &written, &read);
    } else {
        runner_args ra = { .cfg = cfg, .wl = wl, .target_arg = arg, .t = a->t,
                           .progress = a->progress, .label = label, .events = &a->events,
                           .seed_salt = salt };
        rc = runner_run(&ra, &o);
    }
    if (a->njobs == a->capjobs) {
        size_t cap = a->capjobs ? a->capjobs * 2 : 16;
        job_report *nj = realloc(a->jobs, cap * sizeof *nj);
        if (!nj) {
            run_output_free(&o);
            return -ENOMEM;
        }
        a->jobs = nj;
        a->capjobs = cap;
    }
    job_report *j = &a->jobs[a->njobs];
    report_fill(j, cfg, wl->name, cfg->target, &o);
    if (!a->t->ops->submit_get)
        j->iodepth = 1; /* what ran: this target has no queue */
    if (wl->kind == WL_COMPACT) {
        j->compacted = rc == 0;
        j->compact_written = written;
        j->compact_read = read;
    }
    if (rc && !j->error)
        j->error = rc;
    if (wl->kind != WL_COMPACT)
        write_pictures(a, j, &o);
    a->njobs++;
    if (a->text)
        report_job_text(stdout, j);
    fflush(stdout);
    run_output_free(&o);
    if (rc) {
        fprintf(stderr, "lsmbench: %s on %s: %s\n", wl->name, cfg->target, target_strerror(rc));
        a->failures++;
    }
    return rc;
}

/* Table bytes of the open target, from its summary (0 when unknown). */
static uint64_t table_bytes(app *a)
{
    db_summary s;
    memset(&s, 0, sizeof s);
    if (!a->t->ops->summary || a->t->ops->summary(a->t, &s) != 0)
        return 0;
    return s.table_bytes;
}

/* Closes the open target (if any) and opens cfg's database as it is. */
static int reopen_existing(app *a, const bench_config *cfg)
{
    close_target(a);
    return open_target_mode(a, cfg, OPEN_EXISTING);
}

/* --cold, before the job's first workload: reuse the stamped database or
 * build it with fillseq, then enter the memory cgroup (cold.h). */
static int cold_prepare(app *a, const bench_config *cfg, uint64_t salt)
{
    if (a->t && strcmp(a->spec, cfg->target) == 0 && a->cold_ready)
        return 0; /* an earlier --cold job on this target did it */
    uint64_t need = COLD_RATIO * cfg->cold_memory;
    bool reuse = cold_stamp_matches(cfg);
    const char *how = "reused";
    int rc;
    if (reuse) {
        if ((rc = reopen_existing(a, cfg)) != 0)
            return rc;
        if (table_bytes(a) < need) {
            fprintf(stderr, "lsmbench: --cold: the stamped database holds %llu MiB of tables, "
                            "less than %d x cold-memory: building it again\n",
                    (unsigned long long)(table_bytes(a) >> 20), COLD_RATIO);
            reuse = false;
        }
    }
    if (!reuse) {
        how = "built by fillseq";
        close_target(a);
        if ((rc = cold_stamp_remove(cfg)) != 0 || (rc = open_target_mode(a, cfg, OPEN_FRESH)))
            return rc;
        bench_config fill = *cfg;
        fill.cold = false; /* the build runs with the page cache */
        fill.duration = 0;
        /* salt + 999: the job's own workloads draw the same keys whether
         * the database was built now or reused. */
        if ((rc = run_workload(a, &fill, workload_find("fillseq"), salt + 999)) != 0)
            return rc;
        /* Reopen, so every key is in a table and the reads start from
         * what a restarted engine has. */
        if ((rc = reopen_existing(a, cfg)) != 0)
            return rc;
        if (table_bytes(a) < need) {
            fprintf(stderr, "lsmbench: --cold: the database holds only %llu MiB of tables, less "
                            "than %d x cold-memory (%llu MiB): raise --num or --value-size\n",
                    (unsigned long long)(table_bytes(a) >> 20), COLD_RATIO,
                    (unsigned long long)(need >> 20));
            return -EINVAL;
        }
        if ((rc = cold_stamp_write(cfg)) != 0)
            fprintf(stderr, "lsmbench: --cold: writing the stamp: %s (the next run builds "
                            "again)\n", target_strerror(rc));
    }
    bool direct = bench_direct_io(cfg);
    if (!direct && (rc = cold_cgroup_enter(cfg->cold_memory)) != 0)
        return rc;
    a->cold_ready = true;
    if (!a->text)
        return 0;
    printf("cold: %s, %llu keys x (%u + %u) bytes, %llu MiB of tables (%s); ", cfg->target,
           (unsigned long long)cfg->num, cfg->key_size, cfg->value_size,
           (unsigned long long)(table_bytes(a) >> 20), how);
    if (direct)
        printf("engine with direct I/O: its block cache (%llu MiB) is the only cache, "
               "memtables + cache + 64 MiB within %llu MiB; ",
               (unsigned long long)(cfg->cache_bytes >> 20),
               (unsigned long long)(cfg->cold_memory >> 20));
    else
        printf("engine buffered, in memory cgroup %s limited to %llu MiB (page cache "
               "included); ",
               cold_cgroup_dir(), (unsigned long long)(cfg->cold_memory >> 20));
    printf("page cache dropped before each workload\n");
    return 0;
}

static int run_job(app *a, const bench_config *cfg)
{
    /* The same job and workload draw the same keys on every target. */
    uint64_t salt = (uint64_t)(cfg - a->plan.jobs) * 1000 + 1;
    int rc = cfg->cold ? cold_prepare(a, cfg, salt) : 0;
    if (rc == 0)
        rc = open_target(a, cfg);
    if (rc) {
        a->failures++;
        return rc;
    }
    char list[sizeof cfg->benchmarks];
    snprintf(list, sizeof list, "%s", cfg->benchmarks);
    for (char *save, *w = strtok_r(list, ",", &save); w && !runner_interrupted;
         w = strtok_r(NULL, ",", &save)) {
        rc = run_workload(a, cfg, workload_find(w), salt++);
        if (rc)
            return rc;
    }
    return 0;
}

/* Refuses what cannot run before anything runs. */
static int precheck(const bench_config *cfg, bool *noted)
{
    char err[256];
    const char *arg;
    const target_ops *ops = target_lookup(cfg->target, &arg, err, sizeof err);
    if (!ops) {
        fprintf(stderr, "lsmbench: %s\n", err);
        return -EINVAL;
    }
    const char *job = cfg->name[0] ? cfg->name : "(command line)";
    if (!ops->multiprocess && cfg->clients > 1) {
        fprintf(stderr, "lsmbench: job %s: --clients %d needs a shared database: the %s target "
                        "is one process (use --threads, or --target lsmd:SOCKET)\n",
                job, cfg->clients, ops->scheme);
        return -EINVAL;
    }
    char list[sizeof cfg->benchmarks];
    snprintf(list, sizeof list, "%s", cfg->benchmarks);
    for (char *save, *w = strtok_r(list, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
        const workload *wl = workload_find(w);
        if (wl->kind == WL_MULTIREAD && !ops->multi_get) {
            fprintf(stderr, "lsmbench: job %s: multireadrandom needs a multi-get: the %s target "
                            "has none: run it on embedded, lsmd, rocksdb or lmdb\n",
                    job, ops->scheme);
            return -EINVAL;
        }
        if (wl->kind == WL_COMPACT && !ops->compact_all) {
            fprintf(stderr, "lsmbench: job %s: compact: lsmbench cannot compact and measure the "
                            "%s target (only embedded)\n",
                    job, ops->scheme);
            return -EINVAL;
        }
    }
    if (bench_direct_io(cfg) && strcmp(ops->scheme, "lmdb") == 0) {
        fprintf(stderr, "lsmbench: job %s: --direct-io: the lmdb target has no direct I/O mode\n",
                job);
        return -EINVAL;
    }
    static bool direct_noted;
    if (bench_direct_io(cfg) && ops->multiprocess && !direct_noted) {
        fprintf(stderr, "lsmbench: note: --direct-io on the %s target is the daemon's own "
                        "setting (start lsmd with --use-direct-io)\n",
                ops->scheme);
        direct_noted = true;
    }
    if (cold_check_config(cfg, err, sizeof err) != 0) {
        fprintf(stderr, "lsmbench: %s\n", err);
        return -EINVAL;
    }
    if (cfg->cold && cold_check_privileges(err, sizeof err) != 0) {
        fprintf(stderr, "lsmbench: job %s: %s\n", job, err);
        return -EPERM;
    }
    if (!ops->submit_get && cfg->iodepth > 1 && !*noted) {
        fprintf(stderr, "lsmbench: note: the %s target has no asynchronous interface: "
                        "--iodepth %d runs as 1 per thread there\n",
                ops->scheme, cfg->iodepth);
        *noted = true;
    }
    return 0;
}

int main(int argc, char **argv)
{
    /* The engine logs each flush at info level: keep stderr for trouble
     * unless the user asked for more. */
    if (!getenv("LSMD_LOG_LEVEL"))
        lsm_log_set_level(LSM_LOG_WARN);
    app a;
    memset(&a, 0, sizeof a);
    char err[512];
    int rc = bench_plan_parse(&a.plan, argc, argv, err, sizeof err);
    if (rc == 1)
        return 0;
    if (rc) {
        fprintf(stderr, "lsmbench: %s\n", err);
        return 2;
    }
    bench_global *g = &a.plan.g;
    a.text = g->format == FMT_TEXT;
    a.progress = a.text && (g->progress == -1 ? isatty(STDOUT_FILENO) : g->progress);

    int nrounds = g->ntargets > 1 ? g->ntargets : 1;
    for (int r = 0; r < nrounds; r++) {
        bool noted = false;
        for (size_t i = 0; i < a.plan.njobs; i++) {
            if (g->ntargets > 1)
                snprintf(a.plan.jobs[i].target, BENCH_PATH_MAX, "%s", g->targets[r]);
            if (precheck(&a.plan.jobs[i], &noted))
                return 2;
        }
    }

    struct sigaction sa = { .sa_handler = on_signal };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    for (int r = 0; r < nrounds && !runner_interrupted; r++) {
        for (size_t i = 0; i < a.plan.njobs && !runner_interrupted; i++) {
            bench_config *cfg = &a.plan.jobs[i];
            if (g->ntargets > 1)
                snprintf(cfg->target, BENCH_PATH_MAX, "%s", g->targets[r]);
            if (run_job(&a, cfg) != 0)
                break; /* this target is in trouble: on to the next */
        }
        close_target(&a);
    }
    cold_cgroup_leave();
    if (a.text)
        report_compare_text(stdout, a.jobs, a.njobs);
    else
        report_json(stdout, a.jobs, a.njobs, a.targets, a.ntargets, &a.plan);
    if (runner_interrupted)
        fprintf(stderr, "lsmbench: interrupted\n");
    free(a.jobs);
    free(a.targets);
    free(a.opened);
    bench_plan_free(&a.plan);
    return a.failures ? 1 : 0;
}
