/* runner.c — see runner.h. */
#include "runner.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_worker.h"

volatile sig_atomic_t runner_interrupted;

#define READY_TIMEOUT_NS (60ull * 1000000000ull)
#define PROGRESS_NS 500000000ull
#define EVENTS_NS 1000000000ull

static uint64_t wall_us(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (uint64_t)tv.tv_sec * 1000000u + (uint64_t)tv.tv_usec;
}

/* Everything the workers of one process share: built once in the parent
 * (the zipfian zeta is the costly part) and inherited by forked clients. */
typedef struct run_env {
    const runner_args *a;
    bench_shared *sh;
    size_t sh_bytes;
    keygen kg;
    valgen vg;
    int dist;
    bool bg_writer;          /* readwhilewriting */
} run_env;

typedef struct worker_set {
    worker_ctx *ctx;
    pthread_t *tid;
    bool *started;
    size_t n;
} worker_set;

/* Starts workers [first, first + count) (and the background writer, slot
 * nreaders, when with_bg) on target t. */
static int spawn(run_env *e, target *t, uint32_t first, uint32_t count, bool with_bg,
                 worker_set *ws)
{
    size_t n = count + (with_bg ? 1 : 0);
    ws->n = n;
    ws->ctx = calloc(n, sizeof *ws->ctx);
    ws->tid = calloc(n, sizeof *ws->tid);
    ws->started = calloc(n, sizeof *ws->started);
    if (!ws->ctx || !ws->tid || !ws->started)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        worker_ctx *w = &ws->ctx[i];
        bool bg = i == count;
        *w = (worker_ctx){ .cfg = e->a->cfg, .wl = e->a->wl, .t = t, .sh = e->sh,
                           .index = bg ? e->sh->nreaders : first + (uint32_t)i,
                           .reader_index = bg ? 0 : first + (uint32_t)i, .bg_writer = bg,
                           .dist = e->dist, .kg = e->kg, .vg = &e->vg,
                           .seed_salt = e->a->seed_salt };
        w->res = result_new();
        if (!w->res)
            return -ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        int rc = pthread_create(&ws->tid[i], NULL, worker_main, &ws->ctx[i]);
        if (rc)
            return -rc;
        ws->started[i] = true;
    }
    return 0;
}

/* Joins the started workers and merges their results into into. */
static int join(worker_set *ws, run_result *into)
{
    int rc = 0;
    for (size_t i = 0; i < ws->n; i++) {
        if (ws->started && ws->started[i])
            pthread_join(ws->tid[i], NULL);
        if (ws->ctx && ws->ctx[i].res) {
            if (into && result_merge(into, ws->ctx[i].res) && !rc)
                rc = -ENOMEM;
            result_free(ws->ctx[i].res);
        }
    }
    free(ws->ctx);
    free(ws->tid);
    free(ws->started);
    memset(ws, 0, sizeof *ws);
    return rc;
}

/* A spawn that failed part way: stop whoever started, and count the slots
 * that never will as ready and done so the parent does not wait. */
static void abandon(run_env *e, uint32_t count, worker_set *ws)
{
    atomic_store(&e->sh->stop, 1);
    size_t started = 0;
    for (size_t i = 0; i < ws->n; i++)
        started += ws->started && ws->started[i];
    atomic_fetch_add(&e->sh->ready, count - (uint32_t)started);
}

/* ---- a forked client ------------------------------------------------------- */

static int child_main(run_env *e, uint32_t client, int wfd)
{
    const runner_args *a = e->a;
    uint32_t threads = (uint32_t)a->cfg->threads;
    bool with_bg = e->bg_writer && client == 0;
    uint32_t count = threads + (with_bg ? 1 : 0);
    target *t = NULL;
    int rc = a->t->ops->open(a->target_arg, a->cfg, OPEN_CLIENT, &t);
    if (rc) {
        atomic_store(&e->sh->stop, 1);
        atomic_fetch_add(&e->sh->ready, count);
        return 1;
    }
    worker_set ws = { 0 };
    rc = spawn(e, t, client * threads, threads, with_bg, &ws);
    if (rc)
        abandon(e, count, &ws);
    run_result *res = result_new();
    int jrc = join(&ws, res);
    if (!rc)
        rc = jrc;
    if (res && result_send(wfd, res) != 0)
        rc = -EPIPE;
    result_free(res);
    t->ops->close(t);
    return rc ? 1 : 0;
}

/* ---- progress ---------------------------------------------------------------- */

static void human(char *buf, size_t cap, double v)
{
    if (v >= 1e9)
        snprintf(buf, cap, "%.2fG", v / 1e9);
    else if (v >= 1e6)
        snprintf(buf, cap, "%.2fM", v / 1e6);
    else if (v >= 1e4)
        snprintf(buf, cap, "%.1fK", v / 1e3);
    else
        snprintf(buf, cap, "%.0f", v);
}

static void show_progress(const run_env *e, uint64_t now, uint64_t *last_ops, uint64_t *last_t)
{
    const bench_shared *sh = e->sh;
    uint64_t ops = 0;
    for (uint32_t i = 0; i < sh->nreaders; i++)
        ops += atomic_load_explicit(&sh->slot[i].ops, memory_order_relaxed);
    double el = (double)(now - sh->start_ns) / 1e9;
    double rate = now > *last_t ? (double)(ops - *last_ops) * 1e9 / (double)(now - *last_t) : 0;
    double pct = sh->total_ops != UINT64_MAX && sh->total_ops
                     ? 100.0 * (double)ops / (double)sh->total_ops
                 : sh->duration_ns ? 100.0 * (double)(now - sh->start_ns) / (double)sh->duration_ns
                                   : 0;
    char o[32], r[32];
    human(o, sizeof o, (double)ops);
    human(r, sizeof r, rate);
    printf("\r%-32.32s %5.1f%%  %9s ops  %9s ops/s  %6.1f s\033[K", e->a->label,
           pct > 100 ? 100 : pct, o, r, el);
    fflush(stdout);
    *last_ops = ops;
    *last_t = now;
}

static void poll_events(const run_env *e)
{
    const runner_args *a = e->a;
    if (!a->events || !a->t->ops->has_events)
        return;
    char *json;
    if (a->t->ops->stats_json(a->t, &json) == 0) {
        event_log_add_json(a->events, json);
        free(json);
    }
}

/* ---- the parent ---------------------------------------------------------------- */

typedef struct client_pipe {
    pid_t pid;
    int fd;              /* read end; -1 at EOF */
    char *buf;
    size_t len, cap;
} client_pipe;

static int read_some(client_pipe *p)
{
    if (p->cap - p->len < 65536) {
        size_t cap = p->cap ? p->cap * 2 : 262144;
        char *nb = realloc(p->buf, cap);
        if (!nb)
            return -ENOMEM;
        p->buf = nb;
        p->cap = cap;
    }
    ssize_t r = read(p->fd, p->buf + p->len, p->cap - p->len);
    if (r < 0)
        return errno == EINTR || errno == EAGAIN ? 0 : -errno;
    if (r == 0) {
        close(p->fd);
        p->fd = -1;
    }
    p->len += (size_t)r;
    return 0;
}

static bool all_done(const run_env *e, const client_pipe *cp, int nclients)
{
    if (cp) {
        for (int i = 0; i < nclients; i++)
            if (cp[i].fd >= 0)
                return false;
        return true;
    }
    for (uint32_t i = 0; i < e->sh->nworkers; i++)
        if (!atomic_load_explicit(&e->sh->slot[i].done, memory_order_acquire))
            return false;
    return true;
}

/* Waits for every worker to be ready, then starts them all at once. */
static int start_workers(run_env *e, client_pipe *cp, int nclients)
{
    uint64_t t0 = bench_now_ns();
    while (atomic_load_explicit(&e->sh->ready, memory_order_acquire) < e->sh->nworkers) {
        if (atomic_load(&e->sh->stop) || runner_interrupted)
            return -ECANCELED;
        for (int i = 0; cp && i < nclients; i++)
            if (cp[i].pid > 0 && waitpid(cp[i].pid, NULL, WNOHANG) == cp[i].pid) {
                cp[i].pid = -1; /* died before it was ready */
                atomic_store(&e->sh->stop, 1);
                return -ECHILD;
            }
        if (bench_now_ns() - t0 > READY_TIMEOUT_NS) {
            atomic_store(&e->sh->stop, 1);
            return -ETIMEDOUT;
        }
        struct timespec ts = { 0, 200000 };
        nanosleep(&ts, NULL);
    }
    if (atomic_load(&e->sh->stop))
        return -ECANCELED;
    e->sh->start_ns = bench_now_ns();
    atomic_store_explicit(&e->sh->go, 1, memory_order_release); /* pairs with the workers' acquire */
    return 0;
}

static int monitor(run_env *e, client_pipe *cp, int nclients, run_output *out)
{
    const runner_args *a = e->a;
    uint64_t last_prog = bench_now_ns(), last_ev = last_prog, last_ops = 0;
    uint64_t last_t = e->sh->start_ns;
    struct pollfd *pfd = calloc((size_t)nclients + 1, sizeof *pfd);
    if (!pfd)
        return -ENOMEM;
    int rc = 0;
    while (!all_done(e, cp, nclients)) {
        if (runner_interrupted && !atomic_load(&e->sh->stop)) {
            out->interrupted = true;
            atomic_store(&e->sh->stop, 1);
        }
        int n = 0;
        for (int i = 0; cp && i < nclients; i++)
            if (cp[i].fd >= 0)
                pfd[n++] = (struct pollfd){ .fd = cp[i].fd, .events = POLLIN };
        poll(pfd, (nfds_t)n, 100);
        for (int i = 0, k = 0; cp && i < nclients; i++) {
            if (cp[i].fd < 0)
                continue;
            if (pfd[k++].revents && (rc = read_some(&cp[i])) != 0) {
                atomic_store(&e->sh->stop, 1);
                close(cp[i].fd);
                cp[i].fd = -1;
            }
        }
        uint64_t now = bench_now_ns();
        if (a->progress && now - last_prog >= PROGRESS_NS) {
            show_progress(e, now, &last_ops, &last_t);
            last_prog = now;
        }
        if (now - last_ev >= EVENTS_NS) {
            poll_events(e);
            last_ev = now;
        }
    }
    free(pfd);
    if (a->progress) {
        printf("\r\033[K");
        fflush(stdout);
    }
    return rc;
}

static int run_env_init(run_env *e, const runner_args *a)
{
    const bench_config *c = a->cfg;
    memset(e, 0, sizeof *e);
    e->a = a;
    e->bg_writer = a->wl->kind == WL_READWHILEWRITING;
    uint32_t nreaders = (uint32_t)(c->clients * c->threads);
    uint32_t nworkers = nreaders + (e->bg_writer ? 1 : 0);
    e->sh_bytes = sizeof(bench_shared) + nworkers * sizeof(worker_slot);
    e->sh = mmap(NULL, e->sh_bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (e->sh == MAP_FAILED) {
        e->sh = NULL;
        return -errno;
    }
    e->sh->nworkers = nworkers;
    e->sh->nreaders = nreaders;
    e->sh->duration_ns = (uint64_t)(c->duration * 1e9);
    e->sh->total_ops = c->duration > 0        ? UINT64_MAX
                       : a->wl->counted_by_num ? c->num
                       : c->reads               ? c->reads
                                                : c->num;
    e->dist = c->distribution != DIST_DEFAULT ? c->distribution : a->wl->dist;
    int rc = keygen_init(&e->kg, e->dist, c->num, c->zipf_theta, c->zipf_scramble);
    if (rc == 0)
        rc = valgen_init(&e->vg, c->value_size, c->seed);
    return rc;
}

static void run_env_free(run_env *e)
{
    if (e->sh)
        munmap(e->sh, e->sh_bytes);
    valgen_free(&e->vg);
}

static int run_clients(run_env *e, run_output *out)
{
    const runner_args *a = e->a;
    int nclients = a->cfg->clients;
    client_pipe *cp = calloc((size_t)nclients, sizeof *cp);
    if (!cp)
        return -ENOMEM;
    for (int i = 0; i < nclients; i++)
        cp[i].fd = -1;
    int rc = 0;
    fflush(NULL); /* children _exit: nothing buffered may be written twice */
    int started = 0;
    for (; started < nclients; started++) {
        int pfd[2];
        if (pipe2(pfd, O_CLOEXEC) != 0) {
            rc = -errno;
            break;
        }
        pid_t pid = fork();
        if (pid < 0) {
            rc = -errno;
            close(pfd[0]);
            close(pfd[1]);
            break;
        }
        if (pid == 0) {
            close(pfd[0]);
            for (int j = 0; j < started; j++)
                close(cp[j].fd);
            _exit(child_main(e, (uint32_t)started, pfd[1]));
        }
        close(pfd[1]);
        cp[started] = (client_pipe){ .pid = pid, .fd = pfd[0] };
    }
    if (rc) {
        /* Clients that will never start: count them as ready so the rest
         * see the stop rather than wait. */
        atomic_store(&e->sh->stop, 1);
    } else {
        rc = start_workers(e, cp, nclients);
    }
    int mrc = monitor(e, cp, nclients, out);
    if (!rc)
        rc = mrc;
    for (int i = 0; i < started; i++) {
        int status = 0;
        if (cp[i].pid > 0)
            waitpid(cp[i].pid, &status, 0);
        if (cp[i].fd >= 0)
            close(cp[i].fd);
        run_result *r = result_new();
        int prc = r ? result_parse(cp[i].buf, cp[i].len, r) : -ENOMEM;
        if (prc == 0)
            prc = result_merge(out->res, r);
        else if (!rc)
            rc = cp[i].len == 0 ? -ECHILD : prc;
        result_free(r);
        free(cp[i].buf);
    }
    free(cp);
    return rc;
}

static int run_threads(run_env *e, run_output *out)
{
    worker_set ws = { 0 };
    uint32_t n = e->sh->nreaders;
    int rc = spawn(e, e->a->t, 0, n, e->bg_writer, &ws);
    if (rc)
        abandon(e, n + (e->bg_writer ? 1 : 0), &ws);
    else
        rc = start_workers(e, NULL, 0);
    if (!rc)
        rc = monitor(e, NULL, 0, out);
    else
        atomic_store(&e->sh->stop, 1);
    int jrc = join(&ws, out->res);
    return rc ? rc : jrc;
}

int runner_run(const runner_args *a, run_output *out)
{
    memset(out, 0, sizeof *out);
    out->res = result_new();
    if (!out->res)
        return -ENOMEM;
    run_env e;
    int rc = run_env_init(&e, a);
    if (rc) {
        run_env_free(&e);
        return rc;
    }
    out->wall_start_us = wall_us();
    poll_events(&e);
    rc = a->t->ops->multiprocess ? run_clients(&e, out) : run_threads(&e, out);
    out->wall_end_us = wall_us();
    poll_events(&e);
    out->error = atomic_load(&e.sh->first_error);
    if (!rc && out->error)
        rc = out->error;
    if (out->interrupted && rc == -ECANCELED)
        rc = 0;
    const run_counts *c = &out->res->c;
    out->seconds = c->end_ns > c->start_ns ? (double)(c->end_ns - c->start_ns) / 1e9 : 0;
    int trc = timeline_points(out->res->tl.blob, out->res->tl.len, &out->pts, &out->npts);
    if (trc && !rc)
        rc = trc;
    run_env_free(&e);
    return rc;
}

void run_output_free(run_output *out)
{
    result_free(out->res);
    free(out->pts);
    memset(out, 0, sizeof *out);
}
