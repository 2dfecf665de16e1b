/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Checks ComfyUI workflow files beneath a workflows root: containment, file type, size, API format. */
#pragma once

#include <stdbool.h>

#include "problem.h"

typedef struct WorkflowResult {
        ProblemCode code; /* _PROBLEM_CODE_INVALID when the workflow is good */
        char *message;    /* a whole sentence naming the workflow file; NULL when good */
        bool has_sampler; /* a KSampler or KSamplerAdvanced node is present */
} WorkflowResult;

typedef struct WorkflowChecker WorkflowChecker;

/* Opens the workflows root. Fails with a negative errno (-ENOENT, -ENOTDIR, -EACCES, ...) when the root
 * cannot be opened as a directory. */
int workflow_checker_new(const char *root, WorkflowChecker **ret);
WorkflowChecker *workflow_checker_free(WorkflowChecker *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(WorkflowChecker *, workflow_checker_free);

const char *workflow_checker_root(const WorkflowChecker *c) _pure_;
/* The O_PATH descriptor of the root, for callers that compare it to another path (st_dev/st_ino). */
int workflow_checker_root_fd(const WorkflowChecker *c) _pure_;

/* Checks ROOT/workflow_path/workflow_api.json. The file is opened with openat2(RESOLVE_BENEATH), so
 * neither '..' nor a symlink can leave the root. A file already checked by this checker (same device,
 * inode, size and mtime) is not parsed again. The result stays owned by the checker and valid until
 * the checker is freed. Fails only with -ENOMEM or an unexpected system error; problems with the file
 * itself are reported in the result. */
int workflow_checker_check(WorkflowChecker *c, const char *workflow_path, const WorkflowResult **ret);

struct json_object;

/* Reads and parses ROOT/workflow_path/workflow_api.json with the same checks, bypassing the caches, and
 * returns the parsed API-format workflow. Fails with -ENOENT when the file is missing, -EBADMSG when it
 * fails any other check. */
int workflow_checker_load(WorkflowChecker *c, const char *workflow_path, struct json_object **ret);

/* Forgets which result each path had, so that the next check of a path opens and stats its file again,
 * but keeps results by file identity: a file unchanged since (same device, inode, size and mtime) is not
 * parsed again. For periodic re-checks. Results handed out before are freed. */
void workflow_checker_forget_paths(WorkflowChecker *c);

/* Forgets every cached result, so the next check of each file reads it again (periodic re-checks).
 * Results handed out before the flush are freed with the cache. */
void workflow_checker_flush(WorkflowChecker *c);

/* How many files this checker has read and parsed as JSON; cache hits do not count. For tests. */
unsigned workflow_checker_parse_count(const WorkflowChecker *c) _pure_;
