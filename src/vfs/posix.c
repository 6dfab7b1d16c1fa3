/*
 * POSIX backend: pread; whole-object writes as temporary file + fsync + rename + fsync of
 * the directory (docs/dataset.md §8.1), so an acknowledged write survives a power cut;
 * sorted directory listings.
 *
 * Temporary files never sit inside TileDB's own folders: TileDB reads every file in
 * __meta/, __group/, __schema/ and __fragment_meta/ as committed (an extra file there
 * makes the object unopenable to it). A temporary goes to the nearest ancestor folder
 * whose name does not start with "__" (the array or group root), on the same file
 * system, and is renamed into place from there.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vfs/vfs.h"

char *rdi_local_path(const char *uri)
{
    const char *p = uri;
    if (strncmp(p, "file://", 7) == 0) p += 7;
    if (p[0] == '/') return rdi_uri_normalize(p);
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd)) {
        rdi_error(RADI_E_IO, "cannot get the current directory: %s", strerror(errno));
        return NULL;
    }
    char *joined = rdi_path_join(cwd, p);
    if (!joined) return NULL;
    char *norm = rdi_uri_normalize(joined);
    free(joined);
    return norm;
}

char *rdi_absolute_uri(const char *uri)
{
    if (strstr(uri, "://") && strncmp(uri, "file://", 7) != 0) return rdi_uri_normalize(uri);
    char *path = rdi_local_path(uri);
    if (!path) return NULL;
    char *u = rdi_asprintf("file://%s", path);
    free(path);
    return u;
}

char *rdi_local_canonical(const char *uri)
{
    const char *p = strncmp(uri, "file://", 7) == 0 ? uri + 7 : uri;
    char *rp = realpath(p, NULL);
    return rp ? rp : rdi_strdup(uri);
}

static radi_status errno_status(int e)
{
    switch (e) {
    case ENOENT: case ENOTDIR: return RADI_E_NOT_FOUND;
    case EEXIST: return RADI_E_EXISTS;
    case ENOMEM: return RADI_E_NOMEM;
    default: return RADI_E_IO;
    }
}

static radi_status sys_error(const char *op, const char *path)
{
    int e = errno;
    return rdi_error(errno_status(e), "%s: %s failed: %s", path, op, strerror(e));
}

/* Whether this backend syncs (the context option vfs.posix.sync; self NULL: yes). */
static int syncing(const void *self) { return !self || ((const rdi_posix_settings *)self)->sync; }

#define WITH_PATH(uri)                         \
    char *path = rdi_local_path(uri);          \
    if (!path) return RADI_E_NOMEM

static radi_status px_read(void *self, const char *uri, uint64_t off, void *buf, uint64_t len)
{
    RDI_UNUSED(self);
    WITH_PATH(uri);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        radi_status s = sys_error("open", path);
        free(path);
        return s;
    }
    uint8_t *p = buf;
    uint64_t done = 0;
    radi_status s = RADI_OK;
    while (done < len) {
        ssize_t n = pread(fd, p + done, (size_t)RDI_MIN(len - done, (uint64_t)1 << 30),
                          (off_t)(off + done));
        if (n < 0) {
            if (errno == EINTR) continue;
            s = sys_error("read", path);
            break;
        }
        if (n == 0) {
            s = rdi_error(RADI_E_CORRUPT, "%s: truncated: wanted %llu bytes at offset %llu, file ends at %llu",
                          path, (unsigned long long)len, (unsigned long long)off,
                          (unsigned long long)(off + done));
            break;
        }
        done += (uint64_t)n;
    }
    close(fd);
    free(path);
    return s;
}

static radi_status px_size(void *self, const char *uri, uint64_t *size)
{
    RDI_UNUSED(self);
    WITH_PATH(uri);
    struct stat st;
    radi_status s = RADI_OK;
    if (stat(path, &st) != 0) s = sys_error("stat", path);
    else if (S_ISDIR(st.st_mode)) s = rdi_error(RADI_E_INVALID, "%s: is a directory", path);
    else *size = (uint64_t)st.st_size;
    free(path);
    return s;
}

/* Makes a directory entry durable: fsync of the directory that holds it. */
static radi_status sync_dir(const char *dir, int on)
{
    if (!on) return RADI_OK;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return sys_error("open directory", dir);
    radi_status s = RADI_OK;
    if (fsync(fd) != 0 && errno != EINVAL) s = sys_error("fsync directory", dir);
    close(fd);
    return s;
}

/* fsync of the directory that holds path (path is modified and restored). */
static radi_status sync_parent(char *path, int on)
{
    if (!on) return RADI_OK;
    char *slash = strrchr(path, '/');
    if (!slash) return sync_dir(".", on);
    if (slash == path) return sync_dir("/", on);
    *slash = '\0';
    radi_status s = sync_dir(path, on);
    *slash = '/';
    return s;
}

/* mkdir that makes the new entry durable (the parent is synced when one was created). */
static int mkdir_durable(char *path, int on)
{
    if (mkdir(path, 0777) != 0) return -1;
    return sync_parent(path, on) == RADI_OK ? 0 : -1;
}

static radi_status mkdir_p(char *path, int on)
{
    /* Usually the parent exists already (every file write lands here): one call then,
     * instead of one per path component. */
    if (mkdir_durable(path, on) == 0 || errno == EEXIST) return RADI_OK;
    if (errno != ENOENT) return sys_error("mkdir", path);
    for (char *p = path + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        int r = mkdir_durable(path, on);
        int e = errno;
        *p = '/';
        if (r != 0 && e != EEXIST) {
            errno = e;
            return sys_error("mkdir", path);
        }
    }
    if (mkdir_durable(path, on) != 0 && errno != EEXIST) return sys_error("mkdir", path);
    return RADI_OK;
}

/* The folder for path's temporary: the nearest ancestor not named "__*" (see the top of
 * this file). malloc'd. */
static char *temp_dir_for(const char *path)
{
    char *dir = rdi_strdup(path);
    if (!dir) return NULL;
    for (;;) {
        char *slash = strrchr(dir, '/');
        if (!slash || slash == dir) {
            if (slash) slash[1] = '\0';
            return dir;
        }
        *slash = '\0';
        const char *base = strrchr(dir, '/');
        base = base ? base + 1 : dir;
        if (strncmp(base, "__", 2) != 0) return dir;
    }
}

static radi_status px_mkdir(void *self, const char *uri)
{
    int on = syncing(self);
    RDI_UNUSED(self);
    WITH_PATH(uri);
    radi_status s = mkdir_p(path, on);
    free(path);
    return s;
}

static radi_status px_write(void *self, const char *uri, const void *data, uint64_t len)
{
    int on = syncing(self);
    RDI_UNUSED(self);
    WITH_PATH(uri);
    radi_status s = RADI_OK;
    char *tmp = NULL;
    int fd = -1;
    char label[33];
    /* The parent directory must exist; create it as object stores have no directories. */
    char *slash = strrchr(path, '/');
    if (slash && slash != path) {
        *slash = '\0';
        s = mkdir_p(path, on);
        *slash = '/';
        if (s) goto out;
    }
    if ((s = rdi_random_label(label))) goto out;
    char *tdir = temp_dir_for(path);
    tmp = tdir ? rdi_asprintf("%s/" RDI_POSIX_TEMP_PREFIX "%.12s", tdir, label) : NULL;
    free(tdir);
    if (!tmp) { s = RADI_E_NOMEM; goto out; }
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0) { s = sys_error("create", tmp); goto out; }
    const uint8_t *p = data;
    uint64_t done = 0;
    while (done < len) {
        ssize_t n = write(fd, p + done, (size_t)RDI_MIN(len - done, (uint64_t)1 << 30));
        if (n < 0) {
            if (errno == EINTR) continue;
            s = sys_error("write", tmp);
            goto out;
        }
        done += (uint64_t)n;
    }
    /* The data are durable before the name that publishes them exists. */
    if (on && fsync(fd) != 0) { s = sys_error("fsync", tmp); goto out; }
    if (close(fd) != 0) { fd = -1; s = sys_error("close", tmp); goto out; }
    fd = -1;
    if (rename(tmp, path) != 0) { s = sys_error("rename", path); goto out; }
    free(tmp);
    tmp = NULL;
    s = sync_parent(path, on);
out:
    if (fd >= 0) close(fd);
    if (tmp) { unlink(tmp); free(tmp); }
    free(path);
    return s;
}

static int cmp_dirent(const void *a, const void *b)
{
    return strcmp(((const rdi_dirent *)a)->name, ((const rdi_dirent *)b)->name);
}

static radi_status px_ls(void *self, const char *uri, rdi_dirlist *out)
{
    RDI_UNUSED(self);
    WITH_PATH(uri);
    out->items = NULL;
    out->n = 0;
    DIR *d = opendir(path);
    if (!d) {
        radi_status s = RADI_OK;
        if (errno != ENOENT) s = sys_error("list", path);
        free(path);
        return s;
    }
    size_t cap = 0;
    radi_status s = RADI_OK;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        /* An interrupted atomic write's temporary (and the older ".tmp-" form). */
        if (strncmp(e->d_name, RDI_POSIX_TEMP_PREFIX, sizeof RDI_POSIX_TEMP_PREFIX - 1) == 0 ||
            strstr(e->d_name, ".tmp-"))
            continue;
        if (out->n == cap) {
            cap = cap ? cap * 2 : 32;
            rdi_dirent *n = realloc(out->items, cap * sizeof *n);
            if (!n) { s = rdi_nomem(); break; }
            out->items = n;
        }
        rdi_dirent *it = &out->items[out->n];
        it->name = rdi_strdup(e->d_name);
        if (!it->name) { s = RADI_E_NOMEM; break; }
        out->n++;
        struct stat st;
        char *child = rdi_path_join(path, e->d_name);
        if (!child) { s = RADI_E_NOMEM; break; }
        if (stat(child, &st) == 0) {
            it->is_dir = S_ISDIR(st.st_mode);
            it->size = it->is_dir ? 0 : (uint64_t)st.st_size;
        } else {
            it->is_dir = 0;
            it->size = 0;
        }
        free(child);
    }
    closedir(d);
    free(path);
    if (s) {
        rdi_dirlist_free(out);
        return s;
    }
    if (out->n > 1) qsort(out->items, out->n, sizeof *out->items, cmp_dirent);
    return RADI_OK;
}

static radi_status px_kind(void *self, const char *uri, int *out)
{
    RDI_UNUSED(self);
    WITH_PATH(uri);
    struct stat st;
    radi_status s = RADI_OK;
    if (stat(path, &st) != 0) {
        if (errno == ENOENT || errno == ENOTDIR) *out = 0;
        else s = sys_error("stat", path);
    } else {
        *out = S_ISDIR(st.st_mode) ? 2 : 1;
    }
    free(path);
    return s;
}

static radi_status px_remove_file(void *self, const char *uri)
{
    int on = syncing(self);
    RDI_UNUSED(self);
    WITH_PATH(uri);
    radi_status s = RADI_OK;
    if (unlink(path) != 0) {
        if (errno != ENOENT) s = sys_error("remove", path);
    } else {
        s = sync_parent(path, on); /* an undone commit stays undone after a power cut */
    }
    free(path);
    return s;
}

/* Removes the temporaries that writes killed before their rename left in the directory
 * (listings hide them; the dataset journal's roll-back calls this). */
static radi_status px_remove_temps(void *self, const char *uri)
{
    RDI_UNUSED(self);
    WITH_PATH(uri);
    DIR *d = opendir(path);
    radi_status s = RADI_OK;
    if (!d) {
        if (errno != ENOENT && errno != ENOTDIR) s = sys_error("list", path);
        free(path);
        return s;
    }
    struct dirent *e;
    int removed = 0;
    while ((e = readdir(d)) && s == RADI_OK) {
        if (strncmp(e->d_name, RDI_POSIX_TEMP_PREFIX, sizeof RDI_POSIX_TEMP_PREFIX - 1) != 0) continue;
        if (unlinkat(dirfd(d), e->d_name, 0) != 0 && errno != ENOENT) s = sys_error("remove a temporary in", path);
        removed = 1;
    }
    closedir(d);
    if (s == RADI_OK && removed) s = sync_dir(path, syncing(self));
    free(path);
    return s;
}

static radi_status remove_tree(const char *path)
{
    DIR *d = opendir(path);
    if (!d) {
        if (errno == ENOENT) return RADI_OK;
        if (errno == ENOTDIR) return unlink(path) == 0 ? RADI_OK : sys_error("remove", path);
        return sys_error("list", path);
    }
    radi_status s = RADI_OK;
    struct dirent *e;
    while (s == RADI_OK && (e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        char *child = rdi_path_join(path, e->d_name);
        if (!child) { s = RADI_E_NOMEM; break; }
        struct stat st;
        if (lstat(child, &st) == 0 && S_ISDIR(st.st_mode)) s = remove_tree(child);
        else if (unlink(child) != 0 && errno != ENOENT) s = sys_error("remove", child);
        free(child);
    }
    closedir(d);
    if (s == RADI_OK && rmdir(path) != 0 && errno != ENOENT) s = sys_error("remove", path);
    return s;
}

static radi_status px_remove_dir(void *self, const char *uri)
{
    int on = syncing(self);
    RDI_UNUSED(self);
    WITH_PATH(uri);
    struct stat st;
    int existed = lstat(path, &st) == 0;
    radi_status s = remove_tree(path);
    if (s == RADI_OK && existed) s = sync_parent(path, on);
    free(path);
    return s;
}

static radi_status px_move(void *self, const char *from, const char *to)
{
    int on = syncing(self);
    RDI_UNUSED(self);
    char *src = rdi_local_path(from), *dst = rdi_local_path(to);
    radi_status s = src && dst ? RADI_OK : RADI_E_NOMEM;
    struct stat st;
    /* rename(2) would silently replace a file or an empty directory at dst. */
    if (s == RADI_OK && lstat(dst, &st) == 0)
        s = rdi_error(RADI_E_EXISTS, "%s: cannot move %s there: it already exists", dst, src);
    if (s == RADI_OK && rename(src, dst) != 0) {
        int e = errno;
        s = rdi_error(errno_status(e), "%s: move to %s failed: %s", src, dst, strerror(e));
    }
    /* Both directory entries changed: the new one first. */
    if (s == RADI_OK) s = sync_parent(dst, on);
    if (s == RADI_OK) s = sync_parent(src, on);
    free(src);
    free(dst);
    return s;
}

/* An open-file-description lock (F_OFD_SETLK): held per open file, not per process, so
 * two contexts of one process exclude each other too, and the kernel drops it when the
 * holder dies: a crashed writer never leaves the lock held. The lease is irrelevant. */
static radi_status px_lock(void *self, const char *uri, uint32_t lease_ms, void **token)
{
    int on = syncing(self);
    RDI_UNUSED(lease_ms);
    WITH_PATH(uri);
    radi_status s = RADI_OK;
    char *slash = strrchr(path, '/');
    if (slash && slash != path) {
        *slash = '\0';
        s = mkdir_p(path, on);
        *slash = '/';
    }
    int fd = s == RADI_OK ? open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666) : -1;
    if (s == RADI_OK && fd < 0) s = sys_error("open lock file", path);
    if (s == RADI_OK) {
        struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
        if (fcntl(fd, F_OFD_SETLK, &fl) != 0) {
            int e = errno;
            s = e == EAGAIN || e == EACCES ? RADI_E_BUSY : (errno = e, sys_error("lock", path));
        }
    }
    if (s != RADI_OK) {
        if (fd >= 0) close(fd);
        free(path);
        return s;
    }
    int *tok = rdi_malloc(sizeof *tok);
    if (!tok) {
        close(fd);
        free(path);
        return RADI_E_NOMEM;
    }
    *tok = fd;
    *token = tok;
    free(path);
    return RADI_OK;
}

static radi_status px_unlock(void *self, void *token)
{
    RDI_UNUSED(self);
    int *fd = token;
    if (fd) close(*fd); /* closing the description releases its lock */
    free(fd);
    return RADI_OK;
}

const rdi_vfs_ops rdi_vfs_posix_ops = {
    .name = "posix",
    .read = px_read,
    .size = px_size,
    .write = px_write,
    .ls = px_ls,
    .kind = px_kind,
    .mkdir = px_mkdir,
    .remove_file = px_remove_file,
    .remove_dir = px_remove_dir,
    .move = px_move,
    .destroy = NULL,
    .lock = px_lock,
    .unlock = px_unlock,
    .remove_temps = px_remove_temps,
};
