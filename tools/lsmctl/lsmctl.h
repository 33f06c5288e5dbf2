/*
 * lsmctl.h — what lsmctl's command files share.
 *
 * Each command is a function `int cmd_NAME(lsmd_conn *c, const cmd_args *a)`
 * in the file of its group (data.c, stats.c, admin.c, ...), listed once in
 * main.c's command table.  A command marked offline there runs without a
 * daemon and gets c == NULL.  Commands return the exit status: 0 ok, 1 the
 * command failed (the message is on stderr), 2 usage.  With --json each
 * command prints one JSON value on stdout.  Single-threaded.
 */
#ifndef LSMCTL_H
#define LSMCTL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "lsmd.h"

#define MAX_POS 64 /* positional arguments (mget's keys) */

typedef struct cmd_args {
    const char *pos[MAX_POS]; /* positional arguments after the command */
    int npos;
    bool sync, reverse;
    uint64_t snapshot;
    long limit;          /* -1 = none */
    long hold;
    const char *svg;
    bool values;         /* sst-dump, wal-dump: print values too */
    uint64_t since;      /* changes --since */
    bool has_since, follow;
    const char *after;   /* changes --after FILE */
    const char *format;  /* stats --format text|json|prometheus; NULL = text */
} cmd_args;

extern bool ctl_json; /* --json given (anywhere on the line) */

/* Parses the options and positional arguments after the command name. */
int ctl_parse_args(int argc, char **argv, cmd_args *a);
/* 0 and *out, or -1 when s is not a whole unsigned number. */
int ctl_parse_u64(const char *s, uint64_t *out);

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
/* n bytes as a JSON string (quotes, backslashes and non-ASCII escaped). */
void ctl_json_bytes(FILE *f, const void *p, size_t n);
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

#endif
