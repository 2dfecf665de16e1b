/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One client connection: reading and parsing requests in order, queueing and sending responses. */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "http-connection.h"
#include "http-endpoint.h"
#include "log.h"

/* After a response that closes the connection, input is read and dropped for at most this much, so that
 * unread bytes do not make the kernel reset the connection before the client has read the response. */
#define LINGER_MAX (64U * 1024U)
/* Reads of one connection per event, so that a client that keeps sending cannot hold the loop. */
#define READS_PER_EVENT 16U

struct OutputItem {
        OutputItem *next;
        HttpBody *body; /* NULL for HEAD, and for responses without one */
        size_t offset;  /* bytes of head, then body, already sent */
        size_t head_size;
        char head[];
};

static size_t output_item_size(const OutputItem *o) {
        return o->head_size + (o->body ? o->body->size : 0);
}

static OutputItem *output_item_free(OutputItem *o) {
        http_body_unref(o->body);
        free(o);
        return NULL;
}

static void connection_on_wake(CacheWaiter *w) {
        Connection *c = container_of(w, Connection, waiter);

        if (endpoint_dispatch(c) > 0)
                connection_resume(c);
}

static void connection_run(Connection *c);

int connection_new(Server *s, int fd, Connection **ret) {
        Connection *c;
        int k, one = 1;

        c = calloc(1, sizeof(Connection));
        if (!c)
                return -ENOMEM;
        c->server = s;
        c->fd = fd;
        c->list = _CONNECTION_LIST_MAX;
        c->waiter.wake = connection_on_wake;
        http_request_init(&c->request);

        /* Each response goes out in one call; do not let it wait for the acknowledgement of the last. */
        (void) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

        c->events = EPOLLIN | EPOLLET;
        k = server_watch_connection(s, c, c->events, true);
        if (k < 0) {
                free(c);
                return k;
        }
        s->n_connections++;
        server_place_connection(s, c, CONNECTION_LIST_READING, true);
        *ret = c;
        return 0;
}

Connection *connection_free(Connection *c) {
        if (!c)
                return NULL;

        server_remove_connection(c->server, c);
        cache_waiter_cancel(&c->waiter);
        c->call = sd_bus_slot_unref(c->call);
        while (c->output_head) {
                OutputItem *o = c->output_head;

                c->output_head = o->next;
                output_item_free(o);
        }
        safe_close(c->fd);
        free(c);
        return NULL;
}

bool connection_is_idle(const Connection *c) {
        return !c->waiting && !c->output_head && !http_request_started(&c->request);
}

/* ---- output ---- */

int connection_reply(Connection *c, unsigned status, const char *content_type, HttpBody *body,
                     const char *extra) {
        const HttpRequest *r = &c->request;
        char head[HTTP_RESPONSE_HEAD_MAX];
        HttpConnectionHeader header;
        bool keep, send_body;
        OutputItem *o;
        int n;

        /* After a malformed request, or one with a body this server does not read, the next request
         * cannot be found: close. */
        keep = r->state == HTTP_PARSE_DONE && http_request_keep_alive(r) && !http_request_has_body(r) &&
               !c->input_eof;
        header = !keep                   ? HTTP_CONNECTION_HEADER_CLOSE
                 : r->version_minor == 0 ? HTTP_CONNECTION_HEADER_KEEP_ALIVE
                                         : HTTP_CONNECTION_HEADER_NONE;
        send_body = body && !(r->state == HTTP_PARSE_DONE && r->method == HTTP_METHOD_HEAD);

        n = http_response_format_head(head, sizeof(head), status, server_date(c->server), content_type,
                                      body ? body->size : 0, header, extra);
        if (n < 0)
                return n;

        if (c->output_bytes > 0 &&
            c->output_bytes + (size_t) n + (send_body ? body->size : 0) > HTTP_OUTPUT_MAX) {
                log_debug("Cutting off a client that does not read its responses (%zu bytes unsent).",
                          c->output_bytes);
                c->dead = true;
                return -ENOBUFS;
        }

        o = malloc(offsetof(OutputItem, head) + (size_t) n);
        if (!o) {
                c->dead = true;
                return -ENOMEM;
        }
        memcpy(o->head, head, (size_t) n);
        o->head_size = (size_t) n;
        o->offset = 0;
        o->body = send_body ? http_body_ref(body) : NULL;
        o->next = NULL;

        if (c->output_tail)
                c->output_tail->next = o;
        else
                c->output_head = o;
        c->output_tail = o;
        c->output_bytes += output_item_size(o);

        if (!keep)
                c->closing = true;
        return 0;
}

int connection_reply_error(Connection *c, unsigned status, const char *message, const char *extra) {
        _cleanup_(http_body_unrefp) HttpBody *body = NULL;
        int k;

        k = http_body_new_error(status, message, &body);
        if (k < 0) {
                c->dead = true;
                return k;
        }
        return connection_reply(c, status, HTTP_CONTENT_TYPE_JSON, body, extra);
}

/* Sends as much of the queued output as the socket takes. */
static void connection_flush(Connection *c) {
        while (c->output_head) {
                struct iovec iov[HTTP_OUTPUT_IOV_MAX];
                struct msghdr msg = { .msg_iov = iov };
                size_t n_iov = 0;
                ssize_t n;

                for (OutputItem *o = c->output_head; o && n_iov + 2 <= ELEMENTSOF(iov); o = o->next) {
                        if (o->offset < o->head_size)
                                iov[n_iov++] = (struct iovec){ .iov_base = o->head + o->offset,
                                                               .iov_len = o->head_size - o->offset };
                        if (o->body) {
                                size_t skip = o->offset > o->head_size ? o->offset - o->head_size : 0;

                                iov[n_iov++] = (struct iovec){ .iov_base = o->body->data + skip,
                                                               .iov_len = o->body->size - skip };
                        }
                }
                msg.msg_iovlen = n_iov;

                n = sendmsg(c->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n < 0) {
                        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                                return;
                        log_debug_errno(errno, "Failed to send to a client, closing its connection: %m");
                        c->dead = true;
                        return;
                }

                c->output_bytes -= (size_t) n;
                while (n > 0) {
                        OutputItem *o = c->output_head;
                        size_t left = output_item_size(o) - o->offset;

                        if ((size_t) n < left) {
                                o->offset += (size_t) n;
                                break;
                        }
                        n -= (ssize_t) left;
                        c->output_head = o->next;
                        if (!c->output_head)
                                c->output_tail = NULL;
                        output_item_free(o);
                }
        }
}

/* ---- input ---- */

/* Reads once. Returns whether bytes, or the end of the input, came. */
static bool connection_read(Connection *c) {
        size_t space;
        ssize_t n;

        if (c->input_start == c->input_end)
                c->input_start = c->input_end = 0;
        else if (c->input_end == sizeof(c->input)) {
                memmove(c->input, c->input + c->input_start, c->input_end - c->input_start);
                c->input_end -= c->input_start;
                c->input_start = 0;
        }
        space = sizeof(c->input) - c->input_end;
        if (space == 0)
                return false;

        n = recv(c->fd, c->input + c->input_end, space, MSG_DONTWAIT);
        if (n < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK)
                        c->readable = false;
                else if (errno != EINTR) {
                        log_debug_errno(errno,
                                        "Failed to receive from a client, closing its connection: %m");
                        c->dead = true;
                }
                return false;
        }
        if (n == 0) {
                c->input_eof = true;
                c->readable = false;
                return true;
        }
        /* Less than asked for: the socket is drained, and the next byte brings a new edge. */
        if ((size_t) n < space)
                c->readable = false;
        c->input_end += (size_t) n;
        return true;
}

static bool connection_wants_input(const Connection *c) {
        return !c->dead && !c->waiting && !c->closing && !c->input_eof &&
               c->input_end - c->input_start < sizeof(c->input);
}

static const char *parse_error_message(unsigned status) {
        switch (status) {
        case 414:
                return "The request target is longer than the server accepts.";
        case 431:
                return "The request's header section is larger than the server accepts.";
        case 505:
                return "Only HTTP/1.0 and HTTP/1.1 are served.";
        default:
                return "The request is malformed.";
        }
}

/* Parses and answers the requests that arrived, in order, until one waits on the daemon. */
static void connection_process(Connection *c) {
        while (!c->waiting && !c->closing && !c->dead && c->input_start < c->input_end) {
                size_t consumed = 0;
                int k;

                k = http_request_feed(&c->request, c->input + c->input_start, c->input_end - c->input_start,
                                      &consumed);
                c->input_start += consumed;
                if (k == 0)
                        break;

                c->progress = true;
                if (k < 0) {
                        log_debug("Refusing a malformed request with status %u.", c->request.error_status);
                        (void) connection_reply_error(c, c->request.error_status,
                                                      parse_error_message(c->request.error_status), NULL);
                        break;
                }
                if (endpoint_dispatch(c) == 0) {
                        c->waiting = true;
                        break;
                }
                http_request_reset(&c->request);
        }
}

/* Everything is sent and the connection is to close: stop sending, and drain what the client still
 * sends until it closes, the linger allowance is used up, or the deadline passes. */
static void connection_linger(Connection *c) {
        char buf[HTTP_INPUT_BUFFER_SIZE];
        ssize_t n;

        if (!c->lingering) {
                c->lingering = true;
                if (shutdown(c->fd, SHUT_WR) < 0) {
                        c->dead = true;
                        return;
                }
                server_place_connection(c->server, c, CONNECTION_LIST_READING, true);
        }
        for (;;) {
                n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
                if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                        return;
                if (n <= 0 || (c->lingered += (size_t) n) > LINGER_MAX) {
                        c->dead = true;
                        return;
                }
        }
}

/* Sets what to wait for, and on which list; or frees the connection when it is done. */
static void connection_update(Connection *c) {
        uint32_t events = EPOLLIN | EPOLLET;

        if (!c->dead && !c->waiting && !c->output_head && (c->closing || c->input_eof))
                connection_linger(c);
        if (c->dead) {
                connection_free(c);
                return;
        }

        if (c->output_head)
                events |= EPOLLOUT;
        /* Setting the events of an edge-triggered registration re-arms it: that brings us back to a
         * connection that still has input we left for later, so that one busy client does not starve the
         * others. */
        if (events != c->events || (c->readable && connection_wants_input(c))) {
                if (server_watch_connection(c->server, c, events, false) < 0) {
                        connection_free(c);
                        return;
                }
                c->events = events;
        }

        if (c->lingering)
                return;
        if (c->waiting)
                server_place_connection(c->server, c, CONNECTION_LIST_WAITING, false);
        else if (http_request_started(&c->request))
                server_place_connection(c->server, c, CONNECTION_LIST_READING, c->progress);
        else
                server_place_connection(c->server, c, CONNECTION_LIST_IDLE, true);
        c->progress = false;
}

static void connection_run(Connection *c) {
        for (unsigned i = 0;; i++) {
                connection_process(c);
                if (i >= READS_PER_EVENT || !c->readable || !connection_wants_input(c) ||
                    !connection_read(c))
                        break;
        }
        if (!c->dead && c->output_head)
                connection_flush(c);
        connection_update(c);
}

void connection_on_io(Connection *c, uint32_t revents) {
        if (revents & (EPOLLHUP | EPOLLERR))
                c->dead = true;
        else if (c->lingering)
                connection_linger(c);
        else {
                if (revents & EPOLLIN)
                        c->readable = true;
                if (revents & EPOLLOUT)
                        connection_flush(c);
                if (!c->dead) {
                        connection_run(c);
                        return;
                }
        }
        connection_update(c);
}

void connection_resume(Connection *c) {
        c->waiting = false;
        c->progress = true;
        http_request_reset(&c->request);
        connection_run(c);
}

void connection_expire(Connection *c) {
        /* A request that started but did not finish in time is told why, if the socket takes it. */
        if (http_request_started(&c->request) && !c->lingering && !c->closing && !c->waiting) {
                log_debug("Closing a connection whose request did not arrive in time.");
                c->request.state = HTTP_PARSE_ERROR;
                if (connection_reply_error(c, 408, "The request did not arrive in time.", NULL) >= 0)
                        connection_flush(c);
        }
        connection_free(c);
}
