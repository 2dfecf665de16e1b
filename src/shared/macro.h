/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Small portable helpers: scope-bound cleanup, ownership transfer, array sizes. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _pure_ __attribute__((pure))
#define _sentinel_ __attribute__((sentinel))
#define _const_ __attribute__((const))
#define _likely_(x) (__builtin_expect(!!(x), 1))
#define _unlikely_(x) (__builtin_expect(!!(x), 0))
#define _warn_unused_result_ __attribute__((warn_unused_result))

/* Enough room for any integer type's decimal form, sign and NUL included. */
#define DECIMAL_STR_MAX(type)                                                                               \
        (2 + (sizeof(type) <= 1 ? 3 : sizeof(type) <= 2 ? 5 : sizeof(type) <= 4 ? 10 : 20))

#define UID_INVALID ((uid_t) -1)
#define GID_INVALID ((gid_t) -1)

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

#define XCONCATENATE(x, y) x##y
#define CONCATENATE(x, y) XCONCATENATE(x, y)
#define UNIQ_T(x, uniq) CONCATENATE(__unique_prefix_, CONCATENATE(x, uniq))

#define MIN(a, b) __MIN(__COUNTER__, (a), (b))
#define __MIN(uniq, a, b)                                                                                   \
        __extension__({                                                                                     \
                __typeof__(a) UNIQ_T(A, uniq) = (a);                                                        \
                __typeof__(b) UNIQ_T(B, uniq) = (b);                                                        \
                UNIQ_T(A, uniq) < UNIQ_T(B, uniq) ? UNIQ_T(A, uniq) : UNIQ_T(B, uniq);                      \
        })
#define MAX(a, b) __MAX(__COUNTER__, (a), (b))
#define __MAX(uniq, a, b)                                                                                   \
        __extension__({                                                                                     \
                __typeof__(a) UNIQ_T(A, uniq) = (a);                                                        \
                __typeof__(b) UNIQ_T(B, uniq) = (b);                                                        \
                UNIQ_T(A, uniq) > UNIQ_T(B, uniq) ? UNIQ_T(A, uniq) : UNIQ_T(B, uniq);                      \
        })

/* Returns the value of a variable and resets it, handing ownership to the caller. */
#define TAKE_GENERIC(var, null)                                                                             \
        __extension__({                                                                                     \
                __typeof__(var) *_pvar = &(var);                                                            \
                __typeof__(var) _val = *_pvar;                                                              \
                *_pvar = (null);                                                                            \
                _val;                                                                                       \
        })
#define TAKE_PTR(p) TAKE_GENERIC(p, NULL)
#define TAKE_FD(fd) TAKE_GENERIC(fd, -EBADF)

/* Defines a function suitable for _cleanup_() that calls func(*p) when *p is not NULL. */
#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func)                                                             \
        static inline void func##p(type *p) {                                                               \
                if (*p)                                                                                     \
                        func(*p);                                                                           \
        }                                                                                                   \
        struct __useless_struct_to_allow_trailing_semicolon__

static inline void freep(void *p) {
        free(*(void **) p);
}
#define _cleanup_free_ _cleanup_(freep)

static inline int safe_close(int fd) {
        if (fd >= 0) {
                int saved = errno;
                (void) close(fd);
                errno = saved;
        }
        return -EBADF;
}
static inline void closep(int *fd) {
        *fd = safe_close(*fd);
}
#define _cleanup_close_ _cleanup_(closep)

static inline void fclosep(FILE **f) {
        if (*f)
                (void) fclose(*f);
}
#define _cleanup_fclose_ _cleanup_(fclosep)

/* Errors travel as negative errno values; this turns a libc -1/errno failure into one. */
static inline int negative_errno(void) {
        return errno > 0 ? -errno : -EIO;
}

#define streq(a, b) (strcmp((a), (b)) == 0)
#define strneq(a, b, n) (strncmp((a), (b), (n)) == 0)

#define container_of(ptr, type, member)                                                                     \
        __extension__({                                                                                     \
                const __typeof__(((type *) 0)->member) *_mptr = (ptr);                                      \
                (type *) ((char *) _mptr - offsetof(type, member));                                         \
        })

/* True if x equals one of the listed constants. */
#define IN_SET(x, first, ...)                                                                               \
        __extension__({                                                                                     \
                const __typeof__(first) _in_set_values[] = { first, __VA_ARGS__ };                          \
                const __typeof__(x) _in_set_x = (x);                                                        \
                bool _in_set_found = false;                                                                 \
                for (size_t _i = 0; _i < ELEMENTSOF(_in_set_values); _i++)                                  \
                        if (_in_set_values[_i] == _in_set_x) {                                              \
                                _in_set_found = true;                                                       \
                                break;                                                                      \
                        }                                                                                   \
                _in_set_found;                                                                              \
        })
