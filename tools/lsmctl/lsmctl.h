/*
 * lsmctl.h — what lsmctl's command files share.
 *
 * Each command is a function `int cmd_NAME(lsmd_conn *c, const cmd_args *a)`
 * in the file of its group (data.c, stats.c, admin.c, ...), listed once in
 * main.c's command table with the options it takes, its argument count
 * and its help line (the command line: args.c).  A command marked offline there runs without a
 * daemon and gets c == NULL.  Commands return the exit status: 0 ok, 1 the
 * command failed (the message is on stderr), 2 usage.  With --json each
 * command prints one JSON value on stdout.  Single-threaded.
 */
#ifndef LSMCTL_H
#define LSMCTL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "bytes.h"
#include "lsmd.h"

#define MAX_POS 64 /* positional arguments (mget's keys) */

typedef struct cmd_args {
    /* Positional arguments after the command: pos[i] holds len[i] bytes
     * (NUL-terminated too; a data command's may hold NUL bytes: from
     * --hex or a shell line's "\x00"; other commands' never do). */
    const char *pos[MAX_POS];
    size_t len[MAX_POS];
    int npos;
    bool sync, reverse;
    uint64_t snapshot;
    long limit;          /* -1 = none */
    long hold;           /* snapshot create --hold: -1 = until a signal */
    const char *svg;
    bool values;         /* sst-dump, wal-dump: print values too */
    uint64_t since;      /* changes --since */
    bool has_since, follow;
    const char *after;   /* changes --after FILE */
    const char *format;  /* stats --format text|json|prometheus; NULL = text */
    /* Set by the command's check (before connecting). */
    long level;          /* compact LEVEL (-1 = whole tree) */
    uint64_t id;         /* snapshot release ID */
    bool value_stdin;    /* put KEY -: the value is stdin */
    bool in_shell;       /* run from `shell` (stdin holds the commands) */
} cmd_args;

/* The options a command takes (its row's opts); --socket, --json, --help,
 * --version are taken by every command. */
enum {
    OPT_SYNC = 1u << 0,
    OPT_REVERSE = 1u << 1,
    OPT_VALUES = 1u << 2,
    OPT_SNAPSHOT = 1u << 3,
    OPT_LIMIT = 1u << 4,
    OPT_HOLD = 1u << 5,
    OPT_SVG = 1u << 6,
    OPT_SINCE = 1u << 7,
    OPT_AFTER = 1u << 8,
    OPT_FOLLOW = 1u << 9,
    OPT_FORMAT = 1u << 10,
    OPT_HEX = 1u << 11, /* a data command: its arguments are keys and values */
};

/* One row of main.c's command table. */
typedef struct ctl_command {
    const char *name;
    int (*run)(lsmd_conn *c, const cmd_args *a);
    /* Checks what the generic parse cannot (a number, a subcommand) and
     * fills its fields of a, before any connection; 0 or 2 after the
     * message (ctl_usage_err).  NULL: nothing to check. */
    int (*check)(cmd_args *a);
    bool offline;        /* runs without a daemon (c == NULL) */
    unsigned opts;       /* OPT_* it takes */
    int min_pos, max_pos;
    const char *args;    /* its positional arguments, for the usage line */
    const char *help;    /* what it does, for --help */
} ctl_command;

extern const ctl_command ctl_commands[];
extern const size_t ctl_ncommands;

/* A parsed command line (args.c). */
typedef struct ctl_line {
    const char *socket;  /* --socket, or NULL */
    bool json, hex, help, version, list_commands;
    const ctl_command *cmd; /* NULL: none given */
    cmd_args a;
} ctl_line;

extern bool ctl_json; /* --json given (anywhere on the line) */

/* Parses a command line without the program name: options anywhere
 * (--name VALUE or --name=VALUE), `--` ends them, a lone `-` and negative
 * numbers are arguments; then the command, the options it takes, its
 * argument count, its check, and --hex decoding (in place: argv's strings
 * are rewritten).  lens[i] is argv[i]'s length (NULL: strlen).  With
 * --help, --version or --commands the rest is not checked.  0, or the
 * exit status 2 after a message on stderr; nothing is connected. */
int ctl_parse_line(int argc, char **argv, const size_t *lens, bool in_shell, ctl_line *out);
/* "usage: lsmctl [OPTIONS] NAME ARGS [its options]" and its help line;
 * cmd NULL: every command, the global options and the socket rule. */
void ctl_usage(FILE *f, const ctl_command *cmd);
/* 0 and *out, or -1 when s is not a whole decimal number in range. */
int ctl_parse_u64(const char *s, uint64_t *out);
int ctl_parse_long(const char *s, long min, long *out);
/* A check (ctl_command.check) for names, files and directories: refuses
 * an empty argument. */
int ctl_check_nonempty(cmd_args *a);

/* "lsmctl: WHAT: reason" on stderr; returns 1. */
int ctl_fail(const char *what, int rc);
/* The connection ctl_fail asks for the reason of a failure
 * (lsmd_last_error); NULL before connecting and for offline commands. */
extern lsmd_conn *ctl_conn;
/* Says that lsmd could not be reached at socket (NULL: the default, named
 * as lsmd_socket_path resolves it) and why; returns 1. */
int ctl_connect_fail(const char *socket, int rc);
/* "lsmctl: MSG (lsmctl --help for usage)" on stderr; returns 2. */
int ctl_usage_err(const char *msg);
/* {"ok":true} under --json; returns 0. */
int ctl_ok_json(void);
/* "1.5 MiB" */
void ctl_human_bytes(double b, char *out, size_t cap);

/* The commands, by group. */
int cmd_get(lsmd_conn *c, const cmd_args *a);      /* data.c */
int cmd_mget(lsmd_conn *c, const cmd_args *a);
int cmd_put(lsmd_conn *c, const cmd_args *a);
int cmd_del(lsmd_conn *c, const cmd_args *a);
int cmd_scan(lsmd_conn *c, const cmd_args *a);
int cmd_stats(lsmd_conn *c, const cmd_args *a);    /* stats.c */
int cmd_levels(lsmd_conn *c, const cmd_args *a);
int cmd_compactions(lsmd_conn *c, const cmd_args *a);
int cmd_flush(lsmd_conn *c, const cmd_args *a);    /* admin.c */
int cmd_compact(lsmd_conn *c, const cmd_args *a);
int cmd_set(lsmd_conn *c, const cmd_args *a);
int cmd_snapshot(lsmd_conn *c, const cmd_args *a);
int cmd_checkpoint(lsmd_conn *c, const cmd_args *a); /* admin.c */
int cmd_sst_dump(lsmd_conn *c, const cmd_args *a); /* inspect.c (offline) */
int cmd_wal_dump(lsmd_conn *c, const cmd_args *a);
int cmd_manifest_dump(lsmd_conn *c, const cmd_args *a);
int cmd_verify(lsmd_conn *c, const cmd_args *a);
int cmd_repair(lsmd_conn *c, const cmd_args *a);
int cmd_get_option(lsmd_conn *c, const cmd_args *a); /* options.c */
int cmd_options(lsmd_conn *c, const cmd_args *a);
int cmd_dump(lsmd_conn *c, const cmd_args *a);     /* feed.c */
int cmd_load(lsmd_conn *c, const cmd_args *a);
int cmd_changes(lsmd_conn *c, const cmd_args *a);

/* The checks of ctl_command.check, by group. */
int check_put(cmd_args *a);      /* data.c: VALUE "-" = stdin */
int check_compact(cmd_args *a);  /* admin.c: LEVEL a number >= -1 */
int check_snapshot(cmd_args *a); /* admin.c: the subcommand and its ID */
int check_changes(cmd_args *a);  /* feed.c: --since or --after */
int check_load(cmd_args *a);     /* feed.c: not - in shell */

#endif
