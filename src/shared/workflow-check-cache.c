/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The workflow checker's caches: results by workflow path and verdicts by file identity. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "workflow-check-internal.h"

/* Good results carry no message, so all of them can share these two. */
static const WorkflowResult result_good = {
        .code = _PROBLEM_CODE_INVALID,
        .has_sampler = false,
};
static const WorkflowResult result_good_with_sampler = {
        .code = _PROBLEM_CODE_INVALID,
        .has_sampler = true,
};

static uint64_t hash_mix(uint64_t h) {
        /* The finalizer of MurmurHash3: spreads every input bit over the low bits the tables index by. */
        h ^= h >> 33;
        h *= UINT64_C(0xff51afd7ed558ccd);
        h ^= h >> 33;
        h *= UINT64_C(0xc4ceb9fe1a85ec53);
        h ^= h >> 33;
        return h;
}

uint64_t string_hash(const char *s) {
        uint64_t h = UINT64_C(0xcbf29ce484222325);

        for (; *s; s++) {
                h ^= (unsigned char) *s;
                h *= UINT64_C(0x100000001b3);
        }
        return hash_mix(h);
}

uint64_t file_key_hash(const FileKey *k) {
        uint64_t h = hash_mix((uint64_t) k->dev);

        h = hash_mix(h ^ (uint64_t) k->ino);
        h = hash_mix(h ^ (uint64_t) k->size);
        h = hash_mix(h ^ (uint64_t) k->mtim.tv_sec);
        return hash_mix(h ^ (uint64_t) k->mtim.tv_nsec);
}

static bool file_key_equal(const FileKey *a, const FileKey *b) {
        return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
               a->mtim.tv_sec == b->mtim.tv_sec && a->mtim.tv_nsec == b->mtim.tv_nsec;
}

void file_key_from_stat(FileKey *k, const struct stat *st) {
        *k = (FileKey){
                .dev = st->st_dev,
                .ino = st->st_ino,
                .size = st->st_size,
                .mtim = st->st_mtim,
        };
}

void verdict_done(Verdict *v) {
        free(v->detail);
        v->detail = NULL;
}

int verdict_set(Verdict *v, ProblemCode code, const char *format, ...) {
        va_list ap;
        char *detail;
        int r;

        va_start(ap, format);
        r = vasprintf(&detail, format, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;

        free(v->detail);
        v->code = code;
        v->detail = detail;
        return 0;
}

const WorkflowResult *result_new(const char *file, const Verdict *v) {
        ProblemResult *p;
        size_t n;

        if (!v->detail)
                return v->has_sampler ? &result_good_with_sampler : &result_good;

        n = strlen("Workflow '' ") + strlen(file) + strlen(v->detail) + 1;
        p = malloc(sizeof(ProblemResult) + n);
        if (!p)
                return NULL;
        (void) snprintf(p->text, n, "Workflow '%s' %s", file, v->detail);
        p->result = (WorkflowResult){
                .code = v->code,
                .message = p->text,
                .has_sampler = v->has_sampler,
        };
        return &p->result;
}

void result_free(const WorkflowResult *r) {
        if (r && r != &result_good && r != &result_good_with_sampler)
                free((ProblemResult *) r); /* the result is the first member of its ProblemResult */
}

static const char *pool_strdup(WorkflowChecker *c, const char *s) {
        size_t n = strlen(s) + 1;
        char *copy;

        if (!c->pool || c->pool->size - c->pool->used < n) {
                size_t size = MAX((size_t) POOL_CHUNK_SIZE, n);
                PoolChunk *chunk = malloc(sizeof(PoolChunk) + size);

                if (!chunk)
                        return NULL;
                *chunk = (PoolChunk){
                        .next = c->pool,
                        .size = size,
                };
                c->pool = chunk;
        }

        copy = memcpy(c->pool->data + c->pool->used, s, n);
        c->pool->used += n;
        return copy;
}

static void pool_free(WorkflowChecker *c) {
        while (c->pool) {
                PoolChunk *next = c->pool->next;

                free(c->pool);
                c->pool = next;
        }
}

const WorkflowResult *path_lookup(const WorkflowChecker *c, const char *path, uint64_t hash) {
        if (c->paths_size == 0)
                return NULL;

        for (size_t i = hash & (c->paths_size - 1);; i = (i + 1) & (c->paths_size - 1)) {
                const PathSlot *s = c->paths + i;

                if (!s->path)
                        return NULL;
                if (s->hash == hash && streq(s->path, path))
                        return s->result;
        }
}

static void path_place(PathSlot *slots, size_t size, const PathSlot *s) {
        size_t i = s->hash & (size - 1);

        while (slots[i].path)
                i = (i + 1) & (size - 1);
        slots[i] = *s;
}

/* Keeps the load at most one half, so probe sequences stay short. */
static int path_reserve(WorkflowChecker *c) {
        PathSlot *slots;
        size_t size;

        if ((c->n_paths + 1) * 2 <= c->paths_size)
                return 0;

        size = c->paths_size > 0 ? c->paths_size * 2 : TABLE_SIZE_MIN;
        slots = calloc(size, sizeof(PathSlot));
        if (!slots)
                return -ENOMEM;
        for (size_t i = 0; i < c->paths_size; i++)
                if (c->paths[i].path)
                        path_place(slots, size, c->paths + i);

        free(c->paths);
        c->paths = slots;
        c->paths_size = size;
        return 0;
}

/* Takes ownership of result, also when it fails. */
int path_insert(WorkflowChecker *c, const char *path, uint64_t hash, const WorkflowResult *result) {
        const char *copy;
        int r;

        r = path_reserve(c);
        if (r < 0)
                goto fail;
        copy = pool_strdup(c, path);
        if (!copy) {
                r = -ENOMEM;
                goto fail;
        }

        path_place(c->paths, c->paths_size, &(PathSlot){ .hash = hash, .path = copy, .result = result });
        c->n_paths++;
        return 0;

fail:
        result_free(result);
        return r;
}

IdentitySlot *identity_lookup(const WorkflowChecker *c, const FileKey *key, uint64_t hash) {
        if (c->identities_size == 0)
                return NULL;

        for (size_t i = hash & (c->identities_size - 1);; i = (i + 1) & (c->identities_size - 1)) {
                IdentitySlot *s = c->identities + i;

                if (!s->used)
                        return NULL;
                if (file_key_equal(&s->key, key))
                        return s;
        }
}

static IdentitySlot *identity_place(IdentitySlot *slots, size_t size, const IdentitySlot *s) {
        size_t i = file_key_hash(&s->key) & (size - 1);

        while (slots[i].used)
                i = (i + 1) & (size - 1);
        slots[i] = *s;
        return slots + i;
}

/* On success the table owns the verdict's detail, v is emptied, and *ret points to the slot. */
int identity_insert(WorkflowChecker *c, const FileKey *key, Verdict *v, IdentitySlot **ret) {
        if ((c->n_identities + 1) * 2 > c->identities_size) {
                size_t size = c->identities_size > 0 ? c->identities_size * 2 : TABLE_SIZE_MIN;
                IdentitySlot *slots = calloc(size, sizeof(IdentitySlot));

                if (!slots)
                        return -ENOMEM;
                for (size_t i = 0; i < c->identities_size; i++)
                        if (c->identities[i].used)
                                (void) identity_place(slots, size, c->identities + i);

                free(c->identities);
                c->identities = slots;
                c->identities_size = size;
        }

        *ret = identity_place(c->identities, c->identities_size,
                              &(IdentitySlot){ .used = true, .key = *key, .verdict = *v });
        c->n_identities++;
        *v = (Verdict){ .code = _PROBLEM_CODE_INVALID };
        return 0;
}

void workflow_checker_forget_paths(WorkflowChecker *c) {
        size_t n_paths;

        if (!c)
                return;

        n_paths = c->n_paths;
        for (size_t i = 0; i < c->paths_size; i++)
                if (c->paths[i].path)
                        result_free(c->paths[i].result);

        /* Keep the tables' sizes: the next round of checks is likely to fill them the same way. */
        if (c->paths)
                memset(c->paths, 0, c->paths_size * sizeof(PathSlot));
        c->n_paths = 0;
        pool_free(c);

        /* Files that changed leave their old identities behind; don't let them pile up. */
        if (c->n_identities > 2 * n_paths + TABLE_SIZE_MIN) {
                for (size_t i = 0; i < c->identities_size; i++)
                        if (c->identities[i].used)
                                verdict_done(&c->identities[i].verdict);
                memset(c->identities, 0, c->identities_size * sizeof(IdentitySlot));
                c->n_identities = 0;
        }
}

void workflow_checker_flush(WorkflowChecker *c) {
        if (!c)
                return;

        workflow_checker_forget_paths(c);

        for (size_t i = 0; i < c->identities_size; i++)
                if (c->identities[i].used)
                        verdict_done(&c->identities[i].verdict);
        if (c->identities)
                memset(c->identities, 0, c->identities_size * sizeof(IdentitySlot));
        c->n_identities = 0;
}
