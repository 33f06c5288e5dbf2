/*
 * main.c — lsmctl, the command-line client of lsmd: options, the
 * command table, the shell.
 *
 *   lsmctl [--socket PATH] [--json] COMMAND [ARGS]
 *     get KEY [--snapshot ID]          print the value
 *     mget KEY... [--snapshot ID]      KEY<TAB>VALUE lines in one multi-get
 *                                      (absent keys: KEY<TAB> and exit 1)
 *     put KEY VALUE [--sync]
 *     del KEY [--sync]
 *     scan [LO [HI]] [--limit N] [--snapshot ID] [--reverse]
 *                                      KEY<TAB>VALUE lines, [LO, HI)
 *     stats [--format text|json|prometheus]
 *                                      summary (--json = --format json: the
 *                                      daemon's JSON; prometheus: the text
 *                                      its GET /metrics serves)
 *     flush | compact [LEVEL]          LEVEL -1 (default) = whole tree
 *     set NAME VALUE                   runtime engine option
 *                                      (flush, compact, set: admins only,
 *                                      i.e. the daemon's uid or a uid/gid
 *                                      in its admin_uids/admin_gids)
 *     snapshot create [--hold SECS]    print a new snapshot ID; the pin
 *                                      lasts while lsmctl runs (SECS, -1 =
 *                                      until SIGINT/SIGTERM; default 0)
 *     snapshot list                    published snapshots
 *     snapshot release ID              drop this connection's hold (useful
 *                                      in `shell`)
 *     checkpoint DIR                   a consistent copy of the live
 *                                      database in DIR, which must not
 *                                      exist (admins only; lsm_checkpoint)
 *     levels                           files/bytes/score per level
 *     compactions [--svg FILE]         flush/compaction event log; the SVG
 *                                      draws them on a time line per level
 *     shell                            read commands from stdin, one per
 *                                      line, on one connection
 *     get-option NAME                  an engine option's current value
 *                                      (as persisted in DIR/OPTIONS)
 *     options                          every engine option, NAME=VALUE
 *                                      lines (--json: one object)
 *     dump [--snapshot ID] > FILE      a snapshot's keys in the dump format
 *                                      (docs/dump-format.md), its sequence
 *                                      in the header
 *     changes --since SEQ | --after FILE [--follow] > FILE
 *                                      every write after SEQ (or after what
 *                                      a dump/changes FILE reaches), same
 *                                      format
 *     load FILE|- [--sync]             applies a dump or a change stream
 *   offline (no daemon; inspect.c, docs/operations.md "Inspection and repair"):
 *     sst-dump FILE [--values]         a table: properties, index, keys
 *     wal-dump FILE [--values]         a WAL: records and their entries
 *     manifest-dump DIR                CURRENT and the MANIFEST's edits
 *     verify DIR                       every table, block and WAL checked;
 *                                      exit 1 on damage
 *     repair DIR                       rebuild the MANIFEST from the files
 *                                      present; damaged ones go to DIR/lost/
 *
 * Commands live in this folder by group (lsmctl.h); a new command is a
 * function there and one row of `commands` below.
 *
 * Exit status: 0 ok, 1 the command failed (message on stderr), 2 usage.
 * --json output is one JSON value per command on stdout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lsmctl.h"

static void usage(FILE *f)
{
    fputs("usage: lsmctl [--socket PATH] [--json] COMMAND [ARGS]\n"
          "  get KEY [--snapshot ID]\n"
          "  mget KEY... [--snapshot ID]  (up to 64 keys)\n"
          "  put KEY VALUE [--sync]\n"
          "  del KEY [--sync]\n"
          "  scan [LO [HI]] [--limit N] [--snapshot ID] [--reverse]\n"
          "  stats [--format text|json|prometheus]\n"
          "  flush\n"
          "  compact [LEVEL]            (-1 = whole tree, the default)\n"
          "  set NAME VALUE             (flush, compact, set: admins only)\n"
          "  snapshot create [--hold SECS] | snapshot list | snapshot release ID\n"
          "  checkpoint DIR             consistent copy of the live database into\n"
          "                             DIR (new; admins only)\n"
          "  levels\n"
          "  compactions [--svg FILE]\n"
          "  shell                      commands from stdin on one connection\n"
          "  get-option NAME            an engine option's current value\n"
          "  options                    every engine option, NAME=VALUE lines\n"
          "  dump [--snapshot ID] > FILE            (docs/dump-format.md)\n"
          "  changes --since SEQ | --after DUMPFILE [--follow] > FILE\n"
          "  load FILE|- [--sync]                   apply a dump or changes\n"
          "Offline (no daemon; stop lsmd first for verify and repair):\n"
          "  sst-dump FILE [--values]   wal-dump FILE [--values]   manifest-dump DIR\n"
          "  verify DIR                 (exit 1 on damage)\n"
          "  repair DIR                 (damaged files are moved to DIR/lost/)\n"
          "Socket: --socket, else $LSMD_SOCKET, else $XDG_RUNTIME_DIR/lsmd.sock,\n"
          "else /tmp/lsmd-$UID/lsmd.sock.\n",
          f);
}

typedef struct command {
    const char *name;
    int (*run)(lsmd_conn *c, const cmd_args *a);
    bool offline; /* runs without a daemon (c == NULL) */
} command;

static int cmd_shell(lsmd_conn *c, const cmd_args *a);

static const command commands[] = {
    { "get", cmd_get, false },
    { "mget", cmd_mget, false },
    { "put", cmd_put, false },
    { "del", cmd_del, false },
    { "scan", cmd_scan, false },
    { "stats", cmd_stats, false },
    { "levels", cmd_levels, false },
    { "compactions", cmd_compactions, false },
    { "flush", cmd_flush, false },
    { "compact", cmd_compact, false },
    { "set", cmd_set, false },
    { "snapshot", cmd_snapshot, false },
    { "checkpoint", cmd_checkpoint, false },
    { "shell", cmd_shell, false },
    { "get-option", cmd_get_option, false },
    { "options", cmd_options, false },
    { "dump", cmd_dump, false },
    { "changes", cmd_changes, false },
    { "load", cmd_load, false },
    { "sst-dump", cmd_sst_dump, true },
    { "wal-dump", cmd_wal_dump, true },
    { "manifest-dump", cmd_manifest_dump, true },
    { "verify", cmd_verify, true },
    { "repair", cmd_repair, true },
};

static const command *find_command(const char *name)
{
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

static int run_command(lsmd_conn *c, int argc, char **argv)
{
    const command *cmd = find_command(argv[0]);
    if (!cmd) {
        fprintf(stderr, "lsmctl: unknown command '%s'\n", argv[0]);
        return 2;
    }
    if (!cmd->offline && !c) {
        fprintf(stderr, "lsmctl: %s needs a daemon\n", argv[0]);
        return 2;
    }
    cmd_args a;
    int rc = ctl_parse_args(argc - 1, argv + 1, &a);
    return rc ? rc : cmd->run(cmd->offline ? NULL : c, &a);
}

/* Commands from stdin, one per line, split on blanks, on this connection. */
static int cmd_shell(lsmd_conn *c, const cmd_args *a)
{
    (void)a;
    char *line = NULL;
    size_t cap = 0;
    int worst = 0;
    while (getline(&line, &cap, stdin) > 0) {
        char *argv[16];
        int argc = 0;
        for (char *tok = strtok(line, " \t\r\n"); tok && argc < 16; tok = strtok(NULL, " \t\r\n"))
            argv[argc++] = tok;
        if (argc == 0 || argv[0][0] == '#')
            continue;
        if (strcmp(argv[0], "shell") == 0)
            continue;
        int rc = run_command(c, argc, argv);
        fflush(stdout);
        if (rc > worst)
            worst = rc;
    }
    free(line);
    return worst;
}

int main(int argc, char **argv)
{
    const char *sock = NULL;
    int i = 1;
    for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        if (strcmp(argv[i], "--socket") == 0 && i + 1 < argc) {
            sock = argv[++i];
        } else if (strcmp(argv[i], "--json") == 0) {
            ctl_json = true;
        } else if (strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "lsmctl: unknown option %s\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    if (i == argc) {
        usage(stderr);
        return 2;
    }
    const command *cmd = find_command(argv[i]);
    if (!cmd) {
        fprintf(stderr, "lsmctl: unknown command '%s'\n", argv[i]);
        return 2;
    }
    if (cmd->offline)
        return run_command(NULL, argc - i, argv + i);
    lsmd_conn *c;
    int rc = lsmd_connect(sock, &c);
    if (rc)
        return ctl_connect_fail(sock, rc);
    ctl_conn = c;
    rc = run_command(c, argc - i, argv + i);
    lsmd_disconnect(c);
    return rc;
}
