/*
 * test_lsmctl_cli.c — lsmctl's command line and its binary keys and values
 * (tools/lsmctl/args.c, bytes.c, data.c; docs/lsmctl.md), the real lsmctl
 * against a real lsmd:
 *
 *   refusals_before_connecting   a table of bad command lines, each run
 *                  with no daemon at the socket: each exits 2 with its
 *                  message, never "cannot attach" (the line is checked
 *                  before connecting): `compact foo`, `snapshot create
 *                  --hold abc`, options a command does not take, counts...
 *   help_and_version   -h, --help, COMMAND --help, --version, --commands.
 *   flags_anywhere     `stats --socket X` and `--socket=X` reach X while
 *                  $LSMD_SOCKET names another path; --json after the
 *                  command; `--` ends options (keys starting with '-');
 *                  negative numbers are arguments (compact -1).
 *   stdin_roundtrip    `put KEY -` takes 1 MiB of random bytes with NULs
 *                  from stdin and `get KEY > FILE` gives them back byte for
 *                  byte (no newline added); an empty stdin stores an empty
 *                  value; a stdin of 64 MiB + 1 is refused with the limit
 *                  and stores nothing; a stdout that cannot be written
 *                  (/dev/full) fails the command with exit 1.
 *   hex_mode       --hex keys and values in and out, stdin in hex; bad hex
 *                  refused.
 *   text_form      scan and mget print bare printable text (UTF-8 too) and
 *                  quote the rest with C escapes; get on a terminal too.
 *   json_utf8      --json keeps UTF-8 as is, escapes control characters
 *                  the JSON way and writes other bytes as {"hex":...}.
 *   shell_quoting  "..." with escapes and '...' literal in `shell`; what
 *                  scan prints goes back in unchanged; each bad line is
 *                  refused with its message and the shell goes on (put
 *                  KEY - and load - too: stdin holds the commands).
 */
#include "helpers.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "lsm.h"

static th_daemon g_d;
static th_fixture g_fx = { .d = &g_d, .bin = LSMD_BIN, .tag = "lsmctl_cli", .start = true };
static th_fixture g_nofx = { .d = &g_d, .bin = LSMD_BIN, .tag = "lsmctl_cli" };

typedef struct ctl_out {
    int code;
    char *out;      /* stdout, NUL-terminated; free with free() */
    size_t out_len;
    char err[4096]; /* stderr */
} ctl_out;

static char *path_in_root(const char *name)
{
    char *p;
    assert_true(asprintf(&p, "%s/%s", g_d.root, name) > 0);
    return p;
}

static size_t read_file(const char *path, char **out, size_t cap_hint)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t cap = cap_hint + 1, n = 0, got;
    char *b = malloc(cap);
    assert_non_null(b);
    while ((got = fread(b + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (n + 1 == cap) {
            cap *= 2;
            assert_non_null(b = realloc(b, cap));
        }
    }
    fclose(f);
    b[n] = '\0';
    *out = b;
    return n;
}

/* Runs `lsmctl ARGS...` (args NULL-terminated: the whole line after the
 * program name) with stdin from in_fd (-1: /dev/null), stdout to a file
 * or, when tty, to a pseudo-terminal; $LSMD_SOCKET names a path where no
 * daemon listens, so only an explicit --socket reaches one. */
static void run_fd(ctl_out *o, int in_fd, bool tty, const char *const *args)
{
    char *out = path_in_root("ctl.out"), *err = path_in_root("ctl.err");
    int ptm = -1;
    if (tty) {
        ptm = posix_openpt(O_RDWR | O_NOCTTY);
        assert_true(ptm >= 0);
        assert_int_equal(grantpt(ptm), 0);
        assert_int_equal(unlockpt(ptm), 0);
    }
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int ofd = tty ? open(ptsname(ptm), O_RDWR | O_NOCTTY)
                      : open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int efd = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int ifd = in_fd >= 0 ? in_fd : open("/dev/null", O_RDONLY);
        if (ofd < 0 || efd < 0 || ifd < 0)
            _exit(97);
        dup2(ifd, 0);
        dup2(ofd, 1);
        dup2(efd, 2);
        char *nosock;
        if (asprintf(&nosock, "%s/nobody-listens.sock", g_d.root) < 0)
            _exit(96);
        setenv("LSMD_SOCKET", nosock, 1);
        const char *argv[96] = { "lsmctl" };
        int n = 1;
        for (int i = 0; args[i] && n < 95; i++)
            argv[n++] = args[i];
        argv[n] = NULL;
        execv(LSMCTL_BIN, (char *const *)argv);
        _exit(98);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    o->code = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
    if (tty) {
        /* What the terminal got; the slave side is closed: read to EIO. */
        size_t cap = 1 << 16;
        o->out = malloc(cap);
        assert_non_null(o->out);
        o->out_len = 0;
        ssize_t r;
        while (o->out_len + 1 < cap &&
               (r = read(ptm, o->out + o->out_len, cap - 1 - o->out_len)) > 0)
            o->out_len += (size_t)r;
        o->out[o->out_len] = '\0';
        close(ptm);
    } else {
        o->out_len = read_file(out, &o->out, 4096);
    }
    char *e;
    size_t el = read_file(err, &e, 4096);
    snprintf(o->err, sizeof o->err, "%.*s", (int)el, e);
    free(e);
    free(out);
    free(err);
}

/* As run_fd with stdin holding in[0..in_len). */
static void run_in(ctl_out *o, const void *in, size_t in_len, const char *const *args)
{
    char *p = path_in_root("ctl.in");
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(in, 1, in_len, f), in_len);
    fclose(f);
    int fd = open(p, O_RDONLY);
    assert_true(fd >= 0);
    run_fd(o, fd, false, args);
    close(fd);
    free(p);
}

static void run(ctl_out *o, const char *const *args)
{
    run_fd(o, -1, false, args);
}

/* Runs args and checks exit code, stdout (NULL: not checked) and that
 * stderr holds err_part (NULL: stderr is empty). */
static void expect(const char *const *args, int code, const char *out, const char *err_part)
{
    ctl_out o;
    run(&o, args);
    if (o.code != code || (out && strcmp(o.out, out) != 0) ||
        (err_part ? !strstr(o.err, err_part) : o.err[0] != '\0')) {
        fprintf(stderr, "lsmctl");
        for (int i = 0; args[i]; i++)
            fprintf(stderr, " '%s'", args[i]);
        fprintf(stderr, "\n  exit %d (want %d)\n  stdout [%s]%s%s\n  stderr [%s] (want [%s])\n",
                o.code, code, o.out, out ? " want " : "", out ? out : "", o.err,
                err_part ? err_part : "");
        fail();
    }
    free(o.out);
}

#define S(...) ((const char *const[]){ __VA_ARGS__, NULL })

/* ---- refusals: none of them connects ------------------------------------------ */

typedef struct refusal {
    const char *const *args;
    const char *message;
} refusal;

static void test_refusals_before_connecting(void **state)
{
    (void)state;
    /* thd_init made the dir; no daemon runs: a connection attempt would
     * say "cannot attach" and exit 1. */
    char *sock = path_in_root("none.sock");
    const refusal table[] = {
        { S("compact", "foo"), "compact: LEVEL is a level number, or -1 for the whole tree, not 'foo'" },
        { S("compact", "-2"), "not '-2'" },
        { S("compact", "1x"), "not '1x'" },
        { S("compact", "99999999999"), "not '99999999999'" },
        { S("snapshot", "create", "--hold", "abc"),
          "--hold takes whole seconds (-1 = until SIGINT/SIGTERM), not 'abc'" },
        { S("snapshot", "create", "--hold=-5"), "--hold takes whole seconds" },
        { S("snapshot", "release", "x1"), "snapshot release: 'x1' is not a snapshot ID" },
        { S("snapshot", "list", "--hold", "3"), "--hold goes with snapshot create" },
        { S("snapshot", "make"), "snapshot takes create, list or release ID" },
        { S("snapshot", "release"), "snapshot release takes an ID" },
        { S("get", "k", "--snapshot", "-1"),
          "--snapshot takes a snapshot ID (a whole number), not '-1'" },
        { S("get", "k", "--snapshot", " 7"), "not ' 7'" },
        { S("scan", "--limit", "ten"), "--limit takes a count (a whole number, 0 or more), not 'ten'" },
        { S("scan", "--limit=-3"), "--limit takes a count" },
        { S("changes", "--since", "0x10"), "--since takes a sequence number, not '0x10'" },
        { S("changes"), "changes takes one of --since SEQ and --after FILE" },
        { S("changes", "--since", "1", "--after", "f"), "changes takes one of --since SEQ" },
        { S("stats", "--format", "xml"), "--format takes text, json or prometheus, not 'xml'" },
        { S("stats", "--limit", "3"), "stats does not take --limit" },
        { S("get", "k", "--sync"), "get does not take --sync" },
        { S("flush", "--hex"), "flush does not take --hex" },
        { S("get"), "get takes 1 argument, got 0" },
        { S("put", "k"), "put takes 2 arguments, got 1" },
        { S("scan", "a", "b", "c"), "scan takes 0 to 2 arguments, got 3" },
        { S("set", "compaction_style"), "set takes 2 arguments, got 1" },
        { S("get", "--bogus"), "unknown option --bogus" },
        { S("get", "-k"), "unknown option -k (an argument that starts with '-' goes after --" },
        { S("frobnicate"), "unknown command 'frobnicate'" },
        { S("--json"), "no command" },
        { S("stats", "--socket"), "--socket needs PATH" },
        { S("get", "--json=yes", "k"), "--json takes no value" },
        { S("put", "k", "v", "--sync=1"), "--sync takes no value" },
        { S("get", "--hex", "zz"), "--hex: 'zz' is not hex (two digits a byte" },
        { S("get", "--hex", "abc"), "--hex: 'abc' is not hex" },
        { S("checkpoint", ""), "an empty argument (a name, file or directory)" },
        { S("get-option", ""), "an empty argument" },
        { S("load", ""), "an empty argument" },
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        const char *args[32] = { "--socket", sock };
        int n = 2;
        for (int j = 0; table[i].args[j]; j++)
            args[n++] = table[i].args[j];
        args[n] = NULL;
        expect(args, 2, "", table[i].message);
    }
    /* mget takes 64 keys, not 65. */
    const char *many[70] = { "--socket", sock, "mget" };
    for (int i = 0; i < 65; i++)
        many[3 + i] = "k";
    expect(many, 2, "", "too many arguments (at most 64)");
    free(sock);
}

static void test_help_and_version(void **state)
{
    (void)state;
    expect(S("--version"), 0, "lsmctl " LSM_VERSION "\n", NULL);
    expect(S("stats", "--version"), 0, "lsmctl " LSM_VERSION "\n", NULL);
    ctl_out o;
    run(&o, S("-h"));
    assert_int_equal(o.code, 0);
    assert_true(strncmp(o.out, "usage: lsmctl", 13) == 0);
    assert_non_null(strstr(o.out, "\n  put KEY VALUE|- [--sync]\n"));
    free(o.out);
    run(&o, S("--help", "--bogus-is-not-read"));
    assert_int_equal(o.code, 0);
    free(o.out);
    expect(S("get", "--help"), 0,
           "usage: lsmctl [--socket PATH] [--json] get KEY [--hex] [--snapshot ID]\n"
           "  print the value: stdout gets its bytes as they are (on a terminal: the text\n"
           "  form)\n",
           NULL);
    run(&o, S("compact", "foo", "-h")); /* help wins over the bad LEVEL */
    assert_int_equal(o.code, 0);
    assert_true(strncmp(o.out, "usage: lsmctl [--socket PATH] [--json] compact [LEVEL]\n", 55) == 0);
    free(o.out);
    /* Every command, one a line (what the bash completion reads). */
    run(&o, S("--commands"));
    assert_int_equal(o.code, 0);
    assert_non_null(strstr(o.out, "get\nmget\nput\n"));
    assert_non_null(strstr(o.out, "\nrepair\n"));
    free(o.out);
}

/* ---- with a daemon -------------------------------------------------------------- */

static void test_flags_anywhere(void **state)
{
    (void)state;
    const char *sock = g_d.sock;
    char eq[512];
    snprintf(eq, sizeof eq, "--socket=%s", sock);
    ctl_out o;
    run(&o, S("stats", "--socket", sock)); /* $LSMD_SOCKET names another path */
    assert_int_equal(o.code, 0);
    assert_non_null(strstr(o.out, "lsmd pid"));
    free(o.out);
    run(&o, S(eq, "stats"));
    assert_int_equal(o.code, 0);
    free(o.out);
    expect(S("put", "k", "v", eq, "--sync"), 0, "", NULL);
    expect(S("get", "k", "--json", "--socket", sock), 0, "{\"key\":\"k\",\"value\":\"v\"}\n", NULL);
    /* -- ends the options: keys and values that start with '-'. */
    expect(S(eq, "put", "--", "--key", "-v"), 0, "", NULL);
    expect(S(eq, "get", "--", "--key"), 0, "-v", NULL);
    expect(S(eq, "scan", "--", "--"), 0, "--key\t-v\nk\tv\n", NULL);
    expect(S(eq, "del", "--sync", "--", "--key"), 0, "", NULL);
    expect(S(eq, "get", "--", "--key"), 1, "", "get: ");
    /* A negative number is an argument, not an option. */
    expect(S(eq, "compact", "-1"), 0, "", NULL);
}

/* Bytes 0..255 in a scrambled order, NULs and newlines among them, and a
 * newline at the end (which get must not add nor strip). */
static void fill_binary(unsigned char *b, size_t n)
{
    uint64_t x = th_seed() | 1;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        b[i] = (unsigned char)(i % 7 == 0 ? 0 : x >> 32);
    }
    b[n - 1] = '\n';
}

static void test_stdin_roundtrip(void **state)
{
    (void)state;
    size_t n = 1 << 20;
    unsigned char *val = malloc(n);
    assert_non_null(val);
    fill_binary(val, n);
    ctl_out o;
    run_in(&o, val, n, S("--socket", g_d.sock, "put", "bin", "-"));
    assert_int_equal(o.code, 0);
    free(o.out);
    run(&o, S("--socket", g_d.sock, "get", "bin"));
    assert_int_equal(o.code, 0);
    assert_int_equal(o.out_len, n);
    assert_memory_equal(o.out, val, n);
    free(o.out);
    /* Small text: no newline added when stdout is not a terminal. */
    run_in(&o, "abc", 3, S("--socket", g_d.sock, "put", "t", "-"));
    assert_int_equal(o.code, 0);
    free(o.out);
    expect(S("--socket", g_d.sock, "get", "t"), 0, "abc", NULL);
    /* A stdout that cannot be written fails the command. */
    char *cmd;
    assert_true(asprintf(&cmd, "%s --socket %s get t > /dev/full 2> %s/full.err", LSMCTL_BIN,
                         g_d.sock, g_d.root) > 0);
    int st = system(cmd);
    free(cmd);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 1);
    char *full = path_in_root("full.err"), *msg;
    read_file(full, &msg, 256);
    assert_non_null(strstr(msg, "lsmctl: writing stdout: No space left on device"));
    free(msg);
    free(full);
    /* An empty stdin: an empty value. */
    run_in(&o, "", 0, S("--socket", g_d.sock, "put", "empty", "-"));
    assert_int_equal(o.code, 0);
    free(o.out);
    run(&o, S("--socket", g_d.sock, "get", "empty"));
    assert_int_equal(o.code, 0);
    assert_int_equal(o.out_len, 0);
    free(o.out);
    /* One byte over the engine's limit: refused, nothing stored. */
    char *big = path_in_root("big.in");
    int fd = open(big, O_RDWR | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)LSM_MAX_VALUE_SIZE + 1), 0);
    run_fd(&o, fd, false, S("--socket", g_d.sock, "put", "big", "-"));
    close(fd);
    unlink(big);
    free(big);
    assert_int_equal(o.code, 1);
    assert_non_null(strstr(o.err, "put: the value on stdin is longer than the engine's limit "
                                  "of 67108864 bytes (64 MiB)"));
    free(o.out);
    expect(S("--socket", g_d.sock, "get", "big"), 1, "", "get: ");
    free(val);
}

static void test_hex_mode(void **state)
{
    (void)state;
    const char *s = g_d.sock;
    expect(S("--socket", s, "put", "--hex", "00ff", "0A00"), 0, "", NULL);
    expect(S("--socket", s, "get", "--hex", "00ff"), 0, "0a00\n", NULL);
    expect(S("--socket", s, "--hex", "scan", "00", "01"), 0, "00ff\t0a00\n", NULL);
    /* Without --hex the same key prints in the text form. */
    expect(S("--socket", s, "scan"), 0, "\"\\x00\\xff\"\t\"\\n\\x00\"\n", NULL);
    ctl_out o;
    run_in(&o, "00 01\nfe ff\n", 12, S("--socket", s, "--hex", "put", "6b32", "-"));
    assert_int_equal(o.code, 0);
    free(o.out);
    expect(S("--socket", s, "get", "k2", "--json"), 0,
           "{\"key\":\"k2\",\"value\":{\"hex\":\"0001feff\"}}\n", NULL);
    run_in(&o, "0z", 2, S("--socket", s, "--hex", "put", "6b33", "-"));
    assert_int_equal(o.code, 1);
    assert_non_null(strstr(o.err, "put --hex: stdin holds 'z', not a hex digit"));
    free(o.out);
    run_in(&o, "abc\n", 4, S("--socket", s, "--hex", "put", "6b33", "-"));
    assert_int_equal(o.code, 1);
    assert_non_null(strstr(o.err, "put --hex: stdin ends in half a byte"));
    free(o.out);
    expect(S("--socket", s, "get", "k3"), 1, "", "get: ");
    /* An empty value shows as "" (mget: absent keys show nothing). */
    expect(S("--socket", s, "--hex", "put", "6b34", ""), 0, "", NULL);
    expect(S("--socket", s, "--hex", "mget", "6b34", "6b35"), 1, "6b34\t\"\"\n6b35\t\n", NULL);
}

/* Keys and values with bytes of every kind, put through --hex. */
static void put_hex(const char *key_hex, const char *val_hex)
{
    expect(S("--socket", g_d.sock, "--hex", "put", key_hex, val_hex), 0, "", NULL);
}

static void test_text_form(void **state)
{
    (void)state;
    put_hex("61", "0061096200");                 /* a: \0 a \t b \0 */
    put_hex("62", "68c3a96c6c6f20e29c93");       /* b: "héllo ✓" */
    put_hex("63", "61ff62");                     /* c: a \xff b (not UTF-8) */
    put_hex("64", "7361792022686922205c6e");     /* d: say "hi" \n (backslash n) */
    put_hex("65", "");                           /* e: empty */
    put_hex("66", "6c696e65310a6c696e6532c280"); /* f: line1 \n line2 U+0080 */
    put_hex("67ff0a", "76");                     /* g\xff\n: v */
    expect(S("--socket", g_d.sock, "scan"), 0,
           "a\t\"\\x00a\\tb\\x00\"\n"
           "b\théllo ✓\n"
           "c\t\"a\\xffb\"\n"
           "d\t\"say \\\"hi\\\" \\\\n\"\n"
           "e\t\"\"\n"
           "f\t\"line1\\nline2\\xc2\\x80\"\n"
           "\"g\\xff\\n\"\tv\n",
           NULL);
    expect(S("--socket", g_d.sock, "mget", "b", "a", "zz"), 1,
           "b\théllo ✓\na\t\"\\x00a\\tb\\x00\"\nzz\t\n", NULL);
    /* get on a terminal: the text form and a newline (the tty adds \r). */
    ctl_out o;
    run_fd(&o, -1, true, S("--socket", g_d.sock, "get", "a"));
    assert_int_equal(o.code, 0);
    assert_string_equal(o.out, "\"\\x00a\\tb\\x00\"\r\n");
    free(o.out);
    run_fd(&o, -1, true, S("--socket", g_d.sock, "get", "b"));
    assert_string_equal(o.out, "héllo ✓\r\n");
    free(o.out);
    /* ... and to a file, the bytes themselves. */
    run(&o, S("--socket", g_d.sock, "get", "a"));
    assert_int_equal(o.out_len, 5);
    assert_memory_equal(o.out, "\0a\tb\0", 5);
    free(o.out);
}

static void test_json_utf8(void **state)
{
    (void)state;
    put_hex("75", "68c3a96c6c6f20e29c93f09f9880"); /* u: héllo ✓ and an emoji */
    put_hex("76", "0022015c0a09");                   /* v: \0 " \1 \ \n \t */
    put_hex("77", "61ff");                           /* w: not UTF-8 */
    put_hex("78", "eda080");                         /* x: a surrogate: not UTF-8 */
    put_hex("79", "c0af");                           /* y: an overlong '/': not UTF-8 */
    const char *s = g_d.sock;
    expect(S("--socket", s, "--json", "get", "u"), 0,
           "{\"key\":\"u\",\"value\":\"héllo ✓😀\"}\n", NULL);
    expect(S("--socket", s, "--json", "get", "v"), 0,
           "{\"key\":\"v\",\"value\":\"\\u0000\\\"\\u0001\\\\\\n\\t\"}\n", NULL);
    expect(S("--socket", s, "--json", "scan", "w"), 0,
           "[{\"key\":\"w\",\"value\":{\"hex\":\"61ff\"}},"
           "{\"key\":\"x\",\"value\":{\"hex\":\"eda080\"}},"
           "{\"key\":\"y\",\"value\":{\"hex\":\"c0af\"}}]\n",
           NULL);
    expect(S("--socket", s, "--json", "--hex", "get", "75"), 0,
           "{\"key\":\"75\",\"value\":\"68c3a96c6c6f20e29c93f09f9880\"}\n", NULL);
    expect(S("--socket", s, "--json", "get", "nope"), 1, "null\n", NULL);
}

static void test_shell_quoting(void **state)
{
    (void)state;
    const char *s = g_d.sock;
    const char *script =
        "put \"a b\" \"x\\x00y\\n\"\n"      /* put "a b" "x\x00y\n" */
        "put 'c\\d' 'e \"f'\n"               /* put 'c\d' 'e "f' */
        "put mixed pre\"fix \"'s'\n"         /* put mixed pre"fix "'s' */
        "get --hex 612062\n"              /* "a b" */
        "get --hex 635c64\n"              /* "c\d" */
        "get mixed\n"
        "# a comment\n"
        "\n"
        "put \"unterminated\n"
        "put k \"\\q\"\n"
        "put k -\n"
        "load -\n"
        "--socket x stats\n"
        "shell\n"
        "get --hex \"\"\n"
        "scan \"a b\" \"a c\"\n";
    ctl_out o;
    run_in(&o, script, strlen(script), S("--socket", s, "shell"));
    assert_int_equal(o.code, 2);
    assert_string_equal(o.out, "7800790a\n65202266\nprefix s" "a b\t\"x\\x00y\\n\"\n");
    assert_non_null(strstr(o.err, "shell line 9: unterminated \""));
    assert_non_null(strstr(o.err, "shell line 10: unknown escape in \"...\""));
    assert_non_null(strstr(o.err, "put KEY -: not in shell (its stdin holds the commands)"));
    assert_non_null(strstr(o.err, "load -: not in shell (its stdin holds the commands)"));
    assert_non_null(strstr(o.err, "--socket: the shell keeps the connection it started with"));
    assert_non_null(strstr(o.err, "shell line 14: already in the shell"));
    free(o.out);
    /* What scan printed goes back in through shell unchanged. */
    const char *again = "put copy \"x\\x00y\\n\"\nget --hex 636f7079\n";
    run_in(&o, again, strlen(again), S("--socket", s, "shell"));
    assert_int_equal(o.code, 0);
    assert_string_equal(o.out, "7800790a\n");
    free(o.out);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        TH_TEST(test_refusals_before_connecting, &g_nofx),
        TH_TEST(test_help_and_version, &g_nofx),
        TH_TEST(test_flags_anywhere, &g_fx),
        TH_TEST(test_stdin_roundtrip, &g_fx),
        TH_TEST(test_hex_mode, &g_fx),
        TH_TEST(test_text_form, &g_fx),
        TH_TEST(test_json_utf8, &g_fx),
        TH_TEST(test_shell_quoting, &g_fx),
    };
    return TH_MAIN(argc, argv, NULL, NULL, tests);
}
