/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The append-only history of applied configurations in STATE_DIR/generations/, with retention. */
#include <dirent.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>

#include "fileio.h"
#include "generation-store.h"
#include "json-util.h"
#include "quality-def.h"

#define YAML_SUFFIX ".yaml"
#define JSON_SUFFIX ".json"
/* Numbers are zero-padded to this many digits; larger ones simply have more. */
#define GENERATION_DIGITS_MIN 8U
/* UINT64_MAX has 20 decimal digits. */
#define GENERATION_DIGITS_MAX 20U
/* The metadata is one flat object. */
#define METADATA_JSON_DEPTH_MAX 4

struct GenerationStore {
        char *path; /* STATE_DIR/generations */
        unsigned keep;
        GenerationInfo **entries; /* ascending by number, so the newest is last */
        size_t n_entries;
        size_t n_allocated;
};

DEFINE_TRIVIAL_CLEANUP_FUNC(struct json_tokener *, json_tokener_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(DIR *, closedir);

static GenerationInfo *generation_info_free(GenerationInfo *info) {
        if (!info)
                return NULL;
        free(info->origin);
        free(info->environment);
        free(info);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(GenerationInfo *, generation_info_free);

GenerationStore *generation_store_free(GenerationStore *s) {
        if (!s)
                return NULL;
        for (size_t i = 0; i < s->n_entries; i++)
                generation_info_free(s->entries[i]);
        free(s->entries);
        free(s->path);
        free(s);
        return NULL;
}

const char *generation_store_path(const GenerationStore *s) {
        return s->path;
}

unsigned generation_store_keep(const GenerationStore *s) {
        return s->keep;
}

size_t generation_store_count(const GenerationStore *s) {
        return s->n_entries;
}

const GenerationInfo *generation_store_get(const GenerationStore *s, size_t index) {
        return index < s->n_entries ? s->entries[index] : NULL;
}

const GenerationInfo *generation_store_find(const GenerationStore *s, uint64_t generation) {
        size_t low = 0, high = s->n_entries;

        while (low < high) {
                size_t mid = low + (high - low) / 2;
                uint64_t g = s->entries[mid]->generation;

                if (g == generation)
                        return s->entries[mid];
                if (g < generation)
                        low = mid + 1;
                else
                        high = mid;
        }
        return NULL;
}

const GenerationInfo *generation_store_newest(const GenerationStore *s) {
        return s->n_entries > 0 ? s->entries[s->n_entries - 1] : NULL;
}

static int generation_file(const GenerationStore *s, uint64_t generation, const char *suffix, char **ret) {
        char *p;

        if (asprintf(&p, "%s/%0*" PRIu64 "%s", s->path, (int) GENERATION_DIGITS_MIN, generation, suffix) < 0)
                return -ENOMEM;
        *ret = p;
        return 0;
}

/* The number in a name of the canonical form NNNNNNNN + suffix, or 0 when the name is anything else: a
 * temporary file, a name with extra leading zeros, a number that overflows. */
static uint64_t generation_from_file_name(const char *name, const char *suffix) {
        size_t length = strlen(name), suffix_length = strlen(suffix), digits;
        uint64_t g = 0;

        if (length <= suffix_length || !streq(name + length - suffix_length, suffix))
                return 0;
        digits = length - suffix_length;
        if (digits < GENERATION_DIGITS_MIN || digits > GENERATION_DIGITS_MAX)
                return 0;
        /* Zero padding only up to the minimum width: one number, one name. */
        if (digits > GENERATION_DIGITS_MIN && name[0] == '0')
                return 0;

        for (size_t i = 0; i < digits; i++) {
                unsigned d;

                if (name[i] < '0' || name[i] > '9')
                        return 0;
                d = (unsigned) (name[i] - '0');
                if (g > (UINT64_MAX - d) / 10)
                        return 0;
                g = g * 10 + d;
        }
        return g;
}

static bool sha256_hex_valid(const char *s) {
        size_t i;

        for (i = 0; s[i]; i++)
                if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
                        return false;
        return i == SHA256_HEX_SIZE - 1;
}

static int json_get_uint64(struct json_object *o, const char *key, uint64_t *ret) {
        struct json_object *v;

        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
                return -EBADMSG;
        /* json-c keeps an integer as int64 or, beyond INT64_MAX, as uint64; a negative one is invalid. */
        if (json_object_get_int64(v) < 0)
                return -EBADMSG;
        *ret = json_object_get_uint64(v);
        return 0;
}

/* A string without embedded NUL bytes, which a C string could not carry. */
static int json_get_string(struct json_object *o, const char *key, const char **ret) {
        struct json_object *v;
        const char *str;

        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
                return -EBADMSG;
        str = json_object_get_string(v);
        if (strlen(str) != (size_t) json_object_get_string_len(v))
                return -EBADMSG;
        *ret = str;
        return 0;
}

static int generation_info_from_json(const char *text, size_t size, uint64_t expected,
                                     GenerationInfo **ret) {
        _cleanup_(generation_info_freep) GenerationInfo *info = NULL;
        _cleanup_(json_tokener_freep) struct json_tokener *tok = NULL;
        _cleanup_(json_object_putp) struct json_object *o = NULL;
        const char *sha256, *origin, *environment;
        int r;

        if (size > INT32_MAX)
                return -EBADMSG;

        tok = json_tokener_new_ex(METADATA_JSON_DEPTH_MAX);
        if (!tok)
                return -ENOMEM;
        o = json_tokener_parse_ex(tok, text, (int) size);
        if (!o || json_tokener_get_error(tok) != json_tokener_success)
                return -EBADMSG;
        /* Nothing but white space may follow the object. */
        for (size_t i = json_tokener_get_parse_end(tok); i < size; i++)
                if (!strchr(" \t\r\n", text[i]) || text[i] == 0)
                        return -EBADMSG;
        if (!json_object_is_type(o, json_type_object))
                return -EBADMSG;

        info = calloc(1, sizeof *info);
        if (!info)
                return -ENOMEM;

        r = json_get_uint64(o, "generation", &info->generation);
        if (r < 0)
                return r;
        if (info->generation != expected)
                return -EBADMSG;
        r = json_get_uint64(o, "applied_usec", &info->applied_usec);
        if (r < 0)
                return r;
        r = json_get_string(o, "sha256", &sha256);
        if (r < 0)
                return r;
        if (!sha256_hex_valid(sha256))
                return -EBADMSG;
        memcpy(info->sha256, sha256, SHA256_HEX_SIZE);
        r = json_get_string(o, "origin", &origin);
        if (r < 0)
                return r;
        r = json_get_string(o, "environment", &environment);
        if (r < 0)
                return r;

        info->origin = strdup(origin);
        info->environment = strdup(environment);
        if (!info->origin || !info->environment)
                return -ENOMEM;

        *ret = TAKE_PTR(info);
        return 0;
}

static int generation_info_to_json(const GenerationInfo *info, char **ret, size_t *ret_size) {
        _cleanup_(json_object_putp) struct json_object *o = NULL;
        const char *text;
        size_t length;
        char *copy;

        o = json_object_new_object();
        if (!o)
                return -ENOMEM;
        if (json_object_object_add(o, "generation", json_object_new_uint64(info->generation)) < 0 ||
            json_object_object_add(o, "applied_usec", json_object_new_uint64(info->applied_usec)) < 0 ||
            json_object_object_add(o, "sha256", json_object_new_string(info->sha256)) < 0 ||
            json_object_object_add(o, "origin", json_object_new_string(info->origin)) < 0 ||
            json_object_object_add(o, "environment", json_object_new_string(info->environment)) < 0)
                return -ENOMEM;

        text = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE,
                                                 &length);
        if (!text)
                return -ENOMEM;
        /* What is written must be readable back at the next start. */
        if (length + 1 > GENERATION_METADATA_SIZE_MAX)
                return -E2BIG;

        copy = malloc(length + 2);
        if (!copy)
                return -ENOMEM;
        memcpy(copy, text, length);
        copy[length] = '\n';
        copy[length + 1] = 0;

        *ret = copy;
        *ret_size = length + 1;
        return 0;
}

/* Loads one generation's metadata. -ENOMEM is the only failure that is not about the files themselves. */
static int generation_store_load(GenerationStore *s, uint64_t generation, GenerationInfo **ret) {
        _cleanup_free_ char *json_path = NULL, *yaml_path = NULL, *text = NULL;
        size_t size;
        struct stat st;
        int r;

        r = generation_file(s, generation, JSON_SUFFIX, &json_path);
        if (r < 0)
                return r;
        r = generation_file(s, generation, YAML_SUFFIX, &yaml_path);
        if (r < 0)
                return r;

        /* The metadata is only written after its yaml, so a generation without one is an accident. */
        if (stat(yaml_path, &st) < 0)
                return negative_errno();
        if (!S_ISREG(st.st_mode))
                return -EBADMSG;

        r = read_full_file(json_path, GENERATION_METADATA_SIZE_MAX, &text, &size);
        if (r < 0)
                return r;

        return generation_info_from_json(text, size, generation, ret);
}

static int generation_info_compare(const void *a, const void *b) {
        const GenerationInfo *x = *(GenerationInfo *const *) a, *y = *(GenerationInfo *const *) b;

        return x->generation < y->generation ? -1 : x->generation > y->generation ? 1 : 0;
}

/* Makes room for one more entry, so that adding it later cannot fail. */
static int generation_store_reserve(GenerationStore *s) {
        GenerationInfo **p;
        size_t n;

        if (s->n_entries < s->n_allocated)
                return 0;

        n = MAX(s->n_allocated * 2, (size_t) 16);
        if (n > SIZE_MAX / sizeof *p)
                return -ENOMEM;
        p = realloc(s->entries, n * sizeof *p);
        if (!p)
                return -ENOMEM;
        s->entries = p;
        s->n_allocated = n;
        return 0;
}

int generation_store_open(const char *state_dir, unsigned keep, GenerationStore **ret) {
        _cleanup_(generation_store_freep) GenerationStore *s = NULL;
        _cleanup_(closedirp) DIR *d = NULL;
        int r;

        if (!state_dir || keep == 0 || !ret)
                return -EINVAL;

        s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        s->keep = keep;
        if (asprintf(&s->path, "%s/" GENERATIONS_DIR_NAME, state_dir) < 0) {
                s->path = NULL;
                return -ENOMEM;
        }

        if (mkdir(s->path, GENERATIONS_DIR_MODE) >= 0) {
                /* Make the new directory's entry durable before anything is written into it. */
                r = fsync_directory_of(s->path);
                if (r < 0)
                        return r;
        } else if (errno != EEXIST)
                return negative_errno();

        d = opendir(s->path);
        if (!d)
                return negative_errno();

        for (;;) {
                _cleanup_(generation_info_freep) GenerationInfo *info = NULL;
                struct dirent *de;
                uint64_t generation;

                errno = 0;
                de = readdir(d);
                if (!de) {
                        if (errno != 0)
                                return negative_errno();
                        break;
                }

                generation = generation_from_file_name(de->d_name, JSON_SUFFIX);
                if (generation == 0)
                        continue;

                r = generation_store_load(s, generation, &info);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        continue; /* incomplete or damaged: not a generation */

                r = generation_store_reserve(s);
                if (r < 0)
                        return r;
                s->entries[s->n_entries++] = TAKE_PTR(info);
        }

        if (s->n_entries > 0)
                qsort(s->entries, s->n_entries, sizeof *s->entries, generation_info_compare);

        *ret = TAKE_PTR(s);
        return 0;
}

/* Forgets the oldest generations beyond keep and deletes their files. Deletion is best effort: the
 * append it follows has succeeded, and a leftover file is ignored (yaml) or reloaded (json) later. */
static void generation_store_prune(GenerationStore *s) {
        size_t excess = s->n_entries > s->keep ? s->n_entries - s->keep : 0;

        for (size_t i = 0; i < excess; i++) {
                GenerationInfo *info = s->entries[i];
                _cleanup_free_ char *json_path = NULL, *yaml_path = NULL;

                if (generation_file(s, info->generation, JSON_SUFFIX, &json_path) >= 0 &&
                    generation_file(s, info->generation, YAML_SUFFIX, &yaml_path) >= 0) {
                        /* Metadata first: without it the yaml is no longer a generation. */
                        (void) unlink(json_path);
                        (void) unlink(yaml_path);
                }
                generation_info_free(info);
        }

        if (excess > 0) {
                memmove(s->entries, s->entries + excess, (s->n_entries - excess) * sizeof *s->entries);
                s->n_entries -= excess;
        }
}

int generation_store_append(GenerationStore *s, const char *text, size_t size, const char *origin,
                            const char *environment, uint64_t applied_usec, const GenerationInfo **ret) {

        _cleanup_free_ char *yaml_path = NULL, *json_path = NULL, *json = NULL;
        _cleanup_(generation_info_freep) GenerationInfo *info = NULL;
        const GenerationInfo *newest;
        uint8_t digest[SHA256_DIGEST_SIZE];
        size_t json_size;
        int r;

        if (!s || (!text && size > 0))
                return -EINVAL;
        if (size > CONFIG_SIZE_MAX)
                return -EFBIG;

        newest = generation_store_newest(s);
        if (newest && newest->generation == UINT64_MAX)
                return -EOVERFLOW;

        info = calloc(1, sizeof *info);
        if (!info)
                return -ENOMEM;
        info->generation = newest ? newest->generation + 1 : 1;
        info->applied_usec = applied_usec;
        sha256_buffer(text, size, digest);
        sha256_to_hex(digest, info->sha256);
        info->origin = strdup(origin ? origin : "");
        info->environment = strdup(environment ? environment : "");
        if (!info->origin || !info->environment)
                return -ENOMEM;

        r = generation_info_to_json(info, &json, &json_size);
        if (r < 0)
                return r;
        r = generation_file(s, info->generation, YAML_SUFFIX, &yaml_path);
        if (r < 0)
                return r;
        r = generation_file(s, info->generation, JSON_SUFFIX, &json_path);
        if (r < 0)
                return r;
        r = generation_store_reserve(s);
        if (r < 0)
                return r;

        /* A failed fsync of the directory comes after the rename: remove what it may have left. A file of
         * this number was never a generation (it has no metadata, or it would have been loaded). */
        r = write_file_atomic(yaml_path, text, size, GENERATION_FILE_MODE);
        if (r < 0) {
                (void) unlink(yaml_path);
                return r;
        }
        r = write_file_atomic(json_path, json, json_size, GENERATION_FILE_MODE);
        if (r < 0) {
                (void) unlink(json_path);
                (void) unlink(yaml_path);
                return r;
        }

        s->entries[s->n_entries++] = info;
        generation_store_prune(s);

        if (ret)
                *ret = info;
        TAKE_PTR(info);
        return 0;
}

int generation_store_read(const GenerationStore *s, uint64_t generation, char **ret_text, size_t *ret_size) {
        _cleanup_free_ char *path = NULL, *text = NULL;
        const GenerationInfo *info;
        uint8_t digest[SHA256_DIGEST_SIZE];
        char hex[SHA256_HEX_SIZE];
        size_t size;
        int r;

        if (!s || !ret_text)
                return -EINVAL;

        info = generation_store_find(s, generation);
        if (!info)
                return -ENOENT;

        r = generation_file(s, generation, YAML_SUFFIX, &path);
        if (r < 0)
                return r;
        r = read_full_file(path, CONFIG_SIZE_MAX, &text, &size);
        if (r < 0)
                return r;

        sha256_buffer(text, size, digest);
        sha256_to_hex(digest, hex);
        if (!streq(hex, info->sha256))
                return -EBADMSG;
        if (!ret_size && memchr(text, 0, size))
                return -EBADMSG;

        *ret_text = TAKE_PTR(text);
        if (ret_size)
                *ret_size = size;
        return 0;
}
