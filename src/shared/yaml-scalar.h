/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Resolution of plain YAML scalars by the YAML 1.2 core schema. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

typedef enum ScalarKind {
        SCALAR_NULL,
        SCALAR_BOOL,
        SCALAR_INT,
        SCALAR_INT_OVERFLOW, /* an integer by its form, but beyond 64 bits */
        SCALAR_FLOAT,
        SCALAR_STRING,
        _SCALAR_KIND_MAX,
} ScalarKind;

typedef struct ScalarValue {
        ScalarKind kind;
        union {
                bool b;
                int64_t i;
                double d;
        };
} ScalarValue;

/* Resolves the text of a scalar. A quoted (non-plain) scalar is always a string. */
ScalarValue yaml_scalar_resolve(const char *s, size_t n, bool plain);
const char *scalar_kind_to_string(ScalarKind k) _const_;
