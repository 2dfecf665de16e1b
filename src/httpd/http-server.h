/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The server: listening sockets, the bound on connections, their deadlines, and exit when idle. */
#pragma once

#include <stdbool.h>
#include <sys/epoll.h>
#include <systemd/sd-event.h>

#include "http-cache.h"
#include "http-response.h"
#include "macro.h"
#include "time-util.h"

typedef struct Connection Connection;
typedef struct Server Server;

typedef struct ServerSettings {
        unsigned max_connections;
        usec_t header_timeout_usec; /* to receive a request's header section, from its first byte (or accept)
                                     */
        usec_t idle_timeout_usec;   /* between requests, and without progress while sending */
        usec_t bus_timeout_usec;    /* for each call to the daemon */
        usec_t exit_idle_usec;      /* exit after this long without connections; 0: never */
} ServerSettings;

/* Every connection is on exactly one list. The deadlines of a list grow from head to tail, since every
 * connection on it got the same timeout when it was appended: the head is always the first to expire. */
typedef enum ConnectionListKind {
        CONNECTION_LIST_READING, /* a request is arriving; header timeout */
        CONNECTION_LIST_IDLE,    /* between requests or sending; idle timeout */
        CONNECTION_LIST_WAITING, /* a request waits on the daemon; the bus timeout bounds it */
        _CONNECTION_LIST_MAX,
} ConnectionListKind;

typedef struct ConnectionList {
        Connection *head, *tail;
} ConnectionList;

typedef struct Listener {
        Server *server;
        int fd;
        sd_event_source *source;
} Listener;

struct Server {
        sd_event *event;
        ServerSettings settings;
        Cache *cache;

        Listener *listeners;
        size_t n_listeners;
        bool accept_paused;
        sd_event_source *accept_retry_timer;

        /* Connections are watched by an epoll set of their own, itself one source of the event loop:
         * however many connections are ready, one loop iteration serves them all (sd-event dispatches
         * one source per iteration, each after an epoll_wait()). Edge-triggered, see connection_update(). */
        int epoll_fd;
        sd_event_source *epoll_source;
        struct epoll_event *batch; /* the events being dispatched; entries of freed connections are NULL */
        size_t n_batch, i_batch;

        ConnectionList lists[_CONNECTION_LIST_MAX];
        unsigned n_connections;
        sd_event_source *deadline_timer;
        usec_t deadline_armed; /* USEC_INFINITY when the timer is off */
        sd_event_source *exit_timer;

        char date[HTTP_DATE_SIZE];
        usec_t date_sec;
};

#define USEC_INFINITY UINT64_MAX

int server_new(const ServerSettings *settings, Server **ret);
Server *server_free(Server *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(Server *, server_free);

/* "ADDRESS:PORT" with an IPv4 literal, or "[ADDRESS]:PORT" with an IPv6 one. */
int server_listen_address(Server *s, const char *address);
/* The stream sockets systemd passed (sd_listen_fds()). Returns how many. */
int server_listen_systemd(Server *s);
int server_start(Server *s);
int server_run(Server *s);

/* For connections. */
usec_t server_now(Server *s);
const char *server_date(Server *s);
/* Moves c to the tail of a list; its deadline restarts unless it is already on that list and renew
 * is false (a request's header timeout counts from its first byte, however many reads follow). */
void server_place_connection(Server *s, Connection *c, ConnectionListKind kind, bool renew);
void server_remove_connection(Server *s, Connection *c);
int server_watch_connection(Server *s, Connection *c, uint32_t events, bool add);
