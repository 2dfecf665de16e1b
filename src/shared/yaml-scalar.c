/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Resolution of plain YAML scalars by the YAML 1.2 core schema. */
#include <math.h>
#include <string.h>

#include "yaml-scalar.h"

static bool text_is_one_of(const char *s, size_t n, const char *const *words) {
        for (; *words; words++)
                if (strlen(*words) == n && memcmp(s, *words, n) == 0)
                        return true;
        return false;
}

static bool is_digit(char c) {
        return c >= '0' && c <= '9';
}

static int hex_value(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

/* Accumulates digits of the given base into a magnitude; false on overflow past UINT64_MAX. */
static bool parse_magnitude(const char *s, size_t n, unsigned base, uint64_t *ret) {
        uint64_t v = 0;

        for (size_t i = 0; i < n; i++) {
                int d = hex_value(s[i]);

                if (d < 0 || (unsigned) d >= base)
                        return false;
                if (v > (UINT64_MAX - (unsigned) d) / base)
                        return false;
                v = v * base + (unsigned) d;
        }
        *ret = v;
        return true;
}

static bool all_digits(const char *s, size_t n, unsigned base) {
        if (n == 0)
                return false;
        for (size_t i = 0; i < n; i++) {
                int d = hex_value(s[i]);
                if (d < 0 || (unsigned) d >= base)
                        return false;
        }
        return true;
}

static bool resolve_int(const char *s, size_t n, ScalarValue *ret) {
        bool negative = false;
        unsigned base = 10;
        uint64_t magnitude;

        if (n > 2 && s[0] == '0' && (s[1] == 'o' || s[1] == 'x')) {
                base = s[1] == 'o' ? 8 : 16;
                s += 2;
                n -= 2;
        } else if (n > 0 && (s[0] == '-' || s[0] == '+')) {
                negative = s[0] == '-';
                s++;
                n--;
        }

        if (!all_digits(s, n, base))
                return false;

        if (!parse_magnitude(s, n, base, &magnitude) ||
            magnitude > (negative ? (uint64_t) INT64_MAX + 1 : (uint64_t) INT64_MAX)) {
                *ret = (ScalarValue){ .kind = SCALAR_INT_OVERFLOW };
                return true;
        }

        *ret = (ScalarValue){
                .kind = SCALAR_INT,
                .i = negative ? (int64_t) (0 - magnitude) : (int64_t) magnitude,
        };
        return true;
}

/* [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )? */
static bool is_core_float(const char *s, size_t n) {
        size_t i = 0, digits = 0;

        if (i < n && (s[i] == '-' || s[i] == '+'))
                i++;
        while (i < n && is_digit(s[i]))
                i++, digits++;
        if (i < n && s[i] == '.') {
                i++;
                while (i < n && is_digit(s[i]))
                        i++, digits++;
        }
        if (digits == 0)
                return false;
        if (i < n && (s[i] == 'e' || s[i] == 'E')) {
                size_t exponent_digits = 0;

                i++;
                if (i < n && (s[i] == '-' || s[i] == '+'))
                        i++;
                while (i < n && is_digit(s[i]))
                        i++, exponent_digits++;
                if (exponent_digits == 0)
                        return false;
        }
        return i == n;
}

static bool resolve_float(const char *s, size_t n, ScalarValue *ret) {
        static const char *const infinities[] = { ".inf", ".Inf", ".INF", NULL };
        static const char *const nans[] = { ".nan", ".NaN", ".NAN", NULL };
        char buf[64];

        if (text_is_one_of(s, n, nans)) {
                *ret = (ScalarValue){ .kind = SCALAR_FLOAT, .d = NAN };
                return true;
        }
        if (n > 0 && (s[0] == '-' || s[0] == '+') && text_is_one_of(s + 1, n - 1, infinities)) {
                *ret = (ScalarValue){ .kind = SCALAR_FLOAT, .d = s[0] == '-' ? -INFINITY : INFINITY };
                return true;
        }
        if (text_is_one_of(s, n, infinities)) {
                *ret = (ScalarValue){ .kind = SCALAR_FLOAT, .d = INFINITY };
                return true;
        }

        if (!is_core_float(s, n))
                return false;

        /* strtod() needs a terminated copy; most numbers fit on the stack. */
        if (n < sizeof(buf)) {
                memcpy(buf, s, n);
                buf[n] = 0;
                *ret = (ScalarValue){ .kind = SCALAR_FLOAT, .d = strtod(buf, NULL) };
        } else {
                _cleanup_free_ char *copy = strndup(s, n);

                if (!copy)
                        return false;
                *ret = (ScalarValue){ .kind = SCALAR_FLOAT, .d = strtod(copy, NULL) };
        }
        return true;
}

ScalarValue yaml_scalar_resolve(const char *s, size_t n, bool plain) {
        static const char *const nulls[] = { "~", "null", "Null", "NULL", NULL };
        static const char *const trues[] = { "true", "True", "TRUE", NULL };
        static const char *const falses[] = { "false", "False", "FALSE", NULL };
        ScalarValue v;

        if (!plain)
                return (ScalarValue){ .kind = SCALAR_STRING };

        if (n == 0 || text_is_one_of(s, n, nulls))
                return (ScalarValue){ .kind = SCALAR_NULL };
        if (text_is_one_of(s, n, trues))
                return (ScalarValue){ .kind = SCALAR_BOOL, .b = true };
        if (text_is_one_of(s, n, falses))
                return (ScalarValue){ .kind = SCALAR_BOOL, .b = false };
        if (resolve_int(s, n, &v))
                return v;
        if (resolve_float(s, n, &v))
                return v;

        return (ScalarValue){ .kind = SCALAR_STRING };
}

const char *scalar_kind_to_string(ScalarKind k) {
        static const char *const table[_SCALAR_KIND_MAX] = {
                [SCALAR_NULL] = "null",    [SCALAR_BOOL] = "boolean",
                [SCALAR_INT] = "integer",  [SCALAR_INT_OVERFLOW] = "integer",
                [SCALAR_FLOAT] = "number", [SCALAR_STRING] = "string",
        };

        if (k < 0 || k >= _SCALAR_KIND_MAX)
                return NULL;
        return table[k];
}
