/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The immutable in-memory model of a quality configuration, and lookups that never allocate. */
#include <string.h>

#include "arena.h"
#include "config.h"

static const char *const tier_table[_TIER_MAX] = {
        [TIER_LOW] = "low",
        [TIER_STANDARD] = "standard",
        [TIER_HIGH] = "high",
};

static const char *const parameter_type_table[_PARAMETER_TYPE_MAX] = {
        [PARAMETER_INT] = "integer",
        [PARAMETER_DOUBLE] = "number",
        [PARAMETER_BOOL] = "boolean",
        [PARAMETER_STRING] = "string",
};

static const char *const alert_level_table[_ALERT_LEVEL_MAX] = {
        [ALERT_CRITICAL] = "critical",
        [ALERT_WARNING] = "warning",
        [ALERT_INFO] = "info",
};

static const char *const config_shape_table[_CONFIG_SHAPE_MAX] = {
        [CONFIG_SHAPE_ENVIRONMENT] = "environment",
        [CONFIG_SHAPE_FLAT] = "flat",
};

const char *tier_to_string(Tier t) {
        return t >= 0 && t < _TIER_MAX ? tier_table[t] : NULL;
}

Tier tier_from_string(const char *s) {
        FOREACH_TIER(t)
                if (s && streq(tier_table[t], s))
                        return t;
        return _TIER_INVALID;
}

const char *parameter_type_to_string(ParameterType t) {
        return t >= 0 && t < _PARAMETER_TYPE_MAX ? parameter_type_table[t] : NULL;
}

const char *alert_level_to_string(AlertLevel l) {
        return l >= 0 && l < _ALERT_LEVEL_MAX ? alert_level_table[l] : NULL;
}

AlertLevel alert_level_from_string(const char *s) {
        for (AlertLevel l = 0; l < _ALERT_LEVEL_MAX; l++)
                if (s && streq(alert_level_table[l], s))
                        return l;
        return _ALERT_LEVEL_INVALID;
}

const char *config_shape_to_string(ConfigShape s) {
        return s >= 0 && s < _CONFIG_SHAPE_MAX ? config_shape_table[s] : NULL;
}

Config *config_ref(Config *c) {
        if (c)
                c->n_ref++;
        return c;
}

Config *config_unref(Config *c) {
        if (!c || --c->n_ref > 0)
                return NULL;

        /* The Config itself lives in its own arena. */
        arena_free(c->arena);
        return NULL;
}

const TaskType *config_find_task_type(const Config *c, const char *name) {
        size_t lo = 0, hi = c->n_task_types;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                int d = strcmp(name, c->task_types[mid].name);

                if (d == 0)
                        return c->task_types + mid;
                if (d < 0)
                        hi = mid;
                else
                        lo = mid + 1;
        }
        return NULL;
}

const Mapping *config_find_mapping(const Config *c, const char *task_type, Tier tier) {
        const TaskType *t;

        if (tier < 0 || tier >= _TIER_MAX || !c->tiers[tier].enabled)
                return NULL;

        t = config_find_task_type(c, task_type);
        if (!t || !mapping_is_set(t->tiers + tier))
                return NULL;
        return t->tiers + tier;
}

const Parameter *mapping_find_parameter(const Mapping *m, const char *key) {
        size_t lo = 0, hi = m->n_parameters;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                int d = strcmp(key, m->parameters[mid].key);

                if (d == 0)
                        return m->parameters + mid;
                if (d < 0)
                        hi = mid;
                else
                        lo = mid + 1;
        }
        return NULL;
}
