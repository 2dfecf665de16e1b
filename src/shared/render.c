/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Render: a tier's parameters written into its ComfyUI workflow, ready for ComfyUI's POST /prompt. */
#include <string.h>

#include "json-util.h"
#include "render.h"

/* Which parameter goes to which input of which node class. */
typedef struct InputRule {
        const char *class_type;
        const char *parameter;
        const char *input;
} InputRule;

static const InputRule input_rules[] = {
        { "KSampler", "steps", "steps" },
        { "KSampler", "cfg_scale", "cfg" },
        { "KSampler", "sampler_name", "sampler_name" },
        { "KSampler", "scheduler", "scheduler" },
        { "KSampler", "denoise", "denoise" },
        { "KSampler", "seed", "seed" },
        { "KSamplerAdvanced", "steps", "steps" },
        { "KSamplerAdvanced", "cfg_scale", "cfg" },
        { "KSamplerAdvanced", "sampler_name", "sampler_name" },
        { "KSamplerAdvanced", "scheduler", "scheduler" },
        { "KSamplerAdvanced", "seed", "noise_seed" },
        { "EmptyLatentImage", "width", "width" },
        { "EmptyLatentImage", "height", "height" },
        { "EmptyLatentImage", "batch_size", "batch_size" },
};

static struct json_object *parameter_to_json(const Parameter *p) {
        switch (p->type) {
        case PARAMETER_INT:
                return json_object_new_int64(p->i);
        case PARAMETER_DOUBLE:
                return json_object_new_double(p->d);
        case PARAMETER_BOOL:
                return json_object_new_boolean(p->b);
        default:
                return json_object_new_string(p->s);
        }
}

int render_apply_parameters(struct json_object *workflow, const Mapping *m) {
        json_object_object_foreach(workflow, id, node) {
                struct json_object *class_type, *inputs;
                const char *class_name;

                (void) id;
                if (!json_object_object_get_ex(node, "class_type", &class_type) ||
                    !json_object_object_get_ex(node, "inputs", &inputs) ||
                    !json_object_is_type(inputs, json_type_object))
                        continue;
                class_name = json_object_get_string(class_type);

                for (size_t i = 0; i < ELEMENTSOF(input_rules); i++) {
                        const InputRule *rule = input_rules + i;
                        const Parameter *p;
                        struct json_object *value;

                        if (!streq(rule->class_type, class_name))
                                continue;
                        p = mapping_find_parameter(m, rule->parameter);
                        if (!p)
                                continue;

                        value = parameter_to_json(p);
                        if (!value || json_object_object_add(inputs, rule->input, value) < 0) {
                                json_object_put(value);
                                return -ENOMEM;
                        }
                }
        }
        return 0;
}

int render_prompt(WorkflowChecker *checker, const Mapping *m, char **ret) {
        _cleanup_(json_object_putp) struct json_object *workflow = NULL, *prompt = NULL;
        const char *text;
        char *s;
        int k;

        if (!checker)
                return -ENOENT;

        k = workflow_checker_load(checker, m->workflow_path, &workflow);
        if (k < 0)
                return k;

        k = render_apply_parameters(workflow, m);
        if (k < 0)
                return k;

        prompt = json_object_new_object();
        if (!prompt)
                return -ENOMEM;
        if (json_object_object_add(prompt, "prompt", workflow) < 0)
                return -ENOMEM;
        workflow = NULL; /* owned by prompt now */

        text = json_object_to_json_string_ext(prompt,
                                              JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!text)
                return -ENOMEM;
        s = strdup(text);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}
