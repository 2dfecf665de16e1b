/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Problems found in a configuration: stable codes, positions, and their text and JSON forms. */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "macro.h"

typedef enum Severity {
        SEVERITY_ERROR,
        SEVERITY_WARNING,
        _SEVERITY_MAX,
} Severity;

/* The stable kebab-case codes of auteur-quality.yaml(5). Append only; never renumber. */
typedef enum ProblemCode {
        PROBLEM_YAML_SYNTAX,
        PROBLEM_UNKNOWN_KEY,
        PROBLEM_DUPLICATE_KEY,
        PROBLEM_ALIAS_FORBIDDEN,
        PROBLEM_TAG_FORBIDDEN,
        PROBLEM_BAD_TYPE,
        PROBLEM_BAD_VALUE,
        PROBLEM_OUT_OF_RANGE,
        PROBLEM_MISSING_KEY,
        PROBLEM_EMPTY_CONFIG,
        PROBLEM_TOO_LARGE,
        PROBLEM_TOO_DEEP,
        PROBLEM_NOT_UTF8,
        PROBLEM_BAD_TASK_TYPE,
        PROBLEM_UNKNOWN_TIER,
        PROBLEM_TIER_DISABLED,
        PROBLEM_TIER_UNMAPPED,
        PROBLEM_UNKNOWN_PARAMETER,
        PROBLEM_BAD_WORKFLOW_PATH,
        PROBLEM_ROOT_PATH_MISMATCH,
        PROBLEM_WORKFLOWS_ROOT_MISSING,
        PROBLEM_WORKFLOW_MISSING,
        PROBLEM_WORKFLOW_ESCAPES_ROOT,
        PROBLEM_WORKFLOW_NOT_REGULAR,
        PROBLEM_WORKFLOW_UNREADABLE,
        PROBLEM_WORKFLOW_TOO_LARGE,
        PROBLEM_WORKFLOW_INVALID_JSON,
        PROBLEM_WORKFLOW_NOT_API_FORMAT,
        PROBLEM_WORKFLOW_UI_FORMAT,
        PROBLEM_WORKFLOW_DANGLING_LINK,
        PROBLEM_PARAMETERS_NOT_APPLICABLE,
        PROBLEM_CONFIG_UNREADABLE,
        _PROBLEM_CODE_MAX,
        _PROBLEM_CODE_INVALID = -EINVAL,
} ProblemCode;

typedef struct Problem {
        Severity severity;
        ProblemCode code;
        unsigned line;   /* 1-based; 0 when the problem has no position */
        unsigned column; /* 1-based; 0 when the problem has no position */
        char *message;
} Problem;

/* An ordered list of problems of one file. Positions are 1-based; the list is kept in file order. */
typedef struct Problems {
        char *file; /* the name problems are reported under */
        Problem *items;
        size_t n_items;
        size_t allocated;
        size_t n_errors;   /* counted even past PROBLEMS_MAX */
        size_t n_warnings; /* counted even past PROBLEMS_MAX */
        size_t n_kept_warnings;
        bool truncated; /* more problems were found than kept; errors are kept before warnings */
} Problems;

const char *severity_to_string(Severity s) _const_;
const char *problem_code_to_string(ProblemCode c) _const_;
ProblemCode problem_code_from_string(const char *s) _pure_;

int problems_init(Problems *p, const char *file);
void problems_done(Problems *p);

/* Records a problem. Fails only with -ENOMEM; past PROBLEMS_MAX the problem is counted, not kept. */
int problems_add(Problems *p, Severity severity, ProblemCode code, unsigned line, unsigned column,
                 const char *format, ...) _printf_(6, 7);
int problems_addv(Problems *p, Severity severity, ProblemCode code, unsigned line, unsigned column,
                  const char *format, va_list ap) _printf_(6, 0);

/* Stable sort by line, then column, so problems read in file order whatever pass found them. */
void problems_sort(Problems *p);

static inline bool problems_has_errors(const Problems *p) {
        return p->n_errors > 0;
}

/* "FILE:LINE:COLUMN: error[CODE]: MESSAGE", one line each. */
int problems_write_text(const Problems *p, FILE *f);
/* A JSON array of {"severity","code","file","line","column","message"}. */
int problems_write_json(const Problems *p, FILE *f);
