/*
 * args.c — lsmctl's command line (lsmctl.h, ctl_parse_line): the options
 * in one table, taken anywhere on the line, checked against the command
 * before anything connects.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "lsmctl.h"

/* Global options: every command takes them. */
enum { G_SOCKET = 1u << 16, G_JSON = 1u << 17, G_HELP = 1u << 18, G_VERSION = 1u << 19,
       G_COMMANDS = 1u << 20 };
#define GLOBAL_OPTS (G_SOCKET | G_JSON | G_HELP | G_VERSION | G_COMMANDS)

typedef struct option {
    const char *name;   /* without the dashes */
    unsigned bit;
    const char *value;  /* what it takes, for messages and usage; NULL: a switch */
} option;

static const option options[] = {
    { "socket", G_SOCKET, "PATH" },
    { "json", G_JSON, NULL },
    { "help", G_HELP, NULL },
    { "version", G_VERSION, NULL },
    { "commands", G_COMMANDS, NULL }, /* names, one a line (shell completion) */
    { "hex", OPT_HEX, NULL },
    { "snapshot", OPT_SNAPSHOT, "ID" },
    { "limit", OPT_LIMIT, "N" },
    { "reverse", OPT_REVERSE, NULL },
    { "sync", OPT_SYNC, NULL },
    { "format", OPT_FORMAT, "text|json|prometheus" },
    { "hold", OPT_HOLD, "SECS" },
    { "svg", OPT_SVG, "FILE" },
    { "since", OPT_SINCE, "SEQ" },
    { "after", OPT_AFTER, "FILE" },
    { "follow", OPT_FOLLOW, NULL },
    { "values", OPT_VALUES, NULL },
};
#define NOPTIONS (sizeof options / sizeof options[0])

int ctl_parse_u64(const char *s, uint64_t *out)
{
    char *end;
    if (*s < '0' || *s > '9') /* strtoull takes blanks, signs and wraps "-1" */
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

int ctl_parse_long(const char *s, long min, long *out)
{
    char *end;
    if (!((*s >= '0' && *s <= '9') || (*s == '-' && s[1] >= '0' && s[1] <= '9')))
        return -1;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < min)
        return -1;
    *out = v;
    return 0;
}

static int bad_value(const option *o, const char *v, const char *what)
{
    fprintf(stderr, "lsmctl: --%s takes %s, not '%s' (lsmctl --help for usage)\n", o->name,
            what, v);
    return 2;
}

/* Applies option o with value v (NULL for a switch). */
static int apply(const option *o, const char *v, bool in_shell, ctl_line *l)
{
    cmd_args *a = &l->a;
    uint64_t u;
    switch (o->bit) {
    case G_SOCKET:
        if (in_shell)
            return ctl_usage_err("--socket: the shell keeps the connection it started with");
        if (!*v)
            return bad_value(o, v, "a socket path");
        l->socket = v;
        break;
    case G_JSON: l->json = true; break;
    case G_HELP:
    case G_VERSION:
    case G_COMMANDS: break; /* prescan's */
    case OPT_HEX: l->hex = true; break;
    case OPT_SYNC: a->sync = true; break;
    case OPT_REVERSE: a->reverse = true; break;
    case OPT_VALUES: a->values = true; break;
    case OPT_FOLLOW: a->follow = true; break;
    case OPT_SNAPSHOT:
        if (ctl_parse_u64(v, &a->snapshot))
            return bad_value(o, v, "a snapshot ID (a whole number)");
        break;
    case OPT_LIMIT:
        if (ctl_parse_u64(v, &u) || u > LONG_MAX)
            return bad_value(o, v, "a count (a whole number, 0 or more)");
        a->limit = (long)u;
        break;
    case OPT_HOLD:
        if (ctl_parse_long(v, -1, &a->hold))
            return bad_value(o, v, "whole seconds (-1 = until SIGINT/SIGTERM)");
        break;
    case OPT_SINCE:
        if (ctl_parse_u64(v, &a->since))
            return bad_value(o, v, "a sequence number");
        a->has_since = true;
        break;
    case OPT_FORMAT:
        if (strcmp(v, "text") && strcmp(v, "json") && strcmp(v, "prometheus"))
            return bad_value(o, v, "text, json or prometheus");
        a->format = v;
        break;
    case OPT_SVG:
    case OPT_AFTER:
        if (!*v)
            return bad_value(o, v, "a file name");
        *(o->bit == OPT_SVG ? &a->svg : &a->after) = v;
        break;
    }
    return 0;
}

/* An option word: "--name" or "--name=value" (and -h). */
static const option *find_option(const char *w, const char **eq)
{
    if (strcmp(w, "-h") == 0)
        w = "--help";
    *eq = NULL;
    if (strncmp(w, "--", 2) != 0)
        return NULL;
    *eq = strchr(w, '=');
    size_t n = *eq ? (size_t)(*eq - w - 2) : strlen(w + 2);
    for (size_t i = 0; i < NOPTIONS; i++)
        if (strlen(options[i].name) == n && strncmp(w + 2, options[i].name, n) == 0)
            return &options[i];
    return NULL;
}

/* An argument that looks like an option but is a number ("-1") or stdin. */
static bool is_option_word(const char *w)
{
    return w[0] == '-' && w[1] && !(w[1] >= '0' && w[1] <= '9');
}

static const ctl_command *find_command(const char *name)
{
    for (size_t i = 0; i < ctl_ncommands; i++)
        if (strcmp(ctl_commands[i].name, name) == 0)
            return &ctl_commands[i];
    return NULL;
}

/* The first option given that cmd does not take, or NULL. */
static const option *foreign_option(const ctl_command *cmd, unsigned given)
{
    for (size_t i = 0; i < NOPTIONS; i++)
        if ((given & options[i].bit) && !(options[i].bit & (GLOBAL_OPTS | cmd->opts)))
            return &options[i];
    return NULL;
}

static int count_error(const ctl_command *cmd, int n)
{
    char want[64];
    if (cmd->min_pos == cmd->max_pos)
        snprintf(want, sizeof want, "%d argument%s", cmd->min_pos, cmd->min_pos == 1 ? "" : "s");
    else if (cmd->max_pos == MAX_POS)
        snprintf(want, sizeof want, "at least %d argument%s", cmd->min_pos,
                 cmd->min_pos == 1 ? "" : "s");
    else
        snprintf(want, sizeof want, "%d to %d arguments", cmd->min_pos, cmd->max_pos);
    fprintf(stderr, "lsmctl: %s takes %s, got %d\n", cmd->name, want, n);
    ctl_usage(stderr, cmd);
    return 2;
}

int ctl_check_nonempty(cmd_args *a)
{
    for (int i = 0; i < a->npos; i++)
        if (a->len[i] == 0)
            return ctl_usage_err("an empty argument (a name, file or directory)");
    return 0;
}

/* --hex: every key and value argument of a data command is hex. */
static int decode_hex(cmd_args *a)
{
    for (int i = 0; i < a->npos; i++) {
        if (i == 1 && a->value_stdin)
            continue;
        size_t n = a->len[i];
        char *s = (char *)a->pos[i]; /* argv's or the shell line's: writable */
        if (ctl_hex_decode(s, &n) != 0) {
            fprintf(stderr, "lsmctl: --hex: '%s' is not hex (two digits a byte, e.g. 00ff)\n",
                    a->pos[i]);
            return 2;
        }
        a->len[i] = n;
    }
    return 0;
}

/* --help, --version and --commands win over anything else on the line
 * (`lsmctl compact foo --help` helps): found first, without judging the
 * rest.  The command for --help is the first word that is not an option
 * or an option's value. */
static bool prescan(int argc, char **argv, ctl_line *l)
{
    const char *name = NULL;
    for (int i = 0; i < argc && strcmp(argv[i], "--") != 0; i++) {
        const char *eq;
        const option *o = is_option_word(argv[i]) ? find_option(argv[i], &eq) : NULL;
        if (o && o->bit == G_HELP)
            l->help = true;
        else if (o && o->bit == G_VERSION)
            l->version = true;
        else if (o && o->bit == G_COMMANDS)
            l->list_commands = true;
        else if (o && o->value && !eq)
            i++; /* its value */
        else if (!o && !is_option_word(argv[i]) && !name)
            name = argv[i];
    }
    l->cmd = name && (l->help || l->version || l->list_commands) ? find_command(name) : NULL;
    return l->help || l->version || l->list_commands;
}

int ctl_parse_line(int argc, char **argv, const size_t *lens, bool in_shell, ctl_line *l)
{
    memset(l, 0, sizeof *l);
    if (prescan(argc, argv, l))
        return 0;
    cmd_args *a = &l->a;
    a->limit = -1;
    a->level = -1;
    a->in_shell = in_shell;
    unsigned given = 0;
    bool options_end = false;
    const char *name = NULL;
    for (int i = 0; i < argc; i++) {
        const char *w = argv[i];
        size_t wlen = lens ? lens[i] : strlen(w);
        if (!options_end && strcmp(w, "--") == 0) {
            options_end = true;
            continue;
        }
        if (!options_end && is_option_word(w) && wlen == strlen(w)) {
            const char *eq;
            const option *o = find_option(w, &eq);
            if (!o) {
                fprintf(stderr, "lsmctl: unknown option %s (an argument that starts with '-' "
                        "goes after --; lsmctl --help for usage)\n", w);
                return 2;
            }
            const char *v = NULL;
            if (o->value && eq) {
                v = eq + 1;
            } else if (o->value) {
                if (i + 1 == argc) {
                    fprintf(stderr, "lsmctl: --%s needs %s\n", o->name, o->value);
                    return 2;
                }
                v = argv[++i];
            } else if (eq) {
                fprintf(stderr, "lsmctl: --%s takes no value\n", o->name);
                return 2;
            }
            int rc = apply(o, v, in_shell, l);
            if (rc)
                return rc;
            given |= o->bit;
        } else if (!name) {
            name = w;
        } else {
            if (a->npos == MAX_POS)
                return ctl_usage_err("too many arguments (at most 64)");
            a->pos[a->npos] = w;
            a->len[a->npos++] = wlen;
        }
    }
    if (!name)
        return ctl_usage_err("no command");
    if (!(l->cmd = find_command(name))) {
        fprintf(stderr, "lsmctl: unknown command '%s' (lsmctl --help lists them)\n", name);
        return 2;
    }
    const ctl_command *cmd = l->cmd;
    const option *o = foreign_option(cmd, given | (l->hex ? OPT_HEX : 0));
    if (o) {
        fprintf(stderr, "lsmctl: %s does not take --%s\n", cmd->name, o->name);
        ctl_usage(stderr, cmd);
        return 2;
    }
    if (a->npos < cmd->min_pos || a->npos > cmd->max_pos)
        return count_error(cmd, a->npos);
    if (!(cmd->opts & OPT_HEX))
        for (int i = 0; i < a->npos; i++)
            if (strlen(a->pos[i]) != a->len[i]) {
                fprintf(stderr, "lsmctl: %s: an argument holds a NUL byte\n", cmd->name);
                return 2;
            }
    int rc = cmd->check ? cmd->check(a) : 0;
    if (rc == 0 && l->hex)
        rc = decode_hex(a);
    return rc;
}

/* text indented, broken at blanks to fit 79 columns. */
static void write_wrapped(FILE *f, const char *text, int indent)
{
    int col = 0;
    while (*text) {
        size_t w = strcspn(text, " ");
        if (col > indent && col + 1 + (int)w > 79) {
            fputc('\n', f);
            col = 0;
        }
        col += col ? fprintf(f, " %.*s", (int)w, text) : fprintf(f, "%*s%.*s", indent, "", (int)w, text);
        text += w;
        text += *text == ' ';
    }
    fputc('\n', f);
}

void ctl_usage(FILE *f, const ctl_command *cmd)
{
    if (cmd) {
        fprintf(f, "usage: lsmctl [--socket PATH] [--json] %s%s%s", cmd->name,
                *cmd->args ? " " : "", cmd->args);
        for (size_t i = 0; i < NOPTIONS; i++)
            if (options[i].bit & cmd->opts)
                fprintf(f, options[i].value ? " [--%s %s]" : " [--%s]", options[i].name,
                        options[i].value);
        fputc('\n', f);
        write_wrapped(f, cmd->help, 2);
        return;
    }
    fputs("usage: lsmctl [--socket PATH] [--json] [--hex] COMMAND [ARGS] [OPTIONS]\n"
          "Options go anywhere on the line (--name VALUE or --name=VALUE); -- ends\n"
          "them (for a key that starts with '-'). lsmctl COMMAND --help: one command.\n"
          "  -h, --help                 this text        --version  print the version\n"
          "  --json                     one JSON value on stdout per command\n"
          "  --hex                      keys and values (arguments and output) in hex\n"
          "Commands:\n",
          f);
    for (size_t i = 0; i < ctl_ncommands; i++) {
        const ctl_command *c = &ctl_commands[i];
        char line[160];
        int n = snprintf(line, sizeof line, "  %s%s%s", c->name, *c->args ? " " : "", c->args);
        for (size_t j = 0; j < NOPTIONS && n < (int)sizeof line; j++)
            if ((options[j].bit & c->opts) && options[j].bit != OPT_HEX)
                n += snprintf(line + n, sizeof line - (size_t)n,
                              options[j].value ? " [--%s %s]" : " [--%s]", options[j].name,
                              options[j].value ? options[j].value : "");
        if (c->offline && (i == 0 || !ctl_commands[i - 1].offline))
            fputs("Offline (no daemon; stop lsmd first for verify and repair):\n", f);
        fprintf(f, "%s\n", line);
        write_wrapped(f, c->help, 6);
    }
    fputs("Values: put KEY - reads the value from stdin; get writes it to stdout as is\n"
          "(on a terminal: the quoted text form and a newline). scan and mget print\n"
          "KEY<TAB>VALUE lines in the text form: bare when printable, else \"...\" with\n"
          "C escapes (\\xHH, \\n, \\t, \\\\, \\\"), the form shell reads back in double\n"
          "quotes ('...': literal).\n"
          "Socket: --socket, else $LSMD_SOCKET, else $XDG_RUNTIME_DIR/lsmd.sock,\n"
          "else /tmp/lsmd-$UID/lsmd.sock.\n",
          f);
}
