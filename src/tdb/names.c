/* Timestamped names `__t1_t2_uuid[_v]` (docs/format.md §2). */
#include <stdlib.h>

#include "tdb/tdb.h"

/* Parses a decimal u64 of [p, end); no sign, no overflow, at least one digit. */
static int parse_u64(const char *p, const char *end, uint64_t *out)
{
    if (p >= end || end - p > 20) return 0;
    uint64_t v = 0;
    for (; p < end; p++) {
        if (*p < '0' || *p > '9') return 0;
        uint64_t d = (uint64_t)(*p - '0');
        if (v > (UINT64_MAX - d) / 10) return 0;
        v = v * 10 + d;
    }
    *out = v;
    return 1;
}

radi_status rdi_tsname_parse(const char *name, rdi_tsname *out)
{
    if (!name || strncmp(name, "__", 2) != 0)
        return rdi_error(RADI_E_CORRUPT, "'%s': not a timestamped name (no leading \"__\")",
                         name ? name : "(null)");
    /* Fields between underscores after the "__" prefix: t1, t2, uuid and an optional
     * version. TileDB tells the forms apart by the underscore count (4 or 5). */
    const char *f[5];
    size_t nf = 0;
    const char *p = name + 2;
    f[nf++] = p;
    for (; *p; p++) {
        if (*p != '_') continue;
        if (nf == 4) return rdi_error(RADI_E_CORRUPT, "'%s': too many '_' in a timestamped name", name);
        f[nf++] = p + 1;
    }
    f[nf] = p + 1; /* one past the terminating NUL, so field i ends at f[i+1]-1 */
    if (nf != 3 && nf != 4)
        return rdi_error(RADI_E_CORRUPT, "'%s': expected __t1_t2_uuid[_version]", name);
    rdi_tsname t;
    memset(&t, 0, sizeof t);
    if (!parse_u64(f[0], f[1] - 1, &t.t1) || !parse_u64(f[1], f[2] - 1, &t.t2))
        return rdi_error(RADI_E_CORRUPT, "'%s': timestamps are not decimal integers", name);
    if (t.t1 > t.t2)
        return rdi_error(RADI_E_CORRUPT, "'%s': start timestamp after end timestamp", name);
    size_t ulen = (size_t)(f[3] - 1 - f[2]);
    if (ulen == 0 || ulen > 32)
        return rdi_error(RADI_E_CORRUPT, "'%s': uuid must be 1..32 hex digits", name);
    for (size_t i = 0; i < ulen; i++) {
        char c = f[2][i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
            return rdi_error(RADI_E_CORRUPT, "'%s': uuid has a non-hex character", name);
    }
    memcpy(t.uuid, f[2], ulen);
    t.uuid[ulen] = '\0';
    if (nf == 4) {
        uint64_t v;
        if (!parse_u64(f[3], f[4] - 1, &v) || v == 0 || v > UINT32_MAX)
            return rdi_error(RADI_E_CORRUPT, "'%s': bad format version suffix", name);
        t.version = (uint32_t)v;
    }
    *out = t;
    return RADI_OK;
}

radi_status rdi_tsname_make(uint64_t t1, uint64_t t2, uint32_t version, char **out)
{
    char label[33];
    RDI_TRY(rdi_random_label(label));
    char *s = version ? rdi_asprintf("__%llu_%llu_%s_%u", (unsigned long long)t1,
                                     (unsigned long long)t2, label, version)
                      : rdi_asprintf("__%llu_%llu_%s", (unsigned long long)t1,
                                     (unsigned long long)t2, label);
    if (!s) return rdi_nomem();
    *out = s;
    return RADI_OK;
}
