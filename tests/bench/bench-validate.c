/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Benchmark: full validation of a gen-library tree against a bare libyaml + json-c parse of its files. */

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <json.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <yaml.h>

#include "config-validate.h"
#include "config.h"
#include "macro.h"
#include "problem.h"
#include "quality-def.h"

/* One warm-up run fills the page cache and the allocator's pools; the best of the timed runs is reported,
 * since every slower run only measures noise from the rest of the machine. */
#define BENCH_RUNS 3U
#define RATIO_TARGET 1.5
/* nftw() keeps at most this many directories open while it walks. */
#define WALK_FDS_MAX 32
#define NSEC_PER_SEC UINT64_C(1000000000)

typedef struct PathList {
        char **paths;
        size_t n_paths;
        size_t allocated;
} PathList;

typedef struct ValidateResult {
        size_t n_task_types;
        size_t n_mappings;
        size_t n_warnings;
} ValidateResult;

typedef struct ReferenceResult {
        uint64_t yaml_nsec;
        uint64_t json_nsec;
} ReferenceResult;

static void path_list_done(PathList *l) {
        for (size_t i = 0; i < l->n_paths; i++)
                free(l->paths[i]);
        free(l->paths);
        *l = (PathList){ 0 };
}

static int path_list_add(PathList *l, const char *path) {
        if (l->n_paths == l->allocated) {
                size_t n = MAX(l->allocated * 2, (size_t) 1024);
                char **p = reallocarray(l->paths, n, sizeof(char *));
                if (!p)
                        return -ENOMEM;
                l->paths = p;
                l->allocated = n;
        }

        char *copy = strdup(path);
        if (!copy)
                return -ENOMEM;
        l->paths[l->n_paths++] = copy;
        return 0;
}

static int path_compare(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static uint64_t now_nsec(void) {
        struct timespec ts;

        /* CLOCK_MONOTONIC cannot fail with a valid pointer. */
        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * NSEC_PER_SEC + (uint64_t) ts.tv_nsec;
}

static double nsec_to_sec(uint64_t nsec) {
        return (double) nsec / (double) NSEC_PER_SEC;
}

/* nftw() takes no user pointer, so the walk reports through these two. */
static PathList *walk_list;
static int walk_error;

static int walk_one(const char *path, const struct stat *st, int type, struct FTW *ftw) {
        const char *base = path + ftw->base;

        if (type != FTW_F || !S_ISREG(st->st_mode) || !streq(base, WORKFLOW_FILE_NAME))
                return FTW_CONTINUE;

        walk_error = path_list_add(walk_list, path);
        return walk_error < 0 ? FTW_STOP : FTW_CONTINUE;
}

/* Collects every workflow file beneath dir, sorted, so that the timed parse reads them in the order the
 * validation does (task types sorted by name) and not in whatever order the directories happen to list. */
static int collect_workflow_files(const char *dir, PathList *ret) {
        _cleanup_(path_list_done) PathList list = { 0 };

        walk_list = &list;
        walk_error = 0;
        int r = nftw(dir, walk_one, WALK_FDS_MAX, FTW_PHYS | FTW_ACTIONRETVAL);
        walk_list = NULL;
        if (r < 0)
                return negative_errno();
        if (walk_error < 0)
                return walk_error;

        qsort(list.paths, list.n_paths, sizeof(char *), path_compare);
        *ret = list;
        list = (PathList){ 0 };
        return 0;
}

/* Reads a whole file into a NUL-terminated buffer, as a validation has to. */
static int read_full_file(const char *path, char **ret_text, size_t *ret_size) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *text = NULL;
        struct stat st;
        size_t size = 0;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return negative_errno();
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        if ((uint64_t) st.st_size > CONFIG_SIZE_MAX)
                return -EFBIG;

        text = malloc((size_t) st.st_size + 1);
        if (!text)
                return -ENOMEM;

        while (size < (size_t) st.st_size) {
                ssize_t n = read(fd, text + size, (size_t) st.st_size - size);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (n == 0)
                        break; /* the file shrank while we read it: parse what there is */
                size += (size_t) n;
        }
        text[size] = '\0';

        *ret_text = TAKE_PTR(text);
        *ret_size = size;
        return 0;
}

/* The measured work: what auteur-qualityctl validate does, including freeing what it built. */
static int run_validate(const char *config_path, ValidateResult *ret) {
        _cleanup_(problems_done) Problems problems = { 0 };
        _cleanup_(config_unrefp) Config *config = NULL;
        const ValidateOptions opts = {
                .workflows_root = NULL, /* the file's own root_path, relative to its directory */
                .root_mismatch = ROOT_MISMATCH_IGNORE,
                .base_dir = NULL,
        };
        int r;

        r = problems_init(&problems, config_path);
        if (r < 0)
                return r;

        r = config_validate_file(config_path, &opts, &problems, &config);
        if (r == -EINVAL || problems_has_errors(&problems)) {
                fprintf(stderr, "bench-validate: %s has errors; the benchmark input is broken:\n",
                        config_path);
                (void) problems_write_text(&problems, stderr);
                return -EINVAL;
        }
        if (r < 0)
                return r;

        *ret = (ValidateResult){
                .n_task_types = config->n_task_types,
                .n_mappings = config->n_mappings,
                .n_warnings = problems.n_warnings,
        };
        return 0;
}

static int run_yaml_events(const char *path) {
        _cleanup_(yaml_parser_delete) yaml_parser_t parser = { 0 };
        _cleanup_free_ char *text = NULL;
        size_t size;
        int r;

        r = read_full_file(path, &text, &size);
        if (r < 0)
                return r;

        if (!yaml_parser_initialize(&parser))
                return -ENOMEM;
        yaml_parser_set_input_string(&parser, (const unsigned char *) text, size);

        for (;;) {
                yaml_event_t event;

                if (!yaml_parser_parse(&parser, &event)) {
                        fprintf(stderr, "bench-validate: %s:%zu:%zu: %s\n", path,
                                parser.problem_mark.line + 1, parser.problem_mark.column + 1,
                                parser.problem ? parser.problem : "YAML syntax error");
                        return -EINVAL;
                }

                bool end = event.type == YAML_STREAM_END_EVENT;
                yaml_event_delete(&event);
                if (end)
                        return 0;
        }
}

static int run_json_files(const PathList *files) {
        for (size_t i = 0; i < files->n_paths; i++) {
                _cleanup_free_ char *text = NULL;
                size_t size;
                int r;

                r = read_full_file(files->paths[i], &text, &size);
                if (r < 0) {
                        fprintf(stderr, "bench-validate: Failed to read %s: %s\n", files->paths[i],
                                strerror(-r));
                        return r;
                }

                json_object *o = json_tokener_parse(text);
                if (!o) {
                        fprintf(stderr, "bench-validate: %s is not valid JSON.\n", files->paths[i]);
                        return -EINVAL;
                }
                json_object_put(o);
        }

        return 0;
}

static int run_reference(const char *config_path, const PathList *files, ReferenceResult *ret) {
        uint64_t start, middle;
        int r;

        start = now_nsec();
        r = run_yaml_events(config_path);
        if (r < 0)
                return r;
        middle = now_nsec();
        r = run_json_files(files);
        if (r < 0)
                return r;

        *ret = (ReferenceResult){
                .yaml_nsec = middle - start,
                .json_nsec = now_nsec() - middle,
        };
        return 0;
}

static int bench_validate(const char *config_path, uint64_t *ret_nsec, ValidateResult *ret) {
        ValidateResult result = { 0 };
        uint64_t best = UINT64_MAX;
        int r;

        for (unsigned i = 0; i <= BENCH_RUNS; i++) {
                uint64_t start = now_nsec();
                r = run_validate(config_path, &result);
                if (r < 0)
                        return r;
                uint64_t elapsed = now_nsec() - start;

                if (i > 0) /* run 0 is the warm-up */
                        best = MIN(best, elapsed);
        }

        *ret_nsec = best;
        *ret = result;
        return 0;
}

static int bench_reference(const char *config_path, const PathList *files, ReferenceResult *ret) {
        ReferenceResult best = { .yaml_nsec = UINT64_MAX / 2, .json_nsec = UINT64_MAX / 2 };
        int r;

        for (unsigned i = 0; i <= BENCH_RUNS; i++) {
                ReferenceResult result;

                r = run_reference(config_path, files, &result);
                if (r < 0)
                        return r;

                /* The parts are reported from the best run as a whole, so that they add up. */
                if (i > 0 && result.yaml_nsec + result.json_nsec < best.yaml_nsec + best.json_nsec)
                        best = result;
        }

        *ret = best;
        return 0;
}

static int run(int argc, char *argv[]) {
        _cleanup_(path_list_done) PathList files = { 0 };
        _cleanup_free_ char *config_path = NULL, *workflows_dir = NULL;
        ValidateResult validate;
        ReferenceResult reference;
        uint64_t validate_nsec;
        int r;

        if (argc != 2 || argv[1][0] == '-') {
                fprintf(stderr,
                        "Usage: %s DIR\n\n"
                        "Times a full validation of DIR/quality_mappings.yaml and its workflows (as\n"
                        "written by tests/bench/gen-library) against a bare libyaml and json-c parse\n"
                        "of the same files.\n",
                        program_invocation_short_name);
                return -EINVAL;
        }

        if (asprintf(&config_path, "%s/quality_mappings.yaml", argv[1]) < 0 ||
            asprintf(&workflows_dir, "%s/workflows", argv[1]) < 0)
                return -ENOMEM;

        /* The walk is not part of either measurement: a validation is given its paths by the config. */
        r = collect_workflow_files(workflows_dir, &files);
        if (r < 0) {
                fprintf(stderr, "bench-validate: Failed to list the workflow files beneath %s: %s\n",
                        workflows_dir, strerror(-r));
                return r;
        }
        if (files.n_paths == 0) {
                fprintf(stderr,
                        "bench-validate: No %s files beneath %s; run tests/bench/gen-library first.\n",
                        WORKFLOW_FILE_NAME, workflows_dir);
                return -ENOENT;
        }

        r = bench_validate(config_path, &validate_nsec, &validate);
        if (r < 0) {
                if (r != -EINVAL)
                        fprintf(stderr, "bench-validate: Failed to validate %s: %s\n", config_path,
                                strerror(-r));
                return r;
        }

        r = bench_reference(config_path, &files, &reference);
        if (r < 0)
                return r;

        if (validate.n_warnings > 0)
                fprintf(stderr, "bench-validate: Validation of %s reported %zu warnings.\n", config_path,
                        validate.n_warnings);
        if (validate.n_mappings != files.n_paths)
                fprintf(stderr,
                        "bench-validate: The configuration serves %zu workflows, but %zu files lie "
                        "beneath %s; the two figures do not measure the same work.\n",
                        validate.n_mappings, files.n_paths, workflows_dir);

        uint64_t reference_nsec = reference.yaml_nsec + reference.json_nsec;
        printf("validate:        %.3f s  (%zu workflow files, %zu task types)\n", nsec_to_sec(validate_nsec),
               validate.n_mappings, validate.n_task_types);
        printf("reference:       %.3f s  (libyaml events %.3f s + json-c %.3f s)\n",
               nsec_to_sec(reference_nsec), nsec_to_sec(reference.yaml_nsec),
               nsec_to_sec(reference.json_nsec));
        printf("ratio:           %.2f (target <= %.1f)\n",
               reference_nsec > 0 ? (double) validate_nsec / (double) reference_nsec : 0.0, RATIO_TARGET);
        return 0;
}

int main(int argc, char *argv[]) {
        int r = run(argc, argv);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
