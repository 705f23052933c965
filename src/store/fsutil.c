/* store/fsutil: the few file-system operations the store's durability rests
 * on — write fully, fsync a directory after creating or renaming in it,
 * atomic replace (temp + fsync + rename + fsync dir), recursive removal.
 * A full disk is BRAID_ENOSPC, any other failure BRAID_EIO. Owns no state.
 * Never follows symlinks when removing. */
#include "internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

int fs_path(char *out, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, cap, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= cap)
        return BRAID_EINVAL;
    return 0;
}

bool fs_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

int fs_mkdir(const char *path, bool *created)
{
    if (created)
        *created = false;
    if (mkdir(path, 0755) == 0) {
        if (created)
            *created = true;
        return 0;
    }
    if (errno != EEXIST)
        return braid_err_from_errno(errno);
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return BRAID_EIO;
    return 0;
}

int fs_fsync_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return BRAID_EIO;
    int rc = fsync(fd) == 0 ? 0 : braid_err_from_errno(errno);
    close(fd);
    return rc;
}

int fs_write_all(int fd, const void *p, size_t n)
{
    const uint8_t *q = p;
    while (n > 0) {
        ssize_t w = write(fd, q, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return braid_err_from_errno(errno);
        }
        q += w;
        n -= (size_t)w;
    }
    return 0;
}

int fs_read_file(const char *path, uint8_t **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? BRAID_ENOTFOUND : BRAID_EIO;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return BRAID_EIO;
    }
    size_t n = (size_t)st.st_size;
    uint8_t *p = malloc(n ? n : 1);
    if (!p) {
        close(fd);
        return BRAID_ENOMEM;
    }
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, p + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    if (got != n) {
        free(p);
        return BRAID_EIO;
    }
    *out = p;
    *len = n;
    return 0;
}

int fs_write_atomic(const char *dir, const char *name, const void *p, size_t n)
{
    char tmp[4096], dst[4096];
    if (fs_path(tmp, sizeof tmp, "%s/%s.tmp", dir, name) ||
        fs_path(dst, sizeof dst, "%s/%s", dir, name))
        return BRAID_EINVAL;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return braid_err_from_errno(errno);
    int rc = fs_write_all(fd, p, n);
    if (rc == 0 && fsync(fd) != 0)
        rc = braid_err_from_errno(errno);
    if (close(fd) != 0 && rc == 0)
        rc = braid_err_from_errno(errno);
    if (rc == 0 && rename(tmp, dst) != 0)
        rc = braid_err_from_errno(errno);
    if (rc != 0) {
        unlink(tmp);
        return rc;
    }
    return fs_fsync_dir(dir);
}

int fs_rm_rf(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 0 : BRAID_EIO;
    if (!S_ISDIR(st.st_mode))
        return unlink(path) == 0 || errno == ENOENT ? 0 : BRAID_EIO;
    DIR *d = opendir(path);
    if (!d)
        return BRAID_EIO;
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char sub[4096];
        if (fs_path(sub, sizeof sub, "%s/%s", path, e->d_name)) {
            rc = BRAID_EINVAL;
            continue;
        }
        int r = fs_rm_rf(sub);
        if (r && !rc)
            rc = r;
    }
    closedir(d);
    if (rmdir(path) != 0 && errno != ENOENT && !rc)
        rc = BRAID_EIO;
    return rc;
}
