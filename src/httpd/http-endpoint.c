/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The shim's resources: which path answers what, from the cache or from a call to the daemon. */
#include <string.h>

#include "http-endpoint.h"
#include "log.h"
#include "quality-def.h"

#define PATH_HEALTH "/health"
#define PATH_API "/api/v1/quality"
#define PATH_API_HEALTH PATH_API "/health"
#define PATH_API_READY PATH_API "/ready"
#define PATH_API_VERSION PATH_API "/version"
#define PATH_API_TIERS PATH_API "/tiers/"
#define PATH_API_RENDER PATH_API "/render/"
#define PATH_METRICS "/metrics"
/* Tier names are short; anything longer is not one, and is not worth a call to find out. */
#define TIER_NAME_MAX 16U

#define UNREACHABLE_MESSAGE "auteur-qualityd does not answer on the system bus."

typedef struct Path {
        const char *p;
        size_t n;
} Path;

static bool path_equal(Path path, const char *s) {
        return path.n == strlen(s) && memcmp(path.p, s, path.n) == 0;
}

/* Removes prefix from path if it starts with it. */
static bool path_consume(Path *path, const char *prefix) {
        size_t n = strlen(prefix);

        if (path->n < n || memcmp(path->p, prefix, n) != 0)
                return false;
        path->p += n;
        path->n -= n;
        return true;
}

/* Takes the next segment of path, up to a '/' or the end, if it is a name ([a-z0-9_], 1 to max
 * characters; task types and tiers look like that), into ret (max + 1 bytes). */
static bool path_take_name(Path *path, size_t max, char *ret) {
        size_t n = 0;

        while (n < path->n && path->p[n] != '/') {
                char ch = path->p[n];

                if (n >= max || !((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_'))
                        return false;
                ret[n] = ch;
                n++;
        }
        if (n == 0)
                return false;
        ret[n] = 0;
        path->p += n;
        path->n -= n;
        return true;
}

static unsigned bus_error_to_status(const sd_bus_error *e) {
        if (sd_bus_error_has_names(e, QUALITY_ERROR_NO_SUCH_TASK_TYPE, QUALITY_ERROR_NO_SUCH_TIER))
                return 404;
        if (sd_bus_error_has_name(e, QUALITY_ERROR_TIER_DISABLED))
                return 409;
        if (sd_bus_error_has_name(e, QUALITY_ERROR_NOT_READY) || bus_error_is_unreachable(e))
                return 503;
        return 502;
}

static void reply_bus_error(Connection *c, const sd_bus_error *e) {
        unsigned status = bus_error_to_status(e);

        if (status == 502)
                log_warning("A call to the daemon failed with %s: %s", e->name,
                            e->message ? e->message : "");
        (void) connection_reply_error(
                c, status, bus_error_is_unreachable(e) || !e->message ? UNREACHABLE_MESSAGE : e->message,
                NULL);
}

/* Answers a call's reply that carries one JSON string; a DescribeTaskType answer is also cached. */
static int on_json_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        _cleanup_(http_body_unrefp) HttpBody *body = NULL;
        Connection *c = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        const char *json;
        int k;

        c->call = sd_bus_slot_unref(c->call);

        if (e)
                reply_bus_error(c, e);
        else {
                k = sd_bus_message_read(reply, "s", &json);
                if (k >= 0)
                        k = http_body_new(json, strlen(json), &body);
                if (k < 0) {
                        log_warning_errno(k, "Failed to read the daemon's answer: %m");
                        (void) connection_reply_error(c, 502, "The daemon's answer could not be read.",
                                                      NULL);
                } else {
                        if (c->call_epoch != UINT64_MAX)
                                (void) cache_tiers_put(c->server->cache, c->call_epoch, c->task_type, body);
                        (void) connection_reply(c, 200, HTTP_CONTENT_TYPE_JSON, body, NULL);
                }
        }

        connection_resume(c);
        return 0;
}

static int endpoint_cached(Connection *c, CacheItem item) {
        _cleanup_(http_body_unrefp) HttpBody *body = NULL;
        unsigned status = 0;
        const char *type;

        if (cache_get(c->server->cache, item, &c->waiter, &status, &body) == 0)
                return 0;

        type = item == CACHE_METRICS && status == 200 ? HTTP_CONTENT_TYPE_PROMETHEUS
                                                      : HTTP_CONTENT_TYPE_JSON;
        (void) connection_reply(c, status, type, body, NULL);
        return 1;
}

static int endpoint_tiers(Connection *c) {
        _cleanup_(http_body_unrefp) HttpBody *body = NULL;
        Cache *cache = c->server->cache;
        int k;

        body = cache_tiers_get(cache, c->task_type);
        if (body) {
                (void) connection_reply(c, 200, HTTP_CONTENT_TYPE_JSON, body, NULL);
                return 1;
        }

        c->call_epoch = cache_epoch(cache);
        k = cache_call(cache, &c->call, on_json_reply, c, "DescribeTaskType", "s", c->task_type);
        if (k < 0) {
                log_debug_errno(k, "Failed to call DescribeTaskType(): %m");
                (void) connection_reply_error(c, 503, UNREACHABLE_MESSAGE, NULL);
                return 1;
        }
        return 0;
}

static int endpoint_render(Connection *c, const char *tier) {
        int k;

        /* Render counts as a selection in the daemon's metrics, and the workflow may change on disk:
         * every request is forwarded. */
        c->call_epoch = UINT64_MAX;
        k = cache_call(c->server->cache, &c->call, on_json_reply, c, "Render", "ss", c->task_type, tier);
        if (k < 0) {
                log_debug_errno(k, "Failed to call Render(): %m");
                (void) connection_reply_error(c, 503, UNREACHABLE_MESSAGE, NULL);
                return 1;
        }
        return 0;
}

int endpoint_dispatch(Connection *c) {
        const HttpRequest *r = &c->request;
        Path path = { r->target + r->path_offset, r->path_size };
        char tier[TIER_NAME_MAX + 1];

        if (r->method == HTTP_METHOD_OTHER) {
                (void) connection_reply_error(c, 405, "Only GET and HEAD are served.", HTTP_ALLOW_HEADER);
                return 1;
        }
        if (http_request_has_body(r)) {
                (void) connection_reply_error(c, 413, "Requests to this server carry no body.", NULL);
                return 1;
        }

        if (path_equal(path, PATH_HEALTH) || path_equal(path, PATH_API_HEALTH))
                return endpoint_cached(c, CACHE_HEALTH);
        if (path_equal(path, PATH_API_READY))
                return endpoint_cached(c, CACHE_READY);
        if (path_equal(path, PATH_API_VERSION))
                return endpoint_cached(c, CACHE_VERSION);
        if (path_equal(path, PATH_METRICS))
                return endpoint_cached(c, CACHE_METRICS);

        c->task_type[0] = 0;
        if (path_consume(&path, PATH_API_TIERS) && path_take_name(&path, TASK_TYPE_NAME_MAX, c->task_type) &&
            path.n == 0)
                return endpoint_tiers(c);

        path = (Path){ r->target + r->path_offset, r->path_size };
        if (path_consume(&path, PATH_API_RENDER) &&
            path_take_name(&path, TASK_TYPE_NAME_MAX, c->task_type) && path_consume(&path, "/") &&
            path_take_name(&path, TIER_NAME_MAX, tier) && path.n == 0)
                return endpoint_render(c, tier);

        c->task_type[0] = 0;
        (void) connection_reply_error(c, 404, "There is nothing at this path.", NULL);
        return 1;
}
