/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* "Did you mean" suggestions for mistyped names. */
#pragma once

#include <stddef.h>

/* Returns the candidate closest to the word by edit distance if it is close enough to be a likely typo,
 * else NULL. candidates is NULL-terminated. */
const char *suggest_closest(const char *word, size_t n, const char *const *candidates);
