/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Whole-file reads with a size cap, and atomic, durable file replacement. */
#pragma once

#include <stddef.h>
#include <sys/types.h>

/* Reads the whole file into a NUL-terminated buffer, reading at most max_size + 1 bytes: a longer file fails
 * with -EFBIG. When ret_size is NULL the contents must not hold a NUL byte (-EBADMSG), since the caller
 * could not tell where they end. A directory fails with -EISDIR, any other non-regular file with -EBADFD
 * (opened without blocking, so a FIFO does not stall the caller). */
int read_full_file(const char *path, size_t max_size, char **ret, size_t *ret_size);

/* Replaces path with the given contents so that a reader (or a crash) sees either the old file or the new
 * one, never a mix: writes a temporary ".#NAME.XXXXXX" beside it, sets its mode to exactly mode (whatever
 * the umask), fsyncs it, renames it over path and fsyncs the directory. On failure before the rename the
 * temporary file is removed and path is untouched. A failure of the final directory fsync is returned
 * too; the new contents are then in place but may not survive a crash. A symlink at path is replaced,
 * not followed. */
int write_file_atomic(const char *path, const void *data, size_t size, mode_t mode);

/* Makes the directory entries of the directory holding path durable (after a rename or an unlink). */
int fsync_directory_of(const char *path);
