/*
 * Virtual file system: the only way the layers above touch storage. A backend is a
 * table of function pointers (as SQLite's VFS), chosen by URI scheme. The POSIX backend
 * handles plain paths and file:// URIs; an S3 backend and a fault-injecting test backend
 * implement the same table. All I/O is positional and whole-object writes are atomic
 * (temporary object + rename on POSIX; a single PUT/multipart completion on S3), which
 * is what makes commit-last writes all-or-nothing.
 */
#ifndef RDI_VFS_H
#define RDI_VFS_H

#include "core/core.h"

typedef struct rdi_vfs rdi_vfs;

typedef struct rdi_dirent {
    char *name;        /* entry name (no path) */
    int is_dir;
    uint64_t size;     /* files only */
} rdi_dirent;

typedef struct rdi_dirlist {
    rdi_dirent *items; /* sorted by name (byte order) */
    size_t n;
} rdi_dirlist;

/* One range of a vectored read: uri[off, off+len) into buf. `status` is set per range. */
typedef struct rdi_vfs_range {
    const char *uri;
    uint64_t off;
    uint64_t len;
    void *buf;
    radi_status status;
} rdi_vfs_range;

/* One object of a vectored write: the whole object uri := data[0, len). */
typedef struct rdi_vfs_wobj {
    const char *uri;
    const void *data;
    uint64_t len;
    radi_status status;
} rdi_vfs_wobj;

/* Backend properties (rdi_vfs_ops.flags). */
enum {
    /* Every call is a network round trip: callers batch (read_many, ls_recursive) and
     * avoid probing calls. */
    RDI_VFS_REMOTE = 1u << 0,
    /* No atomic rename: `move` copies then deletes, object by object. Writes of one
     * object are still atomic (a PUT or a multipart completion). */
    RDI_VFS_NO_RENAME = 1u << 1,
};

void rdi_dirlist_free(rdi_dirlist *l);

/* One backend. `self` is the backend's own state. URIs passed in are as the user gave
 * them (scheme included). Missing objects give RADI_E_NOT_FOUND. */
typedef struct rdi_vfs_ops {
    const char *name;
    /* Reads exactly len bytes at off; a short object is RADI_E_CORRUPT ("truncated"). */
    radi_status (*read)(void *self, const char *uri, uint64_t off, void *buf, uint64_t len);
    radi_status (*size)(void *self, const char *uri, uint64_t *size);
    /* Creates or replaces the whole object atomically. */
    radi_status (*write)(void *self, const char *uri, const void *data, uint64_t len);
    /* Lists a directory (prefix). A missing directory is an empty list, not an error. */
    radi_status (*ls)(void *self, const char *uri, rdi_dirlist *out);
    /* 0 = nothing, 1 = file, 2 = directory. */
    radi_status (*kind)(void *self, const char *uri, int *out);
    radi_status (*mkdir)(void *self, const char *uri);       /* with parents; no-op on S3 */
    radi_status (*remove_file)(void *self, const char *uri); /* missing is not an error */
    radi_status (*remove_dir)(void *self, const char *uri);  /* recursive */
    /* Renames a file or a directory tree; RADI_E_EXISTS if `to` exists. Atomic on POSIX
     * (rename(2)); an object store copies then deletes, so callers order their moves to
     * stay consistent at every step. */
    radi_status (*move)(void *self, const char *from, const char *to);
    void (*destroy)(void *self);
    /* ---- optional (NULL = the dispatcher emulates them with the calls above) ---- */
    unsigned flags;   /* RDI_VFS_* */
    /* Reads n ranges, in parallel where the backend can (S3: up to max_parallel_ops
     * requests in flight; neighbouring ranges of one object coalesced into one GET).
     * Sets every range's status; returns the first failure in range order, with its
     * message, or RADI_OK. */
    radi_status (*read_many)(void *self, rdi_vfs_range *r, size_t n);
    /* Lists every object below uri (the whole subtree, one S3 listing with paging):
     * names relative to uri with '/' separators, files only (is_dir 0) with sizes,
     * sorted by name. A missing prefix is an empty list. */
    radi_status (*ls_recursive)(void *self, const char *uri, rdi_dirlist *out);
    /* Copies one object to `to` (replaced if it exists) without moving its bytes through
     * the client where the backend can (S3: server-side CopyObject, or a multipart copy
     * for a big object). size: the source's size when the caller knows it (a listing
     * gave it; the source must not change meanwhile), else RDI_VFS_SIZE_UNKNOWN (S3
     * then asks with a HEAD). */
    radi_status (*copy)(void *self, const char *from, const char *to, uint64_t size);
    /* The writer lock named by uri (an object created for it): RADI_OK with *token, or
     * RADI_E_BUSY while another holder has it. A holder that dies releases it: the
     * POSIX lock is the kernel's (released with the process); on S3 it is a lease
     * object written with a conditional PUT (renewed while held; lease_ms 0 = the
     * backend's configured length), which others may take over once lease_ms
     * have passed. unlock releases it (token freed). */
    /* Writes n whole objects, in parallel where the backend can (S3: up to
     * max_parallel_ops PUTs in flight); each is atomic on its own, none is ordered
     * against another: callers publish (commit) after the call returns. Sets every
     * object's status; returns the first failure in order. */
    radi_status (*write_many)(void *self, rdi_vfs_wobj *w, size_t n);
    radi_status (*lock)(void *self, const char *uri, uint32_t lease_ms, void **token);
    radi_status (*unlock)(void *self, void *token);
    /* Removes the temporary objects killed writes left directly in the directory uri
     * (backends whose whole-object writes go through temporaries: POSIX). */
    radi_status (*remove_temps)(void *self, const char *uri);
} rdi_vfs_ops;

/* The dispatcher a context owns. */
radi_status rdi_vfs_create(rdi_vfs **out);
void rdi_vfs_free(rdi_vfs *vfs);
/* Replaces the backend for plain paths and file:// (tests insert the fault injector). */
radi_status rdi_vfs_set_local(rdi_vfs *vfs, const rdi_vfs_ops *ops, void *self);
/* Installs the backend for s3:// URIs (the context does, from its options); the
 * dispatcher destroys the previous one. */
radi_status rdi_vfs_set_s3(rdi_vfs *vfs, const rdi_vfs_ops *ops, void *self);
/* The backend that serves uri, for wrappers (the fault VFS) and for flags. */
radi_status rdi_vfs_backend(rdi_vfs *vfs, const char *uri, const rdi_vfs_ops **ops, void **self);
/* The backend flags for uri's scheme (0 for an unusable URI). */
unsigned rdi_vfs_flags(rdi_vfs *vfs, const char *uri);

radi_status rdi_vfs_read(rdi_vfs *vfs, const char *uri, uint64_t off, void *buf, uint64_t len);
radi_status rdi_vfs_size(rdi_vfs *vfs, const char *uri, uint64_t *size);
radi_status rdi_vfs_write(rdi_vfs *vfs, const char *uri, const void *data, uint64_t len);
radi_status rdi_vfs_ls(rdi_vfs *vfs, const char *uri, rdi_dirlist *out);
radi_status rdi_vfs_kind(rdi_vfs *vfs, const char *uri, int *out);
radi_status rdi_vfs_mkdir(rdi_vfs *vfs, const char *uri);
radi_status rdi_vfs_remove_file(rdi_vfs *vfs, const char *uri);
radi_status rdi_vfs_remove_dir(rdi_vfs *vfs, const char *uri);
radi_status rdi_vfs_move(rdi_vfs *vfs, const char *from, const char *to);
/* Copies the tree (or file) at src to dst, which must not exist: every file read whole
 * and written whole, so each copied file is all-or-nothing. */
radi_status rdi_vfs_copy_tree(rdi_vfs *vfs, const char *src, const char *dst);
radi_status rdi_vfs_read_many(rdi_vfs *vfs, rdi_vfs_range *r, size_t n);
/* See rdi_vfs_ops.remove_temps; a backend without temporaries: nothing to do. */
radi_status rdi_vfs_remove_temps(rdi_vfs *vfs, const char *uri);
/* A held writer lock (see rdi_vfs_ops.lock). */
typedef struct rdi_lock_hold {
    const rdi_vfs_ops *ops;
    void *self;
    void *token;
} rdi_lock_hold;
/* Takes the lock at uri, waiting up to wait_ms (polling) while another holder has it;
 * then RADI_E_BUSY naming uri. A backend without locks gives an unlocked success. */
radi_status rdi_vfs_lock(rdi_vfs *vfs, const char *uri, uint32_t lease_ms, uint32_t wait_ms, rdi_lock_hold *out);
/* Releases a lock taken by rdi_vfs_lock (a zeroed struct is a no-op). */
radi_status rdi_vfs_unlock(rdi_lock_hold *lock);
/* One object (not a tree); emulated by read + write where the backend has no copy. */
radi_status rdi_vfs_copy(rdi_vfs *vfs, const char *from, const char *to);
/* The same with the source's size known (see rdi_vfs_ops.copy): saves S3 a HEAD. */
#define RDI_VFS_SIZE_UNKNOWN UINT64_MAX
radi_status rdi_vfs_copy_sized(rdi_vfs *vfs, const char *from, const char *to, uint64_t size);
radi_status rdi_vfs_ls_recursive(rdi_vfs *vfs, const char *uri, rdi_dirlist *out);
/* Writes whole objects (see rdi_vfs_ops.write_many), one by one where the backend has
 * no vectored write. */
radi_status rdi_vfs_write_many(rdi_vfs *vfs, rdi_vfs_wobj *w, size_t n);
/* Reads a whole object into a fresh buffer; out->data is never NULL on success, even
 * for an empty object. */
radi_status rdi_vfs_read_all(rdi_vfs *vfs, const char *uri, rdi_buf *out);

/* Name prefix of the POSIX backend's temporary files (skipped by its listings). */
#define RDI_POSIX_TEMP_PREFIX ".radi-tmp-"

/* The POSIX backend's table. Its state is NULL (the default: durable) or a
 * rdi_posix_settings. With sync 0 (option vfs.posix.sync=false) no file or directory is
 * fsynced: writes stay atomic for every reader and under kill -9, but a power cut may
 * lose or zero what was written since the last sync the system made by itself. */
typedef struct rdi_posix_settings {
    int sync;
} rdi_posix_settings;
extern const rdi_vfs_ops rdi_vfs_posix_ops;

/* Converts "file:///a/b" or "a/b" to an absolute local path (malloc'd). */
char *rdi_local_path(const char *uri);
/* "file:///abs/path" for a local uri (malloc'd); other schemes are copied. */
char *rdi_absolute_uri(const char *uri);
/* The canonical name of uri as recorded in datasets (obs source_path), malloc'd (NULL
 * only when out of memory): a local path with symbolic links, "." and ".." resolved
 * (the path as given if it cannot be resolved); other schemes normalized. A name, not
 * an I/O call: it does not go through a replaced local backend. */
char *rdi_vfs_canonical(rdi_vfs *vfs, const char *uri);
/* The local half of it (posix.c): realpath(3) of a plain path or file:// URI. */
char *rdi_local_canonical(const char *uri);

#endif
