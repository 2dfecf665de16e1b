/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* auteur-qualityctl verify: the post-deploy check, through the HTTP shim as probes and clients see it. */
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "config-load.h"
#include "http-get.h"
#include "json-util.h"
#include "quality-def.h"
#include "qualityctl.h"
#include "time-util.h"

#define VERIFY_DEFAULT_URL "http://127.0.0.1:8000"
#define VERIFY_TIMEOUT_USEC (10 * USEC_PER_SEC)

typedef struct Verification {
        struct json_object *checks; /* array of {"name", "ok", "details"} */
        unsigned n_passed;
        unsigned n_failed;
} Verification;

static void check(Verification *v, bool ok, const char *name, const char *format, ...) _printf_(4, 5);
static void check(Verification *v, bool ok, const char *name, const char *format, ...) {
        _cleanup_free_ char *details = NULL;
        struct json_object *o;
        va_list ap;
        int k;

        va_start(ap, format);
        k = vasprintf(&details, format, ap);
        va_end(ap);
        if (k < 0)
                details = NULL;

        if (ok)
                v->n_passed++;
        else
                v->n_failed++;

        if (!arg_json)
                printf("%s %-32s %s\n", ok ? "PASS" : "FAIL", name, details ? details : "");

        o = json_object_new_object();
        if (!o)
                return;
        json_object_object_add(o, "name", json_object_new_string(name));
        json_object_object_add(o, "ok", json_object_new_boolean(ok));
        json_object_object_add(o, "details", json_object_new_string(details ? details : ""));
        json_object_array_add(v->checks, o);
}

/* GETs a path and parses its JSON body; reports the request as a failed check when that fails. */
static struct json_object *get_json(Verification *v, const HttpUrl *url, const char *path, const char *name,
                                    unsigned *ret_status) {
        _cleanup_(http_reply_done) HttpReply reply = { 0 };
        struct json_object *o;
        int k;

        k = http_get(url, path, VERIFY_TIMEOUT_USEC, &reply);
        if (k < 0) {
                check(v, false, name, "GET %s%s failed: %s.", url->prefix, path, strerror(-k));
                return NULL;
        }
        *ret_status = reply.status;

        o = json_tokener_parse(reply.body);
        if (!o || !json_object_is_type(o, json_type_object)) {
                json_object_put(o);
                check(v, false, name, "GET %s%s answered %u without a JSON object.", url->prefix, path,
                      reply.status);
                return NULL;
        }
        return o;
}

static const char *string_member(struct json_object *o, const char *key) {
        struct json_object *v;

        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

static void verify_health(Verification *v, const HttpUrl *url, const Config *c) {
        _cleanup_(json_object_putp) struct json_object *o = NULL;
        const char *status, *environment;
        unsigned code = 0;

        o = get_json(v, url, "/api/v1/quality/health", "health", &code);
        if (!o)
                return;

        status = string_member(o, "status");
        check(v, code == 200 && status && streq(status, "healthy"), "health", "HTTP %u, status %s.", code,
              status ? status : "missing");

        environment = string_member(o, "environment");
        if (c && environment)
                check(v, streq(environment, c->environment), "environment", "Serving '%s', expected '%s'.",
                      environment, c->environment);
}

static void verify_version(Verification *v, const HttpUrl *url) {
        _cleanup_(json_object_putp) struct json_object *o = NULL;
        const char *version;
        unsigned code = 0;

        o = get_json(v, url, "/api/v1/quality/version", "version", &code);
        if (!o)
                return;

        version = string_member(o, "version");
        check(v, code == 200 && version && *version, "version", "HTTP %u, version %s.", code,
              version && *version ? version : "missing");
}

static void verify_tiers(Verification *v, const HttpUrl *url, const TaskType *t) {
        _cleanup_(json_object_putp) struct json_object *o = NULL;
        _cleanup_free_ char *path = NULL, *name = NULL;
        struct json_object *tiers = NULL;
        char missing[64] = "";
        unsigned code = 0;

        if (asprintf(&path, "/api/v1/quality/tiers/%s", t->name) < 0 ||
            asprintf(&name, "tiers %s", t->name) < 0)
                return;

        o = get_json(v, url, path, name, &code);
        if (!o)
                return;

        if (!json_object_object_get_ex(o, "available_tiers", &tiers) ||
            !json_object_is_type(tiers, json_type_object)) {
                check(v, false, name, "HTTP %u without available_tiers.", code);
                return;
        }
        FOREACH_TIER(tier)
                if (!json_object_object_get_ex(tiers, tier_to_string(tier), NULL)) {
                        strncat(missing, " ", sizeof(missing) - strlen(missing) - 1);
                        strncat(missing, tier_to_string(tier), sizeof(missing) - strlen(missing) - 1);
                }

        if (code == 200 && !*missing)
                check(v, true, name, "HTTP 200, low, standard and high.");
        else if (code != 200)
                check(v, false, name, "HTTP %u.", code);
        else
                check(v, false, name, "HTTP 200, but missing:%s.", missing);
}

/* The environment whose task types are checked: --environment, else the active configuration file. */
static int load_environment(Config **ret, char **ret_path) {
        _cleanup_free_ char *path = NULL, *text = NULL;
        Problems problems;
        bool is_environment;
        size_t size;
        int k;

        k = target_resolve(arg_environment, &path, &is_environment);
        if (k < 0)
                return k;
        k = problems_init(&problems, path);
        if (k < 0)
                return k;

        k = config_read_file(path, &problems, &text, &size);
        if (k >= 0)
                k = config_load_buffer(text, size, &problems, ret);
        if (k >= 0 && problems_has_errors(&problems)) {
                *ret = config_unref(*ret);
                k = -EINVAL;
        }
        if (k < 0 && !arg_json)
                (void) problems_write_text(&problems, stderr);
        problems_done(&problems);
        if (k < 0)
                return k;

        *ret_path = TAKE_PTR(path);
        return 0;
}

int verb_verify(int argc, char *argv[]) {
        _cleanup_(json_object_putp) struct json_object *top = NULL;
        _cleanup_(config_unrefp) Config *config = NULL;
        _cleanup_(http_url_done) HttpUrl url = { 0 };
        _cleanup_free_ char *path = NULL;
        Verification v = { 0 };
        const char *u = arg_url ? arg_url : VERIFY_DEFAULT_URL;
        int k;

        k = http_url_parse(u, &url);
        if (k < 0) {
                fprintf(stderr, "'%s' is not a URL this command can use: http://HOST[:PORT][/PREFIX].\n", u);
                return EXIT_USAGE;
        }

        k = load_environment(&config, &path);
        if (k < 0) {
                fprintf(stderr, "Cannot read the task types to verify: %s.\n", strerror(-k));
                return EXIT_INVALID;
        }

        top = json_object_new_object();
        v.checks = json_object_new_array();
        if (!top || !v.checks) {
                json_object_put(v.checks);
                return EXIT_INVALID;
        }
        json_object_object_add(top, "checks", v.checks);

        verify_health(&v, &url, config);
        verify_version(&v, &url);
        for (size_t i = 0; i < config->n_task_types; i++)
                verify_tiers(&v, &url, config->task_types + i);

        if (arg_json) {
                json_object_object_add(top, "url", json_object_new_string(u));
                json_object_object_add(top, "environment", json_object_new_string(config->environment));
                json_object_object_add(top, "file", json_object_new_string(path));
                json_object_object_add(top, "ok", json_object_new_boolean(v.n_failed == 0));
                puts(json_object_to_json_string_ext(top, JSON_C_TO_STRING_PRETTY |
                                                                 JSON_C_TO_STRING_NOSLASHESCAPE));
        } else
                printf("\n%s: %u checks passed, %u failed, for environment '%s' (%s) at %s.\n",
                       v.n_failed == 0 ? "Verified" : "Not verified", v.n_passed, v.n_failed,
                       config->environment, path, u);

        return v.n_failed == 0 ? EXIT_OK : EXIT_INVALID;
}
