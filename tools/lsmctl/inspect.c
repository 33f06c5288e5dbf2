/*
 * inspect.c — the offline commands that look inside a database's files
 * without a daemon (engine/inspect/inspect.h; docs/operations.md,
 * "Inspection and repair"):
 *
 *   sst-dump FILE [--values]   properties, index, every key (and value)
 *   wal-dump FILE [--values]   every record and its entries
 *   manifest-dump DIR          CURRENT, every edit, the resulting levels
 *   verify DIR                 every table, block and WAL checked
 *   repair DIR                 a new MANIFEST from the files present
 *
 * Exit status: 0 nothing wrong (repair: the database opens again), 1
 * damage found (a "DAMAGE <file> offset <n>: ..." line on stdout names
 * each) or the command failed, 2 usage.
 */
#include <errno.h>
#include <stdio.h>

#include "inspect/inspect.h"
#include "lsm.h"
#include "lsmctl.h"

static int one_arg(const cmd_args *a, const char *what)
{
    if (a->npos != 1) {
        char msg[96];
        snprintf(msg, sizeof msg, "%s takes exactly one argument", what);
        return ctl_usage_err(msg);
    }
    return 0;
}

/* The exit status for an inspect result; the message names file and why. */
static int finish(const char *what, const char *arg, int rc)
{
    fflush(stdout);
    if (rc == 0)
        return 0;
    if (rc != LSM_ECORRUPT)
        fprintf(stderr, "lsmctl: %s %s: %s\n", what, arg, lsm_strerror(rc));
    return 1;
}

/* sst-dump and wal-dump: FILE [--values]. */
static int dump_file(const cmd_args *a, const char *what,
                     int (*dump)(const char *, unsigned, FILE *, inspect_damage *))
{
    char usage[64];
    snprintf(usage, sizeof usage, "%s FILE", what);
    int rc = one_arg(a, usage);
    if (rc)
        return rc;
    unsigned flags = INSPECT_KEYS | (a->values ? INSPECT_VALUES : 0);
    return finish(what, a->pos[0], dump(a->pos[0], flags, stdout, NULL));
}

int cmd_sst_dump(lsmd_conn *c, const cmd_args *a)
{
    (void)c;
    return dump_file(a, "sst-dump", inspect_sst_dump);
}

int cmd_wal_dump(lsmd_conn *c, const cmd_args *a)
{
    (void)c;
    return dump_file(a, "wal-dump", inspect_wal_dump);
}

/* manifest-dump, verify and repair: DIR (verify, repair: with lsmd stopped). */
static int dir_command(const cmd_args *a, const char *what, int (*run)(const char *dir))
{
    char usage[64];
    snprintf(usage, sizeof usage, "%s DIR", what);
    int rc = one_arg(a, usage);
    if (rc)
        return rc;
    rc = run(a->pos[0]);
    if (rc == -EBUSY) {
        fflush(stdout);
        fprintf(stderr, "lsmctl: %s %s: the database is open (stop lsmd first)\n", what,
                a->pos[0]);
        return 1;
    }
    return finish(what, a->pos[0], rc);
}

static int run_verify(const char *dir) { return inspect_verify(dir, stdout, NULL, NULL); }
static int run_repair(const char *dir) { return inspect_repair(dir, stdout, NULL); }

int cmd_verify(lsmd_conn *c, const cmd_args *a)
{
    (void)c;
    return dir_command(a, "verify", run_verify);
}

int cmd_repair(lsmd_conn *c, const cmd_args *a)
{
    (void)c;
    return dir_command(a, "repair", run_repair);
}

static int run_manifest_dump(const char *dir) { return inspect_manifest_dump(dir, stdout, NULL); }

int cmd_manifest_dump(lsmd_conn *c, const cmd_args *a)
{
    (void)c;
    return dir_command(a, "manifest-dump", run_manifest_dump);
}
