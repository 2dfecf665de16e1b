/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests of the YAML loader: the model of both shapes, every problem code at its position, scalars, UTF-8. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "config-load.h"
#include "config.h"
#include "problem.h"
#include "quality-def.h"
#include "suggest.h"
#include "tap.h"
#include "utf8.h"
#include "yaml-scalar.h"

/* ---- helpers ---- */

typedef struct Loaded {
        Problems problems;
        Config *config;
        int r;
} Loaded;

static void loaded_done(Loaded *l) {
        config_unref(l->config);
        problems_done(&l->problems);
}

static Loaded load_sized(const char *text, size_t size) {
        Loaded l = { .config = NULL };

        if (problems_init(&l.problems, "test.yaml") < 0) {
                printf("Bail out! out of memory\n");
                exit(EXIT_FAILURE);
        }
        l.r = config_load_buffer(text, size, &l.problems, &l.config);
        return l;
}

static Loaded load(const char *text) {
        return load_sized(text, strlen(text));
}

static void dump_problems(const Problems *p) {
        for (size_t i = 0; i < p->n_items; i++)
                printf("#   %u:%u: %s[%s]: %s\n", p->items[i].line, p->items[i].column,
                       severity_to_string(p->items[i].severity), problem_code_to_string(p->items[i].code),
                       p->items[i].message);
}

static const Problem *find_problem(const Problems *p, ProblemCode code) {
        for (size_t i = 0; i < p->n_items; i++)
                if (p->items[i].code == code)
                        return p->items + i;
        return NULL;
}

static bool double_eq(double a, double b) {
        return fabs(a - b) < 1e-9;
}

/* ---- the environment shape ---- */

/* Line numbers matter: the positions below are checked. */
static const char environment_yaml[] =
        "# The environment shape, as deployed.\n"
        "environment: staging\n"
        "quality_system:\n"
        "  enabled: true\n"
        "  tiers:\n"
        "    - {name: low, description: \"Fast generation\", enabled: true}\n"
        "    - name: standard\n"
        "      description: Balanced\n"
        "    - {name: high, enabled: false}\n"
        "workflows:\n"
        "  root_path: ../workflows\n"
        "  config_path: /opt/comfyui_workflows/config/quality_mappings.yaml\n"
        "  mappings:\n"
        "    scene_generation:\n"
        "      low:\n"
        "        workflow_path: library/scene/low_v1\n"
        "        parameters:\n"
        "          steps: 20\n"
        "          cfg_scale: 7\n"
        "          sampler_name: euler\n"
        "          scheduler: normal\n"
        "          seed: 42\n"
        "          width: 1024\n"
        "          height: 768\n"
        "          batch_size: 2\n"
        "          denoise: 1\n"
        "      standard: {workflow_path: library/scene/standard_v1, description: \"Scene, everyday\"}\n"
        "      high: {workflow_path: library/scene/high_v1}\n"
        "    character_portrait:\n"
        "      low:\n"
        "        workflow_path: library/portrait/low_v1\n"
        "        description: Quick portrait\n"
        "        parameters: {steps: 10, cfg_scale: 6.5, denoise: 0.5, lora_strength: 0.75, upscale: true,\n"
        "                     note: hello, clip_skip: 2, quoted: \"5\"}\n"
        "      standard: {workflow_path: library/portrait/standard_v1}\n"
        "monitoring:\n"
        "  health_check_enabled: false\n"
        "  metrics_collection: true\n"
        "  alerting:\n"
        "    enabled: false\n"
        "    thresholds: {workflow_missing: warning, config_invalid: info}\n";

static void check_parameter_int(const Mapping *m, const char *key, int64_t value) {
        const Parameter *p = mapping_find_parameter(m, key);

        if (!ok(p, "parameter %s is there", key))
                return;
        is_str(p->key, key, "parameter %s: key", key);
        is_int(p->type, PARAMETER_INT, "parameter %s is an integer", key);
        is_int(p->i, value, "parameter %s = %" PRIi64, key, value);
}

static void check_parameter_double(const Mapping *m, const char *key, double value) {
        const Parameter *p = mapping_find_parameter(m, key);

        if (!ok(p, "parameter %s is there", key))
                return;
        is_int(p->type, PARAMETER_DOUBLE, "parameter %s is a double", key);
        ok(double_eq(p->d, value), "parameter %s = %g (got %g)", key, value, p->d);
}

static void check_parameter_string(const Mapping *m, const char *key, const char *value) {
        const Parameter *p = mapping_find_parameter(m, key);

        if (!ok(p, "parameter %s is there", key))
                return;
        is_int(p->type, PARAMETER_STRING, "parameter %s is a string", key);
        is_str(p->s, value, "parameter %s = '%s'", key, value);
}

static void check_position(Position got, unsigned line, unsigned column, const char *what) {
        is_int(got.line, line, "%s: line", what);
        is_int(got.column, column, "%s: column", what);
}

static void test_environment_shape(void) {
        static const char *const cp_low_keys[] = {
                "cfg_scale", "clip_skip", "denoise", "lora_strength", "note", "quoted", "steps", "upscale",
        };
        _cleanup_(loaded_done) Loaded l = load(environment_yaml);
        const TaskType *cp, *scene;
        const Mapping *m;
        const Problem *problem;
        const Parameter *p;
        Config *c = l.config;

        is_int(l.r, 0, "environment shape: loads");
        if (!ok(c, "environment shape: a Config"))
                return;
        is_int(l.problems.n_errors, 0, "environment shape: no errors");
        /* high is disabled (tier-disabled for scene_generation.high) and five parameters are unknown. */
        is_int(l.problems.n_warnings, 6, "environment shape: six warnings");
        dump_problems(&l.problems);

        is_int(c->shape, CONFIG_SHAPE_ENVIRONMENT, "shape is environment");
        is_str(c->environment, "staging", "environment");
        is_str(c->version, NULL, "no version in the environment shape");
        ok(c->quality_enabled, "quality_system.enabled");
        ok(c->tiers[TIER_LOW].enabled, "tier low enabled");
        ok(c->tiers[TIER_STANDARD].enabled, "tier standard enabled (enabled defaults to true)");
        ok(!c->tiers[TIER_HIGH].enabled, "tier high disabled");
        is_str(c->tiers[TIER_LOW].description, "Fast generation", "tier low description");
        is_str(c->tiers[TIER_STANDARD].description, "Balanced", "tier standard description");
        is_str(c->tiers[TIER_HIGH].description, NULL, "tier high has no description");
        is_str(c->root_path, "../workflows", "root_path");
        check_position(c->root_path_position, 11, 14, "root_path position");
        is_str(c->config_path, "/opt/comfyui_workflows/config/quality_mappings.yaml", "config_path");

        ok(!c->monitoring.health_check_enabled, "monitoring.health_check_enabled false");
        ok(c->monitoring.metrics_collection, "monitoring.metrics_collection true");
        ok(!c->monitoring.alerting_enabled, "monitoring.alerting.enabled false");
        is_int(c->monitoring.workflow_missing, ALERT_WARNING, "thresholds.workflow_missing warning");
        is_int(c->monitoring.config_invalid, ALERT_INFO, "thresholds.config_invalid info");

        is_int(c->n_task_types, 2, "two task types");
        is_str(c->task_types[0].name, "character_portrait", "task types sorted: first");
        is_str(c->task_types[1].name, "scene_generation", "task types sorted: second");
        is_int(c->n_mappings, 4, "four mappings served (low and standard of both)");

        scene = config_find_task_type(c, "scene_generation");
        cp = config_find_task_type(c, "character_portrait");
        ok(scene == c->task_types + 1, "config_find_task_type(scene_generation)");
        ok(cp == c->task_types, "config_find_task_type(character_portrait)");
        ok(!config_find_task_type(c, "nope"), "config_find_task_type(nope) is NULL");
        ok(!config_find_task_type(c, "character_portraitx"), "config_find_task_type(prefix match) is NULL");
        if (!scene || !cp)
                return;

        /* scene_generation.low: every known parameter, converted to its declared type. */
        m = config_find_mapping(c, "scene_generation", TIER_LOW);
        ok(m == scene->tiers + TIER_LOW, "config_find_mapping(scene_generation, low)");
        if (m) {
                is_str(m->workflow_path, "library/scene/low_v1", "scene low workflow_path");
                is_str(m->description, NULL, "scene low has no description");
                check_position(m->tier_position, 15, 7, "scene low tier position");
                check_position(m->workflow_path_position, 16, 24, "scene low workflow_path position");
                is_int(m->n_parameters, 9, "scene low has nine parameters");
                for (size_t i = 1; i < m->n_parameters; i++)
                        ok(strcmp(m->parameters[i - 1].key, m->parameters[i].key) < 0,
                           "scene low parameters sorted: %s < %s", m->parameters[i - 1].key,
                           m->parameters[i].key);
                check_parameter_int(m, "steps", 20);
                check_parameter_double(m, "cfg_scale", 7.0); /* written "7": still a double */
                check_parameter_string(m, "sampler_name", "euler");
                check_parameter_string(m, "scheduler", "normal");
                check_parameter_int(m, "seed", 42);
                check_parameter_int(m, "width", 1024);
                check_parameter_int(m, "height", 768);
                check_parameter_int(m, "batch_size", 2);
                check_parameter_double(m, "denoise", 1.0); /* written "1" */
                ok(!mapping_find_parameter(m, "nope"), "mapping_find_parameter(nope) is NULL");
                ok(!mapping_find_parameter(m, "step"), "mapping_find_parameter(step) is NULL");
        }

        m = config_find_mapping(c, "scene_generation", TIER_STANDARD);
        ok(m == scene->tiers + TIER_STANDARD, "config_find_mapping(scene_generation, standard)");
        if (m) {
                is_str(m->workflow_path, "library/scene/standard_v1", "scene standard workflow_path");
                is_str(m->description, "Scene, everyday", "scene standard description");
                is_int(m->n_parameters, 0, "scene standard has no parameters");
                ok(!mapping_find_parameter(m, "steps"), "scene standard: no steps");
                check_position(m->tier_position, 27, 7, "scene standard tier position");
                check_position(m->workflow_path_position, 27, 33, "scene standard workflow_path position");
        }

        /* A disabled tier's mapping is kept but not served. */
        ok(!config_find_mapping(c, "scene_generation", TIER_HIGH),
           "config_find_mapping(scene, high): disabled");
        is_str(scene->tiers[TIER_HIGH].workflow_path, "library/scene/high_v1", "disabled mapping kept");
        check_position(scene->tiers[TIER_HIGH].tier_position, 28, 7, "scene high tier position");
        problem = find_problem(&l.problems, PROBLEM_TIER_DISABLED);
        if (ok(problem, "tier-disabled reported")) {
                is_int(problem->severity, SEVERITY_WARNING, "tier-disabled is a warning");
                check_position((Position){ problem->line, problem->column }, 28, 7,
                               "tier-disabled position");
        }

        /* character_portrait.low: unknown parameters keep their resolved types. */
        m = config_find_mapping(c, "character_portrait", TIER_LOW);
        ok(m == cp->tiers + TIER_LOW, "config_find_mapping(character_portrait, low)");
        if (m) {
                is_str(m->workflow_path, "library/portrait/low_v1", "portrait low workflow_path");
                is_str(m->description, "Quick portrait", "portrait low description");
                check_position(m->tier_position, 30, 7, "portrait low tier position");
                check_position(m->workflow_path_position, 31, 24, "portrait low workflow_path position");
                if (is_int(m->n_parameters, ELEMENTSOF(cp_low_keys), "portrait low parameter count"))
                        for (size_t i = 0; i < ELEMENTSOF(cp_low_keys); i++)
                                is_str(m->parameters[i].key, cp_low_keys[i], "portrait low parameter %zu",
                                       i);
                check_parameter_int(m, "steps", 10);
                check_parameter_double(m, "cfg_scale", 6.5);
                check_parameter_double(m, "denoise", 0.5);
                check_parameter_double(m, "lora_strength", 0.75);
                check_parameter_int(m, "clip_skip", 2);
                check_parameter_string(m, "note", "hello");
                check_parameter_string(m, "quoted", "5");
                p = mapping_find_parameter(m, "upscale");
                if (ok(p, "parameter upscale is there")) {
                        is_int(p->type, PARAMETER_BOOL, "parameter upscale is a boolean");
                        ok(p->b, "parameter upscale = true");
                }
        }
        m = config_find_mapping(c, "character_portrait", TIER_STANDARD);
        if (ok(m, "config_find_mapping(character_portrait, standard)"))
                is_str(m->workflow_path, "library/portrait/standard_v1", "portrait standard workflow_path");
        ok(!config_find_mapping(c, "character_portrait", TIER_HIGH), "portrait high: not mapped, disabled");
        ok(!mapping_is_set(cp->tiers + TIER_HIGH), "portrait high is not set");
        ok(!config_find_mapping(c, "nope", TIER_LOW), "config_find_mapping(nope, low) is NULL");
        ok(!config_find_mapping(c, "character_portrait", _TIER_INVALID),
           "config_find_mapping(invalid tier)");
}

/* ---- the flat shape ---- */

static const char flat_yaml[] =
        "version: \"1.0\"\n"                                                                 /* 1 */
        "mappings:\n"                                                                        /* 2 */
        "  zeta_task:\n"                                                                     /* 3 */
        "    low: {workflow_path: z/low}\n"                                                  /* 4 */
        "    standard: {workflow_path: z/standard, parameters: {width: 512, height: 512}}\n" /* 5 */
        "    high: {workflow_path: z/high, description: \"Zeta high\", parameters: {steps: 50, cfg_scale: "
        "9.5}}\n"
        "  alpha_task:\n"                    /* 7 */
        "    low: {workflow_path: a/low}\n"; /* 8 */

static void test_flat_shape(void) {
        _cleanup_(loaded_done) Loaded l = load(flat_yaml);
        Config *c = l.config;
        const TaskType *alpha;
        const Mapping *m;

        is_int(l.r, 0, "flat shape: loads");
        if (!ok(c, "flat shape: a Config"))
                return;
        dump_problems(&l.problems);
        is_int(l.problems.n_errors, 0, "flat shape: no errors");
        is_int(l.problems.n_warnings, 2, "flat shape: two warnings (alpha_task standard and high unmapped)");
        for (size_t i = 0; i < l.problems.n_items; i++) {
                is_int(l.problems.items[i].code, PROBLEM_TIER_UNMAPPED, "flat warning %zu is tier-unmapped",
                       i);
                is_int(l.problems.items[i].severity, SEVERITY_WARNING, "flat warning %zu is a warning", i);
                check_position((Position){ l.problems.items[i].line, l.problems.items[i].column }, 7, 3,
                               "tier-unmapped at the task type");
        }

        is_int(c->shape, CONFIG_SHAPE_FLAT, "shape is flat");
        is_str(c->environment, QUALITY_FLAT_ENVIRONMENT, "flat environment is 'default'");
        is_str(c->version, "1.0", "version");
        FOREACH_TIER(t) {
                ok(c->tiers[t].enabled, "flat: tier %s enabled", tier_to_string(t));
                is_str(c->tiers[t].description, NULL, "flat: tier %s has no description", tier_to_string(t));
        }
        is_str(c->root_path, NULL, "flat: no root_path");
        is_int(c->root_path_position.line, 0, "flat: root_path position line 0");
        is_str(c->config_path, NULL, "flat: no config_path");
        ok(c->monitoring.health_check_enabled, "flat: health checks on by default");
        ok(c->monitoring.metrics_collection, "flat: metrics on by default");
        ok(c->monitoring.alerting_enabled, "flat: alerting on by default");
        is_int(c->monitoring.workflow_missing, ALERT_CRITICAL, "flat: workflow_missing critical by default");
        is_int(c->monitoring.config_invalid, ALERT_CRITICAL, "flat: config_invalid critical by default");

        is_int(c->n_task_types, 2, "flat: two task types");
        is_str(c->task_types[0].name, "alpha_task", "flat: sorted first");
        is_str(c->task_types[1].name, "zeta_task", "flat: sorted second");
        is_int(c->n_mappings, 4, "flat: four mappings");

        m = config_find_mapping(c, "zeta_task", TIER_HIGH);
        if (ok(m, "flat: zeta_task high")) {
                is_str(m->workflow_path, "z/high", "zeta high workflow_path");
                is_str(m->description, "Zeta high", "zeta high description");
                check_position(m->tier_position, 6, 5, "zeta high tier position");
                check_position(m->workflow_path_position, 6, 27, "zeta high workflow_path position");
                is_int(m->n_parameters, 2, "zeta high: two parameters");
                check_parameter_int(m, "steps", 50);
                check_parameter_double(m, "cfg_scale", 9.5);
        }
        m = config_find_mapping(c, "zeta_task", TIER_STANDARD);
        if (ok(m, "flat: zeta_task standard")) {
                check_parameter_int(m, "width", 512);
                check_parameter_int(m, "height", 512);
                ok(!mapping_find_parameter(m, "steps"), "zeta standard has no steps");
        }
        m = config_find_mapping(c, "zeta_task", TIER_LOW);
        if (ok(m, "flat: zeta_task low")) {
                is_str(m->workflow_path, "z/low", "zeta low workflow_path");
                is_int(m->n_parameters, 0, "zeta low: no parameters");
                check_position(m->workflow_path_position, 4, 26, "zeta low workflow_path position");
        }
        m = config_find_mapping(c, "alpha_task", TIER_LOW);
        if (ok(m, "flat: alpha_task low"))
                is_str(m->workflow_path, "a/low", "alpha low workflow_path");
        ok(!config_find_mapping(c, "alpha_task", TIER_STANDARD), "alpha standard: unmapped tier is NULL");
        ok(!config_find_mapping(c, "alpha_task", TIER_HIGH), "alpha high: unmapped tier is NULL");
        alpha = config_find_task_type(c, "alpha_task");
        if (ok(alpha, "config_find_task_type(alpha_task)"))
                ok(!mapping_is_set(alpha->tiers + TIER_STANDARD), "alpha standard not set");
        ok(!config_find_mapping(c, "beta_task", TIER_LOW), "unknown task type is NULL");
}

/* quality_system.enabled: false disables every tier; a tier left out of the list is disabled too. */
static void test_tier_switches(void) {
        _cleanup_(loaded_done) Loaded off =
                load("environment: e\n"
                     "quality_system: {enabled: false, tiers: [low, standard, high]}\n"
                     "workflows:\n"
                     "  mappings: {a: {low: {workflow_path: x}}}\n");
        _cleanup_(loaded_done) Loaded partial = load("environment: e\n"
                                                     "quality_system:\n"
                                                     "  tiers: [standard]\n"
                                                     "workflows:\n"
                                                     "  mappings: {a: {standard: {workflow_path: x}}}\n");

        if (ok(off.config, "quality_system.enabled false: loads")) {
                ok(!off.config->quality_enabled, "quality_enabled false");
                FOREACH_TIER(t)
                        ok(!off.config->tiers[t].enabled, "quality off: tier %s disabled",
                           tier_to_string(t));
                is_int(off.config->n_mappings, 0, "quality off: nothing served");
                ok(!config_find_mapping(off.config, "a", TIER_LOW), "quality off: low not served");
                is_int(off.problems.n_errors, 0, "quality off: no errors");
                is_int(off.problems.n_warnings, 1, "quality off: one warning");
                ok(find_problem(&off.problems, PROBLEM_TIER_DISABLED), "quality off: tier-disabled");
        }
        if (ok(partial.config, "one tier declared: loads")) {
                ok(!partial.config->tiers[TIER_LOW].enabled, "undeclared low is disabled");
                ok(partial.config->tiers[TIER_STANDARD].enabled, "declared standard is enabled");
                ok(!partial.config->tiers[TIER_HIGH].enabled, "undeclared high is disabled");
                is_int(partial.config->n_mappings, 1, "one tier declared: one mapping");
                is_int(partial.problems.n_warnings + partial.problems.n_errors, 0,
                       "one tier declared: clean");
        }
}

/* ---- every problem code the loader reports ---- */

/* Known and valid tiers for the task type of FLAT_PARAMETERS(), so only the parameters are in question. */
#define OTHER_TIERS "    standard: {workflow_path: s}\n    high: {workflow_path: h}\n"
/* The first parameter key stands at 3:42, its value at 3:(44 + strlen(key)). */
#define FLAT_PARAMETERS(p) "mappings:\n  a:\n    low: {workflow_path: l, parameters: {" p "}}\n" OTHER_TIERS
#define FLAT_LOW(mapping) "mappings:\n  a:\n    low: " mapping "\n" OTHER_TIERS
#define FLAT_OK                                                                                             \
        "mappings:\n  a: {low: {workflow_path: l}, standard: {workflow_path: s}, high: {workflow_path: "    \
        "h}}\n"
#define ENV_HEAD "environment: e\nquality_system:\n  tiers:\n"
#define ENV_TAIL "workflows:\n  mappings:\n    a: {low: {workflow_path: l}, standard: {workflow_path: s}}\n"

typedef struct ProblemCase {
        const char *name;
        const char *text;
        size_t size; /* 0: strlen(text) */
        int result;  /* of config_load_buffer(): 0 (a Config, maybe with errors) or -EINVAL (none) */
        ProblemCode code;
        Severity severity;
        unsigned line, column;
        const char *message; /* a part of the message, or NULL */
} ProblemCase;

#define E SEVERITY_ERROR
#define W SEVERITY_WARNING

static const ProblemCase problem_cases[] = {
        /* yaml-syntax */
        { "unclosed flow sequence", "mappings: {a: [1, 2\n", 0, -EINVAL, PROBLEM_YAML_SYNTAX, E, 2, 1,
          NULL },
        { "unterminated quote", "version: \"abc\n", 0, -EINVAL, PROBLEM_YAML_SYNTAX, E, 2, 1,
          "quoted scalar" },
        { "tab indentation", "mappings:\n\ta: {}\n", 0, -EINVAL, PROBLEM_YAML_SYNTAX, E, 2, 1, NULL },
        { "bad indentation", "mappings:\n  a:\n    low: {workflow_path: x}\n d: e\n", 0, -EINVAL,
          PROBLEM_YAML_SYNTAX, E, 4, 2, NULL },
        { "NUL byte", "version: \"1\"\0\n" FLAT_OK, 14 + sizeof(FLAT_OK) - 1, -EINVAL, PROBLEM_YAML_SYNTAX,
          E, 1, 13, "NUL" },
        { "NUL byte on line 3", "version: \"1\"\nmappings:\n  a: {\0}\n", 32, -EINVAL, PROBLEM_YAML_SYNTAX,
          E, 3, 7, "NUL" },
        { "two documents", "version: \"1\"\n" FLAT_OK "---\nversion: \"2\"\n", 0, 0, PROBLEM_YAML_SYNTAX, E,
          4, 1, "more than one YAML document" },
        { "YAML 2.0 directive", "%YAML 2.0\n---\n" FLAT_OK, 0, -EINVAL, PROBLEM_YAML_SYNTAX, E, 1, 1, NULL },

        /* unknown-key */
        { "unknown top-level key, suggestion", "mapings: {}\n", 0, 0, PROBLEM_UNKNOWN_KEY, E, 1, 1,
          "Unknown key 'mapings' in the top level, did you mean 'mappings'?" },
        { "unknown key, no suggestion", "zzz: 1\n" FLAT_OK, 0, 0, PROBLEM_UNKNOWN_KEY, E, 1, 1,
          "Unknown key 'zzz' in the top level." },
        { "unknown key in workflows",
          "environment: e\nworkflows:\n  root_pth: /x\n  mappings: {a: {low: {workflow_path: l}}}\n", 0, 0,
          PROBLEM_UNKNOWN_KEY, E, 3, 3, "did you mean 'root_path'?" },
        { "unknown key in a tier", FLAT_LOW("{workflow_path: l, paramters: {}}"), 0, 0, PROBLEM_UNKNOWN_KEY,
          E, 3, 29, "did you mean 'parameters'?" },
        { "unknown key in a tier item", ENV_HEAD "    - {name: low, enabeld: true}\n" ENV_TAIL, 0, 0,
          PROBLEM_UNKNOWN_KEY, E, 4, 19, "did you mean 'enabled'?" },
        { "unknown key in monitoring", "monitoring: {metrics: true}\n" FLAT_OK, 0, 0, PROBLEM_UNKNOWN_KEY, E,
          1, 14, NULL },
        { "flat key in the environment shape",
          "environment: e\nmappings: {}\nworkflows: {mappings: {a: {}}}\n", 0, 0, PROBLEM_UNKNOWN_KEY, E, 2,
          1, "did you mean 'workflows.mappings'?" },
        { "environment key in the flat shape", FLAT_OK "environment: e\n", 0, 0, PROBLEM_UNKNOWN_KEY, E, 3,
          1, "belongs to the environment shape" },
        { "null key", "~: 1\n" FLAT_OK, 0, 0, PROBLEM_UNKNOWN_KEY, E, 1, 1, NULL },
        { "escaped NUL does not make a known key", "\"version\\0junk\": \"1\"\n" FLAT_OK, 0, 0,
          PROBLEM_UNKNOWN_KEY, E, 1, 1, NULL },

        /* duplicate-key */
        { "duplicate top-level key", "version: \"1\"\nversion: \"2\"\n" FLAT_OK, 0, 0, PROBLEM_DUPLICATE_KEY,
          E, 2, 1, "first given at line 1" },
        { "duplicate key, other quoting", "version: \"1\"\n\"version\": \"2\"\n" FLAT_OK, 0, 0,
          PROBLEM_DUPLICATE_KEY, E, 2, 1, NULL },
        { "duplicate task type", FLAT_OK "  a: {low: {workflow_path: y}}\n", 0, 0, PROBLEM_DUPLICATE_KEY, E,
          3, 3, "Duplicate task type 'a'" },
        { "duplicate tier", "mappings:\n  a:\n    low: {workflow_path: x}\n    low: {workflow_path: y}\n", 0,
          0, PROBLEM_DUPLICATE_KEY, E, 4, 5, "Duplicate tier 'low'" },
        { "duplicate parameter", FLAT_PARAMETERS("steps: 1, steps: 2"), 0, 0, PROBLEM_DUPLICATE_KEY, E, 3,
          52, "Duplicate parameter 'steps'" },
        { "duplicate workflow_path", FLAT_LOW("{workflow_path: x, workflow_path: y}"), 0, 0,
          PROBLEM_DUPLICATE_KEY, E, 3, 29, NULL },
        { "duplicate tier in the tier list", ENV_HEAD "    - low\n    - {name: low}\n" ENV_TAIL, 0, 0,
          PROBLEM_DUPLICATE_KEY, E, 5, 14, "declared twice" },

        /* alias-forbidden */
        { "anchor", "version: &v \"1\"\n" FLAT_OK, 0, 0, PROBLEM_ALIAS_FORBIDDEN, E, 1, 10, "&v" },
        { "anchor on a mapping", "monitoring: &m {metrics_collection: true}\n" FLAT_OK, 0, 0,
          PROBLEM_ALIAS_FORBIDDEN, E, 1, 13, NULL },
        { "alias", "version: \"1\"\nfoo: *v\n" FLAT_OK, 0, 0, PROBLEM_ALIAS_FORBIDDEN, E, 2, 6, "*v" },
        { "alias as a key", "*a : 1\n" FLAT_OK, 0, 0, PROBLEM_ALIAS_FORBIDDEN, E, 1, 1, NULL },
        { "merge key", FLAT_OK "  b:\n    <<: {low: {workflow_path: x}}\n", 0, 0, PROBLEM_ALIAS_FORBIDDEN, E,
          4, 5, "Merge keys" },

        /* tag-forbidden */
        { "python tag", "version: !!python/object \"1\"\n" FLAT_OK, 0, 0, PROBLEM_TAG_FORBIDDEN, E, 1, 10,
          "python/object" },
        { "local tag", "version: !custom 1\n" FLAT_OK, 0, 0, PROBLEM_TAG_FORBIDDEN, E, 1, 10, "!custom" },
        { "binary tag", "version: !!binary aGVsbG8=\n" FLAT_OK, 0, 0, PROBLEM_TAG_FORBIDDEN, E, 1, 10,
          NULL },
        { "!!seq on a mapping", "mappings: !!seq\n  a: 1\n", 0, 0, PROBLEM_TAG_FORBIDDEN, E, 1, 11, NULL },
        { "%TAG handle", "%TAG !e! tag:example.com,2000:\n---\nversion: !e!foo 1\n" FLAT_OK, 0, 0,
          PROBLEM_TAG_FORBIDDEN, E, 3, 10, NULL },

        /* bad-type */
        { "top-level scalar", "just a scalar\n", 0, -EINVAL, PROBLEM_BAD_TYPE, E, 1, 1,
          "must be a mapping" },
        { "top-level sequence", "- a\n- b\n", 0, -EINVAL, PROBLEM_BAD_TYPE, E, 1, 1, "not a sequence" },
        { "quoted integer", FLAT_PARAMETERS("steps: \"20\""), 0, 0, PROBLEM_BAD_TYPE, E, 3, 49, "quoted" },
        { "boolean integer", FLAT_PARAMETERS("steps: true"), 0, 0, PROBLEM_BAD_TYPE, E, 3, 49, NULL },
        { "null integer", FLAT_PARAMETERS("steps: ~"), 0, 0, PROBLEM_BAD_TYPE, E, 3, 49, NULL },
        { "float integer", FLAT_PARAMETERS("steps: 1.5"), 0, 0, PROBLEM_BAD_TYPE, E, 3, 49, NULL },
        { "quoted number", FLAT_PARAMETERS("cfg_scale: \"7\""), 0, 0, PROBLEM_BAD_TYPE, E, 3, 53, "quoted" },
        { "boolean number", FLAT_PARAMETERS("denoise: false"), 0, 0, PROBLEM_BAD_TYPE, E, 3, 51, NULL },
        { "null string", FLAT_PARAMETERS("sampler_name: ~"), 0, 0, PROBLEM_BAD_TYPE, E, 3, 56, NULL },
        { "sequence parameter", FLAT_PARAMETERS("steps: [1]"), 0, 0, PROBLEM_BAD_TYPE, E, 3, 49, NULL },
        { "mapping parameter", FLAT_PARAMETERS("x: {a: 1}"), 0, 0, PROBLEM_BAD_TYPE, E, 3, 45, NULL },
        { "null unknown parameter", FLAT_PARAMETERS("x: ~"), 0, 0, PROBLEM_BAD_TYPE, E, 3, 45, NULL },
        { "parameters a sequence", FLAT_LOW("{workflow_path: l, parameters: [steps]}"), 0, 0,
          PROBLEM_BAD_TYPE, E, 3, 41, NULL },
        { "mappings a sequence", "mappings: [a, b]\n", 0, 0, PROBLEM_BAD_TYPE, E, 1, 11, NULL },
        { "tier a string", "mappings:\n  a:\n    low: x\n", 0, 0, PROBLEM_BAD_TYPE, E, 3, 10, NULL },
        { "'yes' is not a boolean",
          "environment: e\nquality_system: {enabled: yes, tiers: [low]}\n" ENV_TAIL, 0, 0, PROBLEM_BAD_TYPE,
          E, 2, 27, NULL },
        { "quoted boolean", "monitoring: {metrics_collection: \"true\"}\n" FLAT_OK, 0, 0, PROBLEM_BAD_TYPE,
          E, 1, 34, NULL },
        { "null workflow_path", FLAT_LOW("{workflow_path: ~}"), 0, 0, PROBLEM_BAD_TYPE, E, 3, 26, NULL },
        { "environment a sequence", "environment: [a]\nworkflows: {mappings: {a: {}}}\n", 0, 0,
          PROBLEM_BAD_TYPE, E, 1, 14, NULL },
        { "sequence key", "[a]: 1\n" FLAT_OK, 0, 0, PROBLEM_BAD_TYPE, E, 1, 1, "must be scalars" },
        { "threshold a number", "monitoring: {alerting: {thresholds: {workflow_missing: 3}}}\n" FLAT_OK, 0,
          0, PROBLEM_BAD_TYPE, E, 1, 56, NULL },

        /* bad-value */
        { "unknown alert level",
          "monitoring: {alerting: {thresholds: {workflow_missing: severe}}}\n" FLAT_OK, 0, 0,
          PROBLEM_BAD_VALUE, E, 1, 56, "critical, warning and info" },
        { "escaped NUL in a string", "environment: \"prod\\0uction\"\n" ENV_TAIL, 0, 0, PROBLEM_BAD_VALUE, E,
          1, 14, NULL },
        { "escaped NUL in a parameter", FLAT_PARAMETERS("sampler_name: \"eu\\0ler\""), 0, 0,
          PROBLEM_BAD_VALUE, E, 3, 56, NULL },

        /* out-of-range: every ranged parameter just outside its bounds */
        { "steps 0", FLAT_PARAMETERS("steps: 0"), 0, 0, PROBLEM_OUT_OF_RANGE, E, 3, 49,
          "between 1 and 10000" },
        { "steps 10001", FLAT_PARAMETERS("steps: 10001"), 0, 0, PROBLEM_OUT_OF_RANGE, E, 3, 49, NULL },
        { "cfg_scale -0.001", FLAT_PARAMETERS("cfg_scale: -0.001"), 0, 0, PROBLEM_OUT_OF_RANGE, E, 3, 53,
          NULL },
        { "cfg_scale 100.001", FLAT_PARAMETERS("cfg_scale: 100.001"), 0, 0, PROBLEM_OUT_OF_RANGE, E, 3, 53,
          NULL },
        { "cfg_scale .nan", FLAT_PARAMETERS("cfg_scale: .nan"), 0, 0, PROBLEM_OUT_OF_RANGE, E, 3, 53, NULL },
        { "cfg_scale .inf", FLAT_PARAMETERS("cfg_scale: .inf"), 0, 0, PROBLEM_OUT_OF_RANGE, E, 3, 53, NULL },
        { "cfg_scale -.inf", FLAT_PARAMETERS("cfg_scale: -.inf"), 0, 0, PROBLEM_OUT_OF_RANGE, E, 3, 53,
          NULL },
        { "cfg_scale 1e400", FLAT_PARAMETERS("cfg_scale: 1e400"), 0, 0, PROBLEM_OUT_OF_RANGE, E, 3, 53,
          NULL },
        { "cfg_scale beyond 64 bits", FLAT_PARAMETERS("cfg_scale: 99999999999999999999"), 0, 0,
          PROBLEM_OUT_OF_RANGE, E, 3, 53, NULL },
        { "denoise -0.01", FLAT_PARAMETERS("denoise: -0.01"), 0, 0, PROBLEM_OUT_OF_RANGE, E, 3, 51, NULL },
        { "denoise 1.01", FLAT_PARAMETERS("denoise: 1.01"), 0, 0, PROBLEM_OUT_OF_RANGE, E, 3, 51, NULL },
        { "seed -1", FLAT_PARAMETERS("seed: -1"), 0, 0, PROBLEM_OUT_OF_RANGE, E, 3, 48, "at least 0" },
        { "seed 2^63", FLAT_PARAMETERS("seed: 9223372036854775808"), 0, 0, PROBLEM_OUT_OF_RANGE, E, 3, 48,
          "64-bit" },
        { "steps beyond 64 bits", FLAT_PARAMETERS("steps: 99999999999999999999"), 0, 0, PROBLEM_OUT_OF_RANGE,
          E, 3, 49, "64-bit" },
        { "steps below -2^63", FLAT_PARAMETERS("steps: -9223372036854775809"), 0, 0, PROBLEM_OUT_OF_RANGE, E,
          3, 49, NULL },
        { "unknown parameter beyond 64 bits", FLAT_PARAMETERS("x: 0x10000000000000000"), 0, 0,
          PROBLEM_OUT_OF_RANGE, E, 3, 45, NULL },
        { "width 0", FLAT_PARAMETERS("width: 0"), 0, 0, PROBLEM_OUT_OF_RANGE, E, 3, 49, NULL },
        { "width 16392", FLAT_PARAMETERS("width: 16392"), 0, 0, PROBLEM_OUT_OF_RANGE, E, 3, 49, NULL },
        { "width 12", FLAT_PARAMETERS("width: 12"), 0, 0, PROBLEM_OUT_OF_RANGE, E, 3, 49, "multiple of 8" },
        { "height 0", FLAT_PARAMETERS("height: 0"), 0, 0, PROBLEM_OUT_OF_RANGE, E, 3, 50, NULL },
        { "height 16385", FLAT_PARAMETERS("height: 16385"), 0, 0, PROBLEM_OUT_OF_RANGE, E, 3, 50, NULL },
        { "height 100", FLAT_PARAMETERS("height: 100"), 0, 0, PROBLEM_OUT_OF_RANGE, E, 3, 50,
          "multiple of 8" },
        { "batch_size 0", FLAT_PARAMETERS("batch_size: 0"), 0, 0, PROBLEM_OUT_OF_RANGE, E, 3, 54, NULL },
        { "batch_size 65", FLAT_PARAMETERS("batch_size: 65"), 0, 0, PROBLEM_OUT_OF_RANGE, E, 3, 54, NULL },

        /* missing-key */
        { "neither shape", "{}\n", 0, 0, PROBLEM_MISSING_KEY, E, 1, 1, "neither" },
        { "flat without mappings", "version: \"1\"\n", 0, 0, PROBLEM_MISSING_KEY, E, 1, 1, "no 'mappings'" },
        { "no environment", "workflows:\n  mappings: {a: {low: {workflow_path: x}}}\n", 0, 0,
          PROBLEM_MISSING_KEY, E, 1, 1, "no 'environment'" },
        { "no workflows", "environment: e\n", 0, 0, PROBLEM_MISSING_KEY, E, 1, 1, "no 'workflows'" },
        { "workflows without mappings", "environment: e\nworkflows:\n  root_path: r\n", 0, 0,
          PROBLEM_MISSING_KEY, E, 2, 1, "'workflows' has no 'mappings'" },
        { "quality_system without tiers", "environment: e\nquality_system: {enabled: true}\n" ENV_TAIL, 0, 0,
          PROBLEM_MISSING_KEY, E, 2, 1, "no 'tiers'" },
        { "tier without workflow_path", FLAT_LOW("{description: x}"), 0, 0, PROBLEM_MISSING_KEY, E, 3, 5,
          "no 'workflow_path'" },
        { "tier item without name", ENV_HEAD "    - {description: x}\n" ENV_TAIL, 0, 0, PROBLEM_MISSING_KEY,
          E, 4, 7, "no 'name'" },

        /* empty-config */
        { "empty file", "", 0, -EINVAL, PROBLEM_EMPTY_CONFIG, E, 0, 0, NULL },
        { "comments only", "# nothing\n# here\n", 0, -EINVAL, PROBLEM_EMPTY_CONFIG, E, 0, 0, NULL },
        { "document start only", "---\n", 0, -EINVAL, PROBLEM_EMPTY_CONFIG, E, 0, 0, NULL },
        { "document start and end", "---\n...\n", 0, -EINVAL, PROBLEM_EMPTY_CONFIG, E, 0, 0, NULL },
        { "null document", "~\n", 0, -EINVAL, PROBLEM_EMPTY_CONFIG, E, 0, 0, NULL },
        { "empty mappings", "mappings: {}\n", 0, 0, PROBLEM_EMPTY_CONFIG, E, 1, 1, "no task types" },

        /* too-deep: the top-level mapping and 64 more levels are the most there may be */
        { "65 levels", "x: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[", 0, -EINVAL,
          PROBLEM_TOO_DEEP, E, 1, 67, NULL },

        /* not-utf8 */
        { "invalid byte", "version: \"\xff\"\n" FLAT_OK, 0, -EINVAL, PROBLEM_NOT_UTF8, E, 0, 0, NULL },
        { "overlong", "version: \"\xc0\xaf\"\n" FLAT_OK, 0, -EINVAL, PROBLEM_NOT_UTF8, E, 0, 0, NULL },
        { "surrogate", "version: \"\xed\xa0\x80\"\n" FLAT_OK, 0, -EINVAL, PROBLEM_NOT_UTF8, E, 0, 0, NULL },
        { "Latin-1", "environment: caf\xe9\n" ENV_TAIL, 0, -EINVAL, PROBLEM_NOT_UTF8, E, 0, 0, NULL },

        /* bad-task-type */
        { "upper case and dash", "mappings:\n  A-b: {low: {workflow_path: x}}\n", 0, 0,
          PROBLEM_BAD_TASK_TYPE, E, 2, 3, NULL },
        { "65 characters",
          "mappings:\n  aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa: {}\n" FLAT_OK, 0,
          0, PROBLEM_BAD_TASK_TYPE, E, 2, 3, NULL },
        { "empty name", "mappings:\n  \"\": {low: {workflow_path: x}}\n", 0, 0, PROBLEM_BAD_TASK_TYPE, E, 2,
          3, NULL },
        { "dot in name", "mappings:\n  a.b: {low: {workflow_path: x}}\n", 0, 0, PROBLEM_BAD_TASK_TYPE, E, 2,
          3, NULL },

        /* unknown-tier */
        { "mapping tier typo", "mappings:\n  a: {lo: {workflow_path: x}}\n", 0, 0, PROBLEM_UNKNOWN_TIER, E,
          2, 7, "did you mean 'low'?" },
        { "mapping tier unknown", "mappings:\n  a: {ultra: {workflow_path: x}}\n", 0, 0,
          PROBLEM_UNKNOWN_TIER, E, 2, 7, "low, standard and high" },
        { "declared tier unknown", ENV_HEAD "    - {name: medium}\n" ENV_TAIL, 0, 0, PROBLEM_UNKNOWN_TIER, E,
          4, 14, NULL },
        { "declared tier short form", ENV_HEAD "    - hihg\n" ENV_TAIL, 0, 0, PROBLEM_UNKNOWN_TIER, E, 4, 7,
          "did you mean 'high'?" },

        /* tier-disabled */
        { "mapping for an undeclared tier",
          ENV_HEAD
          "    - low\n    - standard\n"
          "workflows:\n  mappings:\n"
          "    a: {low: {workflow_path: l}, standard: {workflow_path: s}, high: {workflow_path: h}}\n",
          0, 0, PROBLEM_TIER_DISABLED, W, 8, 64, NULL },
        { "mapping for a tier with enabled: false",
          ENV_HEAD "    - low\n    - standard\n    - {name: high, enabled: false}\n"
                   "workflows:\n  mappings:\n"
                   "    a:\n      high: {workflow_path: h}\n      low: {workflow_path: l}\n      standard: "
                   "{workflow_path: s}\n",
          0, 0, PROBLEM_TIER_DISABLED, W, 10, 7, NULL },

        /* tier-unmapped */
        { "enabled tier without a mapping",
          "mappings:\n  a: {low: {workflow_path: l}, high: {workflow_path: h}}\n", 0, 0,
          PROBLEM_TIER_UNMAPPED, W, 2, 3, "'standard'" },

        /* unknown-parameter */
        { "parameter typo", FLAT_PARAMETERS("stepz: 3"), 0, 0, PROBLEM_UNKNOWN_PARAMETER, W, 3, 42,
          "did you mean 'steps'?" },
        { "parameter unknown", FLAT_PARAMETERS("vae_tiling: true"), 0, 0, PROBLEM_UNKNOWN_PARAMETER, W, 3,
          42, "kept" },

        /* bad-workflow-path */
        { "absolute", FLAT_LOW("{workflow_path: /opt/x}"), 0, 0, PROBLEM_BAD_WORKFLOW_PATH, E, 3, 26,
          "absolute" },
        { "dot-dot inside", FLAT_LOW("{workflow_path: a/../b}"), 0, 0, PROBLEM_BAD_WORKFLOW_PATH, E, 3, 26,
          "'..'" },
        { "dot-dot alone", FLAT_LOW("{workflow_path: ..}"), 0, 0, PROBLEM_BAD_WORKFLOW_PATH, E, 3, 26,
          NULL },
        { "dot-dot last", FLAT_LOW("{workflow_path: a/..}"), 0, 0, PROBLEM_BAD_WORKFLOW_PATH, E, 3, 26,
          NULL },
        { "space", FLAT_LOW("{workflow_path: \"a b\"}"), 0, 0, PROBLEM_BAD_WORKFLOW_PATH, E, 3, 26,
          "character" },
        { "backslash", FLAT_LOW("{workflow_path: 'a\\b'}"), 0, 0, PROBLEM_BAD_WORKFLOW_PATH, E, 3, 26,
          NULL },
        { "non-ASCII", FLAT_LOW("{workflow_path: caf\xc3\xa9}"), 0, 0, PROBLEM_BAD_WORKFLOW_PATH, E, 3, 26,
          NULL },
        { "escaped NUL", FLAT_LOW("{workflow_path: \"x\\0y\"}"), 0, 0, PROBLEM_BAD_WORKFLOW_PATH, E, 3, 26,
          NULL },
        { "empty", FLAT_LOW("{workflow_path: \"\"}"), 0, 0, PROBLEM_BAD_WORKFLOW_PATH, E, 3, 26, "empty" },
        { "513 bytes",
          FLAT_LOW("{workflow_path: "
                   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab}"),
          0, 0, PROBLEM_BAD_WORKFLOW_PATH, E, 3, 26, "longer than 512 bytes" },
};

static void test_problem_case(const ProblemCase *t) {
        _cleanup_(loaded_done) Loaded l = load_sized(t->text, t->size > 0 ? t->size : strlen(t->text));
        const Problem *p;

        is_int(l.r, t->result, "%s: config_load_buffer() returns %d", t->name, t->result);
        ok(t->result < 0 ? !l.config : !!l.config, "%s: %s", t->name,
           t->result < 0 ? "no Config" : "a Config");
        if (t->severity == SEVERITY_ERROR)
                ok(problems_has_errors(&l.problems), "%s: has errors", t->name);
        p = find_problem(&l.problems, t->code);
        if (!ok(p, "%s: reports %s", t->name, problem_code_to_string(t->code))) {
                dump_problems(&l.problems);
                return;
        }
        is_int(p->severity, t->severity, "%s: severity %s", t->name, severity_to_string(t->severity));
        is_int(p->line, t->line, "%s: line %u", t->name, t->line);
        is_int(p->column, t->column, "%s: column %u", t->name, t->column);
        if (t->message)
                ok(strstr(p->message, t->message), "%s: message has \"%s\" (%s)", t->name, t->message,
                   p->message);
        ok(l.problems.n_items == 0 || l.problems.items[0].message, "%s: problems carry messages", t->name);
}

static void test_problem_cases(void) {
        for (size_t i = 0; i < ELEMENTSOF(problem_cases); i++)
                test_problem_case(problem_cases + i);
}

/* The "no suggestion" message must not suggest anything. */
static void test_no_suggestion(void) {
        _cleanup_(loaded_done) Loaded l = load("zzz: 1\n" FLAT_OK);
        const Problem *p = find_problem(&l.problems, PROBLEM_UNKNOWN_KEY);

        if (ok(p, "unknown key zzz reported"))
                ok(!strstr(p->message, "did you mean"), "no suggestion for zzz: %s", p->message);
}

static void test_too_large(void) {
        size_t size = (size_t) CONFIG_SIZE_MAX + 1;
        char *text = malloc(size);
        const Problem *p;

        if (!text) {
                printf("Bail out! out of memory\n");
                exit(EXIT_FAILURE);
        }
        memset(text, '#', size);
        {
                _cleanup_(loaded_done) Loaded l = load_sized(text, size);

                is_int(l.r, -EINVAL, "16 MiB + 1: -EINVAL");
                ok(!l.config, "16 MiB + 1: no Config");
                p = find_problem(&l.problems, PROBLEM_TOO_LARGE);
                if (ok(p, "16 MiB + 1: too-large")) {
                        is_int(p->severity, SEVERITY_ERROR, "too-large is an error");
                        is_int(p->line, 0, "too-large: line 0");
                        is_int(p->column, 0, "too-large: column 0");
                }
        }
        /* Exactly the limit is allowed: a file of comments is merely empty. */
        {
                _cleanup_(loaded_done) Loaded l = load_sized(text, size - 1);

                ok(!find_problem(&l.problems, PROBLEM_TOO_LARGE), "16 MiB exactly: not too-large");
                ok(find_problem(&l.problems, PROBLEM_EMPTY_CONFIG), "16 MiB of comments: empty-config");
        }
        free(text);
}

/* The limits on names and paths are inclusive: 64 characters of task type, 512 bytes of path. */
static void test_inclusive_limits(void) {
        char text[1024], name[TASK_TYPE_NAME_MAX + 1], path[WORKFLOW_PATH_MAX + 1];
        const Mapping *m;

        memset(name, 'n', TASK_TYPE_NAME_MAX);
        name[TASK_TYPE_NAME_MAX] = 0;
        memset(path, 'p', WORKFLOW_PATH_MAX);
        path[WORKFLOW_PATH_MAX] = 0;
        (void) snprintf(text, sizeof text,
                        "mappings:\n  %s: {low: {workflow_path: %s}, standard: {workflow_path: s}, "
                        "high: {workflow_path: h}}\n",
                        name, path);
        {
                _cleanup_(loaded_done) Loaded l = load(text);

                if (!is_int(l.problems.n_items, 0, "64-character task type, 512-byte path: no problems"))
                        dump_problems(&l.problems);
                m = l.config ? config_find_mapping(l.config, name, TIER_LOW) : NULL;
                if (ok(m, "64-character task type: found"))
                        is_int(strlen(m->workflow_path), WORKFLOW_PATH_MAX, "512-byte path kept whole");
        }
}

/* ---- values at the bounds of their ranges load ---- */

typedef struct ValueCase {
        const char *text; /* the parameters */
        const char *key;
        ParameterType type;
        int64_t i;
        double d;
} ValueCase;

static const ValueCase value_cases[] = {
        { "steps: 1", "steps", PARAMETER_INT, 1, 0 },
        { "steps: 10000", "steps", PARAMETER_INT, 10000, 0 },
        { "cfg_scale: 0", "cfg_scale", PARAMETER_DOUBLE, 0, 0.0 },
        { "cfg_scale: 100", "cfg_scale", PARAMETER_DOUBLE, 0, 100.0 },
        { "cfg_scale: 100.0", "cfg_scale", PARAMETER_DOUBLE, 0, 100.0 },
        { "cfg_scale: 7.5", "cfg_scale", PARAMETER_DOUBLE, 0, 7.5 },
        { "denoise: 0", "denoise", PARAMETER_DOUBLE, 0, 0.0 },
        { "denoise: 1", "denoise", PARAMETER_DOUBLE, 0, 1.0 },
        { "denoise: .5", "denoise", PARAMETER_DOUBLE, 0, 0.5 },
        { "seed: 0", "seed", PARAMETER_INT, 0, 0 },
        { "seed: 9223372036854775807", "seed", PARAMETER_INT, INT64_MAX, 0 },
        { "seed: 0x10", "seed", PARAMETER_INT, 16, 0 },
        { "width: 8", "width", PARAMETER_INT, 8, 0 },
        { "width: 16384", "width", PARAMETER_INT, 16384, 0 },
        { "height: 8", "height", PARAMETER_INT, 8, 0 },
        { "height: 16384", "height", PARAMETER_INT, 16384, 0 },
        { "batch_size: 1", "batch_size", PARAMETER_INT, 1, 0 },
        { "batch_size: 64", "batch_size", PARAMETER_INT, 64, 0 },
        { "steps: !!int \"20\"", "steps", PARAMETER_INT, 20, 0 },
};

static void test_value_cases(void) {
        for (size_t i = 0; i < ELEMENTSOF(value_cases); i++) {
                const ValueCase *t = value_cases + i;
                char text[512];
                const Mapping *m;
                const Parameter *p;

                (void) snprintf(text, sizeof text, FLAT_PARAMETERS("%s"), t->text);
                {
                        _cleanup_(loaded_done) Loaded l = load(text);

                        if (!ok(l.config && l.problems.n_items == 0, "'%s' loads without problems",
                                t->text)) {
                                dump_problems(&l.problems);
                                continue;
                        }
                        m = config_find_mapping(l.config, "a", TIER_LOW);
                        p = m ? mapping_find_parameter(m, t->key) : NULL;
                        if (!ok(p, "'%s': parameter found", t->text))
                                continue;
                        is_int(p->type, t->type, "'%s': type %s", t->text,
                               parameter_type_to_string(t->type));
                        if (t->type == PARAMETER_INT)
                                is_int(p->i, t->i, "'%s': value", t->text);
                        else
                                ok(p->type == PARAMETER_DOUBLE && double_eq(p->d, t->d), "'%s': value %g",
                                   t->text, t->d);
                }
        }
}

/* ---- YAML 1.2 core schema ---- */

typedef struct ScalarCase {
        const char *text;
        bool plain;
        ScalarKind kind;
        int64_t i; /* SCALAR_INT, or SCALAR_BOOL (0/1) */
        double d;  /* SCALAR_FLOAT; NAN: any NaN */
} ScalarCase;

static const ScalarCase scalar_cases[] = {
        { "", true, SCALAR_NULL, 0, 0 },
        { "~", true, SCALAR_NULL, 0, 0 },
        { "null", true, SCALAR_NULL, 0, 0 },
        { "Null", true, SCALAR_NULL, 0, 0 },
        { "NULL", true, SCALAR_NULL, 0, 0 },
        { "nULL", true, SCALAR_STRING, 0, 0 },
        { "null", false, SCALAR_STRING, 0, 0 },
        { "true", true, SCALAR_BOOL, 1, 0 },
        { "True", true, SCALAR_BOOL, 1, 0 },
        { "TRUE", true, SCALAR_BOOL, 1, 0 },
        { "false", true, SCALAR_BOOL, 0, 0 },
        { "False", true, SCALAR_BOOL, 0, 0 },
        { "FALSE", true, SCALAR_BOOL, 0, 0 },
        { "tRUE", true, SCALAR_STRING, 0, 0 },
        { "yes", true, SCALAR_STRING, 0, 0 },
        { "no", true, SCALAR_STRING, 0, 0 },
        { "on", true, SCALAR_STRING, 0, 0 },
        { "off", true, SCALAR_STRING, 0, 0 },
        { "y", true, SCALAR_STRING, 0, 0 },
        { "true", false, SCALAR_STRING, 0, 0 },
        { "0", true, SCALAR_INT, 0, 0 },
        { "42", true, SCALAR_INT, 42, 0 },
        { "-17", true, SCALAR_INT, -17, 0 },
        { "+5", true, SCALAR_INT, 5, 0 },
        { "-0", true, SCALAR_INT, 0, 0 },
        { "007", true, SCALAR_INT, 7, 0 },
        { "0o17", true, SCALAR_INT, 15, 0 },
        { "0o0", true, SCALAR_INT, 0, 0 },
        { "0x1F", true, SCALAR_INT, 31, 0 },
        { "0x1f", true, SCALAR_INT, 31, 0 },
        { "0x7FFFFFFFFFFFFFFF", true, SCALAR_INT, INT64_MAX, 0 },
        { "0x8000000000000000", true, SCALAR_INT_OVERFLOW, 0, 0 },
        { "0o8", true, SCALAR_STRING, 0, 0 },
        { "0xG", true, SCALAR_STRING, 0, 0 },
        { "0X1F", true, SCALAR_STRING, 0, 0 },
        { "-0x1F", true, SCALAR_STRING, 0, 0 },
        { "0x", true, SCALAR_STRING, 0, 0 },
        { "1_000", true, SCALAR_STRING, 0, 0 },
        { "9223372036854775807", true, SCALAR_INT, INT64_MAX, 0 },
        { "-9223372036854775808", true, SCALAR_INT, INT64_MIN, 0 },
        { "9223372036854775808", true, SCALAR_INT_OVERFLOW, 0, 0 },
        { "-9223372036854775809", true, SCALAR_INT_OVERFLOW, 0, 0 },
        { "18446744073709551616", true, SCALAR_INT_OVERFLOW, 0, 0 },
        { "123456789012345678901234567890", true, SCALAR_INT_OVERFLOW, 0, 0 },
        { "42", false, SCALAR_STRING, 0, 0 },
        { "1.5", true, SCALAR_FLOAT, 0, 1.5 },
        { ".5", true, SCALAR_FLOAT, 0, 0.5 },
        { "-.5", true, SCALAR_FLOAT, 0, -0.5 },
        { "1.", true, SCALAR_FLOAT, 0, 1.0 },
        { "1e3", true, SCALAR_FLOAT, 0, 1000.0 },
        { "1E3", true, SCALAR_FLOAT, 0, 1000.0 },
        { "2.5e-1", true, SCALAR_FLOAT, 0, 0.25 },
        { "+1.5e+2", true, SCALAR_FLOAT, 0, 150.0 },
        { ".inf", true, SCALAR_FLOAT, 0, INFINITY },
        { ".Inf", true, SCALAR_FLOAT, 0, INFINITY },
        { "+.INF", true, SCALAR_FLOAT, 0, INFINITY },
        { "-.inf", true, SCALAR_FLOAT, 0, -INFINITY },
        { ".nan", true, SCALAR_FLOAT, 0, NAN },
        { ".NaN", true, SCALAR_FLOAT, 0, NAN },
        { ".NAN", true, SCALAR_FLOAT, 0, NAN },
        { "-.nan", true, SCALAR_STRING, 0, 0 },
        { ".", true, SCALAR_STRING, 0, 0 },
        { "1e", true, SCALAR_STRING, 0, 0 },
        { "e3", true, SCALAR_STRING, 0, 0 },
        { "1.5.1", true, SCALAR_STRING, 0, 0 },
        { "1.5", false, SCALAR_STRING, 0, 0 },
        { ".inf", false, SCALAR_STRING, 0, 0 },
        { "infinity", true, SCALAR_STRING, 0, 0 },
        { "nan", true, SCALAR_STRING, 0, 0 },
        /* A core-schema float however many digits it is written with. */
        { "7.0000000000000000000000000000000000000000000000000000000000000000000001", true, SCALAR_FLOAT, 0,
          7.0 },
        { "euler", true, SCALAR_STRING, 0, 0 },
        { "12 monkeys", true, SCALAR_STRING, 0, 0 },
};

static void test_scalars(void) {
        for (size_t i = 0; i < ELEMENTSOF(scalar_cases); i++) {
                const ScalarCase *t = scalar_cases + i;
                ScalarValue v = yaml_scalar_resolve(t->text, strlen(t->text), t->plain);
                const char *q = t->plain ? "" : "quoted ";

                if (!is_int(v.kind, t->kind, "%s'%s' is %s%s", q, t->text, scalar_kind_to_string(t->kind),
                            t->kind == SCALAR_INT_OVERFLOW ? " (overflow)" : ""))
                        continue;
                switch (t->kind) {
                case SCALAR_INT:
                        is_int(v.i, t->i, "%s'%s' = %" PRIi64, q, t->text, t->i);
                        break;
                case SCALAR_BOOL:
                        is_int(v.b, t->i, "%s'%s' = %s", q, t->text, t->i ? "true" : "false");
                        break;
                case SCALAR_FLOAT:
                        if (isnan(t->d))
                                ok(isnan(v.d), "'%s' is NaN", t->text);
                        else if (isinf(t->d))
                                ok(v.d == t->d, "'%s' is %s", t->text, t->d > 0 ? "+inf" : "-inf");
                        else
                                ok(double_eq(v.d, t->d), "'%s' = %g (got %g)", t->text, t->d, v.d);
                        break;
                default:
                        break;
                }
        }
        /* Only the given length counts: "12" of "123". */
        is_int(yaml_scalar_resolve("123", 2, true).i, 12, "resolution honours the length");
}

/* ---- UTF-8 ---- */

typedef struct Utf8Case {
        const char *name;
        const char *text;
        size_t size;
        bool valid;
        size_t offset; /* of the first bad byte */
} Utf8Case;

#define U(name, s, valid, offset)                                                                           \
        { name, s, sizeof(s) - 1, valid, offset }

static const Utf8Case utf8_cases[] = {
        U("empty", "", true, 0),
        U("ASCII", "workflow_path: library/x", true, 0),
        U("2-byte e-acute", "caf\xc3\xa9", true, 0),
        U("3-byte euro", "\xe2\x82\xac 5", true, 0),
        U("4-byte emoji", "\xf0\x9f\x98\x80", true, 0),
        U("U+D7FF", "\xed\x9f\xbf", true, 0),
        U("U+E000", "\xee\x80\x80", true, 0),
        U("U+FFFF", "\xef\xbf\xbf", true, 0),
        U("U+10000", "\xf0\x90\x80\x80", true, 0),
        U("U+10FFFF", "\xf4\x8f\xbf\xbf", true, 0),
        U("multibyte after 8 ASCII bytes", "abcdefgh\xc3\xa9xyz", true, 0),
        U("overlong NUL", "\xc0\x80", false, 0),
        U("overlong slash 2-byte", "a\xc0\xaf", false, 1),
        U("overlong C1", "\xc1\xbf", false, 0),
        U("overlong 3-byte", "\xe0\x80\xaf", false, 0),
        U("overlong 3-byte max", "\xe0\x9f\xbf", false, 0),
        U("overlong 4-byte", "\xf0\x8f\xbf\xbf", false, 0),
        U("surrogate D800", "\xed\xa0\x80", false, 0),
        U("surrogate DFFF", "xx\xed\xbf\xbf", false, 2),
        U("U+110000", "\xf4\x90\x80\x80", false, 0),
        U("F5 lead byte", "\xf5\x80\x80\x80", false, 0),
        U("FF byte", "abc\xff", false, 3),
        U("stray continuation", "\x80", false, 0),
        U("truncated 2-byte at end", "abc\xc3", false, 3),
        U("truncated 3-byte at end", "\xe2\x82", false, 0),
        U("truncated 4-byte at end", "\xf0\x9f\x98", false, 0),
        U("truncated 3-byte mid-text",
          "\xe2\x82"
          "abc",
          false, 0),
        U("bad third byte", "\xf0\x9f\x41\x80", false, 0),
        U("bad byte after 8 ASCII bytes", "abcdefghij\xc0\x80", false, 10),
        U("UTF-16LE BOM",
          "\xff\xfe"
          "a\0",
          false, 0),
};

static void test_utf8(void) {
        for (size_t i = 0; i < ELEMENTSOF(utf8_cases); i++) {
                const Utf8Case *t = utf8_cases + i;
                size_t offset = SIZE_MAX;

                if (is_int(utf8_is_valid(t->text, t->size, &offset), t->valid, "UTF-8 %s: %s", t->name,
                           t->valid ? "valid" : "invalid") &&
                    !t->valid)
                        is_int(offset, t->offset, "UTF-8 %s: bad byte at %zu", t->name, t->offset);
        }
        /* Validation stops at the given size: the bad byte past it does not count. */
        ok(utf8_is_valid("ab\xff", 2, NULL), "UTF-8: bytes past the size are not looked at");
        ok(!utf8_is_valid("\xc3\xa9", 1, NULL), "UTF-8: a sequence cut by the size is invalid");
}

/* ---- suggestions ---- */

static void test_suggest(void) {
        static const char *const top[] = { "environment", "quality_system", "workflows", "monitoring",
                                           "version",     "mappings",       NULL };
        static const char *const parameters[] = { "batch_size",   "cfg_scale", "denoise", "height",
                                                  "sampler_name", "scheduler", "seed",    "steps",
                                                  "width",        NULL };
        static const char *const tiers[] = { "low", "standard", "high", NULL };

        is_str(suggest_closest("mapings", 7, top), "mappings", "suggest: mapings -> mappings");
        is_str(suggest_closest("enviroment", 10, top), "environment", "suggest: enviroment -> environment");
        is_str(suggest_closest("worklfows", 9, top), "workflows",
               "suggest: transposition worklfows -> workflows");
        is_str(suggest_closest("stpes", 5, parameters), "steps", "suggest: stpes -> steps");
        is_str(suggest_closest("cfg-scale", 9, parameters), "cfg_scale", "suggest: cfg-scale -> cfg_scale");
        is_str(suggest_closest("lo", 2, tiers), "low", "suggest: lo -> low");
        is_str(suggest_closest("standrad", 8, tiers), "standard", "suggest: standrad -> standard");
        is_str(suggest_closest("zzz", 3, top), NULL, "suggest: nothing close to zzz");
        is_str(suggest_closest("ultra", 5, tiers), NULL, "suggest: nothing close to ultra");
        is_str(suggest_closest("lora_strength", 13, parameters), NULL,
               "suggest: nothing close to lora_strength");
        is_str(suggest_closest("", 0, top), NULL, "suggest: nothing for the empty word");
        is_str(suggest_closest("mappingsX", 8, top), NULL,
               "suggest: only the first n bytes count (exact match)");
        is_str(suggest_closest("mapings", 7, (const char *const[]){ NULL }), NULL, "suggest: no candidates");
}

int main(void) {
        test_environment_shape();
        test_flat_shape();
        test_tier_switches();
        test_problem_cases();
        test_no_suggestion();
        test_too_large();
        test_inclusive_limits();
        test_value_cases();
        test_scalars();
        test_utf8();
        test_suggest();
        return tap_done();
}
