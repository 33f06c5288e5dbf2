/*
 * main.c — lsmd: flags, start-up, the main event loop and clean shutdown.
 *
 *   lsmd --dir DIR [--config FILE] [--KEY VALUE ...]
 *   lsmd --help | --version
 *
 * Every key of the configuration (config_keys.h, and every engine option)
 * is also a flag; --help prints them all.  The main thread owns one epoll
 * set: the listening socket, a signalfd (SIGTERM, SIGINT; SIGHUP reloads:
 * reload.h), connections that
 * have not said hello yet (admission.h: capped, dropped after
 * hello_timeout_ms), and each session's socket and pidfd, whose hang-up /
 * readability is the client's death.  Shutdown: stop accepting, let every worker drain what its clients
 * queued and end their sessions, finish admin jobs, release snapshots,
 * lsm_close (which syncs the WAL), remove the socket.
 *
 * Under systemd (Type=notify, daemon/lsmd.service) sd_notify says READY=1
 * once the socket accepts and the workers run, RELOADING=1 then READY=1
 * around a reload, and STOPPING=1 when the shutdown begins.  Without
 * NOTIFY_SOCKET these calls do nothing.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "admin.h"
#include "admin_queue.h"
#include "admission.h"
#include "config.h"
#include "config_keys.h"
#include "daemon.h"
#include "flags.h"
#include "listener.h"
#include "base/log.h"
#include "metrics_http.h"
#include "placement.h"
#include "reload.h"
#include "session.h"
#include "start_options.h"
#include "wait.h"
#include "wal_syncer.h"
#include "worker.h"


/* epoll tags: fixed markers, or a pointer with the kind in its low bits. */
static char mark_listener, mark_signal;
enum { TAG_SOCK = 1, TAG_PIDFD = 2, TAG_PENDING = 3, TAG_MASK = 3 };

typedef struct main_loop {
    daemon_ctx *d;
    listener lst;
    int epfd, sigfd;
    admission adm;
    int argc;               /* the command line, parsed again at a reload */
    char **argv;
    int metrics_fd;          /* bound before the engine opens, -1 none */
    metrics_http *metrics;   /* GET /metrics (metrics_http.h), NULL when off */
} main_loop;

/* ---- the snapshot directory ---------------------------------------------- */

/* Registry publication callback: runs under the registry's lock, so it is
 * the directory's single writer.  The directory holds max_snapshots
 * entries, the registry's max_listed, so every listed snapshot fits. */
static void publish_dir(void *ctx, const snapreg_info *list, size_t n)
{
    daemon_ctx *d = ctx;
    if (n > d->dir.capacity) { /* cannot happen: a registry bug */
        log_error("snapshot directory: %zu snapshots listed, room for %u", n,
                  d->dir.capacity);
        n = d->dir.capacity;
    }
    shm_dir_write_begin(&d->dir);
    for (size_t i = 0; i < n; i++) {
        struct shm_dir_entry e = {
            .id = list[i].id, .sequence = snapreg_sequence_of(list[i].id),
            .holders = list[i].holders,
            .flags = SHM_DIR_LIVE, .created_ns = list[i].created_ns,
            .creator_id = list[i].creator, .creator_pid = list[i].creator_pid,
        };
        shm_dir_store(&d->dir, (uint32_t)i, &e);
    }
    shm_dir_write_end(&d->dir, (uint32_t)n);
}

/* ---- event loop ----------------------------------------------------------- */

static int watch(main_loop *m, int fd, uint32_t events, void *tag)
{
    struct epoll_event ev = { .events = events, .data.ptr = tag };
    return epoll_ctl(m->epfd, EPOLL_CTL_ADD, fd, &ev) == 0 ? 0 : -errno;
}

static void *tagged(void *p, int kind)
{
    return (void *)((uintptr_t)p | (uintptr_t)kind);
}

/* The hello arrived (or the peer hung up): run the handshake. */
static void on_hello(main_loop *m, admission_conn *p)
{
    pid_t pid;
    uid_t uid;
    gid_t gid;
    int fd = admission_take(&m->adm, p, &pid, &uid, &gid);
    session_peer h;
    if (session_hello(m->d, fd, pid, uid, gid, &h) != 0)
        return; /* it closed fd and said why */
    int node;
    worker *w = placement_pick(m->d, h.req.cpu, &node);
    session *s;
    if (session_attach(m->d, &h, w, node, &s) != 0)
        return; /* attach closed fd and said why */
    placement_settle(m->d, s);
    /* DEBUG: a `watch lsmctl stats` would otherwise fill the log. */
    log_debug("attach: client %llu pid %d uid %u cpu %d -> worker %d node %d",
             (unsigned long long)s->id, (int)pid, (unsigned)uid, h.req.cpu, worker_index(w),
             s->node);
    if (watch(m, s->sock, EPOLLIN | EPOLLRDHUP, tagged(s, TAG_SOCK)) != 0 ||
        (s->pidfd >= 0 && watch(m, s->pidfd, EPOLLIN, tagged(s, TAG_PIDFD)) != 0)) {
        log_warn("attach: epoll_ctl failed; dropping client %llu", (unsigned long long)s->id);
        epoll_ctl(m->epfd, EPOLL_CTL_DEL, s->sock, NULL);
        atomic_store(&s->dying, 1);
        s->main_detached = true;
        worker_add(s->worker, s);
        session_unref(s);
        return;
    }
    worker_add(s->worker, s);
}

/* The client died or hung up: stop watching it and let its worker reclaim
 * it.  Main's reference is dropped by the caller after the event batch, so
 * a second event for s in the same batch still finds it. */
static bool on_death(main_loop *m, session *s, const char *how)
{
    if (s->main_detached)
        return false;
    s->main_detached = true;
    epoll_ctl(m->epfd, EPOLL_CTL_DEL, s->sock, NULL);
    if (s->pidfd >= 0)
        epoll_ctl(m->epfd, EPOLL_CTL_DEL, s->pidfd, NULL);
    atomic_fetch_add_explicit(&m->d->deaths, 1, memory_order_relaxed);
    log_debug("detach: client %llu (pid %d) gone (%s)", (unsigned long long)s->id, (int)s->pid,
              how);
    /* Release: the worker's acquire load of dying sees the above. */
    atomic_store_explicit(&s->dying, 1, memory_order_release);
    worker_kick(s->worker);
    return true;
}

/* SIGHUP: reload.h.  Type=notify-reload wants MONOTONIC_USEC with
 * RELOADING=1 (sd_notify(3)); plain Type=notify ignores both. */
static void on_hangup(main_loop *m)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    sd_notifyf(0, "RELOADING=1\nSTATUS=reloading\nMONOTONIC_USEC=%llu",
               (unsigned long long)ts.tv_sec * 1000000ull +
                   (unsigned long long)ts.tv_nsec / 1000);
    log_info("signal %d (SIGHUP): reopening the log, reloading the configuration", SIGHUP);
    reload_run(m->d, m->argc, m->argv);
    sd_notifyf(0, "READY=1\nSTATUS=serving %s on %s", m->d->cfg->dir, m->d->cfg->socket_path);
}

/* Runs until SIGTERM/SIGINT.  Returns 0, or -errno if epoll fails. */
static int run_loop(main_loop *m)
{
    struct epoll_event ev[64];
    session *dead[64];
    for (;;) {
        int n = epoll_wait(m->epfd, ev, 64, admission_timeout_ms(&m->adm));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            log_error("epoll_wait: %s", strerror(errno));
            return -errno;
        }
        int ndead = 0;
        bool stop = false;
        for (int i = 0; i < n; i++) {
            void *tag = ev[i].data.ptr;
            if (tag == &mark_listener) {
                admission_on_listener(&m->adm);
            } else if (tag == &mark_signal) {
                struct signalfd_siginfo si;
                if (read(m->sigfd, &si, sizeof si) != (ssize_t)sizeof si) {
                    /* spurious wake-up: nothing pending */
                } else if (si.ssi_signo == SIGHUP) {
                    on_hangup(m);
                } else {
                    log_info("signal %d: draining and shutting down", (int)si.ssi_signo);
                    stop = true;
                }
            } else {
                int kind = (int)((uintptr_t)tag & TAG_MASK);
                void *p = (void *)((uintptr_t)tag & ~(uintptr_t)TAG_MASK);
                if (kind == TAG_PENDING) {
                    on_hello(m, p);
                } else if (kind == TAG_SOCK || kind == TAG_PIDFD) {
                    session *s = p;
                    const char *how = kind == TAG_PIDFD ? "process exited"
                                      : (ev[i].events & (EPOLLHUP | EPOLLRDHUP | EPOLLERR))
                                          ? "socket hang-up"
                                          : "spoke on its socket after the hello";
                    if (on_death(m, s, how))
                        dead[ndead++] = s;
                }
            }
        }
        for (int i = 0; i < ndead; i++)
            session_unref(dead[i]);
        admission_tick(&m->adm);
        if (stop)
            return 0;
    }
}

/* ---- start-up and shutdown ------------------------------------------------ */

static int setup_signals(int *sigfd)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    /* Blocked before any thread starts, so every thread inherits the mask
     * and only the signalfd sees them. */
    if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
        return -errno;
    signal(SIGPIPE, SIG_IGN);
    *sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    return *sigfd >= 0 ? 0 : -errno;
}

static int open_engine(daemon_ctx *d)
{
    daemon_config *c = d->cfg;
    lsm_options opts;
    int rc = start_options(c, &opts);
    if (rc)
        return rc;
    rc = lsm_open(c->dir, &opts, &d->db);
    if (rc == -EBUSY) {
        log_error("lsmd: %s is in use by another process (see the LOCK message above)",
                  c->dir);
        return rc;
    }
    /* The engine returns its refusals' reasons instead of logging them
     * (lsm_last_error); the daemon's log is where they go. */
    if (rc) {
        log_error("lsmd: cannot open %s: %s", c->dir,
                  *lsm_last_error() ? lsm_last_error() : lsm_strerror(rc));
        return rc;
    }
    return 0;
}

static int start_threads(daemon_ctx *d)
{
    int rc = admin_queue_new(&d->admin_queue);
    if (rc)
        return rc;
    rc = admin_start(d, &d->admin);
    if (rc)
        return rc;
    rc = wal_syncer_new(d->db, &d->syncer);
    if (rc)
        return rc;
    d->workers = calloc((size_t)d->cfg->workers, sizeof *d->workers);
    if (!d->workers)
        return -ENOMEM;
    for (int i = 0; i < d->cfg->workers; i++) {
        rc = worker_start(d, i, &d->workers[i]);
        if (rc)
            return rc;
        d->nworkers++;
    }
    return 0;
}

/* Everything after the loop: the order matters (see the file comment). */
static int shutdown_all(main_loop *m)
{
    daemon_ctx *d = m->d;
    sd_notify(0, "STOPPING=1\nSTATUS=draining clients and syncing");
    atomic_store(&d->draining, 1);
    metrics_http_stop(m->metrics); /* it reads the workers, admin queue and engine */
    m->metrics = NULL;
    admission_close(&m->adm);
    listener_close(&m->lst);
    for (int i = 0; i < d->nworkers; i++)
        worker_stop(d->workers[i]);
    for (int i = 0; i < d->nworkers; i++)
        worker_join(d->workers[i]);
    admin_stop(d->admin); /* its queued jobs may still read the workers */
    d->admin = NULL;
    admin_queue_free(d->admin_queue);
    d->admin_queue = NULL;
    for (int i = 0; i < d->nworkers; i++)
        worker_free(d->workers[i]);
    d->nworkers = 0;
    wal_syncer_free(d->syncer); /* the workers' drains left it nothing */
    d->syncer = NULL;
    /* Drop main's references; each remaining session then goes away. */
    for (;;) {
        session *s = NULL;
        pthread_mutex_lock(&d->sessions_mu);
        for (session *t = d->sessions; t; t = t->next)
            if (!t->main_detached) {
                s = t;
                break;
            }
        pthread_mutex_unlock(&d->sessions_mu);
        if (!s)
            break;
        s->main_detached = true;
        session_unref(s);
    }
    snapreg_free(d->snaps);
    d->snaps = NULL;
    int rc = lsm_close(d->db);
    d->db = NULL;
    if (rc)
        log_error("lsmd: lsm_close: %s", lsm_strerror(rc));
    else
        log_info("lsmd: clean shutdown");
    return rc;
}

int main(int argc, char **argv)
{
    /* A service logs what it does: info, where the library alone says
     * only warnings (engine/base/log.h). */
    lsm_log_set_default_level(LSM_LOG_INFO);
    daemon_config cfg;
    config_init(&cfg);
    int rc = flags_parse(&cfg, argc, argv);
    if (rc == 1 || rc == 2) {
        if (rc == 1)
            config_usage(stdout);
        else
            printf("lsmd %s\n", LSM_VERSION);
        config_free(&cfg);
        return 0;
    }
    /* Logging first: config_finish's warnings then go where the log goes. */
    if (rc || (rc = config_apply_logging(&cfg)) != 0 || (rc = config_finish(&cfg)) != 0) {
        if (!cfg.dir)
            fputs("usage: lsmd --dir DIR [--config FILE] [--KEY VALUE ...]; lsmd --help lists "
                  "the keys\n",
                  stderr);
        config_free(&cfg);
        return 2;
    }
    daemon_ctx d = { .cfg = &cfg, .dir_ro_fd = -1, .dir.seg.fd = -1 };
    main_loop m = { .d = &d, .epfd = -1, .sigfd = -1, .argc = argc, .argv = argv,
                    .metrics_fd = -1 };
    m.lst.fd = m.lst.lock_fd = m.lst.reserve_fd = -1;
    pthread_mutex_init(&d.sessions_mu, NULL);
    atomic_init(&d.next_client_id, 1);
    d.start_ns = shm_now_ns();
    shm_server_limits_init(&d.limits);
    int exit_code = 1;

    if ((rc = setup_signals(&m.sigfd)) != 0) {
        log_error("lsmd: signals: %s", strerror(-rc));
        goto out;
    }
    if ((rc = numa_plan_new(cfg.numa, cfg.numa_node, cfg.workers, &d.numa)) != 0)
        goto out;
    numa_plan_apply_process_policy(d.numa);
    listener_raise_fd_limit();
    if ((rc = listener_open(&m.lst, cfg.socket_path, cfg.socket_gid_set, cfg.socket_gid)))
        goto out;
    char metrics_at[80] = "";
    if (cfg.metrics_on &&
        metrics_http_bind(&cfg.metrics_addr, &m.metrics_fd, metrics_at, sizeof metrics_at) != 0)
        goto out;
    if ((rc = open_engine(&d)) != 0)
        goto out;
    if ((rc = shm_dir_create(cfg.max_snapshots, &d.dir)) != 0 ||
        (d.dir_ro_fd = shm_dir_reader_fd(&d.dir)) < 0) {
        log_error("lsmd: cannot create the snapshot directory: %s",
                  strerror(rc ? -rc : -d.dir_ro_fd));
        goto out;
    }
    const uint64_t quotas[UIDQ_NRES] = {
        [UIDQ_SESSIONS] = cfg.max_clients_per_uid, [UIDQ_ITERS] = cfg.max_iters_per_uid,
        [UIDQ_SNAPSHOTS] = cfg.max_snapshots_per_uid,
        [UIDQ_ARENA_BYTES] = cfg.max_arena_bytes_per_uid,
    };
    const snapreg_limits snap_lim = { .max_listed = cfg.max_snapshots,
                                      .max_per_holder = DAEMON_MAX_SNAPSHOTS_PER_CLIENT };
    if ((rc = uidq_new(quotas, geteuid(), &d.quota)) ||
        (rc = snapreg_new(d.db, &snap_lim, d.quota, publish_dir, &d, &d.snaps)))
        goto out;
    m.epfd = epoll_create1(EPOLL_CLOEXEC);
    if (m.epfd < 0 ||
        admission_init(&m.adm, &d, &m.lst, m.epfd, &mark_listener, TAG_PENDING) != 0 ||
        watch(&m, m.sigfd, EPOLLIN, &mark_signal) != 0) {
        log_error("lsmd: epoll: %s", strerror(errno));
        goto out;
    }
    if ((rc = start_threads(&d)) != 0) {
        log_error("lsmd: cannot start threads: %s", strerror(-rc));
        goto out;
    }
    if (m.metrics_fd >= 0) {
        rc = metrics_http_start(&d, m.metrics_fd, &m.metrics);
        m.metrics_fd = -1; /* owned by metrics_http_start now */
        if (rc)
            goto out;
        printf("lsmd: metrics on http://%s/metrics\n", metrics_at);
        log_info("lsmd: metrics on http://%s/metrics", metrics_at);
    }
    const char *numa = cfg.numa == NUMA_MODE_OFF ? "off"
                       : numa_plan_active(d.numa)   ? "placing per node"
                                                    : "single node";
    printf("lsmd: serving %s on %s (%d workers, numa: %s)\n", cfg.dir, cfg.socket_path,
           d.nworkers, numa);
    fflush(stdout);
    log_info("lsmd %d: serving %s on %s", (int)getpid(), cfg.dir, cfg.socket_path);
    /* After the listener accepts and the workers run: a unit ordered
     * After=lsmd.service may connect at once. */
    sd_notifyf(0, "READY=1\nSTATUS=serving %s on %s\nMAINPID=%d", cfg.dir, cfg.socket_path,
               (int)getpid());
    rc = run_loop(&m);
    exit_code = (shutdown_all(&m) == 0 && rc == 0) ? 0 : 1;
    goto cleanup;
out:
    /* Start-up failed: undo what was started. */
    metrics_http_stop(m.metrics);
    if (m.metrics_fd >= 0)
        close(m.metrics_fd);
    for (int i = 0; i < d.nworkers; i++)
        worker_stop(d.workers[i]);
    for (int i = 0; i < d.nworkers; i++)
        worker_join(d.workers[i]);
    admin_stop(d.admin);
    admin_queue_free(d.admin_queue);
    for (int i = 0; i < d.nworkers; i++)
        worker_free(d.workers[i]);
    wal_syncer_free(d.syncer);
    snapreg_free(d.snaps);
    if (d.db)
        lsm_close(d.db);
    admission_close(&m.adm);
    listener_close(&m.lst);
cleanup:
    free(d.workers);
    uidq_free(d.quota);
    if (d.dir_ro_fd >= 0)
        close(d.dir_ro_fd);
    shm_dir_close(&d.dir);
    if (m.epfd >= 0)
        close(m.epfd);
    if (m.sigfd >= 0)
        close(m.sigfd);
    numa_plan_free(d.numa);
    pthread_mutex_destroy(&d.sessions_mu);
    config_free(&cfg);
    return exit_code;
}
