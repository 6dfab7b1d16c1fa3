/* Recursive-descent parser and three-valued, column-at-a-time evaluator. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "query/expr.h"

/* ------------------------------------------------------------------ tokens -- */

typedef enum { T_END, T_IDENT, T_NUM, T_STR, T_OP, T_LPAREN, T_RPAREN, T_LBRACK, T_RBRACK, T_COMMA } tok_kind;

typedef struct tok {
    tok_kind kind;
    size_t pos;       /* 0-based offset in the text */
    size_t len;
    char *text;       /* identifiers, unescaped strings, numbers, operators (malloc'd) */
} tok;

typedef enum { OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE } cmp_op;

/* ------------------------------------------------------------------- nodes -- */

typedef enum { V_COL, V_NUM, V_STR, V_BOOL } val_kind;

typedef struct num {
    int kind;         /* 0 signed, 1 unsigned, 2 float */
    int64_t i;
    uint64_t u;
    double d;
} num;

typedef struct operand {
    val_kind kind;
    char *name;       /* V_COL */
    char *str;        /* V_STR */
    size_t str_len;
    num n;            /* V_NUM, V_BOOL */
    size_t pos;
} operand;

typedef enum { N_OR, N_AND, N_NOT, N_CMP, N_IN, N_TRUTH } node_kind;

/* Parsing, evaluation and freeing recurse: once per '(' or 'not' while parsing, once per
 * tree level afterwards (an and/or chain is as deep as it is long). Filters come from
 * users, so both are bounded well inside any thread's stack instead of letting
 * "((((...", "not not ..." or a huge chain overflow it. */
#define EXPR_MAX_NESTING 256
#define EXPR_MAX_HEIGHT 4096
#define EXPR_STR(x) #x
#define EXPR_XSTR(x) EXPR_STR(x)

typedef struct node {
    node_kind kind;
    struct node *a, *b;       /* children (N_OR, N_AND, N_NOT) */
    cmp_op op;                /* N_CMP */
    operand lhs, rhs;         /* N_CMP; N_IN uses lhs; N_TRUTH uses lhs */
    operand *list;            /* N_IN */
    size_t nlist;
    int negate_in;            /* "not in" */
    uint32_t height;          /* levels of the subtree (a leaf is 1) */
} node;

struct rdi_expr {
    node *root;
    char **cols;
    uint32_t ncols;
    char *text;
};

typedef struct parser {
    const char *s;
    size_t i;
    tok cur;
    rdi_expr *e;
    uint32_t nesting;         /* open '(' and 'not' being parsed */
} parser;

static radi_status syntax(parser *p, size_t pos, const char *fmt, const char *arg)
{
    char what[256];
    snprintf(what, sizeof what, fmt, arg ? arg : "");
    return rdi_error(RADI_E_INVALID, "filter \"%s\": at column %zu: %s", p->s, pos + 1, what);
}

static const char *tok_desc(const tok *t)
{
    switch (t->kind) {
    case T_END: return "end of expression";
    default: return t->text ? t->text : "?";
    }
}

static radi_status next(parser *p)
{
    free(p->cur.text);
    memset(&p->cur, 0, sizeof p->cur);
    const char *s = p->s;
    while (s[p->i] && isspace((unsigned char)s[p->i])) p->i++;
    size_t st = p->i;
    tok *t = &p->cur;
    t->pos = st;
    char c = s[st];
    if (!c) {
        t->kind = T_END;
        return RADI_OK;
    }
    if (isalpha((unsigned char)c) || c == '_' || c == '`') {
        if (c == '`') { /* pandas-style quoted identifier */
            size_t j = st + 1;
            while (s[j] && s[j] != '`') j++;
            if (!s[j]) return syntax(p, st, "unterminated `identifier`%s", NULL);
            t->kind = T_IDENT;
            t->text = rdi_strndup(s + st + 1, j - st - 1);
            p->i = j + 1;
        } else {
            size_t j = st;
            while (isalnum((unsigned char)s[j]) || s[j] == '_' || s[j] == '.') j++;
            t->kind = T_IDENT;
            t->text = rdi_strndup(s + st, j - st);
            p->i = j;
        }
    } else if (isdigit((unsigned char)c) || (c == '.' && isdigit((unsigned char)s[st + 1])) ||
               ((c == '-' || c == '+') && (isdigit((unsigned char)s[st + 1]) || s[st + 1] == '.'))) {
        size_t j = st + 1;
        while (isalnum((unsigned char)s[j]) || s[j] == '.' ||
               ((s[j] == '-' || s[j] == '+') && (s[j - 1] == 'e' || s[j - 1] == 'E')))
            j++;
        t->kind = T_NUM;
        t->text = rdi_strndup(s + st, j - st);
        p->i = j;
    } else if (c == '\'' || c == '"') {
        rdi_buf b = RDI_BUF_INIT;
        size_t j = st + 1;
        for (;;) {
            if (!s[j]) {
                rdi_buf_free(&b);
                return syntax(p, st, "unterminated string%s", NULL);
            }
            if (s[j] == c) break;
            if (s[j] == '\\' && s[j + 1]) j++; /* \' \" \\ escapes */
            if (rdi_buf_put_u8(&b, (uint8_t)s[j])) {
                rdi_buf_free(&b);
                return RADI_E_NOMEM;
            }
            j++;
        }
        t->kind = T_STR;
        t->len = b.len;
        rdi_buf_put_u8(&b, 0);
        t->text = (char *)rdi_buf_detach(&b, NULL);
        p->i = j + 1;
    } else {
        static const char *ops[] = {"==", "!=", "<=", ">=", "<", ">", "&&", "||", "&", "|", "~", "!", "="};
        for (size_t k = 0; k < sizeof ops / sizeof *ops; k++) {
            size_t n = strlen(ops[k]);
            if (strncmp(s + st, ops[k], n) == 0) {
                if (strcmp(ops[k], "=") == 0) return syntax(p, st, "'=' is assignment; use '=='%s", NULL);
                t->kind = T_OP;
                t->text = rdi_strndup(s + st, n);
                p->i = st + n;
                return t->text ? RADI_OK : RADI_E_NOMEM;
            }
        }
        tok_kind k = c == '(' ? T_LPAREN : c == ')' ? T_RPAREN : c == '[' ? T_LBRACK
                   : c == ']' ? T_RBRACK : c == ',' ? T_COMMA : T_END;
        if (k == T_END) {
            char ch[2] = {c, 0};
            return syntax(p, st, "unexpected character '%s'", ch);
        }
        t->kind = k;
        t->text = rdi_strndup(s + st, 1);
        p->i = st + 1;
    }
    return t->text ? RADI_OK : RADI_E_NOMEM;
}

static int is_word(const tok *t, const char *w)
{
    if (t->kind != T_IDENT) return 0;
    return strcasecmp(t->text, w) == 0;
}

static int is_op(const tok *t, const char *o) { return t->kind == T_OP && strcmp(t->text, o) == 0; }

static void free_operand(operand *o)
{
    free(o->name);
    free(o->str);
}

static void free_node(node *n)
{
    if (!n) return;
    free_node(n->a);
    free_node(n->b);
    free_operand(&n->lhs);
    free_operand(&n->rhs);
    for (size_t i = 0; i < n->nlist; i++) free_operand(&n->list[i]);
    free(n->list);
    free(n);
}

static radi_status parse_number(parser *p, const tok *t, num *out)
{
    char *end;
    errno = 0;
    int is_float = strpbrk(t->text, ".eE") != NULL || strncasecmp(t->text, "inf", 3) == 0;
    if (!is_float) {
        if (t->text[0] == '-') {
            long long v = strtoll(t->text, &end, 10);
            if (*end == '\0' && errno == 0) {
                out->kind = 0;
                out->i = v;
                out->d = (double)v;
                return RADI_OK;
            }
        } else {
            unsigned long long v = strtoull(t->text, &end, 10);
            if (*end == '\0' && errno == 0) {
                out->kind = v <= INT64_MAX ? 0 : 1;
                out->i = (int64_t)v;
                out->u = v;
                out->d = (double)v;
                return RADI_OK;
            }
        }
    }
    errno = 0;
    double d = strtod(t->text, &end);
    if (*end != '\0') return syntax(p, t->pos, "'%s' is not a number", t->text);
    out->kind = 2;
    out->d = d;
    return RADI_OK;
}

static radi_status add_column(rdi_expr *e, const char *name)
{
    for (uint32_t i = 0; i < e->ncols; i++)
        if (strcmp(e->cols[i], name) == 0) return RADI_OK;
    char **c = realloc(e->cols, (e->ncols + 1) * sizeof *c);
    if (!c) return rdi_nomem();
    e->cols = c;
    if (!(c[e->ncols] = rdi_strdup(name))) return RADI_E_NOMEM;
    e->ncols++;
    return RADI_OK;
}

/* A value: column name, number, string or boolean literal. Consumes it. */
static radi_status parse_value(parser *p, operand *o)
{
    tok *t = &p->cur;
    memset(o, 0, sizeof *o);
    o->pos = t->pos;
    if (t->kind == T_NUM) {
        o->kind = V_NUM;
        RDI_TRY(parse_number(p, t, &o->n));
    } else if (t->kind == T_STR) {
        o->kind = V_STR;
        o->str = t->text;
        o->str_len = t->len;
        t->text = NULL;
    } else if (is_word(t, "true") || is_word(t, "false")) {
        o->kind = V_BOOL;
        o->n.kind = 0;
        o->n.i = is_word(t, "true");
        o->n.d = (double)o->n.i;
    } else if (t->kind == T_IDENT && !is_word(t, "and") && !is_word(t, "or") && !is_word(t, "not") &&
               !is_word(t, "in")) {
        o->kind = V_COL;
        o->name = t->text;
        t->text = NULL;
        RDI_TRY(add_column(p->e, o->name));
    } else {
        return syntax(p, t->pos, "expected a column name or a value, found %s", tok_desc(t));
    }
    return next(p);
}

static radi_status parse_or(parser *p, node **out);

static radi_status new_node(node_kind k, node **out)
{
    node *n = rdi_calloc(1, sizeof *n);
    if (!n) return RADI_E_NOMEM;
    n->kind = k;
    n->height = 1;
    *out = n;
    return RADI_OK;
}

static radi_status parse_list(parser *p, node *n)
{
    tok_kind close = p->cur.kind == T_LBRACK ? T_RBRACK : T_RPAREN;
    if (p->cur.kind != T_LBRACK && p->cur.kind != T_LPAREN)
        return syntax(p, p->cur.pos, "expected '[' after 'in', found %s", tok_desc(&p->cur));
    RDI_TRY(next(p));
    while (p->cur.kind != close) {
        operand *l = realloc(n->list, (n->nlist + 1) * sizeof *l);
        if (!l) return rdi_nomem();
        n->list = l;
        operand *o = &n->list[n->nlist];
        memset(o, 0, sizeof *o);
        n->nlist++;
        if (p->cur.kind != T_NUM && p->cur.kind != T_STR && !is_word(&p->cur, "true") &&
            !is_word(&p->cur, "false"))
            return syntax(p, p->cur.pos, "expected a literal in the list, found %s", tok_desc(&p->cur));
        RDI_TRY(parse_value(p, o));
        if (p->cur.kind == T_COMMA) RDI_TRY(next(p));
        else if (p->cur.kind != close)
            return syntax(p, p->cur.pos, "expected ',' or the end of the list, found %s", tok_desc(&p->cur));
    }
    return next(p);
}

static radi_status parse_cmp(parser *p, node **out)
{
    if (p->cur.kind == T_LPAREN) {
        char open_at[32];
        snprintf(open_at, sizeof open_at, "%zu", p->cur.pos + 1);
        if (p->nesting >= EXPR_MAX_NESTING)
            return syntax(p, p->cur.pos, "nested too deeply (more than " EXPR_XSTR(EXPR_MAX_NESTING) " levels)%s", NULL);
        p->nesting++;
        RDI_TRY(next(p));
        RDI_TRY(parse_or(p, out));
        p->nesting--;
        if (p->cur.kind != T_RPAREN)
            return syntax(p, p->cur.pos, "expected ')' to close the '(' at column %s", open_at);
        return next(p);
    }
    node *n;
    RDI_TRY(new_node(N_CMP, &n));
    *out = n;
    RDI_TRY(parse_value(p, &n->lhs));
    tok *t = &p->cur;
    static const struct { const char *s; cmp_op op; } ops[] = {
        {"==", OP_EQ}, {"!=", OP_NE}, {"<", OP_LT}, {"<=", OP_LE}, {">", OP_GT}, {">=", OP_GE}};
    for (size_t k = 0; k < sizeof ops / sizeof *ops; k++) {
        if (is_op(t, ops[k].s)) {
            n->op = ops[k].op;
            size_t pos = t->pos;
            RDI_TRY(next(p));
            if (p->cur.kind == T_END) return syntax(p, pos, "expected a value after '%s'", ops[k].s);
            RDI_TRY(parse_value(p, &n->rhs));
            if (n->lhs.kind != V_COL && n->rhs.kind != V_COL)
                return syntax(p, n->lhs.pos, "a comparison needs at least one column%s", NULL);
            return RADI_OK;
        }
    }
    if (is_word(t, "in") || (is_word(t, "not"))) {
        if (is_word(t, "not")) {
            n->negate_in = 1;
            RDI_TRY(next(p));
            if (!is_word(&p->cur, "in")) return syntax(p, p->cur.pos, "expected 'in' after 'not', found %s",
                                                       tok_desc(&p->cur));
        }
        n->kind = N_IN;
        RDI_TRY(next(p));
        if (n->lhs.kind != V_COL) return syntax(p, n->lhs.pos, "'in' needs a column on its left%s", NULL);
        return parse_list(p, n);
    }
    /* A bare column (or literal) is its truth value, e.g. a bool column. */
    n->kind = N_TRUTH;
    return RADI_OK;
}

static radi_status parse_not(parser *p, node **out)
{
    if (is_word(&p->cur, "not") || is_op(&p->cur, "~") || is_op(&p->cur, "!")) {
        if (p->nesting >= EXPR_MAX_NESTING)
            return syntax(p, p->cur.pos, "nested too deeply (more than " EXPR_XSTR(EXPR_MAX_NESTING) " levels)%s", NULL);
        RDI_TRY(next(p));
        node *n;
        RDI_TRY(new_node(N_NOT, &n));
        *out = n;
        p->nesting++;
        RDI_TRY(parse_not(p, &n->a));
        p->nesting--;
        n->height = n->a->height + 1;
        return RADI_OK;
    }
    return parse_cmp(p, out);
}

static radi_status parse_binary(parser *p, node **out, int is_or)
{
    RDI_TRY(is_or ? parse_binary(p, out, 0) : parse_not(p, out));
    for (;;) {
        int match = is_or ? (is_word(&p->cur, "or") || is_op(&p->cur, "|") || is_op(&p->cur, "||"))
                          : (is_word(&p->cur, "and") || is_op(&p->cur, "&") || is_op(&p->cur, "&&"));
        if (!match) return RADI_OK;
        size_t pos = p->cur.pos;
        RDI_TRY(next(p));
        if (p->cur.kind == T_END) return syntax(p, pos, "expected an expression after '%s'", is_or ? "or" : "and");
        node *n;
        RDI_TRY(new_node(is_or ? N_OR : N_AND, &n));
        n->a = *out;
        *out = n;
        RDI_TRY(is_or ? parse_binary(p, &n->b, 0) : parse_not(p, &n->b));
        n->height = RDI_MAX(n->a->height, n->b->height) + 1;
        if (n->height > EXPR_MAX_HEIGHT)
            return syntax(p, pos, "conditions nested or chained too deeply (more than " EXPR_XSTR(EXPR_MAX_HEIGHT) " levels)%s", NULL);
    }
}

static radi_status parse_or(parser *p, node **out) { return parse_binary(p, out, 1); }

void rdi_expr_free(rdi_expr *e)
{
    if (!e) return;
    free_node(e->root);
    for (uint32_t i = 0; i < e->ncols; i++) free(e->cols[i]);
    free(e->cols);
    free(e->text);
    free(e);
}

radi_status rdi_expr_parse(const char *text, rdi_expr **out)
{
    if (!text) return rdi_error(RADI_E_INVALID, "filter: expression is NULL");
    rdi_expr *e = rdi_calloc(1, sizeof *e);
    if (!e) return RADI_E_NOMEM;
    if (!(e->text = rdi_strdup(text))) {
        free(e);
        return RADI_E_NOMEM;
    }
    parser p = {.s = e->text, .i = 0, .e = e};
    radi_status s = next(&p);
    if (s == RADI_OK && p.cur.kind == T_END) s = syntax(&p, 0, "the expression is empty%s", NULL);
    if (s == RADI_OK) s = parse_or(&p, &e->root);
    if (s == RADI_OK && p.cur.kind != T_END)
        s = syntax(&p, p.cur.pos, "unexpected %s (missing 'and'/'or'?)", tok_desc(&p.cur));
    free(p.cur.text);
    if (s != RADI_OK) {
        rdi_expr_free(e);
        return s;
    }
    *out = e;
    return RADI_OK;
}

radi_status rdi_expr_columns(const rdi_expr *e, const char *const **names, uint32_t *n)
{
    *names = (const char *const *)e->cols;
    *n = e->ncols;
    return RADI_OK;
}

/* --------------------------------------------------------------- evaluation -- */

enum { TV_F = 0, TV_T = 1, TV_U = 2 };

typedef struct evalctx {
    const rdi_expr *e;
    const rdi_column *cols;
    uint32_t ncols;
    uint64_t nrows;
} evalctx;

static const rdi_column *find_col(const evalctx *c, const operand *o)
{
    for (uint32_t i = 0; i < c->ncols; i++)
        if (strcmp(c->cols[i].name, o->name) == 0) return &c->cols[i];
    return NULL;
}

static int col_is_string(const rdi_column *c) { return rdi_datatype_is_string(c->type); }

static num col_num(const rdi_column *c, uint64_t r)
{
    num n = {0, 0, 0, 0};
    const uint8_t *p = (const uint8_t *)c->data;
    switch (c->type) {
    case RADI_INT8: n.i = ((const int8_t *)p)[r]; break;
    case RADI_INT16: n.i = ((const int16_t *)p)[r]; break;
    case RADI_INT32: n.i = ((const int32_t *)p)[r]; break;
    case RADI_INT64: n.i = ((const int64_t *)p)[r]; break;
    case RADI_UINT8: case RADI_BOOL: n.i = ((const uint8_t *)p)[r]; break;
    case RADI_UINT16: n.i = ((const uint16_t *)p)[r]; break;
    case RADI_UINT32: n.i = ((const uint32_t *)p)[r]; break;
    case RADI_UINT64: n.u = ((const uint64_t *)p)[r]; n.kind = 1; n.d = (double)n.u; return n;
    case RADI_FLOAT32: n.d = ((const float *)p)[r]; n.kind = 2; return n;
    case RADI_FLOAT64: n.d = ((const double *)p)[r]; n.kind = 2; return n;
    default: break;
    }
    n.d = (double)n.i;
    return n;
}

/* -1, 0, 1, or 2 when unordered (NaN). Exact for every integer mix. */
static int num_cmp(num a, num b)
{
    if (a.kind == 2 || b.kind == 2) {
        double x = a.kind == 2 ? a.d : a.kind == 1 ? (double)a.u : (double)a.i;
        double y = b.kind == 2 ? b.d : b.kind == 1 ? (double)b.u : (double)b.i;
        if (isnan(x) || isnan(y)) return 2;
        return x < y ? -1 : x > y;
    }
    if (a.kind == 0 && b.kind == 0) return a.i < b.i ? -1 : a.i > b.i;
    if (a.kind == 1 && b.kind == 1) return a.u < b.u ? -1 : a.u > b.u;
    if (a.kind == 0) return a.i < 0 ? -1 : ((uint64_t)a.i < b.u ? -1 : (uint64_t)a.i > b.u);
    return b.i < 0 ? 1 : (a.u < (uint64_t)b.i ? -1 : a.u > (uint64_t)b.i);
}

static int str_cmp(const char *a, size_t an, const char *b, size_t bn)
{
    int c = memcmp(a, b, RDI_MIN(an, bn));
    if (c) return c < 0 ? -1 : 1;
    return an < bn ? -1 : an > bn;
}

static void col_str(const rdi_column *c, uint64_t r, uint64_t nrows, const char **s, size_t *n)
{
    if (c->offsets) {
        uint64_t st = c->offsets[r];
        uint64_t en = r + 1 < nrows ? c->offsets[r + 1] : c->data_size;
        if (st > c->data_size) st = c->data_size;
        if (en > c->data_size || en < st) en = st;
        *s = (const char *)c->data + st;
        *n = (size_t)(en - st);
    } else { /* one fixed char per cell */
        *s = (const char *)c->data + r;
        *n = 1;
    }
}

static int apply_op(cmp_op op, int c)
{
    if (c == 2) return op == OP_NE; /* NaN: only != holds */
    switch (op) {
    case OP_EQ: return c == 0;
    case OP_NE: return c != 0;
    case OP_LT: return c < 0;
    case OP_LE: return c <= 0;
    case OP_GT: return c > 0;
    case OP_GE: return c >= 0;
    }
    return 0;
}

static cmp_op flip(cmp_op op)
{
    switch (op) {
    case OP_LT: return OP_GT;
    case OP_LE: return OP_GE;
    case OP_GT: return OP_LT;
    case OP_GE: return OP_LE;
    default: return op;
    }
}

static radi_status resolve(const evalctx *c, const operand *o, const rdi_column **col)
{
    *col = NULL;
    if (o->kind != V_COL) return RADI_OK;
    *col = find_col(c, o);
    if (!*col)
        return rdi_error(RADI_E_INVALID, "filter \"%s\": at column %zu: unknown column '%s'", c->e->text,
                         o->pos + 1, o->name);
    return RADI_OK;
}

static radi_status type_check(const evalctx *c, const operand *o, const rdi_column *col, int want_string,
                              const char *other)
{
    int is_str = col ? col_is_string(col) : o->kind == V_STR;
    if (is_str != want_string)
        return rdi_error(RADI_E_INVALID, "filter \"%s\": at column %zu: cannot compare %s '%s' with %s",
                         c->e->text, o->pos + 1, is_str ? "string" : "number",
                         col ? col->name : (o->kind == V_STR ? o->str : "literal"), other);
    return RADI_OK;
}

static radi_status eval_cmp(const evalctx *c, const node *n, uint8_t *tv)
{
    const operand *l = &n->lhs, *r = &n->rhs;
    cmp_op op = n->op;
    if (l->kind != V_COL) { /* literal op column: flip to column op literal */
        const operand *t = l;
        l = r;
        r = t;
        op = flip(op);
    }
    const rdi_column *lc, *rc;
    RDI_TRY(resolve(c, l, &lc));
    RDI_TRY(resolve(c, r, &rc));
    int lstr = col_is_string(lc);
    RDI_TRY(type_check(c, r, rc, lstr, lstr ? "a string column" : "a number column"));
    for (uint64_t i = 0; i < c->nrows; i++) {
        if ((lc->validity && !lc->validity[i]) || (rc && rc->validity && !rc->validity[i])) {
            tv[i] = TV_U;
            continue;
        }
        int cmp;
        if (lstr) {
            const char *a, *b;
            size_t an, bn;
            col_str(lc, i, c->nrows, &a, &an);
            if (rc) col_str(rc, i, c->nrows, &b, &bn);
            else { b = r->str; bn = r->str_len; }
            cmp = str_cmp(a, an, b, bn);
        } else {
            cmp = num_cmp(col_num(lc, i), rc ? col_num(rc, i) : r->n);
        }
        tv[i] = (uint8_t)apply_op(op, cmp);
    }
    return RADI_OK;
}

static radi_status eval_in(const evalctx *c, const node *n, uint8_t *tv)
{
    const rdi_column *col;
    RDI_TRY(resolve(c, &n->lhs, &col));
    int is_str = col_is_string(col);
    for (size_t k = 0; k < n->nlist; k++)
        RDI_TRY(type_check(c, &n->list[k], NULL, is_str, is_str ? "a string column" : "a number column"));
    for (uint64_t i = 0; i < c->nrows; i++) {
        if (col->validity && !col->validity[i]) {
            tv[i] = TV_U;
            continue;
        }
        int hit = 0;
        if (is_str) {
            const char *a;
            size_t an;
            col_str(col, i, c->nrows, &a, &an);
            for (size_t k = 0; k < n->nlist && !hit; k++)
                hit = str_cmp(a, an, n->list[k].str, n->list[k].str_len) == 0;
        } else {
            num v = col_num(col, i);
            for (size_t k = 0; k < n->nlist && !hit; k++) hit = num_cmp(v, n->list[k].n) == 0;
        }
        tv[i] = (uint8_t)(hit != n->negate_in);
    }
    return RADI_OK;
}

static radi_status eval_node(const evalctx *c, const node *n, uint8_t *tv)
{
    switch (n->kind) {
    case N_CMP: return eval_cmp(c, n, tv);
    case N_IN: return eval_in(c, n, tv);
    case N_TRUTH: {
        const rdi_column *col;
        RDI_TRY(resolve(c, &n->lhs, &col));
        if (!col) {
            memset(tv, n->lhs.kind == V_BOOL ? (int)n->lhs.n.i : (n->lhs.kind == V_NUM ? n->lhs.n.d != 0 : 1),
                   c->nrows);
            return RADI_OK;
        }
        if (col_is_string(col))
            return rdi_error(RADI_E_INVALID, "filter \"%s\": at column %zu: string column '%s' is not a condition",
                             c->e->text, n->lhs.pos + 1, col->name);
        num zero = {0, 0, 0, 0};
        for (uint64_t i = 0; i < c->nrows; i++)
            tv[i] = (col->validity && !col->validity[i]) ? TV_U : (uint8_t)(num_cmp(col_num(col, i), zero) != 0);
        return RADI_OK;
    }
    case N_NOT:
        RDI_TRY(eval_node(c, n->a, tv));
        for (uint64_t i = 0; i < c->nrows; i++) tv[i] = tv[i] == TV_U ? TV_U : (uint8_t)!tv[i];
        return RADI_OK;
    case N_AND:
    case N_OR: {
        uint8_t *rhs = rdi_malloc(c->nrows ? c->nrows : 1);
        if (!rhs) return RADI_E_NOMEM;
        radi_status s = eval_node(c, n->a, tv);
        if (s == RADI_OK) s = eval_node(c, n->b, rhs);
        if (s == RADI_OK) {
            for (uint64_t i = 0; i < c->nrows; i++) {
                uint8_t a = tv[i], b = rhs[i];
                if (n->kind == N_AND) tv[i] = (a == TV_F || b == TV_F) ? TV_F : (a == TV_T && b == TV_T) ? TV_T : TV_U;
                else tv[i] = (a == TV_T || b == TV_T) ? TV_T : (a == TV_F && b == TV_F) ? TV_F : TV_U;
            }
        }
        free(rhs);
        return s;
    }
    }
    return rdi_error(RADI_E_INTERNAL, "filter: unknown node");
}

radi_status rdi_expr_eval(const rdi_expr *e, const rdi_column *cols, uint32_t ncols, uint64_t nrows,
                          uint8_t *mask)
{
    evalctx c = {e, cols, ncols, nrows};
    RDI_TRY(eval_node(&c, e->root, mask));
    for (uint64_t i = 0; i < nrows; i++) mask[i] = mask[i] == TV_T;
    return RADI_OK;
}
