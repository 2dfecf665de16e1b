/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* JSON forms of the configuration model, as DescribeTaskType and the HTTP shim give them. */
#include <string.h>

#include "config-json.h"
#include "json-util.h"

struct json_object *parameters_to_json(const Mapping *m) {
        _cleanup_(json_object_putp) struct json_object *o = json_object_new_object();

        if (!o)
                return NULL;

        for (size_t i = 0; i < m->n_parameters; i++) {
                const Parameter *p = m->parameters + i;
                struct json_object *v;

                switch (p->type) {
                case PARAMETER_INT:
                        v = json_object_new_int64(p->i);
                        break;
                case PARAMETER_DOUBLE:
                        v = json_object_new_double(p->d);
                        break;
                case PARAMETER_BOOL:
                        v = json_object_new_boolean(p->b);
                        break;
                default:
                        v = json_object_new_string(p->s);
                        break;
                }
                if (json_object_add_owned(o, p->key, v) < 0)
                        return NULL;
        }
        return TAKE_PTR(o);
}

int config_describe_task_type_json(const Config *c, const TaskType *t, char **ret) {
        _cleanup_(json_object_putp) struct json_object *top = NULL;
        struct json_object *tiers;
        const char *text;
        int k;

        top = json_object_new_object();
        tiers = json_object_new_object();
        if (!top || !tiers) {
                json_object_put(tiers);
                return -ENOMEM;
        }
        k = json_object_add_owned(top, "task_type", json_object_new_string(t->name));
        if (k >= 0)
                k = json_object_add_owned(top, "available_tiers", tiers);
        else
                json_object_put(tiers);
        if (k < 0)
                return k;

        FOREACH_TIER(tier) {
                const Mapping *m = t->tiers + tier;
                struct json_object *o;

                if (!mapping_is_set(m) || !c->tiers[tier].enabled)
                        continue;

                o = json_object_new_object();
                k = json_object_add_owned(tiers, tier_to_string(tier), o);
                if (k >= 0)
                        k = json_object_add_owned(o, "workflow_path",
                                                  json_object_new_string(m->workflow_path));
                if (k >= 0 && m->description)
                        k = json_object_add_owned(o, "description", json_object_new_string(m->description));
                else if (k >= 0 && json_object_object_add(o, "description", NULL) < 0)
                        k = -ENOMEM;
                if (k >= 0)
                        k = json_object_add_owned(o, "parameters", parameters_to_json(m));
                if (k < 0)
                        return k;
        }

        text = json_object_to_json_string_ext(top, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!text)
                return -ENOMEM;
        *ret = strdup(text);
        return *ret ? 0 : -ENOMEM;
}
