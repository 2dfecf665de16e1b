/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HTTP responses: shared immutable bodies, status lines and the header block before a body. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "macro.h"
#include "time-util.h"

#define HTTP_CONTENT_TYPE_JSON "application/json"
#define HTTP_CONTENT_TYPE_PROMETHEUS "text/plain; version=0.0.4; charset=utf-8"
#define HTTP_ALLOW_HEADER "Allow: GET, HEAD\r\n"

/* A response body: immutable once made, shared by every response that sends it (the cached health
 * JSON goes to all clients without a copy). */
typedef struct HttpBody {
        unsigned n_ref;
        size_t size;
        char data[];
} HttpBody;

int http_body_new(const void *data, size_t size, HttpBody **ret);
/* A JSON object {"status":STATUS,"error":REASON,"message":MESSAGE}. */
int http_body_new_error(unsigned status, const char *message, HttpBody **ret);
HttpBody *http_body_ref(HttpBody *b);
HttpBody *http_body_unref(HttpBody *b);
DEFINE_TRIVIAL_CLEANUP_FUNC(HttpBody *, http_body_unref);

/* "OK", "Not Found", ...; NULL for a status this server never sends. */
const char *http_status_reason(unsigned status) _const_;

typedef enum HttpConnectionHeader {
        HTTP_CONNECTION_HEADER_NONE, /* HTTP/1.1 keep-alive: the default, nothing to say */
        HTTP_CONNECTION_HEADER_CLOSE,
        HTTP_CONNECTION_HEADER_KEEP_ALIVE, /* HTTP/1.0 that asked for it */
} HttpConnectionHeader;

/* "Sun, 06 Nov 1994 08:49:37 GMT" and its NUL. */
#define HTTP_DATE_SIZE 30U
void http_date_format(usec_t realtime, char ret[static HTTP_DATE_SIZE]);

/* Writes the status line and header fields, through the empty line, into buf. extra holds whole field
 * lines ("Name: value\r\n") or is NULL. Returns the length (no NUL is added), or -ENOBUFS if size is too
 * small. */
int http_response_format_head(char *buf, size_t size, unsigned status, const char *date,
                              const char *content_type, size_t content_length,
                              HttpConnectionHeader connection, const char *extra);
