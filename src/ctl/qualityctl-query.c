/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* auteur-qualityctl resolve, tiers and render: what a task type is served with at a tier. */
#include <string.h>

#include "json-util.h"
#include "macro.h"
#include "qualityctl.h"

/* ---- resolve ---- */

static int resolve_print(const char *task_type, const char *tier, const char *workflow_path,
                         const char *workflow_file, struct json_object *parameters) {
        if (arg_json) {
                _cleanup_(json_object_putp) struct json_object *o = json_object_new_object();
                int k;

                if (!o)
                        return -ENOMEM;
                k = json_add(o, "task_type", json_object_new_string(task_type));
                if (k >= 0)
                        k = json_add(o, "tier", json_object_new_string(tier));
                if (k >= 0)
                        k = json_add(o, "workflow_path", json_object_new_string(workflow_path));
                if (k >= 0)
                        k = json_add(o, "workflow_file", json_object_new_string(workflow_file));
                if (k >= 0)
                        k = json_add(o, "parameters", json_object_get(parameters));
                if (k < 0)
                        return k;
                return json_print(o);
        }

        printf("    Task type: %s\n", task_type);
        printf("         Tier: %s\n", tier);
        printf("Workflow path: %s\n", workflow_path);
        printf("Workflow file: %s\n", workflow_file);
        if (json_object_object_length(parameters) == 0)
                printf("   Parameters: none\n");
        else {
                _cleanup_free_ char *text = NULL;

                if (parameters_to_string(parameters, &text) < 0)
                        return -ENOMEM;
                printf("   Parameters: %s\n", text);
        }
        return 0;
}

int verb_resolve(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(json_object_putp) struct json_object *parameters = NULL;
        const char *workflow_path, *workflow_file;
        int k;

        k = bus_connect(&bus);
        if (k < 0)
                return bus_log_connect_error(k);

        k = bus_call(bus, "Resolve", &error, &reply, "ss", argv[1], argv[2]);
        if (k < 0)
                return bus_log_error("resolve", &error, k);

        k = sd_bus_message_read(reply, "ss", &workflow_path, &workflow_file);
        if (k >= 0)
                k = bus_read_parameters(reply, &parameters);
        if (k < 0)
                return bus_log_error("read the answer of Resolve", NULL, k);

        k = resolve_print(argv[1], argv[2], workflow_path, workflow_file, parameters);
        if (k < 0) {
                fprintf(stderr, "Failed to print the answer: %s.\n", strerror(-k));
                return EXIT_INVALID;
        }
        return EXIT_OK;
}

/* ---- tiers ---- */

/* One block per tier, from DescribeTaskType: the same answer the HTTP shim serves at /tiers/TASK. */
static int tiers_print_text(const char *json) {
        _cleanup_(json_object_putp) struct json_object *o = NULL;
        struct json_object *task_type = NULL, *tiers = NULL;
        bool first = true;

        o = json_tokener_parse(json);
        if (!o || !json_object_object_get_ex(o, "available_tiers", &tiers) ||
            !json_object_is_type(tiers, json_type_object))
                return -EBADMSG;
        (void) json_object_object_get_ex(o, "task_type", &task_type);

        if (json_object_object_length(tiers) == 0) {
                printf("Task type '%s' is not served at any enabled tier.\n",
                       json_object_get_string(task_type));
                return 0;
        }

        JSON_OBJECT_FOREACH(i, tiers) {
                _cleanup_free_ char *text = NULL;
                struct json_object *t = json_object_iter_peek_value(&i), *path = NULL, *description = NULL,
                                   *parameters = NULL;
                const char *tier = json_object_iter_peek_name(&i);

                (void) json_object_object_get_ex(t, "workflow_path", &path);
                (void) json_object_object_get_ex(t, "description", &description);
                (void) json_object_object_get_ex(t, "parameters", &parameters);

                if (!first)
                        printf("\n");
                first = false;

                printf("%s: %s\n", tier, path ? json_object_get_string(path) : "");
                if (description && json_object_is_type(description, json_type_string))
                        printf("    %s\n", json_object_get_string(description));
                if (parameters && json_object_object_length(parameters) > 0) {
                        if (parameters_to_string(parameters, &text) < 0)
                                return -ENOMEM;
                        printf("    %s\n", text);
                }
        }
        return 0;
}

int verb_tiers(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        const char *json;
        int k;

        k = bus_connect(&bus);
        if (k < 0)
                return bus_log_connect_error(k);

        k = bus_call(bus, "DescribeTaskType", &error, &reply, "s", argv[1]);
        if (k < 0)
                return bus_log_error("list the tiers", &error, k);

        k = sd_bus_message_read(reply, "s", &json);
        if (k < 0)
                return bus_log_error("read the answer of DescribeTaskType", NULL, k);

        k = arg_json ? json_print_text(json) : tiers_print_text(json);
        if (k < 0) {
                fprintf(stderr, "Failed to print the tiers: %s.\n", strerror(-k));
                return EXIT_INVALID;
        }
        return EXIT_OK;
}

/* ---- render ---- */

int verb_render(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        const char *json;
        int k;

        k = bus_connect(&bus);
        if (k < 0)
                return bus_log_connect_error(k);

        k = bus_call(bus, "Render", &error, &reply, "ss", argv[1], argv[2]);
        if (k < 0)
                return bus_log_error("render", &error, k);

        k = sd_bus_message_read(reply, "s", &json);
        if (k < 0)
                return bus_log_error("read the answer of Render", NULL, k);

        /* JSON with or without --json: it is the body of ComfyUI's POST /prompt. */
        k = json_print_text(json);
        if (k < 0) {
                fprintf(stderr, "Failed to print the prompt: %s.\n", strerror(-k));
                return EXIT_INVALID;
        }
        return EXIT_OK;
}
