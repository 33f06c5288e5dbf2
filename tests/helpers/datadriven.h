/*
 * datadriven.h — data-driven tests, as Pebble's testdata/ files: a file of
 * cases, each a command line, input lines, a "----" line and the expected
 * output, ended by a blank line (so an output has no blank lines):
 *
 *     # a comment line, kept as it is
 *     get
 *     k 5
 *     ----
 *     k@5: found "v5"
 *
 * dd_run() reads tests/<dir>/testdata/NAME (beside the test's source),
 * calls the test's function for each case, and compares what it printed
 * (dd_printf) with the expected output; a difference fails the test with
 * the file and line.  With LSM_TEST_REWRITE=1 it writes the outputs into
 * the file instead (review the diff before committing it).
 */
#ifndef LSM_TEST_DATADRIVEN_H
#define LSM_TEST_DATADRIVEN_H

#include <stdbool.h>
#include <stddef.h>

#define DD_MAX_ARGS 16

typedef struct dd_case {
    const char *path;
    int line;                     /* of the command */
    char *cmd;                    /* the first word of the command line */
    int nargs;
    char *args[DD_MAX_ARGS];      /* the other words */
    int ninput;
    char **input;                 /* the lines between the command and ---- */
    char *out;                    /* what the function printed */
    size_t out_len, out_cap;
} dd_case;

/* Appends to the case's output. */
void dd_printf(dd_case *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Fails the test, naming the case's file and line. */
void dd_fail(const dd_case *c, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));

/* The argument "name=value": its value, or NULL when absent; "name" alone
 * gives "".  dd_arg_long: the value as a number, def when absent. */
const char *dd_arg(const dd_case *c, const char *name);
long dd_arg_long(const dd_case *c, const char *name, long def);

/* Splits line (in place) into its space-separated words, at most max of
 * them (more fails the case); the word "" stands for an empty word.
 * Returns the count. */
int dd_words(const dd_case *c, char *line, char **w, int max);

typedef void (*dd_fn)(dd_case *c, void *arg);

/* Runs every case of testdata/name beside src_file (pass __FILE__). */
void dd_run(const char *src_file, const char *name, dd_fn fn, void *arg);
#define DD_RUN(name, fn, arg) dd_run(__FILE__, name, fn, arg)

#endif
