/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Validation of a configuration as a whole: the YAML loader plus the checks of every served workflow. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "problem.h"
#include "workflow-check.h"

/* How a config whose root_path differs from the workflows root in force is reported. */
typedef enum RootMismatch {
        ROOT_MISMATCH_IGNORE, /* offline validation: no root is in force */
        ROOT_MISMATCH_WARN,   /* root from --workflows-root or $COMFYUI_WORKFLOWS_ROOT */
        ROOT_MISMATCH_ERROR,  /* root from the config file at start-up */
        _ROOT_MISMATCH_MAX,
} RootMismatch;

typedef struct ValidateOptions {
        /* The workflows root to check against. NULL: the config's own root_path (relative to the
         * config's directory), else QUALITY_DEFAULT_WORKFLOWS_ROOT. */
        const char *workflows_root;
        RootMismatch root_mismatch;
        /* Directory that a relative root_path is taken from; NULL: the config file's directory. */
        const char *base_dir;
        /* A long-lived checker of workflows_root to reuse, so that workflow files unchanged since an
         * earlier validation are not parsed again; NULL: a checker for this validation alone. */
        WorkflowChecker *checker;
} ValidateOptions;

/* Reads, parses and checks a configuration file. Returns 0 and the Config (if ret is not NULL) when
 * the file has no errors; -EINVAL when it has (problems says which); another negative errno when the
 * validation itself could not be done (e.g. -ENOMEM). Warnings never fail a validation. */
int config_validate_file(const char *path, const ValidateOptions *opts, Problems *problems, Config **ret);

/* The same for text in memory; problems are reported under the name problems->file. */
int config_validate_text(const char *text, size_t size, const ValidateOptions *opts, Problems *problems,
                         Config **ret);
