/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Validation of a configuration as a whole: the YAML loader plus the checks of every served workflow. */
#include <fcntl.h>
#include <libgen.h>
#include <string.h>
#include <sys/stat.h>

#include "config-load.h"
#include "config-validate.h"
#include "quality-def.h"
#include "workflow-check.h"

/* The directory a relative root_path is taken from. */
static char *base_dir_of(const char *path) {
        _cleanup_free_ char *copy = strdup(path);

        if (!copy)
                return NULL;
        return strdup(dirname(copy));
}

static char *path_join(const char *dir, const char *path) {
        char *s;

        if (path[0] == '/' || !dir)
                return strdup(path);
        if (asprintf(&s, "%s/%s", dir, path) < 0)
                return NULL;
        return s;
}

static bool same_inode(const struct stat *a, const struct stat *b) {
        return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* Compares the config's root_path with the root in force, if there is one to compare with. */
static int check_root_path(const Config *c, const ValidateOptions *opts, const char *base_dir,
                           WorkflowChecker *checker, Problems *problems) {
        _cleanup_free_ char *config_root = NULL;
        struct stat root_st, config_st;
        Severity severity;

        if (!c->root_path || opts->root_mismatch == ROOT_MISMATCH_IGNORE || !checker)
                return 0;

        config_root = path_join(base_dir, c->root_path);
        if (!config_root)
                return -ENOMEM;

        if (fstat(workflow_checker_root_fd(checker), &root_st) < 0)
                return negative_errno();
        if (stat(config_root, &config_st) >= 0 && same_inode(&root_st, &config_st))
                return 0;

        severity = opts->root_mismatch == ROOT_MISMATCH_ERROR ? SEVERITY_ERROR : SEVERITY_WARNING;
        return problems_add(problems, severity, PROBLEM_ROOT_PATH_MISMATCH, c->root_path_position.line,
                            c->root_path_position.column,
                            "workflows.root_path '%s' is not the workflows root in force, %s.", c->root_path,
                            workflow_checker_root(checker));
}

static bool mapping_sets_sampler_parameters(const Mapping *m) {
        return mapping_find_parameter(m, "steps") || mapping_find_parameter(m, "cfg_scale");
}

static int check_workflows(const Config *c, WorkflowChecker *checker, Problems *problems) {
        int k;

        for (size_t i = 0; i < c->n_task_types; i++) {
                const TaskType *t = c->task_types + i;

                FOREACH_TIER(tier) {
                        const Mapping *m = t->tiers + tier;
                        const WorkflowResult *result;

                        if (!mapping_is_set(m) || !c->tiers[tier].enabled)
                                continue;

                        k = workflow_checker_check(checker, m->workflow_path, &result);
                        if (k < 0)
                                return k;

                        if (result->code >= 0)
                                k = problems_add(problems, SEVERITY_ERROR, result->code,
                                                 m->workflow_path_position.line,
                                                 m->workflow_path_position.column, "%s", result->message);
                        else if (!result->has_sampler && mapping_sets_sampler_parameters(m))
                                k = problems_add(
                                        problems, SEVERITY_WARNING, PROBLEM_PARAMETERS_NOT_APPLICABLE,
                                        m->workflow_path_position.line, m->workflow_path_position.column,
                                        "Workflow '%s/%s' has no KSampler or KSamplerAdvanced node to apply "
                                        "steps and cfg_scale of task type '%s', tier '%s' to.",
                                        m->workflow_path, WORKFLOW_FILE_NAME, t->name, tier_to_string(tier));
                        if (k < 0)
                                return k;
                }
        }
        return 0;
}

static int validate_loaded(Config *c, const ValidateOptions *opts, const char *base_dir,
                           Problems *problems) {
        _cleanup_(workflow_checker_freep) WorkflowChecker *own = NULL;
        _cleanup_free_ char *root = NULL;
        WorkflowChecker *checker;
        int k;

        if (opts->checker) {
                /* Every file is opened again; only unchanged ones skip parsing. */
                workflow_checker_forget_paths(opts->checker);
                k = check_root_path(c, opts, base_dir, opts->checker, problems);
                if (k < 0)
                        return k;
                return check_workflows(c, opts->checker, problems);
        }

        if (opts->workflows_root)
                root = strdup(opts->workflows_root);
        else if (c->root_path)
                root = path_join(base_dir, c->root_path);
        else
                root = strdup(QUALITY_DEFAULT_WORKFLOWS_ROOT);
        if (!root)
                return -ENOMEM;

        k = workflow_checker_new(root, &own);
        if (k == -ENOMEM)
                return k;
        if (k < 0) {
                Position p = opts->workflows_root ? (Position){ 0 } : c->root_path_position;

                return problems_add(problems, SEVERITY_ERROR, PROBLEM_WORKFLOWS_ROOT_MISSING, p.line,
                                    p.column, "The workflows root %s cannot be opened as a directory: %s.",
                                    root, strerror(-k));
        }

        checker = own;
        k = check_root_path(c, opts, base_dir, checker, problems);
        if (k < 0)
                return k;

        return check_workflows(c, checker, problems);
}

static int validate_text(const char *text, size_t size, const ValidateOptions *opts, const char *base_dir,
                         Problems *problems, Config **ret) {
        _cleanup_(config_unrefp) Config *c = NULL;
        int k;

        k = config_load_buffer(text, size, problems, &c);
        if (k < 0)
                return k;

        k = validate_loaded(c, opts, base_dir, problems);
        problems_sort(problems);
        if (k < 0)
                return k;
        if (problems_has_errors(problems))
                return -EINVAL;

        if (ret)
                *ret = TAKE_PTR(c);
        return 0;
}

int config_validate_text(const char *text, size_t size, const ValidateOptions *opts, Problems *problems,
                         Config **ret) {
        return validate_text(text, size, opts, opts->base_dir, problems, ret);
}

int config_validate_file(const char *path, const ValidateOptions *opts, Problems *problems, Config **ret) {
        _cleanup_free_ char *text = NULL, *base_dir = NULL;
        size_t size;
        int k;

        k = config_read_file(path, problems, &text, &size);
        if (k < 0)
                return k;

        if (!opts->base_dir) {
                base_dir = base_dir_of(path);
                if (!base_dir)
                        return -ENOMEM;
        }

        return validate_text(text, size, opts, opts->base_dir ? opts->base_dir : base_dir, problems, ret);
}
