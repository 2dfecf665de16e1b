/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A minimal TAP producer for the unit tests: each check is one "ok"/"not ok" line, failures say why. */
#pragma once

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static unsigned tap_count, tap_failed;

static inline bool tap_result(bool ok, const char *file, int line, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
static inline bool tap_result(bool ok, const char *file, int line, const char *fmt, ...) {
        va_list ap;

        tap_count++;
        printf("%s %u - ", ok ? "ok" : "not ok", tap_count);
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        putchar('\n');
        if (!ok) {
                tap_failed++;
                printf("#   failed at %s:%d\n", file, line);
        }
        fflush(stdout);
        return ok;
}

#define ok(cond, ...) tap_result(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

#define is_int(got, expected, ...)                                                                           \
        __extension__({                                                                                      \
                long long _g = (long long) (got), _e = (long long) (expected);                               \
                bool _r = tap_result(_g == _e, __FILE__, __LINE__, __VA_ARGS__);                             \
                if (!_r)                                                                                     \
                        printf("#   got %lld, expected %lld\n", _g, _e);                                     \
                _r;                                                                                          \
        })

#define is_str(got, expected, ...)                                                                           \
        __extension__({                                                                                      \
                const char *_g = (got), *_e = (expected);                                                    \
                bool _r = tap_result(_g && _e ? strcmp(_g, _e) == 0 : _g == _e, __FILE__, __LINE__,          \
                                     __VA_ARGS__);                                                           \
                if (!_r)                                                                                     \
                        printf("#   got '%s', expected '%s'\n", _g ? _g : "(null)", _e ? _e : "(null)");     \
                _r;                                                                                          \
        })

static inline int tap_done(void) {
        printf("1..%u\n", tap_count);
        if (tap_failed > 0)
                printf("# %u of %u checks failed\n", tap_failed, tap_count);
        return tap_failed > 0 ? 1 : 0;
}
