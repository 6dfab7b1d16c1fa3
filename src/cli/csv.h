/* CSV tables for --obs-meta: split in place, with errors as text (no printing), so the
 * parser can be fuzzed on its own (fuzz/fuzz_csv.c). */
#ifndef RADI_CLI_CSV_H
#define RADI_CLI_CSV_H

#include <stddef.h>

enum { CSV_INT, CSV_FLOAT, CSV_STR };

typedef struct csv {
    char *text;          /* owned; fields NUL-terminated in place */
    size_t ncols, nrows; /* nrows excludes the header */
    char **cells;        /* (nrows + 1) x ncols */
} csv;

/* Splits text (malloc'd, NUL-terminated; ownership passes to c, also on failure) into
 * records of fields: commas separate fields, \n or \r\n records; "..." quotes, with ""
 * for a quote, may hold commas and newlines; blank lines are skipped; every record must
 * have the header's field count. Returns 0, or -1 with a one-line reason in err
 * ("line N: ...") and c freed. */
int csv_split(char *text, csv *c, char *err, size_t errcap);
void csv_free(csv *c);
/* Column index of a header name, or -1. */
int csv_col(const csv *c, const char *name);
/* CSV_INT if every cell of column j is an integer, else CSV_FLOAT if every cell is a
 * number or empty, else CSV_STR. */
int csv_col_type(const csv *c, size_t j);

#endif
