/*
 * Filter expressions over table columns, with the syntax RadiObject users write:
 *   age > 40 and sex == 'F'      not (grade in [2, 3]) or site != "B"
 * Comparisons == != < <= > >= on numeric and string columns, `and`, `or`, `not`,
 * parentheses, `in [...]` / `not in [...]`, string ('…' or "…") and numeric literals,
 * True/False. Evaluation is vectorised: one pass per node over all rows, producing a
 * byte mask. NULL cells compare false (and `not` of a NULL comparison is false too, as
 * in SQL three-valued logic), so a filter never selects a row it cannot decide.
 */
#ifndef RDI_EXPR_H
#define RDI_EXPR_H

#include "core/core.h"

typedef struct rdi_expr rdi_expr;

/* Parses text. A syntax error is RADI_E_INVALID with the 1-based column and what was
 * expected, e.g. "filter: at column 9: expected a value after '>'". */
radi_status rdi_expr_parse(const char *text, rdi_expr **out);
void rdi_expr_free(rdi_expr *e);

/* One column of a table, as the sparse reader returns it. */
typedef struct rdi_column {
    const char *name;
    radi_datatype type;           /* numeric types, BOOL, STRING_ASCII/UTF8/CHAR */
    const void *data;             /* fixed: nrows values; var: the bytes */
    const uint64_t *offsets;      /* var-size strings: nrows start offsets, else NULL */
    uint64_t data_size;           /* var-size: total bytes of data */
    const uint8_t *validity;      /* nullable: one byte per row (0 = NULL), else NULL */
} rdi_column;

/* Names of the columns the expression uses (borrowed, valid while e lives). */
radi_status rdi_expr_columns(const rdi_expr *e, const char *const **names, uint32_t *n);

/* Evaluates over nrows rows; mask[i] = 1 where the row is selected. Unknown columns and
 * type mismatches (a string literal against a number column) are RADI_E_INVALID naming
 * the column and the column position in the text. */
radi_status rdi_expr_eval(const rdi_expr *e, const rdi_column *cols, uint32_t ncols,
                          uint64_t nrows, uint8_t *mask);

#endif
