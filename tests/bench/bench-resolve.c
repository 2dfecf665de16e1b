/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Benchmark: synchronous Resolve calls per second through the system bus, beside a trivial Echo method. */

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>

#include "macro.h"
#include "quality-def.h"
#include "time-util.h"

#define BENCH_BUS_NAME "org.auteur.QualityTierBench"
#define BENCH_BUS_PATH "/org/auteur/QualityTierBench"
#define BENCH_BUS_INTERFACE "org.auteur.QualityTierBench"

#define BENCH_TASK_TYPE "character_portrait"
#define BENCH_TIER "high"

/* Resolve and Echo take turns in short rounds, so that both see the same load from the rest of the machine;
 * rates are reported by their median round, and the ratio by the median of each Resolve round over the
 * Echo round right after it, which a burst of load on one side of a pair cannot move. */
#define BENCH_ROUNDS 25U
#define ROUND_USEC (USEC_PER_SEC / 5U)
/* The warm-up fills both servers' and the bus's buffers and caches before anything is timed. */
#define WARMUP_USEC (USEC_PER_SEC / 2U)
#define RATIO_TARGET 0.9

typedef int (*CallFunc)(sd_bus *bus);

static int report_call_error(const char *method, const sd_bus_error *error, int r) {
        if (sd_bus_error_is_set(error))
                fprintf(stderr, "bench-resolve: %s failed: %s: %s\n", method, error->name,
                        error->message ? error->message : "(no message)");
        else
                fprintf(stderr, "bench-resolve: %s failed: %s\n", method, strerror(-r));
        return r;
}

/* Reads one variant of the parameters dictionary as a client would: ints, numbers, strings or booleans. */
static int read_parameter_value(sd_bus_message *reply) {
        const char *contents;
        char type;
        int r;

        r = sd_bus_message_peek_type(reply, &type, &contents);
        if (r < 0)
                return r;
        if (type != SD_BUS_TYPE_VARIANT || !contents)
                return -EBADMSG;

        r = sd_bus_message_enter_container(reply, SD_BUS_TYPE_VARIANT, contents);
        if (r < 0)
                return r;

        if (streq(contents, "x")) {
                int64_t x;
                r = sd_bus_message_read_basic(reply, 'x', &x);
        } else if (streq(contents, "d")) {
                double d;
                r = sd_bus_message_read_basic(reply, 'd', &d);
        } else if (streq(contents, "s")) {
                const char *s;
                r = sd_bus_message_read_basic(reply, 's', &s);
        } else if (streq(contents, "b")) {
                int b;
                r = sd_bus_message_read_basic(reply, 'b', &b);
        } else
                r = -EBADMSG;
        if (r < 0)
                return r;

        return sd_bus_message_exit_container(reply);
}

static int call_resolve(sd_bus *bus) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        const char *workflow_path, *workflow_file;
        unsigned n_parameters = 0;
        int r;

        r = sd_bus_call_method(bus, QUALITY_BUS_NAME, QUALITY_BUS_PATH, QUALITY_BUS_INTERFACE, "Resolve",
                               &error, &reply, "ss", BENCH_TASK_TYPE, BENCH_TIER);
        if (r < 0)
                return report_call_error("Resolve", &error, r);

        r = sd_bus_message_read(reply, "ss", &workflow_path, &workflow_file);
        if (r < 0)
                goto bad_reply;
        r = sd_bus_message_enter_container(reply, SD_BUS_TYPE_ARRAY, "{sv}");
        if (r < 0)
                goto bad_reply;
        while ((r = sd_bus_message_enter_container(reply, SD_BUS_TYPE_DICT_ENTRY, "sv")) > 0) {
                const char *key;

                r = sd_bus_message_read_basic(reply, 's', &key);
                if (r < 0)
                        goto bad_reply;
                r = read_parameter_value(reply);
                if (r < 0)
                        goto bad_reply;
                r = sd_bus_message_exit_container(reply);
                if (r < 0)
                        goto bad_reply;
                n_parameters++;
        }
        if (r < 0)
                goto bad_reply;
        r = sd_bus_message_exit_container(reply);
        if (r < 0)
                goto bad_reply;

        /* A reply without parameters would be cheaper than the real one and flatter the figure. */
        if (n_parameters == 0) {
                fprintf(stderr, "bench-resolve: Resolve(%s, %s) returned no parameters.\n", BENCH_TASK_TYPE,
                        BENCH_TIER);
                return -EBADMSG;
        }
        return 0;

bad_reply:
        fprintf(stderr, "bench-resolve: Failed to read the reply of Resolve: %s\n", strerror(-r));
        return r;
}

static int call_echo(sd_bus *bus) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        const char *text;
        int r;

        r = sd_bus_call_method(bus, BENCH_BUS_NAME, BENCH_BUS_PATH, BENCH_BUS_INTERFACE, "Echo", &error,
                               &reply, "s", BENCH_TASK_TYPE);
        if (r < 0)
                return report_call_error("Echo", &error, r);

        r = sd_bus_message_read(reply, "s", &text);
        if (r < 0) {
                fprintf(stderr, "bench-resolve: Failed to read the reply of Echo: %s\n", strerror(-r));
                return r;
        }
        if (!streq(text, BENCH_TASK_TYPE)) {
                fprintf(stderr, "bench-resolve: Echo returned '%s' for '%s'.\n", text, BENCH_TASK_TYPE);
                return -EBADMSG;
        }
        return 0;
}

/* Calls func back to back for at least duration; the rate counts whole calls over the time they took. */
static int run_round(sd_bus *bus, CallFunc func, usec_t duration, double *ret_rate) {
        usec_t start = now(CLOCK_MONOTONIC), elapsed;
        uint64_t n = 0;
        int r;

        do {
                r = func(bus);
                if (r < 0)
                        return r;
                n++;
                elapsed = now(CLOCK_MONOTONIC) - start;
        } while (elapsed < duration);

        *ret_rate = (double) n * (double) USEC_PER_SEC / (double) elapsed;
        return 0;
}

static int compare_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return (x > y) - (x < y);
}

static double median(double *values, size_t n) {
        qsort(values, n, sizeof(double), compare_double);
        return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2.0;
}

static int run(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        double resolve_rates[BENCH_ROUNDS], echo_rates[BENCH_ROUNDS], ratios[BENCH_ROUNDS], rate;
        int r;

        if (argc != 1) {
                fprintf(stderr,
                        "Usage: %s\n\n"
                        "Times synchronous %s.Resolve(\"%s\", \"%s\") calls on the system bus\n"
                        "(DBUS_SYSTEM_BUS_ADDRESS) against %s.Echo, in alternating rounds.\n",
                        program_invocation_short_name, QUALITY_BUS_INTERFACE, BENCH_TASK_TYPE, BENCH_TIER,
                        BENCH_BUS_INTERFACE);
                return -EINVAL;
        }

        r = sd_bus_open_system(&bus);
        if (r < 0) {
                fprintf(stderr, "bench-resolve: Failed to connect to the system bus: %s\n", strerror(-r));
                return r;
        }

        r = run_round(bus, call_resolve, WARMUP_USEC, &rate);
        if (r < 0)
                return r;
        r = run_round(bus, call_echo, WARMUP_USEC, &rate);
        if (r < 0)
                return r;

        for (unsigned i = 0; i < BENCH_ROUNDS; i++) {
                r = run_round(bus, call_resolve, ROUND_USEC, &resolve_rates[i]);
                if (r < 0)
                        return r;
                r = run_round(bus, call_echo, ROUND_USEC, &echo_rates[i]);
                if (r < 0)
                        return r;
                ratios[i] = resolve_rates[i] / echo_rates[i];
        }

        printf("resolve:   %.0f calls/s  (median of %u rounds)\n", median(resolve_rates, BENCH_ROUNDS),
               BENCH_ROUNDS);
        printf("echo:      %.0f calls/s  (median of %u rounds)\n", median(echo_rates, BENCH_ROUNDS),
               BENCH_ROUNDS);
        printf("ratio:     %.2f (target >= %.1f)  (median of %u paired rounds)\n",
               median(ratios, BENCH_ROUNDS), RATIO_TARGET, BENCH_ROUNDS);
        return 0;
}

int main(int argc, char *argv[]) {
        int r = run(argc, argv);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
