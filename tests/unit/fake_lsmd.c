/* fake_lsmd.c — see fake_lsmd.h. */
#include "fake_lsmd.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "wal/batch.h"
#include "directory.h"
#include "hello.h"
#include "lsmd.h"
#include "server.h"
#include "wait.h"

/* ---- the fake daemon ---------------------------------------------------- */

#define MAXKV 4096
struct kv { char *k, *v; uint32_t kl, vl; };
static struct kv db[MAXKV];
static int ndb;

static int cmp(const char *a, uint32_t al, const char *b, uint32_t bl)
{
    int c = memcmp(a, b, al < bl ? al : bl);
    return c ? c : (al > bl) - (al < bl);
}

/* First index with key >= k. */
static int lower(const char *k, uint32_t kl)
{
    int lo = 0, hi = ndb;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (cmp(db[mid].k, db[mid].kl, k, kl) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void kv_put(const char *k, uint32_t kl, const char *v, uint32_t vl)
{
    int i = lower(k, kl);
    if (i < ndb && cmp(db[i].k, db[i].kl, k, kl) == 0) {
        free(db[i].v);
    } else {
        memmove(&db[i + 1], &db[i], (size_t)(ndb - i) * sizeof(db[0]));
        ndb++;
        db[i].k = malloc(kl);
        memcpy(db[i].k, k, kl);
        db[i].kl = kl;
    }
    db[i].v = malloc(vl ? vl : 1);
    memcpy(db[i].v, v, vl);
    db[i].vl = vl;
}

static void kv_del(const char *k, uint32_t kl)
{
    int i = lower(k, kl);
    if (i < ndb && cmp(db[i].k, db[i].kl, k, kl) == 0) {
        free(db[i].k);
        free(db[i].v);
        memmove(&db[i], &db[i + 1], (size_t)(ndb - i - 1) * sizeof(db[0]));
        ndb--;
    }
}

static int batch_apply(void *ctx, enum value_type t, slice k, slice v)
{
    (void)ctx;
    if (t == LSM_TYPE_PUT)
        kv_put(k.data, (uint32_t)k.size, v.data, (uint32_t)v.size);
    else
        kv_del(k.data, (uint32_t)k.size);
    return 0;
}

struct fake_iter { uint64_t id; int pos; char hi[256]; uint32_t hil; };
static struct fake_iter iters[8];
static bool old_daemon; /* refuses ITER_SCAN */
/* ITER_NEXT pages the fake daemon has filled: shared with the test process
 * (a MAP_SHARED page made before the fork), which watches it from inside a
 * scan's callback. */
static uint32_t *nexts_served;
static bool lie_pieces; /* ITER_PIECE replies after the first change the value's length */
static char *staged;    /* PUT_PIECE: the value being staged */
static struct shm_dir_entry snaps[16];
static uint32_t nsnaps;
static struct shm_dir dir;

static void publish(void)
{
    shm_dir_publish(&dir, snaps, nsnaps);
}

/* Fills a page from iterator it; returns the completion flags. */
static uint32_t fill_page(struct fake_iter *it, char *out, uint32_t cap, uint64_t max,
                          struct shm_cqe *c)
{
    uint32_t used = 0, n = 0;
    while (it->pos < ndb && (max == 0 || n < max)) {
        struct kv *e = &db[it->pos];
        if (it->hil && cmp(e->k, e->kl, it->hi, it->hil) >= 0) {
            it->pos = ndb;
            break;
        }
        if (shm_page_append(out, cap, &used, e->k, e->kl, e->v, e->vl) != 0) {
            if (n == 0) {
                c->status = LSM_ETOOSMALL;
                c->r1 = SHM_PAGE_ENTRY_HDR + e->kl + e->vl;
            }
            break;
        }
        it->pos++;
        n++;
    }
    c->r1 = c->status ? c->r1 : used;
    c->aux = n;
    if (it->pos >= ndb && c->status == 0) {
        it->id = 0; /* closed by the daemon, as the protocol says */
        return SHM_CQ_ITER_END;
    }
    return 0;
}

static void handle(struct shm_session *s, const struct shm_sqe *q, struct shm_cqe *c)
{
    char *a = shm_session_arena(s);
    char key[LSM_MAX_KEY_SIZE];
    memcpy(key, a + q->key_off, q->key_len); /* read payload once */
    switch (q->opcode) {
    case SHM_OP_PING: c->r0 = (uint64_t)getpid(); break;
    case SHM_OP_PUT: kv_put(key, q->key_len, a + q->val_off, q->val_len); break;
    case SHM_OP_DELETE: kv_del(key, q->key_len); break;
    case SHM_OP_GET: {
        int i = lower(key, q->key_len);
        if (i >= ndb || cmp(db[i].k, db[i].kl, key, q->key_len) != 0) {
            c->status = LSM_ENOTFOUND;
        } else {
            c->r0 = db[i].vl;
            if (db[i].vl > q->out_cap)
                c->status = LSM_ETOOSMALL;
            else
                memcpy(a + q->out_off, db[i].v, db[i].vl);
        }
        break;
    }
    case SHM_OP_WRITE_BATCH: {
        char *copy = malloc(q->val_len ? q->val_len : 1);
        memcpy(copy, a + q->val_off, q->val_len);
        c->status = batch_iterate(slice_make(copy, q->val_len), (uint32_t)q->arg1, NULL, NULL);
        if (c->status == 0)
            batch_iterate(slice_make(copy, q->val_len), (uint32_t)q->arg1, batch_apply, NULL);
        free(copy);
        break;
    }
    case SHM_OP_SNAP_ACQUIRE:
        snaps[nsnaps] = (struct shm_dir_entry){ .id = 100 + nsnaps, .sequence = (uint64_t)ndb,
                                                .holders = 1, .flags = SHM_DIR_LIVE,
                                                .creator_id = shm_session_client_id(s) };
        c->r0 = snaps[nsnaps++].id;
        publish();
        break;
    case SHM_OP_SNAP_HOLD: case SHM_OP_SNAP_RELEASE: {
        c->status = -ESRCH;
        for (uint32_t i = 0; i < nsnaps; i++) {
            if (snaps[i].id != q->arg0 || !(snaps[i].flags & SHM_DIR_LIVE))
                continue;
            c->status = 0;
            snaps[i].holders += q->opcode == SHM_OP_SNAP_HOLD ? 1 : (uint32_t)-1;
            if (snaps[i].holders == 0)
                snaps[i].flags = 0;
        }
        publish();
        break;
    }
    case SHM_OP_ITER_OPEN: case SHM_OP_ITER_SCAN: {
        bool scan = q->opcode == SHM_OP_ITER_SCAN;
        if (scan && old_daemon) {
            c->status = -EOPNOTSUPP;
            break;
        }
        if (q->flags & SHM_SQ_REVERSE) {
            c->status = -EOPNOTSUPP;
            break;
        }
        struct fake_iter *it = NULL;
        for (int i = 0; i < 8 && !it; i++)
            if (iters[i].id == 0)
                it = &iters[i];
        if (!it) {
            c->status = -EMFILE;
            break;
        }
        static uint64_t next_id = 1;
        it->id = next_id++;
        it->pos = lower(key, q->key_len);
        it->hil = q->val_len;
        memcpy(it->hi, a + q->val_off, q->val_len);
        if (scan && q->seek_len > 0) {
            int at = lower(a + q->seek_off, q->seek_len);
            it->pos = at > it->pos ? at : it->pos;
        }
        c->r0 = it->id;
        uint64_t max = scan ? SHM_SCAN_MAX(q->arg1) : q->arg1;
        uint32_t budget = scan ? SHM_SCAN_BUDGET(q->arg1) : 0;
        uint32_t cap = budget && budget < q->out_cap ? budget : q->out_cap;
        if (cap)
            c->flags = fill_page(it, a + q->out_off, cap, max, c);
        /* ITER_SCAN: r0 = 0 when nothing is left open. */
        if (scan && (c->flags & SHM_CQ_ITER_END))
            c->r0 = 0;
        if (scan && c->r0 && ((q->flags & SHM_SQ_ONE_PAGE) ||
                              ((q->flags & SHM_SQ_UPTO) && max && c->aux == max))) {
            it->id = 0;
            c->r0 = 0;
        }
        break;
    }
    case SHM_OP_PUT_PIECE: /* in order, as the client sends them */
        if (q->arg1 == 0) {
            free(staged);
            staged = malloc(q->arg0 ? q->arg0 : 1);
        }
        memcpy(staged + q->arg1, a + q->val_off, q->val_len);
        c->r0 = q->arg1 + q->val_len;
        if (c->r0 == q->arg0) {
            kv_put(key, q->key_len, staged, (uint32_t)q->arg0);
            free(staged);
            staged = NULL;
            c->r0 = 0;
        }
        break;
    case SHM_OP_ITER_PIECE: {
        struct fake_iter *it = NULL;
        for (int i = 0; i < 8 && !it; i++)
            if (iters[i].id && iters[i].id == q->arg0)
                it = &iters[i];
        if (!it || it->pos >= ndb) {
            c->status = it ? LSM_ENOTFOUND : -EBADF;
            break;
        }
        const struct kv *e = &db[it->pos];
        uint64_t total = (uint64_t)e->kl + e->vl, off = q->arg1;
        uint64_t n = total - off < q->out_cap ? total - off : q->out_cap;
        for (uint64_t i = 0; i < n; i++) /* byte by byte: small values here */
            a[q->out_off + i] = off + i < e->kl ? e->k[off + i] : e->v[off + i - e->kl];
        c->r0 = e->kl;
        c->r1 = e->vl + (lie_pieces && off > 0);
        c->aux = (uint32_t)n;
        if (q->flags & SHM_SQ_PAST) {
            it->pos++;
            if (it->pos >= ndb ||
                (it->hil && cmp(db[it->pos].k, db[it->pos].kl, it->hi, it->hil) >= 0)) {
                it->id = 0;
                c->flags = SHM_CQ_ITER_END;
            }
        }
        break;
    }
    case SHM_OP_ITER_NEXT: case SHM_OP_ITER_CLOSE: {
        c->status = -EBADF;
        for (int i = 0; i < 8; i++) {
            if (iters[i].id != q->arg0)
                continue;
            c->status = 0;
            c->r0 = q->arg0;
            if (q->opcode == SHM_OP_ITER_CLOSE)
                iters[i].id = 0;
            else {
                c->flags = fill_page(&iters[i], a + q->out_off, q->out_cap, q->arg1, c);
                __atomic_add_fetch(nexts_served, 1, __ATOMIC_RELEASE);
            }
        }
        break;
    }
    case SHM_OP_SET_OPTION:
        if (q->key_len == 6 && memcmp(key, "noscan", 6) == 0)
            old_daemon = true; /* plays a daemon older than ITER_SCAN */
        else if (q->key_len == 8 && memcmp(key, "shutdown", 8) == 0)
            shm_session_end(s, ESHUTDOWN);
        else if (q->key_len == 3 && memcmp(key, "lie", 3) == 0)
            lie_pieces = true;
        else if (q->key_len == 3 && memcmp(key, "bad", 3) == 0)
            c->status = -EINVAL;
        break;
    case SHM_OP_STATS: {
        static const char js[] = "{\"fake\":true}";
        c->r0 = sizeof(js) - 1;
        memcpy(a + q->out_off, js, sizeof(js) - 1);
        break;
    }
    case SHM_OP_GET_OPTION: { /* "" -> two lines; "nope" -> -EINVAL; "huge"
                                 -> too long; else "v:" + the name */
        char out[4200];
        int n;
        if (q->key_len == 0)
            n = snprintf(out, sizeof out, "a=1\nb=2\n");
        else
            n = snprintf(out, sizeof out, "v:%.*s", (int)q->key_len, key);
        if (q->key_len == 4 && memcmp(key, "nope", 4) == 0) {
            c->status = -EINVAL;
            break;
        }
        c->r0 = (uint64_t)n;
        if (q->key_len == 4 && memcmp(key, "huge", 4) == 0)
            c->r0 = (uint64_t)q->out_cap + 1;
        if (c->r0 > q->out_cap)
            c->status = LSM_ETOOSMALL;
        else
            memcpy(a + q->out_off, out, (size_t)n);
        break;
    }
    case SHM_OP_CHANGES: {
        /* since 99: history gone; 66: a page going backwards; else three
         * entries after since, caught up from since 10 on. */
        if (q->arg0 == 99) {
            c->status = -ERANGE;
            break;
        }
        struct { uint8_t type; const char *k, *v; } e[3] = {
            { 1, "a", "1" }, { 0, "b", "" }, { 1, "c", "33" } };
        char *p = a + q->out_off;
        uint32_t used = 0;
        for (int i = 0; i < 3; i++) {
            uint64_t seq = q->arg0 + 1 + (uint64_t)i - (q->arg0 == 66 && i == 2 ? 2 : 0);
            uint32_t kl = (uint32_t)strlen(e[i].k), vl = (uint32_t)strlen(e[i].v);
            memcpy(p + used, &seq, 8);
            memcpy(p + used + 8, &e[i].type, 1);
            memcpy(p + used + 9, &kl, 4);
            memcpy(p + used + 13, &vl, 4);
            memcpy(p + used + 17, e[i].k, kl);
            memcpy(p + used + 17 + kl, e[i].v, vl);
            used += 17 + kl + vl;
        }
        c->r0 = q->arg0 + 3;
        c->r1 = used;
        c->aux = 3;
        c->flags = q->arg0 >= 10 ? SHM_CQ_ITER_END : 0;
        break;
    }
    case SHM_OP_CHECKPOINT: /* "/ck" is new, anything else exists */
        if (q->key_len != 3 || memcmp(key, "/ck", 3) != 0)
            c->status = -EEXIST;
        break;
    default: break; /* FLUSH, COMPACT, SNAP_LIST: succeed */
    }
}

static void serve_client(int sock)
{
    old_daemon = false; /* each client meets a current daemon first */
    struct shm_hello_req req;
    const char *why;
    char reason[SHM_HELLO_WHY_BYTES];
    if (shm_hello_server_recv(sock, &req, 2000, reason, sizeof reason))
        return;
    struct shm_session *s;
    if (shm_session_create(&req, NULL, 77, -1, &s, &why))
        _exit(20);
    int rfd = shm_dir_reader_fd(&dir);
    if (shm_session_welcome(s, sock, rfd))
        _exit(21);
    close(rfd);
    uint32_t kick = 0;
    for (;;) {
        struct shm_sqe q;
        int rc = shm_session_next(s, &q);
        if (rc < 0)
            _exit(22);
        if (rc == 1) {
            struct shm_cqe c = { .tag = q.tag };
            handle(s, &q, &c);
            if (shm_session_complete(s, &c))
                _exit(23);
            continue;
        }
        /* No spin: every request goes through the futex wake path, and a
         * lost wake-up would stall for the whole timeout (test_async
         * checks its time). */
        shm_server_wait(&s, 1, &kick, 0, 0, 3000000000ull);
        if (shm_hello_peer_alive(sock) < 0)
            break;
    }
    shm_session_destroy(s);
}

static pid_t daemon_pid;
static char *tmpdir;
static char sock_path[256];

int fake_lsmd_start(void **state)
{
    (void)state;
    tmpdir = th_tempdir("lsmd-client");
    snprintf(sock_path, sizeof(sock_path), "%s/lsmd.sock", tmpdir);
    int ls = socket(AF_UNIX, SHM_SOCK_TYPE | SOCK_CLOEXEC, 0);
    assert_true(ls >= 0);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    assert_true(strlen(sock_path) < sizeof(sa.sun_path));
    memcpy(sa.sun_path, sock_path, strlen(sock_path) + 1);
    assert_int_equal(bind(ls, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(ls, 8), 0);
    nexts_served = mmap(NULL, sizeof *nexts_served, PROT_READ | PROT_WRITE,
                        MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(nexts_served != MAP_FAILED);
    daemon_pid = fork();
    assert_true(daemon_pid >= 0);
    if (daemon_pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive a failed test */
        if (getppid() == 1)
            _exit(32);
        if (shm_dir_create(64, &dir))
            _exit(30);
        for (;;) { /* one client at a time */
            int cs = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
            if (cs < 0)
                _exit(31);
            serve_client(cs);
            close(cs);
        }
    }
    close(ls);
    return 0;
}

int fake_lsmd_stop(void **state)
{
    (void)state;
    if (daemon_pid > 0) {
        kill(daemon_pid, SIGKILL);
        waitpid(daemon_pid, NULL, 0);
        daemon_pid = 0;
    }
    th_rmrf_free(tmpdir);
    munmap(nexts_served, sizeof *nexts_served);
    return 0;
}

const char *fake_lsmd_socket(void)
{
    return sock_path;
}

const char *fake_lsmd_dir(void)
{
    return tmpdir;
}

uint32_t fake_lsmd_nexts_served(void)
{
    return __atomic_load_n(nexts_served, __ATOMIC_ACQUIRE);
}

void fake_lsmd_signal(int sig)
{
    kill(daemon_pid, sig);
    if (sig == SIGKILL) {
        waitpid(daemon_pid, NULL, 0);
        daemon_pid = 0;
    }
}
