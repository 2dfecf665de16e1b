/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests of the generation store and of the atomic file helpers it writes with. */
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fileio.h"
#include "generation-store.h"
#include "quality-def.h"
#include "sha256.h"
#include "tap.h"

#define TEST_TIMEOUT_SEC 60U
#define NOBODY 65534
#define RETENTION_APPENDS 55U
#define APPLIED_USEC_BASE UINT64_C(1700000000000000)
#define CHILD_SETUP_FAILED 255

static char tmp_dir[] = "/tmp/test-generation-store-XXXXXX";

static void die(const char *what) {
        perror(what);
        exit(EXIT_FAILURE);
}

/* Paths are built in rotating static buffers, so that a few can be used in one expression. */
static const char *in_tmp(const char *format, ...) _printf_(1, 2);
static const char *in_tmp(const char *format, ...) {
        static char paths[4][PATH_MAX];
        static unsigned next;
        char *path = paths[next++ % ELEMENTSOF(paths)];
        size_t n;
        va_list ap;

        n = (size_t) snprintf(path, PATH_MAX, "%s/", tmp_dir);
        va_start(ap, format);
        (void) vsnprintf(path + n, PATH_MAX - n, format, ap);
        va_end(ap);
        return path;
}

static void make_dir(const char *path) {
        if (mkdir(path, 0755) < 0)
                die(path);
}

static void write_raw(const char *path, const char *data, size_t size, mode_t mode) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

        if (fd < 0)
                die(path);
        if (write(fd, data, size) != (ssize_t) size)
                die(path);
        (void) close(fd);
}

static void write_string(const char *path, const char *s) {
        write_raw(path, s, strlen(s), 0644);
}

static bool exists(const char *path) {
        struct stat st;

        return lstat(path, &st) >= 0;
}

static mode_t file_mode(const char *path) {
        struct stat st;

        if (stat(path, &st) < 0)
                return (mode_t) -1;
        return st.st_mode & 07777;
}

/* Counts the entries of a directory whose names start with prefix ("" for all but . and ..). */
static unsigned count_entries(const char *dir, const char *prefix) {
        struct dirent *de;
        unsigned n = 0;
        DIR *d;

        d = opendir(dir);
        if (!d)
                die(dir);
        while ((de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, "..") &&
                    strneq(de->d_name, prefix, strlen(prefix)))
                        n++;
        (void) closedir(d);
        return n;
}

static char *read_or_null(const char *path, size_t *ret_size) {
        char *text = NULL;

        if (read_full_file(path, SIZE_MAX, &text, ret_size) < 0)
                return NULL;
        return text;
}

static void test_read_full_file(void) {
        char *text = (char *) "untouched";
        size_t size = 42;
        int r;

        write_string(in_tmp("ten"), "0123456789");

        r = read_full_file(in_tmp("ten"), 10, &text, &size);
        is_int(r, 0, "read_full_file: a file of exactly max_size is read");
        if (r >= 0) {
                is_str(text, "0123456789", "read_full_file: contents");
                is_int(size, 10, "read_full_file: size");
                free(text);
        }

        text = (char *) "untouched";
        size = 42;
        is_int(read_full_file(in_tmp("ten"), 9, &text, &size), -EFBIG,
               "read_full_file: one byte past max_size is -EFBIG");
        ok(streq(text, "untouched") && size == 42, "read_full_file: outputs untouched on failure");
        is_int(read_full_file(in_tmp("ten"), 0, &text, &size), -EFBIG,
               "read_full_file: max_size 0 and a byte");

        write_string(in_tmp("empty"), "");
        r = read_full_file(in_tmp("empty"), 0, &text, &size);
        is_int(r, 0, "read_full_file: an empty file is read");
        if (r >= 0) {
                ok(text[0] == 0 && size == 0, "read_full_file: an empty file is an empty string");
                free(text);
        }

        write_raw(in_tmp("nul"), "a\0b", 3, 0644);
        r = read_full_file(in_tmp("nul"), 100, &text, &size);
        is_int(r, 0, "read_full_file: a NUL byte is fine when the size is returned");
        if (r >= 0) {
                ok(size == 3 && memcmp(text, "a\0b", 4) == 0,
                   "read_full_file: NUL byte kept, NUL-terminated");
                free(text);
        }
        is_int(read_full_file(in_tmp("nul"), 100, &text, NULL), -EBADMSG,
               "read_full_file: a NUL byte without ret_size is -EBADMSG");

        r = read_full_file(in_tmp("ten"), 100, &text, NULL);
        is_int(r, 0, "read_full_file: ret_size may be NULL");
        if (r >= 0)
                free(text);

        /* /proc files report size 0: the buffer must grow as it reads. */
        r = read_full_file("/proc/self/status", 1024 * 1024, &text, &size);
        is_int(r, 0, "read_full_file: a file that reports size 0 is read");
        if (r >= 0) {
                ok(size > 0 && strlen(text) == size && strstr(text, "Name:"),
                   "read_full_file: /proc contents");
                free(text);
        }

        is_int(read_full_file(in_tmp("missing"), 100, &text, &size), -ENOENT, "read_full_file: -ENOENT");
        is_int(read_full_file(tmp_dir, 100, &text, &size), -EISDIR,
               "read_full_file: a directory is -EISDIR");
}

static void test_write_file_atomic(void) {
        _cleanup_free_ char *text = NULL;
        mode_t old_umask;
        size_t size = 0;
        int r;

        make_dir(in_tmp("atomic"));

        old_umask = umask(077);
        r = write_file_atomic(in_tmp("atomic/new"), "hello\n", 6, 0644);
        is_int(r, 0, "write_file_atomic: creates a file");
        is_int(file_mode(in_tmp("atomic/new")), 0644, "write_file_atomic: mode 0644 despite umask 077");
        text = read_or_null(in_tmp("atomic/new"), &size);
        ok(text && size == 6 && streq(text, "hello\n"), "write_file_atomic: contents written");
        free(TAKE_PTR(text));

        write_raw(in_tmp("atomic/old"), "old", 3, 0600);
        r = write_file_atomic(in_tmp("atomic/old"), "replaced", 8, 0644);
        is_int(r, 0, "write_file_atomic: replaces a file");
        is_int(file_mode(in_tmp("atomic/old")), 0644, "write_file_atomic: a 0600 file becomes 0644");
        text = read_or_null(in_tmp("atomic/old"), &size);
        ok(text && streq(text, "replaced"), "write_file_atomic: contents replaced");
        free(TAKE_PTR(text));
        umask(old_umask);

        r = write_file_atomic(in_tmp("atomic/empty"), NULL, 0, 0600);
        is_int(r, 0, "write_file_atomic: an empty file from NULL, 0");
        is_int(file_mode(in_tmp("atomic/empty")), 0600, "write_file_atomic: mode 0600 as asked");

        r = write_file_atomic(in_tmp("nonexistent/file"), "x", 1, 0644);
        is_int(r, -ENOENT, "write_file_atomic: a missing directory is -ENOENT");
        ok(!exists(in_tmp("nonexistent")), "write_file_atomic: nothing created for a missing directory");

        make_dir(in_tmp("atomic/dir"));
        write_string(in_tmp("atomic/dir/inside"), "inside");
        r = write_file_atomic(in_tmp("atomic/dir"), "x", 1, 0644);
        ok(r == -EISDIR || r == -ENOTEMPTY || r == -EEXIST,
           "write_file_atomic: a directory target fails (%s)", strerror(-r));
        ok(exists(in_tmp("atomic/dir/inside")), "write_file_atomic: the directory target is intact");

        is_int(write_file_atomic(in_tmp("atomic/"), "x", 1, 0644), -EINVAL,
               "write_file_atomic: a path ending in / is -EINVAL");
        is_int(write_file_atomic(in_tmp("atomic/x"), "x", 1, 010644), -EINVAL,
               "write_file_atomic: a mode with file type bits is -EINVAL");

        is_int(count_entries(in_tmp("atomic"), ".#"), 0, "write_file_atomic: no temporary file left behind");
        is_int(fsync_directory_of(in_tmp("atomic/new")), 0, "fsync_directory_of: succeeds");
        is_int(fsync_directory_of(in_tmp("nonexistent/new")), -ENOENT, "fsync_directory_of: -ENOENT");
}

/* A directory the writer may not write to: the old file stays as it was and no temporary file appears.
 * Root ignores permissions, so root tries it as nobody in a child. */
static void test_write_file_atomic_unwritable(void) {
        _cleanup_free_ char *text = NULL;
        int status, r;
        pid_t pid;

        make_dir(in_tmp("readonly"));
        write_string(in_tmp("readonly/file"), "old contents");
        if (chmod(in_tmp("readonly"), 0555) < 0)
                die("chmod");

        pid = fork();
        if (pid < 0)
                die("fork");
        if (pid == 0) {
                if (geteuid() == 0 && (setgroups(0, NULL) < 0 || setresgid(NOBODY, NOBODY, NOBODY) < 0 ||
                                       setresuid(NOBODY, NOBODY, NOBODY) < 0))
                        _exit(CHILD_SETUP_FAILED);
                r = write_file_atomic(in_tmp("readonly/file"), "new", 3, 0644);
                _exit(r == -EACCES ? 0 : 1);
        }
        if (waitpid(pid, &status, 0) < 0)
                die("waitpid");

        ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
           "write_file_atomic: an unwritable directory is -EACCES");
        text = read_or_null(in_tmp("readonly/file"), NULL);
        is_str(text, "old contents", "write_file_atomic: the old file is intact");
        is_int(count_entries(in_tmp("readonly"), ""), 1,
               "write_file_atomic: nothing added to the directory");
        (void) chmod(in_tmp("readonly"), 0755);
}

static const char *hex_of(const char *text) {
        static char hex[SHA256_HEX_SIZE];
        uint8_t digest[SHA256_DIGEST_SIZE];

        sha256_buffer(text, strlen(text), digest);
        sha256_to_hex(digest, hex);
        return hex;
}

static const char *const texts[] = {
        "version: \"1.0\"\nmappings: {}\n",
        "environment: staging\n",
        "environment: production\nquality_system: {enabled: true}\n",
};

static void check_info(const GenerationInfo *info, uint64_t generation, const char *text, const char *origin,
                       const char *environment, const char *what) {
        if (!ok(info, "%s: generation %" PRIu64 " present", what, generation))
                return;
        is_int(info->generation, generation, "%s: number", what);
        is_int(info->applied_usec, APPLIED_USEC_BASE + generation, "%s: applied_usec", what);
        is_str(info->sha256, hex_of(text), "%s: sha256", what);
        is_str(info->origin, origin, "%s: origin", what);
        is_str(info->environment, environment, "%s: environment", what);
}

static void check_read(GenerationStore *s, uint64_t generation, const char *expected, const char *what) {
        _cleanup_free_ char *text = NULL;
        size_t size = 0;
        int r;

        r = generation_store_read(s, generation, &text, &size);
        if (!is_int(r, 0, "%s: reading generation %" PRIu64, what, generation))
                return;
        is_str(text, expected, "%s: text of generation %" PRIu64, what, generation);
        is_int(size, strlen(expected), "%s: size of generation %" PRIu64, what, generation);
}

static void check_three(GenerationStore *s, const char *what) {
        is_int(generation_store_count(s), 3, "%s: three generations", what);
        check_info(generation_store_get(s, 0), 1, texts[0], "deploy:file", "default", what);
        check_info(generation_store_get(s, 1), 2, texts[1], "startup", "staging", what);
        check_info(generation_store_get(s, 2), 3, texts[2], "rollback:1", "production", what);
        ok(generation_store_newest(s) == generation_store_get(s, 2), "%s: newest is the last", what);
        ok(generation_store_find(s, 2) == generation_store_get(s, 1), "%s: find 2", what);
        ok(!generation_store_find(s, 4), "%s: find of an unknown number is NULL", what);
        ok(!generation_store_find(s, 0), "%s: find 0 is NULL", what);
        ok(!generation_store_get(s, 3), "%s: get past the end is NULL", what);
        for (unsigned i = 0; i < ELEMENTSOF(texts); i++)
                check_read(s, i + 1, texts[i], what);
}

static void test_store_basics(void) {
        _cleanup_(generation_store_freep) GenerationStore *s = NULL;
        GenerationStore *untouched = (GenerationStore *) &untouched;
        const GenerationInfo *info = NULL;
        _cleanup_free_ char *json = NULL;
        char *text = NULL;
        char expected[512];
        mode_t old_umask;
        int r;

        is_int(generation_store_open(in_tmp("missing-state"), GENERATIONS_KEEP_DEFAULT, &untouched), -ENOENT,
               "open: a missing state directory is -ENOENT");
        ok(untouched == (GenerationStore *) &untouched, "open: ret untouched on failure");
        is_int(generation_store_open(tmp_dir, 0, &s), -EINVAL, "open: keep 0 is -EINVAL");

        make_dir(in_tmp("state"));
        r = generation_store_open(in_tmp("state"), GENERATIONS_KEEP_DEFAULT, &s);
        if (!is_int(r, 0, "open: an empty state directory"))
                return;
        ok(exists(in_tmp("state/generations")), "open: creates generations/");
        is_str(generation_store_path(s), in_tmp("state/generations"), "path is STATE_DIR/generations");
        is_int(generation_store_keep(s), GENERATIONS_KEEP_DEFAULT, "keep as given");
        is_int(generation_store_count(s), 0, "empty: count 0");
        ok(!generation_store_newest(s), "empty: no newest");
        ok(!generation_store_get(s, 0), "empty: get 0 is NULL");
        ok(!generation_store_find(s, 1), "empty: find 1 is NULL");
        is_int(generation_store_read(s, 1, &text, NULL), -ENOENT, "empty: read 1 is -ENOENT");
        ok(!text, "empty: read leaves ret untouched");

        old_umask = umask(077);
        r = generation_store_append(s, texts[0], strlen(texts[0]), "deploy:file", "default",
                                    APPLIED_USEC_BASE + 1, &info);
        is_int(r, 0, "append: first generation");
        ok(info && info->generation == 1, "append: numbers start at 1");
        r = generation_store_append(s, texts[1], strlen(texts[1]), "startup", "staging",
                                    APPLIED_USEC_BASE + 2, &info);
        ok(r == 0 && info && info->generation == 2, "append: second generation is 2");
        r = generation_store_append(s, texts[2], strlen(texts[2]), "rollback:1", "production",
                                    APPLIED_USEC_BASE + 3, NULL);
        is_int(r, 0, "append: ret may be NULL");
        umask(old_umask);

        check_three(s, "appended");

        is_int(file_mode(in_tmp("state/generations/00000001.yaml")), 0644, "yaml is 0644 despite umask 077");
        is_int(file_mode(in_tmp("state/generations/00000001.json")), 0644, "json is 0644 despite umask 077");
        json = read_or_null(in_tmp("state/generations/00000003.json"), NULL);
        (void) snprintf(expected, sizeof expected,
                        "{\"generation\":3,\"applied_usec\":%" PRIu64
                        ",\"sha256\":\"%s\",\"origin\":\"rollback:1\",\"environment\":\"production\"}\n",
                        APPLIED_USEC_BASE + 3, hex_of(texts[2]));
        is_str(json, expected, "metadata has the documented form");
        is_int(count_entries(in_tmp("state/generations"), ""), 6, "six files for three generations");

        s = generation_store_free(s);
        r = generation_store_open(in_tmp("state"), GENERATIONS_KEEP_DEFAULT, &s);
        if (!is_int(r, 0, "reopen"))
                return;
        check_three(s, "reopened");
}

static void test_store_damage(void) {
        _cleanup_(generation_store_freep) GenerationStore *s = NULL;
        const GenerationInfo *info = NULL;
        char *text = NULL;
        size_t size = 0;
        char json[512];
        int r;

        /* Files that are no generation: temporaries, an orphan yaml, metadata that is broken or lies. */
        write_string(in_tmp("state/generations/.#00000004.yaml.a1B2c3"), "temporary");
        write_string(in_tmp("state/generations/.#00000004.json.a1B2c3"), "{\"generation\":4");
        write_string(in_tmp("state/generations/00000009.yaml"), "orphan: true\n");
        write_string(in_tmp("state/generations/00000004.yaml"), "four: 4\n");
        write_string(in_tmp("state/generations/00000004.json"), "{\"generation\": 4, not json");
        write_string(in_tmp("state/generations/00000005.yaml"), "five: 5\n");
        (void) snprintf(json, sizeof json,
                        "{\"generation\":6,\"applied_usec\":1,\"sha256\":\"%s\",\"origin\":\"\","
                        "\"environment\":\"\"}",
                        hex_of("five: 5\n"));
        write_string(in_tmp("state/generations/00000005.json"), json); /* names another number */
        write_string(in_tmp("state/generations/00000006.yaml"), "six: 6\n");
        write_string(in_tmp("state/generations/00000006.json"),
                     "{\"generation\":6,\"applied_usec\":1,\"sha256\":\"nothex\",\"origin\":\"\","
                     "\"environment\":\"\"}");
        (void) snprintf(json, sizeof json,
                        "{\"generation\":7,\"applied_usec\":1,\"sha256\":\"%s\",\"origin\":\"\","
                        "\"environment\":\"\"} trailing",
                        hex_of("seven: 7\n"));
        write_string(in_tmp("state/generations/00000007.yaml"), "seven: 7\n");
        write_string(in_tmp("state/generations/00000007.json"), json);
        (void) snprintf(json, sizeof json,
                        "{\"generation\":8,\"applied_usec\":-1,\"sha256\":\"%s\",\"origin\":\"\","
                        "\"environment\":\"\"}",
                        hex_of("eight: 8\n"));
        write_string(in_tmp("state/generations/00000008.yaml"), "eight: 8\n");
        write_string(in_tmp("state/generations/00000008.json"), json);
        (void) snprintf(json, sizeof json,
                        "{\"generation\":10,\"applied_usec\":1,\"sha256\":\"%s\",\"origin\":\"\","
                        "\"environment\":\"\"}",
                        hex_of("ten: 10\n"));
        write_string(in_tmp("state/generations/00000010.json"), json);  /* metadata without its yaml */
        write_string(in_tmp("state/generations/000000011.json"), "{}"); /* not the canonical name */
        write_string(in_tmp("state/generations/notes.txt"), "hello");
        make_dir(in_tmp("state/generations/00000012.json"));

        r = generation_store_open(in_tmp("state"), GENERATIONS_KEEP_DEFAULT, &s);
        if (!is_int(r, 0, "open tolerates damaged entries"))
                return;
        check_three(s, "damaged entries ignored");

        /* The next number follows the newest complete generation; leftovers of that number are replaced. */
        r = generation_store_append(s, "four: again\n", 12, NULL, NULL, APPLIED_USEC_BASE + 4, &info);
        is_int(r, 0, "append over leftovers");
        if (info) {
                is_int(info->generation, 4, "append over leftovers: number 4");
                is_str(info->origin, "", "append: a NULL origin is \"\"");
                is_str(info->environment, "", "append: a NULL environment is \"\"");
        }
        check_read(s, 4, "four: again\n", "append over leftovers");

        /* A yaml changed behind the store's back no longer matches its metadata. */
        write_string(in_tmp("state/generations/00000002.yaml"), "environment: tampered\n");
        text = NULL;
        is_int(generation_store_read(s, 2, &text, &size), -EBADMSG, "read: a corrupted yaml is -EBADMSG");
        ok(!text, "read: ret untouched on -EBADMSG");
        check_read(s, 1, texts[0], "other generations still read");
        if (unlink(in_tmp("state/generations/00000003.yaml")) < 0)
                die("unlink");
        is_int(generation_store_read(s, 3, &text, &size), -ENOENT, "read: a vanished yaml is -ENOENT");
        is_int(generation_store_read(s, 99, &text, &size), -ENOENT,
               "read: an unknown generation is -ENOENT");

        s = generation_store_free(s);
        r = generation_store_open(in_tmp("state"), GENERATIONS_KEEP_DEFAULT, &s);
        if (!is_int(r, 0, "reopen after damage"))
                return;
        is_int(generation_store_count(s), 3, "a generation whose yaml vanished is dropped at open");
        ok(generation_store_find(s, 2) && !generation_store_find(s, 3) && generation_store_find(s, 4),
           "generations 1, 2 and 4 remain");
}

static void test_store_failures(void) {
        _cleanup_(generation_store_freep) GenerationStore *s = NULL;
        const GenerationInfo *info = (const GenerationInfo *) &info;
        _cleanup_free_ char *origin = NULL;
        int r;

        make_dir(in_tmp("failing"));
        r = generation_store_open(in_tmp("failing"), GENERATIONS_KEEP_DEFAULT, &s);
        if (!is_int(r, 0, "open for failures"))
                return;
        r = generation_store_append(s, texts[0], strlen(texts[0]), "a", "b", APPLIED_USEC_BASE + 1, NULL);
        is_int(r, 0, "append before failures");

        /* The yaml cannot be renamed into place. */
        make_dir(in_tmp("failing/generations/00000002.yaml"));
        r = generation_store_append(s, texts[1], strlen(texts[1]), "a", "b", APPLIED_USEC_BASE + 2, &info);
        ok(r < 0, "append fails when the yaml cannot be written (%s)", strerror(-r));
        ok(info == (const GenerationInfo *) &info, "failed append leaves ret untouched");
        is_int(generation_store_count(s), 1, "failed append adds nothing");
        ok(!exists(in_tmp("failing/generations/00000002.json")), "failed append writes no metadata");
        if (rmdir(in_tmp("failing/generations/00000002.yaml")) < 0)
                die("rmdir");

        /* The yaml is written, the metadata is not: the yaml goes again. */
        make_dir(in_tmp("failing/generations/00000002.json"));
        r = generation_store_append(s, texts[1], strlen(texts[1]), "a", "b", APPLIED_USEC_BASE + 2, &info);
        ok(r < 0, "append fails when the metadata cannot be written (%s)", strerror(-r));
        is_int(generation_store_count(s), 1, "failed append adds nothing");
        ok(!exists(in_tmp("failing/generations/00000002.yaml")), "failed append removes its yaml");
        if (rmdir(in_tmp("failing/generations/00000002.json")) < 0)
                die("rmdir");

        /* Metadata that could not be read back at the next start is refused. */
        origin = malloc(GENERATION_METADATA_SIZE_MAX + 1);
        if (origin) {
                memset(origin, 'o', GENERATION_METADATA_SIZE_MAX);
                origin[GENERATION_METADATA_SIZE_MAX] = 0;
                r = generation_store_append(s, "x", 1, origin, "b", APPLIED_USEC_BASE + 2, NULL);
                is_int(r, -E2BIG, "append with oversized metadata is -E2BIG");
        }
        is_int(generation_store_count(s), 1, "failed append adds nothing");
        is_int(count_entries(in_tmp("failing/generations"), ""), 2, "only generation 1's files remain");

        r = generation_store_append(s, texts[1], strlen(texts[1]), "a", "b", APPLIED_USEC_BASE + 2, &info);
        ok(r == 0 && info && info->generation == 2, "append succeeds again with number 2");
        check_read(s, 2, texts[1], "after failures");
}

static void test_store_retention(void) {
        _cleanup_(generation_store_freep) GenerationStore *s = NULL;
        const GenerationInfo *info = NULL, *kept = NULL;
        unsigned failures = 0;
        char text[64];
        int r;

        make_dir(in_tmp("retention"));
        r = generation_store_open(in_tmp("retention"), GENERATIONS_KEEP_DEFAULT, &s);
        if (!is_int(r, 0, "open for retention"))
                return;

        for (unsigned i = 1; i <= RETENTION_APPENDS; i++) {
                (void) snprintf(text, sizeof text, "generation: %u\n", i);
                r = generation_store_append(s, text, strlen(text), "deploy", "prod", APPLIED_USEC_BASE + i,
                                            &info);
                if (r < 0 || info->generation != i)
                        failures++;
                if (i == 10)
                        kept = info;
        }
        is_int(failures, 0, "%u appends numbered 1..%u", RETENTION_APPENDS, RETENTION_APPENDS);
        is_int(generation_store_count(s), GENERATIONS_KEEP_DEFAULT, "the newest %u are kept",
               GENERATIONS_KEEP_DEFAULT);
        is_int(generation_store_get(s, 0)->generation, 6, "the oldest kept is 6");
        is_int(generation_store_newest(s)->generation, RETENTION_APPENDS, "the newest is %u",
               RETENTION_APPENDS);
        ok(kept == generation_store_find(s, 10), "an info pointer survives later appends");
        for (uint64_t g = 1; g <= 5; g++) {
                ok(!generation_store_find(s, g), "find %" PRIu64 " is NULL after pruning", g);
                ok(!exists(in_tmp("retention/generations/%08" PRIu64 ".yaml", g)) &&
                           !exists(in_tmp("retention/generations/%08" PRIu64 ".json", g)),
                   "files of %" PRIu64 " are deleted", g);
        }
        is_int(count_entries(in_tmp("retention/generations"), ""), 2 * GENERATIONS_KEEP_DEFAULT,
               "two files per kept generation");

        r = generation_store_append(s, "next\n", 5, "deploy", "prod", APPLIED_USEC_BASE, &info);
        ok(r == 0 && info && info->generation == RETENTION_APPENDS + 1, "numbers keep increasing: %u next",
           RETENTION_APPENDS + 1);
        is_int(generation_store_get(s, 0)->generation, 7, "the oldest kept is now 7");
        check_read(s, 30, "generation: 30\n", "retention");

        s = generation_store_free(s);
        r = generation_store_open(in_tmp("retention"), GENERATIONS_KEEP_DEFAULT, &s);
        if (!is_int(r, 0, "reopen after retention"))
                return;
        is_int(generation_store_count(s), GENERATIONS_KEEP_DEFAULT, "reopened: %u generations",
               GENERATIONS_KEEP_DEFAULT);
        is_int(generation_store_get(s, 0)->generation, 7, "reopened: the oldest is 7");
        is_int(generation_store_newest(s)->generation, RETENTION_APPENDS + 1, "reopened: the newest is %u",
               RETENTION_APPENDS + 1);

        /* A smaller keep applies at the next append, never at open. */
        s = generation_store_free(s);
        r = generation_store_open(in_tmp("retention"), 3, &s);
        if (!is_int(r, 0, "reopen with keep 3"))
                return;
        is_int(generation_store_count(s), GENERATIONS_KEEP_DEFAULT,
               "open with a smaller keep deletes nothing");
        r = generation_store_append(s, "x\n", 2, "deploy", "prod", APPLIED_USEC_BASE, NULL);
        is_int(r, 0, "append with keep 3");
        is_int(generation_store_count(s), 3, "the append prunes down to keep");
        is_int(generation_store_get(s, 0)->generation, RETENTION_APPENDS, "the oldest kept is %u",
               RETENTION_APPENDS);
        is_int(count_entries(in_tmp("retention/generations"), ""), 6, "six files remain");
}

/* Numbers past eight digits get more digits and still sort by value, not by name. */
static void test_store_wide_numbers(void) {
        _cleanup_(generation_store_freep) GenerationStore *s = NULL;
        const GenerationInfo *info = NULL;
        char json[512];
        int r;

        make_dir(in_tmp("wide"));
        make_dir(in_tmp("wide/generations"));
        write_string(in_tmp("wide/generations/99999999.yaml"), "old: true\n");
        (void) snprintf(json, sizeof json,
                        "{\"generation\":99999999,\"applied_usec\":5,\"sha256\":\"%s\",\"origin\":\"o\","
                        "\"environment\":\"e\"}\n",
                        hex_of("old: true\n"));
        write_string(in_tmp("wide/generations/99999999.json"), json);

        r = generation_store_open(in_tmp("wide"), GENERATIONS_KEEP_DEFAULT, &s);
        if (!is_int(r, 0, "open with a hand-made generation 99999999"))
                return;
        check_read(s, 99999999, "old: true\n", "hand-made generation");
        r = generation_store_append(s, "new: true\n", 10, "deploy", "e", 6, &info);
        ok(r == 0 && info && info->generation == 100000000, "append after 99999999 is 100000000");
        ok(exists(in_tmp("wide/generations/100000000.yaml")), "its name has nine digits");

        s = generation_store_free(s);
        r = generation_store_open(in_tmp("wide"), GENERATIONS_KEEP_DEFAULT, &s);
        if (!is_int(r, 0, "reopen with nine digits"))
                return;
        ok(generation_store_count(s) == 2 && generation_store_newest(s)->generation == 100000000,
           "sorted by number: 100000000 is the newest");
        check_read(s, 100000000, "new: true\n", "nine digits");
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        if (remove(path) < 0)
                perror(path);
        return 0;
}

int main(void) {
        (void) alarm(TEST_TIMEOUT_SEC);
        if (!mkdtemp(tmp_dir))
                die("mkdtemp");
        /* nobody must reach the files of the unwritable-directory test. */
        if (chmod(tmp_dir, 0755) < 0)
                die("chmod");

        test_read_full_file();
        test_write_file_atomic();
        test_write_file_atomic_unwritable();
        test_store_basics();
        test_store_damage();
        test_store_failures();
        test_store_retention();
        test_store_wide_numbers();

        (void) nftw(tmp_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
        return tap_done();
}
