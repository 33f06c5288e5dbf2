/* datadriven.c — see datadriven.h. */
#include "helpers.h"

#include "datadriven.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void dd_printf(dd_case *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    assert_true(n >= 0);
    if (c->out_len + (size_t)n + 1 > c->out_cap) {
        c->out_cap = 2 * (c->out_len + (size_t)n + 1);
        c->out = realloc(c->out, c->out_cap);
        assert_non_null(c->out);
    }
    va_start(ap, fmt);
    vsnprintf(c->out + c->out_len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    c->out_len += (size_t)n;
}

void dd_fail(const dd_case *c, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fail_msg("%s:%d: %s: %s", c->path, c->line, c->cmd, msg);
    abort(); /* not reached: fail_msg does not return */
}

const char *dd_arg(const dd_case *c, const char *name)
{
    size_t n = strlen(name);
    for (int i = 0; i < c->nargs; i++) {
        if (strncmp(c->args[i], name, n) != 0)
            continue;
        if (c->args[i][n] == '=')
            return c->args[i] + n + 1;
        if (c->args[i][n] == '\0')
            return "";
    }
    return NULL;
}

long dd_arg_long(const dd_case *c, const char *name, long def)
{
    const char *v = dd_arg(c, name);
    if (!v)
        return def;
    char *end;
    long x = strtol(v, &end, 0);
    if (!*v || *end)
        dd_fail(c, "%s=%s: not a number", name, v);
    return x;
}

int dd_words(const dd_case *c, char *line, char **w, int max)
{
    int n = 0;
    for (char *t = strtok(line, " "); t; t = strtok(NULL, " ")) {
        if (n == max)
            dd_fail(c, "more than %d words", max);
        w[n++] = strcmp(t, "\"\"") == 0 ? t + 2 : t;
    }
    return n;
}

/* The whole file, split into lines (newlines removed, in place). */
static char **read_lines(const char *path, char **text, int *nlines)
{
    FILE *f = fopen(path, "r");
    if (!f)
        fail_msg("cannot open %s (tests run from the source tree's top)", path);
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    size_t got;
    while ((got = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += got;
        if (len + 1 == cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
    }
    fclose(f);
    buf[len] = '\0';
    int n = 0, max = 16;
    char **lines = malloc((size_t)max * sizeof *lines);
    assert_non_null(lines);
    for (char *p = buf; *p;) {
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        if (n == max) {
            max *= 2;
            lines = realloc(lines, (size_t)max * sizeof *lines);
            assert_non_null(lines);
        }
        lines[n++] = p;
        p = nl ? nl + 1 : p + strlen(p);
    }
    *text = buf;
    *nlines = n;
    return lines;
}

static void append(char **s, size_t *len, size_t *cap, const char *add)
{
    size_t n = strlen(add);
    if (*len + n + 1 > *cap) {
        *cap = 2 * (*len + n + 1);
        *s = realloc(*s, *cap);
        assert_non_null(*s);
    }
    memcpy(*s + *len, add, n + 1);
    *len += n;
}

void dd_run(const char *src_file, const char *name, dd_fn fn, void *arg)
{
    const char *slash = strrchr(src_file, '/');
    char *path;
    if (asprintf(&path, "%.*s%stestdata/%s", slash ? (int)(slash - src_file) : 0, src_file,
                 slash ? "/" : "", name) < 0)
        fail_msg("asprintf");
    const bool rewrite = th_env_long("LSM_TEST_REWRITE", 0) != 0;
    char *text;
    int n;
    char **lines = read_lines(path, &text, &n);
    char *out = NULL; /* the rewritten file */
    size_t out_len = 0, out_cap = 0;
    append(&out, &out_len, &out_cap, "");
    int ncases = 0;
    for (int i = 0; i < n;) {
        if (lines[i][0] == '\0' || lines[i][0] == '#') {
            append(&out, &out_len, &out_cap, lines[i++]);
            append(&out, &out_len, &out_cap, "\n");
            continue;
        }
        dd_case c = { .path = path, .line = i + 1 };
        char *cmdline = strdup(lines[i]);
        assert_non_null(cmdline);
        append(&out, &out_len, &out_cap, lines[i]);
        append(&out, &out_len, &out_cap, "\n");
        char *words[DD_MAX_ARGS + 1];
        int nw = dd_words(&c, cmdline, words, DD_MAX_ARGS + 1);
        c.cmd = nw ? words[0] : cmdline;
        c.nargs = nw ? nw - 1 : 0;
        memcpy(c.args, words + 1, sizeof(char *) * (size_t)c.nargs);
        int in = ++i;
        while (i < n && strcmp(lines[i], "----") != 0) {
            append(&out, &out_len, &out_cap, lines[i++]);
            append(&out, &out_len, &out_cap, "\n");
        }
        if (i == n)
            dd_fail(&c, "no ---- line");
        c.input = lines + in;
        c.ninput = i - in;
        append(&out, &out_len, &out_cap, "----\n");
        i++;
        char *want = NULL;
        size_t want_len = 0, want_cap = 0;
        append(&want, &want_len, &want_cap, "");
        while (i < n && lines[i][0] != '\0') {
            append(&want, &want_len, &want_cap, lines[i++]);
            append(&want, &want_len, &want_cap, "\n");
        }
        dd_printf(&c, "%s", "");
        fn(&c, arg);
        if (c.out_len > 0 && c.out[c.out_len - 1] != '\n')
            dd_printf(&c, "\n");
        if (strstr(c.out, "\n\n") || c.out[0] == '\n')
            dd_fail(&c, "the output has an empty line:\n%s", c.out);
        if (!rewrite && strcmp(c.out, want) != 0)
            dd_fail(&c, "output differs (LSM_TEST_REWRITE=1 rewrites it)\n--- expected:\n%s"
                        "--- got:\n%s", want, c.out);
        append(&out, &out_len, &out_cap, c.out);
        free(want);
        free(c.out);
        free(cmdline);
        ncases++;
    }
    if (rewrite) {
        FILE *f = fopen(path, "w");
        if (!f || fputs(out, f) < 0 || fclose(f) != 0)
            fail_msg("cannot rewrite %s", path);
        fprintf(stderr, "rewrote %s (%d cases)\n", path, ncases);
    }
    if (ncases == 0)
        fail_msg("%s: no cases", path);
    free(out);
    free(lines);
    free(text);
    free(path);
}
