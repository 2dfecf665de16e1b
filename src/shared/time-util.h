/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Microsecond clocks, as sd-event and the D-Bus API count time. */
#pragma once

#include <inttypes.h>
#include <stdint.h>
#include <time.h>

typedef uint64_t usec_t;

#define USEC_PER_SEC UINT64_C(1000000)
#define USEC_PER_MSEC UINT64_C(1000)
#define NSEC_PER_USEC UINT64_C(1000)
#define USEC_FMT "%" PRIu64

static inline usec_t now(clockid_t clock) {
        struct timespec ts;

        if (clock_gettime(clock, &ts) < 0)
                return 0;
        return (usec_t) ts.tv_sec * USEC_PER_SEC + (usec_t) ts.tv_nsec / NSEC_PER_USEC;
}
