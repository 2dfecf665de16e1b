/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* auteur-qualityctl validate: offline checking of a configuration file or environment. */
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config-load.h"
#include "config-validate.h"
#include "quality-def.h"
#include "qualityctl.h"

static const char *config_path(void) {
        const char *e;

        if (arg_config)
                return arg_config;
        e = getenv(QUALITY_ENV_CONFIG_PATH);
        return e && *e ? e : QUALITY_DEFAULT_CONFIG_PATH;
}

static const char *environments_dir(void) {
        const char *e;

        if (arg_environments_dir)
                return arg_environments_dir;
        e = getenv(QUALITY_ENV_ENVIRONMENTS_DIR);
        return e && *e ? e : QUALITY_DEFAULT_ENVIRONMENTS_DIR;
}

static bool environment_name_valid(const char *s) {
        if (!*s)
                return false;
        for (; *s; s++)
                if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-", *s))
                        return false;
        return true;
}

int target_resolve(const char *arg, char **ret_path, bool *ret_is_environment) {
        bool is_environment = false;
        char *path;

        if (!arg)
                path = strdup(config_path());
        else if (strchr(arg, '/') || access(arg, F_OK) >= 0 || !environment_name_valid(arg))
                path = strdup(arg);
        else {
                is_environment = true;
                if (asprintf(&path, "%s/%s.yaml", environments_dir(), arg) < 0)
                        path = NULL;
        }

        if (!path)
                return -ENOMEM;
        *ret_path = path;
        if (ret_is_environment)
                *ret_is_environment = is_environment;
        return 0;
}

int offline_validate(const char *path, const char *workflows_root, bool check_workflows, Problems *problems,
                     char **ret_text, size_t *ret_size) {
        _cleanup_free_ char *text = NULL, *copy = NULL;
        ValidateOptions opts = {
                .workflows_root = workflows_root,
                .root_mismatch = ROOT_MISMATCH_IGNORE,
        };
        size_t size;
        int k;

        /* Read once, check exactly those bytes: a deploy then sends what was checked, even if the file is
         * replaced meanwhile. A relative root_path is taken from the file's directory, as for any file. */
        k = config_read_file(path, problems, &text, &size);
        if (k < 0)
                return k;

        if (check_workflows) {
                copy = strdup(path);
                if (!copy)
                        return -ENOMEM;
                opts.base_dir = dirname(copy);
                k = config_validate_text(text, size, &opts, problems, NULL);
        } else {
                _cleanup_(config_unrefp) Config *c = NULL;

                k = config_load_buffer(text, size, problems, &c);
                problems_sort(problems);
                if (k >= 0 && problems_has_errors(problems))
                        k = -EINVAL;
        }
        if (k < 0)
                return k;

        if (ret_text)
                *ret_text = TAKE_PTR(text);
        if (ret_size)
                *ret_size = size;
        return 0;
}

int verb_validate(int argc, char *argv[]) {
        _cleanup_free_ char *path = NULL;
        Problems problems;
        int k;

        k = target_resolve(argc > 1 ? argv[1] : NULL, &path, NULL);
        if (k >= 0)
                k = problems_init(&problems, path);
        if (k < 0) {
                fprintf(stderr, "Out of memory.\n");
                return EXIT_INVALID;
        }

        k = offline_validate(path, arg_workflows_root, true, &problems, NULL, NULL);
        if (k < 0 && !problems_has_errors(&problems)) {
                fprintf(stderr, "Failed to validate %s: %s\n", path, strerror(-k));
                problems_done(&problems);
                return EXIT_INVALID;
        }

        if (arg_json)
                (void) problems_write_json(&problems, stdout);
        else {
                (void) problems_write_text(&problems, stdout);
                printf("%s: %s, %zu error%s, %zu warning%s.\n", path,
                       problems_has_errors(&problems) ? "invalid" : "valid", problems.n_errors,
                       problems.n_errors == 1 ? "" : "s", problems.n_warnings,
                       problems.n_warnings == 1 ? "" : "s");
        }

        k = problems_has_errors(&problems) ? EXIT_INVALID : EXIT_OK;
        problems_done(&problems);
        return k;
}
