/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* auteur-qualityctl: the operator's command line; option parsing and verb dispatch. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "macro.h"
#include "qualityctl.h"

bool arg_json = false;
const char *arg_config = NULL;
const char *arg_workflows_root = NULL;
const char *arg_environments_dir = NULL;

typedef struct Verb {
        const char *name;
        unsigned min_args, max_args; /* not counting the verb */
        int (*run)(int argc, char *argv[]);
} Verb;

static const Verb verbs[] = {
        { "validate", 0, 1, verb_validate },
};

static void help(void) {
        printf("%s [OPTIONS...] COMMAND ...\n"
               "\n"
               "Check and manage the quality tier configuration of auteur-quality.\n"
               "\n"
               "Commands:\n"
               "  validate [FILE|ENV]        Check a configuration file or environment offline\n"
               "\n"
               "Options:\n"
               "  -h --help                  Show this help\n"
               "     --version               Show the package version\n"
               "     --json                  Print machine-readable JSON\n"
               "     --config PATH           The active configuration file\n"
               "                             (default: $QUALITY_CONFIG_PATH, else\n"
               "                             /etc/auteur/quality_mappings.yaml)\n"
               "     --workflows-root DIR    Check workflows beneath DIR instead of the\n"
               "                             file's workflows.root_path\n"
               "     --environments-dir DIR  Where ENV.yaml files are (default:\n"
               "                             $QUALITY_ENVIRONMENTS_DIR, else /etc/auteur/environments)\n"
               "\n"
               "Exit status: 0 ok, 1 invalid or failed, 2 usage error, 3 daemon unreachable.\n"
               "See auteur-qualityctl(1) for details.\n",
               program_invocation_short_name);
}

enum {
        ARG_VERSION = 0x100,
        ARG_JSON,
        ARG_CONFIG,
        ARG_WORKFLOWS_ROOT,
        ARG_ENVIRONMENTS_DIR,
};

/* Returns > 0 to go on, 0 to exit successfully (--help), < 0 on a usage error. */
static int parse_argv(int argc, char *argv[]) {
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "json", no_argument, NULL, ARG_JSON },
                { "config", required_argument, NULL, ARG_CONFIG },
                { "workflows-root", required_argument, NULL, ARG_WORKFLOWS_ROOT },
                { "environments-dir", required_argument, NULL, ARG_ENVIRONMENTS_DIR },
                { NULL, 0, NULL, 0 },
        };
        int c;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("auteur-qualityctl %s\n", PACKAGE_VERSION);
                        return 0;
                case ARG_JSON:
                        arg_json = true;
                        break;
                case ARG_CONFIG:
                        arg_config = optarg;
                        break;
                case ARG_WORKFLOWS_ROOT:
                        arg_workflows_root = optarg;
                        break;
                case ARG_ENVIRONMENTS_DIR:
                        arg_environments_dir = optarg;
                        break;
                case '?':
                        return -EINVAL;
                default:
                        abort();
                }

        return 1;
}

int main(int argc, char *argv[]) {
        const Verb *verb = NULL;
        int k;

        /* Options may also follow the verb: "validate FILE --json". GNU getopt permutes them for us, so
         * a verb's own arguments are whatever is left, in order. */
        k = parse_argv(argc, argv);
        if (k <= 0)
                return k < 0 ? EXIT_USAGE : EXIT_OK;

        if (optind >= argc) {
                fprintf(stderr, "%s: a command is needed; see --help.\n", program_invocation_short_name);
                return EXIT_USAGE;
        }

        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (streq(verbs[i].name, argv[optind]))
                        verb = verbs + i;
        if (!verb) {
                fprintf(stderr, "%s: unknown command '%s'; see --help.\n", program_invocation_short_name,
                        argv[optind]);
                return EXIT_USAGE;
        }

        unsigned n_args = (unsigned) (argc - optind - 1);
        if (n_args < verb->min_args || n_args > verb->max_args) {
                fprintf(stderr, "%s: '%s' takes %s%u argument%s; see --help.\n", program_invocation_short_name,
                        verb->name, n_args < verb->min_args ? "at least " : "at most ",
                        n_args < verb->min_args ? verb->min_args : verb->max_args,
                        (n_args < verb->min_args ? verb->min_args : verb->max_args) == 1 ? "" : "s");
                return EXIT_USAGE;
        }

        return verb->run(argc - optind, argv + optind);
}
