/* admin.c — lsmctl's admin commands: flush, compact, set, snapshot,
 * checkpoint. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <limits.h>
#include <unistd.h>

#include "lsmctl.h"

static volatile sig_atomic_t g_stop;
static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

int check_snapshot(cmd_args *a)
{
    const char *sub = a->pos[0];
    bool release = strcmp(sub, "release") == 0;
    if (!release && strcmp(sub, "create") && strcmp(sub, "list"))
        return ctl_usage_err("snapshot takes create, list or release ID");
    if (a->npos != (release ? 2 : 1))
        return ctl_usage_err(release ? "snapshot release takes an ID"
                                     : "snapshot create and list take no argument");
    if (release && ctl_parse_u64(a->pos[1], &a->id)) {
        fprintf(stderr, "lsmctl: snapshot release: '%s' is not a snapshot ID (a whole "
                "number)\n", a->pos[1]);
        return 2;
    }
    if (a->hold && strcmp(sub, "create"))
        return ctl_usage_err("--hold goes with snapshot create");
    return 0;
}

int cmd_snapshot(lsmd_conn *c, const cmd_args *a)
{
    const char *sub = a->pos[0];
    if (strcmp(sub, "create") == 0) {
        uint64_t id;
        int rc = lsmd_snapshot_acquire(c, &id);
        if (rc)
            return ctl_fail("snapshot create", rc);
        printf(ctl_json ? "{\"id\":%llu}\n" : "%llu\n", (unsigned long long)id);
        fflush(stdout);
        if (a->hold != 0) {
            signal(SIGINT, on_signal);
            signal(SIGTERM, on_signal);
            time_t end = time(NULL) + a->hold;
            while (!g_stop && (a->hold < 0 || time(NULL) < end) && lsmd_ping(c) == 0)
                usleep(100000);
        }
        return 0;
    }
    if (strcmp(sub, "release") == 0) {
        int rc = lsmd_snapshot_release(c, a->id);
        return rc ? ctl_fail("snapshot release", rc) : ctl_ok_json();
    }
    if (strcmp(sub, "list") == 0) {
        lsmd_snapshot_info v[256];
        size_t n;
        int rc = lsmd_snapshot_list(c, v, 256, &n);
        if (rc)
            return ctl_fail("snapshot list", rc);
        if (n > 256)
            n = 256;
        if (ctl_json)
            putchar('[');
        else
            printf("%-20s %8s %10s %8s\n", "id", "holders", "creator", "age s");
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        double tnow = (double)now.tv_sec + now.tv_nsec / 1e9;
        for (size_t i = 0; i < n; i++) {
            double age = tnow - (double)v[i].created_ns / 1e9;
            if (ctl_json)
                printf("%s{\"id\":%llu,\"sequence\":%llu,\"holders\":%u,\"creator_pid\":%u,"
                       "\"creator_id\":%llu,\"age_s\":%.3f}",
                       i ? "," : "", (unsigned long long)v[i].id,
                       (unsigned long long)v[i].sequence, v[i].holders, v[i].creator_pid,
                       (unsigned long long)v[i].creator_id, age);
            else
                printf("%-20llu %8u %10u %8.1f\n", (unsigned long long)v[i].id, v[i].holders,
                       v[i].creator_pid, age);
        }
        if (ctl_json)
            puts("]");
        return 0;
    }
    return ctl_usage_err("snapshot create|list|release ID"); /* check_snapshot's job */
}

int cmd_flush(lsmd_conn *c, const cmd_args *a)
{
    (void)a;
    int rc = lsmd_flush(c);
    return rc ? ctl_fail("flush", rc) : ctl_ok_json();
}

int check_compact(cmd_args *a)
{
    if (a->npos && (ctl_parse_long(a->pos[0], -1, &a->level) || a->level > INT_MAX)) {
        fprintf(stderr, "lsmctl: compact: LEVEL is a level number, or -1 for the whole tree, "
                "not '%s'\n", a->pos[0]);
        return 2;
    }
    return 0;
}

int cmd_compact(lsmd_conn *c, const cmd_args *a)
{
    int rc = lsmd_compact(c, (int)a->level);
    return rc ? ctl_fail("compact", rc) : ctl_ok_json();
}

int cmd_set(lsmd_conn *c, const cmd_args *a)
{
    int rc = lsmd_set_option(c, a->pos[0], a->pos[1]);
    return rc ? ctl_fail("set", rc) : ctl_ok_json();
}

/* checkpoint DIR: a relative DIR is taken from lsmctl's working directory
 * and sent absolute (the daemon's is another). */
int cmd_checkpoint(lsmd_conn *c, const cmd_args *a)
{
    const char *dir = a->pos[0];
    char cwd[PATH_MAX], *abs = NULL;
    if (dir[0] != '/') {
        if (!getcwd(cwd, sizeof cwd))
            return ctl_fail("checkpoint: current directory", -errno);
        if (asprintf(&abs, "%s/%s", cwd, dir) < 0)
            return ctl_fail("checkpoint", -ENOMEM);
        dir = abs;
    }
    int rc = lsmd_checkpoint(c, dir);
    if (rc == 0) {
        if (ctl_json) {
            fputs("{\"ok\":true,\"dir\":", stdout);
            ctl_json_bytes(stdout, dir, strlen(dir));
            puts("}");
        } else {
            printf("checkpoint %s\n", dir);
        }
    }
    free(abs);
    return rc ? ctl_fail("checkpoint", rc) : 0;
}
