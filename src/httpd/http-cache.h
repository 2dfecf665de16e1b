/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the shim knows of the daemon: health, readiness, version and metrics, kept fresh by its signals. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "http-response.h"
#include "macro.h"
#include "time-util.h"

typedef enum DaemonState {
        DAEMON_UNKNOWN,     /* not asked yet, or the first answer is on its way */
        DAEMON_REACHABLE,   /* Health answered; the bodies below are its answer */
        DAEMON_UNREACHABLE, /* no bus, nobody owns the name, or the owner does not answer */
        _DAEMON_STATE_MAX,
} DaemonState;

typedef enum CacheItem {
        CACHE_HEALTH,
        CACHE_READY,
        CACHE_VERSION,
        CACHE_METRICS,
        _CACHE_ITEM_MAX,
} CacheItem;

/* Someone (a connection) waiting for the cache to have an answer. Embedded in the waiter's object. */
typedef struct CacheWaiter CacheWaiter;
typedef struct CacheWaiterList {
        CacheWaiter *head, *tail;
} CacheWaiterList;
struct CacheWaiter {
        CacheWaiter *prev, *next;
        CacheWaiterList *list; /* NULL when not waiting */
        void (*wake)(CacheWaiter *w);
};

typedef struct TiersEntry TiersEntry;

typedef struct Cache {
        sd_event *event;
        sd_bus *bus;
        bool bus_lost; /* disconnected; the retry timer drops the connection and makes a new one */
        usec_t bus_timeout_usec;
        sd_bus_slot *match_properties, *match_reloaded, *match_owner, *match_disconnected;
        sd_event_source *retry_timer;

        DaemonState state;
        sd_bus_slot *health_call;
        bool health_again;  /* something changed while the call was on its way: ask once more */
        usec_t health_usec; /* CLOCK_MONOTONIC of the last answer */
        HttpBody *health, *ready, *version;
        bool healthy;
        HttpBody *unreachable_health, *unreachable_ready, *unreachable_error;
        CacheWaiterList health_waiters;

        sd_bus_slot *metrics_call;
        bool metrics_valid;
        usec_t metrics_usec; /* CLOCK_MONOTONIC of the last answer */
        unsigned metrics_status;
        HttpBody *metrics;
        CacheWaiterList metrics_waiters;

        /* DescribeTaskType answers of the current generation; epoch counts the changes that void them. */
        TiersEntry **tiers;
        size_t n_tiers;
        uint64_t epoch;
} Cache;

int cache_new(sd_event *event, usec_t bus_timeout_usec, Cache **ret);
Cache *cache_free(Cache *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(Cache *, cache_free);

/* Connects to the system bus, subscribes to the daemon's signals and asks for its health. A bus that
 * cannot be reached is tried again later; until then the daemon counts as unreachable. */
int cache_start(Cache *c);

/* Returns 1 with the answer for item (status, and a new reference to the body), or 0 when it is not
 * known yet: w is then queued and woken once it is. Never a bus call per request: /health, /ready and
 * /version answer from memory; /metrics calls GetMetrics at most once a second for all its waiters. */
int cache_get(Cache *c, CacheItem item, CacheWaiter *w, unsigned *ret_status, HttpBody **ret_body);
void cache_waiter_cancel(CacheWaiter *w);

/* DescribeTaskType answers, per generation. cache_tiers_put() keeps body only if no change voided the
 * cache since epoch was read with cache_epoch(). */
HttpBody *cache_tiers_get(Cache *c, const char *task_type);
int cache_tiers_put(Cache *c, uint64_t epoch, const char *task_type, HttpBody *body);
static inline uint64_t cache_epoch(const Cache *c) {
        return c->epoch;
}

/* Calls a method of the daemon asynchronously, without activating it, with the bus timeout. Returns
 * -ENOTCONN when there is no bus connection. */
int cache_call(Cache *c, sd_bus_slot **ret_slot, sd_bus_message_handler_t callback, void *userdata,
               const char *member, const char *types, ...);

/* Whether a call failed because nobody (or nobody answering) owns the daemon's name. */
bool bus_error_is_unreachable(const sd_bus_error *e) _pure_;
