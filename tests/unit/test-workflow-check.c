/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests of the workflow checker: containment, file types, sizes, JSON, API format, cache. */
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "quality-def.h"
#include "tap.h"
#include "open-beneath.h"
#include "workflow-check.h"

/* Everything a check may wait on is a local file; a FIFO that blocked the check would hang the test. */
#define TEST_TIMEOUT_SEC 60U
#define NOBODY 65534
/* Exit statuses of the unprivileged child: the result's code + 1, with this bit set when the message names
 * the file. */
#define CHILD_NAMES_FILE 0x40
#define CHILD_CHECK_FAILED 255
#define CHILD_NO_PRIVILEGE_DROP 254

static char tmp_dir[] = "/tmp/test-workflow-check-XXXXXX";
static char root[PATH_MAX];

static const char good_workflow[] =
        "{\n"
        "  \"3\": {\"class_type\": \"KSampler\", \"_meta\": {\"title\": \"KSampler\"},\n"
        "        \"inputs\": {\"seed\": 1, \"steps\": 20, \"cfg\": 7.0, \"model\": [\"4\", 0],\n"
        "                   \"positive\": [\"6\", 0], \"latent_image\": [\"5\", 0]}},\n"
        "  \"4\": {\"class_type\": \"CheckpointLoaderSimple\",\n"
        "        \"inputs\": {\"ckpt_name\": \"x.safetensors\"}},\n"
        "  \"5\": {\"class_type\": \"EmptyLatentImage\", \"inputs\": {\"width\": 512, \"height\": 512}},\n"
        "  \"6\": {\"class_type\": \"CLIPTextEncode\",\n"
        "        \"inputs\": {\"text\": \"a cat\", \"clip\": [\"4\", 1]}}\n"
        "}\n  \n";

static const char no_sampler_workflow[] =
        "{\"1\": {\"class_type\": \"LoadImage\", \"inputs\": {\"image\": \"a.png\"}},\n"
        " \"2\": {\"class_type\": \"SaveImage\",\n"
        "        \"inputs\": {\"images\": [\"1\", 0], \"pair\": [\"x\", \"y\"]}}}";

static void die(const char *what) {
        perror(what);
        exit(EXIT_FAILURE);
}

static const char *in_tmp(const char *rel) {
        static char path[PATH_MAX];

        (void) snprintf(path, sizeof path, "%s/%s", tmp_dir, rel);
        return path;
}

static void make_dir(const char *rel) {
        if (mkdir(in_tmp(rel), 0755) < 0)
                die(rel);
}

static void write_file(const char *rel, const char *data, size_t size) {
        int fd = open(in_tmp(rel), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

        if (fd < 0)
                die(rel);
        if (write(fd, data, size) != (ssize_t) size)
                die(rel);
        (void) close(fd);
}

/* Creates root/DIR/workflow_api.json with the given text. */
static void make_workflow(const char *dir, const char *text) {
        char rel[PATH_MAX];

        (void) snprintf(rel, sizeof rel, "root/%s", dir);
        make_dir(rel);
        (void) snprintf(rel, sizeof rel, "root/%s/" WORKFLOW_FILE_NAME, dir);
        write_file(rel, text, strlen(text));
}

static void make_symlink(const char *target, const char *rel) {
        if (symlink(target, in_tmp(rel)) < 0)
                die(rel);
}

static const WorkflowResult *check(WorkflowChecker *c, const char *workflow_path) {
        const WorkflowResult *result = NULL;
        int r;

        r = workflow_checker_check(c, workflow_path, &result);
        if (r < 0) {
                printf("# checking '%s' failed: %s\n", workflow_path, strerror(-r));
                return NULL;
        }
        return result;
}

/* Checks workflow_path and expects the problem code (or _PROBLEM_CODE_INVALID for a good workflow). */
static const WorkflowResult *expect(WorkflowChecker *c, const char *workflow_path, ProblemCode code,
                                    const char *what) {
        const WorkflowResult *result = check(c, workflow_path);

        if (!ok(result, "%s: check succeeds", what))
                return NULL;
        is_int(result->code, code, "%s: code %s", what,
               code == _PROBLEM_CODE_INVALID ? "none" : problem_code_to_string(code));
        if (code == _PROBLEM_CODE_INVALID)
                ok(!result->message, "%s: no message", what);
        else {
                ok(result->message && strstr(result->message, WORKFLOW_FILE_NAME),
                   "%s: message names the file", what);
                printf("#   %s\n", result->message ? result->message : "(null)");
        }
        return result;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        (void) st;
        (void) flag;
        (void) ftw;
        if (remove(path) < 0)
                perror(path);
        return 0;
}

static void test_new(void) {
        WorkflowChecker *c = NULL;

        is_int(workflow_checker_new(in_tmp("nonexistent"), &c), -ENOENT,
               "a missing root fails with -ENOENT");
        ok(!c, "a failed new leaves ret untouched");
        is_int(workflow_checker_new(in_tmp("outside/" WORKFLOW_FILE_NAME), &c), -ENOTDIR,
               "a file as root fails with -ENOTDIR");
}

static void test_good(WorkflowChecker *c) {
        const WorkflowResult *result;
        char message[PATH_MAX * 2];

        result = expect(c, "good", _PROBLEM_CODE_INVALID, "good workflow");
        ok(result && result->has_sampler, "good workflow: has a sampler");
        result = expect(c, "library/image/nosampler_v1", _PROBLEM_CODE_INVALID, "workflow without sampler");
        ok(result && !result->has_sampler, "workflow without sampler: has no sampler");

        result = expect(c, "missing_file", PROBLEM_WORKFLOW_MISSING, "missing file");
        (void) snprintf(message, sizeof message,
                        "Workflow 'missing_file/workflow_api.json' is missing beneath %s.", root);
        is_str(result ? result->message : NULL, message, "missing file: message");
        expect(c, "no/such/dir", PROBLEM_WORKFLOW_MISSING, "missing directory");
        expect(c, "good/" WORKFLOW_FILE_NAME, PROBLEM_WORKFLOW_MISSING, "a path through a regular file");
        expect(c, "broken_link", PROBLEM_WORKFLOW_MISSING, "a dangling symlink as the file");
}

static void test_containment(WorkflowChecker *c) {
        const WorkflowResult *result;

        expect(c, "../outside", PROBLEM_WORKFLOW_ESCAPES_ROOT, "'..' leaving the root");
        expect(c, "good/../../outside", PROBLEM_WORKFLOW_ESCAPES_ROOT, "'..' deeper leaving the root");
        expect(c, in_tmp("outside"), PROBLEM_WORKFLOW_ESCAPES_ROOT, "an absolute workflow path");
        expect(c, "links/absolute", PROBLEM_WORKFLOW_ESCAPES_ROOT, "absolute symlink out of the root");
        expect(c, "links/relative", PROBLEM_WORKFLOW_ESCAPES_ROOT, "relative symlink ../../outside");
        expect(c, "links/loop", PROBLEM_WORKFLOW_ESCAPES_ROOT, "a symlink loop");
        expect(c, "good/../good", _PROBLEM_CODE_INVALID, "'..' staying inside the root");

        result = expect(c, "links/inside", _PROBLEM_CODE_INVALID, "relative symlink staying inside");
        ok(result && result->has_sampler, "relative symlink staying inside: has a sampler");
}

static void test_file_types(WorkflowChecker *c) {
        expect(c, "dir", PROBLEM_WORKFLOW_NOT_REGULAR, "a directory named " WORKFLOW_FILE_NAME);
        expect(c, "fifo", PROBLEM_WORKFLOW_NOT_REGULAR, "a FIFO");
        expect(c, "socket", PROBLEM_WORKFLOW_NOT_REGULAR, "a socket");
        expect(c, "big", PROBLEM_WORKFLOW_TOO_LARGE, "a file of WORKFLOW_SIZE_MAX + 1 bytes");
        expect(c, "limit", PROBLEM_WORKFLOW_INVALID_JSON,
               "a file of exactly WORKFLOW_SIZE_MAX bytes is read");
}

static void test_json(WorkflowChecker *c) {
        const WorkflowResult *result;
        char message[PATH_MAX * 2];

        expect(c, "invalid", PROBLEM_WORKFLOW_INVALID_JSON, "truncated JSON");
        expect(c, "trailing", PROBLEM_WORKFLOW_INVALID_JSON, "trailing garbage");
        expect(c, "two_values", PROBLEM_WORKFLOW_INVALID_JSON, "two JSON values");
        expect(c, "comment", PROBLEM_WORKFLOW_INVALID_JSON, "a comment");
        result = expect(c, "nul", PROBLEM_WORKFLOW_INVALID_JSON, "a NUL byte in the middle");
        ok(result && result->message && strstr(result->message, "line 2, column 4"),
           "a NUL byte in the middle: position");
        expect(c, "empty_file", PROBLEM_WORKFLOW_INVALID_JSON, "an empty file");
        expect(c, "deep", PROBLEM_WORKFLOW_INVALID_JSON, "100 nested arrays");

        expect(c, "array", PROBLEM_WORKFLOW_NOT_API_FORMAT, "top-level array");
        expect(c, "string", PROBLEM_WORKFLOW_NOT_API_FORMAT, "top-level string");
        expect(c, "number", PROBLEM_WORKFLOW_NOT_API_FORMAT, "top-level number");
        expect(c, "null", PROBLEM_WORKFLOW_NOT_API_FORMAT, "top-level null");
        result = expect(c, "no_class_type", PROBLEM_WORKFLOW_NOT_API_FORMAT, "node missing class_type");
        ok(result && result->message && strstr(result->message, "node '7'"),
           "node missing class_type: names it");
        expect(c, "class_type_number", PROBLEM_WORKFLOW_NOT_API_FORMAT, "class_type not a string");
        expect(c, "inputs_array", PROBLEM_WORKFLOW_NOT_API_FORMAT, "inputs not an object");
        expect(c, "node_string", PROBLEM_WORKFLOW_NOT_API_FORMAT, "node not an object");
        result = expect(c, "empty_object", PROBLEM_WORKFLOW_NOT_API_FORMAT, "empty object");
        ok(result && result->message && strstr(result->message, "has no nodes"),
           "empty object: has no nodes");

        result = expect(c, "ui", PROBLEM_WORKFLOW_UI_FORMAT, "UI format");
        is_str(result ? result->message : NULL,
               "Workflow 'ui/workflow_api.json' is in ComfyUI's UI format; "
               "export it with \"Save (API Format)\" in ComfyUI.",
               "UI format: message");

        result = expect(c, "dangling", PROBLEM_WORKFLOW_DANGLING_LINK, "dangling link");
        (void) snprintf(message, sizeof message,
                        "Workflow 'dangling/workflow_api.json' has a dangling link: "
                        "input 'model' of node '3' refers to node '99', which does not exist.");
        is_str(result ? result->message : NULL, message, "dangling link: message");
        result = expect(c, "linked", _PROBLEM_CODE_INVALID, "link to an existing node");
        ok(result && result->has_sampler, "link to an existing node: KSamplerAdvanced is a sampler");
}

static void test_cache(WorkflowChecker *c) {
        const WorkflowResult *first, *again, *result;
        unsigned parsed;

        first = check(c, "good");
        parsed = workflow_checker_parse_count(c);
        again = check(c, "good");
        ok(first && first == again, "the same path twice gives the same result");
        is_int(workflow_checker_parse_count(c), parsed, "the same path twice is parsed once");

        result = expect(c, "good/", _PROBLEM_CODE_INVALID, "the same file by another path");
        is_int(workflow_checker_parse_count(c), parsed, "the same file by another path is not parsed again");
        result =
                expect(c, "links/inside_ui", PROBLEM_WORKFLOW_UI_FORMAT, "a cached problem by another path");
        is_str(result ? result->message : NULL,
               "Workflow 'links/inside_ui/workflow_api.json' is in ComfyUI's UI format; "
               "export it with \"Save (API Format)\" in ComfyUI.",
               "a cached problem by another path: the message names that path");
        is_int(workflow_checker_parse_count(c), parsed,
               "a cached problem by another path is not parsed again");

        /* A changed file (another size) is a new identity, even when reached by a path seen before. */
        write_file("root/library/image/nosampler_v1/" WORKFLOW_FILE_NAME, good_workflow,
                   strlen(good_workflow));
        result = expect(c, "./library/image/nosampler_v1", _PROBLEM_CODE_INVALID, "a changed file");
        ok(result && result->has_sampler, "a changed file: is read again");
        is_int(workflow_checker_parse_count(c), parsed + 1, "a changed file is parsed again");

        workflow_checker_flush(c);
        result = expect(c, "good", _PROBLEM_CODE_INVALID, "after a flush");
        is_int(workflow_checker_parse_count(c), parsed + 2, "after a flush the file is parsed again");
        expect(c, "missing_file", PROBLEM_WORKFLOW_MISSING, "a missing file after a flush");
}

static void test_unreadable(WorkflowChecker *c) {
        int status;
        pid_t pid;

        if (chmod(in_tmp("root/unreadable/" WORKFLOW_FILE_NAME), 0) < 0)
                die("chmod");

        if (geteuid() != 0) {
                expect(c, "unreadable", PROBLEM_WORKFLOW_UNREADABLE, "an unreadable file");
                return;
        }

        /* Root reads anything: check from a child that gave up its privileges. */
        fflush(stdout);
        pid = fork();
        if (pid < 0)
                die("fork");
        if (pid == 0) {
                const WorkflowResult *result = NULL;
                bool names_file;

                if (setgroups(0, NULL) < 0 || setresgid(NOBODY, NOBODY, NOBODY) < 0 ||
                    setresuid(NOBODY, NOBODY, NOBODY) < 0)
                        _exit(CHILD_NO_PRIVILEGE_DROP);
                if (workflow_checker_check(c, "unreadable", &result) < 0)
                        _exit(CHILD_CHECK_FAILED);
                names_file = result->message && strstr(result->message, WORKFLOW_FILE_NAME);
                _exit((result->code + 1) | (names_file ? CHILD_NAMES_FILE : 0));
        }
        if (waitpid(pid, &status, 0) < 0)
                die("waitpid");
        if (WIFEXITED(status) && WEXITSTATUS(status) == CHILD_NO_PRIVILEGE_DROP) {
                ok(true, "an unreadable file # SKIP cannot drop root privileges");
                return;
        }
        if (!ok(WIFEXITED(status) && WEXITSTATUS(status) != CHILD_CHECK_FAILED,
                "an unreadable file: check succeeds"))
                return;
        is_int((WEXITSTATUS(status) & ~CHILD_NAMES_FILE) - 1, PROBLEM_WORKFLOW_UNREADABLE,
               "an unreadable file: code %s", problem_code_to_string(PROBLEM_WORKFLOW_UNREADABLE));
        ok(WEXITSTATUS(status) & CHILD_NAMES_FILE, "an unreadable file: message names the file");
}

static void make_tree(void) {
        char text[512], nul_text[] = "{\"1\":\n   \0 {}}";
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        const char *socket_path;
        int fd;

        if (!mkdtemp(tmp_dir))
                die("mkdtemp");
        (void) snprintf(root, sizeof root, "%s/root", tmp_dir);
        /* mkdtemp makes a 0700 directory; the unreadable test's child must be able to walk it. */
        if (chmod(tmp_dir, 0755) < 0)
                die("chmod");
        make_dir("root");
        make_dir("outside");
        write_file("outside/" WORKFLOW_FILE_NAME, good_workflow, strlen(good_workflow));

        make_workflow("good", good_workflow);
        make_dir("root/library");
        make_dir("root/library/image");
        make_workflow("library/image/nosampler_v1", no_sampler_workflow);
        make_dir("root/missing_file");
        make_dir("root/broken_link");
        make_symlink("nowhere.json", "root/broken_link/" WORKFLOW_FILE_NAME);

        make_dir("root/links");
        make_symlink(in_tmp("outside"), "root/links/absolute");
        make_symlink("../../outside", "root/links/relative");
        make_symlink("loop", "root/links/loop");
        make_symlink("../good", "root/links/inside");
        make_symlink("../ui", "root/links/inside_ui");

        make_dir("root/dir");
        make_dir("root/dir/" WORKFLOW_FILE_NAME);
        make_dir("root/fifo");
        if (mkfifo(in_tmp("root/fifo/" WORKFLOW_FILE_NAME), 0644) < 0)
                die("mkfifo");
        make_dir("root/socket");
        socket_path = in_tmp("root/socket/" WORKFLOW_FILE_NAME);
        if (strlen(socket_path) >= sizeof sa.sun_path)
                die("socket path too long");
        memcpy(sa.sun_path, socket_path, strlen(socket_path) + 1);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || bind(fd, (struct sockaddr *) &sa, sizeof sa) < 0)
                die("bind");
        (void) close(fd);

        make_workflow("big", "");
        fd = open(in_tmp("root/big/" WORKFLOW_FILE_NAME), O_WRONLY | O_CLOEXEC);
        if (fd < 0 || ftruncate(fd, (off_t) WORKFLOW_SIZE_MAX + 1) < 0)
                die("ftruncate");
        (void) close(fd);
        /* Sparse: all NUL bytes, so it is read in full and then refused as JSON. */
        make_workflow("limit", "");
        fd = open(in_tmp("root/limit/" WORKFLOW_FILE_NAME), O_WRONLY | O_CLOEXEC);
        if (fd < 0 || ftruncate(fd, (off_t) WORKFLOW_SIZE_MAX) < 0)
                die("ftruncate");
        (void) close(fd);

        make_workflow("invalid", "{\"1\": {\"class_type\": ");
        (void) snprintf(text, sizeof text, "%s x", no_sampler_workflow);
        make_workflow("trailing", text);
        make_workflow("two_values", "{} {}");
        make_workflow("comment", "/* c */ {\"1\": {\"class_type\": \"A\", \"inputs\": {}}}");
        make_workflow("nul", "");
        write_file("root/nul/" WORKFLOW_FILE_NAME, nul_text, sizeof nul_text - 1);
        make_workflow("empty_file", "");
        {
                char deep[512] = "{\"1\": {\"class_type\": \"A\", \"inputs\": {\"x\": ";
                size_t n = strlen(deep);

                for (unsigned i = 0; i < 100; i++)
                        deep[n++] = '[';
                for (unsigned i = 0; i < 100; i++)
                        deep[n++] = ']';
                (void) snprintf(deep + n, sizeof deep - n, "}}}");
                make_workflow("deep", deep);
        }

        make_workflow("array", "[{\"class_type\": \"A\", \"inputs\": {}}]");
        make_workflow("string", "\"workflow\"\n");
        make_workflow("number", "42");
        make_workflow("null", "null\n");
        make_workflow("no_class_type",
                      "{\"1\": {\"class_type\": \"A\", \"inputs\": {}}, \"7\": {\"inputs\": {}}}");
        make_workflow("class_type_number", "{\"1\": {\"class_type\": 1, \"inputs\": {}}}");
        make_workflow("inputs_array", "{\"1\": {\"class_type\": \"A\", \"inputs\": []}}");
        make_workflow("node_string", "{\"1\": \"KSampler\"}");
        make_workflow("empty_object", " {} ");
        make_workflow("ui", "{\"last_node_id\": 9, \"nodes\": [{\"id\": 3, \"type\": \"KSampler\"}],"
                            " \"links\": [], \"version\": 0.4}");
        make_workflow("dangling",
                      "{\"4\": {\"class_type\": \"CheckpointLoaderSimple\", \"inputs\": {}},"
                      " \"3\": {\"class_type\": \"KSampler\", \"inputs\": {\"model\": [\"99\", 0]}}}");
        /* Only ["id", integer] is a link: a triple or a float index is a plain value. */
        make_workflow("linked",
                      "{\"4\": {\"class_type\": \"CheckpointLoaderSimple\", \"inputs\": {}},"
                      " \"3\": {\"class_type\": \"KSamplerAdvanced\", \"inputs\": {\"model\": [\"4\", 0],"
                      " \"three\": [\"99\", 0, 1], \"float\": [\"99\", 0.5]}}}");
        make_workflow("unreadable", good_workflow);
}

int main(void) {
        _cleanup_(workflow_checker_freep) WorkflowChecker *c = NULL;
        int r;

        (void) alarm(TEST_TIMEOUT_SEC);
        make_tree();

        test_new();
        r = workflow_checker_new(root, &c);
        if (!is_int(r, 0, "opening the root succeeds"))
                return tap_done();
        is_str(workflow_checker_root(c), root, "the checker keeps the root's name");
        ok(workflow_checker_root_fd(c) >= 0, "the checker keeps the root open");

        test_good(c);
        test_containment(c);
        test_file_types(c);
        test_json(c);
        test_cache(c);
        test_unreadable(c);

        /* Everything again by the walk that stands in for openat2() where the kernel has none. */
        printf("# again, resolving by walking the path instead of openat2()\n");
        write_file("root/library/image/nosampler_v1/" WORKFLOW_FILE_NAME, no_sampler_workflow,
                   strlen(no_sampler_workflow));
        open_beneath_force_walk(true);
        c = workflow_checker_free(c);
        r = workflow_checker_new(root, &c);
        if (!is_int(r, 0, "opening the root succeeds (walk)"))
                return tap_done();
        test_good(c);
        test_containment(c);
        test_file_types(c);
        test_json(c);
        test_cache(c);
        test_unreadable(c);
        open_beneath_force_walk(false);

        (void) nftw(tmp_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
        return tap_done();
}
