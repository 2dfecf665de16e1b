/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A thin layer over libyaml's event parser: positions, limits, forbidden features, node iteration. */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <yaml.h>

#include "config.h"
#include "problem.h"
#include "yaml-scalar.h"

/* The reader reports, wherever they occur (even inside nodes a caller skips): anchors and aliases
 * (alias-forbidden), tags outside the core schema (tag-forbidden), nesting deeper than CONFIG_DEPTH_MAX
 * (too-deep, fatal) and syntax errors (yaml-syntax, fatal). Fatal problems make every function return
 * -EINVAL; -ENOMEM is fatal too. */
typedef struct YamlReader {
        yaml_parser_t parser;
        yaml_event_t event; /* the current event, valid when have_event */
        bool have_event;
        unsigned depth;
        Problems *problems;
} YamlReader;

int yaml_reader_init(YamlReader *r, const char *text, size_t size, Problems *problems);
void yaml_reader_done(YamlReader *r);

/* Moves to the next event. */
int yaml_reader_next(YamlReader *r);
/* The current event starts a node: consumes the whole node, leaving its last event current. */
int yaml_reader_skip(YamlReader *r);

static inline yaml_event_type_t yaml_reader_type(const YamlReader *r) {
        return r->event.type;
}

static inline Position yaml_reader_position(const YamlReader *r) {
        return (Position){
                .line = (unsigned) r->event.start_mark.line + 1,
                .column = (unsigned) r->event.start_mark.column + 1,
        };
}

int yaml_reader_problem(YamlReader *r, Severity severity, ProblemCode code, Position p, const char *format,
                        ...) _printf_(5, 6);

/* The current event is a scalar: its text, and its value by the core schema (tags honoured). */
const char *yaml_reader_scalar(const YamlReader *r, size_t *ret_size);
ScalarValue yaml_reader_resolve(const YamlReader *r);
/* An escaped "\0" in a quoted scalar: the text holds a NUL that C strings would cut at. */
bool yaml_reader_scalar_has_nul(const YamlReader *r) _pure_;
/* "a mapping", "a sequence", "an integer", "a string", ... for messages about the current node. */
const char *yaml_reader_describe(const YamlReader *r);

/* Called with the value of a key current; must consume the value node. key is NUL-terminated. */
typedef int (*YamlKeyFunc)(YamlReader *r, const char *key, size_t key_size, Position key_position,
                           void *userdata);
/* Called with an item current; must consume the item node. */
typedef int (*YamlItemFunc)(YamlReader *r, size_t index, void *userdata);

/* The current node should be a mapping named what (for messages): calls f for each key. A node of
 * another kind is reported as bad-type and skipped. Non-scalar keys and merge keys are reported and
 * skipped. Returns 1 if the node was a mapping, 0 if not, negative on fatal problems. */
int yaml_reader_mapping(YamlReader *r, const char *what, YamlKeyFunc f, void *userdata);
/* The same for a sequence. */
int yaml_reader_sequence(YamlReader *r, const char *what, YamlItemFunc f, void *userdata);
