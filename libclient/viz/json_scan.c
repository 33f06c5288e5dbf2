/* json_scan.c — see json_scan.h. */
#include "viz/json_scan.h"

#include <stdlib.h>
#include <string.h>

const char *json_ws(const char *p)
{
    while (p && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

/* p at the opening quote; returns the character after the closing one. */
static const char *skip_string(const char *p)
{
    for (p++; *p; p++) {
        if (*p == '\\') {
            if (!p[1])
                return NULL;
            p++;
        } else if (*p == '"') {
            return p + 1;
        }
    }
    return NULL;
}

const char *json_skip(const char *p)
{
    p = json_ws(p);
    if (!p || !*p)
        return NULL;
    if (*p == '"')
        return skip_string(p);
    if (*p == '{' || *p == '[') {
        /* Brackets nest; strings may hold brackets, so walk them whole. */
        int depth = 0;
        while (*p) {
            if (*p == '"') {
                p = skip_string(p);
                if (!p)
                    return NULL;
                continue;
            }
            if (*p == '{' || *p == '[')
                depth++;
            else if (*p == '}' || *p == ']') {
                if (--depth == 0)
                    return p + 1;
            }
            p++;
        }
        return NULL;
    }
    /* number, true, false, null */
    const char *s = p;
    while (*p && !strchr(",}] \t\r\n", *p))
        p++;
    return p > s ? p : NULL;
}

/* Compares the string at p (opening quote) with key, without decoding:
 * member names here never hold escapes. */
static bool key_is(const char *p, const char *key)
{
    size_t n = strlen(key);
    return strncmp(p + 1, key, n) == 0 && p[1 + n] == '"';
}

const char *json_get(const char *obj, const char *key)
{
    const char *p = json_ws(obj);
    if (!p || *p != '{')
        return NULL;
    p = json_ws(p + 1);
    while (p && *p == '"') {
        bool match = key_is(p, key);
        p = skip_string(p);
        p = json_ws(p);
        if (!p || *p != ':')
            return NULL;
        p = json_ws(p + 1);
        if (match)
            return p;
        p = json_ws(json_skip(p));
        if (!p || *p != ',')
            return NULL;
        p = json_ws(p + 1);
    }
    return NULL;
}

const char *json_path(const char *obj, const char *path)
{
    char part[64];
    while (obj && *path) {
        const char *dot = strchr(path, '.');
        size_t n = dot ? (size_t)(dot - path) : strlen(path);
        if (n >= sizeof part)
            return NULL;
        memcpy(part, path, n);
        part[n] = 0;
        obj = json_get(obj, part);
        path += n + (dot ? 1 : 0);
    }
    return obj;
}

const char *json_find(const char *root, const char *key)
{
    const char *p = json_ws(root);
    if (!p)
        return NULL;
    if (*p == '{') {
        const char *v = json_get(p, key);
        if (v)
            return v;
        p = json_ws(p + 1);
        while (p && *p == '"') {
            p = json_ws(skip_string(p));
            if (!p || *p != ':')
                return NULL;
            p = json_ws(p + 1);
            if (*p == '{' || *p == '[') {
                v = json_find(p, key);
                if (v)
                    return v;
            }
            p = json_ws(json_skip(p));
            if (!p || *p != ',')
                return NULL;
            p = json_ws(p + 1);
        }
        return NULL;
    }
    if (*p == '[') {
        for (const char *e = json_array_first(p); e; e = json_array_next(e)) {
            if (*e == '{' || *e == '[') {
                const char *v = json_find(e, key);
                if (v)
                    return v;
            }
        }
    }
    return NULL;
}

const char *json_array_first(const char *arr)
{
    const char *p = json_ws(arr);
    if (!p || *p != '[')
        return NULL;
    p = json_ws(p + 1);
    return *p && *p != ']' ? p : NULL;
}

const char *json_array_next(const char *elem)
{
    const char *p = json_ws(json_skip(elem));
    if (!p || *p != ',')
        return NULL;
    return json_ws(p + 1);
}

bool json_number(const char *v, double *out)
{
    v = json_ws(v);
    if (!v || !(*v == '-' || (*v >= '0' && *v <= '9')))
        return false;
    char *end;
    double d = strtod(v, &end);
    if (end == v)
        return false;
    *out = d;
    return true;
}

double json_num_or(const char *obj, const char *path, double def)
{
    double d;
    return json_number(json_path(obj, path), &d) ? d : def;
}

bool json_string(const char *v, char *buf, size_t cap)
{
    if (cap)
        buf[0] = 0;
    v = json_ws(v);
    if (!v || *v != '"' || cap == 0)
        return false;
    size_t n = 0;
    for (v++; *v && *v != '"'; v++) {
        char c = *v;
        if (c == '\\') {
            v++;
            switch (*v) {
            case 'n': c = '\n'; break;
            case 't': c = '\t'; break;
            case 'r': c = '\r'; break;
            case 'b': c = '\b'; break;
            case 'f': c = '\f'; break;
            case 'u':
                c = '?';
                for (int i = 0; i < 4 && v[1]; i++)
                    v++;
                break;
            case 0: v--; c = 0; break;
            default: c = *v; break; /* \" \\ \/ */
            }
            if (!c)
                break;
        }
        if (n + 1 < cap)
            buf[n++] = c;
    }
    buf[n] = 0;
    return true;
}
