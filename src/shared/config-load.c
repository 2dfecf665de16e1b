/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Loads a quality configuration from YAML text with libyaml's event API: the document and its sections. */
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>

#include "config-load-internal.h"
#include "config-load.h"
#include "quality-def.h"
#include "suggest.h"
#include "utf8.h"

/* ---- quality_system ---- */

typedef struct TierItem {
        const char *name;
        Position name_position;
        const char *description;
        bool enabled;
} TierItem;

static int parse_tier_item_name(YamlReader *r, Position key_position, void *userdata) {
        TierItem *item = userdata;
        Position vp = yaml_reader_position(r);
        int k = read_string(r, "name", &item->name);

        if (k > 0)
                item->name_position = vp;
        return k < 0 ? k : 0;
}

static int parse_tier_item_description(YamlReader *r, Position key_position, void *userdata) {
        TierItem *item = userdata;
        int k = read_string(r, "description", &item->description);
        return k < 0 ? k : 0;
}

static int parse_tier_item_enabled(YamlReader *r, Position key_position, void *userdata) {
        TierItem *item = userdata;
        int k = read_bool(r, "enabled", &item->enabled);
        return k < 0 ? k : 0;
}

static const KeyDef tier_item_keys[] = {
        { "name", parse_tier_item_name },
        { "description", parse_tier_item_description },
        { "enabled", parse_tier_item_enabled },
};

static int parse_tier_item(YamlReader *r, size_t index, void *userdata) {
        static const char *const tier_names[] = { "low", "standard", "high", NULL };
        static const KeyTable table = { "quality_system.tiers", tier_item_keys, ELEMENTSOF(tier_item_keys) };
        Loader *l = loader_of(r);
        Position item_position = yaml_reader_position(r);
        TierItem item = { .enabled = true };
        const char *suggestion;
        Tier tier;
        int k;

        /* "- low" is short for "- {name: low}". */
        if (r->event.type == YAML_SCALAR_EVENT) {
                k = parse_tier_item_name(r, item_position, &item);
                if (k < 0)
                        return k;
        } else {
                k = parse_keys(r, &table, &item, NULL);
                if (k <= 0)
                        return k;
        }

        if (!item.name) {
                if (r->event.type == YAML_SCALAR_EVENT)
                        return 0; /* reported as a bad name already */
                k = load_error(r, PROBLEM_MISSING_KEY, item_position,
                               "Tier %zu of quality_system.tiers has no 'name'.", index + 1);
                return k < 0 ? k : 0;
        }

        tier = tier_from_string(item.name);
        if (tier < 0) {
                suggestion = suggest_closest(item.name, strlen(item.name), tier_names);
                if (suggestion)
                        k = load_error(r, PROBLEM_UNKNOWN_TIER, item.name_position,
                                       "Unknown tier '%s' in quality_system.tiers, did you mean '%s'?",
                                       item.name, suggestion);
                else
                        k = load_error(r, PROBLEM_UNKNOWN_TIER, item.name_position,
                                       "Unknown tier '%s' in quality_system.tiers; tiers are low, standard "
                                       "and high.",
                                       item.name);
                return k < 0 ? k : 0;
        }

        if (l->tier_declared[tier]) {
                k = load_error(r, PROBLEM_DUPLICATE_KEY, item.name_position,
                               "Tier '%s' is declared twice in quality_system.tiers; it was first declared "
                               "at line %u.",
                               item.name, l->tier_declared_position[tier].line);
                return k < 0 ? k : 0;
        }

        l->tier_declared[tier] = true;
        l->tier_declared_enabled[tier] = item.enabled;
        l->tier_declared_position[tier] = item.name_position;
        l->config->tiers[tier].description = item.description;
        return 0;
}

static int parse_quality_enabled(YamlReader *r, Position key_position, void *userdata) {
        int k = read_bool(r, "quality_system.enabled", &loader_of(r)->config->quality_enabled);
        return k < 0 ? k : 0;
}

static int parse_quality_tiers(YamlReader *r, Position key_position, void *userdata) {
        Loader *l = loader_of(r);
        int k;

        l->tiers_position = key_position;
        k = yaml_reader_sequence(r, "quality_system.tiers", parse_tier_item, NULL);
        return k < 0 ? k : 0;
}

static const KeyDef quality_system_keys[] = {
        { "enabled", parse_quality_enabled },
        { "tiers", parse_quality_tiers },
};

static int parse_quality_system(YamlReader *r, Position key_position, void *userdata) {
        static const KeyTable table = { "quality_system", quality_system_keys,
                                        ELEMENTSOF(quality_system_keys) };
        int k = parse_keys(r, &table, NULL, NULL);
        return k < 0 ? k : 0;
}

/* ---- workflows ---- */

static int parse_root_path(YamlReader *r, Position key_position, void *userdata) {
        Config *c = loader_of(r)->config;
        Position vp = yaml_reader_position(r);
        int k = read_string(r, "workflows.root_path", &c->root_path);

        if (k > 0)
                c->root_path_position = vp;
        return k < 0 ? k : 0;
}

static int parse_config_path(YamlReader *r, Position key_position, void *userdata) {
        int k = read_string(r, "workflows.config_path", &loader_of(r)->config->config_path);
        return k < 0 ? k : 0;
}

static const KeyDef workflows_keys[] = {
        { "root_path", parse_root_path },
        { "config_path", parse_config_path },
        { "mappings", parse_task_types },
};

static int parse_workflows(YamlReader *r, Position key_position, void *userdata) {
        static const KeyTable table = { "workflows", workflows_keys, ELEMENTSOF(workflows_keys) };
        int k = parse_keys(r, &table, NULL, NULL);
        return k < 0 ? k : 0;
}

/* ---- monitoring ---- */

static int read_alert_level(YamlReader *r, const char *what, AlertLevel *ret) {
        AlertLevel level = _ALERT_LEVEL_INVALID;
        const char *s = NULL;
        int k;

        if (r->event.type == YAML_SCALAR_EVENT && yaml_reader_resolve(r).kind == SCALAR_STRING &&
            !yaml_reader_scalar_has_nul(r)) {
                s = yaml_reader_scalar(r, NULL);
                level = alert_level_from_string(s);
        }
        if (level >= 0) {
                *ret = level;
                return 0;
        }

        k = load_reject(r, s ? PROBLEM_BAD_VALUE : PROBLEM_BAD_TYPE,
                        "'%s' must be one of critical, warning and info.", what);
        return k < 0 ? k : 0;
}

static int parse_threshold_workflow_missing(YamlReader *r, Position key_position, void *userdata) {
        return read_alert_level(r, "thresholds.workflow_missing",
                                &loader_of(r)->config->monitoring.workflow_missing);
}

static int parse_threshold_config_invalid(YamlReader *r, Position key_position, void *userdata) {
        return read_alert_level(r, "thresholds.config_invalid",
                                &loader_of(r)->config->monitoring.config_invalid);
}

static const KeyDef thresholds_keys[] = {
        { "workflow_missing", parse_threshold_workflow_missing },
        { "config_invalid", parse_threshold_config_invalid },
};

static int parse_thresholds(YamlReader *r, Position key_position, void *userdata) {
        static const KeyTable table = { "monitoring.alerting.thresholds", thresholds_keys,
                                        ELEMENTSOF(thresholds_keys) };
        int k = parse_keys(r, &table, NULL, NULL);
        return k < 0 ? k : 0;
}

static int parse_alerting_enabled(YamlReader *r, Position key_position, void *userdata) {
        int k = read_bool(r, "alerting.enabled", &loader_of(r)->config->monitoring.alerting_enabled);
        return k < 0 ? k : 0;
}

static const KeyDef alerting_keys[] = {
        { "enabled", parse_alerting_enabled },
        { "thresholds", parse_thresholds },
};

static int parse_alerting(YamlReader *r, Position key_position, void *userdata) {
        static const KeyTable table = { "monitoring.alerting", alerting_keys, ELEMENTSOF(alerting_keys) };
        int k = parse_keys(r, &table, NULL, NULL);
        return k < 0 ? k : 0;
}

static int parse_health_check_enabled(YamlReader *r, Position key_position, void *userdata) {
        int k = read_bool(r, "health_check_enabled", &loader_of(r)->config->monitoring.health_check_enabled);
        return k < 0 ? k : 0;
}

static int parse_metrics_collection(YamlReader *r, Position key_position, void *userdata) {
        int k = read_bool(r, "metrics_collection", &loader_of(r)->config->monitoring.metrics_collection);
        return k < 0 ? k : 0;
}

static const KeyDef monitoring_keys[] = {
        { "health_check_enabled", parse_health_check_enabled },
        { "metrics_collection", parse_metrics_collection },
        { "alerting", parse_alerting },
};

static int parse_monitoring(YamlReader *r, Position key_position, void *userdata) {
        static const KeyTable table = { "monitoring", monitoring_keys, ELEMENTSOF(monitoring_keys) };
        int k = parse_keys(r, &table, NULL, NULL);
        return k < 0 ? k : 0;
}

/* ---- the top level ---- */

/* The first key that belongs to one shape decides the file's shape; a key of the other one is unknown. */
static int claim_shape(YamlReader *r, ConfigShape shape, const char *key, Position key_position) {
        Loader *l = loader_of(r);
        int k;

        if (!l->shape_known) {
                l->shape_known = true;
                l->config->shape = shape;
                return 1;
        }
        if (l->config->shape == shape)
                return 1;

        if (streq(key, "mappings"))
                k = load_error(r, PROBLEM_UNKNOWN_KEY, key_position,
                               "Unknown key 'mappings' at the top level of an environment-shaped file, "
                               "did you mean 'workflows.mappings'?");
        else
                k = load_error(r, PROBLEM_UNKNOWN_KEY, key_position,
                               "Key '%s' belongs to the %s shape, but this file has the %s shape.", key,
                               config_shape_to_string(shape), config_shape_to_string(l->config->shape));
        if (k < 0)
                return k;
        k = yaml_reader_skip(r);
        return k < 0 ? k : 0;
}

static int parse_top_environment(YamlReader *r, Position key_position, void *userdata) {
        Loader *l = loader_of(r);
        int k = claim_shape(r, CONFIG_SHAPE_ENVIRONMENT, "environment", key_position);

        if (k <= 0)
                return k;
        l->environment_position = key_position;
        k = read_string(r, "environment", &l->config->environment);
        return k < 0 ? k : 0;
}

static int parse_top_quality_system(YamlReader *r, Position key_position, void *userdata) {
        int k = claim_shape(r, CONFIG_SHAPE_ENVIRONMENT, "quality_system", key_position);

        if (k <= 0)
                return k;
        loader_of(r)->quality_system_position = key_position;
        return parse_quality_system(r, key_position, userdata);
}

static int parse_top_workflows(YamlReader *r, Position key_position, void *userdata) {
        int k = claim_shape(r, CONFIG_SHAPE_ENVIRONMENT, "workflows", key_position);

        if (k <= 0)
                return k;
        loader_of(r)->workflows_position = key_position;
        return parse_workflows(r, key_position, userdata);
}

static int parse_top_monitoring(YamlReader *r, Position key_position, void *userdata) {
        int k = claim_shape(r, CONFIG_SHAPE_ENVIRONMENT, "monitoring", key_position);

        return k <= 0 ? k : parse_monitoring(r, key_position, userdata);
}

static int parse_top_version(YamlReader *r, Position key_position, void *userdata) {
        int k = claim_shape(r, CONFIG_SHAPE_FLAT, "version", key_position);

        if (k <= 0)
                return k;
        k = read_string(r, "version", &loader_of(r)->config->version);
        return k < 0 ? k : 0;
}

static int parse_top_mappings(YamlReader *r, Position key_position, void *userdata) {
        int k = claim_shape(r, CONFIG_SHAPE_FLAT, "mappings", key_position);

        return k <= 0 ? k : parse_task_types(r, key_position, userdata);
}

static const KeyDef top_keys[] = {
        { "environment", parse_top_environment }, { "quality_system", parse_top_quality_system },
        { "workflows", parse_top_workflows },     { "monitoring", parse_top_monitoring },
        { "version", parse_top_version },         { "mappings", parse_top_mappings },
};

static int loader_run(Loader *l) {
        static const KeyTable table = { "the top level", top_keys, ELEMENTSOF(top_keys) };
        YamlReader *r = &l->reader;
        bool mapping = false;
        int k;

        k = yaml_reader_next(r); /* STREAM-START */
        if (k < 0)
                return k;
        k = yaml_reader_next(r);
        if (k < 0)
                return k;
        if (yaml_reader_type(r) == YAML_STREAM_END_EVENT) {
                k = problems_add(r->problems, SEVERITY_ERROR, PROBLEM_EMPTY_CONFIG, 0, 0,
                                 "The configuration is empty.");
                return k < 0 ? k : -EINVAL;
        }

        k = yaml_reader_next(r); /* the root node, after DOCUMENT-START */
        if (k < 0)
                return k;
        l->document_position = yaml_reader_position(r);

        if (yaml_reader_type(r) == YAML_MAPPING_START_EVENT) {
                mapping = true;
                k = parse_keys(r, &table, NULL, NULL);
        } else if (yaml_reader_type(r) == YAML_SCALAR_EVENT && yaml_reader_resolve(r).kind == SCALAR_NULL)
                k = problems_add(r->problems, SEVERITY_ERROR, PROBLEM_EMPTY_CONFIG, 0, 0,
                                 "The configuration is empty.");
        else
                k = load_reject(r, PROBLEM_BAD_TYPE,
                                "The top level of the configuration must be a mapping, not %s.",
                                yaml_reader_describe(r));
        if (k < 0)
                return k;

        k = yaml_reader_next(r); /* DOCUMENT-END */
        if (k < 0)
                return k;
        k = yaml_reader_next(r);
        if (k < 0)
                return k;
        if (yaml_reader_type(r) != YAML_STREAM_END_EVENT) {
                k = load_error(
                        r, PROBLEM_YAML_SYNTAX, yaml_reader_position(r),
                        "The file holds more than one YAML document; a configuration is one document.");
                if (k < 0)
                        return k;
        }

        return mapping ? 0 : -EINVAL;
}

static int task_type_entry_compare(const void *a, const void *b) {
        const TaskTypeEntry *x = a, *y = b;
        int d = strcmp(x->task_type.name, y->task_type.name);

        return d != 0 ? d : position_compare(x->position, y->position);
}

static int loader_require(Loader *l) {
        YamlReader *r = &l->reader;
        Config *c = l->config;
        int k = 0;

        if (!l->shape_known)
                k = load_error(
                        r, PROBLEM_MISSING_KEY, l->document_position,
                        "The configuration has neither 'workflows' (environment shape) nor 'mappings' "
                        "(flat shape).");
        else if (c->shape == CONFIG_SHAPE_FLAT) {
                if (l->mappings_position.line == 0)
                        k = load_error(r, PROBLEM_MISSING_KEY, l->document_position,
                                       "The configuration has no 'mappings'.");
        } else {
                if (l->environment_position.line == 0)
                        k = load_error(r, PROBLEM_MISSING_KEY, l->document_position,
                                       "The configuration has no 'environment'.");
                if (k >= 0 && l->workflows_position.line == 0)
                        k = load_error(r, PROBLEM_MISSING_KEY, l->document_position,
                                       "The configuration has no 'workflows'.");
                else if (k >= 0 && l->mappings_position.line == 0)
                        k = load_error(r, PROBLEM_MISSING_KEY, l->workflows_position,
                                       "'workflows' has no 'mappings'.");
                if (k >= 0 && l->quality_system_position.line > 0 && l->tiers_position.line == 0)
                        k = load_error(r, PROBLEM_MISSING_KEY, l->quality_system_position,
                                       "'quality_system' has no 'tiers'.");
        }
        if (k >= 0 && l->mappings_position.line > 0 && l->n_entries == 0)
                k = load_error(r, PROBLEM_EMPTY_CONFIG, l->mappings_position,
                               "'mappings' has no task types; there would be nothing to serve.");
        return k;
}

/* Sorts the task types, drops duplicates, and checks every task type against the tiers in force. */
static int loader_finish(Loader *l) {
        YamlReader *r = &l->reader;
        Config *c = l->config;
        int k;

        if (c->shape == CONFIG_SHAPE_FLAT)
                c->environment = QUALITY_FLAT_ENVIRONMENT;
        else if (!c->environment)
                c->environment = "";

        FOREACH_TIER(t)
                c->tiers[t].enabled =
                        c->quality_enabled && (l->tiers_position.line == 0 || l->tier_declared_enabled[t]);

        k = loader_require(l);
        if (k < 0)
                return k;

        if (l->n_entries > 0) {
                c->task_types = arena_alloc(l->arena, l->n_entries * sizeof(TaskType));
                if (!c->task_types)
                        return -ENOMEM;
                qsort(l->entries, l->n_entries, sizeof(TaskTypeEntry), task_type_entry_compare);
        }

        for (size_t i = 0; i < l->n_entries; i++) {
                const TaskTypeEntry *e = l->entries + i;
                TaskType *t;

                if (c->n_task_types > 0 &&
                    streq(c->task_types[c->n_task_types - 1].name, e->task_type.name)) {
                        k = load_error(r, PROBLEM_DUPLICATE_KEY, e->position,
                                       "Duplicate task type '%s'; it was first given at line %u.",
                                       e->task_type.name, l->entries[i - 1].position.line);
                        if (k < 0)
                                return k;
                        continue;
                }

                t = c->task_types + c->n_task_types++;
                *t = e->task_type;

                FOREACH_TIER(tier) {
                        const Mapping *m = t->tiers + tier;

                        if (m->tier_position.line > 0 && !c->tiers[tier].enabled)
                                k = load_warning(r, PROBLEM_TIER_DISABLED, m->tier_position,
                                                 "Tier '%s' is disabled in quality_system; the mapping of "
                                                 "task type '%s' "
                                                 "is kept but not served.",
                                                 tier_to_string(tier), t->name);
                        else if (m->tier_position.line == 0 && c->tiers[tier].enabled)
                                k = load_warning(r, PROBLEM_TIER_UNMAPPED, e->position,
                                                 "Task type '%s' has no mapping for the enabled tier '%s'.",
                                                 t->name, tier_to_string(tier));
                        else if (mapping_is_set(m) && c->tiers[tier].enabled)
                                c->n_mappings++;
                        if (k < 0)
                                return k;
                }
        }

        return 0;
}

static void loader_done(Loader *l) {
        yaml_reader_done(&l->reader);
        free(l->entries);
        arena_free(l->arena);
}

/* Reports a NUL byte at its line and column: libyaml would stop at it with a less helpful message. */
static int check_nul(const char *text, size_t size, Problems *problems) {
        const char *nul = memchr(text, 0, size);
        unsigned line = 1, column = 1;

        if (!nul)
                return 0;

        /* Count lines as libyaml does: CR LF, CR, LF, NEL, LS and PS each end one. */
        for (const char *p = text; p < nul; p++) {
                const unsigned char *u = (const unsigned char *) p;
                size_t left = (size_t) (nul - p);

                if (*p == '\r' && left > 1 && p[1] == '\n')
                        continue;
                if (*p == '\n' || *p == '\r' || (left > 1 && u[0] == 0xC2 && u[1] == 0x85) ||
                    (left > 2 && u[0] == 0xE2 && u[1] == 0x80 && (u[2] == 0xA8 || u[2] == 0xA9))) {
                        line++;
                        column = 1;
                        if (u[0] == 0xC2 || u[0] == 0xE2)
                                p += u[0] == 0xC2 ? 1 : 2;
                } else if ((*u & 0xC0) != 0x80)
                        column++;
        }

        int k = problems_add(problems, SEVERITY_ERROR, PROBLEM_YAML_SYNTAX, line, column,
                             "The configuration contains a NUL byte.");
        return k < 0 ? k : -EINVAL;
}

int config_load_buffer(const char *text, size_t size, Problems *problems, Config **ret) {
        _cleanup_(loader_done) Loader l = { .problems = problems };
        size_t bad;
        int k;

        if (size > CONFIG_SIZE_MAX) {
                k = problems_add(problems, SEVERITY_ERROR, PROBLEM_TOO_LARGE, 0, 0,
                                 "The configuration is %zu bytes, more than the limit of %" PRIu64
                                 " bytes (16 MiB).",
                                 size, CONFIG_SIZE_MAX);
                return k < 0 ? k : -EINVAL;
        }
        if (!utf8_is_valid(text, size, &bad)) {
                k = problems_add(problems, SEVERITY_ERROR, PROBLEM_NOT_UTF8, 0, 0,
                                 "The configuration is not valid UTF-8 (byte %zu).", bad);
                return k < 0 ? k : -EINVAL;
        }
        /* A byte order mark is allowed, and is not part of the first line. */
        if (size >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
                text += 3;
                size -= 3;
        }

        k = check_nul(text, size, problems);
        if (k < 0)
                return k;

        l.arena = arena_new();
        if (!l.arena)
                return -ENOMEM;
        l.config = arena_alloc(l.arena, sizeof(Config));
        if (!l.config)
                return -ENOMEM;
        *l.config = (Config) {
                .n_ref = 1,
                .quality_enabled = true,
                .monitoring = {
                        .health_check_enabled = true,
                        .metrics_collection = true,
                        .alerting_enabled = true,
                        .workflow_missing = ALERT_CRITICAL,
                        .config_invalid = ALERT_CRITICAL,
                },
        };

        k = yaml_reader_init(&l.reader, text, size, problems);
        if (k < 0)
                return k;

        k = loader_run(&l);
        if (k >= 0)
                k = loader_finish(&l);
        problems_sort(problems);
        if (k < 0)
                return k;

        l.config->arena = TAKE_PTR(l.arena);
        *ret = l.config;
        return 0;
}

int config_read_file(const char *path, Problems *problems, char **ret_text, size_t *ret_size) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        size_t size = 0, allocated;
        struct stat st;
        int k;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0) {
                int e = errno;
                k = problems_add(problems, SEVERITY_ERROR, PROBLEM_CONFIG_UNREADABLE, 0, 0,
                                 "Cannot open the configuration file %s: %s.", path, strerror(e));
                return k < 0 ? k : -e;
        }
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (!S_ISREG(st.st_mode)) {
                k = problems_add(problems, SEVERITY_ERROR, PROBLEM_CONFIG_UNREADABLE, 0, 0,
                                 "The configuration file %s is not a regular file.", path);
                return k < 0 ? k : S_ISDIR(st.st_mode) ? -EISDIR : -EBADFD;
        }
        if ((uint64_t) st.st_size > CONFIG_SIZE_MAX)
                goto too_large;

        /* Read one byte past the limit, in case the file grew since fstat(). */
        allocated = (size_t) st.st_size + 1;
        buf = malloc(allocated + 1);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t n;

                if (size == allocated) {
                        if (size > CONFIG_SIZE_MAX)
                                goto too_large;
                        allocated = MIN(allocated * 2, (size_t) CONFIG_SIZE_MAX + 1);
                        char *b = realloc(buf, allocated + 1);
                        if (!b)
                                return -ENOMEM;
                        buf = b;
                }
                n = read(fd, buf + size, allocated - size);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        int e = errno;
                        k = problems_add(problems, SEVERITY_ERROR, PROBLEM_CONFIG_UNREADABLE, 0, 0,
                                         "Cannot read the configuration file %s: %s.", path, strerror(e));
                        return k < 0 ? k : -e;
                }
                if (n == 0)
                        break;
                size += (size_t) n;
        }
        if (size > CONFIG_SIZE_MAX)
                goto too_large;

        buf[size] = 0;
        *ret_text = TAKE_PTR(buf);
        *ret_size = size;
        return 0;

too_large:
        k = problems_add(problems, SEVERITY_ERROR, PROBLEM_TOO_LARGE, 0, 0,
                         "The configuration file %s is larger than the limit of %" PRIu64 " bytes (16 MiB).",
                         path, CONFIG_SIZE_MAX);
        return k < 0 ? k : -EFBIG;
}
