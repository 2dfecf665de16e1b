/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Malformed and hostile configuration files and workflow trees, through config_validate_file(). */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config-validate.h"
#include "problem.h"
#include "quality-def.h"
#include "tap.h"

/* A check that blocks (a FIFO opened for reading, a loop on a hostile input) must fail, not hang. */
#define TEST_TIMEOUT_SEC 100U
/* Each input must be dealt with quickly, even under ASan. */
#define CASE_SECONDS_MAX 20.0
#define MIB ((size_t) 1024 * 1024)
#define KIB ((size_t) 1024)
/* config_validate_file() may return any negative errno. */
#define ANY_ERRNO INT_MIN

static char tmp_dir[] = "/tmp/test-hostile-XXXXXX";

static void die(const char *what) {
        printf("Bail out! %s: %s\n", what, strerror(errno));
        exit(EXIT_FAILURE);
}

/* Returns tmp_dir/rel; a few results stay valid at once, so that two can be passed to one call. */
static const char *in_tmp(const char *rel) {
        static char paths[4][PATH_MAX];
        static unsigned next;
        char *path = paths[next++ % ELEMENTSOF(paths)];

        (void) snprintf(path, PATH_MAX, "%s/%s", tmp_dir, rel);
        return path;
}

static void make_dir(const char *rel) {
        if (mkdir(in_tmp(rel), 0755) < 0)
                die(rel);
}

static void write_path(const char *path, const char *data, size_t size) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

        if (fd < 0)
                die(path);
        while (size > 0) {
                ssize_t n = write(fd, data, size);

                if (n <= 0)
                        die(path);
                data += n;
                size -= (size_t) n;
        }
        (void) close(fd);
}

static void write_file(const char *rel, const char *text) {
        write_path(in_tmp(rel), text, strlen(text));
}

/* Creates root/DIR/workflow_api.json with the given text. */
static void make_workflow(const char *dir, const char *text) {
        char rel[PATH_MAX];

        (void) snprintf(rel, sizeof rel, "root/%s", dir);
        make_dir(rel);
        (void) snprintf(rel, sizeof rel, "root/%s/" WORKFLOW_FILE_NAME, dir);
        write_file(rel, text);
}

static double now(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* A growing buffer for generated inputs. */
typedef struct Buffer {
        char *data;
        size_t size, allocated;
} Buffer;

static void buffer_append(Buffer *b, const char *s, size_t n) {
        if (b->size + n + 1 > b->allocated) {
                size_t m = MAX(b->allocated * 2, b->size + n + 1);
                char *d = realloc(b->data, m);

                if (!d)
                        die("realloc");
                b->data = d;
                b->allocated = m;
        }
        memcpy(b->data + b->size, s, n);
        b->size += n;
        b->data[b->size] = 0;
}

static void buffer_puts(Buffer *b, const char *s) {
        buffer_append(b, s, strlen(s));
}

static void buffer_repeat(Buffer *b, const char *s, size_t times) {
        for (size_t i = 0; i < times; i++)
                buffer_puts(b, s);
}

static void buffer_write(Buffer *b, const char *path) {
        write_path(path, b->data, b->size);
        free(b->data);
        *b = (Buffer){ 0 };
}

/* ---- the workflows tree ---- */

static const char good_workflow[] =
        "{\"3\": {\"class_type\": \"KSampler\", \"inputs\": {\"seed\": 1, \"steps\": 20, \"cfg\": 7.0,\n"
        "        \"model\": [\"4\", 0], \"latent_image\": [\"5\", 0]}},\n"
        " \"4\": {\"class_type\": \"CheckpointLoaderSimple\", \"inputs\": {\"ckpt_name\": "
        "\"x.safetensors\"}},\n"
        " \"5\": {\"class_type\": \"EmptyLatentImage\", \"inputs\": {\"width\": 512, \"height\": 512}}}\n";

static void make_tree(void) {
        int fd;

        make_dir("root");
        make_workflow("good", good_workflow);
        make_workflow("nosampler",
                      "{\"1\": {\"class_type\": \"LoadImage\", \"inputs\": {\"image\": \"a.png\"}},\n"
                      " \"2\": {\"class_type\": \"SaveImage\", \"inputs\": {\"images\": [\"1\", 0]}}}\n");
        make_workflow(
                "ui",
                "{\"last_node_id\": 9, \"nodes\": [{\"id\": 3, \"type\": \"KSampler\"}], \"links\": [],"
                " \"version\": 0.4}\n");
        make_workflow("dangling",
                      "{\"3\": {\"class_type\": \"KSampler\", \"inputs\": {\"model\": [\"99\", 0]}}}\n");
        make_workflow("array", "[{\"class_type\": \"KSampler\", \"inputs\": {}}]\n");
        make_workflow("noclass", "{\"3\": {\"inputs\": {\"steps\": 20}}}\n");
        make_workflow("badjson", "{\"3\": {\"class_type\": \"KSampler\", \"inputs\": {\"steps\": 20,}}\n");
        make_workflow("emptyjson", "");

        /* 8 MiB + 1, sparse: the size alone must condemn it. */
        make_dir("root/big");
        fd = open(in_tmp("root/big/" WORKFLOW_FILE_NAME), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0 || ftruncate(fd, (off_t) WORKFLOW_SIZE_MAX + 1) < 0)
                die("ftruncate");
        (void) close(fd);

        make_dir("root/dir");
        make_dir("root/dir/" WORKFLOW_FILE_NAME);
        make_dir("root/fifo");
        if (mkfifo(in_tmp("root/fifo/" WORKFLOW_FILE_NAME), 0644) < 0)
                die("mkfifo");

        /* A symlink that leaves the root, relative and absolute, and one that stays inside it. */
        make_dir("outside");
        make_dir("outside/esc");
        write_file("outside/esc/" WORKFLOW_FILE_NAME, good_workflow);
        if (symlink("../outside/esc", in_tmp("root/escape")) < 0)
                die("symlink");
        if (symlink(in_tmp("outside/esc"), in_tmp("root/absescape")) < 0)
                die("symlink");
        make_dir("root/linkfile");
        if (symlink("../../outside/esc/" WORKFLOW_FILE_NAME, in_tmp("root/linkfile/" WORKFLOW_FILE_NAME)) <
            0)
                die("symlink");
        if (symlink("good", in_tmp("root/inner")) < 0)
                die("symlink");

        /* Another directory, and a symlink to the root, for root_path comparisons. */
        make_dir("other");
        if (symlink("root", in_tmp("rootlink")) < 0)
                die("symlink");
        make_dir("sub");
}

/* ---- running one validation ---- */

typedef struct Run {
        Problems problems;
        Config *config;
        int r;
        double seconds;
} Run;

static void run_done(Run *run) {
        config_unref(run->config);
        problems_done(&run->problems);
}

static Run validate(const char *path, const char *root, RootMismatch mismatch) {
        ValidateOptions opts = { .workflows_root = root, .root_mismatch = mismatch };
        Run run = { .config = NULL };
        double start;

        if (problems_init(&run.problems, path) < 0)
                die("problems_init");
        start = now();
        run.r = config_validate_file(path, &opts, &run.problems, &run.config);
        run.seconds = now() - start;
        return run;
}

static const Problem *find_problem(const Problems *p, ProblemCode code) {
        for (size_t i = 0; i < p->n_items; i++)
                if (p->items[i].code == code)
                        return p->items + i;
        return NULL;
}

static void dump_problems(const Problems *p) {
        for (size_t i = 0; i < p->n_items && i < 8; i++)
                printf("#   %u:%u: %s[%s]: %.200s\n", p->items[i].line, p->items[i].column,
                       severity_to_string(p->items[i].severity), problem_code_to_string(p->items[i].code),
                       p->items[i].message);
}

/* ---- generators of inputs too big or too odd for a string literal ---- */

#define OTHER_TIERS "    standard: {workflow_path: good}\n    high: {workflow_path: good}\n"
#define GOOD_CONFIG "version: \"1\"\nmappings:\n  a:\n    low: {workflow_path: good}\n" OTHER_TIERS
/* The low tier's workflow_path value stands at 3:26. */
#define WORKFLOW_CONFIG(w)                                                                                  \
        "mappings:\n  a:\n    low: {workflow_path: " w ", parameters: {steps: 20}}\n" OTHER_TIERS
/* The first parameter key stands at 3:45, its value at 3:(47 + strlen(key)). */
#define PARAMETER_CONFIG(p)                                                                                 \
        "mappings:\n  a:\n    low: {workflow_path: good, parameters: {" p "}}\n" OTHER_TIERS

static void make_nested_sequences(const char *path) {
        Buffer b = { 0 };

        buffer_puts(&b, "mappings:\n  a: ");
        buffer_repeat(&b, "[", 1000);
        buffer_repeat(&b, "]", 1000);
        buffer_puts(&b, "\n");
        buffer_write(&b, path);
}

static void make_nested_mappings(const char *path) {
        Buffer b = { 0 };

        buffer_puts(&b, "junk: ");
        buffer_repeat(&b, "{a: ", 1000);
        buffer_puts(&b, "1");
        buffer_repeat(&b, "}", 1000);
        buffer_puts(&b, "\n" GOOD_CONFIG);
        buffer_write(&b, path);
}

static void make_unclosed_nesting(const char *path) {
        Buffer b = { 0 };

        buffer_puts(&b, GOOD_CONFIG "junk: ");
        buffer_repeat(&b, "[", 100000);
        buffer_write(&b, path);
}

static void make_20_mib(const char *path) {
        static const char line[] =
                "# A comment line that is there to make the file larger than the limit.\n";
        Buffer b = { 0 };

        buffer_puts(&b, GOOD_CONFIG);
        while (b.size < 20 * MIB)
                buffer_puts(&b, line);
        buffer_write(&b, path);
}

/* The file is as large as allowed and valid; most of it is one comment. */
static void make_16_mib_exactly(const char *path) {
        Buffer b = { 0 };

        buffer_puts(&b, GOOD_CONFIG "#");
        while (b.size < CONFIG_SIZE_MAX - 1)
                buffer_puts(&b, "x");
        buffer_puts(&b, "\n");
        buffer_write(&b, path);
}

static void make_utf16(const char *path, bool big_endian) {
        static const char text[] = GOOD_CONFIG;
        Buffer b = { 0 };

        buffer_append(&b, big_endian ? "\xfe\xff" : "\xff\xfe", 2);
        for (const char *s = text; *s; s++) {
                char unit[2] = { big_endian ? 0 : *s, big_endian ? *s : 0 };

                buffer_append(&b, unit, 2);
        }
        buffer_write(&b, path);
}

static void make_utf16le(const char *path) {
        make_utf16(path, false);
}

static void make_utf16be(const char *path) {
        make_utf16(path, true);
}

static void make_long_plain_key(const char *path) {
        Buffer b = { 0 };

        buffer_puts(&b, GOOD_CONFIG);
        buffer_repeat(&b, "k", 100 * KIB);
        buffer_puts(&b, ": 1\n");
        buffer_write(&b, path);
}

static void make_long_explicit_key(const char *path) {
        Buffer b = { 0 };

        buffer_puts(&b, GOOD_CONFIG "? ");
        buffer_repeat(&b, "k", 100 * KIB);
        buffer_puts(&b, "\n: 1\n");
        buffer_write(&b, path);
}

static void make_million_items(const char *path) {
        Buffer b = { 0 };

        buffer_puts(&b, GOOD_CONFIG "junk: [1");
        buffer_repeat(&b, ", 1", 1000000 - 1);
        buffer_puts(&b, "]\n");
        buffer_write(&b, path);
}

static void make_long_scalar(const char *path) {
        Buffer b = { 0 };

        buffer_puts(&b, "mappings:\n  a:\n    low: {workflow_path: ");
        buffer_repeat(&b, "abcdefghij", 1000000);
        buffer_puts(&b, "}\n" OTHER_TIERS);
        buffer_write(&b, path);
}

static void make_many_task_types(const char *path) {
        Buffer b = { 0 };
        char line[160];

        buffer_puts(&b, "mappings:\n");
        for (unsigned i = 0; i < 50000; i++) {
                (void) snprintf(line, sizeof line,
                                "  t%u: {low: {workflow_path: m%u}, standard: {workflow_path: m%u}, "
                                "high: {workflow_path: m%u}}\n",
                                i, i, i, i);
                buffer_puts(&b, line);
        }
        buffer_write(&b, path);
}

static void make_directory(const char *path) {
        if (mkdir(path, 0755) < 0)
                die(path);
}

static void make_fifo(const char *path) {
        if (mkfifo(path, 0644) < 0)
                die(path);
}

static void make_nothing(const char *path) {
}

/* ---- the table ---- */

typedef struct HostileCase {
        const char *name;
        const char *text;               /* the config file's contents, or NULL when make() is given */
        size_t size;                    /* 0: strlen(text) */
        void (*make)(const char *path); /* makes the config file (or whatever stands at its path) */
        const char *root;               /* the workflows root beneath the temporary directory */
        int result;                     /* of config_validate_file() */
        ProblemCode code;
        unsigned line, column; /* of that problem; UINT_MAX: not checked */
} HostileCase;

#define ANY UINT_MAX

static const char billion_laughs[] =
        "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
        "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
        "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
        "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
        "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
        "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
        "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
        "h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
        "i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n"
        "mappings: *i\n";

static const HostileCase hostile_cases[] = {
        /* syntax */
        { "unclosed flow sequence", "mappings: {a: [1, 2\n", 0, NULL, NULL, -EINVAL, PROBLEM_YAML_SYNTAX, 2,
          1 },
        { "unclosed flow mapping", "mappings: {a: {low: {workflow_path: good}\n", 0, NULL, NULL, -EINVAL,
          PROBLEM_YAML_SYNTAX, 2, 1 },
        { "bad indentation", "mappings:\n  a:\n    low: {workflow_path: good}\n   standard: x\n", 0, NULL,
          NULL, -EINVAL, PROBLEM_YAML_SYNTAX, 4, 4 },
        { "tab indentation", "mappings:\n\ta:\n\t\tlow: {workflow_path: good}\n", 0, NULL, NULL, -EINVAL,
          PROBLEM_YAML_SYNTAX, 2, 1 },
        { "unterminated double quote", "version: \"1.0\nmappings: {}\n", 0, NULL, NULL, -EINVAL,
          PROBLEM_YAML_SYNTAX, 3, 1 },
        { "unterminated single quote", "version: '1.0\n", 0, NULL, NULL, -EINVAL, PROBLEM_YAML_SYNTAX, 2,
          1 },
        { "two documents", GOOD_CONFIG "---\n" GOOD_CONFIG, 0, NULL, NULL, -EINVAL, PROBLEM_YAML_SYNTAX, 7,
          1 },
        { "NUL byte", "version: \"1\"\n\0mappings: {}\n", 27, NULL, NULL, -EINVAL, PROBLEM_YAML_SYNTAX, 2,
          1 },
        { "NUL byte, CR line ends", "version: \"1\"\rmappings:\r  a: {low: {workflow_path: x\0}}\r", 55,
          NULL, NULL, -EINVAL, PROBLEM_YAML_SYNTAX, 3, 29 },
        { "100 KiB plain key", NULL, 0, make_long_plain_key, NULL, -EINVAL, PROBLEM_YAML_SYNTAX, ANY, ANY },
        { "incompatible YAML version", "%YAML 2.0\n---\n" GOOD_CONFIG, 0, NULL, NULL, -EINVAL,
          PROBLEM_YAML_SYNTAX, 1, 1 },

        /* YAML features that are not allowed */
        { "billion laughs", billion_laughs, 0, NULL, NULL, -EINVAL, PROBLEM_ALIAS_FORBIDDEN, 1, 4 },
        { "merge key", "base: &b {workflow_path: good}\nmappings:\n  a:\n    low:\n      <<: *b\n", 0, NULL,
          NULL, -EINVAL, PROBLEM_ALIAS_FORBIDDEN, 1, 7 },
        { "merge key alone", "mappings:\n  a:\n    <<: {low: {workflow_path: good}}\n" OTHER_TIERS, 0, NULL,
          NULL, -EINVAL, PROBLEM_ALIAS_FORBIDDEN, 3, 5 },
        { "python object tag", "version: !!python/object:os.system \"1\"\n" GOOD_CONFIG, 0, NULL, NULL,
          -EINVAL, PROBLEM_TAG_FORBIDDEN, 1, 10 },
        { "python apply tag", "junk: !!python/object/apply:os.system [\"rm -rf /\"]\n" GOOD_CONFIG, 0, NULL,
          NULL, -EINVAL, PROBLEM_TAG_FORBIDDEN, 1, 7 },
        { "custom local tag", GOOD_CONFIG "    x: !vault abc\n", 0, NULL, NULL, -EINVAL,
          PROBLEM_TAG_FORBIDDEN, ANY, ANY },

        /* limits */
        { "1000-deep sequences", NULL, 0, make_nested_sequences, NULL, -EINVAL, PROBLEM_TOO_DEEP, 2, 68 },
        { "1000-deep mappings", NULL, 0, make_nested_mappings, NULL, -EINVAL, PROBLEM_TOO_DEEP, 1, 259 },
        { "100000 unclosed brackets", NULL, 0, make_unclosed_nesting, NULL, -EINVAL, PROBLEM_TOO_DEEP, ANY,
          ANY },
        { "20 MiB file", NULL, 0, make_20_mib, NULL, -EFBIG, PROBLEM_TOO_LARGE, 0, 0 },

        /* encodings */
        { "invalid UTF-8", "version: \"caf\xe9\"\n" GOOD_CONFIG, 0, NULL, NULL, -EINVAL, PROBLEM_NOT_UTF8, 0,
          0 },
        { "UTF-8 surrogate", "version: \"\xed\xb0\x80\"\n" GOOD_CONFIG, 0, NULL, NULL, -EINVAL,
          PROBLEM_NOT_UTF8, 0, 0 },
        { "UTF-16LE with BOM", NULL, 0, make_utf16le, NULL, -EINVAL, PROBLEM_NOT_UTF8, 0, 0 },
        { "UTF-16BE with BOM", NULL, 0, make_utf16be, NULL, -EINVAL, PROBLEM_NOT_UTF8, 0, 0 },
        { "CR-only line ends, error on line 3",
          "mappings:\r  a:\r    low: {workflow_path: good, parameters: {steps: 0}}\r" OTHER_TIERS, 0, NULL,
          NULL, -EINVAL, PROBLEM_OUT_OF_RANGE, 3, 52 },

        /* workflow paths and the files they lead to */
        { "traversal", WORKFLOW_CONFIG("../outside/esc"), 0, NULL, NULL, -EINVAL, PROBLEM_BAD_WORKFLOW_PATH,
          3, 26 },
        { "traversal inside", WORKFLOW_CONFIG("good/../../outside/esc"), 0, NULL, NULL, -EINVAL,
          PROBLEM_BAD_WORKFLOW_PATH, 3, 26 },
        { "absolute workflow_path", WORKFLOW_CONFIG("/etc"), 0, NULL, NULL, -EINVAL,
          PROBLEM_BAD_WORKFLOW_PATH, 3, 26 },
        { "10 MB workflow_path", NULL, 0, make_long_scalar, NULL, -EINVAL, PROBLEM_BAD_WORKFLOW_PATH, 3,
          26 },
        { "symlink out of the root", WORKFLOW_CONFIG("escape"), 0, NULL, NULL, -EINVAL,
          PROBLEM_WORKFLOW_ESCAPES_ROOT, 3, 26 },
        { "absolute symlink out of the root", WORKFLOW_CONFIG("absescape"), 0, NULL, NULL, -EINVAL,
          PROBLEM_WORKFLOW_ESCAPES_ROOT, 3, 26 },
        { "workflow file a symlink out of the root", WORKFLOW_CONFIG("linkfile"), 0, NULL, NULL, -EINVAL,
          PROBLEM_WORKFLOW_ESCAPES_ROOT, 3, 26 },
        { "UI format", WORKFLOW_CONFIG("ui"), 0, NULL, NULL, -EINVAL, PROBLEM_WORKFLOW_UI_FORMAT, 3, 26 },
        { "dangling link", WORKFLOW_CONFIG("dangling"), 0, NULL, NULL, -EINVAL,
          PROBLEM_WORKFLOW_DANGLING_LINK, 3, 26 },
        { "top-level array", WORKFLOW_CONFIG("array"), 0, NULL, NULL, -EINVAL,
          PROBLEM_WORKFLOW_NOT_API_FORMAT, 3, 26 },
        { "node without class_type", WORKFLOW_CONFIG("noclass"), 0, NULL, NULL, -EINVAL,
          PROBLEM_WORKFLOW_NOT_API_FORMAT, 3, 26 },
        { "invalid JSON", WORKFLOW_CONFIG("badjson"), 0, NULL, NULL, -EINVAL, PROBLEM_WORKFLOW_INVALID_JSON,
          3, 26 },
        { "empty workflow", WORKFLOW_CONFIG("emptyjson"), 0, NULL, NULL, -EINVAL,
          PROBLEM_WORKFLOW_INVALID_JSON, 3, 26 },
        { "8 MiB + 1 workflow", WORKFLOW_CONFIG("big"), 0, NULL, NULL, -EINVAL, PROBLEM_WORKFLOW_TOO_LARGE,
          3, 26 },
        { "workflow a directory", WORKFLOW_CONFIG("dir"), 0, NULL, NULL, -EINVAL,
          PROBLEM_WORKFLOW_NOT_REGULAR, 3, 26 },
        { "workflow a FIFO", WORKFLOW_CONFIG("fifo"), 0, NULL, NULL, -EINVAL, PROBLEM_WORKFLOW_NOT_REGULAR,
          3, 26 },
        { "workflow missing", WORKFLOW_CONFIG("missing/v1"), 0, NULL, NULL, -EINVAL,
          PROBLEM_WORKFLOW_MISSING, 3, 26 },
        { "workflows root missing", GOOD_CONFIG, 0, NULL, "nonexistent", -EINVAL,
          PROBLEM_WORKFLOWS_ROOT_MISSING, 0, 0 },
        { "workflows root a file", GOOD_CONFIG, 0, NULL, "outside/esc/" WORKFLOW_FILE_NAME, -EINVAL,
          PROBLEM_WORKFLOWS_ROOT_MISSING, 0, 0 },
        { "50000 task types, all missing", NULL, 0, make_many_task_types, NULL, -EINVAL,
          PROBLEM_WORKFLOW_MISSING, 2, 29 },

        /* numbers and types */
        { "steps out of range", PARAMETER_CONFIG("steps: 100000"), 0, NULL, NULL, -EINVAL,
          PROBLEM_OUT_OF_RANGE, 3, 52 },
        { "cfg_scale .nan", PARAMETER_CONFIG("cfg_scale: .NaN"), 0, NULL, NULL, -EINVAL,
          PROBLEM_OUT_OF_RANGE, 3, 56 },
        { "seed beyond 64 bits", PARAMETER_CONFIG("seed: 340282366920938463463374607431768211456"), 0, NULL,
          NULL, -EINVAL, PROBLEM_OUT_OF_RANGE, 3, 51 },
        { "negative width", PARAMETER_CONFIG("width: -512"), 0, NULL, NULL, -EINVAL, PROBLEM_OUT_OF_RANGE, 3,
          52 },
        { "list where a mapping goes", "mappings:\n  - a\n  - b\n", 0, NULL, NULL, -EINVAL, PROBLEM_BAD_TYPE,
          2, 3 },
        { "list as a tier", "mappings:\n  a:\n    low: [good]\n" OTHER_TIERS, 0, NULL, NULL, -EINVAL,
          PROBLEM_BAD_TYPE, 3, 10 },
        { "mapping as a parameter value", PARAMETER_CONFIG("steps: {value: 20}"), 0, NULL, NULL, -EINVAL,
          PROBLEM_BAD_TYPE, 3, 52 },
        { "string where a bool goes",
          "environment: e\nquality_system: {enabled: \"true\", tiers: [low]}\n"
          "workflows:\n  mappings: {a: {low: {workflow_path: good}}}\n",
          0, NULL, NULL, -EINVAL, PROBLEM_BAD_TYPE, 2, 27 },
        { "top-level scalar", "quality_mappings\n", 0, NULL, NULL, -EINVAL, PROBLEM_BAD_TYPE, 1, 1 },
        { "top-level list", "- mappings\n- version\n", 0, NULL, NULL, -EINVAL, PROBLEM_BAD_TYPE, 1, 1 },
        { "top-level number", "42\n", 0, NULL, NULL, -EINVAL, PROBLEM_BAD_TYPE, 1, 1 },

        /* empty and unreadable files */
        { "empty file", "", 0, NULL, NULL, -EINVAL, PROBLEM_EMPTY_CONFIG, 0, 0 },
        { "whitespace only", "\n\n   \n", 0, NULL, NULL, -EINVAL, PROBLEM_EMPTY_CONFIG, 0, 0 },
        { "config a directory", NULL, 0, make_directory, NULL, ANY_ERRNO, PROBLEM_CONFIG_UNREADABLE, 0, 0 },
        { "config a FIFO", NULL, 0, make_fifo, NULL, ANY_ERRNO, PROBLEM_CONFIG_UNREADABLE, 0, 0 },
        { "config missing", NULL, 0, make_nothing, NULL, -ENOENT, PROBLEM_CONFIG_UNREADABLE, 0, 0 },

        /* big and many */
        { "100 KiB explicit key", NULL, 0, make_long_explicit_key, NULL, -EINVAL, PROBLEM_UNKNOWN_KEY, 7,
          3 },
        { "a million items in an unknown key", NULL, 0, make_million_items, NULL, -EINVAL,
          PROBLEM_UNKNOWN_KEY, 7, 1 },
        { "escaped NUL in a key", "\"version\\0junk\": \"1\"\n" GOOD_CONFIG, 0, NULL, NULL, -EINVAL,
          PROBLEM_UNKNOWN_KEY, 1, 1 },
};

static void test_hostile_case(size_t index) {
        const HostileCase *t = hostile_cases + index;
        char name[32];
        const char *path;
        const Problem *p;
        Run run;

        (void) snprintf(name, sizeof name, "case-%zu.yaml", index);
        path = in_tmp(name);
        if (t->make)
                t->make(path);
        else
                write_path(path, t->text, t->size > 0 ? t->size : strlen(t->text));

        run = validate(path, in_tmp(t->root ? t->root : "root"), ROOT_MISMATCH_IGNORE);

        if (t->result == ANY_ERRNO)
                ok(run.r < 0, "%s: fails (%s)", t->name, strerror(-run.r));
        else
                is_int(run.r, t->result, "%s: returns %s", t->name, strerror(-t->result));
        ok(!run.config, "%s: no Config", t->name);
        ok(problems_has_errors(&run.problems), "%s: has errors", t->name);
        ok(run.seconds < CASE_SECONDS_MAX, "%s: done in %.2f s", t->name, run.seconds);
        p = find_problem(&run.problems, t->code);
        if (ok(p, "%s: %s", t->name, problem_code_to_string(t->code))) {
                is_int(p->severity, SEVERITY_ERROR, "%s: an error", t->name);
                if (t->line != ANY) {
                        is_int(p->line, t->line, "%s: line %u", t->name, t->line);
                        is_int(p->column, t->column, "%s: column %u", t->name, t->column);
                }
        } else
                dump_problems(&run.problems);
        run_done(&run);
}

static void test_hostile_cases(void) {
        for (size_t i = 0; i < ELEMENTSOF(hostile_cases); i++)
                test_hostile_case(i);
}

/* ---- odd but valid inputs ---- */

typedef struct ValidCase {
        const char *name;
        const char *text;
        void (*make)(const char *path);
} ValidCase;

static const ValidCase valid_cases[] = {
        { "plain", GOOD_CONFIG, NULL },
        { "CR-only line ends",
          "version: \"1\"\rmappings:\r  a:\r    low: {workflow_path: good}\r"
          "    standard: {workflow_path: good}\r    high: {workflow_path: good}\r",
          NULL },
        { "CRLF line ends",
          "version: \"1\"\r\nmappings:\r\n  a:\r\n    low: {workflow_path: good}\r\n"
          "    standard: {workflow_path: good}\r\n    high: {workflow_path: good}\r\n",
          NULL },
        { "UTF-8 byte order mark", "\xef\xbb\xbf" GOOD_CONFIG, NULL },
        { "no final newline",
          "mappings: {a: {low: {workflow_path: good}, standard: {workflow_path: good}, "
          "high: {workflow_path: good}}}",
          NULL },
        { "document markers", "%YAML 1.2\n---\n" GOOD_CONFIG "...\n", NULL },
        { "all flow style",
          "{version: \"1\", mappings: {a: {low: {workflow_path: good}, standard: {workflow_path: "
          "good}, high: {workflow_path: good}}}}\n",
          NULL },
        { "core tags",
          "version: !!str 1\nmappings: !!map\n  a:\n    low: {workflow_path: !!str good, parameters: "
          "{steps: !!int \"20\"}}\n" OTHER_TIERS,
          NULL },
        { "symlink inside the root", "mappings:\n  a:\n    low: {workflow_path: inner}\n" OTHER_TIERS,
          NULL },
        { "exactly 16 MiB", NULL, make_16_mib_exactly },
        { "non-ASCII comments and strings",
          "# Qualit\xc3\xa9 \xe2\x9c\x93\nversion: \"\xe2\x82\xac 1\"\n"
          "mappings:\n  a:\n    low: {workflow_path: good, description: \"\xf0\x9f\x8e\xa8 "
          "portrait\"}\n" OTHER_TIERS,
          NULL },
};

static void test_valid_cases(void) {
        for (size_t i = 0; i < ELEMENTSOF(valid_cases); i++) {
                const ValidCase *t = valid_cases + i;
                char name[32];
                const char *path;
                Run run;

                (void) snprintf(name, sizeof name, "valid-%zu.yaml", i);
                path = in_tmp(name);
                if (t->make)
                        t->make(path);
                else
                        write_file(name, t->text);

                run = validate(path, in_tmp("root"), ROOT_MISMATCH_IGNORE);
                is_int(run.r, 0, "valid %s: returns 0", t->name);
                ok(run.config, "valid %s: a Config", t->name);
                if (!is_int(run.problems.n_items, 0, "valid %s: no problems", t->name))
                        dump_problems(&run.problems);
                if (run.config)
                        is_int(run.config->n_mappings, 3, "valid %s: three mappings", t->name);
                run_done(&run);
        }
}

/* 100000 unknown parameters: fast, and the list stops at PROBLEMS_MAX while the counts go on. */
static void test_many_problems(void) {
        const char *path = in_tmp("many.yaml");
        Buffer b = { 0 };
        char line[64];
        Run run;

        buffer_puts(&b, "mappings:\n  a:\n    low:\n      workflow_path: good\n      parameters:\n");
        for (unsigned i = 0; i < 100000; i++) {
                (void) snprintf(line, sizeof line, "        p%u: %u\n", i, i);
                buffer_puts(&b, line);
        }
        buffer_puts(&b, "        steps: 0\n" OTHER_TIERS);
        buffer_write(&b, path);

        run = validate(path, in_tmp("root"), ROOT_MISMATCH_IGNORE);
        is_int(run.r, -EINVAL, "100000 parameters: -EINVAL (steps: 0)");
        ok(!run.config, "100000 parameters: no Config");
        ok(run.seconds < CASE_SECONDS_MAX, "100000 parameters: done in %.2f s", run.seconds);
        is_int(run.problems.n_items, PROBLEMS_MAX, "100000 parameters: %u problems kept", PROBLEMS_MAX);
        ok(run.problems.truncated, "100000 parameters: list marked truncated");
        is_int(run.problems.n_warnings, 100000, "100000 parameters: every warning counted");
        is_int(run.problems.n_errors, 1, "100000 parameters: the error counted");
        ok(run.problems.n_items > 0 && run.problems.items[0].code == PROBLEM_UNKNOWN_PARAMETER,
           "100000 parameters: unknown-parameter");
        ok(run.problems.n_items > 0 && run.problems.items[0].severity == SEVERITY_WARNING,
           "100000 parameters: a warning");
        ok(run.problems.n_items > 0 && run.problems.items[0].line == 6 && run.problems.items[0].column == 9,
           "100000 parameters: first at 6:9");
        for (size_t i = 1; i < run.problems.n_items; i++)
                if (!ok(run.problems.items[i - 1].line <= run.problems.items[i].line,
                        "100000 parameters: kept problems in file order at %zu", i))
                        break;
        /* The one error is what the reader needs: warnings must not crowd it out of the list. */
        ok(find_problem(&run.problems, PROBLEM_OUT_OF_RANGE), "100000 parameters: the error is kept");
        run_done(&run);

        /* Warnings of the loader (tier-unmapped) must not crowd out the workflow errors found after them. */
        buffer_puts(&b, "mappings:\n  broken: {low: {workflow_path: missing}}\n");
        for (unsigned i = 0; i < 1000; i++) {
                (void) snprintf(line, sizeof line, "  t%u: {low: {workflow_path: good}}\n", i);
                buffer_puts(&b, line);
        }
        buffer_write(&b, path);
        run = validate(path, in_tmp("root"), ROOT_MISMATCH_IGNORE);
        is_int(run.r, -EINVAL, "2002 warnings and a missing workflow: -EINVAL");
        is_int(run.problems.n_errors, 1, "2002 warnings and a missing workflow: one error");
        is_int(run.problems.n_warnings, 2002, "2002 warnings and a missing workflow: 2002 warnings");
        ok(find_problem(&run.problems, PROBLEM_WORKFLOW_MISSING),
           "2002 warnings: the workflow-missing error is kept");
        run_done(&run);
}

/* ---- root_path against the root in force ---- */

static void test_root_mismatch(void) {
        static const char other_yaml[] =
                "environment: e\nworkflows:\n  root_path: other\n  mappings:\n"
                "    a: {low: {workflow_path: good}, standard: {workflow_path: good}, "
                "high: {workflow_path: good}}\n";
        static const struct {
                const char *name;
                RootMismatch mismatch;
                int result;
                bool reported;
                Severity severity;
        } modes[] = {
                { "ROOT_MISMATCH_ERROR", ROOT_MISMATCH_ERROR, -EINVAL, true, SEVERITY_ERROR },
                { "ROOT_MISMATCH_WARN", ROOT_MISMATCH_WARN, 0, true, SEVERITY_WARNING },
                { "ROOT_MISMATCH_IGNORE", ROOT_MISMATCH_IGNORE, 0, false, SEVERITY_ERROR },
        };
        static const struct {
                const char *name;
                const char *root_path; /* NULL: none */
        } same[] = {
                { "relative root_path", "root" },
                { "relative root_path with dot-dot", "./other/../root" },
                { "root_path through a symlink", "rootlink" },
                { "no root_path", NULL },
        };
        char text[1024];
        const Problem *p;
        Run run;

        write_file("other.yaml", other_yaml);
        for (size_t i = 0; i < ELEMENTSOF(modes); i++) {
                run = validate(in_tmp("other.yaml"), in_tmp("root"), modes[i].mismatch);
                is_int(run.r, modes[i].result, "root_path elsewhere, %s: returns %d", modes[i].name,
                       modes[i].result);
                ok(modes[i].result < 0 ? !run.config : !!run.config, "root_path elsewhere, %s: %s",
                   modes[i].name, modes[i].result < 0 ? "no Config" : "a Config");
                p = find_problem(&run.problems, PROBLEM_ROOT_PATH_MISMATCH);
                if (!modes[i].reported)
                        ok(!p, "root_path elsewhere, %s: not reported", modes[i].name);
                else if (ok(p, "root_path elsewhere, %s: root-path-mismatch", modes[i].name)) {
                        is_int(p->severity, modes[i].severity, "root_path elsewhere, %s: %s", modes[i].name,
                               severity_to_string(modes[i].severity));
                        is_int(p->line, 3, "root_path elsewhere, %s: at the root_path value (line)",
                               modes[i].name);
                        is_int(p->column, 14, "root_path elsewhere, %s: at the root_path value (column)",
                               modes[i].name);
                }
                is_int(run.problems.n_items, modes[i].reported ? 1 : 0,
                       "root_path elsewhere, %s: nothing else", modes[i].name);
                run_done(&run);
        }

        /* A root_path that does not exist is not the root either. */
        write_file("nowhere.yaml",
                   "environment: e\nworkflows:\n  root_path: /nonexistent/workflows\n"
                   "  mappings: {a: {low: {workflow_path: good}, standard: {workflow_path: good}, "
                   "high: {workflow_path: good}}}\n");
        run = validate(in_tmp("nowhere.yaml"), in_tmp("root"), ROOT_MISMATCH_ERROR);
        is_int(run.r, -EINVAL, "missing root_path, ROOT_MISMATCH_ERROR: -EINVAL");
        ok(find_problem(&run.problems, PROBLEM_ROOT_PATH_MISMATCH), "missing root_path: root-path-mismatch");
        run_done(&run);

        /* The same directory however it is spelled, relative to the config's own directory. */
        for (size_t i = 0; i < ELEMENTSOF(same); i++) {
                if (same[i].root_path)
                        (void) snprintf(text, sizeof text,
                                        "environment: e\nworkflows:\n  root_path: %s\n"
                                        "  mappings: {a: {low: {workflow_path: good}, standard: "
                                        "{workflow_path: good}, "
                                        "high: {workflow_path: good}}}\n",
                                        same[i].root_path);
                else
                        (void) snprintf(text, sizeof text,
                                        "environment: e\nworkflows:\n"
                                        "  mappings: {a: {low: {workflow_path: good}, standard: "
                                        "{workflow_path: good}, "
                                        "high: {workflow_path: good}}}\n");
                write_file("same.yaml", text);
                for (size_t j = 0; j < 2; j++) {
                        RootMismatch mismatch = j == 0 ? ROOT_MISMATCH_ERROR : ROOT_MISMATCH_WARN;

                        run = validate(in_tmp("same.yaml"), in_tmp("root"), mismatch);
                        is_int(run.r, 0, "%s, %s: valid", same[i].name, modes[j].name);
                        ok(run.config, "%s, %s: a Config", same[i].name, modes[j].name);
                        ok(!find_problem(&run.problems, PROBLEM_ROOT_PATH_MISMATCH), "%s, %s: no mismatch",
                           same[i].name, modes[j].name);
                        run_done(&run);
                }
        }

        /* Without a root given, root_path is the root, taken from the config's directory. */
        write_file("sub/relative.yaml",
                   "environment: e\nworkflows:\n  root_path: ../root\n"
                   "  mappings: {a: {low: {workflow_path: good}, standard: {workflow_path: "
                   "good}, high: {workflow_path: good}}}\n");
        run = validate(in_tmp("sub/relative.yaml"), NULL, ROOT_MISMATCH_ERROR);
        is_int(run.r, 0, "root_path ../root from sub/: valid");
        is_int(run.problems.n_items, 0, "root_path ../root from sub/: no problems");
        run_done(&run);

        write_file("sub/wrong.yaml", "environment: e\nworkflows:\n  root_path: root\n"
                                     "  mappings: {a: {low: {workflow_path: good}}}\n");
        run = validate(in_tmp("sub/wrong.yaml"), NULL, ROOT_MISMATCH_IGNORE);
        is_int(run.r, -EINVAL, "root_path root from sub/ (sub/root does not exist): -EINVAL");
        p = find_problem(&run.problems, PROBLEM_WORKFLOWS_ROOT_MISSING);
        if (ok(p, "root_path root from sub/: workflows-root-missing")) {
                is_int(p->line, 3, "workflows-root-missing at the root_path value (line)");
                is_int(p->column, 14, "workflows-root-missing at the root_path value (column)");
        }
        run_done(&run);
}

/* ---- sampler parameters without a sampler ---- */

static void test_parameters_not_applicable(void) {
        static const struct {
                const char *parameters;
                bool warned;
        } cases[] = {
                { "steps: 20", true },
                { "cfg_scale: 7.5", true },
                { "steps: 20, cfg_scale: 7.5", true },
                { "sampler_name: euler, width: 512", false },
                { "", false },
        };
        char text[512];
        const Problem *p;
        Run run;

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                (void) snprintf(text, sizeof text,
                                "mappings:\n  a:\n    low: {workflow_path: nosampler, "
                                "parameters: {%s}}\n" OTHER_TIERS,
                                cases[i].parameters);
                write_file("nosampler.yaml", text);
                run = validate(in_tmp("nosampler.yaml"), in_tmp("root"), ROOT_MISMATCH_ERROR);
                is_int(run.r, 0, "no sampler, {%s}: still valid", cases[i].parameters);
                ok(run.config, "no sampler, {%s}: a Config", cases[i].parameters);
                is_int(run.problems.n_errors, 0, "no sampler, {%s}: no errors", cases[i].parameters);
                p = find_problem(&run.problems, PROBLEM_PARAMETERS_NOT_APPLICABLE);
                if (!cases[i].warned)
                        ok(!p, "no sampler, {%s}: nothing to apply, no warning", cases[i].parameters);
                else if (ok(p, "no sampler, {%s}: parameters-not-applicable", cases[i].parameters)) {
                        is_int(p->severity, SEVERITY_WARNING, "parameters-not-applicable is a warning");
                        is_int(p->line, 3, "parameters-not-applicable at the workflow_path (line)");
                        is_int(p->column, 26, "parameters-not-applicable at the workflow_path (column)");
                        ok(strstr(p->message, "nosampler/" WORKFLOW_FILE_NAME),
                           "the message names the file: %s", p->message);
                }
                run_done(&run);
        }
}

/* ---- the example environments ---- */

static void test_bundled_environments(void) {
        static const char *const names[] = { "development", "production", "staging" };
        const char *source_root = getenv("SOURCE_ROOT");
        char path[PATH_MAX], root[PATH_MAX];
        Run run;

        if (!source_root) {
                ok(true, "bundled environments # SKIP SOURCE_ROOT is not set");
                return;
        }
        (void) snprintf(root, sizeof root, "%s/etc/workflows", source_root);
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                (void) snprintf(path, sizeof path, "%s/etc/environments/%s.yaml", source_root, names[i]);
                run = validate(path, root, ROOT_MISMATCH_IGNORE);
                is_int(run.r, 0, "environment %s: valid", names[i]);
                if (!is_int(run.problems.n_items, 0, "environment %s: no problems", names[i]))
                        dump_problems(&run.problems);
                if (ok(run.config, "environment %s: a Config", names[i])) {
                        is_str(run.config->environment, names[i], "environment %s: its name", names[i]);
                        is_int(run.config->n_mappings, 6, "environment %s: six mappings", names[i]);
                }
                run_done(&run);
        }
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(path);
}

static void cleanup(void) {
        (void) nftw(tmp_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void on_alarm(int sig) {
        static const char message[] = "Bail out! timed out: a hostile input hung the validation\n";

        if (write(STDOUT_FILENO, message, sizeof message - 1) < 0)
                _exit(EXIT_FAILURE);
        _exit(EXIT_FAILURE);
}

int main(void) {
        int r;

        (void) signal(SIGALRM, on_alarm);
        (void) alarm(TEST_TIMEOUT_SEC);

        if (!mkdtemp(tmp_dir))
                die("mkdtemp");
        make_tree();

        test_hostile_cases();
        test_valid_cases();
        test_many_problems();
        test_root_mismatch();
        test_parameters_not_applicable();
        test_bundled_environments();

        r = tap_done();
        cleanup();
        return r;
}
