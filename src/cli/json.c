/* A minimal streaming JSON writer for `radi info --json` (pretty, 2-space indent). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* Length of a valid UTF-8 sequence at p (at most n bytes), 0 if invalid. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
    size_t len;
    if (p[0] < 0x80) return 1;
    if ((p[0] & 0xe0) == 0xc0 && p[0] >= 0xc2) len = 2;
    else if ((p[0] & 0xf0) == 0xe0) len = 3;
    else if ((p[0] & 0xf8) == 0xf0 && p[0] <= 0xf4) len = 4;
    else return 0;
    if (len > n) return 0;
    for (size_t i = 1; i < len; i++)
        if ((p[i] & 0xc0) != 0x80) return 0;
    return len;
}

static void put_string(FILE *f, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    fputc('"', f);
    for (size_t i = 0; i < n;) {
        unsigned char c = p[i];
        if (c == '"' || c == '\\') {
            fputc('\\', f);
            fputc(c, f);
            i++;
        } else if (c < 0x20) {
            switch (c) {
            case '\n': fputs("\\n", f); break;
            case '\t': fputs("\\t", f); break;
            case '\r': fputs("\\r", f); break;
            default: fprintf(f, "\\u%04x", c); break;
            }
            i++;
        } else {
            size_t l = utf8_len(p + i, n - i);
            if (l == 0) {
                /* Stored strings are bytes; keep the document valid JSON. */
                fputs("\\ufffd", f);
                i++;
            } else {
                fwrite(p + i, 1, l, f);
                i += l;
            }
        }
    }
    fputc('"', f);
}

void jw_init(cli_json *j, FILE *f)
{
    j->f = f;
    j->depth = 0;
    j->first[0] = 1;
    j->inl[0] = 0;
}

/* Separator, indentation and "key": before a value. Inside an inline container values
 * are separated by ", " on one line. */
static void jw_pre(cli_json *j, const char *key)
{
    if (j->depth > 0) {
        if (j->inl[j->depth]) {
            if (!j->first[j->depth]) fputs(", ", j->f);
        } else {
            fputs(j->first[j->depth] ? "\n" : ",\n", j->f);
            for (int i = 0; i < j->depth; i++) fputs("  ", j->f);
        }
    }
    j->first[j->depth] = 0;
    if (key) {
        put_string(j->f, key, strlen(key));
        fputs(": ", j->f);
    }
}

static void jw_open(cli_json *j, const char *key, char c, int inl)
{
    jw_pre(j, key);
    fputc(c, j->f);
    int outer_inline = j->depth > 0 && j->inl[j->depth];
    if (j->depth < 63) j->depth++;
    j->first[j->depth] = 1;
    j->inl[j->depth] = inl || outer_inline;
}

static void jw_close(cli_json *j, char c)
{
    int empty = j->first[j->depth];
    int inl = j->inl[j->depth];
    if (j->depth > 0) j->depth--;
    if (!empty && !inl) {
        fputc('\n', j->f);
        for (int i = 0; i < j->depth; i++) fputs("  ", j->f);
    }
    fputc(c, j->f);
}

void jw_obj_open(cli_json *j, const char *key) { jw_open(j, key, '{', 0); }
void jw_obj_open_inline(cli_json *j, const char *key) { jw_open(j, key, '{', 1); }
void jw_obj_close(cli_json *j) { jw_close(j, '}'); }
void jw_arr_open(cli_json *j, const char *key) { jw_open(j, key, '[', 0); }
void jw_arr_open_inline(cli_json *j, const char *key) { jw_open(j, key, '[', 1); }
void jw_arr_close(cli_json *j) { jw_close(j, ']'); }

void jw_strn(cli_json *j, const char *key, const char *s, size_t n)
{
    jw_pre(j, key);
    put_string(j->f, s, n);
}

void jw_str(cli_json *j, const char *key, const char *s)
{
    if (!s) jw_null(j, key);
    else jw_strn(j, key, s, strlen(s));
}

void jw_int(cli_json *j, const char *key, int64_t v)
{
    jw_pre(j, key);
    fprintf(j->f, "%lld", (long long)v);
}

void jw_uint(cli_json *j, const char *key, uint64_t v)
{
    jw_pre(j, key);
    fprintf(j->f, "%llu", (unsigned long long)v);
}

void jw_bool(cli_json *j, const char *key, int v)
{
    jw_pre(j, key);
    fputs(v ? "true" : "false", j->f);
}

void jw_null(cli_json *j, const char *key)
{
    jw_pre(j, key);
    fputs("null", j->f);
}

void jw_raw(cli_json *j, const char *key, const char *token)
{
    jw_pre(j, key);
    fputs(token, j->f);
}

void jw_end(cli_json *j) { fputc('\n', j->f); }

/* Shortest "%.*g" that reads back to the same double. */
static void fmt_double(double v, char *buf, size_t n)
{
    for (int prec = 6; prec <= 17; prec++) {
        snprintf(buf, n, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) break;
    }
    /* "1" would read back as an integer; keep floats recognisable. */
    if (!strpbrk(buf, ".eE") && strlen(buf) + 3 < n) strcat(buf, ".0");
}

void cli_fmt_value(radi_datatype t, const void *p, char *buf, size_t n, int *is_number)
{
    *is_number = 1;
    switch (t) {
    case RADI_INT8: { int8_t v; memcpy(&v, p, 1); snprintf(buf, n, "%d", v); return; }
    case RADI_UINT8: { uint8_t v; memcpy(&v, p, 1); snprintf(buf, n, "%u", v); return; }
    case RADI_INT16: { int16_t v; memcpy(&v, p, 2); snprintf(buf, n, "%d", v); return; }
    case RADI_UINT16: { uint16_t v; memcpy(&v, p, 2); snprintf(buf, n, "%u", v); return; }
    case RADI_INT32: { int32_t v; memcpy(&v, p, 4); snprintf(buf, n, "%d", v); return; }
    case RADI_UINT32: { uint32_t v; memcpy(&v, p, 4); snprintf(buf, n, "%u", v); return; }
    case RADI_INT64: { int64_t v; memcpy(&v, p, 8); snprintf(buf, n, "%lld", (long long)v); return; }
    case RADI_UINT64: { uint64_t v; memcpy(&v, p, 8); snprintf(buf, n, "%llu", (unsigned long long)v); return; }
    case RADI_BOOL: { uint8_t v; memcpy(&v, p, 1); snprintf(buf, n, "%s", v ? "true" : "false"); return; }
    case RADI_FLOAT32:
    case RADI_FLOAT64: {
        double v;
        if (t == RADI_FLOAT32) {
            float f;
            memcpy(&f, p, 4);
            v = f;
        } else {
            memcpy(&v, p, 8);
        }
        if (isnan(v)) snprintf(buf, n, "nan");
        else if (isinf(v)) snprintf(buf, n, "%s", v < 0 ? "-inf" : "inf");
        else {
            if (t == RADI_FLOAT32) {
                /* Shortest text that reads back to the same float. */
                for (int prec = 6; prec <= 9; prec++) {
                    snprintf(buf, n, "%.*g", prec, v);
                    if (strtof(buf, NULL) == (float)v) break;
                }
                if (!strpbrk(buf, ".eE") && strlen(buf) + 3 < n) strcat(buf, ".0");
            } else {
                fmt_double(v, buf, n);
            }
            return;
        }
        *is_number = 0;
        return;
    }
    default:
        snprintf(buf, n, "?");
        *is_number = 0;
        return;
    }
}
