/* Per-thread error messages and the status/datatype name tables. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/core.h"

#define RDI_ERRMSG_MAX 1024

/* Thread-local so concurrent callers never see each other's messages. */
static _Thread_local char rdi_errbuf[RDI_ERRMSG_MAX];

radi_status rdi_error(radi_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rdi_errbuf, sizeof rdi_errbuf, fmt, ap);
    va_end(ap);
    return status;
}

radi_status rdi_error_wrap(radi_status status, const char *fmt, ...)
{
    char prefix[RDI_ERRMSG_MAX];
    char old[RDI_ERRMSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, rdi_errbuf, sizeof old);
    /* Truncation is fine: the message is informational. */
    size_t n = strlen(prefix);
    if (n > sizeof rdi_errbuf - 3) n = sizeof rdi_errbuf - 3;
    memcpy(rdi_errbuf, prefix, n);
    memcpy(rdi_errbuf + n, ": ", 2);
    size_t rest = sizeof rdi_errbuf - n - 3;
    size_t ol = strlen(old);
    if (ol > rest) ol = rest;
    memcpy(rdi_errbuf + n + 2, old, ol);
    rdi_errbuf[n + 2 + ol] = '\0';
    return status;
}

void rdi_error_clear(void) { rdi_errbuf[0] = '\0'; }

radi_status rdi_nomem(void) { return rdi_error(RADI_E_NOMEM, "out of memory"); }

radi_status rdi_forked_error(long created)
{
    return rdi_error(RADI_E_FORKED,
                     "radi context created in process %ld used in process %ld after fork(): create a new "
                     "context in the child",
                     created, (long)getpid());
}

const char *radi_errmsg(void) { return rdi_errbuf; }

const char *radi_version(void) { return "0.1.0"; }

const char *radi_status_name(radi_status status)
{
    switch (status) {
    case RADI_OK: return "RADI_OK";
    case RADI_E_INVALID: return "RADI_E_INVALID";
    case RADI_E_NOMEM: return "RADI_E_NOMEM";
    case RADI_E_IO: return "RADI_E_IO";
    case RADI_E_NOT_FOUND: return "RADI_E_NOT_FOUND";
    case RADI_E_EXISTS: return "RADI_E_EXISTS";
    case RADI_E_CORRUPT: return "RADI_E_CORRUPT";
    case RADI_E_UNSUPPORTED: return "RADI_E_UNSUPPORTED";
    case RADI_E_CODEC: return "RADI_E_CODEC";
    case RADI_E_BUDGET: return "RADI_E_BUDGET";
    case RADI_E_INTERNAL: return "RADI_E_INTERNAL";
    case RADI_E_BUSY: return "RADI_E_BUSY";
    case RADI_E_FORKED: return "RADI_E_FORKED";
    }
    return "RADI_E_UNKNOWN";
}

void *rdi_calloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) rdi_nomem();
    return p;
}

void *rdi_malloc(size_t size)
{
    void *p = malloc(size ? size : 1);
    if (!p) rdi_nomem();
    return p;
}

char *rdi_strndup(const char *s, size_t n)
{
    char *d = rdi_malloc(n + 1);
    if (!d) return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *rdi_strdup(const char *s) { return rdi_strndup(s, strlen(s)); }

char *rdi_asprintf(const char *fmt, ...)
{
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = NULL;
    if (n >= 0 && (s = rdi_malloc((size_t)n + 1))) vsnprintf(s, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    return s;
}

size_t radi_datatype_size(radi_datatype t)
{
    switch (t) {
    case RADI_INT8: case RADI_UINT8: case RADI_CHAR: case RADI_STRING_ASCII:
    case RADI_STRING_UTF8: case RADI_BOOL: case RADI_BLOB: case RADI_ANY:
        return 1;
    case RADI_INT16: case RADI_UINT16: return 2;
    case RADI_INT32: case RADI_UINT32: case RADI_FLOAT32: return 4;
    case RADI_INT64: case RADI_UINT64: case RADI_FLOAT64: return 8;
    }
    return 0;
}

const char *radi_datatype_name(radi_datatype t)
{
    switch (t) {
    case RADI_INT32: return "int32";
    case RADI_INT64: return "int64";
    case RADI_FLOAT32: return "float32";
    case RADI_FLOAT64: return "float64";
    case RADI_CHAR: return "char";
    case RADI_INT8: return "int8";
    case RADI_UINT8: return "uint8";
    case RADI_INT16: return "int16";
    case RADI_UINT16: return "uint16";
    case RADI_UINT32: return "uint32";
    case RADI_UINT64: return "uint64";
    case RADI_STRING_ASCII: return "ascii";
    case RADI_STRING_UTF8: return "utf8";
    case RADI_ANY: return "any";
    case RADI_BLOB: return "blob";
    case RADI_BOOL: return "bool";
    }
    return "unknown";
}

int rdi_datatype_is_integer(radi_datatype t)
{
    switch (t) {
    case RADI_INT8: case RADI_UINT8: case RADI_INT16: case RADI_UINT16: case RADI_INT32:
    case RADI_UINT32: case RADI_INT64: case RADI_UINT64: case RADI_BOOL:
        return 1;
    default: return 0;
    }
}

int rdi_datatype_is_signed(radi_datatype t)
{
    return t == RADI_INT8 || t == RADI_INT16 || t == RADI_INT32 || t == RADI_INT64;
}

int rdi_datatype_is_float(radi_datatype t) { return t == RADI_FLOAT32 || t == RADI_FLOAT64; }

int rdi_datatype_is_string(radi_datatype t)
{
    return t == RADI_CHAR || t == RADI_STRING_ASCII || t == RADI_STRING_UTF8;
}

int rdi_datatype_is_known(radi_datatype t) { return strcmp(radi_datatype_name(t), "unknown") != 0; }
