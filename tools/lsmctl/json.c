/* json.c — the stats JSON reader (json.h). */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

void jv_free(jv *v)
{
    for (size_t i = 0; i < v->n; i++) {
        jv_free(&v->kids[i]);
        if (v->keys)
            free(v->keys[i]);
    }
    free(v->kids);
    free(v->keys);
    free(v->str);
}

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
        p++;
    return p;
}

static const char *parse_str(const char *p, char **out)
{
    const char *s = ++p; /* after the quote */
    while (*p && *p != '"')
        p += (*p == '\\' && p[1]) ? 2 : 1;
    if (*p != '"')
        return NULL;
    char *d = malloc((size_t)(p - s) + 1), *q = d;
    if (!d)
        return NULL;
    for (const char *r = s; r < p; r++) {
        if (*r == '\\' && (r[1] == '"' || r[1] == '\\'))
            r++;
        *q++ = *r;
    }
    *q = '\0';
    *out = d;
    return p + 1;
}

const char *jv_parse(const char *p, jv *v, int depth)
{
    memset(v, 0, sizeof *v);
    p = skip_ws(p);
    if (depth > 32)
        return NULL;
    if (*p == '{' || *p == '[') {
        bool obj = *p == '{';
        char close = obj ? '}' : ']';
        v->t = obj ? J_OBJ : J_ARR;
        p = skip_ws(p + 1);
        size_t cap = 0;
        while (*p && *p != close) {
            if (v->n == cap) {
                cap = cap ? 2 * cap : 8;
                jv *k = realloc(v->kids, cap * sizeof *k);
                char **ks = obj ? realloc(v->keys, cap * sizeof *ks) : NULL;
                if (k)
                    v->kids = k;
                if (ks)
                    v->keys = ks;
                if (!k || (obj && !ks))
                    return NULL;
            }
            if (obj) {
                if (*p != '"' || !(p = parse_str(p, &v->keys[v->n])))
                    return NULL;
                p = skip_ws(p);
                if (*p++ != ':')
                    return NULL;
            }
            if (!(p = jv_parse(p, &v->kids[v->n], depth + 1)))
                return NULL;
            v->n++;
            p = skip_ws(p);
            if (*p == ',')
                p = skip_ws(p + 1);
        }
        return *p == close ? p + 1 : NULL;
    }
    if (*p == '"') {
        v->t = J_STR;
        return parse_str(p, &v->str);
    }
    if (strncmp(p, "true", 4) == 0 || strncmp(p, "false", 5) == 0) {
        v->t = J_BOOL;
        v->num = *p == 't';
        return p + (*p == 't' ? 4 : 5);
    }
    if (strncmp(p, "null", 4) == 0)
        return p + 4;
    char *end;
    v->t = J_NUM;
    v->num = strtod(p, &end);
    return end == p ? NULL : end;
}

const jv *jv_get(const jv *o, const char *key)
{
    if (!o || o->t != J_OBJ)
        return NULL;
    for (size_t i = 0; i < o->n; i++)
        if (strcmp(o->keys[i], key) == 0)
            return &o->kids[i];
    return NULL;
}

double jv_num(const jv *o, const char *key)
{
    const jv *v = jv_get(o, key);
    return v && (v->t == J_NUM || v->t == J_BOOL) ? v->num : 0;
}

const char *jv_str(const jv *o, const char *key)
{
    const jv *v = jv_get(o, key);
    return v && v->t == J_STR ? v->str : "";
}
