/* Clock, randomness, TileDB labels, paths. */
#include <errno.h>
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
