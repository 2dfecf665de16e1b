/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A bump allocator: many small immutable objects freed in one go, with little overhead per object. */
#include <stdalign.h>
#include <stdint.h>
#include <string.h>

#include "arena.h"

#define ARENA_CHUNK_MIN (64U * 1024U)

typedef struct Chunk {
        struct Chunk *next;
        size_t size; /* usable bytes in data[] */
        size_t used;
        alignas(max_align_t) unsigned char data[];
} Chunk;

struct Arena {
        Chunk *chunks; /* newest first */
        size_t used;
        size_t reserved;
};

Arena *arena_new(void) {
        return calloc(1, sizeof(Arena));
}

Arena *arena_free(Arena *a) {
        if (!a)
                return NULL;

        while (a->chunks) {
                Chunk *next = a->chunks->next;
                free(a->chunks);
                a->chunks = next;
        }
        free(a);
        return NULL;
}

void *arena_alloc(Arena *a, size_t size) {
        const size_t align = alignof(max_align_t);
        size_t need = (size + align - 1) & ~(align - 1);
        Chunk *c = a->chunks;

        if (need < size)
                return NULL;

        if (!c || c->size - c->used < need) {
                size_t n = MAX(need, (size_t) ARENA_CHUNK_MIN);

                c = malloc(sizeof(Chunk) + n);
                if (!c)
                        return NULL;
                c->size = n;
                c->used = 0;
                c->next = a->chunks;
                a->chunks = c;
                a->reserved += n;
        }

        void *p = c->data + c->used;
        c->used += need;
        a->used += need;
        return memset(p, 0, size);
}

char *arena_strndup(Arena *a, const char *s, size_t n) {
        char *p = arena_alloc(a, n + 1);
        if (!p)
                return NULL;
        memcpy(p, s, n);
        p[n] = 0;
        return p;
}

char *arena_strdup(Arena *a, const char *s) {
        return arena_strndup(a, s, strlen(s));
}

void *arena_memdup(Arena *a, const void *p, size_t size) {
        void *q = arena_alloc(a, size);
        if (!q)
                return NULL;
        return memcpy(q, p, size);
}

size_t arena_used(const Arena *a) {
        return a->used;
}

size_t arena_reserved(const Arena *a) {
        return a->reserved;
}
