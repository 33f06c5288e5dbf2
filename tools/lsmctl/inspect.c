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
        return usage_err(msg);
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

int cmd_sst_dump(lsmd_conn *c, const cmd_args *a)
{
    (void)c;
    int rc = one_arg(a, "sst-dump FILE");
    if (rc)
        return rc;
    unsigned flags = INSPECT_KEYS | (a->values ? INSPECT_VALUES : 0);
    return finish("sst-dump", a->pos[0], inspect_sst_dump(a->pos[0], flags, stdout, NULL));
}

int cmd_wal_dump(lsmd_conn *c, const cmd_args *a)
{
    (void)c;
    int rc = one_arg(a, "wal-dump FILE");
    if (rc)
        return rc;
    unsigned flags = INSPECT_KEYS | (a->values ? INSPECT_VALUES : 0);
    return finish("wal-dump", a->pos[0], inspect_wal_dump(a->pos[0], flags, stdout, NULL));
}

int cmd_manifest_dump(lsmd_conn *c, const cmd_args *a)
{
    (void)c;
    int rc = one_arg(a, "manifest-dump DIR");
    if (rc)
        return rc;
    return finish("manifest-dump", a->pos[0], inspect_manifest_dump(a->pos[0], stdout, NULL));
}

int cmd_verify(lsmd_conn *c, const cmd_args *a)
{
    (void)c;
    int rc = one_arg(a, "verify DIR");
    if (rc)
        return rc;
    rc = inspect_verify(a->pos[0], stdout, NULL, NULL);
    if (rc == -EBUSY)
        fprintf(stderr, "lsmctl: verify %s: the database is open (stop lsmd first)\n",
                a->pos[0]);
    return rc == -EBUSY ? (fflush(stdout), 1) : finish("verify", a->pos[0], rc);
}

int cmd_repair(lsmd_conn *c, const cmd_args *a)
{
    (void)c;
    int rc = one_arg(a, "repair DIR");
    if (rc)
        return rc;
    rc = inspect_repair(a->pos[0], stdout, NULL);
    if (rc == -EBUSY) {
        fprintf(stderr, "lsmctl: repair %s: the database is open (stop lsmd first)\n",
                a->pos[0]);
        return 1;
    }
    return finish("repair", a->pos[0], rc);
}
