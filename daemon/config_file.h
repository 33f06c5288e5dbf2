/*
 * config_file.h — lsmd's INI file (libinih): `KEY = VALUE` lines before any
 * section or under [lsmd] are the keys of config_keys.h; an [engine]
 * section takes engine options only.  Comments start with '#' or ';'.
 * Thread safety: main thread (config.h).
 */
#ifndef LSMD_CONFIG_FILE_H
#define LSMD_CONFIG_FILE_H

#include "config.h"

/* Reads an INI file with libinih.  Errors: -ENOENT/-EACCES (cannot open),
 * -EINVAL (a syntax error or a bad key; line number logged), -ENOMEM. */
int config_load_file(daemon_config *c, const char *path);

#endif
