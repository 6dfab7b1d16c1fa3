/*
 * Private to the S3 backend's files (s3.c: URIs, listings, kind, removal, moves;
 * s3_rw.c: reads, vectored reads, writes and multipart uploads; s3_copy.c: server-side
 * copies, multipart above a threshold): the backend state and the helpers they share.
 */
#ifndef RDI_VFS_S3_INT_H
#define RDI_VFS_S3_INT_H

#include "vfs/s3/http.h"
#include "vfs/s3/s3.h"

typedef struct rdi_s3 {
    rdi_s3_config cfg;
    rdi_http *http;
    uint64_t part_size;   /* effective multipart part size (>= 5 MiB) */
    uint64_t copy_threshold; /* effective multipart_copy_threshold */
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
/* Multipart uploads (s3_rw.c), shared by writes and big copies (s3_copy.c). eid is the
 * URL-encoded upload id. */
/* The part size for an object of len bytes: part_size, doubled until S3's limit of
 * 10000 parts holds. */
uint64_t rdi_s3_part_size_for(const rdi_s3 *s, uint64_t len);
/* CreateMultipartUpload; *eid is malloc'd. */
radi_status rdi_s3_create_upload(rdi_s3 *s, const char *bucket, const char *key, char **eid);
/* CompleteMultipartUpload of parts whose ETags are etags[0..np), len bytes in all. A
 * retried Complete answering NoSuchUpload is a success when the object has our size and
 * a multipart ETag of np parts (the lost answer was a success). */
radi_status rdi_s3_complete_upload(rdi_s3 *s, const char *bucket, const char *key, const char *eid,
                                   const char *const *etags, size_t np, uint64_t len);
/* AbortMultipartUpload (a missing upload is not an error). */
radi_status rdi_s3_abort_upload(rdi_s3 *s, const char *bucket, const char *key, const char *eid);
/* s3.c: deletes keys with DeleteObjects batches in parallel; `what` names the directory
 * in messages. */
radi_status rdi_s3_delete_keys(rdi_s3 *s, const char *bucket, char *const *keys, size_t n, const char *what);
/* s3_copy.c: server-side copies of src[i] (fb, sizes[i] bytes) to dst[i] (tb), all in
 * flight together: an object up to cfg.multipart_copy_threshold is one CopyObject, a
 * larger one a multipart upload of UploadPartCopy parts. On failure every copy made is
 * deleted and every upload aborted; the first failure is the status and message. */
radi_status rdi_s3_copy_objects(rdi_s3 *s, const char *fb, char *const *src, const uint64_t *sizes, const char *tb,
                                char *const *dst, size_t n);
/* s3_lock.c: the writer lease (rdi_vfs_ops.lock / unlock). */
radi_status rdi_s3_lock(void *self, const char *uri, uint32_t lease_ms, void **token);
radi_status rdi_s3_unlock(void *self, void *token);

#endif
