/*
 * JPEG Lossless (ITU T.81 Annex H, process 14: SOF3, Huffman), radi's own decoder for
 * DICOM's 1.2.840.10008.1.2.4.57 and .70 (SV1). One component, 2-16 bit precision, all
 * seven predictors, a point transform, restart intervals and DNL. Debian 12's
 * libjpeg-turbo 2.1 has no lossless decoder, hence this file.
 *
 * Speed: a frame is one loop over rows with the predictor chosen once per row, Huffman
 * symbols found by one lookup of the next LOOK bits (codes longer than LOOK fall back to
 * the canonical maxcode walk of T.81 F.2.2.3), and a 64-bit bit buffer refilled eight
 * bytes at a time when those bytes hold no 0xFF (stuffing and markers take the byte path).
 *
 * Robustness: past the end of the input or at a marker the bit reader supplies zero bits
 * and counts them; a scan that used any of them is truncated, checked once per row, so a
 * cut stream costs at most one row of wasted work and never reads past src[n).
 */
#include <stdlib.h>

#include "io/dicom/codec_internal.h"

#define LL_CODEC "JPEG Lossless"
#define LOOK 10

typedef struct huff {
    int defined;
    uint16_t look[1 << LOOK]; /* (length << 8) | symbol for codes of <= LOOK bits; 0 = longer */
    int32_t maxcode[17];      /* largest code of each length, -1 when there is none */
    int32_t valoff[17];       /* index into vals of a length's first code, minus that code */
    uint8_t vals[256];
} huff;

typedef struct bitrd {
    const uint8_t *p, *end;
    uint64_t buf;  /* next bits, most significant first */
    int cnt;       /* valid bits in buf */
    int marker;    /* stopped at a marker: only zero bits follow */
    size_t pad;    /* zero bits supplied past a marker or the end */
} bitrd;

typedef struct jll {
    const uint8_t *src;
    size_t n, pos; /* marker parser position */
    const char *what;
    huff dc[4];
    uint32_t restart; /* DRI: samples per restart interval, 0 = none */
    int have_frame, have_scan;
    unsigned prec, comp_id;
    uint32_t X, Y; /* Y == 0: the height comes in a DNL marker after the scan */
} jll;

static radi_status corrupt(const jll *d, const char *msg)
{
    return rdi_error(RADI_E_CORRUPT, "%s: " LL_CODEC ": %s", d->what, msg);
}

/* ------------------------------------------------------------ bit reader -- */

/* Tops buf up to more than 56 bits. */
static inline void refill(bitrd *b)
{
    if (!b->marker && b->end - b->p >= 8) {
        uint64_t w;
        memcpy(&w, b->p, 8);
        uint64_t x = ~w; /* a zero byte in x is an 0xFF byte in w */
        if (((x - 0x0101010101010101ull) & ~x & 0x8080808080808080ull) == 0) {
            int k = (64 - b->cnt) >> 3; /* whole bytes that fit, 1..8 */
            w = __builtin_bswap64(w) >> (64 - 8 * k) << (64 - 8 * k);
            b->buf |= w >> b->cnt;
            b->cnt += 8 * k;
            b->p += k;
            return;
        }
    }
    while (b->cnt <= 56) {
        uint64_t c = 0;
        int real = 0;
        if (!b->marker && b->p < b->end) {
            if (b->p[0] != 0xFF) {
                c = *b->p++;
                real = 1;
            } else if (b->end - b->p >= 2 && b->p[1] == 0x00) {
                c = 0xFF; /* stuffed */
                b->p += 2;
                real = 1;
            } else {
                b->marker = 1; /* FF xx (or a lone FF at the end): the scan's data end here */
            }
        }
        if (!real) b->pad += 8;
        b->buf |= c << (56 - b->cnt);
        b->cnt += 8;
    }
}

static void bit_init(bitrd *b, const uint8_t *p, const uint8_t *end)
{
    b->p = p;
    b->end = end;
    b->buf = 0;
    b->cnt = 0;
    b->marker = 0;
    b->pad = 0;
}

/* ---------------------------------------------------------- marker parser -- */

static radi_status rd16(jll *d, uint32_t *v)
{
    if (d->n - d->pos < 2) return corrupt(d, "truncated inside a marker segment");
    *v = (uint32_t)d->src[d->pos] << 8 | d->src[d->pos + 1];
    d->pos += 2;
    return RADI_OK;
}

/* The next marker code at pos, skipping fill bytes (0xFF runs). Anything else between
 * segments is corrupt. */
static radi_status next_marker(jll *d, unsigned *m)
{
    if (d->pos >= d->n || d->src[d->pos] != 0xFF)
        return d->pos >= d->n ? corrupt(d, "truncated: the stream ends before EOI")
                              : rdi_error(RADI_E_CORRUPT, "%s: " LL_CODEC ": expected a marker at byte %zu, "
                                          "found 0x%02X", d->what, d->pos, d->src[d->pos]);
    while (d->pos < d->n && d->src[d->pos] == 0xFF) d->pos++;
    if (d->pos >= d->n) return corrupt(d, "truncated: the stream ends before EOI");
    *m = d->src[d->pos++];
    return RADI_OK;
}

/* A segment's body: sets *body, *len past its 2-byte length, and moves pos past it. */
static radi_status segment(jll *d, const uint8_t **body, uint32_t *len)
{
    uint32_t l = 0;
    RDI_TRY(rd16(d, &l));
    if (l < 2 || l - 2 > d->n - d->pos) return corrupt(d, "truncated: a marker segment runs past the end");
    *body = d->src + d->pos;
    *len = l - 2;
    d->pos += l - 2;
    return RADI_OK;
}

static radi_status parse_dht(jll *d, const uint8_t *p, uint32_t len)
{
    while (len > 0) {
        if (len < 17) return corrupt(d, "DHT segment too short");
        unsigned tc = p[0] >> 4, th = p[0] & 15;
        if (tc > 1 || th > 3) return corrupt(d, "DHT names a table class or slot out of range");
        unsigned total = 0;
        for (int i = 1; i <= 16; i++) total += p[i];
        if (total > 256 || total > len - 17) return corrupt(d, "DHT table longer than its segment");
        if (tc == 0) { /* lossless uses the DC class only; AC tables are skipped */
            huff *h = &d->dc[th];
            memset(h, 0, sizeof *h);
            memcpy(h->vals, p + 17, total);
            int32_t code = 0;
            unsigned k = 0;
            for (int l = 1; l <= 16; l++) {
                unsigned cnt = p[l];
                h->valoff[l] = (int32_t)k - code;
                h->maxcode[l] = cnt ? code + (int32_t)cnt - 1 : -1;
                for (unsigned i = 0; i < cnt; i++, k++, code++) {
                    if (code >= (int32_t)1 << l) return corrupt(d, "DHT code lengths overflow (not a prefix code)");
                    if (l <= LOOK) {
                        uint32_t first = (uint32_t)code << (LOOK - l), last = (uint32_t)(code + 1) << (LOOK - l);
                        for (uint32_t e = first; e < last; e++) h->look[e] = (uint16_t)(l << 8 | h->vals[k]);
                    }
                }
                code <<= 1;
            }
            h->defined = 1;
        }
        p += 17 + total;
        len -= 17 + total;
    }
    return RADI_OK;
}

static radi_status parse_sof3(jll *d, const uint8_t *p, uint32_t len, const rdi_dcm_frame_fmt *fmt)
{
    if (d->have_frame) return corrupt(d, "a second frame header (hierarchical streams are not supported)");
    if (len < 6) return corrupt(d, "SOF3 segment too short");
    unsigned nf = p[5];
    if (len < 6 + 3 * nf || nf == 0) return corrupt(d, "SOF3 segment shorter than its components");
    d->prec = p[0];
    d->Y = (uint32_t)p[1] << 8 | p[2];
    d->X = (uint32_t)p[3] << 8 | p[4];
    if (nf != 1)
        return rdi_error(RADI_E_UNSUPPORTED, "%s: " LL_CODEC ": %u components (only one is supported)", d->what, nf);
    d->comp_id = p[6];
    if (d->prec < 2 || d->prec > 16)
        return rdi_error(RADI_E_CORRUPT, "%s: " LL_CODEC ": precision %u (must be 2..16)", d->what, d->prec);
    if (d->prec > fmt->bits_allocated)
        return rdi_error(RADI_E_CORRUPT, "%s: " LL_CODEC ": precision %u does not fit %u bits allocated", d->what,
                         d->prec, fmt->bits_allocated);
    if (d->X != fmt->cols || (d->Y != 0 && d->Y != fmt->rows))
        return rdi_error(RADI_E_CORRUPT, "%s: " LL_CODEC ": image is %u x %u (columns x rows), expected %u x %u",
                         d->what, d->X, d->Y, fmt->cols, fmt->rows);
    d->have_frame = 1;
    return RADI_OK;
}

/* ------------------------------------------------------------ scan decode -- */

/* Decodes one difference (T.81 H.1.2.2: SSSS from the table, then SSSS extra bits; SSSS
 * 16 is 32768 with none). Needs buf to hold >= 32 bits. Returns 0 on a code not in the
 * table or a category above 16. */
#define DECODE_DIFF(diff)                                                                     \
    do {                                                                                      \
        if (b.cnt < 32) refill(&b);                                                           \
        uint32_t e_ = h->look[b.buf >> (64 - LOOK)];                                          \
        unsigned s_;                                                                          \
        if (e_) {                                                                             \
            b.buf <<= e_ >> 8;                                                                \
            b.cnt -= (int)(e_ >> 8);                                                          \
            s_ = e_ & 0xFF;                                                                   \
        } else {                                                                              \
            int l_ = LOOK + 1;                                                                \
            while (l_ <= 16 && (int32_t)(b.buf >> (64 - l_)) > h->maxcode[l_]) l_++;          \
            if (l_ > 16) goto bad_code;                                                       \
            s_ = h->vals[(uint8_t)(h->valoff[l_] + (int32_t)(b.buf >> (64 - l_)))];           \
            b.buf <<= l_;                                                                     \
            b.cnt -= l_;                                                                      \
        }                                                                                     \
        if (s_ == 0) {                                                                        \
            diff = 0;                                                                         \
        } else if (s_ < 16) {                                                                 \
            int32_t v_ = (int32_t)(b.buf >> (64 - s_));                                       \
            b.buf <<= s_;                                                                     \
            b.cnt -= (int)s_;                                                                 \
            diff = v_ < ((int32_t)1 << (s_ - 1)) ? v_ - ((int32_t)1 << s_) + 1 : v_;          \
        } else if (s_ == 16) {                                                                \
            diff = 32768;                                                                     \
        } else {                                                                              \
            goto bad_code;                                                                    \
        }                                                                                     \
    } while (0)

/* Writes one decoded row (values before the point transform) to the output. */
static void put_row(const uint16_t *row, uint32_t X, unsigned pt, void *out, size_t row_index, unsigned ba)
{
    if (ba == 16) {
        uint16_t *o = (uint16_t *)out + row_index * X;
        for (uint32_t x = 0; x < X; x++) o[x] = (uint16_t)(row[x] << pt);
    } else {
        uint8_t *o = (uint8_t *)out + row_index * X;
        for (uint32_t x = 0; x < X; x++) o[x] = (uint8_t)(row[x] << pt);
    }
}

static radi_status decode_scan(jll *d, const uint8_t *p, uint32_t len, const rdi_dcm_frame_fmt *fmt, void *out)
{
    if (!d->have_frame) return corrupt(d, "SOS before the frame header (SOF3)");
    if (d->have_scan) return corrupt(d, "a second scan (only one component, so one scan, is expected)");
    if (len < 1 || p[0] != 1 || len < 6)
        return rdi_error(RADI_E_CORRUPT, "%s: " LL_CODEC ": scan header with %u components (expected 1)", d->what,
                         len ? p[0] : 0u);
    if (p[1] != d->comp_id) return corrupt(d, "the scan names a component the frame does not have");
    unsigned td = p[2] >> 4, pred = p[3], pt = p[5] & 15;
    if (td > 3 || !d->dc[td].defined)
        return rdi_error(RADI_E_CORRUPT, "%s: " LL_CODEC ": the scan uses Huffman table %u, which is not defined",
                         d->what, td);
    if (pred < 1 || pred > 7)
        return rdi_error(RADI_E_CORRUPT, "%s: " LL_CODEC ": predictor %u (must be 1..7)", d->what, pred);
    if (pt >= d->prec) return corrupt(d, "point transform not below the precision");
    const huff *h = &d->dc[td];
    const uint32_t X = d->X, Y = fmt->rows; /* Y: the frame's, or (DNL) the caller's */
    uint32_t rows_per_interval = Y;
    if (d->restart) {
        /* T.81 H.2: in lossless mode a restart interval is a whole number of rows. */
        if (d->restart % X)
            return rdi_error(RADI_E_UNSUPPORTED, "%s: " LL_CODEC ": restart interval %u is not a multiple of the "
                             "row length %u", d->what, d->restart, X);
        rows_per_interval = d->restart / X;
    }
    uint16_t *rows = malloc(2 * (size_t)X * sizeof *rows);
    if (!rows) return rdi_nomem();
    uint16_t *prev = rows, *cur = rows + X;
    const int32_t first = (int32_t)1 << (d->prec - pt - 1);
    bitrd b;
    bit_init(&b, d->src + d->pos, d->src + d->n);
    unsigned rst = 0;
    radi_status st = RADI_OK;
    for (uint32_t y = 0; y < Y; y++) {
        uint32_t in_interval = y % rows_per_interval;
        if (y > 0 && in_interval == 0) {
            /* End of a restart interval: the rest of the byte is padding, then RSTn. */
            if (b.pad > (size_t)b.cnt) goto truncated;
            const uint8_t *q = b.p; /* bytes loaded before p are this interval's */
            while (q < b.end && !(q[0] == 0xFF && b.end - q >= 2 && q[1] != 0x00 && q[1] != 0xFF)) q++;
            if (b.end - q < 2 || q[1] < 0xD0 || q[1] > 0xD7) goto truncated;
            if ((unsigned)(q[1] - 0xD0) != (rst & 7)) {
                st = rdi_error(RADI_E_CORRUPT, "%s: " LL_CODEC ": restart marker RST%u where RST%u was expected",
                               d->what, q[1] - 0xD0u, rst & 7);
                goto done;
            }
            rst++;
            bit_init(&b, q + 2, d->src + d->n);
        }
        int32_t diff;
        if (in_interval == 0) {
            /* First row of the scan or of an interval: 2^(P-Pt-1) then the left neighbour. */
            DECODE_DIFF(diff);
            cur[0] = (uint16_t)(first + diff);
            for (uint32_t x = 1; x < X; x++) {
                DECODE_DIFF(diff);
                cur[x] = (uint16_t)(cur[x - 1] + diff);
            }
        } else {
            DECODE_DIFF(diff);
            cur[0] = (uint16_t)(prev[0] + diff);
            /* Ra = cur[x-1], Rb = prev[x], Rc = prev[x-1]. */
            switch (pred) {
            case 1:
                for (uint32_t x = 1; x < X; x++) { DECODE_DIFF(diff); cur[x] = (uint16_t)(cur[x - 1] + diff); }
                break;
            case 2:
                for (uint32_t x = 1; x < X; x++) { DECODE_DIFF(diff); cur[x] = (uint16_t)(prev[x] + diff); }
                break;
            case 3:
                for (uint32_t x = 1; x < X; x++) { DECODE_DIFF(diff); cur[x] = (uint16_t)(prev[x - 1] + diff); }
                break;
            case 4:
                for (uint32_t x = 1; x < X; x++) {
                    DECODE_DIFF(diff);
                    cur[x] = (uint16_t)((int32_t)cur[x - 1] + prev[x] - prev[x - 1] + diff);
                }
                break;
            case 5:
                for (uint32_t x = 1; x < X; x++) {
                    DECODE_DIFF(diff);
                    cur[x] = (uint16_t)((int32_t)cur[x - 1] + (((int32_t)prev[x] - prev[x - 1]) >> 1) + diff);
                }
                break;
            case 6:
                for (uint32_t x = 1; x < X; x++) {
                    DECODE_DIFF(diff);
                    cur[x] = (uint16_t)((int32_t)prev[x] + (((int32_t)cur[x - 1] - prev[x - 1]) >> 1) + diff);
                }
                break;
            default:
                for (uint32_t x = 1; x < X; x++) {
                    DECODE_DIFF(diff);
                    cur[x] = (uint16_t)((((int32_t)cur[x - 1] + prev[x]) >> 1) + diff);
                }
                break;
            }
        }
        if (b.pad > (size_t)b.cnt) goto truncated;
        put_row(cur, X, pt, out, y, fmt->bits_allocated);
        uint16_t *t = prev;
        prev = cur;
        cur = t;
    }
    /* The scan's data end at the next marker (bytes already in buf are its own). */
    {
        const uint8_t *q = b.p;
        while (q < b.end && !(q[0] == 0xFF && b.end - q >= 2 && q[1] != 0x00 && q[1] != 0xFF)) q++;
        d->pos = (size_t)(q - d->src);
    }
    d->have_scan = 1;
    goto done;
bad_code:
    st = corrupt(d, b.pad > (size_t)b.cnt ? "truncated scan data" : "a Huffman code not in the scan's table");
    goto done;
truncated:
    st = corrupt(d, "truncated scan data");
done:
    free(rows);
    return st;
}

radi_status rdi_dcm_decode_jpegll(const uint8_t *src, size_t n, const rdi_dcm_frame_fmt *fmt, void *out,
                                  size_t out_len, const char *what)
{
    size_t ns;
    RDI_TRY(rdi_dcm_check_fmt(fmt, out_len, LL_CODEC, what, &ns));
    jll *d = calloc(1, sizeof *d);
    if (!d) return rdi_nomem();
    d->src = src;
    d->n = src ? n : 0;
    d->what = what;
    radi_status st = RADI_OK;
    unsigned m = 0;
    if (d->n < 2 || src[0] != 0xFF || src[1] != 0xD8) {
        st = corrupt(d, "no SOI marker (not a JPEG stream)");
        goto out;
    }
    d->pos = 2;
    for (;;) {
        if ((st = next_marker(d, &m)) != RADI_OK) goto out;
        if (m == 0xD9) break; /* EOI */
        if (m == 0x01 || (m >= 0xD0 && m <= 0xD7)) continue; /* TEM, stray RSTn: no body */
        if (m == 0xD8) { st = corrupt(d, "a second SOI"); goto out; }
        const uint8_t *body = NULL;
        uint32_t len = 0;
        if ((st = segment(d, &body, &len)) != RADI_OK) goto out;
        if (m == 0xC4) {
            st = parse_dht(d, body, len);
        } else if (m == 0xDD) {
            if (len < 2) st = corrupt(d, "DRI segment too short");
            else d->restart = (uint32_t)body[0] << 8 | body[1];
        } else if (m == 0xC3) {
            st = parse_sof3(d, body, len, fmt);
        } else if (m == 0xDA) {
            st = decode_scan(d, body, len, fmt, out);
        } else if (m == 0xDC) { /* DNL: the height, when SOF3 said 0 */
            if (len < 2) st = corrupt(d, "DNL segment too short");
            else if (!d->have_scan || d->Y != 0 || ((uint32_t)body[0] << 8 | body[1]) != fmt->rows)
                st = rdi_error(RADI_E_CORRUPT, "%s: " LL_CODEC ": DNL gives %u rows, expected %u", what,
                               (unsigned)body[0] << 8 | body[1], fmt->rows);
            else d->Y = fmt->rows;
        } else if (m == 0xC0 || m == 0xC1 || m == 0xC2) {
            st = rdi_error(RADI_E_UNSUPPORTED, "%s: " LL_CODEC ": the stream is lossy JPEG (SOF%u), not lossless",
                           what, m - 0xC0);
        } else if ((m >= 0xC5 && m <= 0xCF && m != 0xC8) || m == 0xDE || m == 0xDF) {
            st = rdi_error(RADI_E_UNSUPPORTED, "%s: " LL_CODEC ": marker 0xFF%02X (hierarchical or arithmetic "
                           "coding) is not supported", what, m);
        }
        /* APPn, COM, DQT and the rest: skipped. */
        if (st != RADI_OK) goto out;
    }
    if (!d->have_scan) {
        st = corrupt(d, d->have_frame ? "EOI before any scan" : "no SOF3 frame header (not a lossless JPEG)");
        goto out;
    }
    if (d->Y == 0) {
        st = corrupt(d, "the frame has 0 rows and no DNL marker gives them");
        goto out;
    }
    rdi_dcm_finish_sign(out, ns, fmt);
out:
    free(d);
    return st;
}
