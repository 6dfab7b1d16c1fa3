/*
 * LD_PRELOAD shim for the crash test (tests/python/test_crash.py): counts the calls that
 * change files below a path prefix — open for writing, write, fsync, rename, mkdir,
 * unlink, rmdir — and kills the process with SIGKILL just before the N-th one, so a test
 * can stop a writer at every step it takes, in turn, the way a power cut or an OOM kill
 * would (no handler, no cleanup, no flush).
 *
 *   RADI_KILL_PREFIX  only paths starting with it (and fds opened on them) count
 *   RADI_KILL_AT      1-based index of the call to die before; unset or 0 = never
 *   RADI_KILL_COUNT   file that receives the number of counted calls at a normal exit
 *                     (a dry run tells the test how many kill points an operation has)
 *
 * Reads are not counted: they cannot leave anything behind.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#define MAX_FD 65536

static const char *prefix;
static size_t prefix_len;
static unsigned long kill_at;
static atomic_ulong counted;
static atomic_uchar tracked[MAX_FD]; /* fds opened for writing below the prefix */

__attribute__((constructor)) static void init(void)
{
    prefix = getenv("RADI_KILL_PREFIX");
    prefix_len = prefix ? strlen(prefix) : 0;
    const char *k = getenv("RADI_KILL_AT");
    kill_at = k ? strtoul(k, NULL, 10) : 0;
}

__attribute__((destructor)) static void fini(void)
{
    const char *f = getenv("RADI_KILL_COUNT");
    if (!f) return;
    FILE *o = fopen(f, "w");
    if (!o) return;
    fprintf(o, "%lu\n", (unsigned long)atomic_load(&counted));
    fclose(o);
}

static int below(const char *path)
{
    if (!prefix_len || !path) return 0;
    if (path[0] != '/') {
        /* Relative paths: resolve against the working directory for the comparison. */
        char cwd[4096];
        if (!getcwd(cwd, sizeof cwd)) return 0;
        size_t n = strlen(cwd);
        if (n >= prefix_len) return strncmp(cwd, prefix, prefix_len) == 0;
        return strncmp(prefix, cwd, n) == 0 && prefix[n] == '/' &&
               strncmp(path, prefix + n + 1, prefix_len - n - 1) == 0;
    }
    return strncmp(path, prefix, prefix_len) == 0;
}

/* A dirfd-relative path: resolved through /proc/self/fd (tree removal uses unlinkat). */
static int below_at(int dirfd, const char *path)
{
    if (!path || path[0] == '/' || dirfd == AT_FDCWD) return below(path);
    char link[64], dir[4096], full[8192];
    snprintf(link, sizeof link, "/proc/self/fd/%d", dirfd);
    ssize_t n = readlink(link, dir, sizeof dir - 1);
    if (n <= 0) return 0;
    dir[n] = 0;
    snprintf(full, sizeof full, "%s/%s", dir, path);
    return below(full);
}

static void step(void)
{
    unsigned long n = atomic_fetch_add(&counted, 1) + 1;
    if (kill_at && n == kill_at) raise(SIGKILL);
}

static int fd_tracked(int fd) { return fd >= 0 && fd < MAX_FD && atomic_load(&tracked[fd]); }

/* The next definition of `name` (libc's), looked up once. */
#define REAL(name)                                                                                  \
    static __typeof__(name) *real_##name;                                                           \
    if (!real_##name) *(void **)&real_##name = dlsym(RTLD_NEXT, #name)

static int opened(int fd, int flags, const char *path)
{
    if (fd >= 0 && fd < MAX_FD) atomic_store(&tracked[fd], (flags & (O_WRONLY | O_RDWR | O_CREAT)) && below(path));
    return fd;
}

static int writes(int flags) { return (flags & (O_WRONLY | O_RDWR | O_CREAT)) != 0; }

/* The optional mode argument of the open family (present with O_CREAT or O_TMPFILE). */
#define MODE_ARG(flags, mode)                  \
    mode_t mode = 0;                           \
    if ((flags) & (O_CREAT | O_TMPFILE)) {     \
        va_list ap;                            \
        va_start(ap, flags);                   \
        mode = va_arg(ap, mode_t);             \
        va_end(ap);                            \
    }

/* open and open64: the same call under two names. */
#define OPEN_WRAPPER(name)                                         \
    int name(const char *path, int flags, ...)                     \
    {                                                              \
        REAL(name);                                                \
        MODE_ARG(flags, mode);                                     \
        if (writes(flags) && below(path)) step();                  \
        return opened(real_##name(path, flags, mode), flags, path); \
    }

OPEN_WRAPPER(open)
OPEN_WRAPPER(open64)

int openat(int dirfd, const char *path, int flags, ...)
{
    REAL(openat);
    MODE_ARG(flags, mode);
    int hit = writes(flags) && below_at(dirfd, path);
    if (hit) step();
    int fd = real_openat(dirfd, path, flags, mode);
    if (fd >= 0 && fd < MAX_FD) atomic_store(&tracked[fd], hit);
    return fd;
}

int close(int fd)
{
    REAL(close);
    if (fd >= 0 && fd < MAX_FD) atomic_store(&tracked[fd], 0);
    return real_close(fd);
}

ssize_t write(int fd, const void *buf, size_t n)
{
    REAL(write);
    if (fd_tracked(fd)) step();
    return real_write(fd, buf, n);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
    REAL(pwrite);
    if (fd_tracked(fd)) step();
    return real_pwrite(fd, buf, n, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off)
{
    REAL(pwrite64);
    if (fd_tracked(fd)) step();
    return real_pwrite64(fd, buf, n, off);
}

int fsync(int fd)
{
    REAL(fsync);
    if (fd_tracked(fd)) step();
    return real_fsync(fd);
}

int fdatasync(int fd)
{
    REAL(fdatasync);
    if (fd_tracked(fd)) step();
    return real_fdatasync(fd);
}

int rename(const char *a, const char *b)
{
    REAL(rename);
    if (below(a) || below(b)) step();
    return real_rename(a, b);
}

int renameat(int da, const char *a, int db, const char *b)
{
    REAL(renameat);
    if (below_at(da, a) || below_at(db, b)) step();
    return real_renameat(da, a, db, b);
}

int renameat2(int da, const char *a, int db, const char *b, unsigned flags)
{
    REAL(renameat2);
    if (below_at(da, a) || below_at(db, b)) step();
    return real_renameat2(da, a, db, b, flags);
}

int mkdir(const char *path, mode_t mode)
{
    REAL(mkdir);
    if (below(path)) step();
    return real_mkdir(path, mode);
}

int mkdirat(int dirfd, const char *path, mode_t mode)
{
    REAL(mkdirat);
    if (below_at(dirfd, path)) step();
    return real_mkdirat(dirfd, path, mode);
}

int unlink(const char *path)
{
    REAL(unlink);
    if (below(path)) step();
    return real_unlink(path);
}

int unlinkat(int dirfd, const char *path, int flags)
{
    REAL(unlinkat);
    if (below_at(dirfd, path)) step();
    return real_unlinkat(dirfd, path, flags);
}

int rmdir(const char *path)
{
    REAL(rmdir);
    if (below(path)) step();
    return real_rmdir(path);
}
