/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* An incremental HTTP/1.x request parser: bounded, allocation-free and pure, fed any slicing of bytes. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "httpd-def.h"
#include "macro.h"

typedef enum HttpMethod {
        HTTP_METHOD_GET,
        HTTP_METHOD_HEAD,
        HTTP_METHOD_OTHER, /* a well-formed method this server does not serve: 405 */
        _HTTP_METHOD_MAX,
        _HTTP_METHOD_INVALID = -EINVAL,
} HttpMethod;

typedef enum HttpParseState {
        HTTP_PARSE_START,    /* nothing of this request yet; one empty line (CRLF) may come first */
        HTTP_PARSE_START_LF, /* the CR of that empty line */
        HTTP_PARSE_METHOD,
        HTTP_PARSE_TARGET_START,
        HTTP_PARSE_TARGET,
        HTTP_PARSE_VERSION,
        HTTP_PARSE_LINE_LF,     /* the CR that ends the request line */
        HTTP_PARSE_FIELD_START, /* the start of a field line, or of the empty line that ends the section */
        HTTP_PARSE_FIELD_NAME,
        HTTP_PARSE_FIELD_OWS, /* whitespace between the colon and the value */
        HTTP_PARSE_FIELD_VALUE,
        HTTP_PARSE_FIELD_LF, /* the CR that ends a field line */
        HTTP_PARSE_END_LF,   /* the CR of the empty line */
        HTTP_PARSE_DONE,
        HTTP_PARSE_ERROR,
} HttpParseState;

/* The fields the parser looks at; all others are checked for syntax and counted, then forgotten. */
typedef enum HttpField {
        HTTP_FIELD_OTHER,
        HTTP_FIELD_HOST,
        HTTP_FIELD_CONNECTION,
        HTTP_FIELD_CONTENT_LENGTH,
        HTTP_FIELD_TRANSFER_ENCODING,
        _HTTP_FIELD_MAX,
} HttpField;

typedef struct HttpRequest {
        HttpParseState state;
        unsigned error_status; /* in HTTP_PARSE_ERROR: 400, 414, 431 or 505 */
        size_t line_size;      /* bytes of the request line consumed so far, leading empty line included */
        size_t header_size;    /* bytes of the header section consumed so far */
        unsigned n_fields;

        HttpMethod method;
        char method_text[HTTP_METHOD_MAX + 1];
        size_t method_size;
        char target[HTTP_TARGET_MAX + 1]; /* NUL-terminated once the request line is complete */
        size_t target_size;
        size_t path_offset, path_size; /* the path within target: no scheme, authority or query;
                                        * empty for HTTP_METHOD_OTHER, whose target is not looked at */
        char version[sizeof("HTTP/1.1")];
        size_t version_size;
        unsigned version_minor; /* HTTP/1.minor */

        /* The field line being read. */
        HttpField field;
        char field_name[HTTP_FIELD_NAME_KEPT_MAX + 1];
        size_t field_name_size;
        char token[HTTP_TOKEN_KEPT_MAX + 1]; /* the Connection token being read */
        size_t token_size;
        bool token_long;
        uint64_t number; /* the Content-Length being read */
        unsigned n_digits;
        bool number_ended; /* whitespace followed the digits */

        /* What the header section said. */
        unsigned n_host;
        bool connection_close;
        bool connection_keep_alive;
        bool has_content_length;
        uint64_t content_length; /* UINT64_MAX: more digits than HTTP_CONTENT_LENGTH_DIGITS_MAX */
        bool transfer_encoding;
} HttpRequest;

void http_request_init(HttpRequest *r);
/* Forgets the request, ready for the next one on the same connection. */
#define http_request_reset(r) http_request_init(r)

/* Feeds bytes. Returns 0 when all of them were consumed and the header section is not complete yet,
 * 1 when it is complete (*ret_consumed says how many bytes belonged to it; the rest start the next
 * request), and -EBADMSG when the request is malformed or over a limit (r->error_status says what to
 * answer; *ret_consumed counts the bytes up to the offending one). Once complete or failed, the parser
 * consumes nothing more and returns the same result until reset. */
int http_request_feed(HttpRequest *r, const void *data, size_t size, size_t *ret_consumed);

/* Whether some byte of a request was consumed since the last reset. */
static inline bool http_request_started(const HttpRequest *r) {
        return r->line_size > 0;
}

/* For a complete request: whether the connection may carry another one (HTTP/1.1 unless
 * "Connection: close"; HTTP/1.0 only with "Connection: keep-alive"). */
bool http_request_keep_alive(const HttpRequest *r) _pure_;
/* For a complete request: whether a body follows the header section (Content-Length > 0 or any
 * Transfer-Encoding). This server takes no bodies. */
bool http_request_has_body(const HttpRequest *r) _pure_;
