/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Problems found in a configuration: stable codes, positions, and their text and JSON forms. */
#include <json-c/json.h>
#include <stdarg.h>
#include <string.h>

#include "problem.h"
#include "quality-def.h"

static const char *const severity_table[_SEVERITY_MAX] = {
        [SEVERITY_ERROR] = "error",
        [SEVERITY_WARNING] = "warning",
};

static const char *const problem_code_table[_PROBLEM_CODE_MAX] = {
        [PROBLEM_YAML_SYNTAX] = "yaml-syntax",
        [PROBLEM_UNKNOWN_KEY] = "unknown-key",
        [PROBLEM_DUPLICATE_KEY] = "duplicate-key",
        [PROBLEM_ALIAS_FORBIDDEN] = "alias-forbidden",
        [PROBLEM_TAG_FORBIDDEN] = "tag-forbidden",
        [PROBLEM_BAD_TYPE] = "bad-type",
        [PROBLEM_BAD_VALUE] = "bad-value",
        [PROBLEM_OUT_OF_RANGE] = "out-of-range",
        [PROBLEM_MISSING_KEY] = "missing-key",
        [PROBLEM_EMPTY_CONFIG] = "empty-config",
        [PROBLEM_TOO_LARGE] = "too-large",
        [PROBLEM_TOO_DEEP] = "too-deep",
        [PROBLEM_NOT_UTF8] = "not-utf8",
        [PROBLEM_BAD_TASK_TYPE] = "bad-task-type",
        [PROBLEM_UNKNOWN_TIER] = "unknown-tier",
        [PROBLEM_TIER_DISABLED] = "tier-disabled",
        [PROBLEM_TIER_UNMAPPED] = "tier-unmapped",
        [PROBLEM_UNKNOWN_PARAMETER] = "unknown-parameter",
        [PROBLEM_BAD_WORKFLOW_PATH] = "bad-workflow-path",
        [PROBLEM_ROOT_PATH_MISMATCH] = "root-path-mismatch",
        [PROBLEM_WORKFLOWS_ROOT_MISSING] = "workflows-root-missing",
        [PROBLEM_WORKFLOW_MISSING] = "workflow-missing",
        [PROBLEM_WORKFLOW_ESCAPES_ROOT] = "workflow-escapes-root",
        [PROBLEM_WORKFLOW_NOT_REGULAR] = "workflow-not-regular",
        [PROBLEM_WORKFLOW_UNREADABLE] = "workflow-unreadable",
        [PROBLEM_WORKFLOW_TOO_LARGE] = "workflow-too-large",
        [PROBLEM_WORKFLOW_INVALID_JSON] = "workflow-invalid-json",
        [PROBLEM_WORKFLOW_NOT_API_FORMAT] = "workflow-not-api-format",
        [PROBLEM_WORKFLOW_UI_FORMAT] = "workflow-ui-format",
        [PROBLEM_WORKFLOW_DANGLING_LINK] = "workflow-dangling-link",
        [PROBLEM_PARAMETERS_NOT_APPLICABLE] = "parameters-not-applicable",
        [PROBLEM_CONFIG_UNREADABLE] = "config-unreadable",
};

const char *severity_to_string(Severity s) {
        if (s < 0 || s >= _SEVERITY_MAX)
                return NULL;
        return severity_table[s];
}

const char *problem_code_to_string(ProblemCode c) {
        if (c < 0 || c >= _PROBLEM_CODE_MAX)
                return NULL;
        return problem_code_table[c];
}

ProblemCode problem_code_from_string(const char *s) {
        if (!s)
                return _PROBLEM_CODE_INVALID;
        for (ProblemCode c = 0; c < _PROBLEM_CODE_MAX; c++)
                if (streq(problem_code_table[c], s))
                        return c;
        return _PROBLEM_CODE_INVALID;
}

int problems_init(Problems *p, const char *file) {
        *p = (Problems){ 0 };
        p->file = strdup(file ? file : "-");
        return p->file ? 0 : -ENOMEM;
}

void problems_done(Problems *p) {
        for (size_t i = 0; i < p->n_items; i++)
                free(p->items[i].message);
        free(p->items);
        free(p->file);
        *p = (Problems){ 0 };
}

int problems_add(Problems *p, Severity severity, ProblemCode code, unsigned line, unsigned column,
                 const char *format, ...) {
        va_list ap;
        int r;

        va_start(ap, format);
        r = problems_addv(p, severity, code, line, column, format, ap);
        va_end(ap);
        return r;
}

int problems_addv(Problems *p, Severity severity, ProblemCode code, unsigned line, unsigned column,
                  const char *format, va_list ap) {
        char *message;

        if (severity == SEVERITY_ERROR)
                p->n_errors++;
        else
                p->n_warnings++;

        if (p->n_items >= PROBLEMS_MAX) {
                p->truncated = true;
                /* Full: an error still pushes out a warning, so no kept list hides an error. */
                if (severity != SEVERITY_ERROR || p->n_kept_warnings == 0)
                        return 0;
                for (size_t i = p->n_items; i > 0; i--)
                        if (p->items[i - 1].severity == SEVERITY_WARNING) {
                                free(p->items[i - 1].message);
                                memmove(p->items + i - 1, p->items + i, (p->n_items - i) * sizeof(Problem));
                                p->n_items--;
                                p->n_kept_warnings--;
                                break;
                        }
        }

        if (p->n_items >= p->allocated) {
                size_t n = MAX(p->allocated * 2, (size_t) 16);
                Problem *items = reallocarray(p->items, n, sizeof(Problem));
                if (!items)
                        return -ENOMEM;
                p->items = items;
                p->allocated = n;
        }

        if (vasprintf(&message, format, ap) < 0)
                return -ENOMEM;

        if (severity == SEVERITY_WARNING)
                p->n_kept_warnings++;
        p->items[p->n_items++] = (Problem){
                .severity = severity,
                .code = code,
                .line = line,
                .column = column,
                .message = message,
        };
        return 0;
}

static int problem_compare(const Problem *a, const Problem *b) {
        if (a->line != b->line)
                return a->line < b->line ? -1 : 1;
        if (a->column != b->column)
                return a->column < b->column ? -1 : 1;
        return 0;
}

void problems_sort(Problems *p) {
        /* Insertion sort: stable, and the list is nearly sorted already (passes run in file order). */
        for (size_t i = 1; i < p->n_items; i++) {
                Problem x = p->items[i];
                size_t j = i;

                while (j > 0 && problem_compare(&p->items[j - 1], &x) > 0) {
                        p->items[j] = p->items[j - 1];
                        j--;
                }
                p->items[j] = x;
        }
}

int problems_write_text(const Problems *p, FILE *f) {
        for (size_t i = 0; i < p->n_items; i++) {
                const Problem *x = p->items + i;

                fprintf(f, "%s:%u:%u: %s[%s]: %s\n", p->file, x->line, x->column,
                        severity_to_string(x->severity), problem_code_to_string(x->code), x->message);
        }
        if (p->truncated)
                fprintf(f, "%s: note: only the first %zu problems are shown.\n", p->file, p->n_items);

        return ferror(f) ? -EIO : 0;
}

int problems_write_json(const Problems *p, FILE *f) {
        json_object *array = json_object_new_array_ext((int) p->n_items);
        if (!array)
                return -ENOMEM;

        for (size_t i = 0; i < p->n_items; i++) {
                const Problem *x = p->items + i;
                json_object *o = json_object_new_object();

                if (!o || json_object_array_add(array, o) < 0) {
                        json_object_put(o);
                        json_object_put(array);
                        return -ENOMEM;
                }
                json_object_object_add(o, "severity",
                                       json_object_new_string(severity_to_string(x->severity)));
                json_object_object_add(o, "code", json_object_new_string(problem_code_to_string(x->code)));
                json_object_object_add(o, "file", json_object_new_string(p->file));
                json_object_object_add(o, "line", json_object_new_int64(x->line));
                json_object_object_add(o, "column", json_object_new_int64(x->column));
                json_object_object_add(o, "message", json_object_new_string(x->message));
        }

        fputs(json_object_to_json_string_ext(array,
                                             JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE),
              f);
        fputc('\n', f);
        json_object_put(array);

        return ferror(f) ? -EIO : 0;
}
