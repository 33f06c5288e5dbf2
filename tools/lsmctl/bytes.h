/*
 * bytes.h — how lsmctl writes and reads keys and values, which are any
 * bytes (docs/lsmctl.md, "Binary keys and values"):
 *
 *   text   the human form (scan, mget, get on a terminal): a string of
 *          printable ASCII or valid UTF-8 with no control character, `"`
 *          or `\` is written as it is; anything else (and the empty
 *          string) in double quotes with C escapes: \" \\ \n \r \t and
 *          \xHH for every other byte that is not printable text.
 *          `shell` reads that quoted form back.
 *   hex    two lowercase digits a byte (--hex).
 *   json   a JSON string when the bytes are valid UTF-8 (written as they
 *          are; only `"`, `\` and control characters escaped), else an
 *          object {"hex":"..."} with the bytes in hex.
 *
 * Single-threaded; nothing here allocates.
 */
#ifndef LSMCTL_BYTES_H
#define LSMCTL_BYTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* The text form of n bytes at p. */
void ctl_write_text(FILE *f, const void *p, size_t n);
/* The hex form. */
void ctl_write_hex(FILE *f, const void *p, size_t n);
/* The JSON form. */
void ctl_json_bytes(FILE *f, const void *p, size_t n);

/* --hex given: keys and values in and out as hex (set by main.c). */
extern bool ctl_hex;

/* A key or value in the mode of the command line: hex under --hex, else
 * text (ctl_write_data) or JSON (ctl_json_data, a hex string under --hex). */
void ctl_write_data(FILE *f, const void *p, size_t n);
void ctl_json_data(FILE *f, const void *p, size_t n);

/* Decodes the hex digits of s[0..*n) in place (either case, no
 * separators); *n becomes the byte count.  0, or -1 when a character is
 * not a hex digit or the count of digits is odd (s is then undefined). */
int ctl_hex_decode(char *s, size_t *n);
/* The value of one hex digit, or -1. */
int ctl_hex_digit(int ch);

/* Splits one shell line into words in place: blanks separate words;
 * "..." takes the C escapes \\ \" \' \n \r \t \0 \a \b \f \v \xHH;
 * '...' takes every byte literally; outside quotes every byte stands for
 * itself; quoted and plain parts join into one word (a"b c" is `ab c`).
 * words[i] points into line and holds lens[i] bytes (it may contain NUL
 * bytes; it is also NUL-terminated).  Returns the number of words, or -1
 * with *err set to a static message (unterminated quote, unknown escape,
 * more than cap words). */
int ctl_shell_split(char *line, char **words, size_t *lens, int cap, const char **err);

#endif
