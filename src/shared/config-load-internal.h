/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the parts of the configuration loader share: the loader's state and the key-table machinery. */
#pragma once

#include "arena.h"
#include "config.h"
#include "problem.h"
#include "yaml-reader.h"

typedef struct TaskTypeEntry {
        TaskType task_type;
        Position position;
} TaskTypeEntry;

typedef struct Loader {
        YamlReader reader;
        Problems *problems;
        Arena *arena;
        Config *config;

        bool shape_known;
        Position document_position;
        Position quality_system_position; /* line 0: not given */
        Position tiers_position;
        Position workflows_position;
        Position mappings_position;
        Position environment_position;
        bool tier_declared[_TIER_MAX];
        bool tier_declared_enabled[_TIER_MAX];
        Position tier_declared_position[_TIER_MAX];

        TaskTypeEntry *entries;
        size_t n_entries;
        size_t allocated_entries;
} Loader;

/* A name from the file as messages show it, for "%.*s%s": at most SHOWN_NAME_MAX bytes, then "...". */
#define SHOWN_NAME_MAX 64U
#define SHOWN_NAME(s, n)                                                                                    \
        (int) MIN((size_t) (n), (size_t) SHOWN_NAME_MAX), (s), (n) > SHOWN_NAME_MAX ? "..." : ""

static inline Loader *loader_of(YamlReader *r) {
        return container_of(r, Loader, reader);
}

/* Known keys of one kind of mapping. The table drives parsing, duplicate detection and suggestions. */
typedef struct KeyDef {
        const char *name;
        int (*parse)(YamlReader *r, Position key_position, void *userdata);
} KeyDef;

typedef struct KeyTable {
        const char *what; /* the mapping's name in messages */
        const KeyDef *defs;
        size_t n_defs;
} KeyTable;

/* Problems at a position; load_reject() reports the current value node and consumes it. */
int load_error(YamlReader *r, ProblemCode code, Position p, const char *format, ...) _printf_(4, 5);
int load_warning(YamlReader *r, ProblemCode code, Position p, const char *format, ...) _printf_(4, 5);
int load_reject(YamlReader *r, ProblemCode code, const char *format, ...) _printf_(3, 4);

/* Parses the current node as a mapping with the keys of table; ret_seen[i] (if not NULL) tells where
 * key i stood, line 0 if it was not given. Returns 1 if the node was a mapping, 0 if not. */
int parse_keys(YamlReader *r, const KeyTable *table, void *userdata, Position *ret_seen);

/* Read the current scalar as a string or boolean: 1 on success, 0 when reported and skipped. */
int read_string(YamlReader *r, const char *what, const char **ret);
int read_bool(YamlReader *r, const char *what, bool *ret);

int position_compare(Position a, Position b) _const_;

/* The value of workflows.mappings (or the flat shape's mappings). */
int parse_task_types(YamlReader *r, Position key_position, void *userdata);
