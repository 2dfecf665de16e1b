/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* JSON forms of the configuration model, as DescribeTaskType and the HTTP shim give them. */
#pragma once

#include "config.h"

struct json_object;

/* {"key": value, ...} with each parameter in its JSON type; NULL on allocation failure. */
struct json_object *parameters_to_json(const Mapping *m);

/* {"task_type": NAME, "available_tiers": {TIER: {"workflow_path", "description", "parameters"}}}, served
 * (enabled and mapped) tiers only, in tier order. */
int config_describe_task_type_json(const Config *c, const TaskType *t, char **ret);
