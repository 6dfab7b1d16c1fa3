/*
 * The S3 backend of the VFS: object storage over HTTP(S) with libcurl as the transport,
 * SigV4 signing of our own (sign.h, on OpenSSL's SHA-256/HMAC) and expat for the XML
 * answers (xml.h). It implements rdi_vfs_ops for s3://bucket/key URIs:
 *   read        ranged GET (retried; a short body is retried, never returned)
 *   read_many   up to max_parallel_ops GETs in flight (curl multi); neighbouring ranges
 *               of one object coalesced into one GET, a large range split into parts
 *   size        HEAD
 *   write       one PUT, or a multipart upload above part_size (parts in parallel,
 *               aborted on failure; a 200 answer with an <Error> body is an error)
 *   ls          ListObjectsV2 with delimiter '/' and paging: CommonPrefixes are
 *               directories, Contents are files; the key equal to the prefix itself
 *               (a "directory marker") is skipped
 *   ls_recursive ListObjectsV2 without delimiter, paged
 *   kind        HEAD of the key (file), else a 1-key listing of "key/" (directory)
 *   mkdir       nothing (object stores have no directories)
 *   remove_file DELETE (missing is not an error)
 *   remove_dir  listing + DeleteObjects in batches of 1000
 *   move        server-side copy of every object, then deletes (not atomic:
 *               callers order moves; docs/dataset.md states the S3 protocol). An object
 *               up to multipart_copy_threshold is one CopyObject; a larger one is a
 *               multipart upload of UploadPartCopy parts of part_size (s3_copy.c), all
 *               parts and small copies of a move in flight together, aborted on failure
 *   copy        the same for one object (a HEAD first for its size, unless the caller
 *               gives it: rdi_vfs_copy_sized, as dataset moves do from their listing)
 * Errors name the operation, the bucket/key, the HTTP status and the S3 error code,
 * never a credential.
 */
#ifndef RDI_VFS_S3_H
#define RDI_VFS_S3_H

#include "vfs/vfs.h"

/* Every setting of the backend. Strings are malloc'd and owned by the struct. */
typedef struct rdi_s3_config {
    char *region;             /* default "us-east-1" */
    char *endpoint;           /* host[:port] without scheme; NULL = AWS (s3.<region>.amazonaws.com) */
    char *scheme;             /* "https" (default) or "http" */
    int use_virtual_addressing; /* 1: bucket.host/key; 0: host/bucket/key (default 0 with an
                                 * endpoint, 1 for AWS) ; -1 = not set (pick by endpoint) */
    uint32_t max_parallel_ops;  /* requests in flight in the whole backend; default 8 */
    uint64_t multipart_part_size; /* bytes; default 50 MiB; minimum 5 MiB */
    uint64_t multipart_copy_threshold; /* bytes; an object larger than this is copied by
                                        * UploadPartCopy parts, not one CopyObject (which
                                        * AWS refuses above 5 GiB); default 5 GiB, 5 MiB..5 GiB */
    uint32_t connect_timeout_ms;  /* default 3000 */
    uint32_t request_timeout_ms;  /* whole request; default 30000 (a stalled transfer
                                   * also fails after this long without progress) */
    uint32_t max_retries;         /* default 5 */
    uint32_t lock_lease_ms;       /* a writer lock's lease, renewed every third of it while
                                   * held; a crashed holder blocks others at most this long;
                                   * default 30000 */
    int verify_ssl;               /* default 1 */
    char *ca_file;                /* PEM bundle; NULL = the system's */
    char *access_key_id;          /* NULL with no secret = anonymous (unsigned) requests */
    char *secret_access_key;      /* never printed */
    char *session_token;          /* never printed */
    char *profile;                /* shared-file profile; default AWS_PROFILE or "default" */
    int use_environment;          /* default 1: fill unset fields from AWS_* and ~/.aws */
    /* Set by the resolution when a setting is unusable (an unreadable credentials file,
     * a bad AWS_ENDPOINT_URL): reported by the first S3 call, so that a broken S3 setup
     * never stops local work. */
    char *deferred_error;
} rdi_s3_config;

void rdi_s3_config_init(rdi_s3_config *c);
void rdi_s3_config_free(rdi_s3_config *c);
radi_status rdi_s3_config_copy(const rdi_s3_config *src, rdi_s3_config *dst);

/* Sets one option by the name after "vfs.s3." (region, endpoint, scheme,
 * use_virtual_addressing, max_parallel_ops, multipart_part_size (bytes),
 * multipart_part_size_mb, multipart_copy_threshold (bytes), connect_timeout_ms, request_timeout_ms, max_retries,
 * verify_ssl, ca_file, aws_access_key_id, aws_secret_access_key, aws_session_token,
 * profile, use_environment). The value is checked (numbers, booleans "true/false/1/0");
 * an endpoint given as a URL ("http://127.0.0.1:9000") also sets the scheme. Unknown
 * names and bad values are RADI_E_INVALID with the name (never a secret value) in the
 * message. value NULL restores the default. */
radi_status rdi_s3_config_set(rdi_s3_config *c, const char *name, const char *value);
/* Whether `name` (after "vfs.s3.") holds a secret that must never be shown. */
int rdi_s3_config_is_secret(const char *name);

/* Fills fields that are still unset from the environment: AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION / AWS_DEFAULT_REGION,
 * AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL, AWS_PROFILE, and the shared files
 * (AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials, AWS_CONFIG_FILE or ~/.aws/config;
 * read through `local`, the POSIX backend). Explicit settings always win. Problems go to
 * c->deferred_error, not to the status (RADI_OK unless out of memory). */
radi_status rdi_s3_config_resolve(rdi_s3_config *c, const rdi_vfs_ops *local, void *local_self);

/* The backend. *self is destroyed through rdi_vfs_s3_ops.destroy. The config is copied. */
radi_status rdi_s3_create(const rdi_s3_config *c, void **self);
extern const rdi_vfs_ops rdi_vfs_s3_ops;

/* Request counters of a backend (for tests and benchmarks; never reset). */
typedef struct rdi_s3_stats {
    uint64_t requests;   /* HTTP requests sent, retries included */
    uint64_t retries;
    uint64_t bytes_in;
    uint64_t bytes_out;
} rdi_s3_stats;
void rdi_s3_get_stats(void *self, rdi_s3_stats *out);

#endif
