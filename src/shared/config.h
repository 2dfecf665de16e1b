/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The immutable in-memory model of a quality configuration, and lookups that never allocate. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

typedef enum Tier {
        TIER_LOW,
        TIER_STANDARD,
        TIER_HIGH,
        _TIER_MAX,
        _TIER_INVALID = -EINVAL,
} Tier;

typedef enum ConfigShape {
        CONFIG_SHAPE_ENVIRONMENT,
        CONFIG_SHAPE_FLAT,
        _CONFIG_SHAPE_MAX,
        _CONFIG_SHAPE_INVALID = -EINVAL,
} ConfigShape;

typedef enum ParameterType {
        PARAMETER_INT,
        PARAMETER_DOUBLE,
        PARAMETER_BOOL,
        PARAMETER_STRING,
        _PARAMETER_TYPE_MAX,
        _PARAMETER_TYPE_INVALID = -EINVAL,
} ParameterType;

/* Severity an alert threshold names (monitoring.alerting.thresholds). */
typedef enum AlertLevel {
        ALERT_CRITICAL,
        ALERT_WARNING,
        ALERT_INFO,
        _ALERT_LEVEL_MAX,
        _ALERT_LEVEL_INVALID = -EINVAL,
} AlertLevel;

typedef struct Parameter {
        const char *key;
        ParameterType type;
        union {
                int64_t i;
                double d;
                bool b;
                const char *s;
        };
} Parameter;

/* Where a node stood in the file: 1-based, as problems report it. */
typedef struct Position {
        unsigned line;
        unsigned column;
} Position;

typedef struct Mapping {
        const char *workflow_path;   /* relative to the workflows root, as written; NULL: tier not mapped */
        const char *description;     /* NULL when not given */
        const Parameter *parameters; /* sorted by key */
        size_t n_parameters;
        Position tier_position;          /* of the tier key */
        Position workflow_path_position; /* of the workflow_path value: workflow problems point here */
} Mapping;

typedef struct TaskType {
        const char *name;
        Mapping tiers[_TIER_MAX];
} TaskType;

typedef struct TierSettings {
        bool enabled;
        const char *description; /* NULL when not given */
} TierSettings;

typedef struct Monitoring {
        bool health_check_enabled;
        bool metrics_collection;
        bool alerting_enabled;
        AlertLevel workflow_missing;
        AlertLevel config_invalid;
} Monitoring;

typedef struct Arena Arena;

/* Built once by the loader, then only read: share it by reference, never change it. */
typedef struct Config {
        unsigned n_ref;
        ConfigShape shape;
        const char *environment;
        const char *version;  /* flat shape's "version", NULL when not given */
        bool quality_enabled; /* quality_system.enabled */
        TierSettings tiers[_TIER_MAX];
        const char *root_path; /* workflows.root_path as written, NULL when not given */
        Position root_path_position;
        const char *config_path; /* workflows.config_path, informational */
        Monitoring monitoring;
        TaskType *task_types; /* sorted by name */
        size_t n_task_types;
        size_t n_mappings; /* mappings of enabled tiers: what is served */
        Arena *arena;      /* owns every string and array above */
} Config;

Config *config_ref(Config *c);
Config *config_unref(Config *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(Config *, config_unref);

/* Lookups: binary search on the sorted task types; no allocation. */
const TaskType *config_find_task_type(const Config *c, const char *name) _pure_;
/* Returns the mapping served for the tier, or NULL if the tier is disabled or unmapped. */
const Mapping *config_find_mapping(const Config *c, const char *task_type, Tier tier) _pure_;
const Parameter *mapping_find_parameter(const Mapping *m, const char *key) _pure_;

static inline bool mapping_is_set(const Mapping *m) {
        return m && m->workflow_path;
}

const char *tier_to_string(Tier t) _const_;
Tier tier_from_string(const char *s) _pure_;
const char *parameter_type_to_string(ParameterType t) _const_;
const char *alert_level_to_string(AlertLevel l) _const_;
AlertLevel alert_level_from_string(const char *s) _pure_;
const char *config_shape_to_string(ConfigShape s) _const_;

#define FOREACH_TIER(t) for (Tier t = 0; t < _TIER_MAX; t++)
