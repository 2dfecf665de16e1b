/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The shim's resources: which path answers what, from the cache or from a call to the daemon. */
#pragma once

#include "http-connection.h"

/* Answers the connection's complete request. Returns 1 when the response is queued, 0 when it waits
 * for the daemon: the connection is resumed (connection_resume()) once its response is queued. */
int endpoint_dispatch(Connection *c);
