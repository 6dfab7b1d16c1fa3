/* The --obs-meta CSV splitter (csv.h). */
#include "csv.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void csv_free(csv *c)
{
    free(c->text);
    free(c->cells);
    memset(c, 0, sizeof *c);
}

static int fail(csv *c, char *err, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
    csv_free(c);
    return -1;
}

int csv_split(char *text, csv *c, char *err, size_t errcap)
{
    memset(c, 0, sizeof *c);
    c->text = text;
    size_t ncap = 0, n = 0, col = 0, line = 1;
    char *r = text, *w = text;
    /* col > 0 at the end: the text ended right after a comma, i.e. with an empty field. */
    while (*r || col) {
        /* One field: unquote into w (never ahead of r). */
        char *start = w;
        if (*r == '"') {
            r++;
            for (;;) {
                if (*r == '\0') return fail(c, err, errcap, "line %zu: unterminated quote", line);
                if (*r == '"' && r[1] == '"') *w++ = '"', r += 2;
                else if (*r == '"') { r++; break; }
                else { if (*r == '\n') line++; *w++ = *r++; }
            }
        } else {
            while (*r && *r != ',' && *r != '\n' && *r != '\r') *w++ = *r++;
        }
        char sep = *r;
        if (sep == '\r') r++, sep = *r;
        if (sep && sep != ',' && sep != '\n') return fail(c, err, errcap, "line %zu: text after a closing quote", line);
        if (sep) r++;
        *w++ = '\0';
        if (n == ncap) {
            ncap = ncap ? 2 * ncap : 64;
            char **t = realloc(c->cells, ncap * sizeof *t);
            if (!t) return fail(c, err, errcap, "out of memory");
            c->cells = t;
        }
        c->cells[n++] = start;
        col++;
        if (sep != ',') { /* end of a record */
            if (line == 1) c->ncols = col;
            else if (col == 1 && start[0] == '\0') n--; /* a blank line */
            else if (col != c->ncols)
                return fail(c, err, errcap, "line %zu: %zu fields, the header has %zu", line, col, c->ncols);
            col = 0;
            line++;
        }
    }
    if (c->ncols == 0) return fail(c, err, errcap, "empty file");
    c->nrows = n / c->ncols - 1;
    return 0;
}

int csv_col(const csv *c, const char *name)
{
    for (size_t j = 0; j < c->ncols; j++)
        if (strcmp(c->cells[j], name) == 0) return (int)j;
    return -1;
}

int csv_col_type(const csv *c, size_t j)
{
    int t = CSV_INT;
    for (size_t i = 1; i <= c->nrows && t != CSV_STR; i++) {
        const char *v = c->cells[i * c->ncols + j];
        char *end;
        if (!*v) {
            t = CSV_FLOAT;
            continue;
        }
        errno = 0;
        (void)strtoll(v, &end, 10);
        if (*end == '\0' && errno == 0) continue;
        (void)strtod(v, &end);
        t = *end == '\0' ? CSV_FLOAT : CSV_STR;
    }
    return t;
}
