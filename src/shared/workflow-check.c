/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Checks ComfyUI workflow files beneath a workflows root, caching each verdict by file identity and path. */
#include <assert.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "json-util.h"
#include "open-beneath.h"
#include "quality-def.h"
#include "workflow-check-internal.h"

#define MIB (UINT64_C(1024) * 1024)

int workflow_checker_new(const char *root, WorkflowChecker **ret) {
        _cleanup_(workflow_checker_freep) WorkflowChecker *c = NULL;

        assert(root);
        assert(ret);

        c = calloc(1, sizeof(WorkflowChecker));
        if (!c)
                return -ENOMEM;
        c->root_fd = -EBADF;

        c->root = strdup(root);
        if (!c->root)
                return -ENOMEM;

        c->root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (c->root_fd < 0)
                return negative_errno();

        c->tokener = json_tokener_new_ex(WORKFLOW_JSON_DEPTH_MAX);
        if (!c->tokener)
                return -ENOMEM;
        /* Strict: no comments, no trailing commas, nothing but whitespace after the value. */
        json_tokener_set_flags(c->tokener, JSON_TOKENER_STRICT);

        *ret = TAKE_PTR(c);
        return 0;
}

WorkflowChecker *workflow_checker_free(WorkflowChecker *c) {
        if (!c)
                return NULL;

        workflow_checker_flush(c);
        free(c->identities);
        free(c->paths);
        if (c->tokener)
                json_tokener_free(c->tokener);
        free(c->buffer);
        free(c->file);
        safe_close(c->root_fd);
        free(c->root);
        free(c);
        return NULL;
}

const char *workflow_checker_root(const WorkflowChecker *c) {
        assert(c);
        return c->root;
}

int workflow_checker_root_fd(const WorkflowChecker *c) {
        assert(c);
        return c->root_fd;
}

unsigned workflow_checker_parse_count(const WorkflowChecker *c) {
        assert(c);
        return c->n_parsed;
}

static int buffer_reserve(char **buffer, size_t *size, size_t need) {
        char *p;

        if (need <= *size)
                return 0;

        p = realloc(*buffer, need);
        if (!p)
                return -ENOMEM;
        *buffer = p;
        *size = need;
        return 0;
}

/* Builds "WORKFLOW_PATH/workflow_api.json" in c->file, the name both the kernel and users see. */
static int build_file_name(WorkflowChecker *c, const char *workflow_path) {
        size_t n = strlen(workflow_path);
        int r;

        while (n > 0 && workflow_path[n - 1] == '/')
                n--;

        r = buffer_reserve(&c->file, &c->file_size, n + 1 + strlen(WORKFLOW_FILE_NAME) + 1);
        if (r < 0)
                return r;

        if (n == 0)
                strcpy(c->file, WORKFLOW_FILE_NAME);
        else {
                memcpy(c->file, workflow_path, n);
                c->file[n] = '/';
                strcpy(c->file + n + 1, WORKFLOW_FILE_NAME);
        }
        return 0;
}

/* Opens c->file beneath the root. Returns 0 with an fd in *ret_fd, or 0 with -EBADF there and the problem
 * in v; fails only when the system, not the file, is the trouble. */
static int open_workflow(WorkflowChecker *c, int *ret_fd, Verdict *v) {
        int fd;

        fd = open_beneath(c->root_fd, c->file, O_RDONLY | O_NOCTTY | O_NONBLOCK);
        if (fd >= 0) {
                *ret_fd = fd;
                return 0;
        }
        errno = -fd;

        *ret_fd = -EBADF;
        switch (errno) {
        case ENOENT:
        case ENOTDIR:
                return verdict_set(v, PROBLEM_WORKFLOW_MISSING, "is missing beneath %s.", c->root);
        case EXDEV:
                return verdict_set(v, PROBLEM_WORKFLOW_ESCAPES_ROOT,
                                   "resolves outside %s; neither '..' nor a symbolic link may leave the "
                                   "workflows root.",
                                   c->root);
        case ELOOP:
                return verdict_set(v, PROBLEM_WORKFLOW_ESCAPES_ROOT,
                                   "cannot be resolved beneath %s: too many levels of symbolic links, or a "
                                   "link through /proc.",
                                   c->root);
        case EACCES:
        case EPERM:
                return verdict_set(v, PROBLEM_WORKFLOW_UNREADABLE, "cannot be opened beneath %s: %s.",
                                   c->root, strerror(errno));
        case ENXIO:
        case ENODEV:
        case EOPNOTSUPP:
        case ETXTBSY:
                return verdict_set(v, PROBLEM_WORKFLOW_NOT_REGULAR,
                                   "is not a regular file (a socket or a device node).");
        case ENOMEM:
        case EMFILE:
        case ENFILE:
        case ENOSYS:
        case E2BIG:
                /* Trouble of this process or kernel, not of the file: not a verdict to cache. */
                return negative_errno();
        default:
                return verdict_set(v, PROBLEM_WORKFLOW_UNREADABLE, "cannot be opened beneath %s: %s.",
                                   c->root, strerror(errno));
        }
}

static const char *file_type_name(mode_t mode) {
        switch (mode & S_IFMT) {
        case S_IFDIR:
                return "a directory";
        case S_IFIFO:
                return "a FIFO";
        case S_IFSOCK:
                return "a socket";
        case S_IFCHR:
                return "a character device";
        case S_IFBLK:
                return "a block device";
        default:
                return "a special file";
        }
}

static const char *json_type_article_name(enum json_type t) {
        switch (t) {
        case json_type_array:
                return "an array";
        case json_type_string:
                return "a string";
        case json_type_int:
        case json_type_double:
                return "a number";
        case json_type_boolean:
                return "a boolean";
        case json_type_null:
                return "null";
        default:
                return "an object";
        }
}

/* Reads the whole file into c->buffer, NUL-terminated. Normally one read(): the size fstat() gave plus
 * one byte, so a file that grew since is noticed; a short read past the expected size is taken as EOF.
 * Sets *ret_too_large when more than WORKFLOW_SIZE_MAX bytes are there. */
static int read_file(WorkflowChecker *c, int fd, uint64_t expected, size_t *ret_size, bool *ret_too_large) {
        size_t want = (size_t) MIN(expected + 1, WORKFLOW_SIZE_MAX + 1), n = 0;
        int r;

        for (;;) {
                ssize_t k;

                if (n == want) {
                        if (want > WORKFLOW_SIZE_MAX) {
                                *ret_size = n;
                                *ret_too_large = true;
                                return 0;
                        }
                        /* The file grew since fstat(). */
                        want = (size_t) MIN((uint64_t) want * 2, WORKFLOW_SIZE_MAX + 1);
                }

                r = buffer_reserve(&c->buffer, &c->buffer_size, want + 1);
                if (r < 0)
                        return r;

                k = read(fd, c->buffer + n, want - n);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (k == 0)
                        break;
                n += (size_t) k;
                if (n < want && n >= expected)
                        break;
        }

        c->buffer[n] = '\0';
        *ret_size = n;
        *ret_too_large = false;
        return 0;
}

static void text_position(const char *text, size_t offset, unsigned *ret_line, unsigned *ret_column) {
        unsigned line = 1, column = 1;

        for (size_t i = 0; i < offset; i++)
                if (text[i] == '\n') {
                        line++;
                        column = 1;
                } else
                        column++;

        *ret_line = line;
        *ret_column = column;
}

static int verdict_invalid_json(WorkflowChecker *c, Verdict *v, const char *what, size_t offset) {
        unsigned line, column;

        text_position(c->buffer, offset, &line, &column);
        return verdict_set(v, PROBLEM_WORKFLOW_INVALID_JSON, "is not valid JSON: %s at line %u, column %u.",
                           what, line, column);
}

static bool is_sampler(const char *class_type) {
        return streq(class_type, "KSampler") || streq(class_type, "KSamplerAdvanced");
}

/* A link is an input ["node id", output index]. */
static const char *link_target(struct json_object *value) {
        struct json_object *id;

        if (!json_object_is_type(value, json_type_array) || json_object_array_length(value) != 2)
                return NULL;
        id = json_object_array_get_idx(value, 0);
        if (!json_object_is_type(id, json_type_string) ||
            !json_object_is_type(json_object_array_get_idx(value, 1), json_type_int))
                return NULL;
        return json_object_get_string(id);
}

/* Checks that top is ComfyUI's API format: node id -> {"class_type": string, "inputs": object}, every
 * link naming an existing node. */
static int check_api_format(struct json_object *top, Verdict *v) {
        struct json_object *nodes, *links;
        bool has_sampler = false;

        if (!json_object_is_type(top, json_type_object))
                return verdict_set(v, PROBLEM_WORKFLOW_NOT_API_FORMAT,
                                   "is not in ComfyUI's API format: its top level is %s, not an object of "
                                   "nodes.",
                                   json_type_article_name(json_object_get_type(top)));

        if (json_object_object_get_ex(top, "nodes", &nodes) && json_object_is_type(nodes, json_type_array) &&
            json_object_object_get_ex(top, "links", &links) && json_object_is_type(links, json_type_array))
                return verdict_set(v, PROBLEM_WORKFLOW_UI_FORMAT,
                                   "is in ComfyUI's UI format; export it with \"Save (API Format)\" in "
                                   "ComfyUI.");

        if (json_object_object_length(top) == 0)
                return verdict_set(v, PROBLEM_WORKFLOW_NOT_API_FORMAT,
                                   "is not in ComfyUI's API format: it has no nodes.");

        /* json-c's json_object_object_foreach() is a GNU statement expression: use its iterators. */
        for (struct json_object_iterator i = json_object_iter_begin(top), end = json_object_iter_end(top);
             !json_object_iter_equal(&i, &end); json_object_iter_next(&i)) {
                const char *id = json_object_iter_peek_name(&i);
                struct json_object *node = json_object_iter_peek_value(&i), *class_type, *inputs;

                if (!json_object_is_type(node, json_type_object))
                        return verdict_set(v, PROBLEM_WORKFLOW_NOT_API_FORMAT,
                                           "is not in ComfyUI's API format: node '%s' is not an object.",
                                           id);
                if (!json_object_object_get_ex(node, "class_type", &class_type) ||
                    !json_object_is_type(class_type, json_type_string))
                        return verdict_set(v, PROBLEM_WORKFLOW_NOT_API_FORMAT,
                                           "is not in ComfyUI's API format: node '%s' has no \"class_type\" "
                                           "string.",
                                           id);
                if (!json_object_object_get_ex(node, "inputs", &inputs) ||
                    !json_object_is_type(inputs, json_type_object))
                        return verdict_set(v, PROBLEM_WORKFLOW_NOT_API_FORMAT,
                                           "is not in ComfyUI's API format: node '%s' has no \"inputs\" "
                                           "object.",
                                           id);

                if (is_sampler(json_object_get_string(class_type)))
                        has_sampler = true;
        }
        v->has_sampler = has_sampler;

        /* Links only once every node is known to be well-formed: a broken node is the bigger problem. */
        for (struct json_object_iterator i = json_object_iter_begin(top), end = json_object_iter_end(top);
             !json_object_iter_equal(&i, &end); json_object_iter_next(&i)) {
                struct json_object *node = json_object_iter_peek_value(&i),
                                   *inputs = json_object_object_get(node, "inputs");

                for (struct json_object_iterator j = json_object_iter_begin(inputs),
                                                 inputs_end = json_object_iter_end(inputs);
                     !json_object_iter_equal(&j, &inputs_end); json_object_iter_next(&j)) {
                        const char *target = link_target(json_object_iter_peek_value(&j));

                        if (target && !json_object_object_get_ex(top, target, NULL))
                                return verdict_set(v, PROBLEM_WORKFLOW_DANGLING_LINK,
                                                   "has a dangling link: input '%s' of node '%s' refers to "
                                                   "node '%s', which does not exist.",
                                                   json_object_iter_peek_name(&j),
                                                   json_object_iter_peek_name(&i), target);
                }
        }

        return 0;
}

/* Checks an opened file. *ret_identity tells whether the verdict belongs to the file's identity (and may
 * be cached by it) or only to this attempt (a read error). */
static int check_file(WorkflowChecker *c, int fd, const struct stat *st, Verdict *v, bool *ret_identity,
                      struct json_object **ret_top) {
        _cleanup_(json_object_putp) struct json_object *top = NULL;
        enum json_tokener_error e;
        size_t size, end;
        bool too_large;
        const char *nul;
        int r;

        *ret_identity = true;

        if (!S_ISREG(st->st_mode))
                return verdict_set(v, PROBLEM_WORKFLOW_NOT_REGULAR, "is %s, not a regular file.",
                                   file_type_name(st->st_mode));
        if ((uint64_t) st->st_size > WORKFLOW_SIZE_MAX)
                return verdict_set(v, PROBLEM_WORKFLOW_TOO_LARGE,
                                   "is %jd bytes, more than the limit of %" PRIu64 " MiB.",
                                   (intmax_t) st->st_size, WORKFLOW_SIZE_MAX / MIB);

        r = read_file(c, fd, (uint64_t) st->st_size, &size, &too_large);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                *ret_identity = false;
                return verdict_set(v, PROBLEM_WORKFLOW_UNREADABLE, "cannot be read: %s.", strerror(-r));
        }
        if (too_large)
                return verdict_set(v, PROBLEM_WORKFLOW_TOO_LARGE,
                                   "is more than the limit of %" PRIu64 " MiB.", WORKFLOW_SIZE_MAX / MIB);
        if (size == 0)
                return verdict_set(v, PROBLEM_WORKFLOW_INVALID_JSON, "is empty, not JSON.");

        /* JSON text has no raw NUL bytes, and json-c would take one as the end of the input. */
        nul = memchr(c->buffer, '\0', size);
        if (nul)
                return verdict_invalid_json(c, v, "a NUL byte", (size_t) (nul - c->buffer));

        c->n_parsed++;
        json_tokener_reset(c->tokener);
        /* Parse the terminating NUL too: it ends a top-level number or literal, and an unfinished document
         * is an error rather than a request for more input. */
        top = json_tokener_parse_ex(c->tokener, c->buffer, (int) size + 1);
        e = json_tokener_get_error(c->tokener);
        end = json_tokener_get_parse_end(c->tokener);
        if (e != json_tokener_success)
                return verdict_invalid_json(c, v, json_tokener_error_desc(e), MIN(end, size));
        for (; end < size; end++)
                if (!strchr(" \t\r\n", c->buffer[end]))
                        return verdict_invalid_json(c, v, "unexpected data after the JSON value", end);

        /* A document of just "null" parses to NULL without an error; check_api_format() names it. */
        r = check_api_format(top, v);
        if (r >= 0 && v->code < 0 && ret_top)
                *ret_top = TAKE_PTR(top);
        return r;
}

int workflow_checker_check(WorkflowChecker *c, const char *workflow_path, const WorkflowResult **ret) {
        _cleanup_(verdict_done) Verdict v = { .code = _PROBLEM_CODE_INVALID };
        _cleanup_close_ int fd = -EBADF;
        const WorkflowResult *result;
        const Verdict *found = &v;
        uint64_t hash;
        int r;

        assert(c);
        assert(workflow_path);
        assert(ret);

        hash = string_hash(workflow_path);
        result = path_lookup(c, workflow_path, hash);
        if (result) {
                *ret = result;
                return 0;
        }

        r = build_file_name(c, workflow_path);
        if (r < 0)
                return r;

        r = open_workflow(c, &fd, &v);
        if (r < 0)
                return r;
        if (fd >= 0) {
                IdentitySlot *slot;
                struct stat st;
                FileKey key;
                bool by_identity;

                if (fstat(fd, &st) < 0)
                        return negative_errno();

                file_key_from_stat(&key, &st);
                slot = identity_lookup(c, &key, file_key_hash(&key));
                if (slot)
                        found = &slot->verdict;
                else {
                        r = check_file(c, fd, &st, &v, &by_identity, NULL);
                        if (r < 0)
                                return r;
                        if (by_identity) {
                                r = identity_insert(c, &key, &v, &slot);
                                if (r < 0)
                                        return r;
                                found = &slot->verdict;
                        }
                }
        }

        result = result_new(c->file, found);
        if (!result)
                return -ENOMEM;
        r = path_insert(c, workflow_path, hash, result);
        if (r < 0)
                return r;

        *ret = result;
        return 0;
}

int workflow_checker_load(WorkflowChecker *c, const char *workflow_path, struct json_object **ret) {
        _cleanup_(verdict_done) Verdict v = { .code = _PROBLEM_CODE_INVALID };
        _cleanup_close_ int fd = -EBADF;
        struct json_object *top = NULL;
        bool by_identity;
        struct stat st;
        int r;

        assert(c);
        assert(workflow_path);
        assert(ret);

        r = build_file_name(c, workflow_path);
        if (r < 0)
                return r;

        r = open_workflow(c, &fd, &v);
        if (r < 0)
                return r;
        if (fd < 0)
                return v.code == PROBLEM_WORKFLOW_MISSING ? -ENOENT : -EBADMSG;

        if (fstat(fd, &st) < 0)
                return negative_errno();

        r = check_file(c, fd, &st, &v, &by_identity, &top);
        if (r < 0)
                return r;
        if (v.code >= 0)
                return -EBADMSG;

        *ret = top;
        return 0;
}
