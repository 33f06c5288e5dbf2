/* data.c — lsmctl's data commands: get, mget, put, del, scan.  Keys and
 * values are bytes: arguments hold any bytes (--hex, a shell line's
 * escapes), output takes the forms of bytes.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lsmctl.h"

int cmd_get(lsmd_conn *c, const cmd_args *a)
{
    void *val;
    size_t n;
    int rc = lsmd_get(c, a->snapshot, a->pos[0], a->len[0], &val, &n);
    if (rc == LSM_ENOTFOUND && ctl_json) {
        puts("null");
        return 1;
    }
    if (rc)
        return ctl_fail("get", rc);
    if (ctl_json) {
        fputs("{\"key\":", stdout);
        ctl_json_data(stdout, a->pos[0], a->len[0]);
        fputs(",\"value\":", stdout);
        ctl_json_data(stdout, val, n);
        puts("}");
    } else if (ctl_hex || isatty(STDOUT_FILENO)) {
        /* For eyes: a terminal gets no raw control bytes. */
        ctl_write_data(stdout, val, n);
        putchar('\n');
    } else {
        /* For files and pipes: the bytes unchanged, as `put KEY -` took them. */
        fwrite(val, 1, n, stdout);
    }
    free(val);
    return 0;
}

/* One lsmd_multi_get of every key: KEY<TAB>VALUE per found key, KEY<TAB>
 * per absent one (--json: an array of {"key", "value"} with null values). */
int cmd_mget(lsmd_conn *c, const cmd_args *a)
{
    size_t n = (size_t)a->npos, vl[MAX_POS];
    void *vals[MAX_POS];
    int st[MAX_POS], worst = 0;
    bool first = true;
    int rc = lsmd_multi_get(c, a->snapshot, n, (const void *const *)a->pos, a->len, vals, vl, st);
    if (rc)
        return ctl_fail("mget", rc);
    if (ctl_json)
        putchar('[');
    for (size_t i = 0; i < n; i++) {
        if (st[i] != 0 && st[i] != LSM_ENOTFOUND) {
            fputs("lsmctl: mget ", stderr);
            ctl_write_data(stderr, a->pos[i], a->len[i]);
            fprintf(stderr, ": %s\n", lsmd_strerror(st[i]));
            worst = 1;
            continue;
        }
        worst |= st[i] != 0;
        if (ctl_json) {
            fputs(first ? "{\"key\":" : ",{\"key\":", stdout);
            first = false;
            ctl_json_data(stdout, a->pos[i], a->len[i]);
            fputs(",\"value\":", stdout);
            if (st[i] == 0)
                ctl_json_data(stdout, vals[i], vl[i]);
            else
                fputs("null", stdout);
            putchar('}');
        } else {
            ctl_write_data(stdout, a->pos[i], a->len[i]);
            putchar('\t');
            if (st[i] == 0)
                ctl_write_data(stdout, vals[i], vl[i]);
            putchar('\n');
        }
        free(vals[i]);
    }
    if (ctl_json)
        puts("]");
    return worst;
}

int check_put(cmd_args *a)
{
    a->value_stdin = a->len[1] == 1 && a->pos[1][0] == '-';
    if (a->value_stdin && a->in_shell)
        return ctl_usage_err("put KEY -: not in shell (its stdin holds the commands)");
    return 0;
}

/* The value of `put KEY -`: all of stdin (hex digits under --hex, blanks
 * between them ignored), refused past the engine's limit without reading
 * more than one byte beyond it.  0, or the exit status after the message. */
static int read_stdin_value(char **out, size_t *len)
{
    const size_t limit = LSM_MAX_VALUE_SIZE;
    size_t cap = 0, n = 0;
    char *buf = NULL;
    int pending = -1, bad = 0; /* --hex: a high digit waiting; a non-digit */
    for (;;) {
        if (n == cap) {
            if (cap > limit)
                break; /* limit + 1 bytes: too long, refused below */
            size_t ncap = cap ? 2 * cap : 64 * 1024;
            char *b = realloc(buf, ncap < limit + 1 ? ncap : limit + 1);
            if (!b) {
                free(buf);
                fprintf(stderr, "lsmctl: put: reading stdin: out of memory\n");
                return 1;
            }
            buf = b;
            cap = ncap < limit + 1 ? ncap : limit + 1;
        }
        if (!ctl_hex) {
            size_t got = fread(buf + n, 1, cap - n, stdin);
            if (got == 0)
                break;
            n += got;
            continue;
        }
        int ch = getchar();
        if (ch == EOF)
            break;
        if (ch == ' ' || ch == '\n' || ch == '\t' || ch == '\r')
            continue;
        int d = ctl_hex_digit(ch);
        if (d < 0) {
            bad = ch;
            break;
        }
        if (pending < 0) {
            pending = d;
            continue;
        }
        buf[n++] = (char)(pending << 4 | d);
        pending = -1;
    }
    int err = ferror(stdin) ? errno : 0;
    if (err)
        fprintf(stderr, "lsmctl: put: reading stdin: %s\n", strerror(err));
    else if (bad)
        fprintf(stderr, "lsmctl: put --hex: stdin holds '%c', not a hex digit\n", bad);
    else if (pending >= 0)
        fprintf(stderr, "lsmctl: put --hex: stdin ends in half a byte (an odd count of hex "
                "digits)\n");
    else if (n > limit)
        fprintf(stderr, "lsmctl: put: the value on stdin is longer than the engine's limit "
                "of %zu bytes (64 MiB)\n", limit);
    if (err || bad || pending >= 0 || n > limit) {
        free(buf);
        return 1;
    }
    *out = buf;
    *len = n;
    return 0;
}

int cmd_put(lsmd_conn *c, const cmd_args *a)
{
    const char *val = a->pos[1];
    size_t vlen = a->len[1];
    char *buf = NULL;
    if (a->value_stdin) {
        int rc = read_stdin_value(&buf, &vlen);
        if (rc)
            return rc;
        val = buf;
    }
    int rc = lsmd_put(c, a->pos[0], a->len[0], val, vlen, a->sync ? LSM_SYNC : 0);
    free(buf);
    return rc ? ctl_fail("put", rc) : ctl_ok_json();
}

int cmd_del(lsmd_conn *c, const cmd_args *a)
{
    int rc = lsmd_delete(c, a->pos[0], a->len[0], a->sync ? LSM_SYNC : 0);
    return rc ? ctl_fail("del", rc) : ctl_ok_json();
}

int cmd_scan(lsmd_conn *c, const cmd_args *a)
{
    const char *lo = a->npos > 0 ? a->pos[0] : NULL;
    const char *hi = a->npos > 1 ? a->pos[1] : NULL;
    lsmd_iter *it;
    int rc = lsmd_iter_new_ex(c, a->snapshot, lo, lo ? a->len[0] : 0, hi, hi ? a->len[1] : 0,
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
            ctl_json_data(stdout, k, kl);
            fputs(",\"value\":", stdout);
            ctl_json_data(stdout, v, vl);
            putchar('}');
        } else {
            ctl_write_data(stdout, k, kl);
            putchar('\t');
            ctl_write_data(stdout, v, vl);
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
