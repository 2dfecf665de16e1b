/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* auteur-qualityd: command line, then the manager's event loop. */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "log.h"
#include "quality-def.h"
#include "qualityd-manager.h"
#include "time-util.h"

#define DEFAULT_ADMIN_GROUP "auteur-quality-admin"
#define DEFAULT_CHECK_INTERVAL_SEC 30U
#define DEFAULT_KEEP_GENERATIONS 50U
#define KEEP_GENERATIONS_MAX 100000U
#define CHECK_INTERVAL_MAX_SEC 86400U

static void help(void) {
        printf("%s [OPTIONS...]\n"
               "\n"
               "Serve the quality tier configuration of this render host on the system bus as\n"
               "org.auteur.QualityTier.\n"
               "\n"
               "  -h --help                 Show this help\n"
               "     --version              Show the package version\n"
               "     --config PATH          Configuration file (default: $QUALITY_CONFIG_PATH, else\n"
               "                            " QUALITY_DEFAULT_CONFIG_PATH ")\n"
               "     --workflows-root DIR   Workflows root (default: $COMFYUI_WORKFLOWS_ROOT, else\n"
               "                            the file's workflows.root_path, "
               "else " QUALITY_DEFAULT_WORKFLOWS_ROOT ")\n"
               "     --state-dir DIR        Where generations are kept (default: $STATE_DIRECTORY,\n"
               "                            else " QUALITY_DEFAULT_STATE_DIR ")\n"
               "     --admin-group NAME     Group whose members may reload, deploy and roll back\n"
               "                            (default: " DEFAULT_ADMIN_GROUP ")\n"
               "     --keep-generations N   Generations to keep (default: %u)\n"
               "     --check-interval SEC   Seconds between workflow re-checks (default: %u)\n"
               "     --log-target TARGET    auto, journal or console (default: auto)\n"
               "\n"
               "See auteur-qualityd(8) for details.\n",
               program_invocation_short_name, DEFAULT_KEEP_GENERATIONS, DEFAULT_CHECK_INTERVAL_SEC);
}

enum {
        ARG_VERSION = 0x100,
        ARG_CONFIG,
        ARG_WORKFLOWS_ROOT,
        ARG_STATE_DIR,
        ARG_ADMIN_GROUP,
        ARG_KEEP_GENERATIONS,
        ARG_CHECK_INTERVAL,
        ARG_LOG_TARGET,
};

static int parse_unsigned(const char *s, unsigned min, unsigned max, unsigned *ret) {
        unsigned long v;
        char *end;

        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno != 0 || end == s || *end || s[0] == '-' || v < min || v > max)
                return -ERANGE;
        *ret = (unsigned) v;
        return 0;
}

/* Paths are kept absolute: they are shown on the bus, and the daemon's working directory means nothing to
 * its callers. */
static int set_path(char **target, const char *value) {
        _cleanup_free_ char *cwd = NULL;
        char *s;

        if (value[0] == '/')
                s = strdup(value);
        else {
                cwd = getcwd(NULL, 0);
                if (!cwd)
                        return -errno;
                if (asprintf(&s, "%s/%s", cwd, value) < 0)
                        s = NULL;
        }
        if (!s)
                return -ENOMEM;
        free(*target);
        *target = s;
        return 0;
}

static int set_string(char **target, const char *value) {
        char *s = strdup(value);

        if (!s)
                return -ENOMEM;
        free(*target);
        *target = s;
        return 0;
}

/* Returns 1 to run, 0 to exit successfully, < 0 on a usage error. */
static int parse_argv(int argc, char *argv[], Settings *s) {
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "config", required_argument, NULL, ARG_CONFIG },
                { "workflows-root", required_argument, NULL, ARG_WORKFLOWS_ROOT },
                { "state-dir", required_argument, NULL, ARG_STATE_DIR },
                { "admin-group", required_argument, NULL, ARG_ADMIN_GROUP },
                { "keep-generations", required_argument, NULL, ARG_KEEP_GENERATIONS },
                { "check-interval", required_argument, NULL, ARG_CHECK_INTERVAL },
                { "log-target", required_argument, NULL, ARG_LOG_TARGET },
                { NULL, 0, NULL, 0 },
        };
        unsigned interval = DEFAULT_CHECK_INTERVAL_SEC;
        const char *e;
        int c, k = 0;

        s->keep_generations = DEFAULT_KEEP_GENERATIONS;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("auteur-qualityd %s\n", PACKAGE_VERSION);
                        return 0;
                case ARG_CONFIG:
                        k = set_path(&s->config_path, optarg);
                        break;
                case ARG_WORKFLOWS_ROOT:
                        k = set_path(&s->workflows_root, optarg);
                        break;
                case ARG_STATE_DIR:
                        k = set_path(&s->state_dir, optarg);
                        break;
                case ARG_ADMIN_GROUP:
                        k = set_string(&s->admin_group, optarg);
                        break;
                case ARG_KEEP_GENERATIONS:
                        k = parse_unsigned(optarg, 1, KEEP_GENERATIONS_MAX, &s->keep_generations);
                        if (k < 0)
                                fprintf(stderr, "--keep-generations takes a number from 1 to %u.\n",
                                        KEEP_GENERATIONS_MAX);
                        break;
                case ARG_CHECK_INTERVAL:
                        k = parse_unsigned(optarg, 1, CHECK_INTERVAL_MAX_SEC, &interval);
                        if (k < 0)
                                fprintf(stderr, "--check-interval takes seconds from 1 to %u.\n",
                                        CHECK_INTERVAL_MAX_SEC);
                        break;
                case ARG_LOG_TARGET: {
                        LogTarget t = log_target_from_string(optarg);

                        if (t < 0) {
                                fprintf(stderr, "--log-target takes auto, journal or console.\n");
                                return -EINVAL;
                        }
                        log_set_target(t);
                        break;
                }
                case '?':
                        return -EINVAL;
                default:
                        abort();
                }
                if (k < 0)
                        return k;
        }
        if (optind < argc) {
                fprintf(stderr, "%s takes no arguments; see --help.\n", program_invocation_short_name);
                return -EINVAL;
        }
        s->check_interval_usec = (uint64_t) interval * USEC_PER_SEC;

        /* Options first, then the environment, then the defaults. */
        if (!s->config_path) {
                e = getenv(QUALITY_ENV_CONFIG_PATH);
                k = set_path(&s->config_path, e && *e ? e : QUALITY_DEFAULT_CONFIG_PATH);
        }
        if (k >= 0 && s->workflows_root)
                s->root_mismatch = ROOT_MISMATCH_WARN;
        else if (k >= 0 && (e = getenv(QUALITY_ENV_WORKFLOWS_ROOT)) && *e) {
                k = set_path(&s->workflows_root, e);
                s->root_mismatch = ROOT_MISMATCH_WARN;
        } else
                s->root_mismatch = ROOT_MISMATCH_ERROR;
        if (k >= 0 && !s->state_dir) {
                /* $STATE_DIRECTORY may list several directories; ours is the first. */
                e = getenv("STATE_DIRECTORY");
                k = e && *e ? (s->state_dir = strndup(e, strcspn(e, ":"))) ? 0 : -ENOMEM
                            : set_string(&s->state_dir, QUALITY_DEFAULT_STATE_DIR);
        }
        if (k >= 0 && !s->admin_group)
                k = set_string(&s->admin_group, DEFAULT_ADMIN_GROUP);
        return k < 0 ? k : 1;
}

static int run(int argc, char *argv[]) {
        _cleanup_(manager_freep) Manager *m = NULL;
        Settings settings = { 0 };
        int k;

        log_set_identifier("auteur-qualityd");
        (void) log_parse_environment();

        k = parse_argv(argc, argv, &settings);
        if (k <= 0) {
                free(settings.config_path);
                free(settings.workflows_root);
                free(settings.state_dir);
                free(settings.admin_group);
                return k < 0 ? -EINVAL : 0;
        }

        k = manager_new(&settings, &m);
        if (k < 0)
                return log_oom();

        k = manager_start(m);
        if (k < 0)
                return k;

        return manager_run(m);
}

int main(int argc, char *argv[]) {
        int k = run(argc, argv);

        if (k == -EINVAL)
                return 2;
        if (k < 0) {
                (void) sd_notifyf(false, "ERRNO=%i", -k);
                return EXIT_FAILURE;
        }
        return EXIT_SUCCESS;
}
