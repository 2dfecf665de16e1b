/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A minimal HTTP/1.1 GET over TCP, enough for "auteur-qualityctl verify" to ask the shim. */
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http-get.h"
#include "macro.h"
#include "time-util.h"

void http_url_done(HttpUrl *u) {
        free(u->host);
        free(u->port);
        free(u->prefix);
        *u = (HttpUrl){ 0 };
}

int http_url_parse(const char *url, HttpUrl *ret) {
        _cleanup_free_ char *host = NULL, *port = NULL, *prefix = NULL;
        const char *p, *end, *slash;

        if (strncasecmp(url, "http://", 7) != 0)
                return -EPROTONOSUPPORT;
        p = url + 7;
        slash = strchr(p, '/');
        end = slash ? slash : p + strlen(p);

        if (*p == '[') {
                const char *close = memchr(p, ']', (size_t) (end - p));

                if (!close)
                        return -EINVAL;
                host = strndup(p + 1, (size_t) (close - p - 1));
                p = close + 1;
        } else {
                const char *colon = memchr(p, ':', (size_t) (end - p));

                host = strndup(p, (size_t) ((colon ? colon : end) - p));
                p = colon ? colon : end;
        }
        if (!host)
                return -ENOMEM;
        if (!*host)
                return -EINVAL;

        if (*p == ':') {
                port = strndup(p + 1, (size_t) (end - p - 1));
                if (port && strspn(port, "0123456789") != strlen(port))
                        return -EINVAL;
        } else
                port = strdup("80");
        if (!port)
                return -ENOMEM;
        if (!*port)
                return -EINVAL;

        prefix = strdup(slash ? slash : "");
        if (!prefix)
                return -ENOMEM;
        for (size_t n = strlen(prefix); n > 0 && prefix[n - 1] == '/'; n--)
                prefix[n - 1] = 0;

        *ret = (HttpUrl){ .host = TAKE_PTR(host), .port = TAKE_PTR(port), .prefix = TAKE_PTR(prefix) };
        return 0;
}

void http_reply_done(HttpReply *r) {
        free(r->content_type);
        free(r->body);
        *r = (HttpReply){ 0 };
}

/* Waits for the socket until the deadline; -ETIMEDOUT after it. */
static int wait_fd(int fd, short events, usec_t deadline) {
        for (;;) {
                usec_t n = now(CLOCK_MONOTONIC);
                struct pollfd p = { .fd = fd, .events = events };
                int k;

                if (n >= deadline)
                        return -ETIMEDOUT;
                k = poll(&p, 1, (int) ((deadline - n + USEC_PER_MSEC - 1) / USEC_PER_MSEC));
                if (k < 0 && errno != EINTR)
                        return negative_errno();
                if (k > 0)
                        return 0;
        }
}

static int connect_to(const HttpUrl *u, usec_t deadline, int *ret) {
        struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_ADDRCONFIG }, *list = NULL;
        int k, last = -ECONNREFUSED;

        k = getaddrinfo(u->host, u->port, &hints, &list);
        if (k != 0)
                return k == EAI_SYSTEM ? negative_errno() : -EHOSTUNREACH;

        for (struct addrinfo *a = list; a; a = a->ai_next) {
                _cleanup_close_ int fd =
                        socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
                socklen_t len = sizeof(k);

                if (fd < 0) {
                        last = negative_errno();
                        continue;
                }
                if (connect(fd, a->ai_addr, a->ai_addrlen) < 0 && errno != EINPROGRESS) {
                        last = negative_errno();
                        continue;
                }
                k = wait_fd(fd, POLLOUT, deadline);
                if (k >= 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &k, &len) >= 0 && k == 0) {
                        freeaddrinfo(list);
                        *ret = TAKE_FD(fd);
                        return 0;
                }
                last = k > 0 ? -k : k < 0 ? k : -ECONNREFUSED;
        }

        freeaddrinfo(list);
        return last;
}

static int send_all(int fd, const char *data, size_t size, usec_t deadline) {
        while (size > 0) {
                ssize_t n = send(fd, data, size, MSG_NOSIGNAL);
                int k;

                if (n < 0) {
                        if (errno != EAGAIN && errno != EINTR)
                                return negative_errno();
                        k = wait_fd(fd, POLLOUT, deadline);
                        if (k < 0)
                                return k;
                        continue;
                }
                data += n;
                size -= (size_t) n;
        }
        return 0;
}

/* Reads until the peer closes (we ask for "Connection: close"), at most the body limit plus headers. */
static int receive_all(int fd, usec_t deadline, char **ret, size_t *ret_size) {
        _cleanup_free_ char *buf = NULL;
        size_t size = 0, allocated = 0;
        const size_t max = (size_t) HTTP_GET_BODY_MAX + 64 * 1024;

        for (;;) {
                ssize_t n;
                int k;

                if (allocated - size < 4096) {
                        char *b;

                        if (allocated >= max)
                                return -EFBIG;
                        allocated = MIN(MAX(allocated * 2, (size_t) 16384), max + 1);
                        b = realloc(buf, allocated);
                        if (!b)
                                return -ENOMEM;
                        buf = b;
                }
                n = recv(fd, buf + size, allocated - size - 1, 0);
                if (n < 0) {
                        if (errno != EAGAIN && errno != EINTR)
                                return negative_errno();
                        k = wait_fd(fd, POLLIN, deadline);
                        if (k < 0)
                                return k;
                        continue;
                }
                if (n == 0)
                        break;
                size += (size_t) n;
        }

        buf[size] = 0;
        *ret = TAKE_PTR(buf);
        *ret_size = size;
        return 0;
}

static char *header_value(const char *headers, const char *end, const char *name) {
        size_t n = strlen(name);

        for (const char *line = headers; line && line < end;) {
                const char *eol = strstr(line, "\r\n");

                if (!eol || eol > end)
                        eol = end;
                if ((size_t) (eol - line) > n && strncasecmp(line, name, n) == 0 && line[n] == ':') {
                        const char *v = line + n + 1;

                        v += strspn(v, " \t");
                        return strndup(v, (size_t) (eol - v));
                }
                line = eol + 2;
        }
        return NULL;
}

int http_get(const HttpUrl *u, const char *path, uint64_t timeout_usec, HttpReply *ret) {
        _cleanup_free_ char *request = NULL, *response = NULL, *length = NULL;
        _cleanup_close_ int fd = -EBADF;
        usec_t deadline = now(CLOCK_MONOTONIC) + timeout_usec;
        const char *headers, *body;
        unsigned major, minor, status;
        size_t size, body_size;
        int k;

        if (asprintf(&request,
                     "GET %s%s HTTP/1.1\r\nHost: %s:%s\r\nUser-Agent: auteur-qualityctl/%s\r\n"
                     "Accept: */*\r\nConnection: close\r\n\r\n",
                     u->prefix, path, u->host, u->port, PACKAGE_VERSION) < 0)
                return -ENOMEM;

        k = connect_to(u, deadline, &fd);
        if (k < 0)
                return k;
        k = send_all(fd, request, strlen(request), deadline);
        if (k < 0)
                return k;
        k = receive_all(fd, deadline, &response, &size);
        if (k < 0)
                return k;

        if (sscanf(response, "HTTP/%u.%u %3u", &major, &minor, &status) != 3 || major != 1)
                return -EBADMSG;
        headers = strstr(response, "\r\n");
        body = strstr(response, "\r\n\r\n");
        if (!headers || !body)
                return -EBADMSG;
        headers += 2;
        body += 4;
        body_size = size - (size_t) (body - response);

        length = header_value(headers, body - 2, "Content-Length");
        if (length) {
                char *e;
                unsigned long long n = strtoull(length, &e, 10);

                if (*e || n > body_size)
                        return -EBADMSG;
                body_size = (size_t) n;
        }

        *ret = (HttpReply){
                .status = status,
                .content_type = header_value(headers, body - 2, "Content-Type"),
                .body = strndup(body, body_size),
                .body_size = body_size,
        };
        if (!ret->body) {
                http_reply_done(ret);
                return -ENOMEM;
        }
        return 0;
}
