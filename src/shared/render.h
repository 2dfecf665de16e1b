/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Render: a tier's parameters written into its ComfyUI workflow, ready for ComfyUI's POST /prompt. */
#pragma once

#include "config.h"
#include "workflow-check.h"

struct json_object;

/* Writes the mapping's parameters into every node they apply to, in place: KSampler nodes get steps,
 * cfg (from cfg_scale), sampler_name, scheduler, denoise and seed; KSamplerAdvanced nodes the same but
 * noise_seed for seed and no denoise; EmptyLatentImage nodes width, height and batch_size. Inputs the
 * mapping does not set keep the workflow's values. */
int render_apply_parameters(struct json_object *workflow, const Mapping *m);

/* Loads the mapping's workflow beneath the checker's root, applies the parameters and returns
 * {"prompt": WORKFLOW} as text. -ENOENT: the workflow is missing; -EBADMSG: it fails its checks. */
int render_prompt(WorkflowChecker *checker, const Mapping *m, char **ret);
