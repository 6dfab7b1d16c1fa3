/*
 * Internal foundation shared by every layer: errors, byte buffers, a bounds-checked
 * little-endian reader, string lists, time and random labels. Internal symbols are
 * prefixed rdi_ and hidden from the shared library.
 */
#ifndef RDI_CORE_H
#define RDI_CORE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "radi/radi.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "radi stores TileDB's little-endian layout with memcpy; big-endian hosts are unsupported"
#endif

#define RDI_UNUSED(x) ((void)(x))
#define RDI_MIN(a, b) ((a) < (b) ? (a) : (b))
#define RDI_MAX(a, b) ((a) > (b) ? (a) : (b))

/* ---- errors: a thread-local message, set where the failure is detected ---- */

/* Sets the calling thread's message (printf format) and returns status. */
radi_status rdi_error(radi_status status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Prefixes the current message with "<prefix>: " (context added on the way up). */
radi_status rdi_error_wrap(radi_status status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void rdi_error_clear(void);
radi_status rdi_nomem(void);
/* RADI_E_FORKED: a context made by process `created` used by this one after fork(). */
radi_status rdi_forked_error(long created);

#define RDI_TRY(expr)                    \
    do {                                 \
        radi_status rdi_s_ = (expr);     \
        if (rdi_s_ != RADI_OK) return rdi_s_; \
    } while (0)

/* Zeroed allocation; NULL only on failure (sets RADI_E_NOMEM message). */
void *rdi_calloc(size_t n, size_t size);
void *rdi_malloc(size_t size);
char *rdi_strdup(const char *s);
char *rdi_strndup(const char *s, size_t n);
/* malloc'd printf. NULL on failure. */
char *rdi_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- value conversion ---- */

/* out[i] = in[i] * slope + inter for n values of numeric type t (bool as uint8),
 * computed in double and rounded once to ot (RADI_FLOAT32 or RADI_FLOAT64). The
 * buffers need no alignment. */
void rdi_scale_convert(const void *in, radi_datatype t, void *out, radi_datatype ot, uint64_t n,
                       double slope, double inter);

/* ---- Python reprs: what radiobject 0.1.1 writes through str() and json.dumps ---- */

/* Python's repr of a float (shortest round trip; fixed between 1e-4 and 1e16; "NaN",
 * "Infinity" as json.dumps). cap >= 32 always suffices. */
void rdi_py_float(char *out, size_t cap, double v);

/* ---- growable byte buffer with little-endian appends ---- */

typedef struct rdi_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
} rdi_buf;

#define RDI_BUF_INIT {NULL, 0, 0}
/* Asks the kernel to back the pages of [p, p + n) with transparent huge pages when n is
 * large (4 MiB or more): for big buffers filled whole, whose 4 KiB first-touch faults are
 * costly. Give it a whole mapping (or a whole malloc block's). Advice only;
 * rdi_buf_reserve applies it to every buffer that large. */
void rdi_mem_advise_huge(void *p, size_t n);
void rdi_buf_free(rdi_buf *b);
radi_status rdi_buf_reserve(rdi_buf *b, size_t extra);   /* room for len + extra */
radi_status rdi_buf_resize(rdi_buf *b, size_t len);      /* new bytes are zero */
/* As rdi_buf_resize, but the new bytes are left unset: for a buffer its caller overwrites
 * whole (file reads, decoded volumes), where zeroing is a pass over memory and its first
 * touch (page faults) on one thread, before the parallel work that fills it. */
radi_status rdi_buf_resize_uninit(rdi_buf *b, size_t len);
radi_status rdi_buf_append(rdi_buf *b, const void *p, size_t n);
radi_status rdi_buf_put_u8(rdi_buf *b, uint8_t v);
radi_status rdi_buf_put_u32(rdi_buf *b, uint32_t v);
radi_status rdi_buf_put_u64(rdi_buf *b, uint64_t v);
radi_status rdi_buf_put_i32(rdi_buf *b, int32_t v);
/* u32 length then the bytes (no NUL). */
radi_status rdi_buf_put_str32(rdi_buf *b, const char *s);
/* u64 length then the bytes. */
radi_status rdi_buf_put_str64(rdi_buf *b, const char *s, size_t n);
/* Hands the storage to the caller and resets b. */
uint8_t *rdi_buf_detach(rdi_buf *b, size_t *len);
/* Messages built in pieces (an error listing several things): rdi_msg_add appends printf
 * text (at most 511 bytes a call; a failed allocation just cuts the message), rdi_msg_text
 * NUL-terminates it and returns it ("(message lost)" when memory ran out). */
void rdi_msg_add(rdi_buf *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const char *rdi_msg_text(rdi_buf *m);
/* Appends a row-major 4x4 matrix as json.dumps writes a nested list, NUL-terminated
 * ("[[1.0, 0.0, 0.0, -30.0], ...]"): the orientation_affine / affine_json value. */
radi_status rdi_affine_json(const double *a, rdi_buf *out);

/* ---- bounds-checked little-endian reader ---- */

typedef struct rdi_rd {
    const uint8_t *p;
    size_t len;
    size_t pos;
    const char *what;   /* named in errors, e.g. the file being parsed */
} rdi_rd;

void rdi_rd_init(rdi_rd *r, const void *p, size_t len, const char *what);
size_t rdi_rd_left(const rdi_rd *r);
/* All fail with RADI_E_CORRUPT "<what>: truncated reading <field> at byte N". */
radi_status rdi_rd_u8(rdi_rd *r, uint8_t *v, const char *field);
radi_status rdi_rd_u16(rdi_rd *r, uint16_t *v, const char *field);
radi_status rdi_rd_u32(rdi_rd *r, uint32_t *v, const char *field);
radi_status rdi_rd_u64(rdi_rd *r, uint64_t *v, const char *field);
radi_status rdi_rd_i32(rdi_rd *r, int32_t *v, const char *field);
radi_status rdi_rd_bytes(rdi_rd *r, void *dst, size_t n, const char *field);
/* Borrows n bytes in place. */
radi_status rdi_rd_view(rdi_rd *r, const uint8_t **dst, size_t n, const char *field);
/* Length-prefixed (u32 / u64) string, malloc'd and NUL-terminated. */
radi_status rdi_rd_str32(rdi_rd *r, char **dst, const char *field);
radi_status rdi_rd_str64(rdi_rd *r, char **dst, size_t *len, const char *field);

/* Unaligned little-endian loads/stores. */
static inline uint32_t rdi_ld32(const void *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static inline uint64_t rdi_ld64(const void *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static inline void rdi_st32(void *p, uint32_t v) { memcpy(p, &v, 4); }
static inline void rdi_st64(void *p, uint64_t v) { memcpy(p, &v, 8); }

/* ---- string list ---- */

typedef struct rdi_strlist {
    char **items;
    size_t n;
    size_t cap;
} rdi_strlist;

#define RDI_STRLIST_INIT {NULL, 0, 0}
radi_status rdi_strlist_push(rdi_strlist *l, const char *s);         /* copies s */
radi_status rdi_strlist_push_owned(rdi_strlist *l, char *s);         /* takes s */
void rdi_strlist_sort(rdi_strlist *l);                               /* byte order */
/* Whether a list sorted by rdi_strlist_sort holds the n-byte string s. */
int rdi_strlist_has_sorted(const rdi_strlist *l, const char *s, size_t n);
void rdi_strlist_free(rdi_strlist *l);

/* ---- time, randomness, labels ---- */

uint64_t rdi_now_ms(void);          /* wall clock, ms since the epoch */
/* Sleeps until the clock reaches t (ms), if t is at most one second ahead. Writers stamp
 * max(now, last + 1), which can run ahead of the clock in a burst; committing only once
 * the clock has caught up keeps every reader that opens "now" (TileDB included) seeing
 * what was just written. */
void rdi_wait_for_clock(uint64_t t);
double rdi_monotonic_s(void);       /* for progress and stats */
void rdi_sleep_ms(uint32_t ms);
/* Fills buf with n random bytes from the kernel. */
radi_status rdi_random_bytes(void *buf, size_t n);
/* TileDB's 32-hex-digit label (no dashes) into out[33]. */
radi_status rdi_random_label(char out[33]);

/* ---- URIs and paths ---- */

/* Joins base and child with exactly one '/'. malloc'd; NULL on failure. */
char *rdi_path_join(const char *base, const char *child);
/* The last path component (borrowed pointer into uri, trailing '/' ignored via len). */
const char *rdi_path_basename(const char *uri, size_t *len);
/* Strips trailing slashes in a copy. */
char *rdi_uri_normalize(const char *uri);

/* Datatype helpers. */
int rdi_datatype_is_integer(radi_datatype t);
int rdi_datatype_is_signed(radi_datatype t);
int rdi_datatype_is_float(radi_datatype t);
int rdi_datatype_is_string(radi_datatype t);
int rdi_datatype_is_known(radi_datatype t);

#endif /* RDI_CORE_H */
