/* The decoded-tile cache (tile_cache.h): a chained hash table of entries threaded on one
 * recency list, all under one mutex. Lookups are short (a hash, a string compare), the
 * decoding they save is ~1 ms a tile, so one lock is not the bottleneck. */
#include <pthread.h>
#include <stdlib.h>

#include "core/tile_cache.h"

struct rdi_tile_entry {
    rdi_tile_entry *next_hash;
    rdi_tile_entry *prev, *next; /* recency list, most recent at head */
    uint64_t hash, index, size;
    uint8_t *data;
    uint32_t pins;
    int linked;                  /* in the table and the list (0: evicted while pinned) */
    char file[];
};

struct rdi_tile_cache {
    pthread_mutex_t lock;
    uint64_t capacity, bytes;    /* bytes: held by linked entries */
    rdi_tile_entry **buckets;
    size_t nbuckets, n;
    rdi_tile_entry *head, *tail;
    /* The doorkeeper: hashes of keys offered once, direct-mapped (a collision forgets
     * the older key, which costs one more partial decode), sized at the first offer. */
    uint64_t *seen;
    size_t nseen;
};

static uint64_t key_hash(const char *file, uint64_t index)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)file; *p; p++) h = (h ^ *p) * 1099511628211ull;
    for (int i = 0; i < 8; i++) h = (h ^ ((index >> (8 * i)) & 0xff)) * 1099511628211ull;
    return h;
}

radi_status rdi_tile_cache_create(uint64_t capacity, rdi_tile_cache **out)
{
    rdi_tile_cache *c = rdi_calloc(1, sizeof *c);
    if (!c) return RADI_E_NOMEM;
    c->nbuckets = 256;
    c->buckets = rdi_calloc(c->nbuckets, sizeof *c->buckets);
    if (!c->buckets || pthread_mutex_init(&c->lock, NULL) != 0) {
        free(c->buckets);
        free(c);
        return rdi_nomem();
    }
    c->capacity = capacity;
    *out = c;
    return RADI_OK;
}

static void entry_free(rdi_tile_entry *e)
{
    free(e->data);
    free(e);
}

void rdi_tile_cache_free(rdi_tile_cache *c)
{
    if (!c) return;
    for (rdi_tile_entry *e = c->head, *nx; e; e = nx) {
        nx = e->next;
        entry_free(e);
    }
    free(c->buckets);
    free(c->seen);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

int rdi_tile_cache_fits(const rdi_tile_cache *c, uint64_t size) { return c && size <= c->capacity; }

static void list_unlink(rdi_tile_cache *c, rdi_tile_entry *e)
{
    if (e->prev) e->prev->next = e->next;
    else c->head = e->next;
    if (e->next) e->next->prev = e->prev;
    else c->tail = e->prev;
    e->prev = e->next = NULL;
}

static void list_push_front(rdi_tile_cache *c, rdi_tile_entry *e)
{
    e->prev = NULL;
    e->next = c->head;
    if (c->head) c->head->prev = e;
    c->head = e;
    if (!c->tail) c->tail = e;
}

/* Takes e out of the table and the list; frees it unless pinned (then its last release does). */
static void evict(rdi_tile_cache *c, rdi_tile_entry *e)
{
    rdi_tile_entry **pp = &c->buckets[e->hash % c->nbuckets];
    while (*pp != e) pp = &(*pp)->next_hash;
    *pp = e->next_hash;
    list_unlink(c, e);
    e->linked = 0;
    c->bytes -= e->size;
    c->n--;
    if (!e->pins) entry_free(e);
}

static rdi_tile_entry *find(const rdi_tile_cache *c, uint64_t h, const char *file, uint64_t index)
{
    for (rdi_tile_entry *e = c->buckets[h % c->nbuckets]; e; e = e->next_hash)
        if (e->hash == h && e->index == index && !strcmp(e->file, file)) return e;
    return NULL;
}

/* Doubles the table when it holds more entries than buckets (a failed grow only makes
 * chains longer). */
static void grow(rdi_tile_cache *c)
{
    if (c->n <= c->nbuckets) return;
    size_t nb = c->nbuckets * 2;
    rdi_tile_entry **b = calloc(nb, sizeof *b);
    if (!b) return;
    for (size_t i = 0; i < c->nbuckets; i++)
        for (rdi_tile_entry *e = c->buckets[i], *nx; e; e = nx) {
            nx = e->next_hash;
            e->next_hash = b[e->hash % nb];
            b[e->hash % nb] = e;
        }
    free(c->buckets);
    c->buckets = b;
    c->nbuckets = nb;
}

int rdi_tile_cache_admit(rdi_tile_cache *c, const char *file, uint64_t index, uint64_t size)
{
    uint64_t h = key_hash(file, index) | 1; /* 0 marks an empty slot */
    int again = 1;                          /* without a doorkeeper (no memory): admit */
    pthread_mutex_lock(&c->lock);
    if (!c->seen) {
        uint64_t n = 2 * (c->capacity / (size ? size : 1));
        c->nseen = (size_t)RDI_MIN(RDI_MAX(n, (uint64_t)64), (uint64_t)1 << 20);
        c->seen = calloc(c->nseen, sizeof *c->seen);
    }
    if (c->seen) {
        uint64_t *slot = &c->seen[h % c->nseen];
        again = *slot == h;
        *slot = again ? 0 : h; /* an admitted key leaves the doorkeeper */
    }
    pthread_mutex_unlock(&c->lock);
    return again;
}

rdi_tile_entry *rdi_tile_cache_get(rdi_tile_cache *c, const char *file, uint64_t index, uint64_t size)
{
    uint64_t h = key_hash(file, index);
    pthread_mutex_lock(&c->lock);
    rdi_tile_entry *e = find(c, h, file, index);
    if (e && e->size == size) {
        e->pins++;
        list_unlink(c, e);
        list_push_front(c, e);
    } else {
        e = NULL;
    }
    pthread_mutex_unlock(&c->lock);
    return e;
}

rdi_tile_entry *rdi_tile_cache_put(rdi_tile_cache *c, const char *file, uint64_t index, uint8_t *data,
                                   uint64_t size)
{
    uint64_t h = key_hash(file, index);
    size_t flen = strlen(file);
    rdi_tile_entry *e = rdi_malloc(sizeof *e + flen + 1);
    if (!e) {
        free(data);
        return NULL;
    }
    *e = (rdi_tile_entry){NULL, NULL, NULL, h, index, size, data, 1, 1};
    memcpy(e->file, file, flen + 1);
    pthread_mutex_lock(&c->lock);
    rdi_tile_entry *old = find(c, h, file, index);
    if (old && old->size == size) { /* a concurrent reader decoded it first */
        old->pins++;
        list_unlink(c, old);
        list_push_front(c, old);
        pthread_mutex_unlock(&c->lock);
        entry_free(e);
        return old;
    }
    if (old) evict(c, old);
    while (c->tail && c->bytes + size > c->capacity) evict(c, c->tail);
    e->next_hash = c->buckets[h % c->nbuckets];
    c->buckets[h % c->nbuckets] = e;
    list_push_front(c, e);
    c->bytes += size;
    c->n++;
    grow(c);
    pthread_mutex_unlock(&c->lock);
    return e;
}

const uint8_t *rdi_tile_entry_data(const rdi_tile_entry *e) { return e->data; }

void rdi_tile_cache_release(rdi_tile_cache *c, rdi_tile_entry *e)
{
    if (!e) return;
    pthread_mutex_lock(&c->lock);
    int drop = --e->pins == 0 && !e->linked;
    pthread_mutex_unlock(&c->lock);
    if (drop) entry_free(e);
}
