/*
 * test_config_keys.c — daemon/config_keys.c, the one table of lsmd's keys:
 *   - every field of lsm_options (read from engine/lsm.h itself) is an lsmd
 *     key, so a new engine option cannot be forgotten by the daemon;
 *   - `lsmd --help` (config_usage) names every key of the table and every
 *     engine option, with a default, and no source file;
 *   - the keys lsmd lacked before (max_open_files, memtable_impl, the
 *     triggers ...) reach lsm_options, and a bad value is refused by name;
 *   - the socket: --socket > LSMD_SOCKET > the file's socket > default;
 *   - --version and -V.
 */
#include "helpers.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_keys.h"
#include "flags.h"

/* The lsm_options fields lsmd cannot take as text, and why. */
static const char *const k_not_keys[][2] = {
    { "io", "a pointer to an I/O backend object (tests and tools)" },
};

/* "io_backend" is lsmd's key "io" (auto|uring|posix). */
static const char *key_for_field(const char *field)
{
    return strcmp(field, "io_backend") == 0 ? "io" : field;
}

/* The field names of struct lsm_options in lsm.h: the last identifier of
 * each declaration, comments removed. */
static size_t lsm_options_fields(char names[][64], size_t cap)
{
    char *h = th_read_source(__FILE__, "engine/lsm.h");
    char *p = strstr(h, "typedef struct lsm_options {");
    assert_non_null(p);
    p = strchr(p, '{') + 1;
    char *end = strstr(p, "} lsm_options;");
    assert_non_null(end);
    *end = '\0';
    for (char *c; (c = strstr(p, "/*")) != NULL;) { /* blank the comments */
        char *e = strstr(c, "*/");
        assert_non_null(e);
        memset(c, ' ', (size_t)(e + 2 - c));
    }
    size_t n = 0;
    for (char *semi; (semi = strchr(p, ';')) != NULL; p = semi + 1) {
        char *q = semi;
        while (q > p && (q[-1] == ' ' || q[-1] == '\n'))
            q--;
        char *id = q;
        while (id > p && (id[-1] == '_' || (id[-1] >= 'a' && id[-1] <= 'z') ||
                          (id[-1] >= '0' && id[-1] <= '9')))
            id--;
        assert_true(q > id && (size_t)(q - id) < 64 && n < cap);
        memcpy(names[n], id, (size_t)(q - id));
        names[n++][q - id] = '\0';
    }
    free(h);
    return n;
}

static void test_every_lsm_options_field_is_a_key(void **state)
{
    (void)state;
    static char fields[128][64];
    size_t n = lsm_options_fields(fields, 128);
    assert_true(n >= 30); /* the parse found the struct, not a fragment */
    for (size_t i = 0; i < n; i++) {
        bool excused = false;
        for (size_t j = 0; j < sizeof k_not_keys / sizeof *k_not_keys; j++)
            excused |= strcmp(fields[i], k_not_keys[j][0]) == 0;
        const char *key = key_for_field(fields[i]);
        bool is_key = config_key_find(key) || config_key_is_engine(key);
        if (!excused && !is_key)
            fail_msg("lsm_options.%s is not an lsmd key: add it to the engine's option "
                     "table (lsm_option_at) or to daemon/config_keys.c",
                     fields[i]);
    }
}

/* config_usage's text (malloc'd). */
static char *usage_text(void)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    config_usage(f);
    fclose(f);
    return text;
}

/* "--max-open-files " or "--max-open-files\n" somewhere in text. */
static bool mentions_flag(const char *text, const char *key)
{
    char flag[80];
    int n = snprintf(flag, sizeof flag, "\n  --%s ", key);
    for (int i = 0; i < n; i++)
        if (flag[i] == '_')
            flag[i] = '-';
    return strstr(text, flag) != NULL;
}

static void test_help_lists_every_key(void **state)
{
    (void)state;
    char *text = usage_text();
    const config_key *k;
    for (size_t i = 0; (k = config_key_at(i)) != NULL; i++) {
        if (!mentions_flag(text, k->name))
            fail_msg("lsmd --help does not list --%s", k->name);
        assert_non_null(k->help);
    }
    const lsm_option_info *o;
    for (size_t i = 0; (o = lsm_option_at(i)) != NULL; i++)
        if (!mentions_flag(text, o->name))
            fail_msg("lsmd --help does not list the engine option --%s", o->name);
    /* Each flag line carries a default. */
    size_t flags = 0, defaults = 0;
    for (const char *p = text; (p = strstr(p, "\n  --")) != NULL; p++) {
        const char *eol = strchr(p + 1, '\n');
        flags++;
        const char *d = strstr(p, "[default: ");
        defaults += d && eol && d < eol;
    }
    assert_true(flags > 50);
    assert_int_equal(defaults, flags - 1); /* all but --config FILE */
    /* An installed lsmd has no source tree to point into. */
    assert_null(strstr(text, "config.h"));
    assert_null(strstr(text, "daemon/"));
    free(text);
}

/* The keys lsmd did not take before this table, and what they set. */
static void test_engine_keys_reach_lsm_options(void **state)
{
    (void)state;
    daemon_config c;
    config_init(&c);
    assert_int_equal(config_set(&c, "max-open-files", "77"), 0);
    assert_int_equal(c.engine.max_open_files, 77);
    assert_int_equal(config_set(&c, "memtable_impl", "vector"), 0);
    assert_string_equal(c.engine.memtable_impl, "vector");
    assert_int_equal(config_set(&c, "l0-stop-trigger", "40"), 0);
    assert_int_equal(c.engine.l0_stop_trigger, 40);
    assert_int_equal(config_set(&c, "l0_slowdown_trigger", "30"), 0);
    assert_int_equal(config_set(&c, "level-base-bytes", "128M"), 0);
    assert_int_equal(c.engine.level_base_bytes, 128u << 20);
    assert_int_equal(config_set(&c, "tiered_max_runs", "10"), 0);
    assert_int_equal(config_set(&c, "tiered-max-space-amp", "1.5"), 0);
    assert_true(c.engine.tiered_max_space_amp == 1.5);
    assert_int_equal(config_set(&c, "create-if-missing", "0"), 0);
    assert_int_equal(c.engine.create_if_missing, 0);
    assert_int_equal(config_set(&c, "error_if_exists", "yes"), 0);
    assert_int_equal(c.engine.error_if_exists, 1);
    assert_true(config_key_is_switch("create-if-missing"));
    /* Refused by the engine's own ranges, nothing changed. */
    assert_int_equal(config_set(&c, "max_open_files", "5"), -EINVAL);
    assert_int_equal(config_set(&c, "memtable_impl", "btree"), -EINVAL);
    assert_int_equal(config_set(&c, "compaction_threads", "99"), -EINVAL);
    assert_int_equal(c.engine.max_open_files, 77);
    assert_string_equal(c.engine.memtable_impl, "vector");
    /* Open-time ones are not kept for a reload; runtime ones are. */
    for (size_t i = 0; i < c.n_engine_opts; i++) {
        assert_string_not_equal(c.engine_opts[i].name, "max_open_files");
        assert_string_not_equal(c.engine_opts[i].name, "memtable_impl");
    }
    assert_int_equal(c.n_engine_opts, 5); /* the two triggers, base, runs, amp */
    config_free(&c);
}

/* Parses argv with LSMD_SOCKET = env (NULL: unset); returns the socket. */
static char *socket_for(const char *env, int argc, char **argv)
{
    if (env)
        setenv("LSMD_SOCKET", env, 1);
    else
        unsetenv("LSMD_SOCKET");
    daemon_config c;
    config_init(&c);
    assert_int_equal(flags_parse(&c, argc, argv), 0);
    char *s = c.socket_path ? strdup(c.socket_path) : NULL;
    config_free(&c);
    unsetenv("LSMD_SOCKET");
    return s;
}

static void test_socket_precedence(void **state)
{
    (void)state;
    char *dir = th_tempdir("keys");
    char *ini;
    assert_true(asprintf(&ini, "%s/lsmd.ini", dir) > 0);
    FILE *f = fopen(ini, "w");
    assert_non_null(f);
    fputs("socket = /from/file.sock\n", f);
    fclose(f);
    char *plain[] = { "lsmd", "--dir", "/d" };
    char *flag[] = { "lsmd", "--socket", "/from/flag.sock", "--dir", "/d" };
    char *flag_eq[] = { "lsmd", "--socket=/from/flag.sock", "--dir", "/d" };
    char *file[] = { "lsmd", "--config", ini, "--dir", "/d" };
    char *file_flag[] = { "lsmd", "--config", ini, "--socket", "/from/flag.sock" };
    const struct {
        const char *env;
        int argc;
        char **argv;
        const char *want; /* NULL: none set, config_finish picks the default */
    } cases[] = {
        { NULL, 3, plain, NULL },
        { "", 3, plain, NULL }, /* empty = unset, as liblsmd reads it */
        { "/from/env.sock", 3, plain, "/from/env.sock" },
        { "/from/env.sock", 5, flag, "/from/flag.sock" },
        { "/from/env.sock", 4, flag_eq, "/from/flag.sock" },
        { NULL, 5, file, "/from/file.sock" },
        { "/from/env.sock", 5, file, "/from/env.sock" },
        { "/from/env.sock", 5, file_flag, "/from/flag.sock" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *got = socket_for(cases[i].env, cases[i].argc, cases[i].argv);
        if ((got == NULL) != (cases[i].want == NULL) ||
            (got && strcmp(got, cases[i].want) != 0))
            fail_msg("case %zu: socket %s, want %s", i, got ? got : "(default)",
                     cases[i].want ? cases[i].want : "(default)");
        free(got);
    }
    free(ini);
    th_rmrf_free(dir);
}

static void test_version_flag(void **state)
{
    (void)state;
    daemon_config c;
    config_init(&c);
    char *v[] = { "lsmd", "--version" };
    assert_int_equal(flags_parse(&c, 2, v), 2);
    char *v2[] = { "lsmd", "--dir", "/d", "-V" };
    assert_int_equal(flags_parse(&c, 4, v2), 2);
    config_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_lsm_options_field_is_a_key),
        cmocka_unit_test(test_help_lists_every_key),
        cmocka_unit_test(test_engine_keys_reach_lsm_options),
        cmocka_unit_test(test_socket_precedence),
        cmocka_unit_test(test_version_flag),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
