/* bytes.c — the text, hex and JSON forms of keys and values, and the shell's
 * word splitting (bytes.h). */
#include <stdint.h>
#include <string.h>

#include "bytes.h"

bool ctl_hex;

/* The length (1..4) of the valid UTF-8 sequence at p, or 0 when the bytes
 * there are not one (overlong forms, surrogates and code points above
 * U+10FFFF are invalid, RFC 3629).  *cp gets the code point. */
static size_t utf8_seq(const unsigned char *p, size_t n, uint32_t *cp)
{
    unsigned char b = p[0];
    if (b < 0x80) {
        *cp = b;
        return 1;
    }
    size_t len = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 0;
    if (len == 0 || b > 0xf4 || len > n)
        return 0;
    uint32_t c = b & (0x7f >> len);
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        c = c << 6 | (p[i] & 0x3f);
    }
    static const uint32_t min[5] = { 0, 0, 0x80, 0x800, 0x10000 };
    if (c < min[len] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        return 0;
    *cp = c;
    return len;
}

/* Control characters: C0, DEL and C1 (U+0080..U+009F). */
static bool is_control(uint32_t cp)
{
    return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

/* Written bare in the text form: non-empty printable text without `"`, `\`. */
static bool is_plain(const unsigned char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t len = utf8_seq(s + i, n - i, &cp);
        if (len == 0 || is_control(cp) || cp == '"' || cp == '\\')
            return false;
        i += len;
    }
    return true;
}

void ctl_write_text(FILE *f, const void *p, size_t n)
{
    const unsigned char *s = p;
    if (is_plain(s, n)) {
        fwrite(s, 1, n, f);
        return;
    }
    fputc('"', f);
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t len = utf8_seq(s + i, n - i, &cp);
        const char *esc = NULL;
        switch (s[i]) {
        case '"': esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        }
        if (esc) {
            fputs(esc, f);
        } else if (len == 0 || is_control(cp)) {
            fprintf(f, "\\x%02x", s[i]);
            len = 1; /* an invalid or control sequence: byte by byte */
        } else {
            fwrite(s + i, 1, len, f);
        }
        i += len ? len : 1;
    }
    fputc('"', f);
}

void ctl_write_hex(FILE *f, const void *p, size_t n)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%02x", s[i]);
}

void ctl_json_bytes(FILE *f, const void *p, size_t n)
{
    const unsigned char *s = p;
    uint32_t cp;
    for (size_t i = 0; i < n;) {
        size_t len = utf8_seq(s + i, n - i, &cp);
        if (len == 0) {
            /* Not UTF-8: a JSON string cannot hold these bytes. */
            fputs("{\"hex\":\"", f);
            ctl_write_hex(f, s, n);
            fputs("\"}", f);
            return;
        }
        i += len;
    }
    fputc('"', f);
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"' || s[i] == '\\')
            fprintf(f, "\\%c", s[i]);
        else if (s[i] == '\n')
            fputs("\\n", f);
        else if (s[i] == '\t')
            fputs("\\t", f);
        else if (s[i] < 0x20)
            fprintf(f, "\\u%04x", s[i]);
        else
            fputc(s[i], f);
    }
    fputc('"', f);
}

void ctl_write_data(FILE *f, const void *p, size_t n)
{
    if (!ctl_hex) {
        ctl_write_text(f, p, n);
        return;
    }
    if (n == 0)
        fputs("\"\"", f); /* visible, and what shell reads as empty */
    ctl_write_hex(f, p, n);
}

void ctl_json_data(FILE *f, const void *p, size_t n)
{
    if (!ctl_hex) {
        ctl_json_bytes(f, p, n);
        return;
    }
    fputc('"', f);
    ctl_write_hex(f, p, n);
    fputc('"', f);
}

int ctl_hex_digit(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

int ctl_hex_decode(char *s, size_t *n)
{
    if (*n % 2)
        return -1;
    for (size_t i = 0; i < *n; i += 2) {
        int hi = ctl_hex_digit((unsigned char)s[i]), lo = ctl_hex_digit((unsigned char)s[i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        s[i / 2] = (char)(hi << 4 | lo);
    }
    *n /= 2;
    s[*n] = '\0';
    return 0;
}

/* One escape after a backslash inside "...": the byte, or -1. *pp moves
 * past the escape. */
static int unescape(const char **pp)
{
    const char *p = *pp;
    static const char from[] = "\\\"'nrt0abfv", to[] = "\\\"'\n\r\t\0\a\b\f\v";
    const char *hit = *p ? strchr(from, *p) : NULL;
    if (hit) {
        *pp = p + 1;
        return (unsigned char)to[hit - from];
    }
    if (*p == 'x') {
        int hi = ctl_hex_digit((unsigned char)p[1]);
        int lo = hi < 0 ? -1 : ctl_hex_digit((unsigned char)p[2]);
        if (lo < 0)
            return -1;
        *pp = p + 3;
        return hi << 4 | lo;
    }
    return -1;
}

int ctl_shell_split(char *line, char **words, size_t *lens, int cap, const char **err)
{
    const char *r = line; /* reads ahead of w: a word never grows */
    char *w = line;
    int n = 0;
    for (;;) {
        while (*r == ' ' || *r == '\t' || *r == '\r' || *r == '\n')
            r++;
        if (!*r)
            return n;
        if (n == cap) {
            *err = "too many words on the line";
            return -1;
        }
        char *start = w;
        while (*r && *r != ' ' && *r != '\t' && *r != '\r' && *r != '\n') {
            char q = *r;
            if (q != '"' && q != '\'') {
                *w++ = *r++;
                continue;
            }
            for (r++; *r != q; ) {
                if (!*r) {
                    *err = q == '"' ? "unterminated \"" : "unterminated '";
                    return -1;
                }
                if (q == '"' && *r == '\\') {
                    r++;
                    int b = unescape(&r);
                    if (b < 0) {
                        *err = "unknown escape in \"...\" (known: \\\\ \\\" \\' \\n \\r \\t "
                               "\\0 \\a \\b \\f \\v \\xHH)";
                        return -1;
                    }
                    *w++ = (char)b;
                } else {
                    *w++ = *r++;
                }
            }
            r++; /* the closing quote */
        }
        lens[n] = (size_t)(w - start);
        words[n++] = start;
        /* w <= r: the terminator lands on what is already read, at
         * worst on the separator r points at. */
        char next = *r;
        *w = '\0';
        if (w == r)
            r++;
        w++;
        if (!next)
            return n;
    }
}
