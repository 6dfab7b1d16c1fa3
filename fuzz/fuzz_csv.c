/*
 * libFuzzer target: the --obs-meta CSV splitter (src/cli/csv.c) on any bytes, then the
 * column typing of every column; checks the table's shape invariants.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli/csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    csv c;
    char err[160];
    if (csv_split(text, &c, err, sizeof err) != 0) {
        if (!err[0]) abort(); /* a failure always says why */
        return 0;
    }
    if (c.ncols == 0) abort();
    for (size_t j = 0; j < c.ncols; j++) {
        int t = csv_col_type(&c, j);
        if (t != CSV_INT && t != CSV_FLOAT && t != CSV_STR) abort();
        (void)csv_col(&c, c.cells[j]);
    }
    /* Every cell is a string inside the text. */
    for (size_t i = 0; i < (c.nrows + 1) * c.ncols; i++)
        if (c.cells[i] < c.text || c.cells[i] > c.text + size) abort();
    csv_free(&c);
    return 0;
}
