/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* auteur-qualityctl: how answers are printed: JSON, parameters, timestamps, problems. */
#include <inttypes.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "json-util.h"
#include "macro.h"
#include "qualityctl.h"
#include "time-util.h"

int json_print(struct json_object *o) {
        int flags = JSON_C_TO_STRING_NOSLASHESCAPE;
        const char *text;

        if (isatty(STDOUT_FILENO))
                flags |= JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED;
        text = json_object_to_json_string_ext(o, flags);
        if (!text)
                return -ENOMEM;
        if (puts(text) < 0 || fflush(stdout) != 0)
                return -EIO;
        return 0;
}

int json_print_text(const char *text) {
        _cleanup_(json_object_putp) struct json_object *o = NULL;

        o = json_tokener_parse(text);
        if (!o)
                return -EBADMSG;
        return json_print(o);
}

int json_add(struct json_object *o, const char *key, struct json_object *value) {
        if (!value)
                return -ENOMEM;
        if (json_object_object_add(o, key, value) < 0) {
                json_object_put(value);
                return -ENOMEM;
        }
        return 0;
}

/* ---- parameters ---- */

/* Reads one variant. Returns 1 and the value, or 0 for a type this version does not know (skipped). */
static int read_parameter_value(sd_bus_message *m, struct json_object **ret) {
        struct json_object *o = NULL;
        const char *contents;
        bool known = true;
        int k;

        k = sd_bus_message_peek_type(m, NULL, &contents);
        if (k < 0)
                return k;
        k = sd_bus_message_enter_container(m, 'v', contents);
        if (k < 0)
                return k;

        if (streq(contents, "x")) {
                int64_t x;

                k = sd_bus_message_read_basic(m, 'x', &x);
                if (k >= 0)
                        o = json_object_new_int64(x);
        } else if (streq(contents, "d")) {
                double d;

                k = sd_bus_message_read_basic(m, 'd', &d);
                if (k >= 0)
                        o = json_object_new_double(d);
        } else if (streq(contents, "b")) {
                int b;

                k = sd_bus_message_read_basic(m, 'b', &b);
                if (k >= 0)
                        o = json_object_new_boolean(b);
        } else if (streq(contents, "s")) {
                const char *str;

                k = sd_bus_message_read_basic(m, 's', &str);
                if (k >= 0)
                        o = json_object_new_string(str);
        } else {
                known = false;
                k = sd_bus_message_skip(m, contents);
        }
        if (k < 0)
                return k;
        if (known && !o)
                return -ENOMEM;

        k = sd_bus_message_exit_container(m);
        if (k < 0) {
                json_object_put(o);
                return k;
        }

        *ret = o;
        return !!o;
}

int bus_read_parameters(sd_bus_message *m, struct json_object **ret) {
        _cleanup_(json_object_putp) struct json_object *o = json_object_new_object();
        int k;

        if (!o)
                return -ENOMEM;

        k = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (k < 0)
                return k;
        while ((k = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                struct json_object *value = NULL;
                const char *key;

                k = sd_bus_message_read_basic(m, 's', &key);
                if (k < 0)
                        return k;
                k = read_parameter_value(m, &value);
                if (k < 0)
                        return k;
                if (k > 0) {
                        k = json_add(o, key, value);
                        if (k < 0)
                                return k;
                }
                k = sd_bus_message_exit_container(m);
                if (k < 0)
                        return k;
        }
        if (k < 0)
                return k;
        k = sd_bus_message_exit_container(m);
        if (k < 0)
                return k;

        *ret = TAKE_PTR(o);
        return 0;
}

int parameters_to_string(struct json_object *parameters, char **ret) {
        _cleanup_free_ char *text = NULL;
        size_t size = 0;
        bool first = true;
        FILE *f;

        f = open_memstream(&text, &size);
        if (!f)
                return -ENOMEM;
        JSON_OBJECT_FOREACH(i, parameters) {
                struct json_object *value = json_object_iter_peek_value(&i);
                const char *key = json_object_iter_peek_name(&i);

                fprintf(f, "%s%s=%s", first ? "" : " ", key,
                        json_object_is_type(value, json_type_string) ? json_object_get_string(value)
                                                                     : json_object_to_json_string(value));
                first = false;
        }
        if (fclose(f) != 0)
                return -ENOMEM;

        *ret = TAKE_PTR(text);
        return 0;
}

/* ---- timestamps ---- */

int format_timestamp(uint64_t usec, char **ret) {
        time_t sec = (time_t) (usec / USEC_PER_SEC);
        char buf[64];
        struct tm tm;

        if (usec == 0 || !localtime_r(&sec, &tm))
                return -EINVAL;
        if (strftime(buf, sizeof(buf), "%a %Y-%m-%d %H:%M:%S %Z", &tm) == 0)
                return -EINVAL;

        *ret = strdup(buf);
        return *ret ? 0 : -ENOMEM;
}

int format_timestamp_iso8601(uint64_t usec, char **ret) {
        time_t sec = (time_t) (usec / USEC_PER_SEC);
        char buf[64];
        struct tm tm;

        if (!gmtime_r(&sec, &tm))
                return -EINVAL;
        if (strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
                return -EINVAL;

        return asprintf(ret, "%s.%06" PRIu64 "Z", buf, usec % USEC_PER_SEC) < 0 ? -ENOMEM : 0;
}

int format_timestamp_relative(uint64_t usec, char **ret) {
        static const struct {
                const char *suffix;
                uint64_t usec;
        } units[] = {
                { "d", 24 * 60 * 60 * USEC_PER_SEC },
                { "h", 60 * 60 * USEC_PER_SEC },
                { "min", 60 * USEC_PER_SEC },
                { "s", USEC_PER_SEC },
        };
        uint64_t n = now(CLOCK_REALTIME), d;

        if (usec > n)
                return (*ret = strdup("in the future")) ? 0 : -ENOMEM;
        d = n - usec;
        if (d < USEC_PER_SEC)
                return (*ret = strdup("just now")) ? 0 : -ENOMEM;

        /* The two largest units that fit, as systemctl shows them: "3min 12s ago". */
        for (size_t i = 0; i < ELEMENTSOF(units); i++) {
                uint64_t a = d / units[i].usec, b = 0;
                int k;

                if (a == 0)
                        continue;
                if (i + 1 < ELEMENTSOF(units))
                        b = (d % units[i].usec) / units[i + 1].usec;
                if (b > 0)
                        k = asprintf(ret, "%" PRIu64 "%s %" PRIu64 "%s ago", a, units[i].suffix, b,
                                     units[i + 1].suffix);
                else
                        k = asprintf(ret, "%" PRIu64 "%s ago", a, units[i].suffix);
                return k < 0 ? -ENOMEM : 0;
        }
        return -EINVAL; /* not reached: d >= 1 s */
}

/* ---- problems ---- */

int problems_to_json(const Problems *problems, struct json_object **ret) {
        _cleanup_(json_object_putp) struct json_object *a = json_object_new_array();

        if (!a)
                return -ENOMEM;

        for (size_t i = 0; i < problems->n_items; i++) {
                const Problem *p = problems->items + i;
                struct json_object *o = json_object_new_object();
                int k;

                if (!o || json_object_array_add(a, o) < 0) {
                        json_object_put(o);
                        return -ENOMEM;
                }
                k = json_add(o, "severity", json_object_new_string(severity_to_string(p->severity)));
                if (k >= 0)
                        k = json_add(o, "code", json_object_new_string(problem_code_to_string(p->code)));
                if (k >= 0)
                        k = json_add(o, "file", json_object_new_string(problems->file));
                if (k >= 0)
                        k = json_add(o, "line", json_object_new_int64(p->line));
                if (k >= 0)
                        k = json_add(o, "column", json_object_new_int64(p->column));
                if (k >= 0)
                        k = json_add(o, "message", json_object_new_string(p->message));
                if (k < 0)
                        return k;
        }

        *ret = TAKE_PTR(a);
        return 0;
}
