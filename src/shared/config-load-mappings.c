/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The configuration loader's mappings: task types, their tiers, workflow paths and typed parameters. */
#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "config-load-internal.h"
#include "quality-def.h"
#include "suggest.h"

/* ---- parameters ---- */

typedef struct ParameterDef {
        const char *name;
        ParameterType type;
        int64_t min_int, max_int, multiple;
        double min_double, max_double;
} ParameterDef;

static const ParameterDef parameter_defs[] = {
        { "batch_size", PARAMETER_INT, BATCH_SIZE_MIN, BATCH_SIZE_MAX, 1, 0, 0 },
        { "cfg_scale", PARAMETER_DOUBLE, 0, 0, 0, CFG_SCALE_MIN, CFG_SCALE_MAX },
        { "denoise", PARAMETER_DOUBLE, 0, 0, 0, DENOISE_MIN, DENOISE_MAX },
        { "height", PARAMETER_INT, DIMENSION_MIN, DIMENSION_MAX, DIMENSION_MULTIPLE, 0, 0 },
        { "sampler_name", PARAMETER_STRING, 0, 0, 0, 0, 0 },
        { "scheduler", PARAMETER_STRING, 0, 0, 0, 0, 0 },
        { "seed", PARAMETER_INT, SEED_MIN, INT64_MAX, 1, 0, 0 },
        { "steps", PARAMETER_INT, STEPS_MIN, STEPS_MAX, 1, 0, 0 },
        { "width", PARAMETER_INT, DIMENSION_MIN, DIMENSION_MAX, DIMENSION_MULTIPLE, 0, 0 },
};

typedef struct ParameterEntry {
        Parameter parameter;
        Position position;
} ParameterEntry;

typedef struct ParameterList {
        ParameterEntry *items;
        size_t n_items;
        size_t allocated;
        const char *task_type;
        Tier tier;
} ParameterList;

static const ParameterDef *parameter_def_find(const char *key) {
        for (size_t i = 0; i < ELEMENTSOF(parameter_defs); i++)
                if (streq(parameter_defs[i].name, key))
                        return parameter_defs + i;
        return NULL;
}

static const char *parameter_def_suggest(const char *key, size_t n) {
        const char *names[ELEMENTSOF(parameter_defs) + 1];

        for (size_t i = 0; i < ELEMENTSOF(parameter_defs); i++)
                names[i] = parameter_defs[i].name;
        names[ELEMENTSOF(parameter_defs)] = NULL;
        return suggest_closest(key, n, names);
}

/* Converts a known parameter to its declared type and checks its range. Returns 1 on success, 0 when
 * the value was reported. */
static int convert_known_parameter(YamlReader *r, const ParameterDef *def, ScalarValue v, Parameter *p) {
        Position vp = yaml_reader_position(r);
        const char *text = yaml_reader_scalar(r, NULL);
        int k;

        switch (def->type) {
        case PARAMETER_INT:
                if (v.kind == SCALAR_INT_OVERFLOW)
                        k = load_error(r, PROBLEM_OUT_OF_RANGE, vp,
                                       "Parameter '%s' is %s, beyond the range of a 64-bit integer.",
                                       def->name, text);
                else if (v.kind != SCALAR_INT)
                        k = load_error(
                                r, PROBLEM_BAD_TYPE, vp, "Parameter '%s' must be an integer, not %s%s.",
                                def->name, yaml_reader_describe(r),
                                r->event.data.scalar.style != YAML_PLAIN_SCALAR_STYLE ? " (it is quoted)"
                                                                                      : "");
                else if (v.i < def->min_int || v.i > def->max_int)
                        k = def->max_int == INT64_MAX
                                    ? load_error(r, PROBLEM_OUT_OF_RANGE, vp,
                                                 "Parameter '%s' is %" PRIi64
                                                 ", but must be at least %" PRIi64 ".",
                                                 def->name, v.i, def->min_int)
                                    : load_error(r, PROBLEM_OUT_OF_RANGE, vp,
                                                 "Parameter '%s' is %" PRIi64
                                                 ", but must be between %" PRIi64 " and %" PRIi64 ".",
                                                 def->name, v.i, def->min_int, def->max_int);
                else if (v.i % def->multiple != 0)
                        k = load_error(r, PROBLEM_OUT_OF_RANGE, vp,
                                       "Parameter '%s' is %" PRIi64 ", but must be a multiple of %" PRIi64
                                       ".",
                                       def->name, v.i, def->multiple);
                else {
                        p->i = v.i;
                        return 1;
                }
                return k < 0 ? k : 0;

        case PARAMETER_DOUBLE: {
                double d;

                if (v.kind == SCALAR_INT)
                        d = (double) v.i;
                else if (v.kind == SCALAR_FLOAT)
                        d = v.d;
                else if (v.kind == SCALAR_INT_OVERFLOW)
                        d = INFINITY;
                else {
                        k = load_error(r, PROBLEM_BAD_TYPE, vp, "Parameter '%s' must be a number, not %s%s.",
                                       def->name, yaml_reader_describe(r),
                                       r->event.data.scalar.style != YAML_PLAIN_SCALAR_STYLE
                                               ? " (it is quoted)"
                                               : "");
                        return k < 0 ? k : 0;
                }
                if (!isfinite(d) || d < def->min_double || d > def->max_double) {
                        k = load_error(r, PROBLEM_OUT_OF_RANGE, vp,
                                       "Parameter '%s' is %s, but must be between %g and %g.", def->name,
                                       text, def->min_double, def->max_double);
                        return k < 0 ? k : 0;
                }
                p->d = d;
                return 1;
        }

        case PARAMETER_STRING:
                if (v.kind == SCALAR_NULL) {
                        k = load_error(r, PROBLEM_BAD_TYPE, vp, "Parameter '%s' must be a string, not null.",
                                       def->name);
                        return k < 0 ? k : 0;
                }
                p->s = arena_strdup(loader_of(r)->arena, text);
                return p->s ? 1 : -ENOMEM;

        default:
                assert(false);
                return 0;
        }
}

/* Keeps an unknown parameter with its resolved type. */
static int convert_other_parameter(YamlReader *r, const char *key, ScalarValue v, Parameter *p) {
        Position vp = yaml_reader_position(r);
        int k;

        switch (v.kind) {
        case SCALAR_INT:
                p->type = PARAMETER_INT;
                p->i = v.i;
                return 1;
        case SCALAR_FLOAT:
                p->type = PARAMETER_DOUBLE;
                p->d = v.d;
                return 1;
        case SCALAR_BOOL:
                p->type = PARAMETER_BOOL;
                p->b = v.b;
                return 1;
        case SCALAR_STRING:
                p->type = PARAMETER_STRING;
                p->s = arena_strdup(loader_of(r)->arena, yaml_reader_scalar(r, NULL));
                return p->s ? 1 : -ENOMEM;
        case SCALAR_INT_OVERFLOW:
                k = load_error(r, PROBLEM_OUT_OF_RANGE, vp,
                               "Parameter '%s' is %s, beyond the range of a 64-bit integer.", key,
                               yaml_reader_scalar(r, NULL));
                return k < 0 ? k : 0;
        default:
                k = load_error(r, PROBLEM_BAD_TYPE, vp, "Parameter '%s' must have a value, not null.", key);
                return k < 0 ? k : 0;
        }
}

static int parse_parameter(YamlReader *r, const char *key, size_t n, Position key_position, void *userdata) {
        ParameterList *list = userdata;
        Loader *l = loader_of(r);
        const ParameterDef *def;
        Parameter p = { 0 };
        ScalarValue v;
        int k;

        if (r->event.type != YAML_SCALAR_EVENT) {
                k = load_reject(r, PROBLEM_BAD_TYPE, "Parameter '%s' must be a scalar, not %s.", key,
                                yaml_reader_describe(r));
                return k < 0 ? k : 0;
        }

        if (yaml_reader_scalar_has_nul(r)) {
                k = load_reject(r, PROBLEM_BAD_VALUE, "Parameter '%s' contains a NUL character.", key);
                return k < 0 ? k : 0;
        }

        v = yaml_reader_resolve(r);
        def = parameter_def_find(key);
        if (def) {
                p.key = def->name;
                p.type = def->type;
                k = convert_known_parameter(r, def, v, &p);
        } else {
                const char *suggestion = parameter_def_suggest(key, n);

                if (suggestion)
                        k = load_warning(r, PROBLEM_UNKNOWN_PARAMETER, key_position,
                                         "Parameter '%.*s%s' of task type '%s', tier '%s' is not one "
                                         "auteur-quality knows, "
                                         "did you mean '%s'? It is kept as it is.",
                                         SHOWN_NAME(key, n), list->task_type, tier_to_string(list->tier),
                                         suggestion);
                else
                        k = load_warning(r, PROBLEM_UNKNOWN_PARAMETER, key_position,
                                         "Parameter '%.*s%s' of task type '%s', tier '%s' is not one "
                                         "auteur-quality knows; "
                                         "it is kept as it is.",
                                         SHOWN_NAME(key, n), list->task_type, tier_to_string(list->tier));
                if (k < 0)
                        return k;
                p.key = arena_strndup(l->arena, key, n);
                if (!p.key)
                        return -ENOMEM;
                k = convert_other_parameter(r, key, v, &p);
        }
        if (k <= 0)
                return k;

        if (list->n_items >= list->allocated) {
                size_t m = MAX(list->allocated * 2, (size_t) 8);
                ParameterEntry *items = reallocarray(list->items, m, sizeof(ParameterEntry));
                if (!items)
                        return -ENOMEM;
                list->items = items;
                list->allocated = m;
        }
        list->items[list->n_items++] = (ParameterEntry){ .parameter = p, .position = key_position };
        return 0;
}

static int parameter_entry_compare(const void *a, const void *b) {
        const ParameterEntry *x = a, *y = b;
        int d = strcmp(x->parameter.key, y->parameter.key);

        return d != 0 ? d : position_compare(x->position, y->position);
}

static int parse_parameters(YamlReader *r, Position key_position, void *userdata) {
        Mapping *m = userdata;
        Loader *l = loader_of(r);
        ParameterList list = {
                .task_type = l->entries[l->n_entries - 1].task_type.name,
                .tier = (Tier) (m - l->entries[l->n_entries - 1].task_type.tiers),
        };
        Parameter *out;
        size_t n = 0;
        int k;

        k = yaml_reader_mapping(r, "parameters", parse_parameter, &list);
        if (k < 0 || list.n_items == 0)
                goto finish;

        /* Sorted, a duplicate stands next to the first occurrence: reported in O(n log n) however many. */
        qsort(list.items, list.n_items, sizeof(ParameterEntry), parameter_entry_compare);

        out = arena_alloc(l->arena, list.n_items * sizeof(Parameter));
        if (!out) {
                k = -ENOMEM;
                goto finish;
        }
        for (size_t i = 0; i < list.n_items; i++) {
                if (n > 0 && streq(out[n - 1].key, list.items[i].parameter.key)) {
                        k = load_error(r, PROBLEM_DUPLICATE_KEY, list.items[i].position,
                                       "Duplicate parameter '%s'; it was first given at line %u.",
                                       list.items[i].parameter.key, list.items[i - 1].position.line);
                        if (k < 0)
                                goto finish;
                        continue;
                }
                out[n++] = list.items[i].parameter;
        }
        m->parameters = out;
        m->n_parameters = n;
        k = 0;

finish:
        free(list.items);
        return k;
}

/* ---- task types and their tiers ---- */

static const char *workflow_path_problem(const char *s, size_t n) {
        if (n == 0)
                return "is empty";
        if (n > WORKFLOW_PATH_MAX)
                return "is longer than 512 bytes";
        if (s[0] == '/')
                return "is absolute, but must be relative to the workflows root";
        for (size_t i = 0; i < n; i++)
                if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._/-", s[i]) ||
                    s[i] == 0)
                        return "contains a character other than A-Z, a-z, 0-9, '.', '_', '/' and '-'";
        for (const char *c = s; c < s + n;) {
                const char *end = memchr(c, '/', (size_t) (s + n - c));
                size_t len = end ? (size_t) (end - c) : (size_t) (s + n - c);

                if (len == 2 && c[0] == '.' && c[1] == '.')
                        return "has a '..' component, but must stay beneath the workflows root";
                c += len + 1;
        }
        return NULL;
}

typedef struct TierContext {
        Mapping *mapping;
        const char *task_type;
        Tier tier;
} TierContext;

static int parse_workflow_path(YamlReader *r, Position key_position, void *userdata) {
        TierContext *t = userdata;
        Position vp = yaml_reader_position(r);
        const char *reason, *text;
        size_t n;
        int k;

        if (r->event.type != YAML_SCALAR_EVENT || yaml_reader_resolve(r).kind == SCALAR_NULL) {
                k = load_reject(r, PROBLEM_BAD_TYPE, "'workflow_path' must be a string, not %s.",
                                yaml_reader_describe(r));
                return k < 0 ? k : 0;
        }

        text = yaml_reader_scalar(r, &n);
        reason = workflow_path_problem(text, n);
        if (reason) {
                k = load_error(r, PROBLEM_BAD_WORKFLOW_PATH, vp,
                               "Workflow path '%.*s' of task type '%s', tier '%s' %s.",
                               (int) MIN(n, (size_t) WORKFLOW_PATH_MAX), text, t->task_type,
                               tier_to_string(t->tier), reason);
                return k < 0 ? k : 0;
        }

        t->mapping->workflow_path = arena_strndup(loader_of(r)->arena, text, n);
        if (!t->mapping->workflow_path)
                return -ENOMEM;
        t->mapping->workflow_path_position = vp;
        return 0;
}

static int parse_mapping_description(YamlReader *r, Position key_position, void *userdata) {
        TierContext *t = userdata;
        int k = read_string(r, "description", &t->mapping->description);
        return k < 0 ? k : 0;
}

static int parse_mapping_parameters(YamlReader *r, Position key_position, void *userdata) {
        TierContext *t = userdata;
        return parse_parameters(r, key_position, t->mapping);
}

static const KeyDef mapping_keys[] = {
        { "workflow_path", parse_workflow_path },
        { "description", parse_mapping_description },
        { "parameters", parse_mapping_parameters },
};

static int parse_tier(YamlReader *r, const char *key, size_t n, Position key_position, void *userdata) {
        static const char *const tier_names[] = { "low", "standard", "high", NULL };
        Loader *l = loader_of(r);
        TaskType *task_type = &l->entries[*(size_t *) userdata].task_type;
        Position seen[ELEMENTSOF(mapping_keys)];
        char what[TASK_TYPE_NAME_MAX + 64];
        TierContext t;
        Tier tier;
        int k;

        tier = tier_from_string(key);
        if (tier < 0) {
                const char *suggestion = suggest_closest(key, n, tier_names);

                if (suggestion)
                        k = load_error(r, PROBLEM_UNKNOWN_TIER, key_position,
                                       "Unknown tier '%.*s%s' in task type '%s', did you mean '%s'?",
                                       SHOWN_NAME(key, n), task_type->name, suggestion);
                else
                        k = load_error(
                                r, PROBLEM_UNKNOWN_TIER, key_position,
                                "Unknown tier '%.*s%s' in task type '%s'; tiers are low, standard and high.",
                                SHOWN_NAME(key, n), task_type->name);
                return k < 0 ? k : yaml_reader_skip(r);
        }

        t = (TierContext){ .mapping = task_type->tiers + tier, .task_type = task_type->name, .tier = tier };
        if (t.mapping->tier_position.line > 0) {
                k = load_error(r, PROBLEM_DUPLICATE_KEY, key_position,
                               "Duplicate tier '%s' in task type '%s'; it was first given at line %u.", key,
                               task_type->name, t.mapping->tier_position.line);
                return k < 0 ? k : yaml_reader_skip(r);
        }
        t.mapping->tier_position = key_position;

        snprintf(what, sizeof(what), "task type '%s', tier '%s'", task_type->name, key);
        k = parse_keys(r, &(KeyTable){ what, mapping_keys, ELEMENTSOF(mapping_keys) }, &t, seen);
        if (k <= 0)
                return k;

        if (seen[0].line == 0) {
                k = load_error(r, PROBLEM_MISSING_KEY, key_position,
                               "Tier '%s' of task type '%s' has no 'workflow_path'.", key, task_type->name);
                if (k < 0)
                        return k;
        }
        return 0;
}

static bool task_type_name_valid(const char *s, size_t n) {
        if (n == 0 || n > TASK_TYPE_NAME_MAX)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
                        return false;
        return true;
}

static int parse_task_type(YamlReader *r, const char *key, size_t n, Position key_position, void *userdata) {
        Loader *l = loader_of(r);
        char what[TASK_TYPE_NAME_MAX + 16];
        size_t index;
        int k;

        if (!task_type_name_valid(key, n)) {
                k = load_error(r, PROBLEM_BAD_TASK_TYPE, key_position,
                               "Task type name '%.*s%s' is not valid; names are 1 to %u characters of a-z, "
                               "0-9 and '_'.",
                               (int) MIN(n, (size_t) TASK_TYPE_NAME_MAX), key,
                               n > TASK_TYPE_NAME_MAX ? "..." : "", TASK_TYPE_NAME_MAX);
                return k < 0 ? k : yaml_reader_skip(r);
        }

        if (l->n_entries >= l->allocated_entries) {
                size_t m = MAX(l->allocated_entries * 2, (size_t) 16);
                TaskTypeEntry *entries = reallocarray(l->entries, m, sizeof(TaskTypeEntry));
                if (!entries)
                        return -ENOMEM;
                l->entries = entries;
                l->allocated_entries = m;
        }

        index = l->n_entries++;
        l->entries[index] = (TaskTypeEntry){ .position = key_position };
        l->entries[index].task_type.name = arena_strndup(l->arena, key, n);
        if (!l->entries[index].task_type.name)
                return -ENOMEM;

        snprintf(what, sizeof(what), "task type '%s'", key);
        k = yaml_reader_mapping(r, what, parse_tier, &index);
        return k < 0 ? k : 0;
}

int parse_task_types(YamlReader *r, Position key_position, void *userdata) {
        Loader *l = loader_of(r);
        int k;

        l->mappings_position = key_position;
        k = yaml_reader_mapping(r, "mappings", parse_task_type, NULL);
        return k < 0 ? k : 0;
}
