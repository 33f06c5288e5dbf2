/*
 * helpers.h — small shared helpers for the test programs.
 *
 * Every test program includes cmocka through this header, so the headers
 * cmocka needs come first in one place.  Exit code 77 means "skipped".
 */
#ifndef LSM_TEST_HELPERS_H
#define LSM_TEST_HELPERS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "rng.h"

#define TEST_SKIP 77

/* Creates a fresh empty directory under $TMPDIR (or /tmp) whose name starts
 * with tag; returns a malloc'd path.  Fails the test on error. */
char *th_tempdir(const char *tag);

/* Removes a directory tree (best effort) and frees path. */
void th_rmrf_free(char *path);

/* The seed a test should use: $LSM_TEST_SEED if set, else time-based; the
 * value is printed so a failure can be replayed. */
uint64_t th_seed(void);

/* An integer from the environment, or def. */
long th_env_long(const char *name, long def);

/* For the QEMU guest tests (tests/numa, tests/crashfs): TEST_SKIP in a
 * sanitizer build (the guest emulates its CPUs, and the plain pass runs the
 * same code) or when `sh script check` exits 77 (it said why); else 0. */
int th_guest_skip(const char *name, const char *script);

/* How many descriptors this process has open (/proc/self/fd). */
int th_open_fds(void);

/* How many of the file's pages are in the page cache (mincore); *pages
 * (if not NULL) receives how many it has.  Fails the test on error. */
size_t th_cached_pages(const char *path, size_t *pages);

/* The unsigned number that follows `pattern` at its first occurrence after
 * the first occurrence of `anchor` in json (e.g. anchor "\"stalls\":{",
 * pattern "\"stops\":").  Fails the test when either is missing. */
unsigned long long th_json_u64(const char *json, const char *anchor, const char *pattern);

/* A file of the source tree, whole and NUL-terminated (malloc'd): rel
 * (e.g. "engine/lsm.h") from the root that holds src_file (pass __FILE__,
 * which names a file under tests/).  Fails the test when unreadable. */
char *th_read_source(const char *src_file, const char *rel);

#endif
