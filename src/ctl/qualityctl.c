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
const char *arg_host = NULL;
const char *arg_url = NULL;
const char *arg_environment = NULL;
const char *arg_machine = NULL;

typedef struct Verb {
        const char *name;
        unsigned min_args, max_args; /* not counting the verb */
        int (*run)(int argc, char *argv[]);
} Verb;

/* clang-format off */
static const Verb verbs[] = {
        { "status",   0, 0, verb_status   },
        { "health",   0, 0, verb_health   },
        { "history",  0, 0, verb_history  },
        { "validate", 0, 1, verb_validate },
        { "deploy",   1, 1, verb_deploy   },
        { "reload",   0, 0, verb_reload   },
        { "rollback", 0, 1, verb_rollback },
        { "resolve",  2, 2, verb_resolve  },
        { "tiers",    1, 1, verb_tiers    },
        { "render",   2, 2, verb_render   },
        { "verify",   0, 0, verb_verify   },
};
/* clang-format on */

static void help(void) {
        printf("%s [OPTIONS...] COMMAND ...\n"
               "\n"
               "Check and manage the quality tier configuration of auteur-quality.\n"
               "\n"
               "Commands:\n"
               "  status                     Show the active configuration and the daemon's state\n"
               "  health                     Run the health checks; exit 0 only when healthy\n"
               "  history                    List the applied generations\n"
               "  validate [FILE|ENV]        Check a configuration file or environment offline\n"
               "  deploy ENV|FILE            Validate, apply and health-check a configuration\n"
               "  reload                     Apply the configuration file as it is on disk\n"
               "  rollback [GENERATION]      Apply an earlier generation again (default: the\n"
               "                             one before the active one)\n"
               "  resolve TASK TIER          Show the workflow and parameters of a task and tier\n"
               "  tiers TASK                 List the tiers a task type is served at\n"
               "  render TASK TIER           Print the ComfyUI prompt of a task and tier\n"
               "  verify                     Check the HTTP shim after a deploy: health, version,\n"
               "                             and low, standard and high for every task type\n"
               "\n"
               "Options:\n"
               "  -h --help                  Show this help\n"
               "     --version               Show the package version\n"
               "     --json                  Print machine-readable JSON\n"
               "  -H --host=[USER@]HOST      Operate on the daemon of a remote host, over ssh\n"
               "  -M --machine=MACHINE       Operate on the daemon of a local container\n"
               "     --config PATH           The file validate checks without an argument\n"
               "                             (default: $QUALITY_CONFIG_PATH, else\n"
               "                             /etc/auteur/quality_mappings.yaml)\n"
               "     --workflows-root DIR    Check workflows beneath DIR instead of the\n"
               "                             file's workflows.root_path (validate) or the\n"
               "                             daemon's workflows root (deploy)\n"
               "     --environments-dir DIR  Where ENV.yaml files are (default:\n"
               "                             $QUALITY_ENVIRONMENTS_DIR, else /etc/auteur/environments)\n"
               "     --url URL               The HTTP shim verify asks (default:\n"
               "                             http://127.0.0.1:8000)\n"
               "     --environment ENV       The environment whose task types verify checks\n"
               "                             (default: the configuration file)\n"
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
        ARG_URL,
        ARG_ENVIRONMENT,
};

/* Returns > 0 to go on, 0 to exit successfully (--help), < 0 on a usage error. */
static int parse_argv(int argc, char *argv[]) {
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "json", no_argument, NULL, ARG_JSON },
                { "host", required_argument, NULL, 'H' },
                { "machine", required_argument, NULL, 'M' },
                { "config", required_argument, NULL, ARG_CONFIG },
                { "workflows-root", required_argument, NULL, ARG_WORKFLOWS_ROOT },
                { "environments-dir", required_argument, NULL, ARG_ENVIRONMENTS_DIR },
                { "url", required_argument, NULL, ARG_URL },
                { "environment", required_argument, NULL, ARG_ENVIRONMENT },
                { NULL, 0, NULL, 0 },
        };
        int c;

        while ((c = getopt_long(argc, argv, "hH:M:", options, NULL)) >= 0)
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
                case 'H':
                        arg_host = optarg;
                        break;
                case 'M':
                        arg_machine = optarg;
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
                case ARG_URL:
                        arg_url = optarg;
                        break;
                case ARG_ENVIRONMENT:
                        arg_environment = optarg;
                        break;
                case '?':
                        return -EINVAL;
                default:
                        abort();
                }

        if (arg_host && arg_machine) {
                fprintf(stderr, "%s: -H and -M cannot be combined.\n", program_invocation_short_name);
                return -EINVAL;
        }
        if ((arg_host && !*arg_host) || (arg_machine && !*arg_machine)) {
                fprintf(stderr, "%s: -H and -M need a host or machine name.\n",
                        program_invocation_short_name);
                return -EINVAL;
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
                unsigned expected = n_args < verb->min_args ? verb->min_args : verb->max_args;
                const char *bound = "";

                if (verb->min_args != verb->max_args)
                        bound = n_args < verb->min_args ? "at least " : "at most ";
                fprintf(stderr, "%s: '%s' takes %s%u argument%s; see --help.\n",
                        program_invocation_short_name, verb->name, bound, expected,
                        expected == 1 ? "" : "s");
                return EXIT_USAGE;
        }

        return verb->run(argc - optind, argv + optind);
}
