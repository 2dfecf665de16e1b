/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* "Did you mean" suggestions for mistyped names. */
#include <stdint.h>
#include <string.h>

#include "macro.h"
#include "suggest.h"

#define SUGGEST_WORD_MAX 64U

/* Optimal string alignment distance (Levenshtein plus adjacent transpositions), on bytes. */
static size_t edit_distance(const char *a, size_t n, const char *b, size_t m) {
        size_t rows[3][SUGGEST_WORD_MAX + 1];
        size_t *prev2 = rows[0], *prev = rows[1], *cur = rows[2];

        for (size_t j = 0; j <= m; j++)
                prev[j] = j;

        for (size_t i = 1; i <= n; i++) {
                cur[0] = i;
                for (size_t j = 1; j <= m; j++) {
                        size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
                        size_t d = MIN(MIN(prev[j] + 1, cur[j - 1] + 1), prev[j - 1] + cost);

                        if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                                d = MIN(d, prev2[j - 2] + 1);
                        cur[j] = d;
                }
                size_t *t = prev2;
                prev2 = prev;
                prev = cur;
                cur = t;
        }
        return prev[m];
}

const char *suggest_closest(const char *word, size_t n, const char *const *candidates) {
        const char *best = NULL;
        size_t best_distance = SIZE_MAX;

        if (n == 0 || n > SUGGEST_WORD_MAX)
                return NULL;

        for (; *candidates; candidates++) {
                size_t m = strlen(*candidates);
                size_t d;

                if (m > SUGGEST_WORD_MAX)
                        continue;
                d = edit_distance(word, n, *candidates, m);
                if (d < best_distance) {
                        best_distance = d;
                        best = *candidates;
                }
        }

        /* One edit for short words, about a third of the length for longer ones. */
        if (best && best_distance > 0 && best_distance <= MAX((size_t) 1, MIN(n, strlen(best)) / 3))
                return best;
        return NULL;
}
