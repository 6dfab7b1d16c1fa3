/*
 * Exercises the S3 backend through rdi_vfs against a live S3-compatible server (moto in
 * tests/python/test_s3_vfs.py, which starts it and a fault proxy). Not a CTest test: it
 * needs a server. Usage:
 *   s3_vfs_check ENDPOINT BUCKET SCENARIO [PREFIX]
 * ENDPOINT is host:port (http). Scenarios: basic multipart readmany list names kind
 * remove move errors threads deferred fault gone mpfail bigcopy bigcopyfail all. Settings from the
 * environment: RADI_S3_PART_SIZE, RADI_S3_COPY_THRESHOLD,
 * RADI_S3_MAX_RETRIES, RADI_S3_TIMEOUT_MS, RADI_S3_PARALLEL, RADI_S3_VIRTUAL (1: bucket.host), RADI_S3_ACCESS_KEY (signs
 * requests when set). Prints "ok <check>" / "FAIL <check>: ..." lines, then
 * "stats requests=N retries=N bytes_in=N bytes_out=N" and, per read_many case,
 * "readmany <case> requests=N"; exits non-zero on any failure.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "vfs/s3/s3.h"

static int failures;
static rdi_vfs *vfs;
static void *s3;
static const char *bucket, *prefix;

#define CHECK(cond, ...)                                  \
    do {                                                  \
        if (cond) {                                       \
            printf("ok ");                                \
            printf(__VA_ARGS__);                          \
            printf("\n");                                 \
        } else {                                          \
            failures++;                                   \
            printf("FAIL ");                              \
            printf(__VA_ARGS__);                          \
            printf(" [%s:%d] msg=%s\n", __FILE__, __LINE__, radi_errmsg()); \
        }                                                 \
        fflush(stdout);                                   \
    } while (0)

static char *u(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *u(const char *fmt, ...)
{
    char rel[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rel, sizeof rel, fmt, ap);
    va_end(ap);
    return rdi_asprintf("s3://%s/%s/%s", bucket, prefix, rel);
}

static uint64_t env_u64(const char *name, uint64_t dflt)
{
    const char *v = getenv(name);
    return v && *v ? strtoull(v, NULL, 10) : dflt;
}

static uint64_t requests(void)
{
    rdi_s3_stats st;
    rdi_s3_get_stats(s3, &st);
    return st.requests;
}

static void fill(uint8_t *p, size_t n, uint32_t seed)
{
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (uint8_t)x;
    }
}

static int same_as(const char *uri, const uint8_t *want, size_t n)
{
    rdi_buf b = RDI_BUF_INIT;
    radi_status s = rdi_vfs_read_all(vfs, uri, &b);
    int ok = s == RADI_OK && b.len == n && (n == 0 || memcmp(b.data, want, n) == 0);
    rdi_buf_free(&b);
    return ok;
}

static void basic(void)
{
    uint8_t small[1000];
    fill(small, sizeof small, 1);
    char *a = u("basic/a.bin"), *z = u("basic/empty"), *m = u("basic/missing");
    CHECK(rdi_vfs_write(vfs, a, small, sizeof small) == RADI_OK, "basic write");
    CHECK(rdi_vfs_write(vfs, z, "", 0) == RADI_OK, "basic write empty");
    uint64_t size = 0;
    CHECK(rdi_vfs_size(vfs, a, &size) == RADI_OK && size == sizeof small, "basic size %llu", (unsigned long long)size);
    CHECK(rdi_vfs_size(vfs, z, &size) == RADI_OK && size == 0, "basic size empty");
    CHECK(same_as(a, small, sizeof small), "basic read back");
    CHECK(same_as(z, small, 0), "basic read empty");
    uint8_t part[100];
    CHECK(rdi_vfs_read(vfs, a, 450, part, 100) == RADI_OK && memcmp(part, small + 450, 100) == 0, "basic ranged read");
    uint64_t before = requests();
    CHECK(rdi_vfs_read(vfs, a, 5, part, 0) == RADI_OK && requests() == before, "basic zero-length read sends nothing");
    radi_status s = rdi_vfs_read(vfs, a, 950, part, 100);
    CHECK(s == RADI_E_CORRUPT && strstr(radi_errmsg(), "truncated"), "basic read past end is truncated (%s)", radi_status_name(s));
    s = rdi_vfs_read(vfs, a, 5000, part, 10);
    CHECK(s == RADI_E_CORRUPT, "basic read beyond end (%s)", radi_status_name(s));
    uint8_t small2[10] = "replaced!";
    CHECK(rdi_vfs_write(vfs, a, small2, 10) == RADI_OK && same_as(a, small2, 10), "basic overwrite");
    before = requests();
    CHECK(rdi_vfs_mkdir(vfs, m) == RADI_OK && requests() == before, "basic mkdir sends nothing");
    CHECK(rdi_vfs_remove_file(vfs, a) == RADI_OK, "basic remove");
    CHECK(rdi_vfs_remove_file(vfs, a) == RADI_OK, "basic remove missing is fine");
    int k = -1;
    CHECK(rdi_vfs_kind(vfs, a, &k) == RADI_OK && k == 0, "basic removed is gone");
    free(a);
    free(z);
    free(m);
}

static void multipart(void)
{
    size_t n = (12u << 20) + 123;
    uint8_t *d = malloc(n), *back = malloc(n);
    fill(d, n, 2);
    char *a = u("mp/big.bin");
    uint64_t before = requests();
    CHECK(rdi_vfs_write(vfs, a, d, n) == RADI_OK, "multipart write");
    printf("multipart write requests=%llu\n", (unsigned long long)(requests() - before));
    uint64_t size = 0;
    CHECK(rdi_vfs_size(vfs, a, &size) == RADI_OK && size == n, "multipart size");
    CHECK(rdi_vfs_read(vfs, a, 0, back, n) == RADI_OK && memcmp(back, d, n) == 0, "multipart read back whole");
    CHECK(rdi_vfs_read(vfs, a, (5u << 20) - 7, back, 1000) == RADI_OK && memcmp(back, d + (5u << 20) - 7, 1000) == 0,
          "multipart range across a part boundary");
    free(d);
    free(back);
    free(a);
}

static void readmany(void)
{
    size_t n = 20u << 20;
    uint8_t *d = malloc(n);
    fill(d, n, 3);
    char *a = u("rm/obj.bin"), *b = u("rm/other.bin");
    CHECK(rdi_vfs_write(vfs, a, d, n) == RADI_OK, "readmany setup a");
    CHECK(rdi_vfs_write(vfs, b, d, 1u << 20) == RADI_OK, "readmany setup b");
    enum { NR = 64 };
    rdi_vfs_range r[NR + 8];
    uint8_t *bufs = malloc((size_t)(NR + 8) * 4096);
    /* 64 ranges of 4 KiB every 16 KiB in a: one GET. */
    for (int i = 0; i < NR; i++)
        r[i] = (rdi_vfs_range){.uri = a, .off = (uint64_t)i * 16384 + 100, .len = 4096, .buf = bufs + (size_t)i * 4096};
    uint64_t before = requests();
    radi_status s = rdi_vfs_read_many(vfs, r, NR);
    uint64_t used = requests() - before;
    int ok = s == RADI_OK;
    for (int i = 0; i < NR && ok; i++) ok = r[i].status == RADI_OK && memcmp(r[i].buf, d + r[i].off, 4096) == 0;
    printf("readmany near requests=%llu\n", (unsigned long long)used);
    CHECK(ok && used == 1, "readmany 64 near ranges -> %llu GET(s)", (unsigned long long)used);
    /* Far apart (1 MiB gaps) in a, interleaved with ranges of b, and one empty range. */
    for (int i = 0; i < 8; i++) {
        r[2 * i] = (rdi_vfs_range){.uri = a, .off = (uint64_t)(7 - i) * (2u << 20), .len = 4096, .buf = bufs + (size_t)(2 * i) * 4096};
        r[2 * i + 1] = (rdi_vfs_range){.uri = b, .off = (uint64_t)i * 8192, .len = 4096, .buf = bufs + (size_t)(2 * i + 1) * 4096};
    }
    r[16] = (rdi_vfs_range){.uri = b, .off = 0, .len = 0, .buf = bufs};
    before = requests();
    s = rdi_vfs_read_many(vfs, r, 17);
    used = requests() - before;
    ok = s == RADI_OK;
    for (int i = 0; i < 16 && ok; i++) ok = r[i].status == RADI_OK && memcmp(r[i].buf, d + r[i].off, 4096) == 0;
    printf("readmany far requests=%llu\n", (unsigned long long)used);
    CHECK(ok && used == 9, "readmany 8 far + 8 near-in-other -> %llu GET(s) (want 9)", (unsigned long long)used);
    /* One large range: split in parallel parts of >= 8 MiB. */
    uint8_t *big = malloc(n);
    before = requests();
    s = rdi_vfs_read(vfs, a, 0, big, n);
    used = requests() - before;
    printf("readmany split requests=%llu\n", (unsigned long long)used);
    CHECK(s == RADI_OK && memcmp(big, d, n) == 0 && used == 2, "readmany 20 MiB read -> %llu GET(s) (want 2)", (unsigned long long)used);
    /* Overlapping and duplicate ranges, one past the end of b. */
    r[0] = (rdi_vfs_range){.uri = b, .off = 1000, .len = 4096, .buf = bufs};
    r[1] = (rdi_vfs_range){.uri = b, .off = 3000, .len = 4096, .buf = bufs + 4096};
    r[2] = (rdi_vfs_range){.uri = b, .off = (1u << 20) - 10, .len = 4096, .buf = bufs + 8192};
    s = rdi_vfs_read_many(vfs, r, 3);
    CHECK(s == RADI_E_CORRUPT && r[0].status == RADI_OK && r[1].status == RADI_OK && r[2].status == RADI_E_CORRUPT &&
              memcmp(r[0].buf, d + 1000, 4096) == 0 && memcmp(r[1].buf, d + 3000, 4096) == 0,
          "readmany overlap + past-end range: per-range status");
    char *m = u("rm/missing.bin");
    r[0] = (rdi_vfs_range){.uri = b, .off = 0, .len = 10, .buf = bufs};
    r[1] = (rdi_vfs_range){.uri = m, .off = 0, .len = 10, .buf = bufs + 4096};
    s = rdi_vfs_read_many(vfs, r, 2);
    CHECK(s == RADI_E_NOT_FOUND && r[0].status == RADI_OK && r[1].status == RADI_E_NOT_FOUND &&
              strstr(radi_errmsg(), "missing.bin"), "readmany a missing object fails only its range");
    free(m);
    free(big);
    free(bufs);
    free(d);
    free(a);
    free(b);
}

static int has(const rdi_dirlist *l, const char *name, int is_dir)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->items[i].name, name) == 0 && l->items[i].is_dir == is_dir) return 1;
    return 0;
}

/* Writes n small objects dir/f%05d (with a 1-byte body), with read_many-free PUTs. */
static int put_many(const char *dir, int n)
{
    for (int i = 0; i < n; i++) {
        char *x = u("%s/f%05d", dir, i);
        radi_status s = rdi_vfs_write(vfs, x, "x", 1);
        free(x);
        if (s != RADI_OK) return 0;
    }
    return 1;
}

static void list(void)
{
    CHECK(put_many("ls/many", 1100), "list setup 1100 objects");
    char *s1 = u("ls/many/sub/x"), *s2 = u("ls/many/sub2/deep/y");
    CHECK(rdi_vfs_write(vfs, s1, "ab", 2) == RADI_OK && rdi_vfs_write(vfs, s2, "abc", 3) == RADI_OK, "list setup subdirs");
    char *d = u("ls/many");
    rdi_dirlist l = {NULL, 0};
    radi_status s = rdi_vfs_ls(vfs, d, &l);
    int sorted = 1;
    for (size_t i = 1; i < l.n; i++) sorted &= strcmp(l.items[i - 1].name, l.items[i].name) < 0;
    CHECK(s == RADI_OK && l.n == 1102 && has(&l, "sub", 1) && has(&l, "sub2", 1) && has(&l, "f01099", 0) &&
              l.items[0].size == 1 && sorted, "ls pages past 1000 keys (%zu entries)", l.n);
    rdi_dirlist_free(&l);
    s = rdi_vfs_ls_recursive(vfs, d, &l);
    CHECK(s == RADI_OK && l.n == 1102 && has(&l, "sub/x", 0) && has(&l, "sub2/deep/y", 0), "ls_recursive (%zu)", l.n);
    rdi_dirlist_free(&l);
    char *nothing = u("ls/nothing");
    s = rdi_vfs_ls(vfs, nothing, &l);
    CHECK(s == RADI_OK && l.n == 0, "ls of a missing prefix is empty");
    rdi_dirlist_free(&l);
    free(nothing);
    free(s1);
    free(s2);
    free(d);
}

static void names(void)
{
    const char *odd[] = {"with space", "plus+sign", "per%cent", "uni\xc3\xa9\xe2\x82\xac", "eq=ual&amp", "q?mark#h",
                         "tilde~star*", "ctl\x01" "char", "lt<gt>quote\"apos'"};
    int ok = 1;
    for (size_t i = 0; i < sizeof odd / sizeof *odd; i++) {
        char *x = u("names/%s", odd[i]);
        ok &= rdi_vfs_write(vfs, x, odd[i], strlen(odd[i])) == RADI_OK && same_as(x, (const uint8_t *)odd[i], strlen(odd[i]));
        int k = 0;
        ok &= rdi_vfs_kind(vfs, x, &k) == RADI_OK && k == 1;
        if (!ok) printf("  name failed: %s: %s\n", odd[i], radi_errmsg());
        free(x);
    }
    CHECK(ok, "odd key names round trip");
    char *d = u("names");
    rdi_dirlist l = {NULL, 0};
    radi_status s = rdi_vfs_ls(vfs, d, &l);
    int all = s == RADI_OK && l.n == sizeof odd / sizeof *odd;
    for (size_t i = 0; all && i < sizeof odd / sizeof *odd; i++) all = has(&l, odd[i], 0);
    CHECK(all, "odd key names listed as written");
    rdi_dirlist_free(&l);
    char *dd = u("names/dir with space/and+plus");
    CHECK(rdi_vfs_write(vfs, dd, "1", 1) == RADI_OK, "odd dir write");
    char *dl = u("names/dir with space");
    s = rdi_vfs_ls(vfs, dl, &l);
    CHECK(s == RADI_OK && l.n == 1 && has(&l, "and+plus", 0), "odd dir listing");
    rdi_dirlist_free(&l);
    char *dots = u("names2/./x/../y"), *d2 = u("names2");
    CHECK(rdi_vfs_write(vfs, dots, "dots", 4) == RADI_OK && same_as(dots, (const uint8_t *)"dots", 4) &&
              rdi_vfs_ls_recursive(vfs, d2, &l) == RADI_OK && l.n == 1 && has(&l, "./x/../y", 0),
          "dot segments are kept literally");
    rdi_dirlist_free(&l);
    /* Keys DeleteObjects' XML cannot carry are still removed (one DELETE each). */
    CHECK(rdi_vfs_remove_dir(vfs, d) == RADI_OK && rdi_vfs_ls_recursive(vfs, d, &l) == RADI_OK && l.n == 0,
          "remove_dir of odd names (%zu left)", l.n);
    rdi_dirlist_free(&l);
    free(dots);
    free(d2);
    free(dd);
    free(dl);
    free(d);
}

static void kind(void)
{
    char *a = u("kind/a"), *ax = u("kind/a/x"), *ab = u("kind/ab"), *abf = u("kind/ab/f"), *adir = u("kind/a/");
    CHECK(rdi_vfs_write(vfs, a, "A", 1) == RADI_OK && rdi_vfs_write(vfs, ax, "X", 1) == RADI_OK &&
              rdi_vfs_write(vfs, abf, "F", 1) == RADI_OK, "kind setup");
    int k = -1;
    CHECK(rdi_vfs_kind(vfs, a, &k) == RADI_OK && k == 1, "kind of object a (also a prefix) is file: %d", k);
    char *p = u("kind/a/x/..");
    free(p);
    char *only_dir = u("kind/ab");
    CHECK(rdi_vfs_kind(vfs, only_dir, &k) == RADI_OK && k == 2, "kind of prefix ab/ is dir: %d", k);
    char *none = u("kind/a/nothing");
    CHECK(rdi_vfs_kind(vfs, none, &k) == RADI_OK && k == 0, "kind of nothing: %d", k);
    char *ghost = u("kind/abc");
    CHECK(rdi_vfs_kind(vfs, ghost, &k) == RADI_OK && k == 0, "kind of a key prefix that is not a path: %d", k);
    rdi_dirlist l = {NULL, 0};
    CHECK(rdi_vfs_ls(vfs, adir, &l) == RADI_OK && l.n == 1 && has(&l, "x", 0), "ls a/ does not see ab (%zu)", l.n);
    rdi_dirlist_free(&l);
    char *kd = u("kind");
    CHECK(rdi_vfs_ls(vfs, kd, &l) == RADI_OK && l.n == 3 && has(&l, "a", 0) && has(&l, "a", 1) && has(&l, "ab", 1),
          "ls shows a as file and dir, ab as dir (%zu)", l.n);
    rdi_dirlist_free(&l);
    char *root = rdi_asprintf("s3://%s", bucket), *root2 = rdi_asprintf("s3://%s/", bucket);
    CHECK(rdi_vfs_kind(vfs, root, &k) == RADI_OK && k == 2, "kind of the bucket root: %d", k);
    CHECK(rdi_vfs_kind(vfs, root2, &k) == RADI_OK && k == 2, "kind of the bucket root with slash: %d", k);
    char *nb = rdi_asprintf("s3://no-such-bucket-radi");
    CHECK(rdi_vfs_kind(vfs, nb, &k) == RADI_OK && k == 0, "kind of a missing bucket: %d", k);
    char *dup = rdi_asprintf("s3://%s//%s//kind///a//x/", bucket, prefix);
    CHECK(rdi_vfs_kind(vfs, dup, &k) == RADI_OK && k == 1, "duplicate slashes normalised: %d", k);
    CHECK(rdi_vfs_remove_dir(vfs, a) == RADI_OK && rdi_vfs_kind(vfs, ab, &k) == RADI_OK && k == 2 &&
              rdi_vfs_kind(vfs, abf, &k) == RADI_OK && k == 1, "remove_dir a leaves ab alone");
    CHECK(rdi_vfs_kind(vfs, a, &k) == RADI_OK && k == 0, "remove_dir a removed a and a/: %d", k);
    free(a); free(ax); free(ab); free(abf); free(adir); free(only_dir); free(none); free(ghost); free(kd);
    free(root); free(root2); free(nb); free(dup);
}

static void remove_many(void)
{
    CHECK(put_many("rmd/t", 1050), "remove setup 1050 objects");
    char *deep = u("rmd/t/sub/deep"), *sib = u("rmd/t2");
    CHECK(rdi_vfs_write(vfs, deep, "d", 1) == RADI_OK && rdi_vfs_write(vfs, sib, "s", 1) == RADI_OK, "remove setup more");
    char *t = u("rmd/t");
    uint64_t before = requests();
    radi_status s = rdi_vfs_remove_dir(vfs, t);
    printf("remove_dir requests=%llu\n", (unsigned long long)(requests() - before));
    CHECK(s == RADI_OK, "remove_dir of 1051 objects");
    rdi_dirlist l = {NULL, 0};
    CHECK(rdi_vfs_ls_recursive(vfs, t, &l) == RADI_OK && l.n == 0, "remove_dir left %zu", l.n);
    rdi_dirlist_free(&l);
    int k = 0;
    CHECK(rdi_vfs_kind(vfs, sib, &k) == RADI_OK && k == 1, "sibling t2 survives");
    CHECK(rdi_vfs_remove_dir(vfs, t) == RADI_OK, "remove_dir of nothing is fine");
    free(deep); free(sib); free(t);
}

static void move(void)
{
    char *f[3] = {u("mv/src/a"), u("mv/src/sub/b c"), u("mv/src/sub/deep/d+e")};
    int ok = 1;
    for (int i = 0; i < 3; i++) ok &= rdi_vfs_write(vfs, f[i], f[i], strlen(f[i])) == RADI_OK;
    CHECK(ok, "move setup");
    char *src = u("mv/src"), *dst = u("mv/dst"), *other = u("mv/other");
    CHECK(rdi_vfs_write(vfs, other, "o", 1) == RADI_OK, "move setup other");
    radi_status s = rdi_vfs_move(vfs, src, other);
    CHECK(s == RADI_E_EXISTS, "move onto an existing object refused (%s)", radi_status_name(s));
    s = rdi_vfs_move(vfs, src, dst);
    CHECK(s == RADI_OK, "move tree");
    int k = -1;
    CHECK(rdi_vfs_kind(vfs, src, &k) == RADI_OK && k == 0, "move source gone: %d", k);
    char *g = u("mv/dst/sub/b c");
    CHECK(same_as(g, (const uint8_t *)f[1], strlen(f[1])), "moved content intact");
    rdi_dirlist l = {NULL, 0};
    CHECK(rdi_vfs_ls_recursive(vfs, dst, &l) == RADI_OK && l.n == 3 && has(&l, "sub/deep/d+e", 0), "moved tree complete (%zu)", l.n);
    rdi_dirlist_free(&l);
    char *f2 = u("mv/file2");
    s = rdi_vfs_move(vfs, g, f2);
    CHECK(s == RADI_OK && rdi_vfs_kind(vfs, g, &k) == RADI_OK && k == 0 && same_as(f2, (const uint8_t *)f[1], strlen(f[1])),
          "move a file");
    s = rdi_vfs_move(vfs, g, f2);
    CHECK(s == RADI_E_EXISTS, "move onto existing file (%s)", radi_status_name(s));
    char *gone = u("mv/none"), *gone2 = u("mv/none2");
    s = rdi_vfs_move(vfs, gone, gone2);
    CHECK(s == RADI_E_NOT_FOUND, "move of nothing (%s)", radi_status_name(s));
    /* copy: one object, server-side, replacing the target; the source stays. */
    char *c1 = u("mv/copy of file2");
    s = rdi_vfs_copy(vfs, f2, c1);
    CHECK(s == RADI_OK && same_as(c1, (const uint8_t *)f[1], strlen(f[1])) && same_as(f2, (const uint8_t *)f[1], strlen(f[1])),
          "copy an object");
    CHECK(rdi_vfs_copy(vfs, other, c1) == RADI_OK && same_as(c1, (const uint8_t *)"o", 1), "copy replaces the target");
    s = rdi_vfs_copy(vfs, gone, c1);
    CHECK(s == RADI_E_NOT_FOUND && strstr(radi_errmsg(), "mv/none: copy to s3://") && strstr(radi_errmsg(), "not found"),
          "copy of nothing (%s): %s",
          radi_status_name(s), radi_errmsg());
    free(c1);
    for (int i = 0; i < 3; i++) free(f[i]);
    free(src); free(dst); free(other); free(g); free(f2); free(gone); free(gone2);
}

static void errors(void)
{
    char *m = u("err/missing");
    uint8_t b[10];
    radi_status s = rdi_vfs_read(vfs, m, 0, b, 10);
    char want[512];
    snprintf(want, sizeof want, "s3://%s/%s/err/missing", bucket, prefix);
    CHECK(s == RADI_E_NOT_FOUND && strstr(radi_errmsg(), want) && strstr(radi_errmsg(), "404"),
          "read missing: %s | %s", radi_status_name(s), radi_errmsg());
    uint64_t size;
    s = rdi_vfs_size(vfs, m, &size);
    CHECK(s == RADI_E_NOT_FOUND && strstr(radi_errmsg(), want), "size missing: %s | %s", radi_status_name(s), radi_errmsg());
    s = rdi_vfs_read(vfs, "s3://no-such-bucket-radi/k", 0, b, 10);
    CHECK(s == RADI_E_NOT_FOUND && strstr(radi_errmsg(), "NoSuchBucket") && strstr(radi_errmsg(), "s3://no-such-bucket-radi/k"),
          "read missing bucket: %s | %s", radi_status_name(s), radi_errmsg());
    s = rdi_vfs_write(vfs, "s3://no-such-bucket-radi/k", "x", 1);
    CHECK(s == RADI_E_NOT_FOUND && strstr(radi_errmsg(), "PUT failed"), "write missing bucket: %s | %s", radi_status_name(s), radi_errmsg());
    rdi_dirlist l = {NULL, 0};
    s = rdi_vfs_ls(vfs, "s3://no-such-bucket-radi/d", &l);
    CHECK(s == RADI_E_NOT_FOUND && strstr(radi_errmsg(), "s3://no-such-bucket-radi/d/: ListObjectsV2 failed: HTTP 404 NoSuchBucket"),
          "ls missing bucket: %s | %s", radi_status_name(s), radi_errmsg());
    s = rdi_vfs_read(vfs, "s3:///k", 0, b, 10);
    CHECK(s == RADI_E_INVALID && strstr(radi_errmsg(), "s3:///k"), "empty bucket: %s | %s", radi_status_name(s), radi_errmsg());
    s = rdi_vfs_read(vfs, "s3://Bad_Bucket!/k", 0, b, 10);
    CHECK(s == RADI_E_INVALID && strstr(radi_errmsg(), "invalid bucket"), "invalid bucket: %s | %s", radi_status_name(s), radi_errmsg());
    free(m);
}

/* A workload whose results must be identical whatever the proxy injects. */
static void fault(void)
{
    size_t n = (11u << 20) + 77;
    uint8_t *d = malloc(n);
    fill(d, n, 9);
    char *big = u("fault/big"), *small = u("fault/small"), *dir = u("fault");
    int ok = 1;
    for (int i = 0; i < 6 && ok; i++) {
        char *x = u("fault/s%d", i);
        ok = rdi_vfs_write(vfs, x, d + i * 1000, 5000) == RADI_OK && same_as(x, d + i * 1000, 5000);
        free(x);
    }
    CHECK(ok, "fault small writes and reads");
    CHECK(rdi_vfs_write(vfs, big, d, n) == RADI_OK, "fault multipart write");
    CHECK(same_as(big, d, n), "fault multipart read back");
    rdi_vfs_range r[40];
    uint8_t *bufs = malloc(40 * 8192);
    for (int i = 0; i < 40; i++)
        r[i] = (rdi_vfs_range){.uri = big, .off = (uint64_t)i * 280000, .len = 8192, .buf = bufs + i * 8192};
    radi_status s = rdi_vfs_read_many(vfs, r, 40);
    ok = s == RADI_OK;
    for (int i = 0; i < 40 && ok; i++) ok = memcmp(r[i].buf, d + r[i].off, 8192) == 0;
    CHECK(ok, "fault read_many");
    rdi_dirlist l = {NULL, 0};
    CHECK(rdi_vfs_ls(vfs, dir, &l) == RADI_OK && l.n == 7, "fault ls (%zu)", l.n);
    rdi_dirlist_free(&l);
    CHECK(rdi_vfs_write(vfs, small, "s", 1) == RADI_OK && rdi_vfs_remove_file(vfs, small) == RADI_OK, "fault remove");
    free(bufs);
    free(d);
    free(big);
    free(small);
    free(dir);
}

static void gone(void)
{
    char *x = u("gone/x");
    uint8_t b[4];
    radi_status s = rdi_vfs_read(vfs, x, 0, b, 4);
    printf("gone status=%s\nmessage: %s\n", radi_status_name(s), radi_errmsg());
    CHECK(s == RADI_E_IO && strchr(radi_errmsg(), '\n') == NULL && strstr(radi_errmsg(), "s3://"), "server gone: one clear error");
    free(x);
}

/* Several threads share one backend, as the thread pool does: writes, vectored reads,
 * listings and removals at once, each thread in its own prefix. */
static void *worker(void *arg)
{
    intptr_t id = (intptr_t)arg;
    size_t n = 300000;
    uint8_t *d = malloc(n), *back = malloc(n);
    fill(d, n, (uint32_t)id + 100);
    intptr_t bad = 0;
    for (int round = 0; round < 5 && !bad; round++) {
        char *x = u("thr/%d/obj%d", (int)id, round), *dir = u("thr/%d", (int)id);
        bad |= rdi_vfs_write(vfs, x, d, n) != RADI_OK;
        rdi_vfs_range r[4];
        for (int i = 0; i < 4; i++)
            r[i] = (rdi_vfs_range){.uri = x, .off = (uint64_t)i * 70000, .len = 1000, .buf = back + i * 1000};
        bad |= rdi_vfs_read_many(vfs, r, 4) != RADI_OK;
        for (int i = 0; i < 4 && !bad; i++) bad |= memcmp(back + i * 1000, d + i * 70000, 1000) != 0;
        bad |= !same_as(x, d, n);
        rdi_dirlist l = {NULL, 0};
        bad |= rdi_vfs_ls(vfs, dir, &l) != RADI_OK || l.n != (size_t)round + 1;
        rdi_dirlist_free(&l);
        free(x);
        free(dir);
    }
    char *dir = u("thr/%d", (int)id);
    bad |= rdi_vfs_remove_dir(vfs, dir) != RADI_OK;
    if (bad) printf("  thread %d: %s\n", (int)id, radi_errmsg());
    free(dir);
    free(d);
    free(back);
    return (void *)bad;
}

static void threads(void)
{
    pthread_t t[8];
    for (intptr_t i = 0; i < 8; i++) pthread_create(&t[i], NULL, worker, (void *)i);
    int bad = 0;
    for (int i = 0; i < 8; i++) {
        void *r;
        pthread_join(t[i], &r);
        bad |= r != NULL;
    }
    CHECK(!bad, "8 threads share one backend");
}

/* A multipart write that the proxy makes fail: one clear error, nothing left behind (the
 * test checks that the upload was aborted). */
static void mpfail(void)
{
    size_t n = (11u << 20) + 5;
    uint8_t *d = malloc(n);
    fill(d, n, 4);
    char *a = u("mpfail/big");
    radi_status s = rdi_vfs_write(vfs, a, d, n);
    printf("mpfail status=%s\nmessage: %s\n", radi_status_name(s), radi_errmsg());
    int k = -1;
    CHECK(s != RADI_OK && rdi_vfs_kind(vfs, a, &k) == RADI_OK && k == 0, "failed multipart write leaves no object");
    free(a);
    free(d);
}

/* Copies and moves of objects above RADI_S3_COPY_THRESHOLD (multipart copies) and at or
 * below it (CopyObject): single objects and a tree mixing both, checked byte for byte.
 * The Python side counts the requests each took through the proxy. */
#define BIG_N ((size_t)(12u << 20) + 7)
static void bigcopy(void)
{
    /* "edge" is exactly the threshold when that is small enough to write here. */
    uint64_t th = env_u64("RADI_S3_COPY_THRESHOLD", (uint64_t)5 << 30);
    size_t sizes[5] = {BIG_N, 1000, th <= (64u << 20) ? (size_t)th : 4096, 0, BIG_N + 3};
    const char *names[5] = {"big", "small", "edge", "empty", "sub/big2"};
    uint8_t *d[5];
    char *tree = u("bc/tree"), *moved = u("bc/moved"), *src[5], *dst[5];
    int ok = 1;
    for (int i = 0; i < 5; i++) {
        d[i] = malloc(sizes[i] ? sizes[i] : 1);
        fill(d[i], sizes[i], 50 + (uint32_t)i);
        src[i] = u("bc/tree/%s", names[i]);
        dst[i] = u("bc/moved/%s", names[i]);
        ok &= rdi_vfs_write(vfs, src[i], d[i], sizes[i]) == RADI_OK;
    }
    CHECK(ok, "bigcopy setup");
    char *cb = u("bc/copy-big"), *cs = u("bc/copy-small"), *mb = u("bc/moved-big");
    uint64_t before = requests();
    radi_status s = rdi_vfs_copy(vfs, src[0], cb);
    printf("bigcopy copy-big requests=%llu\n", (unsigned long long)(requests() - before));
    CHECK(s == RADI_OK && same_as(cb, d[0], sizes[0]) && same_as(src[0], d[0], sizes[0]),
          "bigcopy copy of a big object: identical, source intact");
    before = requests();
    s = rdi_vfs_copy(vfs, src[1], cs);
    printf("bigcopy copy-small requests=%llu\n", (unsigned long long)(requests() - before));
    CHECK(s == RADI_OK && same_as(cs, d[1], sizes[1]), "bigcopy copy of a small object");
    before = requests();
    s = rdi_vfs_copy_sized(vfs, src[0], cs, sizes[0]); /* the size known: no HEAD */
    printf("bigcopy copy-big-sized requests=%llu\n", (unsigned long long)(requests() - before));
    CHECK(s == RADI_OK && same_as(cs, d[0], sizes[0]), "bigcopy copy of a big object of known size");
    CHECK(rdi_vfs_copy(vfs, src[4], cb) == RADI_OK && same_as(cb, d[4], sizes[4]), "bigcopy copy replaces a big target");
    int k = -1;
    CHECK(rdi_vfs_move(vfs, cb, mb) == RADI_OK && same_as(mb, d[4], sizes[4]) && rdi_vfs_kind(vfs, cb, &k) == RADI_OK &&
              k == 0, "bigcopy move of a big object");
    before = requests();
    s = rdi_vfs_move(vfs, tree, moved);
    printf("bigcopy move-tree requests=%llu\n", (unsigned long long)(requests() - before));
    CHECK(s == RADI_OK, "bigcopy move of a tree of big and small objects");
    ok = 1;
    for (int i = 0; i < 5; i++) ok &= same_as(dst[i], d[i], sizes[i]);
    CHECK(ok, "bigcopy moved tree identical");
    CHECK(rdi_vfs_kind(vfs, tree, &k) == RADI_OK && k == 0, "bigcopy moved tree's source gone: %d", k);
    for (int i = 0; i < 5; i++) {
        free(d[i]);
        free(src[i]);
        free(dst[i]);
    }
    free(tree); free(moved); free(cb); free(cs); free(mb);
}

/* A big copy whose parts fail (the proxy refuses them): a tree move and a copy fail with
 * the part's error, leave no target and keep the sources. */
static void bigcopyfail(void)
{
    uint8_t *d = malloc(BIG_N);
    fill(d, BIG_N, 60);
    char *a = u("bcf/tree/big"), *b = u("bcf/tree/small"), *tree = u("bcf/tree"), *to = u("bcf/moved"),
         *c = u("bcf/copy");
    CHECK(rdi_vfs_write(vfs, a, d, BIG_N) == RADI_OK && rdi_vfs_write(vfs, b, "s", 1) == RADI_OK, "bigcopyfail setup");
    radi_status s = rdi_vfs_move(vfs, tree, to);
    printf("bigcopyfail status=%s\nmessage: %s\n", radi_status_name(s), radi_errmsg());
    int k = -1, k2 = -1;
    CHECK(s != RADI_OK && rdi_vfs_kind(vfs, to, &k) == RADI_OK && k == 0, "bigcopyfail failed move leaves no target");
    CHECK(same_as(a, d, BIG_N) && same_as(b, (const uint8_t *)"s", 1), "bigcopyfail failed move keeps the sources");
    s = rdi_vfs_copy(vfs, a, c);
    CHECK(s != RADI_OK && strstr(radi_errmsg(), "UploadPartCopy") && rdi_vfs_kind(vfs, c, &k2) == RADI_OK && k2 == 0,
          "bigcopyfail failed copy leaves no target (%s)", radi_status_name(s));
    free(d); free(a); free(b); free(tree); free(to); free(c);
}

/* A config problem left for the first call (a bad credentials file, say) is what every
 * operation returns, before any request. */
static void deferred(void)
{
    rdi_s3_config c;
    rdi_s3_config_init(&c);
    c.endpoint = rdi_strdup("127.0.0.1:1");
    c.scheme = rdi_strdup("http");
    c.deferred_error = rdi_strdup("the credentials file has a bad line 3");
    void *b = NULL;
    rdi_vfs *v = NULL;
    CHECK(rdi_vfs_create(&v) == RADI_OK && rdi_s3_create(&c, &b) == RADI_OK, "deferred setup");
    rdi_s3_config_free(&c);
    rdi_vfs_set_s3(v, &rdi_vfs_s3_ops, b);
    const char *x = "s3://radi-any/k", *y = "s3://radi-any/k2";
    uint8_t buf[4];
    uint64_t size;
    int k;
    rdi_dirlist l = {NULL, 0};
    rdi_vfs_range r = {.uri = x, .off = 0, .len = 4, .buf = buf};
    radi_status st[] = {
        rdi_vfs_read(v, x, 0, buf, 4), rdi_vfs_size(v, x, &size), rdi_vfs_write(v, x, "a", 1),
        rdi_vfs_ls(v, x, &l), rdi_vfs_ls_recursive(v, x, &l), rdi_vfs_kind(v, x, &k), rdi_vfs_mkdir(v, x),
        rdi_vfs_remove_file(v, x), rdi_vfs_remove_dir(v, x), rdi_vfs_move(v, x, y), rdi_vfs_copy(v, x, y),
        rdi_vfs_read_many(v, &r, 1),
    };
    int ok = 1;
    for (size_t i = 0; i < sizeof st / sizeof *st; i++) ok &= st[i] == RADI_E_INVALID;
    rdi_s3_stats ss;
    rdi_s3_get_stats(b, &ss);
    CHECK(ok && r.status == RADI_E_INVALID && ss.requests == 0 && strstr(radi_errmsg(), "bad line 3"),
          "a deferred config error from every operation, no request sent");
    rdi_vfs_free(v);
}

/* The writer lease is renewed while held: with a 1 s lease, another holder (a second
 * lock call, as another process would make) is still refused after 2.5 s; once
 * released, it gets the lock at once. */
static void lease(void)
{
    char *k = u("s3://%s/%s/lease/__radi_lock", bucket, prefix);
    rdi_lock_hold a = {0}, b = {0};
    CHECK(rdi_vfs_lock(vfs, k, 1000, 0, &a) == RADI_OK, "lease taken");
    rdi_sleep_ms(2500);
    CHECK(rdi_vfs_lock(vfs, k, 1000, 0, &b) == RADI_E_BUSY, "a renewed lease is not taken over after 2.5 leases");
    rdi_error_clear();
    CHECK(rdi_vfs_unlock(&a) == RADI_OK, "lease released");
    CHECK(rdi_vfs_lock(vfs, k, 1000, 0, &b) == RADI_OK, "a released lease is taken at once");
    CHECK(rdi_vfs_unlock(&b) == RADI_OK, "second lease released");
    free(k);
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s ENDPOINT BUCKET SCENARIO [PREFIX]\n", argv[0]);
        return 2;
    }
    bucket = argv[2];
    prefix = argc > 4 ? argv[4] : "check";
    const char *sc = argv[3];
    rdi_s3_config c;
    rdi_s3_config_init(&c);
    c.endpoint = rdi_strdup(argv[1]);
    c.scheme = rdi_strdup("http");
    c.region = rdi_strdup("us-east-1");
    c.use_environment = 0;
    c.multipart_part_size = env_u64("RADI_S3_PART_SIZE", 5u << 20);
    c.max_retries = (uint32_t)env_u64("RADI_S3_MAX_RETRIES", 5);
    c.multipart_copy_threshold = env_u64("RADI_S3_COPY_THRESHOLD", (uint64_t)5 << 30);
    c.request_timeout_ms = (uint32_t)env_u64("RADI_S3_TIMEOUT_MS", 30000);
    c.connect_timeout_ms = 2000;
    c.max_parallel_ops = (uint32_t)env_u64("RADI_S3_PARALLEL", 16);
    c.use_virtual_addressing = (int)env_u64("RADI_S3_VIRTUAL", 0);
    if (getenv("RADI_S3_ACCESS_KEY")) {
        c.access_key_id = rdi_strdup(getenv("RADI_S3_ACCESS_KEY"));
        c.secret_access_key = rdi_strdup(getenv("RADI_S3_SECRET_KEY") ? getenv("RADI_S3_SECRET_KEY") : "testing-secret");
    }
    if (rdi_vfs_create(&vfs) != RADI_OK || rdi_s3_create(&c, &s3) != RADI_OK) {
        fprintf(stderr, "setup failed: %s\n", radi_errmsg());
        return 2;
    }
    rdi_s3_config_free(&c);
    rdi_vfs_set_s3(vfs, &rdi_vfs_s3_ops, s3);
    CHECK(rdi_vfs_flags(vfs, "s3://b/k") == (RDI_VFS_REMOTE | RDI_VFS_NO_RENAME), "flags");
    int all = strcmp(sc, "all") == 0;
    if (all || !strcmp(sc, "basic")) basic();
    if (all || !strcmp(sc, "multipart")) multipart();
    if (all || !strcmp(sc, "readmany")) readmany();
    if (all || !strcmp(sc, "list")) list();
    if (all || !strcmp(sc, "names")) names();
    if (all || !strcmp(sc, "kind")) kind();
    if (all || !strcmp(sc, "remove")) remove_many();
    if (all || !strcmp(sc, "move")) move();
    if (all || !strcmp(sc, "errors")) errors();
    if (all || !strcmp(sc, "threads")) threads();
    if (!strcmp(sc, "fault")) fault();
    if (!strcmp(sc, "gone")) gone();
    if (!strcmp(sc, "mpfail")) mpfail();
    if (!strcmp(sc, "bigcopy")) bigcopy();
    if (!strcmp(sc, "bigcopyfail")) bigcopyfail();
    if (all || !strcmp(sc, "deferred")) deferred();
    if (all || !strcmp(sc, "lease")) lease();
    rdi_s3_stats st;
    rdi_s3_get_stats(s3, &st);
    printf("stats requests=%llu retries=%llu bytes_in=%llu bytes_out=%llu\n", (unsigned long long)st.requests,
           (unsigned long long)st.retries, (unsigned long long)st.bytes_in, (unsigned long long)st.bytes_out);
    printf("%s: %d failure(s)\n", failures ? "FAILED" : "PASSED", failures);
    rdi_vfs_free(vfs);
    return failures ? 1 : 0;
}
