/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The names of the daemon's D-Bus interface: errors, and the vtable the object serves. */
#pragma once

#include <systemd/sd-bus.h>

#define QUALITY_ERROR_INVALID_CONFIG "org.auteur.QualityTier.Error.InvalidConfig"
#define QUALITY_ERROR_NO_SUCH_TASK_TYPE "org.auteur.QualityTier.Error.NoSuchTaskType"
#define QUALITY_ERROR_NO_SUCH_TIER "org.auteur.QualityTier.Error.NoSuchTier"
#define QUALITY_ERROR_TIER_DISABLED "org.auteur.QualityTier.Error.TierDisabled"
#define QUALITY_ERROR_NO_SUCH_GENERATION "org.auteur.QualityTier.Error.NoSuchGeneration"
#define QUALITY_ERROR_NOT_READY "org.auteur.QualityTier.Error.NotReady"

/* How many problems an InvalidConfig error names; the journal gets all of them. */
#define INVALID_CONFIG_PROBLEMS_MAX 5U

extern const sd_bus_vtable manager_vtable[];
