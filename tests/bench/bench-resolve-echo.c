/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Benchmark reference server: Echo(s) -> s on the system bus, on sd-event and sd-bus like the daemon. */

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "macro.h"

#define BENCH_BUS_NAME "org.auteur.QualityTierBench"
#define BENCH_BUS_PATH "/org/auteur/QualityTierBench"
#define BENCH_BUS_INTERFACE "org.auteur.QualityTierBench"

static int method_echo(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        const char *text;
        int k;

        k = sd_bus_message_read(message, "s", &text);
        if (k < 0)
                return k;

        return sd_bus_reply_method_return(message, "s", text);
}

static const sd_bus_vtable echo_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD_WITH_ARGS("Echo", SD_BUS_ARGS("s", text), SD_BUS_RESULT("s", text), method_echo,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

static int run(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        int k;

        if (argc != 1) {
                fprintf(stderr,
                        "Usage: %s\n\n"
                        "Serves %s.Echo on the system bus (DBUS_SYSTEM_BUS_ADDRESS) until SIGTERM,\n"
                        "as the reference for bench-resolve.\n",
                        program_invocation_short_name, BENCH_BUS_INTERFACE);
                return -EINVAL;
        }

        k = sd_event_default(&event);
        if (k < 0) {
                fprintf(stderr, "bench-resolve-echo: Failed to allocate the event loop: %s\n", strerror(-k));
                return k;
        }

        k = sd_event_set_signal_exit(event, true);
        if (k < 0) {
                fprintf(stderr, "bench-resolve-echo: Failed to exit on SIGTERM and SIGINT: %s\n",
                        strerror(-k));
                return k;
        }

        k = sd_bus_open_system(&bus);
        if (k < 0) {
                fprintf(stderr, "bench-resolve-echo: Failed to connect to the system bus: %s\n",
                        strerror(-k));
                return k;
        }

        k = sd_bus_add_object_vtable(bus, NULL, BENCH_BUS_PATH, BENCH_BUS_INTERFACE, echo_vtable, NULL);
        if (k < 0) {
                fprintf(stderr, "bench-resolve-echo: Failed to add the object %s: %s\n", BENCH_BUS_PATH,
                        strerror(-k));
                return k;
        }

        k = sd_bus_request_name(bus, BENCH_BUS_NAME, 0);
        if (k < 0) {
                fprintf(stderr, "bench-resolve-echo: Failed to own the name %s: %s\n", BENCH_BUS_NAME,
                        strerror(-k));
                return k;
        }

        k = sd_bus_attach_event(bus, event, SD_EVENT_PRIORITY_NORMAL);
        if (k < 0) {
                fprintf(stderr, "bench-resolve-echo: Failed to attach the bus to the event loop: %s\n",
                        strerror(-k));
                return k;
        }

        k = sd_event_loop(event);
        if (k < 0) {
                fprintf(stderr, "bench-resolve-echo: The event loop failed: %s\n", strerror(-k));
                return k;
        }

        return 0;
}

int main(int argc, char *argv[]) {
        int r = run(argc, argv);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
