/*
 * json_scan.h — read-only walking of JSON text in place, for the statistics
 * objects lsm_stats_json and lsmd_stats_json produce (numbers, strings,
 * nested objects, the "events" array).  No tree is built and nothing is
 * allocated: every call takes a pointer to the first character of a value
 * inside the caller's NUL-terminated text and returns another pointer into
 * it, or NULL.
 *
 * Not a validator: it assumes well-formed input (what the engine writes)
 * and returns NULL at the first thing it cannot walk, never reading past
 * the terminating NUL.  String escapes are skipped correctly; only \" \\ \/
 * \b \f \n \r \t are decoded by json_string (\uXXXX becomes '?').
 *
 * Thread safety: pure functions of their arguments.
 */
#ifndef LSM_VIZ_JSON_SCAN_H
#define LSM_VIZ_JSON_SCAN_H

#include <stdbool.h>
#include <stddef.h>

/* p past leading whitespace. */
const char *json_ws(const char *p);

/* The first character after the value starting at p (whitespace skipped
 * first), or NULL when the value is malformed or truncated. */
const char *json_skip(const char *p);

/* The value of member key in the object starting at obj (direct members
 * only), or NULL when obj is not an object or has no such member. */
const char *json_get(const char *obj, const char *key);

/* json_get along a dotted path ("stalls.stop_us"). */
const char *json_path(const char *obj, const char *path);

/* The value of key at any depth (the first one met in document order),
 * or NULL.  For finding "events" whether the text is the engine's object
 * or the daemon's {"engine":{...}} wrapper. */
const char *json_find(const char *root, const char *key);

/* The first element of the array starting at arr (NULL when it is empty or
 * not an array), and the element after elem (NULL after the last). */
const char *json_array_first(const char *arr);
const char *json_array_next(const char *elem);

/* The number at v into *out; false if v is not a number (null, string...). */
bool json_number(const char *v, double *out);

/* json_number of json_path(obj, path), or def when absent / not a number. */
double json_num_or(const char *obj, const char *path, double def);

/* Copies the string at v, decoded and NUL-terminated, into buf (truncated
 * to cap - 1 bytes); returns false (buf = "") when v is not a string. */
bool json_string(const char *v, char *buf, size_t cap);

#endif
