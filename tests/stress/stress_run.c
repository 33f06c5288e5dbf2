/* stress_run.c — see stress_run.h and stress.c. */
#include "stress_run.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "daemon_proc.h"
#include "base/killpoint.h"
#include "lsmd.h"
#include "oracle.h"
#include "rng.h"

#define MAX_POINTS 16
#define WINDOW_S 3.0        /* longest write phase of a cycle */
#define CLEAN_STOP_AT_S 1.5 /* the final cycle's SIGTERM */
#define CLIENT_GRACE_S 10.0 /* clients must notice the death within this */
#define START_TIMEOUT_S 60.0

enum kill_mode { KM_SIGNAL, KM_POINT, KM_RANDOM, KM_CLEAN };
static const char *const g_mode_names[] = { "sigkill", "killpoint", "random-kp", "sigterm" };

typedef struct totals {
    uint64_t acked, synced, lost_synced, lost_unsynced, holes, corrupt;
    uint64_t inflight, inflight_landed;
    uint64_t failed_reopens, daemon_crashes, read_mismatches, read_errors, verify_mismatches;
    uint64_t client_errors, client_hangs, clean_stop_loss, admin_errors;
    uint64_t kills[4], kp_unreached, recovery_kills, startup_kills, switches;
    uint64_t gets, scans;
    uint64_t point_run[MAX_POINTS], point_recovery[MAX_POINTS];
    double restart_s, verify_s, write_s;
} totals;

/* One cycle: its daemon start, its write phase and the check that follows. */
typedef struct cycle {
    long n;
    dp_settings set;
    dp_arm arm;
    char arm_desc[128];     /* the arming as chosen (before any recovery kill) */
    int point;              /* KM_POINT: index of the armed point */
    enum kill_mode mode;
    double kill_at;         /* our SIGKILL/SIGTERM (or the fallback) */
    double died_at;
    bool by_us;             /* our signal ended it */
    bool arm_spent;         /* the arming fired during start-up/verification */
    dp_exit ex;
    unsigned recovery_kills, startup_kills;
    double restart_s, verify_s;
    verify_result v;        /* summed over clients */
    uint64_t read_mismatches, client_errors, hangs;
} cycle;

typedef struct run {
    const stress_opts *o;
    dp_daemon d;
    oracle orc;
    oplog *logs[ORACLE_MAX_CLIENTS];
    admin_log *alog;
    pid_t kids[ORACLE_MAX_CLIENTS + 1];
    uint64_t *observed;
    th_rng r;
    const char *points[MAX_POINTS];
    unsigned npoints;
    double hi[MAX_POINTS];  /* adaptive upper bound of N per point */
    totals t;
} run;

static int point_index(const run *r, const char *name)
{
    for (unsigned i = 0; i < r->npoints; i++)
        if (strcmp(r->points[i], name) == 0)
            return (int)i;
    return -1;
}

/* ---- starting and checking -------------------------------------------------- */

/* The arming of c fired at point during start-up or verification: count
 * it, and let the cycle's write phase end by our SIGKILL instead. */
static void spend_arm(run *r, cycle *c, const char *point)
{
    int p = point_index(r, point);
    if (p >= 0) {
        r->t.point_recovery[p]++;
        if (c->mode == KM_POINT && p == c->point && r->hi[p] < 1e6)
            r->hi[p] *= 2; /* reached too early: aim at the running daemon */
    }
    c->recovery_kills++;
    c->arm_spent = true;
    c->arm.mode = DP_ARM_NONE;
    c->mode = KM_SIGNAL;
    c->kill_at = th_rng_uniform(&r->r, 0.5, WINDOW_S);
}

static int failed_reopen(run *r, const cycle *c, int rc, const dp_exit *ex)
{
    char how[128];
    if (rc == DP_DIED)
        dp_exit_str(ex, how, sizeof how);
    else
        snprintf(how, sizeof how, "%s", rc == -ETIMEDOUT ? "no answer" : strerror(-rc));
    fprintf(stderr, "stress: cycle %ld: FAILED REOPEN: lsmd start #%u: %s\n", c->n, r->d.starts,
            how);
    dp_dump_log(&r->d, stderr, 60);
    r->t.failed_reopens++;
    return -1;
}

/* One start in ten is SIGKILLed 0-60 ms after exec, mostly in the middle
 * of recovering the last crash.  Returns 0 or -1 (a failed reopen). */
static int startup_kill(run *r, cycle *c)
{
    dp_arm none = { .mode = DP_ARM_NONE };
    dp_exit ex;
    int rc = dp_spawn(&r->d, &c->set, &none);
    if (rc)
        return failed_reopen(r, c, rc, &ex);
    usleep((useconds_t)th_rng_below(&r->r, 60000));
    if (dp_exited(&r->d, &ex))
        return failed_reopen(r, c, DP_DIED, &ex);
    dp_kill(&r->d, &ex);
    c->startup_kills++;
    return 0;
}

/* Starts the daemon for cycle c; a kill point firing during start-up is a
 * recovery kill: restart unarmed.  Returns 0 or -1 (a failed reopen). */
static int start_daemon(run *r, cycle *c, bool may_abort)
{
    if (may_abort && c->mode != KM_CLEAN && th_rng_below(&r->r, 10) == 0 &&
        startup_kill(r, c) != 0)
        return -1;
    for (int attempt = 0;; attempt++) {
        dp_exit ex;
        double t0 = dp_now();
        int rc = dp_start(&r->d, &c->set, &c->arm, START_TIMEOUT_S, &ex);
        c->restart_s += dp_now() - t0;
        if (rc == DP_STARTED)
            return 0;
        if (rc == DP_DIED && ex.killpoint && c->arm.mode != DP_ARM_NONE && attempt < 3) {
            spend_arm(r, c, ex.point);
            continue;
        }
        return failed_reopen(r, c, rc, &ex);
    }
}

/* Reads the whole database into r->observed: one scan of everything, then
 * gets of a sample compared with the scan.  0, or the call's error. */
static int observe(run *r, uint64_t *mismatches)
{
    const stress_opts *o = r->o;
    size_t total = (size_t)o->clients * o->keys;
    for (size_t i = 0; i < total; i++)
        r->observed[i] = VID_ABSENT;
    lsmd_conn *c;
    int rc = lsmd_connect(r->d.sock, &c);
    if (rc)
        return rc;
    lsmd_iter *it;
    rc = lsmd_iter_new(c, 0, NULL, 0, NULL, 0, &it);
    if (rc) {
        lsmd_disconnect(c);
        return rc;
    }
    for (; lsmd_iter_valid(it); lsmd_iter_next(it)) {
        size_t kl, vl;
        const char *k = lsmd_iter_key(it, &kl);
        const void *v = lsmd_iter_value(it, &vl);
        unsigned cl = kl > 4 && k[2] >= '0' && k[2] <= '9' && k[3] >= '0' && k[3] <= '9'
                          ? (unsigned)(k[2] - '0') * 10 + (unsigned)(k[3] - '0') : 999;
        long key = cl < o->clients ? oracle_parse_key(k, kl, cl) : -1;
        if (key < 0 || key >= (long)o->keys) {
            if ((*mismatches)++ < 5)
                fprintf(stderr, "stress: stray key '%.*s' in the database\n", (int)kl, k);
            continue;
        }
        r->observed[(size_t)cl * o->keys + (size_t)key] =
            oracle_value_vid(v, vl, cl, (uint32_t)key);
    }
    rc = lsmd_iter_status(it);
    lsmd_iter_free(it);
    static char buf[ORACLE_MAX_VALUE];
    for (unsigned cl = 0; cl < o->clients && rc == 0; cl++) {
        for (int s = 0; s < 64 && rc == 0; s++) {
            uint32_t key = (uint32_t)th_rng_below(&r->r, o->keys);
            char k[ORACLE_KEY_LEN + 1];
            size_t kl = oracle_key(k, cl, key), vl = 0;
            rc = lsmd_get_into(c, 0, k, kl, buf, sizeof buf, &vl);
            uint64_t vid = rc == 0 ? oracle_value_vid(buf, vl, cl, key) : VID_ABSENT;
            if (rc == LSM_ENOTFOUND)
                rc = 0;
            if (rc == 0 && vid != r->observed[(size_t)cl * o->keys + key] &&
                (*mismatches)++ < 5)
                fprintf(stderr, "stress: client %u key %06u: get says %#llx, scan says %#llx\n",
                        cl, key, (unsigned long long)vid,
                        (unsigned long long)r->observed[(size_t)cl * o->keys + key]);
        }
    }
    lsmd_disconnect(c);
    return rc;
}

/* Restarted daemon up: read it back and check every client's history.
 * A death during the reads (a kill point in background work) is a
 * recovery kill: restart unarmed and read again.  Returns 0 or -1. */
static int verify(run *r, cycle *c, cycle *next)
{
    double t0 = dp_now();
    uint64_t mism = 0;
    for (int attempt = 0;; attempt++) {
        mism = 0;
        int rc = observe(r, &mism);
        if (rc == 0)
            break;
        dp_exit ex;
        double until = dp_now() + 5;
        while (!dp_exited(&r->d, &ex) && dp_now() < until)
            usleep(5000);
        if (r->d.pid == 0 && ex.killpoint && next->arm.mode != DP_ARM_NONE && attempt < 3) {
            spend_arm(r, next, ex.point);
            if (start_daemon(r, next, false) != 0)
                return -1;
            continue;
        }
        char how[128] = "still running";
        if (r->d.pid == 0)
            dp_exit_str(&ex, how, sizeof how);
        fprintf(stderr, "stress: cycle %ld: reading the database back failed: %s (lsmd: %s)\n",
                c->n, lsmd_strerror(rc), how);
        dp_dump_log(&r->d, stderr, 60);
        r->t.failed_reopens++;
        return -1;
    }
    r->t.verify_mismatches += mism;
    for (unsigned cl = 0; cl < r->o->clients; cl++) {
        verify_result v;
        if (oracle_verify(&r->orc, cl, r->logs[cl], r->observed + (size_t)cl * r->o->keys, &v,
                          stderr) != 0) {
            fprintf(stderr, "stress: out of memory\n");
            return -1;
        }
        c->v.intents += v.intents;
        c->v.acked += v.acked;
        c->v.synced_acked += v.synced_acked;
        c->v.lost_synced += v.lost_synced;
        c->v.lost_unsynced += v.lost_unsynced;
        c->v.inflight += v.inflight;
        c->v.inflight_landed += v.inflight_landed;
        c->v.holes += v.holes;
        c->v.corrupt += v.corrupt;
    }
    c->verify_s = dp_now() - t0;
    return 0;
}

/* ---- the write phase -------------------------------------------------------- */

static void pick_kill(run *r, cycle *c, bool final)
{
    c->arm = (dp_arm){ .mode = DP_ARM_NONE };
    c->point = -1;
    if (final) {
        c->mode = KM_CLEAN;
        c->kill_at = CLEAN_STOP_AT_S;
        return;
    }
    unsigned roll = (unsigned)th_rng_below(&r->r, 100);
    if (roll < 35) {
        c->mode = KM_SIGNAL;
        c->kill_at = th_rng_below(&r->r, 10) == 0 ? th_rng_uniform(&r->r, 0.02, 0.3)
                                                 : th_rng_uniform(&r->r, 0.5, WINDOW_S);
        return;
    }
    c->kill_at = WINDOW_S; /* the fallback when the arming is not reached */
    if (roll < 80) {
        c->mode = KM_POINT;
        c->point = (int)th_rng_below(&r->r, r->npoints);
        c->arm = (dp_arm){ .mode = DP_ARM_POINT, .point = r->points[c->point],
                           .n = 1 + th_rng_below(&r->r, (uint64_t)r->hi[c->point]) };
    } else {
        static const unsigned pm[] = { 1, 2, 5, 10, 20 };
        c->mode = KM_RANDOM;
        c->arm = (dp_arm){ .mode = DP_ARM_RANDOM, .permille = pm[th_rng_below(&r->r, 5)],
                           .seed = 1 + th_rng_below(&r->r, 1u << 30) };
    }
}

static pid_t fork_client(run *r, unsigned i, uint64_t seed)
{
    th_rng pr;
    th_rng_seed(&pr, seed);
    static const unsigned sync_pm[] = { 0, 5, 50, 250, 1000 };
    client_params p = {
        .id = i, .socket = r->d.sock, .nkeys = r->o->keys, .seed = th_rng_next(&pr),
        .next_seq = r->orc.next_seq[i],
        .get_pm = 100 + (unsigned)th_rng_below(&pr, 300), .scan_pm = 5 + (unsigned)th_rng_below(&pr, 35),
        .delete_pm = 50 + (unsigned)th_rng_below(&pr, 200), .batch_pm = (unsigned)th_rng_below(&pr, 300),
        .sync_pm = sync_pm[th_rng_below(&pr, 5)], .hot_pm = (unsigned)th_rng_below(&pr, 900),
    };
    oplog_reset(r->logs[i]);
    pid_t pid = fork();
    if (pid == 0)
        client_run(&p, oracle_state(&r->orc, i), r->logs[i]);
    return pid;
}

static pid_t fork_admin(run *r, const cycle *c, uint64_t seed)
{
    th_rng pr;
    th_rng_seed(&pr, seed);
    admin_params p = {
        .socket = r->d.sock, .seed = th_rng_next(&pr),
        .switch_at = th_rng_below(&pr, 2) ? th_rng_uniform(&pr, 0.05, c->kill_at) : -1,
        .switch_to = strcmp(c->set.compaction, "leveled") == 0 ? "tiered" : "leveled",
        .busy = (int)th_rng_below(&pr, 2),
    };
    memset(r->alog, 0, sizeof *r->alog);
    pid_t pid = fork();
    if (pid == 0)
        admin_run(&p, r->alog);
    return pid;
}

static bool all_finished(const run *r)
{
    for (unsigned i = 0; i < r->o->clients; i++)
        if (!atomic_load_explicit(&r->logs[i]->finished, memory_order_acquire))
            return false;
    return true;
}

/* Waits for every child; SIGKILLs those still running after the grace
 * time (a client that does not notice the daemon's death).  Returns the
 * number of workload clients that had to be killed. */
static uint64_t reap_children(run *r, unsigned n)
{
    double until = dp_now() + CLIENT_GRACE_S;
    uint64_t hung = 0;
    for (unsigned i = 0; i < n; i++) {
        if (r->kids[i] <= 0)
            continue;
        int status;
        while (waitpid(r->kids[i], &status, WNOHANG) == 0) {
            if (dp_now() > until) {
                fprintf(stderr, "stress: %s %u still running %.0f s after the daemon died: "
                        "killed\n", i < r->o->clients ? "client" : "admin client", i,
                        CLIENT_GRACE_S);
                kill(r->kids[i], SIGKILL);
                waitpid(r->kids[i], &status, 0);
                hung += i < r->o->clients;
                break;
            }
            usleep(2000);
        }
        r->kids[i] = 0;
    }
    return hung;
}

static void write_phase(run *r, cycle *c)
{
    unsigned n = r->o->clients;
    fflush(NULL);
    for (unsigned i = 0; i < n; i++)
        r->kids[i] = fork_client(r, i, th_rng_next(&r->r));
    r->kids[n] = fork_admin(r, c, th_rng_next(&r->r));
    double t0 = dp_now();
    bool early = false;
    for (;;) {
        double t = dp_now() - t0;
        if (dp_exited(&r->d, &c->ex)) {
            c->died_at = t;
            break;
        }
        if (t >= c->kill_at || (early = all_finished(r))) {
            c->died_at = t;
            c->by_us = true;
            if (c->mode == KM_CLEAN && !early) {
                if (dp_stop(&r->d, 30, &c->ex) != 0)
                    r->t.daemon_crashes++;
            } else {
                dp_kill(&r->d, &c->ex);
            }
            break;
        }
        usleep(2000);
    }
    c->hangs = reap_children(r, n + 1);
    r->t.write_s += c->died_at;
    if (early)
        fprintf(stderr, "stress: cycle %ld: every client stopped while the daemon ran\n", c->n);

    for (unsigned i = 0; i < n; i++) {
        oplog *l = r->logs[i];
        int rc = atomic_load(&l->end_rc);
        bool ok = !atomic_load(&l->finished) || client_rc_is_gone(rc) ||
                  rc == -ECONNREFUSED || rc == -ENOENT;
        if (!ok) {
            c->client_errors++;
            fprintf(stderr, "stress: cycle %ld: client %u stopped with %s\n", c->n, i,
                    lsmd_strerror(rc));
        }
        if (l->read_mismatches || l->read_errors)
            fprintf(stderr, "stress: cycle %ld: client %u: %llu read mismatches, %llu read "
                    "errors; first: %s\n", c->n, i, (unsigned long long)l->read_mismatches,
                    (unsigned long long)l->read_errors, l->first_mismatch);
        c->read_mismatches += l->read_mismatches;
        r->t.read_errors += l->read_errors;
        r->t.gets += l->gets;
        r->t.scans += l->scans;
    }
    admin_log *a = r->alog;
    r->t.switches += a->switches;
    if (a->errors) {
        r->t.admin_errors += a->errors;
        fprintf(stderr, "stress: cycle %ld: admin client: %u errors; first: %s\n", c->n,
                a->errors, a->first_error);
    }
}

/* ---- reporting -------------------------------------------------------------- */

/* Classifies the death, adapts the kill-point bounds, and returns false if
 * the daemon died in a way nobody asked for. */
static bool account_death(run *r, cycle *c, char *how, size_t cap)
{
    char ex[96];
    dp_exit_str(&c->ex, ex, sizeof ex);
    if (c->mode == KM_CLEAN) {
        snprintf(how, cap, "sigterm @%.2fs (%s)", c->died_at, ex);
        r->t.kills[KM_CLEAN]++;
        return WIFEXITED(c->ex.status) && WEXITSTATUS(c->ex.status) == 0;
    }
    if (c->ex.killpoint) {
        int p = point_index(r, c->ex.point);
        if (p >= 0)
            r->t.point_run[p]++;
        if (c->mode == KM_POINT && p == c->point && r->hi[p] < 1e6)
            r->hi[p] *= 1.5; /* reached: try later hits too */
        r->t.kills[c->arm.mode == DP_ARM_RANDOM ? KM_RANDOM : KM_POINT]++;
        snprintf(how, cap, "%s @%.2fs", c->ex.point, c->died_at);
        return true;
    }
    bool sigkill = WIFSIGNALED(c->ex.status) && WTERMSIG(c->ex.status) == SIGKILL;
    if (c->by_us && sigkill) {
        r->t.kills[KM_SIGNAL]++;
        if (c->arm.mode != DP_ARM_NONE) {
            r->t.kp_unreached++;
            if (c->mode == KM_POINT && r->hi[c->point] > 1.5)
                r->hi[c->point] *= 0.6;
            snprintf(how, cap, "sigkill @%.2fs (armed point not reached)", c->died_at);
        } else {
            snprintf(how, cap, "sigkill @%.2fs", c->died_at);
        }
        return true;
    }
    snprintf(how, cap, "DAEMON DIED: %s @%.2fs", ex, c->died_at);
    return false;
}

/* c's line; the restart that verified it belongs to next. */
static void print_cycle(run *r, const cycle *c, const cycle *next, const char *how)
{
    char set[256];
    dp_settings_str(&c->set, set, sizeof set);
    const admin_log *a = r->alog;
    char sw[48] = "";
    if (a->switches)
        snprintf(sw, sizeof sw, " ->%s@%.2fs", a->switched_to, a->switch_at);
    printf("cycle %ld: %s%s | %s%s -> %s | acked=%llu synced=%llu inflight=%llu landed=%llu "
           "lost_synced=%llu lost_unsynced=%llu holes=%llu corrupt=%llu | restart %.2fs%s "
           "verify %.2fs\n",
           c->n, set, sw, c->arm_spent ? "(arm spent in recovery) " : "",
           c->arm_desc, how,
           (unsigned long long)c->v.acked, (unsigned long long)c->v.synced_acked,
           (unsigned long long)c->v.inflight, (unsigned long long)c->v.inflight_landed,
           (unsigned long long)c->v.lost_synced, (unsigned long long)c->v.lost_unsynced,
           (unsigned long long)c->v.holes, (unsigned long long)c->v.corrupt, next->restart_s,
           next->recovery_kills && next->startup_kills
               ? " (after a kill point and a sigkill in recovery)"
           : next->recovery_kills ? " (after a kill point in recovery)"
           : next->startup_kills ? " (after a sigkill in recovery)" : "",
           c->verify_s);
}

/* Adds c to the totals; true if every must-be-zero count of c is zero. */
static bool account_cycle(run *r, const cycle *c, const cycle *next, bool death_ok)
{
    totals *t = &r->t;
    t->acked += c->v.acked;
    t->synced += c->v.synced_acked;
    t->lost_synced += c->v.lost_synced;
    t->lost_unsynced += c->v.lost_unsynced;
    t->holes += c->v.holes;
    t->corrupt += c->v.corrupt;
    t->inflight += c->v.inflight;
    t->inflight_landed += c->v.inflight_landed;
    t->read_mismatches += c->read_mismatches;
    t->client_errors += c->client_errors;
    t->client_hangs += c->hangs;
    t->recovery_kills += next->recovery_kills;
    t->startup_kills += next->startup_kills;
    t->restart_s += next->restart_s;
    t->verify_s += c->verify_s;
    if (!death_ok)
        t->daemon_crashes++;
    if (c->mode == KM_CLEAN)
        t->clean_stop_loss += c->v.lost_synced + c->v.lost_unsynced;
    return death_ok && !c->v.lost_synced && !c->v.holes && !c->v.corrupt && !c->read_mismatches &&
           !c->client_errors && !c->hangs &&
           !(c->mode == KM_CLEAN && c->v.lost_unsynced);
}

static bool totals_ok(const totals *t)
{
    return !t->lost_synced && !t->holes && !t->corrupt && !t->failed_reopens &&
           !t->daemon_crashes && !t->read_mismatches && !t->read_errors &&
           !t->verify_mismatches && !t->client_errors && !t->client_hangs && !t->clean_stop_loss;
}

static void print_summary(const run *r, long cycles, double wall)
{
    const totals *t = &r->t;
    printf("stress: kills: sigkill=%llu killpoint=%llu random-killpoint=%llu sigterm=%llu "
           "(armed but not reached: %llu); in start-up: kill points=%llu sigkill=%llu; "
           "compaction style switches=%llu\n",
           (unsigned long long)t->kills[KM_SIGNAL], (unsigned long long)t->kills[KM_POINT],
           (unsigned long long)t->kills[KM_RANDOM], (unsigned long long)t->kills[KM_CLEAN],
           (unsigned long long)t->kp_unreached, (unsigned long long)t->recovery_kills,
           (unsigned long long)t->startup_kills, (unsigned long long)t->switches);
    printf("stress: deaths per kill point (running + in recovery):");
    for (unsigned i = 0; i < r->npoints; i++)
        printf(" %s=%llu+%llu", r->points[i], (unsigned long long)t->point_run[i],
               (unsigned long long)t->point_recovery[i]);
    printf("\nstress: in-flight ops %llu (landed %llu); reads: %llu gets, %llu scans; time: "
           "writing %.0fs, restarting %.0fs, verifying %.0fs; %.2f s/cycle\n",
           (unsigned long long)t->inflight, (unsigned long long)t->inflight_landed,
           (unsigned long long)t->gets, (unsigned long long)t->scans, t->write_s, t->restart_s,
           t->verify_s, cycles ? wall / (double)cycles : 0);
    printf("stress: other must-be-0 counts: corrupt=%llu daemon_crashes=%llu "
           "read_mismatches=%llu read_errors=%llu get_scan_mismatches=%llu client_errors=%llu "
           "client_hangs=%llu clean_stop_loss=%llu (admin errors, reported: %llu)\n",
           (unsigned long long)t->corrupt, (unsigned long long)t->daemon_crashes,
           (unsigned long long)t->read_mismatches, (unsigned long long)t->read_errors,
           (unsigned long long)t->verify_mismatches, (unsigned long long)t->client_errors,
           (unsigned long long)t->client_hangs, (unsigned long long)t->clean_stop_loss,
           (unsigned long long)t->admin_errors);
    printf("stress: %s cycles=%ld acked_writes=%llu synced_acked=%llu lost_synced=%llu "
           "lost_unsynced=%llu holes=%llu failed_reopens=%llu wall=%.1fs seed=%llu\n",
           totals_ok(t) ? "PASS" : "FAIL", cycles, (unsigned long long)t->acked,
           (unsigned long long)t->synced, (unsigned long long)t->lost_synced,
           (unsigned long long)t->lost_unsynced, (unsigned long long)t->holes,
           (unsigned long long)t->failed_reopens, wall, (unsigned long long)r->o->seed);
}

/* ---- the loop ----------------------------------------------------------------- */

static int run_init(run *r, const stress_opts *o, const char *root)
{
    memset(r, 0, sizeof *r);
    r->o = o;
    th_rng_seed(&r->r, o->seed * 0x9e3779b97f4a7c15ull + 1);
    /* The checkpoint.* points are reached only inside lsm_checkpoint, which
     * this workload never calls: arming one would only end in the timed
     * fallback kill. */
    for (const char *const *n = killpoint_names(); *n && r->npoints < MAX_POINTS; n++)
        if (strncmp(*n, "checkpoint.", 11) != 0)
            r->points[r->npoints++] = *n;
    for (unsigned i = 0; i < r->npoints; i++)
        /* Start near where each point is reached within a window: WAL
         * writes thousands of times, the others a few times. */
        r->hi[i] = strncmp(r->points[i], "wal.after_write", 15) == 0 ? 2000 : 3;
    if (dp_init(&r->d, o->lsmd, root) != 0 || oracle_init(&r->orc, o->clients, o->keys) != 0)
        return -1;
    r->observed = calloc((size_t)o->clients * o->keys, sizeof *r->observed);
    void *a = mmap(NULL, sizeof *r->alog, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                   -1, 0);
    r->alog = a == MAP_FAILED ? NULL : a;
    if (!r->observed || !r->alog)
        return -1;
    for (unsigned i = 0; i < o->clients; i++)
        if (!(r->logs[i] = oplog_map()))
            return -1;
    return 0;
}

static void run_free(run *r)
{
    if (r->d.pid) {
        dp_exit ex;
        dp_kill(&r->d, &ex);
    }
    for (unsigned i = 0; i < r->o->clients; i++)
        oplog_unmap(r->logs[i]);
    if (r->alog)
        munmap(r->alog, sizeof *r->alog);
    free(r->observed);
    oracle_free(&r->orc);
    dp_free(&r->d);
}

static void save_crash_image(const run *r)
{
    char *cmd;
    if (asprintf(&cmd, "rm -rf '%s.crash' && cp -a '%s' '%s.crash'", r->d.db, r->d.db,
                 r->d.db) >= 0) {
        if (system(cmd) != 0)
            fprintf(stderr, "stress: could not copy %s\n", r->d.db);
        free(cmd);
    }
}

/* --inject wal-tail: the self-test of the checks.  Cuts the newest
 * non-empty WAL file to half its size before the restart, so the tail of
 * the acknowledged history is lost and must be reported.  Empty WALs
 * numbered above it (a memtable switch just before the kill) are removed:
 * recovery rightly refuses a torn tail behind a newer log, and the cut is
 * meant to model a lost tail, not a hole. */
static void inject_wal_tail(const run *r)
{
    DIR *dir = opendir(r->d.db);
    if (!dir)
        return;
    struct dirent *e;
    unsigned long best = 0, empty[64];
    size_t n_empty = 0;
    char name[PATH_MAX] = "";
    off_t size = 0;
    while ((e = readdir(dir)) != NULL) {
        char *end;
        unsigned long num = strtoul(e->d_name, &end, 10);
        struct stat st;
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", r->d.db, e->d_name);
        if (strcmp(end, ".log") != 0 || stat(path, &st) != 0)
            continue;
        if (st.st_size == 0) {
            if (n_empty < sizeof empty / sizeof empty[0])
                empty[n_empty++] = num;
        } else if (num >= best) {
            best = num;
            snprintf(name, sizeof name, "%s", path);
            size = st.st_size;
        }
    }
    closedir(dir);
    if (!name[0])
        return;
    for (size_t i = 0; i < n_empty; i++) {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%06lu.log", r->d.db, empty[i]);
        if (empty[i] > best && unlink(path) == 0)
            printf("stress: injected: removed the empty newer WAL %s\n", path);
    }
    if (truncate(name, size / 2) == 0)
        printf("stress: injected: %s cut from %lld to %lld bytes\n", name, (long long)size,
               (long long)size / 2);
}

static void new_cycle(run *r, cycle *c, long n, bool final)
{
    memset(c, 0, sizeof *c);
    c->n = n;
    dp_settings_random(&c->set, th_rng_next(&r->r), th_rng_next(&r->r));
    pick_kill(r, c, final);
    if (r->o->inject && !final) { /* a full WAL, then SIGKILL */
        c->set.memtable_bytes = 4u << 20;
        c->arm.mode = DP_ARM_NONE;
        c->mode = KM_SIGNAL;
        c->kill_at = th_rng_uniform(&r->r, 0.5, 1.0);
    }
    if (c->mode == KM_SIGNAL || c->mode == KM_CLEAN)
        snprintf(c->arm_desc, sizeof c->arm_desc, "%s", g_mode_names[c->mode]);
    else
        dp_arm_str(&c->arm, c->arm_desc, sizeof c->arm_desc);
}

int stress_run(const stress_opts *o, const char *root)
{
    run r;
    if (run_init(&r, o, root) != 0) {
        fprintf(stderr, "stress: set-up failed (memory or mappings)\n");
        run_free(&r);
        return -1;
    }
    printf("stress: seed=%llu lsmd=%s dir=%s clients=%u keys=%u duration=%.0fs cycles=%ld\n",
           (unsigned long long)o->seed, o->lsmd, root, o->clients, o->keys, o->duration,
           o->max_cycles);
    double t_start = dp_now();
    long done = 0;
    bool ok = true;
    cycle cur, next;
    new_cycle(&r, &cur, 0, o->max_cycles == 1 || o->duration <= 0);
    if (start_daemon(&r, &cur, false) != 0) {
        run_free(&r);
        return -1;
    }
    for (;;) {
        write_phase(&r, &cur);
        char how[160];
        bool death_ok = account_death(&r, &cur, how, sizeof how);
        if (!death_ok) {
            fprintf(stderr, "stress: cycle %ld: lsmd died unasked: %s\n", cur.n, how);
            dp_dump_log(&r.d, stderr, 60);
        }
        bool last = cur.mode == KM_CLEAN;
        bool next_final = !last && ((o->max_cycles && cur.n + 2 >= o->max_cycles) ||
                                    dp_now() - t_start >= o->duration);
        new_cycle(&r, &next, cur.n + 1, next_final);
        if (last) { /* only the check of the clean stop follows */
            next.arm.mode = DP_ARM_NONE;
            snprintf(next.arm_desc, sizeof next.arm_desc, "unarmed");
        }
        if (o->save_crash)
            save_crash_image(&r);
        if (o->inject && !last)
            inject_wal_tail(&r);
        if (start_daemon(&r, &next, true) != 0 || verify(&r, &cur, &next) != 0) {
            ok = false;
            break;
        }
        bool cycle_ok = account_cycle(&r, &cur, &next, death_ok);
        print_cycle(&r, &cur, &next, how);
        done++;
        if (!cycle_ok) {
            ok = false;
            fprintf(stderr, "stress: cycle %ld FAILED:%s%s%s%s%s%s%s%s (seed %llu; settings, "
                    "arming and the daemon's output in %s; kill-point deaths in %s)\n", cur.n,
                    death_ok ? "" : " daemon died unasked;",
                    cur.v.lost_synced ? " lost synced writes;" : "",
                    cur.v.holes ? " holes;" : "", cur.v.corrupt ? " corrupt values;" : "",
                    cur.read_mismatches ? " client read mismatches;" : "",
                    cur.client_errors ? " client errors;" : "",
                    cur.hangs ? " clients hung;" : "",
                    cur.mode == KM_CLEAN && cur.v.lost_unsynced ? " loss at a clean stop;" : "",
                    (unsigned long long)o->seed, r.d.log, r.d.kplog);
            if (!o->keep_going)
                break;
        }
        if (last) {
            dp_exit ex;
            if (dp_stop(&r.d, 30, &ex) != 0) {
                char s[96];
                dp_exit_str(&ex, s, sizeof s);
                fprintf(stderr, "stress: the final clean stop failed: %s\n", s);
                r.t.daemon_crashes++;
                ok = false;
            }
            break;
        }
        cur = next;
    }
    double wall = dp_now() - t_start;
    print_summary(&r, done, wall);
    ok = ok && totals_ok(&r.t);
    run_free(&r);
    return ok ? 0 : 1;
}
