/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The daemon's D-Bus object: the vtable it serves, and what its replies are limited to. */
#pragma once

#include <systemd/sd-bus.h>

#include "quality-def.h"

/* How many problems an InvalidConfig error names; the journal gets all of them. */
#define INVALID_CONFIG_PROBLEMS_MAX 5U

extern const sd_bus_vtable manager_vtable[];
