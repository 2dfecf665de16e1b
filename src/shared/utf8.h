/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Strict UTF-8 validation. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* True if s[0..n) is well-formed UTF-8 (no overlong forms, surrogates or code points past U+10FFFF).
 * Otherwise false, with the offset of the first bad byte in ret_offset if not NULL. */
bool utf8_is_valid(const char *s, size_t n, size_t *ret_offset);
