/* Clock, randomness, TileDB labels, paths. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>
#include <time.h>

#include "core/core.h"

uint64_t rdi_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void rdi_wait_for_clock(uint64_t t)
{
    uint64_t now = rdi_now_ms();
    while (now < t && t - now <= 1000) {
        struct timespec ts = {0, 200000};
        nanosleep(&ts, NULL);
        now = rdi_now_ms();
    }
}

void rdi_sleep_ms(uint32_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

double rdi_monotonic_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

radi_status rdi_random_bytes(void *buf, size_t n)
{
    uint8_t *p = buf;
    while (n > 0) {
        ssize_t got = getrandom(p, n, 0);
        if (got < 0) {
            if (errno == EINTR) continue;
            return rdi_error(RADI_E_IO, "getrandom failed: %s", strerror(errno));
        }
        p += got;
        n -= (size_t)got;
    }
    return RADI_OK;
}

radi_status rdi_random_label(char out[33])
{
    static const char hex[] = "0123456789abcdef";
    uint8_t r[16];
    RDI_TRY(rdi_random_bytes(r, sizeof r));
    for (int i = 0; i < 16; i++) {
        out[2 * i] = hex[r[i] >> 4];
        out[2 * i + 1] = hex[r[i] & 15];
    }
    out[32] = '\0';
    return RADI_OK;
}

char *rdi_path_join(const char *base, const char *child)
{
    size_t bl = strlen(base);
    while (bl > 1 && base[bl - 1] == '/') bl--;
    while (*child == '/') child++;
    return rdi_asprintf("%.*s/%s", (int)bl, base, child);
}

const char *rdi_path_basename(const char *uri, size_t *len)
{
    size_t n = strlen(uri);
    while (n > 1 && uri[n - 1] == '/') n--;
    size_t start = n;
    while (start > 0 && uri[start - 1] != '/') start--;
    if (len) *len = n - start;
    return uri + start;
}

char *rdi_uri_normalize(const char *uri)
{
    size_t n = strlen(uri);
    while (n > 1 && uri[n - 1] == '/') n--;
    return rdi_strndup(uri, n);
}

/* ---------------------------------------------------------- Python reprs -- */

/* Python's repr of a float (shortest round trip; fixed between 1e-4 and 1e16), which is
 * what 0.1.1 writes through str() and json.dumps. */
void rdi_py_float(char *out, size_t cap, double v)
{
    if (isnan(v)) { snprintf(out, cap, "NaN"); return; }
    if (isinf(v)) { snprintf(out, cap, v < 0 ? "-Infinity" : "Infinity"); return; }
    char e[48];
    int p;
    for (p = 1; p < 17; p++) {
        snprintf(e, sizeof e, "%.*e", p - 1, v);
        if (strtod(e, NULL) == v) break;
    }
    snprintf(e, sizeof e, "%.*e", p - 1, v);
    char *ep = strchr(e, 'e');
    int x = atoi(ep + 1);
    if (x >= -4 && x < 16) {
        int dec = p - 1 - x;
        snprintf(out, cap, "%.*f", dec < 1 ? 1 : dec, v);
    } else {
        *ep = 0;
        snprintf(out, cap, "%.24se%c%02d", e, x < 0 ? '-' : '+', x < 0 ? -x : x);
    }
}

radi_status rdi_affine_json(const double *a, rdi_buf *out)
{
    char num[48];
    RDI_TRY(rdi_buf_append(out, "[", 1));
    for (int r = 0; r < 4; r++) {
        RDI_TRY(rdi_buf_append(out, r ? ", [" : "[", r ? 3 : 1));
        for (int c = 0; c < 4; c++) {
            rdi_py_float(num, sizeof num, a[4 * r + c]);
            if (c) RDI_TRY(rdi_buf_append(out, ", ", 2));
            RDI_TRY(rdi_buf_append(out, num, strlen(num)));
        }
        RDI_TRY(rdi_buf_append(out, "]", 1));
    }
    RDI_TRY(rdi_buf_append(out, "]", 2)); /* with the NUL */
    return RADI_OK;
}
