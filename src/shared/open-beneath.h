/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Opening a file beneath a directory so that neither '..' nor a symbolic link can lead out of it. */
#pragma once

#include <stdbool.h>

/* Opens path relative to dir_fd with flags (O_CLOEXEC is added), refusing every way out of dir_fd as
 * openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS) does; where the kernel or a seccomp filter has no
 * openat2(), with an equivalent walk one component at a time. Returns the fd or a negative errno: -EXDEV
 * for a way out ('..' above dir_fd, an absolute symbolic link), -ELOOP for too many symbolic links, else
 * what open() would say. */
int open_beneath(int dir_fd, const char *path, int flags);

/* For tests: always take the walk, as on a kernel without openat2(). */
void open_beneath_force_walk(bool b);
