/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One client connection: reading and parsing requests in order, queueing and sending responses. */
#pragma once

#include <stdbool.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "http-cache.h"
#include "http-request.h"
#include "http-response.h"
#include "http-server.h"
#include "quality-def.h"

typedef struct OutputItem OutputItem;

struct Connection {
        Server *server;
        int fd;
        uint32_t events; /* what the server's epoll set waits for on fd (edge-triggered) */
        bool readable;   /* an edge said there is input, and no read since found the socket drained */

        /* Server bookkeeping: the list this connection is on, and when it expires there. */
        Connection *prev, *next;
        ConnectionListKind list;
        usec_t deadline;

        HttpRequest request;
        char input[HTTP_INPUT_BUFFER_SIZE];
        size_t input_start, input_end;
        bool input_eof;

        /* Responses in request order; output_bytes counts what is not sent yet. */
        OutputItem *output_head, *output_tail;
        size_t output_bytes;

        bool progress;  /* a request completed since the connection was last placed on a list */
        bool waiting;   /* the current request waits on the daemon */
        bool closing;   /* send what is queued, then close */
        bool lingering; /* everything sent and our side shut: discard input until the client closes */
        size_t lingered;
        bool dead; /* close now */

        /* While waiting: on the cache, or on a call of our own. */
        CacheWaiter waiter;
        sd_bus_slot *call;
        uint64_t call_epoch; /* cache epoch when a DescribeTaskType call began; UINT64_MAX: not cached */
        char task_type[TASK_TYPE_NAME_MAX + 1];
};

int connection_new(Server *s, int fd, Connection **ret);
Connection *connection_free(Connection *c);

/* Queues the response to the current request. Whether the connection stays open follows from the
 * request (HTTP version, Connection, a body) and the status. A response that would take the unsent
 * output past HTTP_OUTPUT_MAX cuts the connection off instead. */
int connection_reply(Connection *c, unsigned status, const char *content_type, HttpBody *body,
                     const char *extra);
/* The same with a JSON error body. */
int connection_reply_error(Connection *c, unsigned status, const char *message, const char *extra);
/* The socket is ready (EPOLLIN, EPOLLOUT, EPOLLHUP, EPOLLERR). May free c. */
void connection_on_io(Connection *c, uint32_t revents);
/* The current request was answered after waiting: go on with the next one. May free c. */
void connection_resume(Connection *c);
/* The connection's deadline passed. Frees c. */
void connection_expire(Connection *c);
/* Whether c holds nothing that closing it now would lose. */
bool connection_is_idle(const Connection *c) _pure_;
