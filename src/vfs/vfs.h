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
} rdi_vfs_ops;

/* The dispatcher a context owns. */
radi_status rdi_vfs_create(rdi_vfs **out);
void rdi_vfs_free(rdi_vfs *vfs);
/* Replaces the backend for plain paths and file:// (tests insert the fault injector). */
radi_status rdi_vfs_set_local(rdi_vfs *vfs, const rdi_vfs_ops *ops, void *self);

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
/* Reads a whole object into a fresh buffer. */
radi_status rdi_vfs_read_all(rdi_vfs *vfs, const char *uri, rdi_buf *out);

/* The POSIX backend's table (state pointer is unused: pass NULL). */
extern const rdi_vfs_ops rdi_vfs_posix_ops;

/* Converts "file:///a/b" or "a/b" to an absolute local path (malloc'd). */
char *rdi_local_path(const char *uri);
/* "file:///abs/path" for a local uri (malloc'd); other schemes are copied. */
char *rdi_absolute_uri(const char *uri);

#endif
