/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A minimal HTTP/1.1 GET over TCP, enough for "auteur-qualityctl verify" to ask the shim. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define HTTP_GET_BODY_MAX (UINT64_C(16) * 1024 * 1024)

typedef struct HttpUrl {
        char *host; /* a name, an IPv4 literal, or an IPv6 literal without brackets */
        char *port;
        char *prefix; /* path before the API's own, without a trailing '/'; "" for none */
} HttpUrl;

typedef struct HttpReply {
        unsigned status;
        char *content_type; /* NULL when absent */
        char *body;         /* NUL-terminated */
        size_t body_size;
} HttpReply;

/* "http://HOST[:PORT][/PREFIX]". Only plain http: the shim listens on loopback or behind a proxy. */
int http_url_parse(const char *url, HttpUrl *ret);
void http_url_done(HttpUrl *u);

/* GET prefix + path. Fails with a negative errno when no answer could be had (-ECONNREFUSED, -ETIMEDOUT,
 * -EBADMSG for an answer that is not HTTP, ...). */
int http_get(const HttpUrl *u, const char *path, uint64_t timeout_usec, HttpReply *ret);
void http_reply_done(HttpReply *r);
