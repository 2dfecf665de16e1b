/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The server: listening sockets, the bound on connections, their deadlines, and exit when idle. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <systemd/sd-daemon.h>

#include "http-connection.h"
#include "http-server.h"
#include "httpd-def.h"
#include "log.h"

usec_t server_now(Server *s) {
        usec_t t;

        if (sd_event_now(s->event, CLOCK_MONOTONIC, &t) < 0)
                t = now(CLOCK_MONOTONIC);
        return t;
}

const char *server_date(Server *s) {
        usec_t t;

        /* sd-event takes the time once per loop iteration; the text changes once a second. */
        if (sd_event_now(s->event, CLOCK_REALTIME, &t) < 0)
                t = now(CLOCK_REALTIME);
        if (!s->date[0] || t / USEC_PER_SEC != s->date_sec) {
                s->date_sec = t / USEC_PER_SEC;
                http_date_format(t, s->date);
        }
        return s->date;
}

/* ---- connection lists and deadlines ---- */

static void list_unlink(Server *s, Connection *c) {
        ConnectionList *l;

        if (c->list >= _CONNECTION_LIST_MAX)
                return;
        l = s->lists + c->list;
        if (c->prev)
                c->prev->next = c->next;
        else
                l->head = c->next;
        if (c->next)
                c->next->prev = c->prev;
        else
                l->tail = c->prev;
        c->prev = c->next = NULL;
        c->list = _CONNECTION_LIST_MAX;
}

static void list_append(Server *s, Connection *c, ConnectionListKind kind) {
        ConnectionList *l = s->lists + kind;

        c->list = kind;
        c->next = NULL;
        c->prev = l->tail;
        if (l->tail)
                l->tail->next = c;
        else
                l->head = c;
        l->tail = c;
}

static void server_arm_deadline(Server *s, usec_t deadline) {
        int k;

        /* The timer may fire early (the connection it was armed for got more time); it then sweeps
         * nothing and is armed for the new earliest deadline. */
        if (deadline >= s->deadline_armed)
                return;
        k = sd_event_source_set_time(s->deadline_timer, deadline);
        if (k >= 0)
                k = sd_event_source_set_enabled(s->deadline_timer, SD_EVENT_ONESHOT);
        if (k < 0) {
                log_error_errno(k, "Failed to arm the connection deadline timer: %m");
                return;
        }
        s->deadline_armed = deadline;
}

static void server_set_accepting(Server *s, bool on);

void server_place_connection(Server *s, Connection *c, ConnectionListKind kind, bool renew) {
        usec_t timeout;

        if (c->list == kind && (!renew || kind == CONNECTION_LIST_WAITING))
                return;

        list_unlink(s, c);
        /* At the bound, a connection that starts waiting for its next request may make room for a new
         * one: look at the accept queue again (see on_listener_io()). */
        if (kind == CONNECTION_LIST_IDLE && s->accept_paused && connection_is_idle(c) &&
            sd_event_source_get_enabled(s->accept_retry_timer, NULL) == 0)
                server_set_accepting(s, true);
        timeout = kind == CONNECTION_LIST_READING ? s->settings.header_timeout_usec
                  : kind == CONNECTION_LIST_IDLE  ? s->settings.idle_timeout_usec
                                                  : USEC_INFINITY;
        c->deadline = timeout == USEC_INFINITY ? USEC_INFINITY : server_now(s) + timeout;
        list_append(s, c, kind);
        if (c->deadline != USEC_INFINITY)
                server_arm_deadline(s, c->deadline);
}

static int on_deadline(sd_event_source *source, uint64_t usec, void *userdata) {
        Server *s = userdata;
        usec_t t = server_now(s), next = USEC_INFINITY;

        s->deadline_armed = USEC_INFINITY;
        for (ConnectionListKind kind = 0; kind < _CONNECTION_LIST_MAX; kind++) {
                Connection *c;

                if (kind == CONNECTION_LIST_WAITING)
                        continue;
                while ((c = s->lists[kind].head) && c->deadline <= t)
                        connection_expire(c);
                if (c)
                        next = MIN(next, c->deadline);
        }
        if (next != USEC_INFINITY)
                server_arm_deadline(s, next);
        return 0;
}

/* ---- accepting ---- */

static void server_set_accepting(Server *s, bool on) {
        for (size_t i = 0; i < s->n_listeners; i++)
                (void) sd_event_source_set_enabled(s->listeners[i].source, on ? SD_EVENT_ON : SD_EVENT_OFF);
        s->accept_paused = !on;
}

static void server_pause_accept(Server *s, bool retry) {
        if (!s->accept_paused)
                server_set_accepting(s, false);
        if (retry) {
                (void) sd_event_source_set_time_relative(s->accept_retry_timer, HTTPD_ACCEPT_RETRY_USEC);
                (void) sd_event_source_set_enabled(s->accept_retry_timer, SD_EVENT_ONESHOT);
        }
}

static int on_accept_retry(sd_event_source *source, uint64_t usec, void *userdata) {
        Server *s = userdata;

        if (s->accept_paused && s->n_connections < s->settings.max_connections)
                server_set_accepting(s, true);
        return 0;
}

/* ---- the connections' epoll set ---- */

int server_watch_connection(Server *s, Connection *c, uint32_t events, bool add) {
        struct epoll_event ev = { .events = events, .data.ptr = c };

        if (epoll_ctl(s->epoll_fd, add ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, c->fd, &ev) < 0)
                return negative_errno();
        return 0;
}

static int on_connections_ready(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        struct epoll_event events[HTTP_EPOLL_BATCH];
        Server *s = userdata;
        int n;

        /* Whatever this leaves ready keeps the set readable, and the loop comes back. */
        n = epoll_wait(s->epoll_fd, events, ELEMENTSOF(events), 0);
        if (n < 0) {
                if (errno != EINTR)
                        log_error_errno(errno, "Failed to wait for connections: %m");
                return 0;
        }

        s->batch = events;
        s->n_batch = (size_t) n;
        for (s->i_batch = 0; s->i_batch < s->n_batch; s->i_batch++) {
                Connection *c = events[s->i_batch].data.ptr;

                if (c)
                        connection_on_io(c, events[s->i_batch].events);
        }
        s->batch = NULL;
        s->n_batch = s->i_batch = 0;
        return 0;
}

void server_remove_connection(Server *s, Connection *c) {
        /* Serving one connection may free another (a cache answer wakes many); its events, if still to
         * come in this batch, must not be dispatched. Its registration goes with its socket. */
        for (size_t i = s->i_batch + 1; s->batch && i < s->n_batch; i++)
                if (s->batch[i].data.ptr == c)
                        s->batch[i].data.ptr = NULL;

        list_unlink(s, c);
        s->n_connections--;

        if (s->accept_paused && s->n_connections < s->settings.max_connections)
                server_set_accepting(s, true);
        if (s->n_connections == 0 && s->settings.exit_idle_usec > 0) {
                (void) sd_event_source_set_time_relative(s->exit_timer, s->settings.exit_idle_usec);
                (void) sd_event_source_set_enabled(s->exit_timer, SD_EVENT_ONESHOT);
        }
}

/* At the bound, a keep-alive connection that is only waiting for a next request makes room. */
static bool server_evict_idle(Server *s) {
        Connection *c = s->lists[CONNECTION_LIST_IDLE].head;

        if (!c || !connection_is_idle(c))
                return false;
        log_debug("At the limit of %u connections: closing the longest idle one.",
                  s->settings.max_connections);
        connection_free(c);
        return true;
}

static bool accept_error_is_transient(int error) {
        /* What accept(2) reports of a connection that failed before we took it. */
        switch (error) {
        case EINTR:
        case ECONNABORTED:
        case EPROTO:
        case ENETDOWN:
        case ENOPROTOOPT:
        case EHOSTDOWN:
        case ENONET:
        case EHOSTUNREACH:
        case EOPNOTSUPP:
        case ENETUNREACH:
        case EPERM:
                return true;
        default:
                return false;
        }
}

static int on_listener_io(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        Listener *l = userdata;
        Server *s = l->server;

        for (unsigned i = 0; i < HTTP_ACCEPT_BATCH; i++) {
                Connection *c;
                int cfd, k;

                /* Only the first time round is a connection known to wait (that is what woke us): an idle
                 * one is closed for it only then. Otherwise stop; an idle or closed connection resumes. */
                if (s->n_connections >= s->settings.max_connections && (i > 0 || !server_evict_idle(s))) {
                        log_debug("At the limit of %u connections: new ones wait until one closes.",
                                  s->settings.max_connections);
                        server_pause_accept(s, false);
                        return 0;
                }

                cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (cfd < 0) {
                        if (errno == EAGAIN || errno == EWOULDBLOCK)
                                return 0;
                        if (accept_error_is_transient(errno))
                                continue;
                        /* EMFILE and friends: the next connection would fail the same way. */
                        log_warning_errno(errno, "Failed to accept a connection, pausing: %m");
                        server_pause_accept(s, true);
                        return 0;
                }

                k = connection_new(s, cfd, &c);
                if (k < 0) {
                        safe_close(cfd);
                        log_warning_errno(k, "Failed to set up a connection: %m");
                        continue;
                }
                if (s->n_connections == 1)
                        (void) sd_event_source_set_enabled(s->exit_timer, SD_EVENT_OFF);
        }
        return 0;
}

/* ---- listening sockets ---- */

static int server_add_listener(Server *s, int fd) {
        Listener *l;

        l = reallocarray(s->listeners, s->n_listeners + 1, sizeof(Listener));
        if (!l)
                return -ENOMEM;
        s->listeners = l;
        s->listeners[s->n_listeners++] = (Listener){ .server = s, .fd = fd };
        return 0;
}

static int parse_port(const char *s, uint16_t *ret) {
        unsigned long v;
        char *end;

        if (*s < '0' || *s > '9')
                return -EINVAL;
        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno != 0 || *end || v == 0 || v > UINT16_MAX)
                return -EINVAL;
        *ret = (uint16_t) v;
        return 0;
}

static int parse_listen_address(const char *address, struct sockaddr_storage *ret, socklen_t *ret_size) {
        struct sockaddr_storage ss = { 0 };
        _cleanup_free_ char *host = NULL;
        const char *port;
        uint16_t p;

        if (address[0] == '[') {
                const char *end = strchr(address, ']');
                struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *) &ss;

                if (!end || end[1] != ':')
                        return -EINVAL;
                host = strndup(address + 1, (size_t) (end - address - 1));
                port = end + 2;
                if (!host)
                        return -ENOMEM;
                if (parse_port(port, &p) < 0 || inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
                        return -EINVAL;
                sin6->sin6_family = AF_INET6;
                sin6->sin6_port = htons(p);
                *ret_size = sizeof(struct sockaddr_in6);
        } else {
                const char *colon = strrchr(address, ':');
                struct sockaddr_in *sin = (struct sockaddr_in *) &ss;

                if (!colon)
                        return -EINVAL;
                host = strndup(address, (size_t) (colon - address));
                port = colon + 1;
                if (!host)
                        return -ENOMEM;
                if (parse_port(port, &p) < 0 || inet_pton(AF_INET, host, &sin->sin_addr) != 1)
                        return -EINVAL;
                sin->sin_family = AF_INET;
                sin->sin_port = htons(p);
                *ret_size = sizeof(struct sockaddr_in);
        }
        *ret = ss;
        return 0;
}

int server_listen_address(Server *s, const char *address) {
        _cleanup_close_ int fd = -EBADF;
        struct sockaddr_storage ss;
        socklen_t size = 0;
        int k, one = 1;

        k = parse_listen_address(address, &ss, &size);
        if (k < 0)
                return log_error_errno(
                        k,
                        "Invalid listen address '%s': expected ADDRESS:PORT or [ADDRESS]:PORT "
                        "with a numeric IPv4 or IPv6 address.",
                        address);

        fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return log_error_errno(errno, "Failed to create a socket for %s: %m", address);
        if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
                return log_error_errno(errno, "Failed to set SO_REUSEADDR on %s: %m", address);
        if (ss.ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)
                return log_error_errno(errno, "Failed to set IPV6_V6ONLY on %s: %m", address);
        if (bind(fd, (struct sockaddr *) &ss, size) < 0)
                return log_error_errno(errno, "Failed to bind to %s: %m", address);
        if (listen(fd, SOMAXCONN) < 0)
                return log_error_errno(errno, "Failed to listen on %s: %m", address);

        k = server_add_listener(s, fd);
        if (k < 0)
                return log_oom();
        TAKE_FD(fd);
        return 0;
}

int server_listen_systemd(Server *s) {
        int n, k;

        n = sd_listen_fds(true);
        if (n < 0)
                return log_error_errno(n, "Failed to get the sockets passed by systemd: %m");

        for (int fd = SD_LISTEN_FDS_START; fd < SD_LISTEN_FDS_START + n; fd++) {
                int flags;

                k = sd_is_socket(fd, AF_UNSPEC, SOCK_STREAM, 1);
                if (k < 0)
                        return log_error_errno(k, "Failed to check file descriptor %d from systemd: %m", fd);
                if (k == 0)
                        return log_error_errno(EINVAL,
                                               "File descriptor %d from systemd is not a listening stream "
                                               "socket; use Accept=no and ListenStream=.",
                                               fd);

                /* accept4() must not block when another process took the connection first. */
                flags = fcntl(fd, F_GETFL);
                if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0 ||
                    fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
                        return log_error_errno(errno, "Failed to configure file descriptor %d: %m", fd);

                k = server_add_listener(s, fd);
                if (k < 0)
                        return log_oom();
        }
        return n;
}

/* ---- lifecycle ---- */

int server_new(const ServerSettings *settings, Server **ret) {
        _cleanup_(server_freep) Server *s = NULL;
        int k;

        s = calloc(1, sizeof(Server));
        if (!s)
                return -ENOMEM;
        s->settings = *settings;
        s->deadline_armed = USEC_INFINITY;
        s->epoll_fd = -EBADF;
        for (ConnectionListKind kind = 0; kind < _CONNECTION_LIST_MAX; kind++)
                s->lists[kind] = (ConnectionList){ 0 };

        /* Not sd_event_default(): it checks its thread with a gettid() call on every iteration. */
        k = sd_event_new(&s->event);
        if (k < 0)
                return k;
        k = cache_new(s->event, settings->bus_timeout_usec, &s->cache);
        if (k < 0)
                return k;

        s->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
        if (s->epoll_fd < 0)
                return negative_errno();
        k = sd_event_add_io(s->event, &s->epoll_source, s->epoll_fd, EPOLLIN, on_connections_ready, s);
        if (k < 0)
                return k;

        *ret = TAKE_PTR(s);
        return 0;
}

static int on_exit_idle(sd_event_source *source, uint64_t usec, void *userdata) {
        Server *s = userdata;

        log_info("No connections for %" PRIu64 " s, exiting.", s->settings.exit_idle_usec / USEC_PER_SEC);
        return sd_event_exit(s->event, 0);
}

int server_start(Server *s) {
        int k;

        for (size_t i = 0; i < s->n_listeners; i++) {
                k = sd_event_add_io(s->event, &s->listeners[i].source, s->listeners[i].fd, EPOLLIN,
                                    on_listener_io, s->listeners + i);
                if (k < 0)
                        return log_error_errno(k, "Failed to watch a listening socket: %m");
        }

        k = sd_event_add_time(s->event, &s->deadline_timer, CLOCK_MONOTONIC, 0, HTTPD_DEADLINE_ACCURACY_USEC,
                              on_deadline, s);
        if (k >= 0)
                k = sd_event_source_set_enabled(s->deadline_timer, SD_EVENT_OFF);
        if (k >= 0)
                k = sd_event_add_time(s->event, &s->accept_retry_timer, CLOCK_MONOTONIC, 0, 0,
                                      on_accept_retry, s);
        if (k >= 0)
                k = sd_event_source_set_enabled(s->accept_retry_timer, SD_EVENT_OFF);
        if (k >= 0)
                k = sd_event_add_time_relative(s->event, &s->exit_timer, CLOCK_MONOTONIC,
                                               s->settings.exit_idle_usec, 0, on_exit_idle, s);
        if (k >= 0 && s->settings.exit_idle_usec == 0)
                k = sd_event_source_set_enabled(s->exit_timer, SD_EVENT_OFF);
        if (k < 0)
                return log_error_errno(k, "Failed to set up the server's timers: %m");

        return cache_start(s->cache);
}

int server_run(Server *s) {
        int k;

        (void) sd_notifyf(false, "READY=1\nSTATUS=Serving on %zu socket%s.", s->n_listeners,
                          s->n_listeners == 1 ? "" : "s");
        k = sd_event_loop(s->event);
        (void) sd_notify(false, "STOPPING=1\nSTATUS=Shutting down.");
        if (k < 0)
                return log_error_errno(k, "Event loop failed: %m");
        return 0;
}

Server *server_free(Server *s) {
        if (!s)
                return NULL;

        /* Connections first: their pending calls belong to the cache's bus connection. */
        for (ConnectionListKind kind = 0; kind < _CONNECTION_LIST_MAX; kind++)
                while (s->lists[kind].head)
                        connection_free(s->lists[kind].head);

        for (size_t i = 0; i < s->n_listeners; i++) {
                sd_event_source_disable_unref(s->listeners[i].source);
                safe_close(s->listeners[i].fd);
        }
        free(s->listeners);
        sd_event_source_disable_unref(s->deadline_timer);
        sd_event_source_disable_unref(s->accept_retry_timer);
        sd_event_source_disable_unref(s->exit_timer);
        sd_event_source_disable_unref(s->epoll_source);
        safe_close(s->epoll_fd);
        cache_free(s->cache);
        sd_event_unref(s->event);
        free(s);
        return NULL;
}
