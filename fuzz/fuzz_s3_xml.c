/*
 * libFuzzer target: the S3 XML answers and bodies (src/vfs/s3/xml.c). The first byte
 * picks the code under test, the rest is its input:
 *   0 <Error>   1 ListObjectsV2   2 InitiateMultipartUpload and CopyPartResult   3 DeleteResult
 *   4 the builders: the rest split on '\n' into keys (and ETags); a body that builds
 *     must parse back as well-formed XML
 * Whatever the bytes, nothing may crash, leak or read out of bounds, and a successful
 * listing must be self-consistent.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "vfs/s3/xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_KEYS 1000

static void builders(const uint8_t *data, size_t size)
{
    /* NUL-terminated copy split into lines; a NUL byte ends its key early. */
    char *copy = malloc(size + 1);
    const char **keys = malloc(MAX_KEYS * sizeof *keys);
    if (!copy || !keys) goto done;
    memcpy(copy, data, size);
    copy[size] = '\0';
    size_t n = 0;
    char *p = copy;
    while (n < MAX_KEYS) {
        keys[n++] = p;
        char *nl = memchr(p, '\n', (size_t)(copy + size - p));
        if (!nl) break;
        *nl = '\0';
        p = nl + 1;
    }
    rdi_buf out = RDI_BUF_INIT;
    if (rdi_s3_xml_delete_objects(keys, n, &out) == RADI_OK) {
        /* A body radi built must be well-formed XML: the error parser reads it through
         * and finds no <Error> root. */
        if (rdi_s3_parse_error(out.data, out.len, NULL) != 0) abort();
        if (out.data[out.len] != '\0') abort();
    }
    if (rdi_s3_xml_complete_multipart(keys, n, &out) == RADI_OK) {
        if (rdi_s3_parse_error(out.data, out.len, NULL) != 0) abort();
    }
    rdi_buf_free(&out);
done:
    free(copy);
    free(keys);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) return 0;
    uint8_t which = data[0] % 5;
    data++;
    size--;
    switch (which) {
    case 0: {
        rdi_s3_error e;
        if (rdi_s3_parse_error(data, size, &e) == 0 && (e.code || e.message)) abort();
        rdi_s3_error_free(&e);
        break;
    }
    case 1: {
        rdi_s3_list_page p;
        if (rdi_s3_parse_list(data, size, &p) == RADI_OK) {
            for (size_t i = 0; i < p.keys.n; i++)
                if (!p.keys.items[i] || !p.sizes) abort();
            for (size_t i = 0; i < p.prefixes.n; i++)
                if (!p.prefixes.items[i]) abort();
            if (p.truncated != (p.next_token != NULL)) abort();
        }
        rdi_s3_list_page_free(&p);
        break;
    }
    case 2: { /* the two one-leaf answers share the byte */
        char *id = NULL;
        if (rdi_s3_parse_upload_id(data, size, &id) == RADI_OK && (!id || !*id)) abort();
        free(id);
        char *etag = NULL;
        if (rdi_s3_parse_copy_part(data, size, &etag) == RADI_OK && (!etag || !*etag)) abort();
        free(etag);
        break;
    }
    case 3: {
        rdi_strlist failed = RDI_STRLIST_INIT;
        (void)rdi_s3_parse_delete_result(data, size, &failed);
        rdi_strlist_free(&failed);
        break;
    }
    default: builders(data, size); break;
    }
    return 0;
}
