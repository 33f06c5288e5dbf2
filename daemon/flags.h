/*
 * flags.h — lsmd's command line: `--KEY VALUE`, `--KEY=VALUE`, a switch
 * standing alone, and `--config FILE`, read before every other flag so
 * that flags override the file (config.h: defaults < file < flags).
 *
 * The daemon parses its argv at start and again at each reload
 * (reload.h), into a fresh daemon_config, so a reload sees the same
 * precedence.  Thread safety: none needed (main thread).
 */
#ifndef LSMD_FLAGS_H
#define LSMD_FLAGS_H

#include "config.h"

/* Applies argv[1..argc) to c, and LSMD_SOCKET (non-empty) as the socket
 * unless a --socket flag gives one: flag > LSMD_SOCKET > file > default,
 * the rule lsmctl and liblsmd follow.  Returns 0, 1 (-h/--help: the caller
 * prints the usage), 2 (-V/--version: the caller prints the version) or
 * -EINVAL (a bad flag or value, or a bad config file: said on stderr or in
 * the log), -ENOMEM. */
int flags_parse(daemon_config *c, int argc, char **argv);

#endif
