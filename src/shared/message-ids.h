/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The journal MESSAGE_IDs of auteur-quality's events; etc/catalog/auteur-quality.catalog explains each. */
#pragma once

/* Generated once with systemd-id128 new; never change one, tools and alerts match on them. The text is
 * what MESSAGE_ID= carries and what the catalog's "-- ID" line names, so both stay byte-identical.
 *
 * Below each id, the fields its entry always carries. The catalog substitutes them (@FIELD@), and a field
 * an entry lacks would show up as its bare name in "journalctl -x", so keep the two lists in step. Fields
 * in brackets are added when they apply. */

/* A configuration was validated and swapped in (Reload, Deploy, Rollback or start-up). LOG_NOTICE.
 * QUALITY_GENERATION, QUALITY_ENVIRONMENT, QUALITY_CONFIG_PATH, [QUALITY_CONFIG_SHA256] */
#define QUALITY_MESSAGE_CONFIG_APPLIED "25ab20fd79254aeaa8d52d44f260d2ec"

/* A configuration failed validation; the active one keeps serving. LOG_ERR.
 * QUALITY_CONFIG_PATH, QUALITY_PROBLEM_CODE (the first error's), [QUALITY_GENERATION (the active one),
 * QUALITY_ENVIRONMENT, QUALITY_CONFIG_SHA256] */
#define QUALITY_MESSAGE_CONFIG_REJECTED "c2f75e9efcc449638f24fcdb16182b47"

/* A mapped workflow file vanished or became unusable. At the configured alerting severity.
 * QUALITY_TASK_TYPE, QUALITY_TIER, QUALITY_WORKFLOW_PATH, QUALITY_PROBLEM_CODE, [QUALITY_GENERATION] */
#define QUALITY_MESSAGE_WORKFLOW_MISSING "012c5469f81f41a686ed9da7fa715eec"

/* A workflow file reported missing is usable again. LOG_NOTICE.
 * QUALITY_TASK_TYPE, QUALITY_TIER, QUALITY_WORKFLOW_PATH, [QUALITY_GENERATION] */
#define QUALITY_MESSAGE_WORKFLOW_RESTORED "aa629abaf31849c389a0be492318e401"

/* An older generation was re-applied as a new generation. LOG_NOTICE.
 * QUALITY_GENERATION (the new one), QUALITY_CONFIG_PATH, [QUALITY_ENVIRONMENT, QUALITY_CONFIG_SHA256] */
#define QUALITY_MESSAGE_ROLLBACK "c0420221253543ac9fa34de729a3e886"

/* Status moved between healthy, degraded and unhealthy. LOG_WARNING when worse, LOG_NOTICE when better.
 * [QUALITY_GENERATION, QUALITY_ENVIRONMENT] (none while no configuration is active) */
#define QUALITY_MESSAGE_HEALTH_CHANGED "a9f5723eda004020ae5fb7a64379860c"

/* The file at the config path no longer matches the active generation (or matches it again). LOG_NOTICE.
 * QUALITY_CONFIG_PATH, [QUALITY_GENERATION (the active one), QUALITY_CONFIG_SHA256 (the file's; absent
 * when it is gone)] */
#define QUALITY_MESSAGE_CONFIG_CHANGED_ON_DISK "56104183a93b455fb77275347a0a0f81"

/* A caller that is not an admin called an admin method. LOG_WARNING.
 * QUALITY_CALLER_UID */
#define QUALITY_MESSAGE_UNAUTHORIZED_CALL "f2fa415552a64bad975c40ca995e1d12"

/* The daemon owns its bus name and has decided its first configuration (READY=1). LOG_INFO.
 * QUALITY_CONFIG_PATH, [QUALITY_GENERATION, QUALITY_ENVIRONMENT] */
#define QUALITY_MESSAGE_DAEMON_STARTED "de03c9b409204821b93d1e0e02fdafed"

/* The daemon is shutting down (STOPPING=1). LOG_INFO.
 * [QUALITY_GENERATION] */
#define QUALITY_MESSAGE_DAEMON_STOPPING "b6107bff2720422a9b9814237006ddb6"
