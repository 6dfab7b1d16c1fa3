/*
 * The S3 XML answers and request bodies (see xml.h). One expat state machine serves every
 * answer: it keeps the stack of open elements as small ids (local names, any namespace
 * prefix stripped, since S3 answers carry a default xmlns and some servers prefix it),
 * collects the text of the leaves the answer kind cares about, and acts when a record
 * (Contents, CommonPrefixes, Error) closes. Everything is bounded: body size, depth, text
 * per element; a DTD is refused outright, so no entity expansion can happen.
 */
#include <stdio.h>
#include <stdlib.h>

#include <expat.h>

#include "vfs/s3/xml.h"

#define MAX_BODY ((size_t)64 << 20)
#define MAX_DEPTH 32
#define MAX_TEXT ((size_t)64 << 10)
#define MAX_DELETE_KEYS 1000
#define MAX_PARTS 10000

enum el {
    EL_OTHER, EL_ERROR, EL_CODE, EL_MESSAGE, EL_KEY, EL_LIST, EL_CONTENTS, EL_SIZE,
    EL_COMMON, EL_PREFIX, EL_TRUNCATED, EL_NEXT, EL_ENCODING, EL_INITIATE, EL_UPLOAD_ID,
    EL_DELETE_RESULT, EL_COPY_PART, EL_ETAG
};

static const struct {
    const char *name;
    enum el id;
} el_names[] = {
    {"Error", EL_ERROR}, {"Code", EL_CODE}, {"Message", EL_MESSAGE}, {"Key", EL_KEY},
    {"ListBucketResult", EL_LIST}, {"Contents", EL_CONTENTS}, {"Size", EL_SIZE},
    {"CommonPrefixes", EL_COMMON}, {"Prefix", EL_PREFIX}, {"IsTruncated", EL_TRUNCATED},
    {"NextContinuationToken", EL_NEXT}, {"EncodingType", EL_ENCODING},
    {"InitiateMultipartUploadResult", EL_INITIATE}, {"UploadId", EL_UPLOAD_ID},
    {"DeleteResult", EL_DELETE_RESULT}, {"CopyPartResult", EL_COPY_PART}, {"ETag", EL_ETAG},
};

enum kind { K_ERROR, K_LIST, K_UPLOAD, K_DELETE, K_COPY_PART };

static const char *const kind_what[] = {"S3 error", "S3 listing", "S3 InitiateMultipartUpload",
                                        "S3 DeleteObjects", "S3 UploadPartCopy"};
static const enum el kind_root[] = {EL_ERROR, EL_LIST, EL_INITIATE, EL_DELETE_RESULT, EL_COPY_PART};

typedef struct xp {
    XML_Parser p;
    enum kind kind;
    radi_status st;          /* first failure raised in a handler */
    int depth;
    enum el path[MAX_DEPTH];
    enum el root;            /* EL_OTHER until the root element opens */
    int capture_depth;       /* depth whose text is being collected, 0 = none */
    rdi_buf text;
    /* an <Error> document (the expected answer for K_ERROR, a failure for the others) */
    char *code, *message;
    /* K_LIST */
    rdi_s3_list_page *page;
    size_t sizes_cap;
    char *cur_key;
    uint64_t cur_size;
    char *encoding;
    char *truncated;
    /* K_UPLOAD */
    char *upload_id;
    /* K_COPY_PART */
    char *etag;
    /* K_DELETE: the current DeleteResult/Error */
    rdi_strlist *failed;
    char *err_key, *err_code;
} xp;

static void fail(xp *x, radi_status st)
{
    if (x->st == RADI_OK) x->st = st;
    XML_StopParser(x->p, XML_FALSE);
}

static enum el lookup(const XML_Char *name)
{
    const char *colon = strrchr(name, ':');
    const char *local = colon ? colon + 1 : name;
    for (size_t i = 0; i < sizeof el_names / sizeof el_names[0]; i++)
        if (!strcmp(local, el_names[i].name)) return el_names[i].id;
    return EL_OTHER;
}

/* Whether the open elements are exactly a, b[, c] (EL_OTHER ends a shorter path). */
static int at(const xp *x, enum el a, enum el b, enum el c)
{
    int n = c != EL_OTHER ? 3 : 2;
    return x->depth == n && x->path[0] == a && x->path[1] == b && (n == 2 || x->path[2] == c);
}

/* Whether the text of the element just opened is wanted. */
static int wanted(const xp *x)
{
    if (x->root == EL_ERROR)
        return at(x, EL_ERROR, EL_CODE, EL_OTHER) || at(x, EL_ERROR, EL_MESSAGE, EL_OTHER);
    switch (x->kind) {
    case K_LIST:
        return at(x, EL_LIST, EL_CONTENTS, EL_KEY) || at(x, EL_LIST, EL_CONTENTS, EL_SIZE) ||
               at(x, EL_LIST, EL_COMMON, EL_PREFIX) || at(x, EL_LIST, EL_TRUNCATED, EL_OTHER) ||
               at(x, EL_LIST, EL_NEXT, EL_OTHER) || at(x, EL_LIST, EL_ENCODING, EL_OTHER);
    case K_UPLOAD: return at(x, EL_INITIATE, EL_UPLOAD_ID, EL_OTHER);
    case K_COPY_PART: return at(x, EL_COPY_PART, EL_ETAG, EL_OTHER);
    case K_DELETE:
        return at(x, EL_DELETE_RESULT, EL_ERROR, EL_KEY) || at(x, EL_DELETE_RESULT, EL_ERROR, EL_CODE);
    default: return 0;
    }
}

static void XMLCALL on_start(void *ud, const XML_Char *name, const XML_Char **attrs)
{
    xp *x = ud;
    (void)attrs;
    if (x->st != RADI_OK) return;
    if (x->depth == MAX_DEPTH) {
        fail(x, rdi_error(RADI_E_CORRUPT, "%s: XML nested deeper than %d elements at line %lu",
                          kind_what[x->kind], MAX_DEPTH,
                          (unsigned long)XML_GetCurrentLineNumber(x->p)));
        return;
    }
    enum el id = lookup(name);
    x->path[x->depth++] = id;
    if (x->depth == 1) {
        x->root = id;
        if (id != kind_root[x->kind] && id != EL_ERROR) {
            /* K_ERROR's caller only asks whether this is an <Error>; it is not. */
            fail(x, x->kind == K_ERROR ? RADI_E_INVALID
                     : rdi_error(RADI_E_CORRUPT, "%s: expected <%s>, got <%.64s>", kind_what[x->kind],
                                 x->kind == K_LIST ? "ListBucketResult"
                                 : x->kind == K_UPLOAD ? "InitiateMultipartUploadResult"
                                 : x->kind == K_COPY_PART ? "CopyPartResult"
                                                       : "DeleteResult",
                                 name));
            return;
        }
    }
    if (x->root != EL_ERROR) {
        if (x->kind == K_LIST && at(x, EL_LIST, EL_CONTENTS, EL_OTHER)) {
            free(x->cur_key);
            x->cur_key = NULL;
            x->cur_size = 0;
        } else if (x->kind == K_DELETE && at(x, EL_DELETE_RESULT, EL_ERROR, EL_OTHER)) {
            free(x->err_key);
            free(x->err_code);
            x->err_key = x->err_code = NULL;
        }
    }
    if (x->capture_depth == 0 && wanted(x)) {
        x->capture_depth = x->depth;
        x->text.len = 0;
    }
}

static void XMLCALL on_text(void *ud, const XML_Char *s, int len)
{
    xp *x = ud;
    if (x->st != RADI_OK || x->capture_depth != x->depth || len <= 0) return;
    if ((size_t)len > MAX_TEXT - x->text.len) {
        fail(x, rdi_error(RADI_E_CORRUPT, "%s: text of an element over %zu bytes at line %lu",
                          kind_what[x->kind], MAX_TEXT,
                          (unsigned long)XML_GetCurrentLineNumber(x->p)));
        return;
    }
    if (rdi_buf_append(&x->text, s, (size_t)len) != RADI_OK) fail(x, RADI_E_NOMEM);
}

/* Text without surrounding whitespace, for values that are words or numbers. */
static void trim(char *s)
{
    size_t n = strlen(s), a = 0;
    while (n && strchr(" \t\r\n", s[n - 1])) n--;
    while (a < n && strchr(" \t\r\n", s[a])) a++;
    memmove(s, s + a, n - a);
    s[n - a] = '\0';
}

static int parse_u64(const char *s, uint64_t *v)
{
    if (!*s) return 0;
    uint64_t r = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9') return 0;
        unsigned d = (unsigned)(*s - '0');
        if (r > (UINT64_MAX - d) / 10) return 0;
        r = r * 10 + d;
    }
    *v = r;
    return 1;
}

/* Replaces *slot with the collected text. */
static radi_status take_text(xp *x, char **slot)
{
    char *s = rdi_strndup((const char *)(x->text.data ? x->text.data : (const uint8_t *)""), x->text.len);
    if (!s) return RADI_E_NOMEM;
    free(*slot);
    *slot = s;
    return RADI_OK;
}

static radi_status push_entry(xp *x)
{
    rdi_s3_list_page *pg = x->page;
    if (!x->cur_key)
        return rdi_error(RADI_E_CORRUPT, "%s: <Contents> without <Key> at line %lu", kind_what[x->kind],
                         (unsigned long)XML_GetCurrentLineNumber(x->p));
    if (pg->keys.n == x->sizes_cap) {
        size_t cap = x->sizes_cap ? x->sizes_cap * 2 : 64;
        uint64_t *p = realloc(pg->sizes, cap * sizeof *p);
        if (!p) return rdi_nomem();
        pg->sizes = p;
        x->sizes_cap = cap;
    }
    pg->sizes[pg->keys.n] = x->cur_size;
    RDI_TRY(rdi_strlist_push_owned(&pg->keys, x->cur_key));
    x->cur_key = NULL;
    return RADI_OK;
}

static radi_status end_leaf(xp *x)
{
    char *tmp = NULL;
    radi_status st = RADI_OK;
    if (x->root == EL_ERROR) {
        if (at(x, EL_ERROR, EL_CODE, EL_OTHER)) return take_text(x, &x->code);
        return take_text(x, &x->message);
    }
    switch (x->kind) {
    case K_LIST:
        if (at(x, EL_LIST, EL_CONTENTS, EL_KEY)) return take_text(x, &x->cur_key);
        if (at(x, EL_LIST, EL_NEXT, EL_OTHER)) return take_text(x, &x->page->next_token);
        if (at(x, EL_LIST, EL_ENCODING, EL_OTHER)) return take_text(x, &x->encoding);
        if (at(x, EL_LIST, EL_TRUNCATED, EL_OTHER)) return take_text(x, &x->truncated);
        RDI_TRY(take_text(x, &tmp));
        if (at(x, EL_LIST, EL_COMMON, EL_PREFIX)) return rdi_strlist_push_owned(&x->page->prefixes, tmp);
        trim(tmp); /* Contents/Size */
        if (!parse_u64(tmp, &x->cur_size))
            st = rdi_error(RADI_E_CORRUPT, "%s: bad <Size> '%.32s' at line %lu", kind_what[x->kind],
                           tmp, (unsigned long)XML_GetCurrentLineNumber(x->p));
        free(tmp);
        return st;
    case K_UPLOAD: return take_text(x, &x->upload_id);
    case K_COPY_PART: return take_text(x, &x->etag);
    case K_DELETE:
        return take_text(x, at(x, EL_DELETE_RESULT, EL_ERROR, EL_KEY) ? &x->err_key : &x->err_code);
    default: return RADI_OK;
    }
}

static void XMLCALL on_end(void *ud, const XML_Char *name)
{
    xp *x = ud;
    (void)name;
    if (x->st != RADI_OK) return;
    radi_status st = RADI_OK;
    if (x->capture_depth == x->depth) {
        st = end_leaf(x);
        x->capture_depth = 0;
    } else if (x->root != EL_ERROR && x->kind == K_LIST && at(x, EL_LIST, EL_CONTENTS, EL_OTHER)) {
        st = push_entry(x);
    } else if (x->root != EL_ERROR && x->kind == K_DELETE && at(x, EL_DELETE_RESULT, EL_ERROR, EL_OTHER)) {
        char *s = x->err_code ? rdi_asprintf("%s (%s)", x->err_key ? x->err_key : "", x->err_code)
                              : rdi_strdup(x->err_key ? x->err_key : "");
        st = s ? rdi_strlist_push_owned(x->failed, s) : RADI_E_NOMEM;
    }
    if (st != RADI_OK) {
        fail(x, st);
        return;
    }
    x->depth--;
}

static void XMLCALL on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
                               const XML_Char *pubid, int has_internal_subset)
{
    xp *x = ud;
    (void)name, (void)sysid, (void)pubid, (void)has_internal_subset;
    fail(x, rdi_error(RADI_E_CORRUPT, "%s: a DTD is not allowed in an S3 answer", kind_what[x->kind]));
}

/* Runs the parser over the body; handlers fill x. On RADI_OK the document was complete
 * and well formed; x->root says which document it was. */
static radi_status run(xp *x, const void *body, size_t len)
{
    const char *what = kind_what[x->kind];
    if (!body && len) return rdi_error(RADI_E_INVALID, "%s: no body", what);
    if (len > MAX_BODY)
        return rdi_error(RADI_E_CORRUPT, "%s: answer of %zu bytes is over the %zu-byte limit", what,
                         len, MAX_BODY);
    /* S3 may pad a long-running answer (CompleteMultipartUpload) with whitespace before
     * the document; XML does not allow it before the declaration, so it is skipped. */
    const char *b = body ? body : "";
    while (len && strchr(" \t\r\n", *b)) b++, len--;
    x->p = XML_ParserCreate(NULL);
    if (!x->p) return rdi_nomem();
    XML_SetUserData(x->p, x);
    XML_SetElementHandler(x->p, on_start, on_end);
    XML_SetCharacterDataHandler(x->p, on_text);
    XML_SetStartDoctypeDeclHandler(x->p, on_doctype);
    enum XML_Status rs = XML_Parse(x->p, b, (int)len, XML_TRUE);
    radi_status st = x->st;
    if (st == RADI_OK && rs != XML_STATUS_OK)
        st = rdi_error(RADI_E_CORRUPT, "%s: malformed XML at line %lu: %s", what,
                       (unsigned long)XML_GetCurrentLineNumber(x->p),
                       XML_ErrorString(XML_GetErrorCode(x->p)));
    XML_ParserFree(x->p);
    x->p = NULL;
    return st;
}

static void xp_free(xp *x)
{
    rdi_buf_free(&x->text);
    free(x->code);
    free(x->message);
    free(x->cur_key);
    free(x->encoding);
    free(x->truncated);
    free(x->upload_id);
    free(x->etag);
    free(x->err_key);
    free(x->err_code);
}

/* The failure for an <Error> document where another answer was expected (S3 can answer
 * 200 with an <Error> body). */
static radi_status error_doc(const xp *x)
{
    return rdi_error(RADI_E_IO, "%s: S3 error %.128s: %.256s", kind_what[x->kind],
                     x->code ? x->code : "(no code)", x->message ? x->message : "(no message)");
}

/* ---- <Error> ---- */

int rdi_s3_parse_error(const void *body, size_t len, rdi_s3_error *err)
{
    xp x = {0};
    x.kind = K_ERROR;
    if (err) err->code = err->message = NULL;
    /* Asking whether a body is an <Error> is not a failure: the caller's message stays. */
    char saved[1024];
    snprintf(saved, sizeof saved, "%s", radi_errmsg());
    (void)run(&x, body, len);
    rdi_error(RADI_OK, "%s", saved);
    /* An <Error> root counts even when the rest is cut short: the fields seen so far are
     * still the best description of the failure. */
    int is_error = x.root == EL_ERROR;
    if (is_error && err) {
        err->code = x.code;
        err->message = x.message;
        x.code = x.message = NULL;
    }
    xp_free(&x);
    return is_error;
}

void rdi_s3_error_free(rdi_s3_error *err)
{
    if (!err) return;
    free(err->code);
    free(err->message);
    err->code = err->message = NULL;
}

/* ---- ListObjectsV2 ---- */

void rdi_s3_list_page_free(rdi_s3_list_page *p)
{
    if (!p) return;
    rdi_strlist_free(&p->keys);
    rdi_strlist_free(&p->prefixes);
    free(p->sizes);
    free(p->next_token);
    memset(p, 0, sizeof *p);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Decodes an EncodingType=url value in place ('+' is a space, as S3 and the SDKs have
 * it). Fails on a broken escape and on an encoded NUL, which no key can hold. */
static int url_decode(char *s)
{
    char *w = s;
    for (const char *r = s; *r; r++) {
        if (*r == '+') {
            *w++ = ' ';
        } else if (*r == '%') {
            int hi = hexval(r[1]), lo = hi < 0 ? -1 : hexval(r[2]);
            if (hi < 0 || lo < 0 || (hi | lo) == 0) return 0;
            *w++ = (char)(hi << 4 | lo);
            r += 2;
        } else {
            *w++ = *r;
        }
    }
    *w = '\0';
    return 1;
}

static radi_status decode_all(rdi_strlist *l, const char *what)
{
    for (size_t i = 0; i < l->n; i++)
        if (!url_decode(l->items[i]))
            return rdi_error(RADI_E_CORRUPT, "S3 listing: bad URL encoding in %s '%.200s'", what,
                             l->items[i]);
    return RADI_OK;
}

static radi_status finish_list(xp *x)
{
    rdi_s3_list_page *pg = x->page;
    if (x->truncated) {
        trim(x->truncated);
        if (!strcmp(x->truncated, "true")) pg->truncated = 1;
        else if (strcmp(x->truncated, "false"))
            return rdi_error(RADI_E_CORRUPT, "S3 listing: bad <IsTruncated> '%.32s'", x->truncated);
    }
    if (!pg->truncated) {
        free(pg->next_token);
        pg->next_token = NULL;
    } else if (!pg->next_token || !*pg->next_token) {
        /* Without a token the next page cannot be asked for; going on would list the
         * first page again, forever. */
        return rdi_error(RADI_E_CORRUPT, "S3 listing: truncated page without <NextContinuationToken>");
    }
    if (x->encoding) {
        trim(x->encoding);
        if (!strcmp(x->encoding, "url")) {
            RDI_TRY(decode_all(&pg->keys, "key"));
            RDI_TRY(decode_all(&pg->prefixes, "prefix"));
        } else {
            return rdi_error(RADI_E_UNSUPPORTED, "S3 listing: unknown <EncodingType> '%.32s'",
                             x->encoding);
        }
    }
    return RADI_OK;
}

radi_status rdi_s3_parse_list(const void *body, size_t len, rdi_s3_list_page *out)
{
    memset(out, 0, sizeof *out);
    xp x = {0};
    x.kind = K_LIST;
    x.page = out;
    radi_status st = run(&x, body, len);
    if (st == RADI_OK) st = x.root == EL_ERROR ? error_doc(&x) : finish_list(&x);
    xp_free(&x);
    if (st != RADI_OK) rdi_s3_list_page_free(out);
    return st;
}

/* ---- InitiateMultipartUpload ---- */

radi_status rdi_s3_parse_upload_id(const void *body, size_t len, char **upload_id)
{
    *upload_id = NULL;
    xp x = {0};
    x.kind = K_UPLOAD;
    radi_status st = run(&x, body, len);
    if (st == RADI_OK && x.root == EL_ERROR) st = error_doc(&x);
    if (st == RADI_OK && (!x.upload_id || !*x.upload_id))
        st = rdi_error(RADI_E_CORRUPT, "S3 InitiateMultipartUpload: answer without <UploadId>");
    if (st == RADI_OK) {
        *upload_id = x.upload_id;
        x.upload_id = NULL;
    }
    xp_free(&x);
    return st;
}

/* ---- UploadPartCopy ---- */

radi_status rdi_s3_parse_copy_part(const void *body, size_t len, char **etag)
{
    *etag = NULL;
    xp x = {0};
    x.kind = K_COPY_PART;
    radi_status st = run(&x, body, len);
    if (st == RADI_OK && x.root == EL_ERROR) st = error_doc(&x);
    if (st == RADI_OK) {
        if (x.etag) trim(x.etag); /* the text is the quoted ETag, perhaps between newlines */
        if (!x.etag || !*x.etag) st = rdi_error(RADI_E_CORRUPT, "S3 UploadPartCopy: answer without <ETag>");
    }
    if (st == RADI_OK) {
        *etag = x.etag;
        x.etag = NULL;
    }
    xp_free(&x);
    return st;
}

/* ---- DeleteObjects result ---- */

radi_status rdi_s3_parse_delete_result(const void *body, size_t len, rdi_strlist *failed)
{
    rdi_strlist l = RDI_STRLIST_INIT;
    xp x = {0};
    x.kind = K_DELETE;
    x.failed = &l;
    radi_status st = run(&x, body, len);
    if (st == RADI_OK && x.root == EL_ERROR) st = error_doc(&x);
    xp_free(&x);
    if (st != RADI_OK) {
        rdi_strlist_free(&l);
        return st;
    }
    *failed = l;
    return RADI_OK;
}

/* ---- request bodies ---- */

/* Length of the valid UTF-8 sequence at s that is an XML 1.0 character, 0 if none. */
static size_t xml_char_len(const unsigned char *s)
{
    unsigned c = s[0];
    if (c < 0x80) return (c >= 0x20 || c == 0x09 || c == 0x0A || c == 0x0D) ? 1 : 0;
    size_t n;
    uint32_t cp, min;
    if ((c & 0xE0) == 0xC0) n = 2, cp = c & 0x1F, min = 0x80;
    else if ((c & 0xF0) == 0xE0) n = 3, cp = c & 0x0F, min = 0x800;
    else if ((c & 0xF8) == 0xF0) n = 4, cp = c & 0x07, min = 0x10000;
    else return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;  /* also stops at the NUL */
        cp = cp << 6 | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF) || cp == 0xFFFE || cp == 0xFFFF)
        return 0;
    return n;
}

/* Appends s escaped as XML character data. Carriage returns, newlines and tabs become
 * character references, since a parser would normalise them if sent raw. */
static radi_status xml_escape_into(rdi_buf *b, const char *s, const char *what)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        size_t n = xml_char_len(p);
        if (!n)
            return rdi_error(RADI_E_INVALID, "%s: '%.200s' is not UTF-8 text that XML 1.0 can carry",
                             what, s);
        const char *rep = NULL;
        switch (*p) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&apos;"; break;
        case '\r': rep = "&#13;"; break;
        case '\n': rep = "&#10;"; break;
        case '\t': rep = "&#9;"; break;
        default: break;
        }
        RDI_TRY(rep ? rdi_buf_append(b, rep, strlen(rep)) : rdi_buf_append(b, p, n));
        p += n;
    }
    return RADI_OK;
}

static radi_status put(rdi_buf *b, const char *s) { return rdi_buf_append(b, s, strlen(s)); }

/* Leaves a NUL after the body (not counted in len), so it can be logged as a string. */
static radi_status terminate(rdi_buf *b)
{
    RDI_TRY(rdi_buf_reserve(b, 1));
    b->data[b->len] = '\0';
    return RADI_OK;
}

#define XML_DECL "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
#define S3_NS "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\""

static radi_status delete_body(const char *const *keys, size_t n, rdi_buf *out)
{
    RDI_TRY(put(out, XML_DECL "<Delete " S3_NS "><Quiet>true</Quiet>"));
    for (size_t i = 0; i < n; i++) {
        if (!keys[i] || !*keys[i])
            return rdi_error(RADI_E_INVALID, "S3 DeleteObjects: key %zu is empty", i);
        RDI_TRY(put(out, "<Object><Key>"));
        RDI_TRY(xml_escape_into(out, keys[i], "S3 DeleteObjects: key"));
        RDI_TRY(put(out, "</Key></Object>"));
    }
    RDI_TRY(put(out, "</Delete>"));
    return terminate(out);
}

radi_status rdi_s3_xml_delete_objects(const char *const *keys, size_t n, rdi_buf *out)
{
    out->len = 0;
    if (n == 0 || n > MAX_DELETE_KEYS || !keys)
        return rdi_error(RADI_E_INVALID, "S3 DeleteObjects: %zu keys (1 to %d per request)", n,
                         MAX_DELETE_KEYS);
    radi_status st = delete_body(keys, n, out);
    if (st != RADI_OK) out->len = 0;
    return st;
}

static radi_status complete_body(const char *const *etags, size_t n, rdi_buf *out)
{
    RDI_TRY(put(out, XML_DECL "<CompleteMultipartUpload " S3_NS ">"));
    for (size_t i = 0; i < n; i++) {
        if (!etags[i] || !*etags[i])
            return rdi_error(RADI_E_INVALID, "S3 CompleteMultipartUpload: part %zu has no ETag", i + 1);
        char num[32];
        snprintf(num, sizeof num, "%zu", i + 1);
        RDI_TRY(put(out, "<Part><PartNumber>"));
        RDI_TRY(put(out, num));
        RDI_TRY(put(out, "</PartNumber><ETag>"));
        RDI_TRY(xml_escape_into(out, etags[i], "S3 CompleteMultipartUpload: ETag"));
        RDI_TRY(put(out, "</ETag></Part>"));
    }
    RDI_TRY(put(out, "</CompleteMultipartUpload>"));
    return terminate(out);
}

radi_status rdi_s3_xml_complete_multipart(const char *const *etags, size_t n_parts, rdi_buf *out)
{
    out->len = 0;
    if (n_parts == 0 || n_parts > MAX_PARTS || !etags)
        return rdi_error(RADI_E_INVALID, "S3 CompleteMultipartUpload: %zu parts (1 to %d)", n_parts,
                         MAX_PARTS);
    radi_status st = complete_body(etags, n_parts, out);
    if (st != RADI_OK) out->len = 0;
    return st;
}
