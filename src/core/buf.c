/* Growable byte buffers, the bounds-checked reader and string lists. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "core/core.h"

/* Buffers of this size or more are backed by transparent huge pages where the kernel
 * gives them on request (THP "madvise" mode, Debian's default): they are filled once
 * and whole (a decoded volume, a fragment's tiles), and first-touch faults on 4 KiB
 * pages cost a VM as much as the copy that fills them (perf: a third of a DICOM
 * ingest's CPU with uncompressed tiles). */
#define HUGE_MIN ((size_t)4 << 20)

void rdi_mem_advise_huge(void *p, size_t n)
{
#ifdef MADV_HUGEPAGE
    if (!p || n < HUGE_MIN) return;
    /* The pages [p, p + n) touches, whole: advice on part of a mapping splits it, and a
     * split mapping can no longer grow with mremap (see rdi_buf_reserve). */
    uintptr_t a = (uintptr_t)p & ~(uintptr_t)4095, e = ((uintptr_t)p + n + 4095) & ~(uintptr_t)4095;
    (void)madvise((void *)a, e - a, MADV_HUGEPAGE); /* advice only: errors change nothing */
#else
    (void)p;
    (void)n;
#endif
}

void rdi_buf_free(rdi_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

radi_status rdi_buf_reserve(rdi_buf *b, size_t extra)
{
    if (extra > SIZE_MAX - b->len) return rdi_error(RADI_E_NOMEM, "buffer size overflow");
    size_t need = b->len + extra;
    if (need <= b->cap) return RADI_OK;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need) cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    uint8_t *p = realloc(b->data, cap);
    if (!p) return rdi_nomem();
    b->data = p;
    b->cap = cap;
#ifdef __GLIBC__
    /* glibc serves a large block from a mapping of its own, [page of p, p + usable
     * size), and grows it with mremap: the advice covers that mapping whole, or every
     * later growth would copy the block into a new mapping. */
    if (cap >= HUGE_MIN) rdi_mem_advise_huge(p, malloc_usable_size(p));
#endif
    return RADI_OK;
}

radi_status rdi_buf_resize(rdi_buf *b, size_t len)
{
    if (len > b->len) {
        RDI_TRY(rdi_buf_reserve(b, len - b->len));
        memset(b->data + b->len, 0, len - b->len);
    }
    b->len = len;
    return RADI_OK;
}

radi_status rdi_buf_resize_uninit(rdi_buf *b, size_t len)
{
    if (len > b->len) RDI_TRY(rdi_buf_reserve(b, len - b->len));
    b->len = len;
    return RADI_OK;
}

radi_status rdi_buf_append(rdi_buf *b, const void *p, size_t n)
{
    if (n == 0) return RADI_OK;
    RDI_TRY(rdi_buf_reserve(b, n));
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return RADI_OK;
}

radi_status rdi_buf_put_u8(rdi_buf *b, uint8_t v) { return rdi_buf_append(b, &v, 1); }
radi_status rdi_buf_put_u32(rdi_buf *b, uint32_t v) { return rdi_buf_append(b, &v, 4); }
radi_status rdi_buf_put_u64(rdi_buf *b, uint64_t v) { return rdi_buf_append(b, &v, 8); }
radi_status rdi_buf_put_i32(rdi_buf *b, int32_t v) { return rdi_buf_append(b, &v, 4); }

radi_status rdi_buf_put_str32(rdi_buf *b, const char *s)
{
    size_t n = strlen(s);
    RDI_TRY(rdi_buf_put_u32(b, (uint32_t)n));
    return rdi_buf_append(b, s, n);
}

radi_status rdi_buf_put_str64(rdi_buf *b, const char *s, size_t n)
{
    RDI_TRY(rdi_buf_put_u64(b, (uint64_t)n));
    return rdi_buf_append(b, s, n);
}

uint8_t *rdi_buf_detach(rdi_buf *b, size_t *len)
{
    uint8_t *p = b->data;
    if (len) *len = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}

void rdi_rd_init(rdi_rd *r, const void *p, size_t len, const char *what)
{
    r->p = p;
    r->len = len;
    r->pos = 0;
    r->what = what ? what : "data";
}

size_t rdi_rd_left(const rdi_rd *r) { return r->len - r->pos; }

static radi_status rd_need(rdi_rd *r, size_t n, const char *field)
{
    if (n > r->len - r->pos)
        return rdi_error(RADI_E_CORRUPT, "%s: truncated: %s needs %zu bytes at byte %zu, %zu left",
                         r->what, field, n, r->pos, r->len - r->pos);
    return RADI_OK;
}

radi_status rdi_rd_bytes(rdi_rd *r, void *dst, size_t n, const char *field)
{
    RDI_TRY(rd_need(r, n, field));
    if (n) memcpy(dst, r->p + r->pos, n);
    r->pos += n;
    return RADI_OK;
}

radi_status rdi_rd_view(rdi_rd *r, const uint8_t **dst, size_t n, const char *field)
{
    RDI_TRY(rd_need(r, n, field));
    *dst = r->p + r->pos;
    r->pos += n;
    return RADI_OK;
}

radi_status rdi_rd_u8(rdi_rd *r, uint8_t *v, const char *f) { return rdi_rd_bytes(r, v, 1, f); }
radi_status rdi_rd_u16(rdi_rd *r, uint16_t *v, const char *f) { return rdi_rd_bytes(r, v, 2, f); }
radi_status rdi_rd_u32(rdi_rd *r, uint32_t *v, const char *f) { return rdi_rd_bytes(r, v, 4, f); }
radi_status rdi_rd_u64(rdi_rd *r, uint64_t *v, const char *f) { return rdi_rd_bytes(r, v, 8, f); }
radi_status rdi_rd_i32(rdi_rd *r, int32_t *v, const char *f) { return rdi_rd_bytes(r, v, 4, f); }

static radi_status rd_str(rdi_rd *r, uint64_t n, char **dst, const char *field)
{
    const uint8_t *p;
    RDI_TRY(rd_need(r, n, field));
    RDI_TRY(rdi_rd_view(r, &p, (size_t)n, field));
    char *s = rdi_strndup((const char *)p, (size_t)n);
    if (!s) return RADI_E_NOMEM;
    *dst = s;
    return RADI_OK;
}

radi_status rdi_rd_str32(rdi_rd *r, char **dst, const char *field)
{
    uint32_t n;
    RDI_TRY(rdi_rd_u32(r, &n, field));
    return rd_str(r, n, dst, field);
}

radi_status rdi_rd_str64(rdi_rd *r, char **dst, size_t *len, const char *field)
{
    uint64_t n;
    RDI_TRY(rdi_rd_u64(r, &n, field));
    if (n > rdi_rd_left(r)) return rd_need(r, SIZE_MAX, field);
    RDI_TRY(rd_str(r, n, dst, field));
    if (len) *len = (size_t)n;
    return RADI_OK;
}

radi_status rdi_strlist_push_owned(rdi_strlist *l, char *s)
{
    if (!s) return RADI_E_NOMEM;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        char **p = realloc(l->items, cap * sizeof *p);
        if (!p) {
            free(s);
            return rdi_nomem();
        }
        l->items = p;
        l->cap = cap;
    }
    l->items[l->n++] = s;
    return RADI_OK;
}

radi_status rdi_strlist_push(rdi_strlist *l, const char *s)
{
    char *d = rdi_strdup(s);
    if (!d) return RADI_E_NOMEM;
    return rdi_strlist_push_owned(l, d);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void rdi_strlist_sort(rdi_strlist *l)
{
    if (l->n > 1) qsort(l->items, l->n, sizeof *l->items, cmp_str);
}

int rdi_strlist_has_sorted(const rdi_strlist *l, const char *s, size_t n)
{
    size_t lo = 0, hi = l->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const char *it = l->items[mid];
        size_t il = strlen(it);
        int c = memcmp(it, s, RDI_MIN(il, n));
        if (c == 0) c = il < n ? -1 : il > n ? 1 : 0;
        if (c == 0) return 1;
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return 0;
}

void rdi_strlist_free(rdi_strlist *l)
{
    for (size_t i = 0; i < l->n; i++) free(l->items[i]);
    free(l->items);
    l->items = NULL;
    l->n = l->cap = 0;
}

void rdi_msg_add(rdi_buf *m, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (k > 0) rdi_buf_append(m, tmp, RDI_MIN((size_t)k, sizeof tmp - 1));
}

const char *rdi_msg_text(rdi_buf *m)
{
    if (rdi_buf_put_u8(m, 0) != RADI_OK || !m->data) return "(message lost)";
    return (const char *)m->data;
}
