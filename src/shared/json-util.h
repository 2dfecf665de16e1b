/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Small helpers around json-c: scope-bound release of objects. */
#pragma once

#include <json-c/json.h>

static inline void json_object_putp(struct json_object **o) {
        if (*o)
                json_object_put(*o);
}
