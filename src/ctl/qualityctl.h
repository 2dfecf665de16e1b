/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* auteur-qualityctl: options shared by every verb, and the verbs' entry points. */
#pragma once

#include <stdbool.h>

/* Exit codes of auteur-qualityctl(1). */
enum {
        EXIT_OK = 0,
        EXIT_INVALID = 1, /* invalid, failed, or (for health) not healthy */
        EXIT_USAGE = 2,
        EXIT_UNREACHABLE = 3,
};

extern bool arg_json;
extern const char *arg_config;
extern const char *arg_workflows_root;
extern const char *arg_environments_dir;

/* Each verb gets its arguments after the verb's name and returns an exit code. */
int verb_validate(int argc, char *argv[]);
