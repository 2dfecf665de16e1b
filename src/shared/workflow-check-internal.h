/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the workflow checker's parts share: its state, and the caches of results by path and by file. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "workflow-check.h"

#define TABLE_SIZE_MIN 64U
#define POOL_CHUNK_SIZE (64U * 1024U)

/* Who a file is: a file already checked with the same identity is not parsed again. */
typedef struct FileKey {
        dev_t dev;
        ino_t ino;
        off_t size;
        struct timespec mtim;
} FileKey;

/* What a check of one file found, independent of the path it was reached by. */
typedef struct Verdict {
        ProblemCode code;
        bool has_sampler;
        char *detail; /* the message after "Workflow 'FILE' "; NULL when the workflow is good */
} Verdict;

typedef struct IdentitySlot {
        bool used;
        FileKey key;
        Verdict verdict;
} IdentitySlot;

typedef struct PathSlot {
        uint64_t hash;
        const char *path; /* in the string pool; NULL for a free slot */
        const WorkflowResult *result;
} PathSlot;

/* A problem result and its message in one allocation, so it never moves and is freed at once. */
typedef struct ProblemResult {
        WorkflowResult result;
        char text[];
} ProblemResult;

typedef struct PoolChunk {
        struct PoolChunk *next;
        size_t used;
        size_t size;
        char data[];
} PoolChunk;

struct WorkflowChecker {
        char *root;
        int root_fd;

        struct json_tokener *tokener;
        char *buffer; /* file contents, reused for every file */
        size_t buffer_size;
        char *file; /* "WORKFLOW_PATH/workflow_api.json", reused for every file */
        size_t file_size;

        IdentitySlot *identities;
        size_t n_identities;
        size_t identities_size; /* a power of two */

        PathSlot *paths;
        size_t n_paths;
        size_t paths_size; /* a power of two */

        PoolChunk *pool; /* the path strings of the path table */

        unsigned n_parsed;
};

uint64_t string_hash(const char *s);
uint64_t file_key_hash(const FileKey *k);
void file_key_from_stat(FileKey *k, const struct stat *st);
void verdict_done(Verdict *v);
int verdict_set(Verdict *v, ProblemCode code, const char *format, ...) _printf_(3, 4);
const WorkflowResult *result_new(const char *file, const Verdict *v);
void result_free(const WorkflowResult *r);
const WorkflowResult *path_lookup(const WorkflowChecker *c, const char *path, uint64_t hash);
int path_insert(WorkflowChecker *c, const char *path, uint64_t hash, const WorkflowResult *result);
IdentitySlot *identity_lookup(const WorkflowChecker *c, const FileKey *key, uint64_t hash);
int identity_insert(WorkflowChecker *c, const FileKey *key, Verdict *v, IdentitySlot **ret);
