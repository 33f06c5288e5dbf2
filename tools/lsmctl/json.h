/*
 * json.h — a small JSON reader for the daemon's stats (lsmctl only).
 *
 * Enough for what the daemon emits: objects, arrays, strings (escapes kept
 * verbatim except \" and \\), numbers, true/false/null.  Not thread-safe
 * state: none; every value is owned by its root and freed with jv_free.
 */
#ifndef LSMCTL_JSON_H
#define LSMCTL_JSON_H

#include <stddef.h>

typedef enum { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ } jtype;
typedef struct jv {
    jtype t;
    double num;
    char *str;          /* J_STR */
    struct jv *kids;    /* J_ARR, J_OBJ */
    char **keys;        /* J_OBJ */
    size_t n;
} jv;

/* Parses one value at p into *v (depth: nesting so far, 0 at the root).
 * Returns the position after it, or NULL on a syntax error or no memory;
 * *v is then partly filled and must still be freed with jv_free. */
const char *jv_parse(const char *p, jv *v, int depth);
void jv_free(jv *v);

/* The member key of object o, or NULL (o NULL or not an object). */
const jv *jv_get(const jv *o, const char *key);
/* A member's number (true = 1), or 0 when absent or not a number. */
double jv_num(const jv *o, const char *key);
/* A member's string, or "" when absent or not a string. */
const char *jv_str(const jv *o, const char *key);

#endif
