/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Whole-file reads with a size cap, and atomic, durable file replacement. */
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "fileio.h"
#include "macro.h"

#define READ_CHUNK_MIN 4096U

int read_full_file(const char *path, size_t max_size, char **ret, size_t *ret_size) {
        _cleanup_free_ char *buffer = NULL;
        _cleanup_close_ int fd = -EBADF;
        size_t size = 0, allocated = 0;
        struct stat st;

        if (!path || !ret)
                return -EINVAL;
        /* Room for the one byte past the cap that tells "too large" apart, and the NUL. */
        if (max_size > (size_t) SSIZE_MAX - 2)
                max_size = (size_t) SSIZE_MAX - 2;

        /* O_NONBLOCK: a FIFO put at the path must not stall the caller until someone writes to it. */
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return negative_errno();
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (S_ISDIR(st.st_mode))
                return -EISDIR;
        if (!S_ISREG(st.st_mode))
                return -EBADFD;

        for (;;) {
                ssize_t n;

                if (allocated - size < 2) {
                        size_t want;
                        char *p;

                        /* A regular file's size is a good first guess; it may still change while we read. */
                        if (!buffer && S_ISREG(st.st_mode) && st.st_size > 0)
                                want = (size_t) MIN((uint64_t) st.st_size, (uint64_t) max_size) + 2;
                        else
                                want = MIN(MAX(allocated * 2, (size_t) READ_CHUNK_MIN), max_size + 2);

                        p = realloc(buffer, want);
                        if (!p)
                                return -ENOMEM;
                        buffer = p;
                        allocated = want;
                }

                /* Never more than max_size + 1 bytes in total, always one byte left for the NUL. */
                n = read(fd, buffer + size, MIN(allocated - size - 1, max_size + 1 - size));
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (n == 0)
                        break;
                size += (size_t) n;
                if (size > max_size)
                        return -EFBIG;
        }

        buffer[size] = 0;

        if (!ret_size && memchr(buffer, 0, size))
                return -EBADMSG;

        *ret = TAKE_PTR(buffer);
        if (ret_size)
                *ret_size = size;
        return 0;
}

/* Splits path into its directory ("." when it has none) and its last component. */
static int path_split(const char *path, char **ret_dir, const char **ret_name) {
        const char *slash = strrchr(path, '/');
        const char *name = slash ? slash + 1 : path;
        char *dir;

        if (!*name || streq(name, ".") || streq(name, ".."))
                return -EINVAL;

        if (!slash)
                dir = strdup(".");
        else if (slash == path)
                dir = strdup("/");
        else
                dir = strndup(path, (size_t) (slash - path));
        if (!dir)
                return -ENOMEM;

        *ret_dir = dir;
        *ret_name = name;
        return 0;
}

static int fsync_directory(const char *dir) {
        _cleanup_close_ int fd = -EBADF;

        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        if (fsync(fd) < 0)
                return negative_errno();
        return 0;
}

int fsync_directory_of(const char *path) {
        _cleanup_free_ char *dir = NULL;
        const char *name;
        int r;

        if (!path)
                return -EINVAL;

        r = path_split(path, &dir, &name);
        if (r < 0)
                return r;

        return fsync_directory(dir);
}

static int write_all(int fd, const void *data, size_t size) {
        const char *p = data;

        while (size > 0) {
                ssize_t n = write(fd, p, MIN(size, (size_t) SSIZE_MAX));

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (n == 0)
                        return -EIO;
                p += n;
                size -= (size_t) n;
        }
        return 0;
}

/* Unlinks the temporary file when the function that made it returns early. */
static void unlink_and_freep(char **p) {
        if (*p) {
                int saved = errno;
                (void) unlink(*p);
                errno = saved;
                free(*p);
        }
}

int write_file_atomic(const char *path, const void *data, size_t size, mode_t mode) {
        _cleanup_(unlink_and_freep) char *temp = NULL;
        _cleanup_free_ char *dir = NULL;
        _cleanup_close_ int fd = -EBADF;
        const char *name;
        int r;

        if (!path || (!data && size > 0) || (mode & ~(mode_t) 07777))
                return -EINVAL;

        r = path_split(path, &dir, &name);
        if (r < 0)
                return r;

        /* Beside the target, so that the rename stays within one file system. */
        if (asprintf(&temp, "%.*s.#%s.XXXXXX", (int) (name - path), path, name) < 0) {
                temp = NULL;
                return -ENOMEM;
        }

        fd = mkostemp(temp, O_CLOEXEC);
        if (fd < 0) {
                r = negative_errno();
                /* Nothing was created; nothing to unlink. */
                free(TAKE_PTR(temp));
                return r;
        }

        r = write_all(fd, data, size);
        if (r < 0)
                return r;
        if (fchmod(fd, mode) < 0)
                return negative_errno();
        if (fsync(fd) < 0)
                return negative_errno();
        /* close() may report a deferred write error (NFS); the descriptor is gone either way. */
        if (close(TAKE_FD(fd)) < 0)
                return negative_errno();

        if (rename(temp, path) < 0)
                return negative_errno();
        /* The temporary name is gone with the rename. */
        free(TAKE_PTR(temp));

        return fsync_directory(dir);
}
