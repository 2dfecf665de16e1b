/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The configuration loader's key tables: dispatch of known keys, duplicates, suggestions, plain values. */
#include <assert.h>
#include <string.h>

#include "config-load-internal.h"
#include "suggest.h"

typedef struct KeyDispatch {
        const KeyTable *table;
        void *userdata;
        Position seen[16];
} KeyDispatch;

int load_error(YamlReader *r, ProblemCode code, Position p, const char *format, ...) {
        va_list ap;
        int k;

        va_start(ap, format);
        k = problems_addv(r->problems, SEVERITY_ERROR, code, p.line, p.column, format, ap);
        va_end(ap);
        return k;
}

int load_warning(YamlReader *r, ProblemCode code, Position p, const char *format, ...) {
        va_list ap;
        int k;

        va_start(ap, format);
        k = problems_addv(r->problems, SEVERITY_WARNING, code, p.line, p.column, format, ap);
        va_end(ap);
        return k;
}

/* Reports a problem about the current value node and consumes it. */
int load_reject(YamlReader *r, ProblemCode code, const char *format, ...) {
        Position p = yaml_reader_position(r);
        va_list ap;
        int k;

        va_start(ap, format);
        k = problems_addv(r->problems, SEVERITY_ERROR, code, p.line, p.column, format, ap);
        va_end(ap);
        if (k < 0)
                return k;
        return yaml_reader_skip(r);
}

static int dispatch_key(YamlReader *r, const char *key, size_t n, Position key_position, void *userdata) {
        KeyDispatch *d = userdata;
        const KeyTable *t = d->table;
        const char *names[ELEMENTSOF(d->seen) + 1];
        const char *suggestion;
        int k;

        for (size_t i = 0; i < t->n_defs; i++) {
                if (!streq(t->defs[i].name, key))
                        continue;

                if (d->seen[i].line > 0) {
                        k = load_error(r, PROBLEM_DUPLICATE_KEY, key_position,
                                       "Duplicate key '%s' in %s; it was first given at line %u.", key,
                                       t->what, d->seen[i].line);
                        return k < 0 ? k : yaml_reader_skip(r);
                }
                d->seen[i] = key_position;
                return t->defs[i].parse(r, key_position, d->userdata);
        }

        for (size_t i = 0; i < t->n_defs; i++)
                names[i] = t->defs[i].name;
        names[t->n_defs] = NULL;

        suggestion = suggest_closest(key, n, names);
        if (suggestion)
                k = load_error(r, PROBLEM_UNKNOWN_KEY, key_position,
                               "Unknown key '%.*s%s' in %s, did you mean '%s'?", SHOWN_NAME(key, n), t->what,
                               suggestion);
        else
                k = load_error(r, PROBLEM_UNKNOWN_KEY, key_position, "Unknown key '%.*s%s' in %s.",
                               SHOWN_NAME(key, n), t->what);
        return k < 0 ? k : yaml_reader_skip(r);
}

/* Parses the current node as a mapping with the keys of table; seen[i] tells where key i was, if given. */
int parse_keys(YamlReader *r, const KeyTable *table, void *userdata, Position *ret_seen) {
        KeyDispatch d = { .table = table, .userdata = userdata };
        int k;

        assert(table->n_defs <= ELEMENTSOF(d.seen));
        k = yaml_reader_mapping(r, table->what, dispatch_key, &d);
        if (k >= 0 && ret_seen)
                memcpy(ret_seen, d.seen, sizeof(Position) * table->n_defs);
        return k;
}

/* Reads the current node as a string: any scalar but null; numbers and booleans keep their text.
 * Returns 1 and the string, 0 when the node was reported and skipped. */
int read_string(YamlReader *r, const char *what, const char **ret) {
        Loader *l = loader_of(r);
        const char *text;
        size_t n;
        char *s;

        if (r->event.type != YAML_SCALAR_EVENT || yaml_reader_resolve(r).kind == SCALAR_NULL) {
                int k = load_reject(r, PROBLEM_BAD_TYPE, "'%s' must be a string, not %s.", what,
                                    yaml_reader_describe(r));
                return k < 0 ? k : 0;
        }

        if (yaml_reader_scalar_has_nul(r)) {
                int k = load_reject(r, PROBLEM_BAD_VALUE, "'%s' contains a NUL character.", what);
                return k < 0 ? k : 0;
        }

        text = yaml_reader_scalar(r, &n);
        s = arena_strndup(l->arena, text, n);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 1;
}

int read_bool(YamlReader *r, const char *what, bool *ret) {
        ScalarValue v;

        if (r->event.type == YAML_SCALAR_EVENT) {
                v = yaml_reader_resolve(r);
                if (v.kind == SCALAR_BOOL) {
                        *ret = v.b;
                        return 1;
                }
        }

        int k = load_reject(r, PROBLEM_BAD_TYPE, "'%s' must be true or false, not %s.", what,
                            yaml_reader_describe(r));
        return k < 0 ? k : 0;
}

int position_compare(Position a, Position b) {
        if (a.line != b.line)
                return a.line < b.line ? -1 : 1;
        if (a.column != b.column)
                return a.column < b.column ? -1 : 1;
        return 0;
}
