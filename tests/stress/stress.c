/*
 * stress.c — the crash stress driver of issue 6 (docs/reliability.md,
 * "Stress"): a real lsmd built with kill points, N client processes with
 * mixed workloads through libclient, the daemon killed over and over
 * (SIGKILL at a random moment, or at a named kill point, or at random kill
 * points), restarted on the same directory with new random settings, and
 * every client's keys checked against the oracle (oracle.h) after each
 * restart.
 *
 *   stress [--lsmd PATH] [--duration S] [--cycles N] [--clients N]
 *          [--keys N] [--seed S] [--dir DIR] [--keep] [--keep-going]
 *          [--save-crash] [--inject wal-tail]
 *
 * One cycle: start lsmd (random settings; armed or not) -> verify the
 * previous cycle's history -> clients write and read, an admin client
 * switches the compaction style and flushes/compacts -> the daemon dies
 * (its kill point, or our SIGKILL at a random time, or our SIGKILL when an
 * armed point was not reached within the window) -> clients see their
 * calls fail and stop.  A death during start-up or verification (a kill
 * point in recovery or in background work) is a "recovery kill": restart
 * unarmed and verify again.  At the end, one cycle stops the daemon with
 * SIGTERM instead: then nothing acknowledged may be lost.
 *
 * Prints a line per cycle and a summary line; exits 1 if a must-be-zero
 * count (lost synced, holes, corrupt values, failed reopens, read
 * mismatches, daemon crashes, client errors or hangs, loss at clean stop)
 * is not zero, 2 on bad usage or set-up failure.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "daemon_proc.h"
#include "lsmd.h"
#include "oracle.h"
#include "stress_run.h"

#ifndef STRESS_LSMD
#define STRESS_LSMD "build/lsmd-kp"
#endif

static void usage(FILE *f)
{
    fprintf(f,
            "usage: stress [--lsmd PATH] [--duration S] [--cycles N] [--clients N] [--keys N]\n"
            "              [--seed S] [--dir DIR] [--keep] [--keep-going] [--save-crash]\n"
            "              [--inject wal-tail]\n"
            "  --lsmd PATH    daemon built with kill points (default %s)\n"
            "  --duration S   stop starting cycles after S seconds (default 60)\n"
            "  --cycles N     ... or after N cycles (default: no limit)\n"
            "  --clients N    workload client processes (default 4)\n"
            "  --keys N       keys per client (default 4000)\n"
            "  --seed S       random seed (default: time); printed at start\n"
            "  --dir DIR      work directory (default: a new one under $TMPDIR or /tmp)\n"
            "  --keep         keep the work directory (always kept on failure)\n"
            "  --keep-going   do not stop at the first failed check\n"
            "  --save-crash   copy db/ to db.crash before each restart (for debugging)\n"
            "  --inject wal-tail  self-test: before each restart cut the newest WAL file\n"
            "                 in half; the lost writes must be reported\n",
            STRESS_LSMD);
}

static int parse_args(stress_opts *o, int argc, char **argv)
{
    *o = (stress_opts){ .lsmd = STRESS_LSMD, .duration = 60, .clients = 4, .keys = 4000,
                        .seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32) };
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool has = true;
        if (strcmp(a, "--keep") == 0)
            o->keep = true, has = false;
        else if (strcmp(a, "--keep-going") == 0)
            o->keep_going = true, has = false;
        else if (strcmp(a, "--save-crash") == 0)
            o->save_crash = true, has = false;
        else if (strcmp(a, "--inject") == 0 && v && strcmp(v, "wal-tail") == 0)
            o->inject = true;
        else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)
            return usage(stdout), 1;
        else if (!v)
            return fprintf(stderr, "stress: %s needs a value\n", a), -1;
        else if (strcmp(a, "--lsmd") == 0)
            o->lsmd = v;
        else if (strcmp(a, "--duration") == 0)
            o->duration = atof(v);
        else if (strcmp(a, "--cycles") == 0)
            o->max_cycles = atol(v);
        else if (strcmp(a, "--clients") == 0)
            o->clients = (unsigned)atoi(v);
        else if (strcmp(a, "--keys") == 0)
            o->keys = (uint32_t)atol(v);
        else if (strcmp(a, "--seed") == 0)
            o->seed = strtoull(v, NULL, 0);
        else if (strcmp(a, "--dir") == 0)
            o->dir = v;
        else
            return fprintf(stderr, "stress: unknown argument %s\n", a), usage(stderr), -1;
        if (has)
            i++;
    }
    if (o->clients < 1 || o->clients > 99 || o->keys < 16 || o->keys > 999999 ||
        o->duration < 0) {
        fprintf(stderr, "stress: --clients must be 1..99, --keys 16..999999\n");
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    stress_opts o;
    int rc = parse_args(&o, argc, argv);
    if (rc)
        return rc > 0 ? 0 : 2;
    if (access(o.lsmd, X_OK) != 0) {
        fprintf(stderr, "stress: %s is not an executable (build it: make %s)\n", o.lsmd, o.lsmd);
        return 2;
    }
    char *root = NULL;
    if (o.dir) {
        if (mkdir(o.dir, 0755) != 0 && errno != EEXIST) {
            fprintf(stderr, "stress: mkdir %s: %s\n", o.dir, strerror(errno));
            return 2;
        }
        root = strdup(o.dir);
    } else {
        const char *tmp = getenv("TMPDIR");
        if (asprintf(&root, "%s/lsmd-stress.XXXXXX", tmp && *tmp ? tmp : "/tmp") < 0 ||
            !mkdtemp(root)) {
            fprintf(stderr, "stress: cannot create a work directory\n");
            return 2;
        }
    }
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);
    rc = stress_run(&o, root);
    if (rc == 0 && !o.keep) {
        char *cmd;
        if (asprintf(&cmd, "rm -rf '%s'", root) >= 0) {
            if (system(cmd) != 0)
                fprintf(stderr, "stress: could not remove %s\n", root);
            free(cmd);
        }
    } else {
        printf("stress: work directory kept: %s\n", root);
    }
    free(root);
    return rc == 0 ? 0 : rc < 0 ? 2 : 1;
}
