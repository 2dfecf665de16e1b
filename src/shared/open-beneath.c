/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Opening a file beneath a directory so that neither '..' nor a symbolic link can lead out of it. */
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "macro.h"
#include "open-beneath.h"

/* The kernel may answer EAGAIN to a RESOLVE_* lookup that raced with a rename or mount. */
#define OPEN_ATTEMPTS_MAX 8U
/* As the kernel's own limit on symbolic links in one lookup. */
#define SYMLINKS_MAX 40U

static bool force_walk = false;
static bool openat2_missing = false;

void open_beneath_force_walk(bool b) {
        force_walk = b;
}

typedef struct DirStack {
        int *fds;
        size_t n;
        size_t allocated;
} DirStack;

static void dir_stack_done(DirStack *s) {
        for (size_t i = 0; i < s->n; i++)
                safe_close(s->fds[i]);
        free(s->fds);
}

static int dir_stack_push(DirStack *s, int fd) {
        if (s->n >= s->allocated) {
                size_t n = MAX(s->allocated * 2, (size_t) 8);
                int *fds = reallocarray(s->fds, n, sizeof(int));

                if (!fds)
                        return -ENOMEM;
                s->fds = fds;
                s->allocated = n;
        }
        s->fds[s->n++] = fd;
        return 0;
}

/* The walk: each component is opened with O_PATH|O_NOFOLLOW beneath the directory reached so far, '..'
 * pops that stack (never past dir_fd), and a symbolic link's target is spliced in front of what is left
 * (an absolute one is a way out). The file itself is opened with O_NOFOLLOW, so a component swapped for a
 * link after it was looked at fails with ELOOP rather than being followed. */
static int open_beneath_walk(int dir_fd, const char *path, int flags) {
        _cleanup_(dir_stack_done) DirStack stack = { 0 };
        _cleanup_free_ char *remaining = strdup(path);
        unsigned links = 0;
        const char *p;
        int k;

        if (!remaining)
                return -ENOMEM;
        if (path[0] == '/')
                return -EXDEV;
        p = remaining;

        for (;;) {
                int cur = stack.n > 0 ? stack.fds[stack.n - 1] : dir_fd;
                char name[NAME_MAX + 1];
                const char *end;
                struct stat st;
                bool last;
                int fd;

                p += strspn(p, "/");
                if (!*p) {
                        /* The path named a directory: open it as the caller asked. */
                        fd = openat(cur, ".", flags | O_CLOEXEC);
                        return fd < 0 ? negative_errno() : fd;
                }

                end = strchrnul(p, '/');
                if ((size_t) (end - p) > NAME_MAX)
                        return -ENAMETOOLONG;
                memcpy(name, p, (size_t) (end - p));
                name[end - p] = 0;
                p = end;
                last = p[strspn(p, "/")] == 0 && *p == 0;

                if (streq(name, "."))
                        continue;
                if (streq(name, "..")) {
                        if (stack.n == 0)
                                return -EXDEV;
                        stack.n--;
                        stack.fds[stack.n] = safe_close(stack.fds[stack.n]);
                        continue;
                }

                fd = openat(cur, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0)
                        return negative_errno();
                if (fstat(fd, &st) < 0) {
                        k = negative_errno();
                        safe_close(fd);
                        return k;
                }

                if (S_ISLNK(st.st_mode)) {
                        char target[PATH_MAX];
                        char *spliced;
                        ssize_t n;

                        n = readlinkat(fd, "", target, sizeof(target) - 1);
                        k = n < 0 ? negative_errno() : 0;
                        safe_close(fd);
                        if (k < 0)
                                return k;
                        if (++links > SYMLINKS_MAX)
                                return -ELOOP;
                        target[n] = 0;
                        if (target[0] == '/')
                                return -EXDEV;

                        if (asprintf(&spliced, "%s/%s", target, p) < 0)
                                return -ENOMEM;
                        free(remaining);
                        remaining = spliced;
                        p = remaining;
                        continue;
                }

                if (last) {
                        safe_close(fd);
                        fd = openat(cur, name, flags | O_NOFOLLOW | O_CLOEXEC);
                        return fd < 0 ? negative_errno() : fd;
                }

                if (!S_ISDIR(st.st_mode)) {
                        safe_close(fd);
                        return -ENOTDIR;
                }
                k = dir_stack_push(&stack, fd);
                if (k < 0) {
                        safe_close(fd);
                        return k;
                }
        }
}

int open_beneath(int dir_fd, const char *path, int flags) {
        struct open_how how = {
                .flags = (uint64_t) (flags | O_CLOEXEC),
                .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
        };

        if (force_walk || openat2_missing)
                return open_beneath_walk(dir_fd, path, flags);

        for (unsigned attempt = 1;; attempt++) {
                long fd = syscall(SYS_openat2, dir_fd, path, &how, sizeof(how));

                if (fd >= 0)
                        return (int) fd;
                if (errno == ENOSYS) {
                        /* An old kernel, or a seccomp filter that does not know openat2(): walk. */
                        openat2_missing = true;
                        return open_beneath_walk(dir_fd, path, flags);
                }
                if ((errno != EAGAIN && errno != EINTR) || attempt >= OPEN_ATTEMPTS_MAX)
                        return negative_errno();
        }
}
