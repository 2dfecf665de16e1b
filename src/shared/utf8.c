/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Strict UTF-8 validation. */
#include <stdint.h>
#include <string.h>

#include "utf8.h"

bool utf8_is_valid(const char *s, size_t n, size_t *ret_offset) {
        const unsigned char *p = (const unsigned char *) s;
        size_t i = 0;

        while (i < n) {
                uint64_t chunk;
                unsigned char c = p[i];
                size_t len;
                unsigned char lo = 0x80, hi = 0xBF;

                /* Configurations are nearly all ASCII: skip eight bytes at a time while we can. */
                if (i + 8 <= n) {
                        memcpy(&chunk, p + i, 8);
                        if ((chunk & UINT64_C(0x8080808080808080)) == 0) {
                                i += 8;
                                continue;
                        }
                }

                if (c < 0x80) {
                        i++;
                        continue;
                }
                if (c >= 0xC2 && c <= 0xDF)
                        len = 2;
                else if (c >= 0xE0 && c <= 0xEF) {
                        len = 3;
                        if (c == 0xE0)
                                lo = 0xA0; /* no overlong forms */
                        else if (c == 0xED)
                                hi = 0x9F; /* no surrogates */
                } else if (c >= 0xF0 && c <= 0xF4) {
                        len = 4;
                        if (c == 0xF0)
                                lo = 0x90;
                        else if (c == 0xF4)
                                hi = 0x8F; /* nothing past U+10FFFF */
                } else
                        goto bad;

                if (i + len > n || p[i + 1] < lo || p[i + 1] > hi)
                        goto bad;
                for (size_t j = 2; j < len; j++)
                        if (p[i + j] < 0x80 || p[i + j] > 0xBF)
                                goto bad;
                i += len;
        }
        return true;

bad:
        if (ret_offset)
                *ret_offset = i;
        return false;
}
