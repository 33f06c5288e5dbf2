/*
 * options_table.h — every persisted engine option by name: one table of
 * the numeric options (name, where it lives in lsm_options, kind, range,
 * whether it may change at run time) that open-time checks
 * (db_options.c), run-time sets, lsm_get_option and the OPTIONS file
 * (options_file.h) all read, so they cannot drift apart.
 *
 * Thread safety: pure functions over a caller's lsm_options.
 */
#ifndef LSM_DB_OPTIONS_TABLE_H
#define LSM_DB_OPTIONS_TABLE_H

#include <stdbool.h>
#include <stddef.h>

#include "lsm.h"

enum opt_kind { OPT_SIZE, OPT_INT, OPT_DOUBLE, OPT_U64 };

struct opt_desc {
    const char *name;
    enum opt_kind kind;
    size_t offset;
    double min, max;
    bool runtime;
    double runtime_min; /* a stricter floor for lsm_set_option, or 0 */
};


extern const struct opt_desc opt_table[];
#define OPT_TABLE_LEN 24u

/* The row of a numeric option, or NULL. */
const struct opt_desc *opt_find(const char *name);
double opt_get(const lsm_options *o, const struct opt_desc *d);
void opt_set(lsm_options *o, const struct opt_desc *d, double v);
/* 1 when v is within d's range (the stricter run-time floor when runtime);
 * else 0, with a rate-limited warning. */
int opt_in_range(const struct opt_desc *d, double v, bool runtime);
/* Parses a whole number or decimal with an optional K/M/G suffix for
 * sizes (powers of 1024), as in "64M".  Returns 0 or -EINVAL. */
int opt_parse_number(const char *s, enum opt_kind kind, double *out);

/* 1 for "leveled" or "tiered". */
int db_style_valid(const char *s);

/* Options by name (lsm_get_option, options_file.h): the numeric rows and
 * compaction_style, memtable_impl, file_mode; at most DB_OPTIONS_COUNT. */
#define DB_OPTIONS_COUNT 64
/* The option's index in the persisted list, or -1 for an unknown name. */
int db_option_index(const char *name);
/* name's value as text into buf (NUL-terminated), or with name NULL or ""
 * every option as "name=value\n" lines.  Returns the length (without the
 * NUL), -EINVAL (unknown name), LSM_ETOOSMALL (cap too small). */
int db_options_text(const lsm_options *o, const char *name, char *buf, size_t cap);
/* Sets one option of *o from text (sizes take K/M/G) and checks its
 * range; pair rules are left to lsm_open.  Returns 0, -ENOENT (unknown
 * name) or -EINVAL (bad value, logged when out of range). */
int db_option_parse(lsm_options *o, const char *name, const char *value);

#endif
