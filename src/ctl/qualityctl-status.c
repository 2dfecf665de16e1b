/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* auteur-qualityctl status, health and history: what the daemon serves, how it is, what it served. */
#include <inttypes.h>
#include <string.h>

#include "json-util.h"
#include "macro.h"
#include "quality-def.h"
#include "qualityctl.h"

#define SHA256_PREFIX_LEN 12

/* ---- status ---- */

static int status_print_json(const DaemonInfo *info) {
        _cleanup_(json_object_putp) struct json_object *o = json_object_new_object();
        _cleanup_free_ char *stamp = NULL;
        int k;

        if (!o)
                return -ENOMEM;
        if (info->last_reload_usec > 0) {
                k = format_timestamp_iso8601(info->last_reload_usec, &stamp);
                if (k < 0)
                        return k;
        }

        k = json_add(o, "environment", json_object_new_string(info->environment));
        if (k >= 0)
                k = json_add(o, "generation", json_object_new_uint64(info->generation));
        if (k >= 0)
                k = json_add(o, "status", json_object_new_string(info->status));
        if (k >= 0)
                k = json_add(o, "mappings", json_object_new_int64(info->mappings));
        if (k >= 0)
                k = json_add(o, "config_path", json_object_new_string(info->config_path));
        if (k >= 0)
                k = json_add(o, "workflows_root", json_object_new_string(info->workflows_root));
        if (k >= 0)
                k = json_add(o, "last_reload_usec", json_object_new_uint64(info->last_reload_usec));
        if (k >= 0 && stamp)
                k = json_add(o, "last_reload", json_object_new_string(stamp));
        else if (k >= 0 && json_object_object_add(o, "last_reload", NULL) < 0)
                k = -ENOMEM;
        if (k >= 0)
                k = json_add(o, "config_changed_on_disk",
                             json_object_new_boolean(info->config_changed_on_disk));
        if (k >= 0)
                k = json_add(o, "version", json_object_new_string(info->version ? info->version : ""));
        if (k < 0)
                return k;

        return json_print(o);
}

static int status_print_text(const DaemonInfo *info) {
        _cleanup_free_ char *stamp = NULL, *ago = NULL;

        if (info->last_reload_usec > 0) {
                if (format_timestamp(info->last_reload_usec, &stamp) < 0 ||
                    format_timestamp_relative(info->last_reload_usec, &ago) < 0)
                        return -ENOMEM;
        }

        printf("    Environment: %s\n", *info->environment ? info->environment : "(none)");
        if (info->generation > 0)
                printf("     Generation: %" PRIu64 "\n", info->generation);
        else
                printf("     Generation: none; no configuration is active\n");
        printf("         Status: %s\n", info->status);
        printf("       Mappings: %" PRIu32 "\n", info->mappings);
        printf("    Config path: %s\n", info->config_path);
        printf(" Workflows root: %s\n", info->workflows_root);
        if (stamp)
                printf("    Last reload: %s; %s\n", stamp, ago);
        else
                printf("    Last reload: never\n");
        if (info->config_changed_on_disk)
                printf("Changed on disk: yes; the file differs from the active generation and is not\n"
                       "                 applied until 'auteur-qualityctl reload'\n");
        else
                printf("Changed on disk: no\n");
        printf("        Version: %s\n", info->version ? info->version : "unknown");
        return 0;
}

int verb_status(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        DaemonInfo info;
        int k;

        k = bus_connect(&bus);
        if (k < 0)
                return bus_log_connect_error(k);

        k = daemon_info_get(bus, &error, &info);
        if (k < 0)
                return bus_log_error("get the daemon's properties", &error, k);

        k = arg_json ? status_print_json(&info) : status_print_text(&info);
        daemon_info_done(&info);
        if (k < 0) {
                fprintf(stderr, "Failed to print the status: %s.\n", strerror(-k));
                return EXIT_INVALID;
        }
        return EXIT_OK;
}

/* ---- health ---- */

static int health_print_text(const char *status, const char *json) {
        _cleanup_(json_object_putp) struct json_object *o = NULL;
        struct json_object *checks;
        int width = 0;

        printf("Status: %s\n", status);

        o = json_tokener_parse(json);
        if (!o)
                return -EBADMSG;
        if (!json_object_object_get_ex(o, "checks", &checks) ||
            !json_object_is_type(checks, json_type_object))
                return 0;

        JSON_OBJECT_FOREACH(i, checks)
        width = MAX(width, (int) strlen(json_object_iter_peek_name(&i)));
        JSON_OBJECT_FOREACH(i, checks) {
                struct json_object *check = json_object_iter_peek_value(&i), *s = NULL, *details = NULL;
                const char *name = json_object_iter_peek_name(&i);

                (void) json_object_object_get_ex(check, "status", &s);
                (void) json_object_object_get_ex(check, "details", &details);
                printf("  %-*s  %-9s  %s\n", width, name, s ? json_object_get_string(s) : "unknown",
                       details ? json_object_get_string(details) : "");
        }
        return 0;
}

int verb_health(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        const char *status, *json;
        int k;

        k = bus_connect(&bus);
        if (k < 0)
                return bus_log_connect_error(k);

        k = bus_call(bus, "Health", &error, &reply, NULL);
        if (k < 0)
                return bus_log_error("check the health", &error, k);

        k = sd_bus_message_read(reply, "ss", &status, &json);
        if (k < 0)
                return bus_log_error("read the health answer", NULL, k);

        k = arg_json ? json_print_text(json) : health_print_text(status, json);
        if (k < 0) {
                fprintf(stderr, "Failed to print the health answer: %s.\n", strerror(-k));
                return EXIT_INVALID;
        }

        return streq(status, "healthy") ? EXIT_OK : EXIT_INVALID;
}

/* ---- history ---- */

typedef struct GenerationRow {
        uint64_t generation;
        uint64_t applied_usec;
        const char *sha256;
        const char *origin;
        const char *environment;
} GenerationRow;

static int generation_to_json(const GenerationRow *g, bool active, struct json_object **ret) {
        _cleanup_(json_object_putp) struct json_object *o = json_object_new_object();
        _cleanup_free_ char *stamp = NULL;
        int k;

        if (!o)
                return -ENOMEM;
        k = format_timestamp_iso8601(g->applied_usec, &stamp);
        if (k < 0)
                return k;

        k = json_add(o, "generation", json_object_new_uint64(g->generation));
        if (k >= 0)
                k = json_add(o, "applied_usec", json_object_new_uint64(g->applied_usec));
        if (k >= 0)
                k = json_add(o, "applied", json_object_new_string(stamp));
        if (k >= 0)
                k = json_add(o, "origin", json_object_new_string(g->origin));
        if (k >= 0)
                k = json_add(o, "environment", json_object_new_string(g->environment));
        if (k >= 0)
                k = json_add(o, "sha256", json_object_new_string(g->sha256));
        if (k >= 0)
                k = json_add(o, "active", json_object_new_boolean(active));
        if (k < 0)
                return k;

        *ret = TAKE_PTR(o);
        return 0;
}

static int history_read(sd_bus_message *reply, GenerationRow **ret, size_t *ret_n) {
        _cleanup_free_ GenerationRow *rows = NULL;
        size_t n = 0, allocated = 0;
        int k;

        k = sd_bus_message_enter_container(reply, 'a', "(ttsss)");
        if (k < 0)
                return k;
        for (;;) {
                GenerationRow g;

                k = sd_bus_message_read(reply, "(ttsss)", &g.generation, &g.applied_usec, &g.sha256,
                                        &g.origin, &g.environment);
                if (k < 0)
                        return k;
                if (k == 0)
                        break;

                if (n == allocated) {
                        size_t a = MAX(allocated * 2, (size_t) 16);
                        GenerationRow *r = reallocarray(rows, a, sizeof(GenerationRow));

                        if (!r)
                                return -ENOMEM;
                        rows = r;
                        allocated = a;
                }
                rows[n++] = g;
        }
        k = sd_bus_message_exit_container(reply);
        if (k < 0)
                return k;

        *ret = TAKE_PTR(rows);
        *ret_n = n;
        return 0;
}

static int history_print_json(const GenerationRow *rows, size_t n, uint64_t active) {
        _cleanup_(json_object_putp) struct json_object *a = json_object_new_array();
        int k;

        if (!a)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                struct json_object *o = NULL;

                k = generation_to_json(rows + i, rows[i].generation == active, &o);
                if (k < 0)
                        return k;
                if (json_object_array_add(a, o) < 0) {
                        json_object_put(o);
                        return -ENOMEM;
                }
        }
        return json_print(a);
}

static int history_print_text(const GenerationRow *rows, size_t n, uint64_t active) {
        _cleanup_free_ char **stamps = NULL;
        int w_gen = (int) strlen("GEN"), w_applied = (int) strlen("APPLIED"),
            w_origin = (int) strlen("ORIGIN"), w_env = (int) strlen("ENVIRONMENT");
        int k = 0;

        if (n == 0) {
                printf("No generation was applied yet.\n");
                return 0;
        }

        stamps = calloc(n, sizeof(char *));
        if (!stamps)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                char number[DECIMAL_STR_MAX(uint64_t)];

                k = format_timestamp(rows[i].applied_usec, stamps + i);
                if (k < 0)
                        goto finish;
                w_gen = MAX(w_gen, snprintf(number, sizeof(number), "%" PRIu64, rows[i].generation));
                w_applied = MAX(w_applied, (int) strlen(stamps[i]));
                w_origin = MAX(w_origin, (int) strlen(rows[i].origin));
                w_env = MAX(w_env, (int) strlen(rows[i].environment));
        }

        printf("  %*s  %-*s  %-*s  %-*s  %s\n", w_gen, "GEN", w_applied, "APPLIED", w_origin, "ORIGIN",
               w_env, "ENVIRONMENT", "SHA256");
        for (size_t i = 0; i < n; i++)
                printf("%c %*" PRIu64 "  %-*s  %-*s  %-*s  %.*s\n", rows[i].generation == active ? '*' : ' ',
                       w_gen, rows[i].generation, w_applied, stamps[i], w_origin, rows[i].origin, w_env,
                       rows[i].environment, SHA256_PREFIX_LEN, rows[i].sha256);
        printf("\n%zu generation%s; * marks the active one.\n", n, n == 1 ? "" : "s");

finish:
        for (size_t i = 0; i < n; i++)
                free(stamps[i]);
        return k;
}

int verb_history(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ GenerationRow *rows = NULL;
        uint64_t active = 0;
        size_t n = 0;
        int k;

        k = bus_connect(&bus);
        if (k < 0)
                return bus_log_connect_error(k);

        k = bus_call(bus, "ListGenerations", &error, &reply, NULL);
        if (k < 0)
                return bus_log_error("list the generations", &error, k);
        k = history_read(reply, &rows, &n);
        if (k < 0)
                return bus_log_error("read the generations", NULL, k);

        k = sd_bus_get_property_trivial(bus, QUALITY_BUS_NAME, QUALITY_BUS_PATH, QUALITY_BUS_INTERFACE,
                                        "Generation", &error, 't', &active);
        if (k < 0)
                return bus_log_error("get the active generation", &error, k);

        k = arg_json ? history_print_json(rows, n, active) : history_print_text(rows, n, active);
        if (k < 0) {
                fprintf(stderr, "Failed to print the generations: %s.\n", strerror(-k));
                return EXIT_INVALID;
        }
        return EXIT_OK;
}
