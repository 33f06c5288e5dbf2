/*
 * config_keys.h — the one table of lsmd's settings.  Each row is a key of
 * the INI file and the flag --KEY ('-' or '_' on the command line), with
 * its default and meaning, which `lsmd --help` prints: a key added here is
 * parsed, documented and listed at once, with no second list to forget.
 *
 * The engine's options are not rows here: every option the engine lists
 * (lsm_option_at: the persisted lsm_options fields) is a key too, parsed by
 * the engine (lsm_options_set), given to lsm_open, and, when the engine
 * can change it at run time, applied again by a reload.  A row with an
 * engine option's name (file_mode, use_direct_io) overrides it for the
 * daemon's spelling of values (booleans as on/off, ...).
 *
 * Thread safety: the table is constant; setters run on the main thread
 * (config.h).
 */
#ifndef LSMD_CONFIG_KEYS_H
#define LSMD_CONFIG_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "config.h"

enum config_key_kind {
    CK_NUM,  /* an integer field (4 or 8 bytes) in [lo, hi]; K/M/G suffixes */
    CK_STR,  /* an owned, non-empty string (char *) */
    CK_IDS,  /* an owned array of ids (comma list) and its count */
    CK_FN,   /* parsed by set */
};

typedef struct config_key {
    const char *name;    /* the '_' spelling */
    const char *arg;     /* --help's placeholder for the value */
    const char *def;     /* the default as --help prints it; NULL: a CK_NUM
                            field's value after config_init */
    const char *help;    /* the meaning; '\n' starts a new help line */
    enum config_key_kind kind;
    bool is_switch;      /* `--KEY` alone means `--KEY 1` */
    size_t off, size;    /* CK_NUM, CK_STR, CK_IDS: the field; CK_IDS: its count at off2 */
    size_t off2;
    unsigned long long lo, hi;
    int (*set)(daemon_config *c, const char *value); /* CK_FN */
} config_key;

/* Sets one key (either spelling) from its text value.
 * Errors: -EINVAL (unknown key or bad value; the log says which),
 *         -ENOMEM. */
int config_set(daemon_config *c, const char *key, const char *value);

/* true for a key that is a switch (use_direct_io): on the command line
 * `--use-direct-io` alone means `--use-direct-io 1`. */
bool config_key_is_switch(const char *key);

/* name with '-' read as '_' into k (cap bytes); false when it does not
 * fit (no key is that long). */
bool config_key_normalize(const char *name, char *k, size_t cap);

/* The i-th row (0-based), or NULL past the last. */
const config_key *config_key_at(size_t i);

/* The row named name ('_' spelling), or NULL. */
const config_key *config_key_find(const char *name);

/* Applies name = value ('_' spelling) from the table or, for an engine
 * option, through the engine's parser.  Returns 0, -ENOENT (no such key),
 * -EINVAL (bad value), -ENOMEM.  Logs nothing: config_set says why. */
int config_key_set(daemon_config *c, const char *name, const char *value);

/* true for an engine option name (lsm_option_at). */
bool config_key_is_engine(const char *name);

/* Prints `lsmd --help`: the usage line, the rules, every row, then every
 * engine option with its default and whether a reload applies it. */
void config_usage(FILE *f);

#endif
