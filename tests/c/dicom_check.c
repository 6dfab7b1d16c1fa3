/*
 * dicom_check FILE...: parses each file with radi's DICOM parser and prints one JSON line
 * per file - the transfer syntax, UIDs, image format, and per frame the geometry, the
 * rescale and the frame's encoded bytes (length and CRC-32, for comparison with pydicom
 * in tests/python/test_dicom_parse.py), or the error. Exit status 0 unless a file cannot
 * be read at all.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <zlib.h>

#include "core/core.h"
#include "io/dicom/dicom.h"

static void jstr(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') printf("\\%c", c);
        else if (c < 0x20 || c >= 0x7F) printf("\\u%04x", c);
        else putchar(c);
    }
    putchar('"');
}

static void jnum(double v)
{
    if (isfinite(v)) printf("%.17g", v);
    else printf("null");
}

static void jarr(const double *v, int n, int present)
{
    if (!present) {
        printf("null");
        return;
    }
    putchar('[');
    for (int i = 0; i < n; i++) {
        if (i) putchar(',');
        jnum(v[i]);
    }
    putchar(']');
}

#define KS(name, field) printf(",\"" name "\":"), jstr(info->field)
#define KI(name, v) printf(",\"" name "\":%lld", (long long)(v))
#define KD(name, v) printf(",\"" name "\":"), jnum(v)

static void print_info(const rdi_dcm_info *info)
{
    printf("\"ok\":true");
    KI("ts", info->ts);
    KS("ts_uid", ts_uid);
    KS("sop_class_uid", sop_class_uid);
    KS("sop_instance_uid", sop_instance_uid);
    KS("study_uid", study_uid);
    KS("series_uid", series_uid);
    KS("frame_of_reference_uid", frame_of_reference_uid);
    KS("modality", modality);
    KS("photometric", photometric);
    KS("image_type", image_type);
    KS("rescale_type", rescale_type);
    KI("series_number", info->series_number);
    KI("rows", info->rows);
    KI("cols", info->cols);
    KI("samples_per_pixel", info->samples_per_pixel);
    KI("bits_allocated", info->bits_allocated);
    KI("bits_stored", info->bits_stored);
    KI("high_bit", info->high_bit);
    KI("pixel_representation", info->pixel_representation);
    KI("nframes", info->nframes);
    KD("slice_thickness", info->slice_thickness);
    KD("philips_scale_slope", info->philips_scale_slope);
    KI("mosaic", info->mosaic);
    KI("enhanced", info->enhanced);
    KI("has_pixels", info->has_pixels);
    KI("encapsulated", info->encapsulated);
    KI("nfrags", info->nfrags);
    printf(",\"frames\":[");
    rdi_buf scratch = RDI_BUF_INIT;
    for (uint32_t k = 0; k < info->nframes; k++) {
        const rdi_dcm_frame *f = &info->frames[k];
        printf("%s{\"ipp\":", k ? "," : "");
        jarr(f->ipp, 3, f->has_ipp);
        printf(",\"iop\":");
        jarr(f->iop, 6, f->has_iop);
        printf(",\"spacing\":");
        jarr(f->spacing, 2, f->has_spacing);
        KD("slope", f->slope);
        KD("intercept", f->intercept);
        KI("temporal", f->temporal_position);
        KI("instance", f->instance_number);
        if (info->has_pixels) {
            const uint8_t *p = NULL;
            size_t n = 0;
            if (rdi_dcm_frame_bytes(info, k, &scratch, &p, &n) == RADI_OK) {
                uLong crc = crc32(0L, Z_NULL, 0);
                for (size_t at = 0; at < n;) { /* crc32 takes a 32-bit length */
                    size_t chunk = RDI_MIN(n - at, (size_t)1 << 30);
                    crc = crc32(crc, p + at, (uInt)chunk);
                    at += chunk;
                }
                KI("len", n);
                KI("crc", crc);
            } else {
                printf(",\"frame_error\":");
                jstr(radi_errmsg());
            }
        }
        putchar('}');
    }
    putchar(']');
    rdi_buf_free(&scratch);
}

int main(int argc, char **argv)
{
    int rc = 0;
    for (int i = 1; i < argc; i++) {
        FILE *fp = fopen(argv[i], "rb");
        uint8_t *buf = NULL;
        long n = -1;
        if (fp && fseek(fp, 0, SEEK_END) == 0 && (n = ftell(fp)) >= 0 && fseek(fp, 0, SEEK_SET) == 0) {
            buf = malloc((size_t)n + 1);
            if (buf && fread(buf, 1, (size_t)n, fp) != (size_t)n) n = -1;
        }
        if (fp) fclose(fp);
        printf("{\"file\":");
        jstr(argv[i]);
        if (!buf || n < 0) {
            printf(",\"ok\":false,\"status\":\"read\",\"error\":\"cannot read the file\"}\n");
            free(buf);
            rc = 1;
            continue;
        }
        rdi_dcm_info *info = NULL;
        radi_status st = rdi_dcm_parse(buf, (size_t)n, argv[i], &info);
        if (st == RADI_OK) {
            putchar(',');
            print_info(info);
        } else {
            printf(",\"ok\":false,\"status\":\"%s\",\"error\":", radi_status_name(st));
            jstr(radi_errmsg());
        }
        printf(",\"probe\":%d}\n", rdi_dcm_probe(buf, (size_t)n));
        rdi_dcm_info_free(info);
        free(buf);
        fflush(stdout);
    }
    return rc;
}
