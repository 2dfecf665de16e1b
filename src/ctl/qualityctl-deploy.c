/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* auteur-qualityctl deploy, reload and rollback: changing what the daemon serves, and saying what it
 * serves afterwards. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "json-util.h"
#include "macro.h"
#include "quality-def.h"
#include "qualityctl.h"

/* The daemon refuses a Deploy origin longer than this (qualityd-bus.c). */
#define DEPLOY_ORIGIN_PREFIX "deploy:"

/* What a reload, deploy or rollback did, for the report at its end. */
typedef struct ApplyReport {
        const char *action;           /* "deploy", "reload", "rollback" */
        char *origin;                 /* deploy: what the generation is recorded as coming from */
        uint64_t previous_generation; /* active before */
        bool applied;                 /* the daemon accepted the change */
        bool changed;                 /* ... and it made a new generation */
        char *summary;                /* the first line of a success */
        char *error;                  /* the message of the failure */
        struct json_object *problems; /* deploy: every problem found, offline and by the daemon */
} ApplyReport;

static void apply_report_done(ApplyReport *r) {
        free(r->origin);
        free(r->summary);
        free(r->error);
        json_object_put(r->problems);
}

static int apply_report_json(const ApplyReport *r, const DaemonInfo *after) {
        _cleanup_(json_object_putp) struct json_object *o = json_object_new_object();
        int k;

        if (!o)
                return -ENOMEM;

        k = json_add(o, "action", json_object_new_string(r->action));
        if (k >= 0)
                k = json_add(o, "applied", json_object_new_boolean(r->applied));
        if (k >= 0)
                k = json_add(o, "changed", json_object_new_boolean(r->changed));
        if (k >= 0)
                k = json_add(o, "previous_generation", json_object_new_uint64(r->previous_generation));
        if (k >= 0 && after) {
                k = json_add(o, "generation", json_object_new_uint64(after->generation));
                if (k >= 0)
                        k = json_add(o, "environment", json_object_new_string(after->environment));
                if (k >= 0)
                        k = json_add(o, "status", json_object_new_string(after->status));
        }
        if (k >= 0 && r->origin)
                k = json_add(o, "origin", json_object_new_string(r->origin));
        if (k >= 0 && r->error)
                k = json_add(o, "error", json_object_new_string(r->error));
        if (k >= 0 && r->problems)
                k = json_add(o, "problems", json_object_get(r->problems));
        if (k < 0)
                return k;

        return json_print(o);
}

/* Ends a reload, deploy or rollback: says what is active now and returns exit_code. */
static int apply_finish(sd_bus *bus, const ApplyReport *r, int exit_code) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(daemon_info_done) DaemonInfo after = { 0 };
        bool known = false;

        if (exit_code != EXIT_UNREACHABLE)
                known = daemon_info_get(bus, &error, &after) >= 0;

        if (!arg_json && r->applied && r->summary)
                printf("%s\n", r->summary);
        if (known && (!arg_json || exit_code != EXIT_OK))
                daemon_info_print_active(&after, r->applied ? "is active" : "stays active",
                                         exit_code == EXIT_OK ? stdout : stderr);
        else if (!known && exit_code != EXIT_OK)
                fprintf(stderr, "What is active cannot be told: the daemon does not answer.\n");

        if (arg_json && apply_report_json(r, known ? &after : NULL) < 0) {
                fprintf(stderr, "Out of memory.\n");
                return EXIT_INVALID;
        }
        return exit_code;
}

/* A method call failed: reports why, then what stayed active. */
static int apply_fail(sd_bus *bus, ApplyReport *r, const char *action, const sd_bus_error *error, int k) {
        int exit_code = bus_log_error(action, error, k);

        if (sd_bus_error_is_set(error) && error->message)
                r->error = strdup(error->message);
        else
                r->error = strdup(strerror(-k));
        return apply_finish(bus, r, exit_code);
}

/* Connects and gets what is active before the change. Returns an exit code. */
static int apply_begin(sd_bus **ret_bus, DaemonInfo *ret_before) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int k;

        k = bus_connect(&bus);
        if (k < 0)
                return bus_log_connect_error(k);

        k = daemon_info_get(bus, &error, ret_before);
        if (k < 0)
                return bus_log_error("get the daemon's properties", &error, k);

        *ret_bus = TAKE_PTR(bus);
        return EXIT_OK;
}

static int read_generation(sd_bus_message *reply, uint64_t *ret) {
        return sd_bus_message_read(reply, "t", ret);
}

/* ---- reload ---- */

int verb_reload(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(daemon_info_done) DaemonInfo before = { 0 };
        _cleanup_(apply_report_done) ApplyReport r = { .action = "reload" };
        uint64_t generation;
        int k;

        k = apply_begin(&bus, &before);
        if (k != EXIT_OK)
                return k;
        r.previous_generation = before.generation;

        k = bus_call(bus, "Reload", &error, &reply, NULL);
        if (k < 0)
                return apply_fail(bus, &r, "reload", &error, k);
        k = read_generation(reply, &generation);
        if (k < 0)
                return apply_fail(bus, &r, "read the answer of Reload", NULL, k);

        r.applied = true;
        r.changed = generation != before.generation;
        if (r.changed)
                k = asprintf(&r.summary, "Reloaded %s as generation %" PRIu64 ".", before.config_path,
                             generation);
        else
                k = asprintf(&r.summary, "%s matches the active generation %" PRIu64 "; nothing changed.",
                             before.config_path, generation);
        if (k < 0)
                r.summary = NULL;

        return apply_finish(bus, &r, EXIT_OK);
}

/* ---- rollback ---- */

static int parse_generation(const char *s, uint64_t *ret) {
        unsigned long long v;
        char *end;

        if (!s) {
                *ret = 0;
                return 0;
        }
        if (!*s || strspn(s, "0123456789") != strlen(s))
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno != 0 || *end)
                return -ERANGE;
        *ret = (uint64_t) v;
        return 0;
}

int verb_rollback(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(daemon_info_done) DaemonInfo before = { 0 };
        _cleanup_(apply_report_done) ApplyReport r = { .action = "rollback" };
        uint64_t target, generation;
        int k;

        if (parse_generation(argc > 1 ? argv[1] : NULL, &target) < 0) {
                fprintf(stderr, "%s: '%s' is not a generation number; see 'history'.\n",
                        program_invocation_short_name, argv[1]);
                return EXIT_USAGE;
        }

        k = apply_begin(&bus, &before);
        if (k != EXIT_OK)
                return k;
        r.previous_generation = before.generation;

        k = bus_call(bus, "Rollback", &error, &reply, "t", target);
        if (k < 0)
                return apply_fail(bus, &r, "roll back", &error, k);
        k = read_generation(reply, &generation);
        if (k < 0)
                return apply_fail(bus, &r, "read the answer of Rollback", NULL, k);

        /* 0 means the generation before the one that was active, as the daemon reads it. */
        if (target == 0)
                target = before.generation - 1;

        r.applied = true;
        r.changed = generation != before.generation;
        if (r.changed)
                k = asprintf(&r.summary, "Rolled back to generation %" PRIu64 " as generation %" PRIu64 ".",
                             target, generation);
        else
                k = asprintf(&r.summary,
                             "Generation %" PRIu64 " has the content of the active generation %" PRIu64
                             "; nothing changed.",
                             target, generation);
        if (k < 0)
                r.summary = NULL;

        return apply_finish(bus, &r, EXIT_OK);
}

/* ---- deploy ---- */

/* "deploy:staging" or "deploy:/abs/path.yaml", printable and short enough for the daemon. */
static int deploy_origin(const char *arg, const char *path, bool is_environment, char **ret) {
        _cleanup_free_ char *absolute = NULL;
        const char *what = arg;
        size_t max = DEPLOY_ORIGIN_MAX - strlen(DEPLOY_ORIGIN_PREFIX), n;
        char *origin;

        if (!is_environment) {
                absolute = realpath(path, NULL);
                what = absolute ? absolute : path;
        }

        /* Of a long path the end says more than the beginning. */
        n = strlen(what);
        if (n > max)
                what += n - max;

        if (asprintf(&origin, DEPLOY_ORIGIN_PREFIX "%s", what) < 0)
                return -ENOMEM;
        for (char *p = origin; *p; p++)
                if ((unsigned char) *p < ' ' || *p == 0x7F)
                        *p = '?';

        *ret = origin;
        return 0;
}

static bool offline_has(const Problems *offline, const char *severity, const char *code, unsigned line,
                        unsigned column) {
        for (size_t i = 0; i < offline->n_items; i++) {
                const Problem *p = offline->items + i;

                if (p->line == line && p->column == column &&
                    streq(severity_to_string(p->severity), severity) &&
                    streq(problem_code_to_string(p->code), code))
                        return true;
        }
        return false;
}

/* Prints the daemon's problems that the offline check did not report already, and adds them to problems. */
static int deploy_daemon_problems(sd_bus_message *reply, const Problems *offline,
                                  struct json_object *problems) {
        int k;

        k = sd_bus_message_enter_container(reply, 'a', "(ssuus)");
        if (k < 0)
                return k;
        for (;;) {
                const char *severity, *code, *message;
                struct json_object *o;
                uint32_t line, column;

                k = sd_bus_message_read(reply, "(ssuus)", &severity, &code, &line, &column, &message);
                if (k < 0)
                        return k;
                if (k == 0)
                        break;
                if (offline_has(offline, severity, code, line, column))
                        continue;

                fprintf(stderr, "%s:%" PRIu32 ":%" PRIu32 ": %s[%s]: %s\n", offline->file, line, column,
                        severity, code, message);

                o = json_object_new_object();
                if (!o || json_object_array_add(problems, o) < 0) {
                        json_object_put(o);
                        return -ENOMEM;
                }
                k = json_add(o, "severity", json_object_new_string(severity));
                if (k >= 0)
                        k = json_add(o, "code", json_object_new_string(code));
                if (k >= 0)
                        k = json_add(o, "file", json_object_new_string(offline->file));
                if (k >= 0)
                        k = json_add(o, "line", json_object_new_int64(line));
                if (k >= 0)
                        k = json_add(o, "column", json_object_new_int64(column));
                if (k >= 0)
                        k = json_add(o, "message", json_object_new_string(message));
                if (k >= 0)
                        k = json_add(o, "source", json_object_new_string("daemon"));
                if (k < 0)
                        return k;
        }
        return sd_bus_message_exit_container(reply);
}

/* Step 1: the offline check, as `validate` does it, of the files the daemon will serve. Returns an exit
 * code; on success the checked text. */
static int deploy_check_offline(const char *path, const DaemonInfo *before, Problems *problems,
                                ApplyReport *r, char **ret_text) {
        _cleanup_free_ char *text = NULL;
        bool remote = arg_host || arg_machine;
        size_t size = 0;
        int k;

        /* The daemon's root is a path on its own host; here only the text can be checked, and the
         * daemon's Validate checks the workflows. */
        if (arg_workflows_root)
                k = offline_validate(path, arg_workflows_root, true, problems, &text, &size);
        else
                k = offline_validate(path, before->workflows_root, !remote, problems, &text, &size);

        (void) problems_write_text(problems, stderr);
        if (problems_to_json(problems, &r->problems) < 0)
                return EXIT_INVALID;

        if (k < 0 && !problems_has_errors(problems)) {
                fprintf(stderr, "Failed to validate %s: %s.\n", path, strerror(-k));
                r->error = strdup(strerror(-k));
                return EXIT_INVALID;
        }
        if (k < 0) {
                fprintf(stderr, "%s is invalid, %zu error%s; nothing was deployed.\n", path,
                        problems->n_errors, problems->n_errors == 1 ? "" : "s");
                r->error = strdup("The configuration is invalid.");
                return EXIT_INVALID;
        }

        /* A D-Bus string ends at the first NUL, and "" would make Validate check the daemon's own file. */
        if (size == 0 || strlen(text) != size) {
                fprintf(stderr, "%s is empty or holds a NUL byte; nothing was deployed.\n", path);
                r->error = strdup("The configuration cannot be sent.");
                return EXIT_INVALID;
        }

        *ret_text = TAKE_PTR(text);
        return EXIT_OK;
}

/* Step 4: the health check of what was deployed. Returns an exit code. */
static int deploy_check_health(sd_bus *bus, ApplyReport *r) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(json_object_putp) struct json_object *o = NULL;
        struct json_object *checks = NULL;
        const char *status, *json;
        int k;

        k = bus_call(bus, "Health", &error, &reply, NULL);
        if (k >= 0)
                k = sd_bus_message_read(reply, "ss", &status, &json);
        if (k < 0) {
                k = bus_log_error("check the health after the deploy", &error, k);
                r->error = strdup(error.message ? error.message : "The health check failed.");
                return k;
        }
        if (streq(status, "healthy"))
                return EXIT_OK;

        fprintf(stderr, "The deployed configuration was applied, but the daemon is %s:\n", status);
        o = json_tokener_parse(json);
        if (o && json_object_object_get_ex(o, "checks", &checks)) {
                JSON_OBJECT_FOREACH(i, checks) {
                        struct json_object *check = json_object_iter_peek_value(&i);
                        struct json_object *s = NULL, *details = NULL;
                        const char *name = json_object_iter_peek_name(&i);

                        if (!json_object_object_get_ex(check, "status", &s) ||
                            streq(json_object_get_string(s), "healthy"))
                                continue;
                        (void) json_object_object_get_ex(check, "details", &details);
                        fprintf(stderr, "  %s: %s: %s\n", name, json_object_get_string(s),
                                details ? json_object_get_string(details) : "");
                }
        }
        fprintf(stderr,
                "Roll back with 'auteur-qualityctl rollback' if the previous generation served better.\n");
        if (asprintf(&r->error, "The daemon is %s after the deploy.", status) < 0)
                r->error = NULL;
        return EXIT_INVALID;
}

int verb_deploy(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *validated = NULL, *deployed = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(daemon_info_done) DaemonInfo before = { 0 };
        _cleanup_(apply_report_done) ApplyReport r = { .action = "deploy" };
        _cleanup_free_ char *path = NULL, *text = NULL;
        bool is_environment = false;
        uint64_t generation;
        Problems problems;
        int ok, k;

        k = target_resolve(argv[1], &path, &is_environment);
        if (k >= 0)
                k = deploy_origin(argv[1], path, is_environment, &r.origin);
        if (k < 0) {
                fprintf(stderr, "Out of memory.\n");
                return EXIT_INVALID;
        }

        k = apply_begin(&bus, &before);
        if (k != EXIT_OK)
                return k;
        r.previous_generation = before.generation;

        if (problems_init(&problems, path) < 0) {
                fprintf(stderr, "Out of memory.\n");
                return EXIT_INVALID;
        }

        /* 1: offline, with the same code as `validate`. */
        k = deploy_check_offline(path, &before, &problems, &r, &text);
        if (k != EXIT_OK)
                goto finish;

        /* 2: the daemon's own validation, against the workflows it serves. */
        k = bus_call(bus, "Validate", &error, &validated, "s", text);
        if (k >= 0)
                k = sd_bus_message_read(validated, "b", &ok);
        if (k >= 0)
                k = deploy_daemon_problems(validated, &problems, r.problems);
        if (k < 0) {
                k = apply_fail(bus, &r, "validate in the daemon", &error, k);
                goto done;
        }
        if (!ok) {
                fprintf(stderr, "The daemon found %s invalid; nothing was deployed.\n", path);
                r.error = strdup("The daemon found the configuration invalid.");
                k = EXIT_INVALID;
                goto finish;
        }

        /* 3: the transactional apply. */
        k = bus_call(bus, "Deploy", &error, &deployed, "ss", text, r.origin);
        if (k >= 0)
                k = read_generation(deployed, &generation);
        if (k < 0) {
                k = apply_fail(bus, &r, "deploy", &error, k);
                goto done;
        }
        r.applied = true;
        r.changed = generation != before.generation;
        if (r.changed && is_environment)
                k = asprintf(&r.summary, "Deployed environment '%s' from %s as generation %" PRIu64 ".",
                             argv[1], path, generation);
        else if (r.changed)
                k = asprintf(&r.summary, "Deployed %s as generation %" PRIu64 ".", path, generation);
        else
                k = asprintf(&r.summary, "%s matches the active generation %" PRIu64 "; nothing changed.",
                             path, generation);
        if (k < 0)
                r.summary = NULL;

        /* 4: does it serve? */
        k = deploy_check_health(bus, &r);

finish:
        k = apply_finish(bus, &r, k);
done:
        problems_done(&problems);
        return k;
}
