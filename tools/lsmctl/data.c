/* data.c — lsmctl's data commands: get, mget, put, del, scan. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lsmctl.h"

int cmd_get(lsmd_conn *c, const cmd_args *a)
{
    if (a->npos != 1)
        return ctl_usage_err("get KEY");
    void *val;
    size_t n;
    int rc = lsmd_get(c, a->snapshot, a->pos[0], strlen(a->pos[0]), &val, &n);
    if (rc == LSM_ENOTFOUND && ctl_json) {
        puts("null");
        return 1;
    }
    if (rc)
        return ctl_fail("get", rc);
    if (ctl_json) {
        fputs("{\"key\":", stdout);
        ctl_json_bytes(stdout, a->pos[0], strlen(a->pos[0]));
        fputs(",\"value\":", stdout);
        ctl_json_bytes(stdout, val, n);
        puts("}");
    } else {
        fwrite(val, 1, n, stdout);
        putchar('\n');
    }
    free(val);
    return 0;
}

/* One lsmd_multi_get of every key: KEY<TAB>VALUE per found key, KEY<TAB>
 * per absent one (--json: an array of {"key", "value"} with null values). */
int cmd_mget(lsmd_conn *c, const cmd_args *a)
{
    if (a->npos < 1)
        return ctl_usage_err("mget KEY...");
    size_t n = (size_t)a->npos, lens[MAX_POS], vl[MAX_POS];
    void *vals[MAX_POS];
    int st[MAX_POS], worst = 0;
    bool first = true;
    for (size_t i = 0; i < n; i++)
        lens[i] = strlen(a->pos[i]);
    int rc = lsmd_multi_get(c, a->snapshot, n, (const void *const *)a->pos, lens, vals, vl, st);
    if (rc)
        return ctl_fail("mget", rc);
    if (ctl_json)
        putchar('[');
    for (size_t i = 0; i < n; i++) {
        if (st[i] != 0 && st[i] != LSM_ENOTFOUND) {
            fprintf(stderr, "lsmctl: mget %s: %s\n", a->pos[i], lsmd_strerror(st[i]));
            worst = 1;
            continue;
        }
        worst |= st[i] != 0;
        if (ctl_json) {
            fputs(first ? "{\"key\":" : ",{\"key\":", stdout);
            first = false;
            ctl_json_bytes(stdout, a->pos[i], lens[i]);
            fputs(",\"value\":", stdout);
            if (st[i] == 0)
                ctl_json_bytes(stdout, vals[i], vl[i]);
            else
                fputs("null", stdout);
            putchar('}');
        } else {
            printf("%s\t", a->pos[i]);
            if (st[i] == 0)
                fwrite(vals[i], 1, vl[i], stdout);
            putchar('\n');
        }
        free(vals[i]);
    }
    if (ctl_json)
        puts("]");
    return worst;
}

static int put_del(lsmd_conn *c, const char *cmd, const cmd_args *a)
{
    bool put = strcmp(cmd, "put") == 0;
    if (a->npos != (put ? 2 : 1))
        return ctl_usage_err(put ? "put KEY VALUE" : "del KEY");
    int flags = a->sync ? LSM_SYNC : 0;
    int rc = put ? lsmd_put(c, a->pos[0], strlen(a->pos[0]), a->pos[1], strlen(a->pos[1]),
                            flags)
                 : lsmd_delete(c, a->pos[0], strlen(a->pos[0]), flags);
    return rc ? ctl_fail(cmd, rc) : ctl_ok_json();
}

int cmd_put(lsmd_conn *c, const cmd_args *a)
{
    return put_del(c, "put", a);
}

int cmd_del(lsmd_conn *c, const cmd_args *a)
{
    return put_del(c, "del", a);
}

int cmd_scan(lsmd_conn *c, const cmd_args *a)
{
    if (a->npos > 2)
        return ctl_usage_err("scan [LO [HI]]");
    const char *lo = a->npos > 0 ? a->pos[0] : NULL;
    const char *hi = a->npos > 1 ? a->pos[1] : NULL;
    lsmd_iter *it;
    int rc = lsmd_iter_new_ex(c, a->snapshot, lo, lo ? strlen(lo) : 0, hi, hi ? strlen(hi) : 0,
                              a->reverse ? LSMD_ITER_REVERSE : 0, &it);
    if (rc)
        return ctl_fail("scan", rc);
    long n = 0;
    if (ctl_json)
        putchar('[');
    for (; lsmd_iter_valid(it) && (a->limit < 0 || n < a->limit); lsmd_iter_next(it), n++) {
        size_t kl, vl;
        const void *k = lsmd_iter_key(it, &kl);
        const void *v = lsmd_iter_value(it, &vl);
        if (ctl_json) {
            fputs(n ? ",{\"key\":" : "{\"key\":", stdout);
            ctl_json_bytes(stdout, k, kl);
            fputs(",\"value\":", stdout);
            ctl_json_bytes(stdout, v, vl);
            putchar('}');
        } else {
            fwrite(k, 1, kl, stdout);
            putchar('\t');
            fwrite(v, 1, vl, stdout);
            putchar('\n');
        }
    }
    rc = lsmd_iter_status(it);
    lsmd_iter_free(it);
    if (rc) {
        /* The JSON stays unclosed: a cut scan must not parse as whole. */
        fflush(stdout);
        return ctl_fail("scan", rc);
    }
    if (ctl_json)
        puts("]");
    return 0;
}
