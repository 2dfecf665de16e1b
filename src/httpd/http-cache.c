/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the shim knows of the daemon: health, readiness, version and metrics, kept fresh by its signals. */
#include <json-c/json.h>
#include <stdarg.h>
#include <string.h>

#include "config.h"
#include "http-cache.h"
#include "httpd-def.h"
#include "json-util.h"
#include "log.h"
#include "quality-def.h"

#define UNREACHABLE_MESSAGE "auteur-qualityd does not answer on the system bus."
#define SYSTEM_NAME "quality-tier-system"

#define MATCH_PROPERTIES_CHANGED                                                                            \
        "type='signal',sender='" QUALITY_BUS_NAME "',path='" QUALITY_BUS_PATH "',"                          \
        "interface='org.freedesktop.DBus.Properties',member='PropertiesChanged',"                           \
        "arg0='" QUALITY_BUS_INTERFACE "'"
#define MATCH_NAME_OWNER_CHANGED                                                                            \
        "type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',"                         \
        "interface='org.freedesktop.DBus',member='NameOwnerChanged',arg0='" QUALITY_BUS_NAME "'"

struct TiersEntry {
        TiersEntry *next;
        HttpBody *body;
        char task_type[];
};

static usec_t cache_now(Cache *c) {
        usec_t t;

        if (sd_event_now(c->event, CLOCK_MONOTONIC, &t) < 0)
                t = now(CLOCK_MONOTONIC);
        return t;
}

/* ---- waiters ---- */

static void waiter_list_append(CacheWaiterList *l, CacheWaiter *w) {
        w->list = l;
        w->next = NULL;
        w->prev = l->tail;
        if (l->tail)
                l->tail->next = w;
        else
                l->head = w;
        l->tail = w;
}

void cache_waiter_cancel(CacheWaiter *w) {
        CacheWaiterList *l = w->list;

        if (!l)
                return;
        if (w->prev)
                w->prev->next = w->next;
        else
                l->head = w->next;
        if (w->next)
                w->next->prev = w->prev;
        else
                l->tail = w->prev;
        w->prev = w->next = NULL;
        w->list = NULL;
}

/* Wakes everyone waiting now. Whoever queues again while being woken waits for the next answer. */
static void waiter_list_wake(CacheWaiterList *l) {
        CacheWaiterList woken = *l;
        CacheWaiter *w;

        *l = (CacheWaiterList){ 0 };
        for (w = woken.head; w; w = w->next)
                w->list = &woken;
        while ((w = woken.head)) {
                cache_waiter_cancel(w);
                w->wake(w);
        }
}

/* ---- DescribeTaskType answers ---- */

static size_t tiers_bucket(const char *s) {
        uint32_t h = UINT32_C(2166136261); /* FNV-1a */

        for (; *s; s++)
                h = (h ^ (uint8_t) *s) * UINT32_C(16777619);
        return h % HTTPD_TIERS_CACHE_BUCKETS;
}

static void tiers_clear(Cache *c) {
        for (size_t i = 0; c->tiers && i < HTTPD_TIERS_CACHE_BUCKETS; i++)
                while (c->tiers[i]) {
                        TiersEntry *e = c->tiers[i];

                        c->tiers[i] = e->next;
                        http_body_unref(e->body);
                        free(e);
                }
        c->n_tiers = 0;
}

/* A new generation, a new daemon, or no daemon: what was cached may no longer hold. */
static void cache_invalidate(Cache *c) {
        c->epoch++;
        tiers_clear(c);
}

HttpBody *cache_tiers_get(Cache *c, const char *task_type) {
        for (TiersEntry *e = c->tiers[tiers_bucket(task_type)]; e; e = e->next)
                if (streq(e->task_type, task_type))
                        return http_body_ref(e->body);
        return NULL;
}

int cache_tiers_put(Cache *c, uint64_t epoch, const char *task_type, HttpBody *body) {
        size_t bucket = tiers_bucket(task_type), n = strlen(task_type);
        TiersEntry *e;

        if (epoch != c->epoch)
                return 0;
        for (e = c->tiers[bucket]; e; e = e->next)
                if (streq(e->task_type, task_type))
                        return 0;
        if (c->n_tiers >= HTTPD_TIERS_CACHE_MAX)
                tiers_clear(c);

        e = malloc(offsetof(TiersEntry, task_type) + n + 1);
        if (!e)
                return -ENOMEM;
        memcpy(e->task_type, task_type, n + 1);
        e->body = http_body_ref(body);
        e->next = c->tiers[bucket];
        c->tiers[bucket] = e;
        c->n_tiers++;
        return 1;
}

/* ---- building the answers ---- */

static int body_new_json(struct json_object *o, HttpBody **ret) {
        const char *text =
                json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);

        if (!text)
                return -ENOMEM;
        return http_body_new(text, strlen(text), ret);
}

static const char *json_get_string(struct json_object *o, const char *key) {
        struct json_object *v;

        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
                return "";
        return json_object_get_string(v);
}

static int ready_body_new(const char *status, bool healthy, const char *environment, int64_t generation,
                          HttpBody **ret) {
        _cleanup_(json_object_putp) struct json_object *o = json_object_new_object();
        int k;

        if (!o)
                return -ENOMEM;
        k = json_object_add_owned(o, "status", json_object_new_string(healthy ? "ready" : "not_ready"));
        if (k >= 0)
                k = json_object_add_owned(o, "health", json_object_new_string(status));
        if (k >= 0 && environment)
                k = json_object_add_owned(o, "environment", json_object_new_string(environment));
        if (k >= 0 && generation >= 0)
                k = json_object_add_owned(o, "generation", json_object_new_int64(generation));
        if (k >= 0 && !environment)
                k = json_object_add_owned(o, "message", json_object_new_string(UNREACHABLE_MESSAGE));
        if (k < 0)
                return k;
        return body_new_json(o, ret);
}

static int version_body_new(const char *version, const char *environment, int64_t generation,
                            HttpBody **ret) {
        _cleanup_(json_object_putp) struct json_object *o = json_object_new_object();
        struct json_object *tiers = NULL;
        int k;

        if (!o)
                return -ENOMEM;
        k = json_object_add_owned(o, "system", json_object_new_string(SYSTEM_NAME));
        if (k >= 0)
                k = json_object_add_owned(o, "version", json_object_new_string(version));
        if (k >= 0)
                k = json_object_add_owned(o, "supported_tiers", tiers = json_object_new_array());
        FOREACH_TIER(t)
                if (k >= 0 && json_object_array_add(tiers, json_object_new_string(tier_to_string(t))) < 0)
                        k = -ENOMEM;
        /* The configuration's version is its generation: what a rollback or a deploy changes. */
        if (k >= 0)
                k = json_object_add_owned(o, "config_version", json_object_new_int64(generation));
        if (k >= 0)
                k = json_object_add_owned(o, "environment", json_object_new_string(environment));
        if (k < 0)
                return k;
        return body_new_json(o, ret);
}

/* Takes the daemon's Health answer: the JSON itself for /health, and /ready and /version made from it. */
static int cache_take_health(Cache *c, const char *status, const char *json) {
        _cleanup_(http_body_unrefp) HttpBody *health = NULL, *ready = NULL, *version = NULL;
        _cleanup_(json_object_putp) struct json_object *o = NULL;
        struct json_object *v;
        const char *environment;
        int64_t generation = 0;
        bool healthy = streq(status, "healthy");
        int k;

        o = json_tokener_parse(json);
        if (!o || !json_object_is_type(o, json_type_object))
                return -EBADMSG;
        environment = json_get_string(o, "environment");
        if (json_object_object_get_ex(o, "generation", &v) && json_object_is_type(v, json_type_int))
                generation = json_object_get_int64(v);

        k = http_body_new(json, strlen(json), &health);
        if (k >= 0)
                k = ready_body_new(status, healthy, environment, generation, &ready);
        if (k >= 0)
                k = version_body_new(json_get_string(o, "version"), environment, generation, &version);
        if (k < 0)
                return k;

        http_body_unref(c->health);
        http_body_unref(c->ready);
        http_body_unref(c->version);
        c->health = TAKE_PTR(health);
        c->ready = TAKE_PTR(ready);
        c->version = TAKE_PTR(version);
        c->healthy = healthy;
        return 0;
}

/* ---- the daemon's state ---- */

static int cache_connect(Cache *c);
static int cache_refresh_health(Cache *c);

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        Cache *c = userdata;

        if (!c->bus || c->bus_lost)
                (void) cache_connect(c);
        else
                (void) cache_refresh_health(c);
        return 0;
}

static void cache_schedule_retry(Cache *c) {
        int k;

        if (!c->retry_timer)
                k = sd_event_add_time_relative(c->event, &c->retry_timer, CLOCK_MONOTONIC,
                                               HTTPD_BUS_RETRY_USEC, 0, on_retry, c);
        else {
                k = sd_event_source_set_time_relative(c->retry_timer, HTTPD_BUS_RETRY_USEC);
                if (k >= 0)
                        k = sd_event_source_set_enabled(c->retry_timer, SD_EVENT_ONESHOT);
        }
        if (k < 0)
                log_error_errno(k, "Failed to arm the bus retry timer: %m");
}

static void cache_set_unreachable(Cache *c) {
        if (c->state == DAEMON_REACHABLE)
                log_warning("auteur-qualityd no longer answers on the system bus; /health answers 503.");
        c->state = DAEMON_UNREACHABLE;
        c->health = http_body_unref(c->health);
        c->ready = http_body_unref(c->ready);
        c->version = http_body_unref(c->version);
        c->healthy = false;
        c->metrics_valid = false;
        cache_invalidate(c);
        waiter_list_wake(&c->health_waiters);
}

bool bus_error_is_unreachable(const sd_bus_error *e) {
        return sd_bus_error_has_names(e, SD_BUS_ERROR_SERVICE_UNKNOWN, SD_BUS_ERROR_NAME_HAS_NO_OWNER,
                                      SD_BUS_ERROR_NO_REPLY, SD_BUS_ERROR_TIMEOUT, SD_BUS_ERROR_DISCONNECTED,
                                      SD_BUS_ERROR_UNKNOWN_OBJECT, SD_BUS_ERROR_UNKNOWN_INTERFACE,
                                      SD_BUS_ERROR_UNKNOWN_METHOD);
}

static int on_health_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Cache *c = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        const char *status, *json;
        int k;

        c->health_call = sd_bus_slot_unref(c->health_call);

        if (e) {
                if (c->state != DAEMON_UNREACHABLE)
                        log_warning("Health() of auteur-qualityd failed: %s",
                                    e->message ? e->message : e->name);
                cache_set_unreachable(c);
                /* Nobody owns the name: NameOwnerChanged says when somebody does. Otherwise try again. */
                if (!sd_bus_error_has_names(e, SD_BUS_ERROR_SERVICE_UNKNOWN, SD_BUS_ERROR_NAME_HAS_NO_OWNER))
                        cache_schedule_retry(c);
        } else {
                k = sd_bus_message_read(reply, "ss", &status, &json);
                if (k >= 0)
                        k = cache_take_health(c, status, json);
                if (k < 0) {
                        log_warning_errno(k, "Failed to take the health answer of auteur-qualityd: %m");
                        cache_set_unreachable(c);
                        cache_schedule_retry(c);
                } else {
                        if (c->state != DAEMON_REACHABLE)
                                log_info("auteur-qualityd answers on the system bus; its status is %s.",
                                         status);
                        c->state = DAEMON_REACHABLE;
                        c->health_usec = cache_now(c);
                }
        }

        if (c->health_again) {
                c->health_again = false;
                (void) cache_refresh_health(c);
        }
        waiter_list_wake(&c->health_waiters);
        return 0;
}

static int cache_refresh_health(Cache *c) {
        int k;

        if (c->health_call) {
                c->health_again = true;
                return 0;
        }
        k = cache_call(c, &c->health_call, on_health_reply, c, "Health", NULL);
        if (k < 0) {
                log_debug_errno(k, "Failed to call Health(): %m");
                cache_set_unreachable(c);
                if (k != -ENOTCONN)
                        cache_schedule_retry(c);
        }
        return k;
}

static int on_properties_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Cache *c = userdata;

        cache_invalidate(c);
        (void) cache_refresh_health(c);
        return 0;
}

static int on_name_owner_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        const char *name, *old_owner, *new_owner;
        Cache *c = userdata;

        if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0 ||
            !streq(name, QUALITY_BUS_NAME))
                return 0;

        cache_invalidate(c);
        if (*new_owner == 0) {
                log_info("auteur-qualityd left the system bus.");
                cache_set_unreachable(c);
                return 0;
        }
        log_debug("auteur-qualityd is on the system bus as %s.", new_owner);
        (void) cache_refresh_health(c);
        return 0;
}

static int on_disconnected(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Cache *c = userdata;

        /* Pending calls have failed by now; the connection is dropped and replaced by the retry timer. */
        log_warning("Lost the connection to the system bus; reconnecting in %" PRIu64 " s.",
                    HTTPD_BUS_RETRY_USEC / USEC_PER_SEC);
        c->bus_lost = true;
        cache_set_unreachable(c);
        cache_schedule_retry(c);
        return 0;
}

static void cache_disconnect(Cache *c) {
        c->match_properties = sd_bus_slot_unref(c->match_properties);
        c->match_reloaded = sd_bus_slot_unref(c->match_reloaded);
        c->match_owner = sd_bus_slot_unref(c->match_owner);
        c->match_disconnected = sd_bus_slot_unref(c->match_disconnected);
        c->health_call = sd_bus_slot_unref(c->health_call);
        c->metrics_call = sd_bus_slot_unref(c->metrics_call);
        c->bus = sd_bus_flush_close_unref(c->bus);
        c->bus_lost = false;
}

static int cache_connect(Cache *c) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int k;

        cache_disconnect(c);

        k = sd_bus_open_system_with_description(&bus, "quality-http");
        if (k >= 0)
                k = sd_bus_attach_event(bus, c->event, SD_EVENT_PRIORITY_NORMAL);
        /* Subscribed before Health is asked, so that no change falls between the answer and the signal. */
        if (k >= 0)
                k = sd_bus_match_signal_async(bus, &c->match_disconnected, "org.freedesktop.DBus.Local",
                                              NULL, "org.freedesktop.DBus.Local", "Disconnected",
                                              on_disconnected, NULL, c);
        if (k >= 0)
                k = sd_bus_add_match_async(bus, &c->match_properties, MATCH_PROPERTIES_CHANGED,
                                           on_properties_changed, NULL, c);
        if (k >= 0)
                k = sd_bus_match_signal_async(bus, &c->match_reloaded, QUALITY_BUS_NAME, QUALITY_BUS_PATH,
                                              QUALITY_BUS_INTERFACE, "Reloaded", on_properties_changed, NULL,
                                              c);
        if (k >= 0)
                k = sd_bus_add_match_async(bus, &c->match_owner, MATCH_NAME_OWNER_CHANGED,
                                           on_name_owner_changed, NULL, c);
        if (k < 0) {
                log_warning_errno(k,
                                  "Failed to connect to the system bus, trying again in %" PRIu64 " s: %m",
                                  HTTPD_BUS_RETRY_USEC / USEC_PER_SEC);
                cache_disconnect(c);
                cache_set_unreachable(c);
                cache_schedule_retry(c);
                return k;
        }

        c->bus = TAKE_PTR(bus);
        return cache_refresh_health(c);
}

int cache_start(Cache *c) {
        (void) cache_connect(c);
        return 0;
}

int cache_call(Cache *c, sd_bus_slot **ret_slot, sd_bus_message_handler_t callback, void *userdata,
               const char *member, const char *types, ...) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        va_list ap;
        int k;

        if (!c->bus || c->bus_lost)
                return -ENOTCONN;

        k = sd_bus_message_new_method_call(c->bus, &m, QUALITY_BUS_NAME, QUALITY_BUS_PATH,
                                           QUALITY_BUS_INTERFACE, member);
        if (k < 0)
                return k;
        /* The shim reports on the daemon; it does not start it. */
        k = sd_bus_message_set_auto_start(m, false);
        if (k < 0)
                return k;
        if (types) {
                va_start(ap, types);
                k = sd_bus_message_appendv(m, types, ap);
                va_end(ap);
                if (k < 0)
                        return k;
        }
        return sd_bus_call_async(c->bus, ret_slot, m, callback, userdata, c->bus_timeout_usec);
}

/* ---- answers ---- */

static int on_metrics_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        _cleanup_(http_body_unrefp) HttpBody *body = NULL;
        Cache *c = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        const char *text;
        unsigned status = 200;
        int k;

        c->metrics_call = sd_bus_slot_unref(c->metrics_call);

        if (e)
                k = -EIO;
        else {
                k = sd_bus_message_read(reply, "s", &text);
                if (k >= 0)
                        k = http_body_new(text, strlen(text), &body);
        }
        if (k < 0) {
                status = 503;
                k = http_body_new_error(
                        status,
                        e && !bus_error_is_unreachable(e) && e->message ? e->message : UNREACHABLE_MESSAGE,
                        &body);
        }

        if (k >= 0) {
                http_body_unref(c->metrics);
                c->metrics = TAKE_PTR(body);
                c->metrics_status = status;
                c->metrics_usec = cache_now(c);
                c->metrics_valid = true;
        }
        waiter_list_wake(&c->metrics_waiters);
        return 0;
}

static int cache_get_metrics(Cache *c, CacheWaiter *w, unsigned *ret_status, HttpBody **ret_body) {
        int k;

        if (!c->metrics_valid || cache_now(c) >= c->metrics_usec + HTTPD_METRICS_MAX_AGE_USEC) {
                if (c->state != DAEMON_UNREACHABLE) {
                        if (!c->metrics_call)
                                k = cache_call(c, &c->metrics_call, on_metrics_reply, c, "GetMetrics", NULL);
                        else
                                k = 0;
                        if (k >= 0) {
                                waiter_list_append(&c->metrics_waiters, w);
                                return 0;
                        }
                        log_debug_errno(k, "Failed to call GetMetrics(): %m");
                }
                *ret_status = 503;
                *ret_body = http_body_ref(c->unreachable_error);
                return 1;
        }

        *ret_status = c->metrics_status;
        *ret_body = http_body_ref(c->metrics);
        return 1;
}

int cache_get(Cache *c, CacheItem item, CacheWaiter *w, unsigned *ret_status, HttpBody **ret_body) {
        if (item == CACHE_METRICS)
                return cache_get_metrics(c, w, ret_status, ret_body);

        /* Counts that change without a signal are refreshed in the background, never waited for. */
        if (c->state == DAEMON_REACHABLE && !c->health_call &&
            cache_now(c) >= c->health_usec + HTTPD_HEALTH_MAX_AGE_USEC)
                (void) cache_refresh_health(c);

        switch (c->state) {
        case DAEMON_UNKNOWN:
                waiter_list_append(&c->health_waiters, w);
                return 0;
        case DAEMON_UNREACHABLE:
                *ret_status = 503;
                *ret_body = http_body_ref(item == CACHE_HEALTH  ? c->unreachable_health
                                          : item == CACHE_READY ? c->unreachable_ready
                                                                : c->unreachable_error);
                return 1;
        default:
                *ret_status = item == CACHE_READY && !c->healthy ? 503 : 200;
                *ret_body = http_body_ref(item == CACHE_HEALTH  ? c->health
                                          : item == CACHE_READY ? c->ready
                                                                : c->version);
                return 1;
        }
}

/* ---- lifecycle ---- */

int cache_new(sd_event *event, usec_t bus_timeout_usec, Cache **ret) {
        _cleanup_(cache_freep) Cache *c = NULL;
        _cleanup_(json_object_putp) struct json_object *o = json_object_new_object();
        int k;

        if (!o)
                return -ENOMEM;
        c = calloc(1, sizeof(Cache));
        if (!c)
                return -ENOMEM;
        c->event = sd_event_ref(event);
        c->bus_timeout_usec = bus_timeout_usec;
        c->state = DAEMON_UNKNOWN;
        c->tiers = calloc(HTTPD_TIERS_CACHE_BUCKETS, sizeof(TiersEntry *));
        if (!c->tiers)
                return -ENOMEM;

        k = json_object_add_owned(o, "status", json_object_new_string("unreachable"));
        if (k >= 0)
                k = json_object_add_owned(o, "message", json_object_new_string(UNREACHABLE_MESSAGE));
        if (k >= 0)
                k = body_new_json(o, &c->unreachable_health);
        if (k >= 0)
                k = ready_body_new("unreachable", false, NULL, -1, &c->unreachable_ready);
        if (k >= 0)
                k = http_body_new_error(503, UNREACHABLE_MESSAGE, &c->unreachable_error);
        if (k < 0)
                return k;

        *ret = TAKE_PTR(c);
        return 0;
}

Cache *cache_free(Cache *c) {
        if (!c)
                return NULL;

        cache_disconnect(c);
        c->retry_timer = sd_event_source_unref(c->retry_timer);
        tiers_clear(c);
        free(c->tiers);
        http_body_unref(c->health);
        http_body_unref(c->ready);
        http_body_unref(c->version);
        http_body_unref(c->metrics);
        http_body_unref(c->unreachable_health);
        http_body_unref(c->unreachable_ready);
        http_body_unref(c->unreachable_error);
        sd_event_unref(c->event);
        free(c);
        return NULL;
}
