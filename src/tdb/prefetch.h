/*
 * The prefix snapshot of an open array (internal): one recursive listing of the array's
 * prefix, then one wave of parallel reads fetching the small files that opening needs
 * (schemas, commit files with content, consolidated fragment metadata, array metadata,
 * fragment metadata), kept in memory for the handle's life. Listings, kinds, sizes and
 * reads of those files are answered from it, so an open costs two sequential round trips
 * on an object store instead of several per fragment (docs/format.md §1).
 *
 * Every function taking a snapshot accepts NULL and then goes to storage, so the readers
 * have one code path whether or not the open took a snapshot. A snapshot is immutable
 * after rdi_snap_open returns: concurrent readers need no lock.
 */
#ifndef RDI_TDB_PREFETCH_H
#define RDI_TDB_PREFETCH_H

#include "ctx/ctx.h"
#include "vfs/vfs.h"

typedef struct rdi_snap_file {
    char *name;          /* relative to the root, '/'-separated */
    uint64_t size;
    uint8_t *data;       /* cached bytes [off, off + len) of the file; NULL = not cached */
    uint64_t off, len;
} rdi_snap_file;

typedef struct rdi_snap {
    char *root;          /* the normalized array URI */
    size_t root_len;
    rdi_snap_file *files;  /* sorted by name */
    size_t n;
    int remote;          /* the backend is RDI_VFS_REMOTE */
    uint64_t cached;     /* bytes held */
} rdi_snap;

/* Lists root recursively and fetches, in one wave, what an array open reads (see
 * prefetch.c for the selection and its caps). An empty or missing prefix gives an empty
 * snapshot (the caller decides that it is not an array). */
radi_status rdi_snap_open(radi_ctx *ctx, const char *root, rdi_snap **out);
void rdi_snap_free(rdi_snap *s);
/* A snapshot of only the given folders below root (e.g. "__group", "__meta"; "" = the
 * root's own files, one level), listed in parallel, then fetched in one wave with the
 * same selection: what a group open reads, without listing its members' trees. */
radi_status rdi_snap_open_dirs(radi_ctx *ctx, const char *root, const char *const *dirs, size_t ndirs,
                               rdi_snap **out);

/* Whether opens of uri take a snapshot (see the decision in prefetch.c). */
int rdi_snap_wanted(radi_ctx *ctx, const char *uri);

/* The snapshot's entry for uri (a full URI below the root), or NULL. */
const rdi_snap_file *rdi_snap_find(const rdi_snap *s, const char *uri);

/* Storage calls answered from the snapshot when uri lies below its root (a listing of a
 * directory the snapshot saw nothing in is empty, as on storage); otherwise passed on to
 * the VFS. Reads of uncached bytes go to storage. */
radi_status rdi_snap_ls(const rdi_snap *s, rdi_vfs *vfs, const char *dir, rdi_dirlist *out);
radi_status rdi_snap_size(const rdi_snap *s, rdi_vfs *vfs, const char *uri, uint64_t *size);
radi_status rdi_snap_read(const rdi_snap *s, rdi_vfs *vfs, const char *uri, uint64_t off, void *buf,
                          uint64_t len);
radi_status rdi_snap_read_all(const rdi_snap *s, rdi_vfs *vfs, const char *uri, rdi_buf *out);
/* The cached bytes [off, off + len) of uri without a copy, or NULL when not all cached. */
const uint8_t *rdi_snap_view(const rdi_snap *s, const char *uri, uint64_t off, uint64_t len);
/* Bytes of every file below dir (a fragment's size), from the listing. */
uint64_t rdi_snap_dir_bytes(const rdi_snap *s, const char *dir);

/* Reads n ranges as one wave: through rdi_vfs_read_many (one call) on a remote backend,
 * else on the context's pool (local reads gain nothing from the serial emulation). */
radi_status rdi_read_ranges(radi_ctx *ctx, int remote, rdi_vfs_range *r, size_t n);

/* A set of byte ranges fetched in one wave and looked up by (uri, offset): a reader
 * that decodes tile by tile on the pool collects its ranges first, so a remote backend
 * sees one vectored read instead of one blocking read per task. */
typedef struct rdi_rcache_ent {
    char *uri;
    uint64_t off, len;
    const uint8_t *data;   /* into the arena, once fetched */
} rdi_rcache_ent;

typedef struct rdi_rcache {
    rdi_rcache_ent *e;     /* sorted by (uri, off) once fetched */
    size_t n, cap;
    uint64_t bytes;        /* sum of the ranges' lengths */
    uint8_t *arena;
} rdi_rcache;

/* Adds uri[off, off + len) (uri is copied; repeats are merged when fetching). */
radi_status rdi_rcache_add(rdi_rcache *c, const char *uri, uint64_t off, uint64_t len);
/* Fetches every range with one rdi_vfs_read_many call. */
radi_status rdi_rcache_fetch(radi_ctx *ctx, rdi_rcache *c);
/* The fetched bytes of exactly that range, or NULL. */
const uint8_t *rdi_rcache_get(const rdi_rcache *c, const char *uri, uint64_t off, uint64_t len);
void rdi_rcache_free(rdi_rcache *c);

#endif
