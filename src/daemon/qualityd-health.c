/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Live health: periodic workflow re-checks, Status, the health JSON and the Prometheus metrics. */
#include <json-c/json.h>
#include <string.h>
#include <unistd.h>

#include "json-util.h"
#include "log.h"
#include "message-ids.h"
#include "quality-def.h"
#include "qualityd-manager.h"
#include "time-util.h"

#define HEALTH_RECHECK_MIN_USEC USEC_PER_SEC

static const char *const health_status_table[_HEALTH_STATUS_MAX] = {
        [HEALTH_HEALTHY] = "healthy",
        [HEALTH_DEGRADED] = "degraded",
        [HEALTH_UNHEALTHY] = "unhealthy",
};

const char *health_status_to_string(HealthStatus s) {
        return s >= 0 && s < _HEALTH_STATUS_MAX ? health_status_table[s] : NULL;
}

static size_t slot_count(const Config *c) {
        return c ? c->n_task_types * _TIER_MAX : 0;
}

static int alert_level_to_priority(const Monitoring *mon) {
        if (!mon->alerting_enabled)
                return LOG_WARNING;
        switch (mon->workflow_missing) {
        case ALERT_CRITICAL:
                return LOG_CRIT;
        case ALERT_WARNING:
                return LOG_WARNING;
        default:
                return LOG_INFO;
        }
}

static void log_workflow_change(Manager *m, const TaskType *t, Tier tier, const WorkflowResult *result) {
        char generation[DECIMAL_STR_MAX(uint64_t)];
        const Mapping *mapping = t->tiers + tier;

        snprintf(generation, sizeof(generation), "%" PRIu64, m->generation);
        if (result->code >= 0)
                log_event_fields(
                        alert_level_to_priority(&m->config->monitoring), QUALITY_MESSAGE_WORKFLOW_MISSING,
                        LOG_FIELDS(LOG_FIELD("QUALITY_TASK_TYPE", t->name),
                                   LOG_FIELD("QUALITY_TIER", tier_to_string(tier)),
                                   LOG_FIELD("QUALITY_WORKFLOW_PATH", mapping->workflow_path),
                                   LOG_FIELD("QUALITY_PROBLEM_CODE", problem_code_to_string(result->code)),
                                   LOG_FIELD("QUALITY_GENERATION", generation)),
                        "%s Task type '%s', tier '%s' cannot be rendered until it is back.", result->message,
                        t->name, tier_to_string(tier));
        else
                log_event_fields(LOG_NOTICE, QUALITY_MESSAGE_WORKFLOW_RESTORED,
                                 LOG_FIELDS(LOG_FIELD("QUALITY_TASK_TYPE", t->name),
                                            LOG_FIELD("QUALITY_TIER", tier_to_string(tier)),
                                            LOG_FIELD("QUALITY_WORKFLOW_PATH", mapping->workflow_path),
                                            LOG_FIELD("QUALITY_GENERATION", generation)),
                                 "Workflow '%s/%s' of task type '%s', tier '%s' is usable again.",
                                 mapping->workflow_path, WORKFLOW_FILE_NAME, t->name, tier_to_string(tier));
}

int manager_check_workflows(Manager *m) {
        WorkflowState *w = &m->workflows;
        const Config *c = m->config;
        int k;

        w->last_check_usec = now(CLOCK_MONOTONIC);
        if (!c) {
                manager_update_status(m);
                return 0;
        }

        if (!m->checker && workflow_checker_new(m->workflows_root, &m->checker) < 0) {
                /* No root, no workflows: every served one is missing. */
                w->n_broken = c->n_mappings;
                free(w->first_problem);
                if (asprintf(&w->first_problem, "The workflows root %s cannot be opened.",
                             m->workflows_root) < 0)
                        w->first_problem = NULL;
                manager_update_status(m);
                return 0;
        }

        workflow_checker_forget_paths(m->checker);
        free(w->first_problem);
        w->first_problem = NULL;
        w->n_broken = 0;

        for (size_t i = 0; i < c->n_task_types; i++) {
                const TaskType *t = c->task_types + i;

                FOREACH_TIER(tier) {
                        const Mapping *mapping = t->tiers + tier;
                        const WorkflowResult *result;
                        size_t slot = i * _TIER_MAX + (size_t) tier;
                        bool broken;

                        if (!mapping_is_set(mapping) || !c->tiers[tier].enabled)
                                continue;

                        k = workflow_checker_check(m->checker, mapping->workflow_path, &result);
                        if (k < 0)
                                return log_error_errno(k, "Failed to check workflow '%s': %m",
                                                       mapping->workflow_path);

                        broken = result->code >= 0;
                        if (broken != (bool) w->broken[slot]) {
                                if (broken)
                                        m->workflow_missing_total++;
                                log_workflow_change(m, t, tier, result);
                                w->broken[slot] = broken;
                        }
                        if (broken) {
                                w->n_broken++;
                                if (!w->first_problem)
                                        w->first_problem = strdup(result->message);
                        }
                }
        }

        manager_update_status(m);
        return 0;
}

int manager_check_workflows_throttled(Manager *m) {
        if (now(CLOCK_MONOTONIC) < m->workflows.last_check_usec + HEALTH_RECHECK_MIN_USEC)
                return 0;
        return manager_check_workflows(m);
}

void manager_update_status(Manager *m) {
        char generation[DECIMAL_STR_MAX(uint64_t)];
        HealthStatus s;

        if (!m->config)
                s = HEALTH_UNHEALTHY;
        else if (m->fallback || m->workflows.n_broken > 0)
                s = HEALTH_DEGRADED;
        else
                s = HEALTH_HEALTHY;

        if (s == m->status)
                return;

        snprintf(generation, sizeof(generation), "%" PRIu64, m->generation);
        log_event_fields(
                s > m->status ? LOG_WARNING : LOG_NOTICE, QUALITY_MESSAGE_HEALTH_CHANGED,
                LOG_FIELDS(LOG_FIELD("QUALITY_GENERATION", generation),
                           LOG_FIELD("QUALITY_ENVIRONMENT", m->config ? m->config->environment : NULL)),
                "Status changed from %s to %s.", health_status_to_string(m->status),
                health_status_to_string(s));
        m->status = s;
        (void) manager_emit_changes(m, "Status", NULL);
        manager_notify_status(m, NULL);
}

int manager_adopt_config(Manager *m, Config *old) {
        size_t n = slot_count(m->config);
        uint64_t *selections = NULL;
        uint8_t *broken = NULL;

        if (n > 0) {
                selections = calloc(n, sizeof(uint64_t));
                broken = calloc(n, sizeof(uint8_t));
                if (!selections || !broken) {
                        free(selections);
                        free(broken);
                        return -ENOMEM;
                }
        }

        /* Counters follow their task type from one generation to the next. */
        for (size_t i = 0; old && m->selections && i < m->config->n_task_types; i++) {
                const TaskType *t = config_find_task_type(old, m->config->task_types[i].name);

                if (t)
                        memcpy(selections + i * _TIER_MAX,
                               m->selections + (size_t) (t - old->task_types) * _TIER_MAX,
                               sizeof(uint64_t) * _TIER_MAX);
        }

        free(m->selections);
        m->selections = selections;
        free(m->workflows.broken);
        m->workflows.broken = broken;
        m->workflows.n_broken = 0;
        free(m->workflows.first_problem);
        m->workflows.first_problem = NULL;
        return 0;
}

int manager_status_line(Manager *m, char **ret) {
        int k;

        if (!m->config)
                k = asprintf(ret, "No configuration active (%s); deploy a valid one.",
                             health_status_to_string(m->status));
        else
                k = asprintf(ret, "Environment %s, generation %" PRIu64 ", %zu mappings, %s%s.",
                             m->config->environment, m->generation, m->config->n_mappings,
                             health_status_to_string(m->status),
                             m->fallback ? " (config file invalid)" : "");
        return k < 0 ? -ENOMEM : 0;
}

/* ---- health JSON ---- */

static int add_check(struct json_object *checks, struct json_object *failed, const char *name,
                     HealthStatus s, const char *details) {
        struct json_object *o = json_object_new_object();
        int k;

        k = json_object_add_owned(checks, name, o);
        if (k >= 0)
                k = json_object_add_owned(o, "status", json_object_new_string(health_status_to_string(s)));
        if (k >= 0)
                k = json_object_add_owned(o, "details", json_object_new_string(details));
        if (k >= 0 && s != HEALTH_HEALTHY && json_object_array_add(failed, json_object_new_string(name)) < 0)
                k = -ENOMEM;
        return k;
}

static char *timestamp_iso8601(void) {
        char buf[sizeof("YYYY-MM-DDTHH:MM:SS.uuuuuuZ")];
        usec_t t = now(CLOCK_REALTIME);
        time_t sec = (time_t) (t / USEC_PER_SEC);
        struct tm tm;

        if (!gmtime_r(&sec, &tm))
                return NULL;
        if (strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
                return NULL;
        snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), ".%06uZ", (unsigned) (t % USEC_PER_SEC));
        return strdup(buf);
}

int manager_health_json(Manager *m, char **ret) {
        _cleanup_(json_object_putp) struct json_object *top = json_object_new_object();
        _cleanup_free_ char *configuration = NULL, *workflows = NULL, *permissions = NULL, *stamp = NULL;
        struct json_object *checks = json_object_new_object(), *failed = json_object_new_array();
        HealthStatus config_status, workflows_status, permissions_status;
        const char *text;
        int k;

        if (!top || !checks || !failed) {
                json_object_put(checks);
                json_object_put(failed);
                return -ENOMEM;
        }
        k = json_object_add_owned(top, "checks", checks);
        if (k < 0) {
                json_object_put(failed);
                return k;
        }
        k = json_object_add_owned(top, "failed_checks", failed);
        if (k < 0)
                return k;

        if (!m->config) {
                config_status = HEALTH_UNHEALTHY;
                k = asprintf(&configuration,
                             "No configuration is active: %s is %s and no generation was ever "
                             "applied.",
                             m->settings.config_path, m->config_file_valid ? "valid" : "invalid");
        } else if (m->fallback) {
                config_status = HEALTH_DEGRADED;
                k = asprintf(&configuration,
                             "%s is invalid; serving the last applied generation %" PRIu64 ".",
                             m->settings.config_path, m->generation);
        } else {
                config_status = HEALTH_HEALTHY;
                k = asprintf(&configuration, "Generation %" PRIu64 " of environment '%s' is active%s.",
                             m->generation, m->config->environment,
                             m->config_changed_on_disk ? "; the file on disk differs and is not applied"
                                                       : "");
        }
        if (k < 0)
                return -ENOMEM;

        if (!m->config) {
                workflows_status = HEALTH_UNHEALTHY;
                k = asprintf(&workflows, "No workflows are served.");
        } else if (m->workflows.n_broken > 0) {
                workflows_status = HEALTH_DEGRADED;
                k = asprintf(&workflows, "%zu of %zu workflows are missing or unusable. %s",
                             m->workflows.n_broken, m->config->n_mappings,
                             m->workflows.first_problem ? m->workflows.first_problem : "");
        } else {
                workflows_status = HEALTH_HEALTHY;
                k = asprintf(&workflows, "All %zu workflows are present beneath %s.", m->config->n_mappings,
                             m->workflows_root);
        }
        if (k < 0)
                return -ENOMEM;

        /* Deploy and Rollback write the config file and the state directory. */
        if (access(m->config_dir, W_OK) < 0) {
                permissions_status = HEALTH_DEGRADED;
                k = asprintf(&permissions, "%s is not writable: %s; Deploy and Rollback will fail.",
                             m->config_dir, strerror(errno));
        } else if (access(m->settings.state_dir, W_OK) < 0) {
                permissions_status = HEALTH_DEGRADED;
                k = asprintf(&permissions, "%s is not writable: %s; no new generation can be recorded.",
                             m->settings.state_dir, strerror(errno));
        } else {
                permissions_status = HEALTH_HEALTHY;
                k = asprintf(&permissions, "%s and %s are writable.", m->config_dir, m->settings.state_dir);
        }
        if (k < 0)
                return -ENOMEM;

        stamp = timestamp_iso8601();
        if (!stamp)
                return -ENOMEM;

        k = json_object_add_owned(top, "status", json_object_new_string(health_status_to_string(m->status)));
        if (k >= 0)
                k = json_object_add_owned(top, "timestamp", json_object_new_string(stamp));
        if (k >= 0)
                k = add_check(checks, failed, "configuration", config_status, configuration);
        if (k >= 0)
                k = add_check(checks, failed, "workflows", workflows_status, workflows);
        if (k >= 0)
                k = add_check(checks, failed, "permissions", permissions_status, permissions);
        if (k >= 0)
                k = json_object_add_owned(top, "environment",
                                          json_object_new_string(m->config ? m->config->environment : ""));
        if (k >= 0)
                k = json_object_add_owned(top, "generation", json_object_new_int64((int64_t) m->generation));
        if (k >= 0)
                k = json_object_add_owned(
                        top, "mappings",
                        json_object_new_int64(m->config ? (int64_t) m->config->n_mappings : 0));
        if (k >= 0)
                k = json_object_add_owned(top, "workflows_missing",
                                          json_object_new_int64((int64_t) m->workflows.n_broken));
        if (k >= 0)
                k = json_object_add_owned(top, "config_changed_on_disk",
                                          json_object_new_boolean(m->config_changed_on_disk));
        if (k >= 0)
                k = json_object_add_owned(top, "version", json_object_new_string(PACKAGE_VERSION));
        if (k < 0)
                return k;

        text = json_object_to_json_string_ext(top, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        *ret = text ? strdup(text) : NULL;
        return *ret ? 0 : -ENOMEM;
}

/* ---- metrics ---- */

/* Label values: backslash, double quote and newline escaped, as the text exposition format asks. */
static void write_label_value(FILE *f, const char *s) {
        for (; *s; s++)
                if (*s == '\\' || *s == '"')
                        fprintf(f, "\\%c", *s);
                else if (*s == '\n')
                        fputs("\\n", f);
                else
                        fputc(*s, f);
}

static void write_metric_header(FILE *f, const char *name, const char *type, const char *help) {
        fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

int manager_metrics_text(Manager *m, char **ret) {
        _cleanup_free_ char *text = NULL;
        size_t size = 0;
        FILE *f;

        f = open_memstream(&text, &size);
        if (!f)
                return -ENOMEM;

        write_metric_header(f, "quality_config_last_modified", "gauge",
                            "When the active configuration was applied, in seconds since the epoch.");
        fprintf(f, "quality_config_last_modified %" PRIu64 ".%06" PRIu64 "\n",
                m->last_reload_usec / USEC_PER_SEC, m->last_reload_usec % USEC_PER_SEC);
        write_metric_header(f, "quality_config_valid", "gauge",
                            "Whether the configuration file passed its last validation (1) or not (0).");
        fprintf(f, "quality_config_valid %d\n", m->config_file_valid ? 1 : 0);
        write_metric_header(f, "quality_config_generation", "gauge", "The active configuration generation.");
        fprintf(f, "quality_config_generation %" PRIu64 "\n", m->generation);
        write_metric_header(f, "quality_workflow_missing_total", "counter",
                            "Served workflows found missing or unusable by a re-check.");
        fprintf(f, "quality_workflow_missing_total %" PRIu64 "\n", m->workflow_missing_total);

        write_metric_header(f, "quality_tier_selection_total", "counter",
                            "Resolve and Render answers, by task type and tier.");
        for (size_t i = 0; m->config && m->selections && i < m->config->n_task_types; i++)
                FOREACH_TIER(tier) {
                        uint64_t n = m->selections[i * _TIER_MAX + (size_t) tier];

                        if (n == 0)
                                continue;
                        fputs("quality_tier_selection_total{task_type=\"", f);
                        write_label_value(f, m->config->task_types[i].name);
                        fprintf(f, "\",tier=\"%s\"} %" PRIu64 "\n", tier_to_string(tier), n);
                }

        write_metric_header(f, "quality_reload_total", "counter", "Configuration applies, by result.");
        fprintf(f, "quality_reload_total{result=\"success\"} %" PRIu64 "\n", m->reload_success_total);
        fprintf(f, "quality_reload_total{result=\"failure\"} %" PRIu64 "\n", m->reload_failure_total);
        write_metric_header(f, "quality_mappings", "gauge", "Task type and tier mappings served.");
        fprintf(f, "quality_mappings %zu\n", m->config ? m->config->n_mappings : 0);
        write_metric_header(f, "quality_health_status", "gauge",
                            "Status: 0 healthy, 1 degraded, 2 unhealthy.");
        fprintf(f, "quality_health_status %d\n", (int) m->status);

        if (fclose(f) != 0)
                return -ENOMEM;
        *ret = TAKE_PTR(text);
        return 0;
}

/* ---- periodic re-checks ---- */

static int on_check_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        int k;

        (void) manager_check_workflows(m);
        (void) manager_check_disk(m);

        k = sd_event_source_set_time_relative(s, m->settings.check_interval_usec);
        if (k >= 0)
                k = sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        if (k < 0)
                return log_error_errno(k, "Failed to re-arm the check timer: %m");
        return 0;
}

int manager_start_check_timer(Manager *m) {
        int k;

        k = sd_event_add_time_relative(m->event, &m->check_timer, CLOCK_MONOTONIC,
                                       m->settings.check_interval_usec, m->settings.check_interval_usec / 10,
                                       on_check_timer, m);
        if (k < 0)
                return log_error_errno(k, "Failed to add the check timer: %m");
        return 0;
}
