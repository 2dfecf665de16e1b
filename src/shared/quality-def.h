/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The product's fixed names and limits, with the values SPEC.md gives them. */
#pragma once

#include <stdint.h>

#define QUALITY_BUS_NAME "org.auteur.QualityTier"
#define QUALITY_BUS_PATH "/org/auteur/QualityTier"
#define QUALITY_BUS_INTERFACE "org.auteur.QualityTier"

/* The interface's errors, org.auteur.QualityTier(5). */
#define QUALITY_ERROR_INVALID_CONFIG "org.auteur.QualityTier.Error.InvalidConfig"
#define QUALITY_ERROR_NO_SUCH_TASK_TYPE "org.auteur.QualityTier.Error.NoSuchTaskType"
#define QUALITY_ERROR_NO_SUCH_TIER "org.auteur.QualityTier.Error.NoSuchTier"
#define QUALITY_ERROR_TIER_DISABLED "org.auteur.QualityTier.Error.TierDisabled"
#define QUALITY_ERROR_NO_SUCH_GENERATION "org.auteur.QualityTier.Error.NoSuchGeneration"
#define QUALITY_ERROR_NOT_READY "org.auteur.QualityTier.Error.NotReady"

#define QUALITY_DEFAULT_CONFIG_PATH "/etc/auteur/quality_mappings.yaml"
#define QUALITY_DEFAULT_WORKFLOWS_ROOT "/opt/comfyui_workflows"
#define QUALITY_DEFAULT_ENVIRONMENTS_DIR "/etc/auteur/environments"
#define QUALITY_DEFAULT_STATE_DIR "/var/lib/auteur-quality"
#define QUALITY_FLAT_ENVIRONMENT "default"

#define QUALITY_ENV_CONFIG_PATH "QUALITY_CONFIG_PATH"
#define QUALITY_ENV_WORKFLOWS_ROOT "COMFYUI_WORKFLOWS_ROOT"
#define QUALITY_ENV_ENVIRONMENTS_DIR "QUALITY_ENVIRONMENTS_DIR"

#define WORKFLOW_FILE_NAME "workflow_api.json"

/* Configuration file limits. */
#define CONFIG_SIZE_MAX (UINT64_C(16) * 1024 * 1024)
#define CONFIG_DEPTH_MAX 64U
#define TASK_TYPE_NAME_MAX 64U
#define WORKFLOW_PATH_MAX 512U

/* Workflow file limits. */
#define WORKFLOW_SIZE_MAX (UINT64_C(8) * 1024 * 1024)
#define WORKFLOW_JSON_DEPTH_MAX 64

/* Beyond this many problems a validation stops collecting them and only counts. */
#define PROBLEMS_MAX 1000U

/* Parameter ranges. */
#define STEPS_MIN 1
#define STEPS_MAX 10000
#define CFG_SCALE_MIN 0.0
#define CFG_SCALE_MAX 100.0
#define DENOISE_MIN 0.0
#define DENOISE_MAX 1.0
#define SEED_MIN 0
#define DIMENSION_MIN 8
#define DIMENSION_MAX 16384
#define DIMENSION_MULTIPLE 8
#define BATCH_SIZE_MIN 1
#define BATCH_SIZE_MAX 64

/* Generations of applied configurations (SPEC 3, "Generations, nothing lost"). */
#define GENERATIONS_DIR_NAME "generations"
#define GENERATIONS_DIR_MODE 0755
#define GENERATION_FILE_MODE 0644
#define GENERATIONS_KEEP_DEFAULT 50U
/* Metadata is a few hundred bytes; the cap bounds what a damaged file can make start-up read. */
#define GENERATION_METADATA_SIZE_MAX (UINT64_C(64) * 1024)

/* A Deploy's origin, recorded with its generation: at most this many printable characters. */
#define DEPLOY_ORIGIN_MAX 256U
