/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* auteur-qualityctl: options shared by every verb, the verbs' entry points and their common helpers. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <json-c/json.h>
#include <systemd/sd-bus.h>

#include "problem.h"

/* Exit codes of auteur-qualityctl(1). */
enum {
        EXIT_OK = 0,
        EXIT_INVALID = 1, /* invalid, failed, or (for health) not healthy */
        EXIT_USAGE = 2,
        EXIT_UNREACHABLE = 3,
};

/* How long one method call may take. Above the daemon's WatchdogSec=, so that a daemon that stalls is
 * restarted (and the call fails as unreachable) rather than this tool giving up first. */
#define QUALITYCTL_CALL_TIMEOUT_USEC (UINT64_C(30) * UINT64_C(1000000))

extern bool arg_json;
extern const char *arg_config;
extern const char *arg_workflows_root;
extern const char *arg_environments_dir;
extern const char *arg_host;
extern const char *arg_machine;
extern const char *arg_url;
extern const char *arg_environment;

/* Each verb gets its arguments after the verb's name (argv[0] is the verb) and returns an exit code. */
int verb_validate(int argc, char *argv[]);
int verb_status(int argc, char *argv[]);
int verb_health(int argc, char *argv[]);
int verb_history(int argc, char *argv[]);
int verb_reload(int argc, char *argv[]);
int verb_deploy(int argc, char *argv[]);
int verb_rollback(int argc, char *argv[]);
int verb_resolve(int argc, char *argv[]);
int verb_tiers(int argc, char *argv[]);
int verb_render(int argc, char *argv[]);
int verb_verify(int argc, char *argv[]);

/* qualityctl-validate.c */

/* FILE or ENV: a path, an existing file, or else the name of an environment file in the environments
 * directory; NULL: the active configuration file. ret_is_environment says which form was taken. */
int target_resolve(const char *arg, char **ret_path, bool *ret_is_environment);

/* The offline check of a file, as `validate` does it: reads it (ret_text, if not NULL, gets the text that
 * was checked) and checks it against workflows_root, else the file's own root_path. With check_workflows
 * false only the text itself is checked (syntax, schema, types, ranges), not the workflow files.
 * Returns 0 when the file has no errors, -EINVAL when problems has some, another negative errno when the
 * check could not be done. */
int offline_validate(const char *path, const char *workflows_root, bool check_workflows, Problems *problems,
                     char **ret_text, size_t *ret_size);

/* qualityctl-bus.c */

/* Connects to the system bus: of this host, of -H HOST over ssh, or of -M MACHINE. */
int bus_connect(sd_bus **ret);

/* Reports a failed bus_connect(); returns EXIT_UNREACHABLE (or EXIT_INVALID when out of memory). */
int bus_log_connect_error(int r);

/* Calls a method of org.auteur.QualityTier, as sd_bus_call_method() does. */
int bus_call(sd_bus *bus, const char *member, sd_bus_error *error, sd_bus_message **reply, const char *types,
             ...);

/* Whether a failed call means the daemon (or the bus) cannot be reached at all. */
bool bus_error_is_unreachable(const sd_bus_error *error, int r);

/* Prints "Failed to ACTION: why." to stderr and returns the exit code the failure calls for. The D-Bus
 * error's message is shown as the daemon wrote it (InvalidConfig carries its problem lines). */
int bus_log_error(const char *action, const sd_bus_error *error, int r);

/* The properties of the daemon, from one GetAll. */
typedef struct DaemonInfo {
        char *version;
        char *environment;
        uint64_t generation;
        char *status;
        char *config_path;
        char *workflows_root;
        uint32_t mappings;
        uint64_t last_reload_usec;
        bool config_changed_on_disk;
} DaemonInfo;

int daemon_info_get(sd_bus *bus, sd_bus_error *error, DaemonInfo *ret);
void daemon_info_done(DaemonInfo *info);

/* Prints what is active: "Generation 7 of environment 'production' is active." (or "stays active.") */
void daemon_info_print_active(const DaemonInfo *info, const char *verb, FILE *f);

/* qualityctl-output.c */

/* Walks the members of a JSON object in order, as json_object_object_foreach() does, but without its GNU
 * statement expressions (which -Wpedantic rejects under clang). Name and value come from
 * json_object_iter_peek_name(&i) and json_object_iter_peek_value(&i). */
#define JSON_OBJECT_FOREACH(i, obj)                                                                         \
        for (struct json_object_iterator i = json_object_iter_begin(obj),                                   \
                                         i##_end = json_object_iter_end(obj);                               \
             !json_object_iter_equal(&i, &i##_end); json_object_iter_next(&i))

/* Prints a JSON value on stdout: indented when stdout is a terminal, one line otherwise. */
int json_print(struct json_object *o);
/* Parses JSON text from the daemon and prints it as json_print() does. */
int json_print_text(const char *text);
/* Adds key: value to o, taking value (also on failure). -ENOMEM when value is NULL or cannot be added. */
int json_add(struct json_object *o, const char *key, struct json_object *value);

/* Reads an a{sv} of sampler parameters (x, d, s, b) into a JSON object. */
int bus_read_parameters(sd_bus_message *m, struct json_object **ret);
/* "steps=20 cfg_scale=7.0 sampler_name=euler", for a table cell. */
int parameters_to_string(struct json_object *parameters, char **ret);

/* "Tue 2024-05-14 10:22:03 UTC" in local time, and "2024-05-14T10:22:03.000000Z" for JSON. */
int format_timestamp(uint64_t usec, char **ret);
int format_timestamp_iso8601(uint64_t usec, char **ret);
/* "3min 12s ago", or "in the future" for clocks that disagree. */
int format_timestamp_relative(uint64_t usec, char **ret);

/* Problems as a JSON array, the shape `validate --json` prints. */
int problems_to_json(const Problems *problems, struct json_object **ret);
