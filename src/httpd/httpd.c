/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* auteur-quality-httpd: command line, then the server's event loop. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "http-server.h"
#include "httpd-def.h"
#include "log.h"

#define LISTEN_ADDRESSES_MAX 16U

typedef struct Arguments {
        ServerSettings settings;
        const char *listen[LISTEN_ADDRESSES_MAX];
        size_t n_listen;
} Arguments;

static void help(void) {
        printf("%s [OPTIONS...]\n"
               "\n"
               "Answer HTTP health, readiness, version, tier, render and metrics requests from\n"
               "auteur-qualityd on the system bus. Takes its sockets from systemd unless --listen is "
               "given.\n"
               "\n"
               "  -h --help                  Show this help\n"
               "     --version               Show the package version\n"
               "     --listen ADDRESS:PORT   Listen on this IPv4 address, or [IPv6]:PORT (repeatable)\n"
               "     --max-connections N     Connections served at once (default: %u)\n"
               "     --header-timeout SEC    Time to receive a request's header section (default: %" PRIu64
               ")\n"
               "     --idle-timeout SEC      Time a connection may sit idle or stop reading (default: "
               "%" PRIu64 ")\n"
               "     --bus-timeout SEC       Time the daemon has to answer a call (default: %" PRIu64 ")\n"
               "     --exit-idle-time SEC    Exit after this long without connections; 0: never (default: "
               "0)\n"
               "     --log-target TARGET     auto, journal or console (default: auto)\n"
               "\n"
               "See auteur-quality-httpd(8) for details.\n",
               program_invocation_short_name, HTTPD_MAX_CONNECTIONS_DEFAULT,
               HTTPD_HEADER_TIMEOUT_DEFAULT_USEC / USEC_PER_SEC,
               HTTPD_IDLE_TIMEOUT_DEFAULT_USEC / USEC_PER_SEC,
               HTTPD_BUS_TIMEOUT_DEFAULT_USEC / USEC_PER_SEC);
}

enum {
        ARG_VERSION = 0x100,
        ARG_LISTEN,
        ARG_MAX_CONNECTIONS,
        ARG_HEADER_TIMEOUT,
        ARG_IDLE_TIMEOUT,
        ARG_BUS_TIMEOUT,
        ARG_EXIT_IDLE_TIME,
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

/* Seconds, with up to six decimals ("2", "0.5"), from min to max microseconds. */
static int parse_seconds(const char *s, usec_t min, usec_t max, usec_t *ret) {
        usec_t sec = 0, frac = 0, scale = USEC_PER_SEC;
        const char *p = s;

        if (*p < '0' || *p > '9')
                return -ERANGE;
        for (; *p >= '0' && *p <= '9'; p++) {
                sec = sec * 10 + (usec_t) (*p - '0');
                if (sec > max / USEC_PER_SEC)
                        return -ERANGE;
        }
        if (*p == '.') {
                for (p++; *p >= '0' && *p <= '9'; p++) {
                        if (scale == 1)
                                return -ERANGE;
                        scale /= 10;
                        frac += (usec_t) (*p - '0') * scale;
                }
        }
        if (*p || sec * USEC_PER_SEC + frac < min || sec * USEC_PER_SEC + frac > max)
                return -ERANGE;
        *ret = sec * USEC_PER_SEC + frac;
        return 0;
}

static int parse_seconds_option(const char *option, const char *value, usec_t min, usec_t max, usec_t *ret) {
        int k = parse_seconds(value, min, max, ret);

        if (k < 0)
                fprintf(stderr,
                        "%s takes seconds from %" PRIu64 ".%03" PRIu64 " to %" PRIu64
                        ", such as 10 or 0.5.\n",
                        option, min / USEC_PER_SEC, min % USEC_PER_SEC / USEC_PER_MSEC, max / USEC_PER_SEC);
        return k;
}

/* Returns 1 to run, 0 to exit successfully, < 0 on a usage error. */
static int parse_argv(int argc, char *argv[], Arguments *a) {
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "listen", required_argument, NULL, ARG_LISTEN },
                { "max-connections", required_argument, NULL, ARG_MAX_CONNECTIONS },
                { "header-timeout", required_argument, NULL, ARG_HEADER_TIMEOUT },
                { "idle-timeout", required_argument, NULL, ARG_IDLE_TIMEOUT },
                { "bus-timeout", required_argument, NULL, ARG_BUS_TIMEOUT },
                { "exit-idle-time", required_argument, NULL, ARG_EXIT_IDLE_TIME },
                { "log-target", required_argument, NULL, ARG_LOG_TARGET },
                { NULL, 0, NULL, 0 },
        };
        ServerSettings *s = &a->settings;
        int c, k = 0;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("auteur-quality-httpd %s\n", PACKAGE_VERSION);
                        return 0;
                case ARG_LISTEN:
                        if (a->n_listen >= LISTEN_ADDRESSES_MAX) {
                                fprintf(stderr, "--listen may be given at most %u times.\n",
                                        LISTEN_ADDRESSES_MAX);
                                return -EINVAL;
                        }
                        a->listen[a->n_listen++] = optarg;
                        break;
                case ARG_MAX_CONNECTIONS:
                        k = parse_unsigned(optarg, 1, HTTPD_MAX_CONNECTIONS_MAX, &s->max_connections);
                        if (k < 0)
                                fprintf(stderr, "--max-connections takes a number from 1 to %u.\n",
                                        HTTPD_MAX_CONNECTIONS_MAX);
                        break;
                case ARG_HEADER_TIMEOUT:
                        k = parse_seconds_option("--header-timeout", optarg, HTTPD_TIMEOUT_MIN_USEC,
                                                 HTTPD_TIMEOUT_MAX_USEC, &s->header_timeout_usec);
                        break;
                case ARG_IDLE_TIMEOUT:
                        k = parse_seconds_option("--idle-timeout", optarg, HTTPD_TIMEOUT_MIN_USEC,
                                                 HTTPD_TIMEOUT_MAX_USEC, &s->idle_timeout_usec);
                        break;
                case ARG_BUS_TIMEOUT:
                        k = parse_seconds_option("--bus-timeout", optarg, HTTPD_TIMEOUT_MIN_USEC,
                                                 HTTPD_TIMEOUT_MAX_USEC, &s->bus_timeout_usec);
                        break;
                case ARG_EXIT_IDLE_TIME:
                        k = parse_seconds_option("--exit-idle-time", optarg, 0, HTTPD_EXIT_IDLE_MAX_USEC,
                                                 &s->exit_idle_usec);
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
                        return -EINVAL;
        }
        if (optind < argc) {
                fprintf(stderr, "%s takes no arguments; see --help.\n", program_invocation_short_name);
                return -EINVAL;
        }
        return 1;
}

static int run(int argc, char *argv[]) {
        _cleanup_(server_freep) Server *s = NULL;
        Arguments a = {
                .settings = {
                        .max_connections = HTTPD_MAX_CONNECTIONS_DEFAULT,
                        .header_timeout_usec = HTTPD_HEADER_TIMEOUT_DEFAULT_USEC,
                        .idle_timeout_usec = HTTPD_IDLE_TIMEOUT_DEFAULT_USEC,
                        .bus_timeout_usec = HTTPD_BUS_TIMEOUT_DEFAULT_USEC,
                        .exit_idle_usec = 0,
                },
        };
        sigset_t mask;
        int k;

        log_set_identifier("auteur-quality-httpd");
        (void) log_parse_environment();

        k = parse_argv(argc, argv, &a);
        if (k <= 0)
                return k;

        /* SIGTERM and SIGINT end the loop; a client that goes away must not end the process. */
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return log_error_errno(errno, "Failed to block signals: %m");
        (void) signal(SIGPIPE, SIG_IGN);

        k = server_new(&a.settings, &s);
        if (k < 0)
                return log_error_errno(k, "Failed to set up the server: %m");
        k = sd_event_set_signal_exit(s->event, true);
        if (k < 0)
                return log_error_errno(k, "Failed to make SIGTERM and SIGINT exit: %m");
        k = sd_event_set_watchdog(s->event, true);
        if (k < 0)
                return log_error_errno(k, "Failed to enable the watchdog: %m");

        if (a.n_listen > 0) {
                for (size_t i = 0; i < a.n_listen; i++) {
                        k = server_listen_address(s, a.listen[i]);
                        if (k < 0)
                                return k;
                }
        } else {
                k = server_listen_systemd(s);
                if (k < 0)
                        return k;
                if (k == 0)
                        return log_error_errno(EINVAL,
                                               "No listening socket: start auteur-quality-httpd from "
                                               "auteur-quality-http.socket, or pass --listen ADDRESS:PORT.");
        }

        k = server_start(s);
        if (k < 0)
                return k;

        log_info("auteur-quality-httpd %s serving on %zu socket%s, at most %u connections.", PACKAGE_VERSION,
                 s->n_listeners, s->n_listeners == 1 ? "" : "s", s->settings.max_connections);
        return server_run(s);
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
