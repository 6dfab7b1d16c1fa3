/*
 * Private to the S3 backend's files (s3.c: URIs, listings, kind, removal, moves;
 * s3_rw.c: reads, vectored reads, writes and multipart uploads): the backend state and
 * the helpers both halves use.
 */
#ifndef RDI_VFS_S3_INT_H
#define RDI_VFS_S3_INT_H

#include "vfs/s3/http.h"
#include "vfs/s3/s3.h"

typedef struct rdi_s3 {
    rdi_s3_config cfg;
    rdi_http *http;
    uint64_t part_size;   /* effective multipart part size (>= 5 MiB) */
} rdi_s3;

/* Splits "s3://bucket/a//b/" into "bucket" and "a/b" (both malloc'd; the key may be "").
 * An empty or invalid bucket name is RADI_E_INVALID naming the URI. */
radi_status rdi_s3_split(const char *uri, char **bucket, char **key);
/* The error resolution left for the first S3 call, if any. */
radi_status rdi_s3_ready(rdi_s3 *s);

radi_status rdi_s3_read(void *self, const char *uri, uint64_t off, void *buf, uint64_t len);
radi_status rdi_s3_read_many(void *self, rdi_vfs_range *r, size_t n);
radi_status rdi_s3_write(void *self, const char *uri, const void *data, uint64_t len);
radi_status rdi_s3_write_many(void *self, rdi_vfs_wobj *w, size_t n);
/* s3_lock.c: the writer lease (rdi_vfs_ops.lock / unlock). */
radi_status rdi_s3_lock(void *self, const char *uri, uint32_t lease_ms, void **token);
radi_status rdi_s3_unlock(void *self, void *token);

#endif
