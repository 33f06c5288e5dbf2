/*
 * main.c — lsmctl, the command-line client of lsmd: the command table,
 * the shell, main.
 *
 *   lsmctl [--socket PATH] [--json] [--hex] COMMAND [ARGS] [OPTIONS]
 *
 * `lsmctl --help` prints the table below (each command's arguments,
 * options and help line) and docs/lsmctl.md explains the command line and
 * the forms of binary keys and values.  Commands live in this folder by
 * group (lsmctl.h); a new command is a function there and one row of
 * `ctl_commands` below.  The whole line is parsed and checked (args.c)
 * before lsmctl connects.
 *
 * Exit status: 0 ok, 1 the command failed (message on stderr), 2 usage.
 * --json output is one JSON value per command on stdout.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lsmctl.h"

static int cmd_shell(lsmd_conn *c, const cmd_args *a);

#define DATA OPT_HEX
const ctl_command ctl_commands[] = {
    { "get", cmd_get, NULL, false, DATA | OPT_SNAPSHOT, 1, 1, "KEY",
      "print the value: stdout gets its bytes as they are (on a terminal: the text form)" },
    { "mget", cmd_mget, NULL, false, DATA | OPT_SNAPSHOT, 1, MAX_POS, "KEY...",
      "KEY<TAB>VALUE lines in one multi-get, up to 64 keys (absent: KEY<TAB>, exit 1)" },
    { "put", cmd_put, check_put, false, DATA | OPT_SYNC, 2, 2, "KEY VALUE|-",
      "store VALUE; - reads it from stdin (any bytes, up to 64 MiB)" },
    { "del", cmd_del, NULL, false, DATA | OPT_SYNC, 1, 1, "KEY", "delete KEY" },
    { "scan", cmd_scan, NULL, false, DATA | OPT_LIMIT | OPT_SNAPSHOT | OPT_REVERSE, 0, 2,
      "[LO [HI]]", "KEY<TAB>VALUE lines, LO <= KEY < HI" },
    { "stats", cmd_stats, NULL, false, OPT_FORMAT, 0, 0, "",
      "summary (json: the daemon's JSON, as --json; prometheus: what GET /metrics serves)" },
    { "levels", cmd_levels, NULL, false, 0, 0, 0, "", "files, bytes and score per level" },
    { "compactions", cmd_compactions, NULL, false, OPT_SVG, 0, 0, "",
      "flush/compaction event log; --svg draws them on a time line per level" },
    { "flush", cmd_flush, NULL, false, 0, 0, 0, "", "memtable to L0 (admins only)" },
    { "compact", cmd_compact, check_compact, false, 0, 0, 1, "[LEVEL]",
      "compact LEVEL; -1 (the default) = the whole tree (admins only)" },
    { "set", cmd_set, NULL, false, 0, 2, 2, "NAME VALUE",
      "set a runtime engine option (admins only: the daemon's uid or admin_uids/gids)" },
    { "snapshot", cmd_snapshot, check_snapshot, false, OPT_HOLD, 1, 2, "create|list|release ID",
      "create prints a new snapshot ID held while lsmctl runs (--hold SECS, -1 = until "
      "SIGINT/SIGTERM; default 0); list; release drops this connection's hold" },
    { "checkpoint", cmd_checkpoint, ctl_check_nonempty, false, 0, 1, 1, "DIR",
      "a consistent copy of the live database in DIR, which must not exist (admins only)" },
    { "shell", cmd_shell, NULL, false, 0, 0, 0, "",
      "commands from stdin, one a line, on one connection (quoting: lsmctl --help, Values)" },
    { "get-option", cmd_get_option, ctl_check_nonempty, false, 0, 1, 1, "NAME",
      "an engine option's current value" },
    { "options", cmd_options, NULL, false, 0, 0, 0, "", "every engine option, NAME=VALUE lines" },
    { "dump", cmd_dump, NULL, false, OPT_SNAPSHOT, 0, 0, "",
      "> FILE: a snapshot's keys in the dump format, its sequence in the header" },
    { "changes", cmd_changes, check_changes, false, OPT_SINCE | OPT_AFTER | OPT_FOLLOW, 0, 0, "",
      "> FILE: every write after SEQ (--since) or after a dump/changes FILE (--after)" },
    { "load", cmd_load, check_load, false, OPT_SYNC, 1, 1, "FILE|-",
      "apply a dump or a change stream" },
    { "sst-dump", cmd_sst_dump, ctl_check_nonempty, true, OPT_VALUES, 1, 1, "FILE",
      "a table: properties, index, keys" },
    { "wal-dump", cmd_wal_dump, ctl_check_nonempty, true, OPT_VALUES, 1, 1, "FILE",
      "a WAL: records and their entries" },
    { "manifest-dump", cmd_manifest_dump, ctl_check_nonempty, true, 0, 1, 1, "DIR",
      "CURRENT and the MANIFEST's edits" },
    { "verify", cmd_verify, ctl_check_nonempty, true, 0, 1, 1, "DIR",
      "every table, block and WAL checked; exit 1 on damage" },
    { "repair", cmd_repair, ctl_check_nonempty, true, 0, 1, 1, "DIR",
      "rebuild the MANIFEST from the files present; damaged ones go to DIR/lost/" },
};
const size_t ctl_ncommands = sizeof ctl_commands / sizeof ctl_commands[0];

/* Runs a parsed line: --help, --version, --commands, or the command. */
static int run_line(lsmd_conn *c, const ctl_line *l)
{
    if (l->help) {
        ctl_usage(stdout, l->cmd);
        return 0;
    }
    if (l->version) {
        printf("lsmctl %s\n", LSM_VERSION);
        return 0;
    }
    if (l->list_commands) {
        for (size_t i = 0; i < ctl_ncommands; i++)
            puts(ctl_commands[i].name);
        return 0;
    }
    return l->cmd->run(l->cmd->offline ? NULL : c, &l->a);
}

/* Commands from stdin, one per line, split like a shell's words
 * (ctl_shell_split), on this connection.  --json and --hex of the shell's
 * own line hold for every line; a line's own apply to that line. */
static int cmd_shell(lsmd_conn *c, const cmd_args *a)
{
    (void)a;
    bool json = ctl_json, hex = ctl_hex;
    char *line = NULL;
    size_t cap = 0;
    int worst = 0, lineno = 0;
    while (getline(&line, &cap, stdin) > 0) {
        char *words[MAX_POS + 16];
        size_t lens[MAX_POS + 16];
        const char *err;
        lineno++;
        int n = ctl_shell_split(line, words, lens, MAX_POS + 16, &err), rc;
        if (n == 0 || (n > 0 && words[0][0] == '#'))
            continue;
        ctl_line l;
        if (n < 0) {
            fprintf(stderr, "lsmctl: shell line %d: %s\n", lineno, err);
            rc = 2;
        } else if ((rc = ctl_parse_line(n, words, lens, true, &l)) != 0) {
            ;
        } else if (l.cmd && l.cmd->run == cmd_shell && !l.help) {
            fprintf(stderr, "lsmctl: shell line %d: already in the shell\n", lineno);
            rc = 2;
        } else {
            ctl_json = json || l.json;
            ctl_hex = hex || l.hex;
            rc = run_line(c, &l);
        }
        fflush(stdout);
        if (rc > worst)
            worst = rc;
    }
    ctl_json = json;
    ctl_hex = hex;
    free(line);
    return worst;
}

/* A failed write to stdout (a full disk, a closed pipe) fails the command. */
static int finish(int rc)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "lsmctl: writing stdout: %s\n", strerror(errno));
        return rc ? rc : 1;
    }
    return rc;
}

int main(int argc, char **argv)
{
    ctl_line l;
    int rc = ctl_parse_line(argc - 1, argv + 1, NULL, false, &l);
    if (rc)
        return rc;
    ctl_json = l.json;
    ctl_hex = l.hex;
    if (l.help || l.version || l.list_commands || l.cmd->offline)
        return finish(run_line(NULL, &l));
    const char *sock = l.socket;
    lsmd_conn *c;
    rc = lsmd_connect(sock, &c);
    if (rc)
        return ctl_connect_fail(sock, rc);
    ctl_conn = c;
    rc = run_line(c, &l);
    lsmd_disconnect(c);
    return finish(rc);
}
