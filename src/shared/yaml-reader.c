/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A thin layer over libyaml's event parser: positions, limits, forbidden features, node iteration. */
#include <string.h>

#include "quality-def.h"
#include "yaml-reader.h"

#define CORE_TAG_PREFIX "tag:yaml.org,2002:"
#define KEY_BUFFER_SIZE 128U

int yaml_reader_init(YamlReader *r, const char *text, size_t size, Problems *problems) {
        *r = (YamlReader){ .problems = problems };

        if (!yaml_parser_initialize(&r->parser))
                return -ENOMEM;
        yaml_parser_set_encoding(&r->parser, YAML_UTF8_ENCODING);
        yaml_parser_set_input_string(&r->parser, (const unsigned char *) text, size);
        return 0;
}

void yaml_reader_done(YamlReader *r) {
        if (r->have_event)
                yaml_event_delete(&r->event);
        yaml_parser_delete(&r->parser);
        r->have_event = false;
}

int yaml_reader_problem(YamlReader *r, Severity severity, ProblemCode code, Position p, const char *format,
                        ...) {
        va_list ap;
        int k;

        va_start(ap, format);
        k = problems_addv(r->problems, severity, code, p.line, p.column, format, ap);
        va_end(ap);
        return k;
}

static int reader_syntax_error(YamlReader *r) {
        const yaml_parser_t *p = &r->parser;
        int k;

        if (p->error == YAML_MEMORY_ERROR)
                return -ENOMEM;

        k = problems_add(r->problems, SEVERITY_ERROR, PROBLEM_YAML_SYNTAX,
                         (unsigned) p->problem_mark.line + 1, (unsigned) p->problem_mark.column + 1,
                         "YAML syntax error: %s%s%s.", p->problem ? p->problem : "unknown error",
                         p->context ? " " : "", p->context ? p->context : "");
        return k < 0 ? k : -EINVAL;
}

/* Core schema tags are fine where they fit the node; anything else is not allowed. */
static bool tag_allowed(const char *tag, yaml_event_type_t type) {
        static const char *const scalar_tags[] = { "str", "int", "float", "bool", "null", NULL };
        const char *suffix;

        if (!tag || streq(tag, "!"))
                return true;
        if (!strneq(tag, CORE_TAG_PREFIX, strlen(CORE_TAG_PREFIX)))
                return false;

        suffix = tag + strlen(CORE_TAG_PREFIX);
        switch (type) {
        case YAML_MAPPING_START_EVENT:
                return streq(suffix, "map");
        case YAML_SEQUENCE_START_EVENT:
                return streq(suffix, "seq");
        default:
                for (const char *const *t = scalar_tags; *t; t++)
                        if (streq(suffix, *t))
                                return true;
                return false;
        }
}

static int reader_check_node(YamlReader *r, const yaml_char_t *anchor, const yaml_char_t *tag) {
        Position p = yaml_reader_position(r);
        int k;

        if (anchor) {
                k = yaml_reader_problem(r, SEVERITY_ERROR, PROBLEM_ALIAS_FORBIDDEN, p,
                                        "Anchor '&%s' is not allowed; write the value out in full.", anchor);
                if (k < 0)
                        return k;
        }
        if (!tag_allowed((const char *) tag, r->event.type)) {
                k = yaml_reader_problem(r, SEVERITY_ERROR, PROBLEM_TAG_FORBIDDEN, p,
                                        "Tag '%s' is not allowed; only the YAML core schema is understood.",
                                        tag);
                if (k < 0)
                        return k;
        }
        return 0;
}

int yaml_reader_next(YamlReader *r) {
        yaml_event_t *e = &r->event;
        int k;

        if (r->have_event) {
                yaml_event_delete(e);
                r->have_event = false;
        }

        if (!yaml_parser_parse(&r->parser, e))
                return reader_syntax_error(r);
        r->have_event = true;

        switch (e->type) {
        case YAML_MAPPING_START_EVENT:
        case YAML_SEQUENCE_START_EVENT:
                if (++r->depth > CONFIG_DEPTH_MAX) {
                        k = yaml_reader_problem(r, SEVERITY_ERROR, PROBLEM_TOO_DEEP, yaml_reader_position(r),
                                                "Nesting is deeper than %u levels.", CONFIG_DEPTH_MAX);
                        return k < 0 ? k : -EINVAL;
                }
                if (e->type == YAML_MAPPING_START_EVENT)
                        return reader_check_node(r, e->data.mapping_start.anchor, e->data.mapping_start.tag);
                return reader_check_node(r, e->data.sequence_start.anchor, e->data.sequence_start.tag);

        case YAML_MAPPING_END_EVENT:
        case YAML_SEQUENCE_END_EVENT:
                r->depth--;
                return 0;

        case YAML_SCALAR_EVENT:
                return reader_check_node(r, e->data.scalar.anchor, e->data.scalar.tag);

        case YAML_ALIAS_EVENT:
                k = yaml_reader_problem(r, SEVERITY_ERROR, PROBLEM_ALIAS_FORBIDDEN, yaml_reader_position(r),
                                        "Alias '*%s' is not allowed; write the value out in full.",
                                        e->data.alias.anchor);
                return k < 0 ? k : 0;

        default:
                return 0;
        }
}

int yaml_reader_skip(YamlReader *r) {
        unsigned depth = r->depth;
        int k;

        if (r->event.type != YAML_MAPPING_START_EVENT && r->event.type != YAML_SEQUENCE_START_EVENT)
                return 0;

        do {
                k = yaml_reader_next(r);
                if (k < 0)
                        return k;
        } while (r->depth >= depth);

        return 0;
}

const char *yaml_reader_scalar(const YamlReader *r, size_t *ret_size) {
        if (ret_size)
                *ret_size = r->event.data.scalar.length;
        return (const char *) r->event.data.scalar.value;
}

bool yaml_reader_scalar_has_nul(const YamlReader *r) {
        return memchr(r->event.data.scalar.value, 0, r->event.data.scalar.length) != NULL;
}

ScalarValue yaml_reader_resolve(const YamlReader *r) {
        const yaml_event_t *e = &r->event;
        const char *tag = (const char *) e->data.scalar.tag;
        bool plain = e->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;

        /* An explicit core tag other than !!str asks for resolution whatever the quoting. */
        if (tag && strneq(tag, CORE_TAG_PREFIX, strlen(CORE_TAG_PREFIX)))
                plain = !streq(tag + strlen(CORE_TAG_PREFIX), "str");
        else if (tag)
                plain = false;

        return yaml_scalar_resolve((const char *) e->data.scalar.value, e->data.scalar.length, plain);
}

const char *yaml_reader_describe(const YamlReader *r) {
        switch (r->event.type) {
        case YAML_MAPPING_START_EVENT:
                return "a mapping";
        case YAML_SEQUENCE_START_EVENT:
                return "a sequence";
        case YAML_ALIAS_EVENT:
                return "an alias";
        case YAML_SCALAR_EVENT:
                switch (yaml_reader_resolve(r).kind) {
                case SCALAR_NULL:
                        return "null";
                case SCALAR_BOOL:
                        return "a boolean";
                case SCALAR_INT:
                case SCALAR_INT_OVERFLOW:
                        return "an integer";
                case SCALAR_FLOAT:
                        return "a number";
                default:
                        return "a string";
                }
        default:
                return "nothing";
        }
}

/* Reports a node of the wrong kind and skips it. */
static int reader_wrong_kind(YamlReader *r, const char *what, const char *expected) {
        int k;

        k = yaml_reader_problem(r, SEVERITY_ERROR, PROBLEM_BAD_TYPE, yaml_reader_position(r),
                                "'%s' must be %s, not %s.", what, expected, yaml_reader_describe(r));
        if (k < 0)
                return k;
        return yaml_reader_skip(r);
}

static int reader_key(YamlReader *r, YamlKeyFunc f, void *userdata, const char *what) {
        Position p = yaml_reader_position(r);
        _cleanup_free_ char *heap = NULL;
        char small[KEY_BUFFER_SIZE];
        const char *text;
        char *key = small;
        size_t n;
        int k;

        if (r->event.type != YAML_SCALAR_EVENT) {
                /* An alias was reported already by yaml_reader_next(). */
                if (r->event.type != YAML_ALIAS_EVENT) {
                        k = yaml_reader_problem(r, SEVERITY_ERROR, PROBLEM_BAD_TYPE, p,
                                                "Keys of '%s' must be scalars, not %s.", what,
                                                yaml_reader_describe(r));
                        if (k < 0)
                                return k;
                }
                k = yaml_reader_skip(r);
                if (k < 0)
                        return k;
                k = yaml_reader_next(r);
                if (k < 0)
                        return k;
                return yaml_reader_skip(r);
        }

        text = yaml_reader_scalar(r, &n);
        if (r->event.data.scalar.style == YAML_PLAIN_SCALAR_STYLE && n == 2 && memcmp(text, "<<", 2) == 0) {
                k = yaml_reader_problem(r, SEVERITY_ERROR, PROBLEM_ALIAS_FORBIDDEN, p,
                                        "Merge keys ('<<') are not allowed; write the keys out in full.");
                if (k < 0)
                        return k;
                k = yaml_reader_next(r);
                if (k < 0)
                        return k;
                return yaml_reader_skip(r);
        }

        if (yaml_reader_scalar_has_nul(r)) {
                k = yaml_reader_problem(r, SEVERITY_ERROR, PROBLEM_UNKNOWN_KEY, p,
                                        "Key '%.*s...' in '%s' contains a NUL character.",
                                        (int) MIN(n, (size_t) 64), text, what);
                if (k < 0)
                        return k;
                k = yaml_reader_next(r);
                if (k < 0)
                        return k;
                return yaml_reader_skip(r);
        }

        /* The key's event is gone once the value is read: keep a copy. */
        if (n >= sizeof(small)) {
                heap = malloc(n + 1);
                if (!heap)
                        return -ENOMEM;
                key = heap;
        }
        memcpy(key, text, n);
        key[n] = 0;

        k = yaml_reader_next(r);
        if (k < 0)
                return k;
        return f(r, key, n, p, userdata);
}

int yaml_reader_mapping(YamlReader *r, const char *what, YamlKeyFunc f, void *userdata) {
        int k;

        if (r->event.type != YAML_MAPPING_START_EVENT) {
                k = reader_wrong_kind(r, what, "a mapping");
                return k < 0 ? k : 0;
        }

        for (;;) {
                k = yaml_reader_next(r);
                if (k < 0)
                        return k;
                if (r->event.type == YAML_MAPPING_END_EVENT)
                        return 1;

                k = reader_key(r, f, userdata, what);
                if (k < 0)
                        return k;
        }
}

int yaml_reader_sequence(YamlReader *r, const char *what, YamlItemFunc f, void *userdata) {
        int k;

        if (r->event.type != YAML_SEQUENCE_START_EVENT) {
                k = reader_wrong_kind(r, what, "a sequence");
                return k < 0 ? k : 0;
        }

        for (size_t i = 0;; i++) {
                k = yaml_reader_next(r);
                if (k < 0)
                        return k;
                if (r->event.type == YAML_SEQUENCE_END_EVENT)
                        return 1;

                k = f(r, i, userdata);
                if (k < 0)
                        return k;
        }
}
