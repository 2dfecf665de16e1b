/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Small helpers around json-c: scope-bound release of objects. */
#pragma once

#include <errno.h>
#include <json-c/json.h>

static inline void json_object_putp(struct json_object **o) {
        if (*o)
                json_object_put(*o);
}

/* Adds value under key, taking ownership of value whatever happens; a NULL value (a failed allocation by
 * the caller) is -ENOMEM. So "json_object_add_owned(o, k, json_object_new_string(s))" needs no cleanup. */
static inline int json_object_add_owned(struct json_object *o, const char *key, struct json_object *value) {
        if (!value)
                return -ENOMEM;
        if (json_object_object_add(o, key, value) < 0) {
                json_object_put(value);
                return -ENOMEM;
        }
        return 0;
}
