/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The org.auteur.QualityTier D-Bus interface: one vtable, its method handlers and properties. */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "message-ids.h"
#include "quality-def.h"
#include "qualityd-bus.h"
#include "qualityd-manager.h"
#include "config-json.h"
#include "render.h"

#define CREDENTIALS_TIMEOUT_USEC (5ULL * 1000000ULL)

/* ---- authorisation ---- */

/* Asks the bus for the caller's supplementary groups: UnixGroupIDs of GetConnectionCredentials. Returns 1
 * if gid is among them, 0 if not or if the bus does not say. */
static int caller_in_group(sd_bus_message *message, gid_t gid) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL, *reply = NULL;
        sd_bus *bus = sd_bus_message_get_bus(message);
        int k;

        k = sd_bus_message_new_method_call(bus, &call, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                           "org.freedesktop.DBus", "GetConnectionCredentials");
        if (k < 0)
                return k;
        k = sd_bus_message_append(call, "s", sd_bus_message_get_sender(message));
        if (k < 0)
                return k;
        k = sd_bus_call(bus, call, CREDENTIALS_TIMEOUT_USEC, NULL, &reply);
        if (k < 0)
                return k;

        k = sd_bus_message_enter_container(reply, 'a', "{sv}");
        if (k < 0)
                return k;
        while ((k = sd_bus_message_enter_container(reply, 'e', "sv")) > 0) {
                const char *key;

                k = sd_bus_message_read(reply, "s", &key);
                if (k < 0)
                        return k;
                if (!streq(key, "UnixGroupIDs")) {
                        k = sd_bus_message_skip(reply, "v");
                        if (k < 0)
                                return k;
                } else {
                        const uint32_t *gids;
                        size_t size;

                        k = sd_bus_message_enter_container(reply, 'v', "au");
                        if (k < 0)
                                return k;
                        k = sd_bus_message_read_array(reply, 'u', (const void **) &gids, &size);
                        if (k < 0)
                                return k;
                        for (size_t i = 0; i < size / sizeof(uint32_t); i++)
                                if (gids[i] == (uint32_t) gid)
                                        return 1;
                        return 0;
                }
                k = sd_bus_message_exit_container(reply);
                if (k < 0)
                        return k;
        }
        return k < 0 ? k : 0;
}

/* Admin: effective UID 0, or a member of the admin group. The UID must come from the bus itself, not
 * from /proc (an augmented field could be of a process that exec'd since). */
static int verify_admin(Manager *m, sd_bus_message *message, sd_bus_error *error) {
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        const char *method = sd_bus_message_get_member(message);
        char uid_text[DECIMAL_STR_MAX(uid_t)] = "unknown";
        uid_t euid = UID_INVALID;
        int k;

        k = sd_bus_query_sender_creds(message, SD_BUS_CREDS_EUID, &creds);
        if (k >= 0 && !(sd_bus_creds_get_augmented_mask(creds) & SD_BUS_CREDS_EUID) &&
            sd_bus_creds_get_euid(creds, &euid) >= 0) {
                if (euid == 0)
                        return 1;
                snprintf(uid_text, sizeof(uid_text), "%u", (unsigned) euid);

                if (m->admin_gid_valid) {
                        k = caller_in_group(message, m->admin_gid);
                        if (k > 0)
                                return 1;
                        if (k < 0)
                                log_warning_errno(k, "Failed to query the groups of %s: %m",
                                                  sd_bus_message_get_sender(message));
                }
        }

        log_event_fields(LOG_WARNING, QUALITY_MESSAGE_UNAUTHORIZED_CALL,
                         LOG_FIELDS(LOG_FIELD("QUALITY_CALLER_UID", uid_text)),
                         "Refused %s() from UID %s: only root and members of group '%s' may call it.",
                         method, uid_text, m->settings.admin_group);
        return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                 "Only root and members of group '%s' may call %s().",
                                 m->settings.admin_group, method);
}

/* ---- parameters ---- */

static int append_parameter(sd_bus_message *reply, const Parameter *p) {
        static const char *const signature[_PARAMETER_TYPE_MAX] = {
                [PARAMETER_INT] = "x",
                [PARAMETER_DOUBLE] = "d",
                [PARAMETER_BOOL] = "b",
                [PARAMETER_STRING] = "s",
        };
        int b, k;

        /* Containers by hand rather than one sd_bus_message_append("{sv}", ...): Resolve is the hot path,
         * and this skips parsing a signature for every entry. */
        k = sd_bus_message_open_container(reply, 'e', "sv");
        if (k < 0)
                return k;
        k = sd_bus_message_append_basic(reply, 's', p->key);
        if (k < 0)
                return k;
        k = sd_bus_message_open_container(reply, 'v', signature[p->type]);
        if (k < 0)
                return k;
        switch (p->type) {
        case PARAMETER_INT:
                k = sd_bus_message_append_basic(reply, 'x', &p->i);
                break;
        case PARAMETER_DOUBLE:
                k = sd_bus_message_append_basic(reply, 'd', &p->d);
                break;
        case PARAMETER_BOOL:
                b = p->b;
                k = sd_bus_message_append_basic(reply, 'b', &b);
                break;
        default:
                k = sd_bus_message_append_basic(reply, 's', p->s);
                break;
        }
        if (k < 0)
                return k;
        k = sd_bus_message_close_container(reply);
        if (k < 0)
                return k;
        return sd_bus_message_close_container(reply);
}

static int append_parameters(sd_bus_message *reply, const Mapping *mapping) {
        int k;

        k = sd_bus_message_open_container(reply, 'a', "{sv}");
        if (k < 0)
                return k;

        for (size_t i = 0; mapping && i < mapping->n_parameters; i++) {
                k = append_parameter(reply, mapping->parameters + i);
                if (k < 0)
                        return k;
        }

        return sd_bus_message_close_container(reply);
}

/* Finds what a task type and tier resolve to, or sets the D-Bus error that says why not. */
static int lookup_mapping(Manager *m, const char *task_type, const char *tier_name, sd_bus_error *error,
                          const TaskType **ret_task_type, Tier *ret_tier) {
        const TaskType *t = NULL;
        Tier tier = TIER_LOW;

        if (!m->config)
                return sd_bus_error_set(error, QUALITY_ERROR_NOT_READY,
                                        "No configuration is active; deploy a valid one.");

        t = config_find_task_type(m->config, task_type);
        if (!t)
                return sd_bus_error_setf(error, QUALITY_ERROR_NO_SUCH_TASK_TYPE,
                                         "There is no task type '%s'.", task_type);

        tier = tier_from_string(tier_name);
        if (tier < 0)
                return sd_bus_error_setf(error, QUALITY_ERROR_NO_SUCH_TIER,
                                         "There is no tier '%s'; tiers are low, standard and high.",
                                         tier_name);
        if (!m->config->tiers[tier].enabled)
                return sd_bus_error_setf(error, QUALITY_ERROR_TIER_DISABLED, "Tier '%s' is disabled.",
                                         tier_name);
        if (!mapping_is_set(t->tiers + tier))
                return sd_bus_error_setf(error, QUALITY_ERROR_NO_SUCH_TIER,
                                         "Task type '%s' has no mapping for tier '%s'.", task_type,
                                         tier_name);

        *ret_task_type = t;
        *ret_tier = tier;
        return 0;
}

static void count_selection(Manager *m, const TaskType *t, Tier tier) {
        size_t index = (size_t) (t - m->config->task_types);

        if (m->selections)
                m->selections[index * _TIER_MAX + tier]++;
}

/* ---- methods ---- */

static int reply_problems(sd_bus_message *message, const Problems *problems) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int k;

        k = sd_bus_message_new_method_return(message, &reply);
        if (k < 0)
                return k;
        k = sd_bus_message_append(reply, "b", (int) !problems_has_errors(problems));
        if (k < 0)
                return k;
        k = sd_bus_message_open_container(reply, 'a', "(ssuus)");
        if (k < 0)
                return k;
        for (size_t i = 0; i < problems->n_items; i++) {
                const Problem *p = problems->items + i;

                k = sd_bus_message_append(reply, "(ssuus)", severity_to_string(p->severity),
                                          problem_code_to_string(p->code), p->line, p->column, p->message);
                if (k < 0)
                        return k;
        }
        k = sd_bus_message_close_container(reply);
        if (k < 0)
                return k;

        return sd_bus_send(NULL, reply, NULL);
}

static int method_validate(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        Problems problems;
        const char *text;
        int k;

        k = sd_bus_message_read(message, "s", &text);
        if (k < 0)
                return k;

        k = problems_init(&problems, m->settings.config_path);
        if (k < 0)
                return k;

        k = manager_validate_text(m, *text ? text : NULL, strlen(text), &problems);
        if (k >= 0 || k == -EINVAL || problems_has_errors(&problems))
                k = reply_problems(message, &problems);
        problems_done(&problems);
        return k;
}

static int reply_generation(sd_bus_message *message, int k, uint64_t generation) {
        if (k < 0)
                return k;
        return sd_bus_reply_method_return(message, "t", generation);
}

static int method_reload(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        uint64_t generation = 0;
        int k;

        k = verify_admin(m, message, error);
        if (k <= 0)
                return k;

        k = manager_reload(m, error, &generation);
        return reply_generation(message, k, generation);
}

static bool origin_valid(const char *s) {
        if (strlen(s) > DEPLOY_ORIGIN_MAX)
                return false;
        for (; *s; s++)
                if ((unsigned char) *s < ' ' || *s == 0x7F)
                        return false;
        return true;
}

static int method_deploy(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        const char *text, *origin;
        uint64_t generation = 0;
        int k;

        k = sd_bus_message_read(message, "ss", &text, &origin);
        if (k < 0)
                return k;

        k = verify_admin(m, message, error);
        if (k <= 0)
                return k;

        if (!origin_valid(origin))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "The origin must be at most %u printable characters.",
                                         DEPLOY_ORIGIN_MAX);

        k = manager_deploy(m, text, *origin ? origin : "deploy", error, &generation);
        return reply_generation(message, k, generation);
}

static int method_rollback(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        uint64_t target, generation = 0;
        int k;

        k = sd_bus_message_read(message, "t", &target);
        if (k < 0)
                return k;

        k = verify_admin(m, message, error);
        if (k <= 0)
                return k;

        k = manager_rollback(m, target, error, &generation);
        return reply_generation(message, k, generation);
}

static int method_health(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_free_ char *json = NULL;
        Manager *m = userdata;
        int k;

        k = manager_check_workflows_throttled(m);
        if (k < 0)
                return k;

        k = manager_health_json(m, &json);
        if (k < 0)
                return k;

        return sd_bus_reply_method_return(message, "ss", health_status_to_string(m->status), json);
}

static int method_resolve(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *task_type, *tier_name;
        char file[PATH_MAX];
        Manager *m = userdata;
        const TaskType *t = NULL;
        const Mapping *mapping;
        Tier tier = TIER_LOW;
        int k;

        k = sd_bus_message_read(message, "ss", &task_type, &tier_name);
        if (k < 0)
                return k;

        k = lookup_mapping(m, task_type, tier_name, error, &t, &tier);
        if (k < 0)
                return k;
        mapping = t->tiers + tier;

        /* workflow_path is at most WORKFLOW_PATH_MAX bytes; a root too long to fit is refused, not cut. */
        if ((size_t) snprintf(file, sizeof(file), "%s/%s/%s", m->workflows_root, mapping->workflow_path,
                              WORKFLOW_FILE_NAME) >= sizeof(file))
                return -ENAMETOOLONG;

        k = sd_bus_message_new_method_return(message, &reply);
        if (k < 0)
                return k;
        k = sd_bus_message_append(reply, "ss", mapping->workflow_path, file);
        if (k < 0)
                return k;
        k = append_parameters(reply, mapping);
        if (k < 0)
                return k;

        count_selection(m, t, tier);
        return sd_bus_send(NULL, reply, NULL);
}

static int method_list_task_types(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Manager *m = userdata;
        int k;

        k = sd_bus_message_new_method_return(message, &reply);
        if (k < 0)
                return k;
        k = sd_bus_message_open_container(reply, 'a', "s");
        if (k < 0)
                return k;
        for (size_t i = 0; m->config && i < m->config->n_task_types; i++) {
                k = sd_bus_message_append(reply, "s", m->config->task_types[i].name);
                if (k < 0)
                        return k;
        }
        k = sd_bus_message_close_container(reply);
        if (k < 0)
                return k;

        return sd_bus_send(NULL, reply, NULL);
}

static int find_task_type(Manager *m, const char *name, sd_bus_error *error, const TaskType **ret) {
        const TaskType *t = NULL;

        if (!m->config)
                return sd_bus_error_set(error, QUALITY_ERROR_NOT_READY,
                                        "No configuration is active; deploy a valid one.");
        t = config_find_task_type(m->config, name);
        if (!t)
                return sd_bus_error_setf(error, QUALITY_ERROR_NO_SUCH_TASK_TYPE,
                                         "There is no task type '%s'.", name);
        *ret = t;
        return 0;
}

static int method_list_tiers(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Manager *m = userdata;
        const char *name;
        const TaskType *t = NULL;
        int k;

        k = sd_bus_message_read(message, "s", &name);
        if (k < 0)
                return k;
        k = find_task_type(m, name, error, &t);
        if (k < 0)
                return k;

        k = sd_bus_message_new_method_return(message, &reply);
        if (k < 0)
                return k;
        k = sd_bus_message_open_container(reply, 'a', "(ssa{sv})");
        if (k < 0)
                return k;
        FOREACH_TIER(tier) {
                const Mapping *mapping = t->tiers + tier;

                if (!mapping_is_set(mapping) || !m->config->tiers[tier].enabled)
                        continue;

                k = sd_bus_message_open_container(reply, 'r', "ssa{sv}");
                if (k < 0)
                        return k;
                k = sd_bus_message_append(reply, "ss", tier_to_string(tier), mapping->workflow_path);
                if (k < 0)
                        return k;
                k = append_parameters(reply, mapping);
                if (k < 0)
                        return k;
                k = sd_bus_message_close_container(reply);
                if (k < 0)
                        return k;
        }
        k = sd_bus_message_close_container(reply);
        if (k < 0)
                return k;

        return sd_bus_send(NULL, reply, NULL);
}

static int method_describe_task_type(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_free_ char *json = NULL;
        Manager *m = userdata;
        const char *name;
        const TaskType *t = NULL;
        int k;

        k = sd_bus_message_read(message, "s", &name);
        if (k < 0)
                return k;
        k = find_task_type(m, name, error, &t);
        if (k < 0)
                return k;

        k = config_describe_task_type_json(m->config, t, &json);
        if (k < 0)
                return k;

        return sd_bus_reply_method_return(message, "s", json);
}

static int method_list_generations(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Manager *m = userdata;
        int k;

        k = sd_bus_message_new_method_return(message, &reply);
        if (k < 0)
                return k;
        k = sd_bus_message_open_container(reply, 'a', "(ttsss)");
        if (k < 0)
                return k;
        for (size_t i = 0; m->generations && i < generation_store_count(m->generations); i++) {
                const GenerationInfo *g = generation_store_get(m->generations, i);

                k = sd_bus_message_append(reply, "(ttsss)", g->generation, g->applied_usec, g->sha256,
                                          g->origin, g->environment);
                if (k < 0)
                        return k;
        }
        k = sd_bus_message_close_container(reply);
        if (k < 0)
                return k;

        return sd_bus_send(NULL, reply, NULL);
}

static int method_get_metrics(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_free_ char *text = NULL;
        Manager *m = userdata;
        int k;

        k = manager_metrics_text(m, &text);
        if (k < 0)
                return k;

        return sd_bus_reply_method_return(message, "s", text);
}

static int method_render(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_free_ char *json = NULL;
        const char *task_type, *tier_name;
        Manager *m = userdata;
        const TaskType *t = NULL;
        Tier tier = TIER_LOW;
        int k;

        k = sd_bus_message_read(message, "ss", &task_type, &tier_name);
        if (k < 0)
                return k;

        k = lookup_mapping(m, task_type, tier_name, error, &t, &tier);
        if (k < 0)
                return k;

        k = render_prompt(m->checker, t->tiers + tier, &json);
        if (k == -ENOMEM)
                return k;
        if (k < 0)
                return sd_bus_error_setf(error, QUALITY_ERROR_NOT_READY,
                                         "The workflow of task type '%s', tier '%s' cannot be rendered: %s.",
                                         task_type, tier_name, strerror(-k));

        count_selection(m, t, tier);
        return sd_bus_reply_method_return(message, "s", json);
}

/* ---- properties ---- */

static int property_get_version(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "s", PACKAGE_VERSION);
}

static int property_get_environment(sd_bus *bus, const char *path, const char *interface,
                                    const char *property, sd_bus_message *reply, void *userdata,
                                    sd_bus_error *error) {
        Manager *m = userdata;
        return sd_bus_message_append(reply, "s", m->config ? m->config->environment : "");
}

static int property_get_status(sd_bus *bus, const char *path, const char *interface, const char *property,
                               sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        return sd_bus_message_append(reply, "s", health_status_to_string(m->status));
}

static int property_get_mappings(sd_bus *bus, const char *path, const char *interface, const char *property,
                                 sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        return sd_bus_message_append(reply, "u", m->config ? (uint32_t) m->config->n_mappings : 0);
}

static int property_get_bool(sd_bus *bus, const char *path, const char *interface, const char *property,
                             sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "b", (int) *(bool *) userdata);
}

/* One line per argument list, as systemd lays out its vtables. */
/* clang-format off */
const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),

        SD_BUS_PROPERTY("Version", "s", property_get_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Environment", "s", property_get_environment, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Generation", "t", NULL, offsetof(Manager, generation),
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Status", "s", property_get_status, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("ConfigPath", "s", NULL, offsetof(Manager, settings.config_path),
                        SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("WorkflowsRoot", "s", NULL, offsetof(Manager, workflows_root),
                        SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Mappings", "u", property_get_mappings, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("LastReloadUSec", "t", NULL, offsetof(Manager, last_reload_usec),
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("ConfigChangedOnDisk", "b", property_get_bool, offsetof(Manager, config_changed_on_disk),
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),

        SD_BUS_METHOD_WITH_ARGS("Validate",
                                SD_BUS_ARGS("s", yaml_text),
                                SD_BUS_RESULT("b", ok, "a(ssuus)", problems),
                                method_validate,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Reload",
                                SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("t", generation),
                                method_reload,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Deploy",
                                SD_BUS_ARGS("s", yaml_text, "s", origin),
                                SD_BUS_RESULT("t", generation),
                                method_deploy,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Rollback",
                                SD_BUS_ARGS("t", generation),
                                SD_BUS_RESULT("t", generation),
                                method_rollback,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Health",
                                SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("s", status, "s", json),
                                method_health,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Resolve",
                                SD_BUS_ARGS("s", task_type, "s", tier),
                                SD_BUS_RESULT("s", workflow_path, "s", workflow_file, "a{sv}", parameters),
                                method_resolve,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListTaskTypes",
                                SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("as", task_types),
                                method_list_task_types,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListTiers",
                                SD_BUS_ARGS("s", task_type),
                                SD_BUS_RESULT("a(ssa{sv})", tiers),
                                method_list_tiers,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("DescribeTaskType",
                                SD_BUS_ARGS("s", task_type),
                                SD_BUS_RESULT("s", json),
                                method_describe_task_type,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListGenerations",
                                SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("a(ttsss)", generations),
                                method_list_generations,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetMetrics",
                                SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("s", text),
                                method_get_metrics,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Render",
                                SD_BUS_ARGS("s", task_type, "s", tier),
                                SD_BUS_RESULT("s", json),
                                method_render,
                                SD_BUS_VTABLE_UNPRIVILEGED),

        SD_BUS_SIGNAL_WITH_ARGS("Reloaded", SD_BUS_ARGS("t", generation, "s", sha256), 0),

        SD_BUS_VTABLE_END,
};
/* clang-format on */

int manager_emit_changes(Manager *m, const char *first_property, ...) {
        _cleanup_free_ char **names = NULL;
        size_t n = 0;
        va_list ap;

        if (!m->bus)
                return 0;

        va_start(ap, first_property);
        for (const char *p = first_property; p; p = va_arg(ap, const char *))
                n++;
        va_end(ap);

        names = calloc(n + 1, sizeof(char *));
        if (!names)
                return -ENOMEM;

        va_start(ap, first_property);
        n = 0;
        for (const char *p = first_property; p; p = va_arg(ap, const char *))
                names[n++] = (char *) p;
        va_end(ap);

        return sd_bus_emit_properties_changed_strv(m->bus, QUALITY_BUS_PATH, QUALITY_BUS_INTERFACE, names);
}

int manager_emit_reloaded(Manager *m) {
        if (!m->bus)
                return 0;
        return sd_bus_emit_signal(m->bus, QUALITY_BUS_PATH, QUALITY_BUS_INTERFACE, "Reloaded", "ts",
                                  m->generation, m->sha256);
}

int manager_connect_bus(Manager *m) {
        int k;

        k = sd_bus_open_system_with_description(&m->bus, "bus-api-quality");
        if (k < 0)
                return log_error_errno(k, "Failed to connect to the system bus: %m");

        k = sd_bus_add_object_vtable(m->bus, NULL, QUALITY_BUS_PATH, QUALITY_BUS_INTERFACE, manager_vtable,
                                     m);
        if (k < 0)
                return log_error_errno(k, "Failed to add the object %s: %m", QUALITY_BUS_PATH);

        k = sd_bus_attach_event(m->bus, m->event, SD_EVENT_PRIORITY_NORMAL);
        if (k < 0)
                return log_error_errno(k, "Failed to attach the bus to the event loop: %m");

        return 0;
}

int manager_request_name(Manager *m) {
        int k;

        k = sd_bus_request_name(m->bus, QUALITY_BUS_NAME, 0);
        if (k < 0)
                return log_error_errno(k, "Failed to own the bus name %s: %m", QUALITY_BUS_NAME);
        return 0;
}
