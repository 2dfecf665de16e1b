/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The daemon's state: the active configuration and its generation, health, counters, event sources. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "config-validate.h"
#include "config.h"
#include "problem.h"
#include "generation-store.h"
#include "sha256.h"
#include "workflow-check.h"

typedef enum HealthStatus {
        HEALTH_HEALTHY,
        HEALTH_DEGRADED,
        HEALTH_UNHEALTHY,
        _HEALTH_STATUS_MAX,
        _HEALTH_STATUS_INVALID = -EINVAL,
} HealthStatus;

const char *health_status_to_string(HealthStatus s) _const_;

/* What the daemon was told at start-up; fixed for its lifetime. */
typedef struct Settings {
        char *config_path;
        char *workflows_root; /* NULL: from the config file at start-up, else the default */
        RootMismatch root_mismatch;
        char *state_dir;
        char *admin_group;
        unsigned keep_generations;
        uint64_t check_interval_usec;
} Settings;

/* What a Health call or a periodic check found about the served workflows. */
typedef struct WorkflowState {
        uint8_t *broken;          /* per served slot (task type index * _TIER_MAX + tier): 1 if failing */
        size_t n_broken;          /* how many slots are failing */
        char *first_problem;      /* message of one failing workflow, for the health details */
        uint64_t last_check_usec; /* CLOCK_MONOTONIC */
} WorkflowState;

typedef struct Manager {
        sd_event *event;
        sd_bus *bus;
        sd_event_source *sighup_source;
        sd_event_source *check_timer;
        sd_event_source *inotify_source;
        sd_event_source *disk_check_timer;

        Settings settings;
        char *config_dir;
        char *workflows_root; /* fixed at start-up: option, variable, the file's root_path, default */
        gid_t admin_gid;
        bool admin_gid_valid;

        /* The active configuration: NULL while nothing valid was ever applied (Status unhealthy). */
        Config *config;
        uint64_t generation;
        char sha256[SHA256_HEX_SIZE];
        uint64_t last_reload_usec; /* CLOCK_REALTIME of the last apply */
        bool fallback;             /* serving the last generation because the file was invalid at start-up */
        bool config_changed_on_disk;
        bool config_file_valid; /* the last validation of the file at the config path succeeded */

        GenerationStore *generations;
        WorkflowChecker *checker; /* long-lived: unchanged workflow files are not parsed again */
        WorkflowState workflows;
        HealthStatus status;

        /* Counters for GetMetrics. selections is parallel to config->task_types, _TIER_MAX each. */
        uint64_t *selections;
        uint64_t workflow_missing_total;
        uint64_t reload_success_total;
        uint64_t reload_failure_total;
} Manager;

int manager_new(Settings *settings, Manager **ret);
Manager *manager_free(Manager *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Manager *, manager_free);

/* Connects to the bus, loads the configuration, owns the name and tells systemd it is ready. */
int manager_start(Manager *m);
int manager_run(Manager *m);

/* sd_notify with a STATUS= line describing the current state; extra lines (READY=1, ...) may be added. */
void manager_notify_status(Manager *m, const char *extra);

/* qualityd-apply.c */
typedef enum ApplyKind {
        APPLY_RELOAD,   /* the file at the config path */
        APPLY_DEPLOY,   /* text from a caller, written to the config path */
        APPLY_ROLLBACK, /* a stored generation, written to the config path */
        APPLY_STARTUP,
        _APPLY_KIND_MAX,
} ApplyKind;

int manager_load_startup(Manager *m);
/* Each of these validates completely beside the active config and swaps it in only if valid. On failure
 * error is set (InvalidConfig and the first problems, or a system error) and nothing changed. */
int manager_reload(Manager *m, sd_bus_error *error, uint64_t *ret_generation);
int manager_deploy(Manager *m, const char *text, const char *origin, sd_bus_error *error,
                   uint64_t *ret_generation);
int manager_rollback(Manager *m, uint64_t generation, sd_bus_error *error, uint64_t *ret_generation);
int manager_validate_text(Manager *m, const char *text, size_t size, Problems *problems);
/* Re-reads the config path's sha256 and updates ConfigChangedOnDisk. */
int manager_check_disk(Manager *m);
int manager_watch_config_dir(Manager *m);

/* qualityd-health.c */
/* Re-checks every served workflow (unchanged files are not parsed again), updates Status and counters,
 * and logs workflows that vanished or returned. */
int manager_check_workflows(Manager *m);
/* The same when the last check is over a second old, so that a Health storm costs one check a second. */
int manager_check_workflows_throttled(Manager *m);
void manager_update_status(Manager *m);
int manager_health_json(Manager *m, char **ret);
int manager_metrics_text(Manager *m, char **ret);
int manager_start_check_timer(Manager *m);
/* The STATUS= line: environment, generation, mappings, health. */
int manager_status_line(Manager *m, char **ret);
/* Reallocates per-mapping state for a newly swapped-in config, carrying counters over by task type. */
int manager_adopt_config(Manager *m, Config *old);

/* qualityd-bus.c */
int manager_connect_bus(Manager *m);
int manager_request_name(Manager *m);
int manager_emit_changes(Manager *m, const char *first_property, ...) _sentinel_;
int manager_emit_reloaded(Manager *m);
