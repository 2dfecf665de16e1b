/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* auteur-qualityctl validate: offline checking of a configuration file or environment. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* FILE or ENV: a path, an existing file, or else the name of an environment file. */
static int resolve_target(const char *arg, char **ret) {
        char *path;

        if (!arg)
                path = strdup(config_path());
        else if (strchr(arg, '/') || access(arg, F_OK) >= 0 || !environment_name_valid(arg))
                path = strdup(arg);
        else if (asprintf(&path, "%s/%s.yaml", environments_dir(), arg) < 0)
                path = NULL;

        if (!path)
                return -ENOMEM;
        *ret = path;
        return 0;
}

int verb_validate(int argc, char *argv[]) {
        ValidateOptions opts = {
                .workflows_root = arg_workflows_root,
                .root_mismatch = ROOT_MISMATCH_IGNORE,
        };
        _cleanup_free_ char *path = NULL;
        Problems problems;
        int k;

        k = resolve_target(argc > 1 ? argv[1] : NULL, &path);
        if (k >= 0)
                k = problems_init(&problems, path);
        if (k < 0) {
                fprintf(stderr, "Out of memory.\n");
                return EXIT_INVALID;
        }

        k = config_validate_file(path, &opts, &problems, NULL);
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
                       problems.n_errors == 1 ? "" : "s", problems.n_warnings, problems.n_warnings == 1 ? "" : "s");
        }

        k = problems_has_errors(&problems) ? EXIT_INVALID : EXIT_OK;
        problems_done(&problems);
        return k;
}
