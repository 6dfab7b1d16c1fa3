/*
 * The S3 XML answers radi reads, parsed with expat from the whole response body
 * (bodies of these calls are small: a listing page is at most 1000 keys). Every parser
 * is bounded (a body over 64 MiB or nested deeper than 32 elements is refused) and
 * fuzzed (fuzz/fuzz_s3_xml.c).
 */
#ifndef RDI_VFS_S3_XML_H
#define RDI_VFS_S3_XML_H

#include "core/core.h"

/* <Error><Code>..</Code><Message>..</Message></Error>: fields malloc'd (NULL if absent). */
typedef struct rdi_s3_error {
    char *code;
    char *message;
} rdi_s3_error;
/* Returns 1 and fills *err when the body is an <Error> document, 0 when it is not (or is
 * not XML at all). A document cut short after <Error> opened still counts, with the
 * fields seen. err may be NULL. The thread's error message is left as it was. */
int rdi_s3_parse_error(const void *body, size_t len, rdi_s3_error *err);
void rdi_s3_error_free(rdi_s3_error *err);

/* One page of ListObjectsV2. Keys and prefixes are full keys, URL-decoded when the
 * answer says EncodingType=url. */
typedef struct rdi_s3_list_page {
    rdi_strlist keys;         /* Contents/Key, in answer order */
    uint64_t *sizes;          /* Contents/Size, one per key */
    rdi_strlist prefixes;     /* CommonPrefixes/Prefix */
    int truncated;            /* IsTruncated */
    char *next_token;         /* NextContinuationToken (NULL when not truncated) */
} rdi_s3_list_page;
/* For this and the two parsers below: an <Error> document (S3 can answer 200 with one)
 * is RADI_E_IO naming its Code and Message; malformed XML, another root element, a bad
 * Size or IsTruncated, a truncated page without NextContinuationToken, a DTD, or a
 * bound exceeded (text of one element over 64 KiB) is RADI_E_CORRUPT. On failure *out
 * is empty. */
radi_status rdi_s3_parse_list(const void *body, size_t len, rdi_s3_list_page *out);
void rdi_s3_list_page_free(rdi_s3_list_page *p);

/* InitiateMultipartUploadResult/UploadId (malloc'd). */
radi_status rdi_s3_parse_upload_id(const void *body, size_t len, char **upload_id);

/* CopyPartResult/ETag of an UploadPartCopy (malloc'd, as sent: quotes kept; the
 * entity-escaped &quot; of AWS's answers is decoded by the parser). */
radi_status rdi_s3_parse_copy_part(const void *body, size_t len, char **etag);

/* DeleteResult: the keys that failed (<Error><Key>, with their Code), malloc'd
 * "key (Code)" strings; an empty list means every key was deleted. */
radi_status rdi_s3_parse_delete_result(const void *body, size_t len, rdi_strlist *failed);

/* The XML bodies radi sends (malloc'd, in out). out's previous content is replaced; the
 * body is out->len bytes, with a NUL after it (not counted). Keys and ETags are
 * XML-escaped; one XML 1.0 cannot carry (invalid UTF-8, control characters other than
 * tab/CR/LF) or an empty one is RADI_E_INVALID, as is a count outside 1..1000 keys
 * (S3's limit per DeleteObjects) or 1..10000 parts. */
radi_status rdi_s3_xml_delete_objects(const char *const *keys, size_t n, rdi_buf *out);
radi_status rdi_s3_xml_complete_multipart(const char *const *etags, size_t n_parts, rdi_buf *out);

#endif
