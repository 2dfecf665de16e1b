/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A bump allocator: many small immutable objects freed in one go, with little overhead per object. */
#pragma once

#include <stddef.h>

#include "macro.h"

typedef struct Arena Arena;

Arena *arena_new(void);
Arena *arena_free(Arena *a);
DEFINE_TRIVIAL_CLEANUP_FUNC(Arena *, arena_free);

/* Returns zeroed memory aligned for any object, or NULL on allocation failure. */
void *arena_alloc(Arena *a, size_t size);
char *arena_strndup(Arena *a, const char *s, size_t n);
char *arena_strdup(Arena *a, const char *s);
void *arena_memdup(Arena *a, const void *p, size_t size);
/* Bytes handed out and bytes reserved, for memory accounting. */
size_t arena_used(const Arena *a) _pure_;
size_t arena_reserved(const Arena *a) _pure_;
