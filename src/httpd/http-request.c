/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The HTTP/1.x request parser (RFC 9112): one state machine over bytes, every buffer of fixed size. */
#include <string.h>

#include "http-request.h"

static const char *const field_table[_HTTP_FIELD_MAX] = {
        [HTTP_FIELD_HOST] = "host",
        [HTTP_FIELD_CONNECTION] = "connection",
        [HTTP_FIELD_CONTENT_LENGTH] = "content-length",
        [HTTP_FIELD_TRANSFER_ENCODING] = "transfer-encoding",
};

static char ascii_lower(char c) {
        return c >= 'A' && c <= 'Z' ? (char) (c - 'A' + 'a') : c;
}

static bool ascii_has_prefix_case(const char *s, const char *prefix) {
        for (; *prefix; s++, prefix++)
                if (ascii_lower(*s) != *prefix)
                        return false;
        return true;
}

/* tchar of RFC 9110: the characters of methods, field names and Connection tokens. */
static bool char_is_tchar(unsigned char c) {
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
                return true;
        switch (c) {
        case '!':
        case '#':
        case '$':
        case '%':
        case '&':
        case '\'':
        case '*':
        case '+':
        case '-':
        case '.':
        case '^':
        case '_':
        case '`':
        case '|':
        case '~':
                return true;
        default:
                return false;
        }
}

static bool char_is_vchar(unsigned char c) {
        return c >= 0x21 && c <= 0x7E;
}

static bool char_is_ows(unsigned char c) {
        return c == ' ' || c == '\t';
}

/* field-vchar (obs-text included), SP and HTAB: what a field value may hold. */
static bool char_is_field_content(unsigned char c) {
        return char_is_vchar(c) || char_is_ows(c) || c >= 0x80;
}

void http_request_init(HttpRequest *r) {
        /* The buffers need no clearing: every read of them is bounded by a size that starts at 0. */
        r->state = HTTP_PARSE_START;
        r->error_status = 0;
        r->line_size = r->header_size = 0;
        r->n_fields = 0;
        r->method = _HTTP_METHOD_INVALID;
        r->method_size = r->target_size = r->version_size = 0;
        r->method_text[0] = r->target[0] = r->version[0] = 0;
        r->path_offset = r->path_size = 0;
        r->version_minor = 0;
        r->field = HTTP_FIELD_OTHER;
        r->field_name_size = r->token_size = 0;
        r->token_long = false;
        r->number = 0;
        r->n_digits = 0;
        r->number_ended = false;
        r->n_host = 0;
        r->connection_close = r->connection_keep_alive = false;
        r->has_content_length = false;
        r->content_length = 0;
        r->transfer_encoding = false;
}

static int fail(HttpRequest *r, unsigned status) {
        r->state = HTTP_PARSE_ERROR;
        r->error_status = status;
        return -EBADMSG;
}

static int method_end(HttpRequest *r) {
        r->method_text[r->method_size] = 0;
        if (streq(r->method_text, "GET"))
                r->method = HTTP_METHOD_GET;
        else if (streq(r->method_text, "HEAD"))
                r->method = HTTP_METHOD_HEAD;
        else
                r->method = HTTP_METHOD_OTHER;
        r->state = HTTP_PARSE_TARGET_START;
        return 0;
}

/* "HTTP/" DIGIT "." DIGIT, case-sensitive. Only major version 1 is served. */
static int version_end(HttpRequest *r) {
        const char *v = r->version;

        if (r->version_size != strlen("HTTP/1.1") || !strneq(v, "HTTP/", 5) || v[5] < '0' || v[5] > '9' ||
            v[6] != '.' || v[7] < '0' || v[7] > '9')
                return fail(r, 400);
        if (v[5] != '1')
                return fail(r, 505);
        r->version_minor = (unsigned) (v[7] - '0');
        r->state = HTTP_PARSE_LINE_LF;
        return 0;
}

/* Origin form ("/path?query") or absolute form ("http://host/path"); the path is what routing sees. An
 * empty path stands for "/". The other forms ("*" of OPTIONS, "host:port" of CONNECT) belong to methods
 * this server answers 405 whatever their target. */
static int target_end(HttpRequest *r) {
        const char *t = r->target, *path;

        r->target[r->target_size] = 0;
        if (r->method == HTTP_METHOD_OTHER)
                path = t + r->target_size;
        else if (t[0] == '/')
                path = t;
        else if (ascii_has_prefix_case(t, "http://") || ascii_has_prefix_case(t, "https://")) {
                const char *authority = strstr(t, "//") + 2;

                path = authority + strcspn(authority, "/?");
        } else
                return fail(r, 400);

        r->path_offset = (size_t) (path - t);
        r->path_size = strcspn(path, "?");
        r->state = HTTP_PARSE_FIELD_START;
        return 0;
}

static int field_name_end(HttpRequest *r) {
        r->field = HTTP_FIELD_OTHER;
        if (r->field_name_size <= HTTP_FIELD_NAME_KEPT_MAX) {
                r->field_name[r->field_name_size] = 0;
                for (HttpField f = HTTP_FIELD_OTHER + 1; f < _HTTP_FIELD_MAX; f++)
                        if (streq(r->field_name, field_table[f]))
                                r->field = f;
        }

        if (r->field == HTTP_FIELD_HOST)
                r->n_host++;
        else if (r->field == HTTP_FIELD_TRANSFER_ENCODING)
                r->transfer_encoding = true;

        r->token_size = 0;
        r->token_long = false;
        r->number = 0;
        r->n_digits = 0;
        r->number_ended = false;
        r->state = HTTP_PARSE_FIELD_OWS;
        return 0;
}

static void token_end(HttpRequest *r) {
        if (r->token_size > 0 && !r->token_long) {
                r->token[r->token_size] = 0;
                if (streq(r->token, "close"))
                        r->connection_close = true;
                else if (streq(r->token, "keep-alive"))
                        r->connection_keep_alive = true;
        }
        r->token_size = 0;
        r->token_long = false;
}

/* Connection: a comma-separated list of tokens, compared without regard to case. Anything else in it
 * spoils the token it is part of, nothing more. */
static int connection_char(HttpRequest *r, unsigned char c) {
        if (c == ',' || char_is_ows(c))
                token_end(r);
        else if (!char_is_tchar(c) || r->token_size >= HTTP_TOKEN_KEPT_MAX)
                r->token_long = true;
        else
                r->token[r->token_size++] = ascii_lower((char) c);
        return 0;
}

/* Content-Length: 1*DIGIT. Lists ("5, 5") are refused rather than reconciled. */
static int content_length_char(HttpRequest *r, unsigned char c) {
        if (char_is_ows(c)) {
                r->number_ended = r->n_digits > 0;
                return 0;
        }
        if (c < '0' || c > '9' || r->number_ended)
                return fail(r, 400);
        if (++r->n_digits <= HTTP_CONTENT_LENGTH_DIGITS_MAX)
                r->number = r->number * 10 + (uint64_t) (c - '0');
        return 0;
}

static int field_value_char(HttpRequest *r, unsigned char c) {
        if (r->field == HTTP_FIELD_CONNECTION)
                return connection_char(r, c);
        if (r->field == HTTP_FIELD_CONTENT_LENGTH)
                return content_length_char(r, c);
        return 0;
}

static int field_value_end(HttpRequest *r) {
        uint64_t length;

        if (r->field == HTTP_FIELD_CONNECTION)
                token_end(r);
        else if (r->field == HTTP_FIELD_CONTENT_LENGTH) {
                if (r->n_digits == 0)
                        return fail(r, 400);
                length = r->n_digits > HTTP_CONTENT_LENGTH_DIGITS_MAX ? UINT64_MAX : r->number;
                /* Two different lengths make the message's end ambiguous: refuse it. */
                if (r->has_content_length && r->content_length != length)
                        return fail(r, 400);
                r->has_content_length = true;
                r->content_length = length;
        }
        r->state = HTTP_PARSE_FIELD_LF;
        return 0;
}

static int section_end(HttpRequest *r) {
        /* HTTP/1.1 requires exactly one Host; no request may carry two. */
        if (r->n_host > 1 || (r->version_minor >= 1 && r->n_host == 0))
                return fail(r, 400);
        /* Both framings at once is how requests are smuggled past proxies. */
        if (r->has_content_length && r->transfer_encoding)
                return fail(r, 400);
        r->state = HTTP_PARSE_DONE;
        return 0;
}

static int request_line_char(HttpRequest *r, unsigned char c) {
        r->line_size++;

        switch (r->state) {
        case HTTP_PARSE_START:
                if (c == '\r') {
                        r->state = HTTP_PARSE_START_LF;
                        return 0;
                }
                r->state = HTTP_PARSE_METHOD;
                __attribute__((fallthrough));
        case HTTP_PARSE_METHOD:
                if (c == ' ' && r->method_size > 0)
                        return method_end(r);
                if (!char_is_tchar(c) || r->method_size >= HTTP_METHOD_MAX)
                        return fail(r, 400);
                r->method_text[r->method_size++] = (char) c;
                return 0;
        case HTTP_PARSE_START_LF:
                if (c != '\n')
                        return fail(r, 400);
                r->state = HTTP_PARSE_METHOD;
                return 0;
        case HTTP_PARSE_TARGET_START:
        case HTTP_PARSE_TARGET:
                if (c == ' ' && r->state == HTTP_PARSE_TARGET) {
                        r->state = HTTP_PARSE_VERSION;
                        return 0;
                }
                if (!char_is_vchar(c))
                        return fail(r, 400);
                if (r->target_size >= HTTP_TARGET_MAX)
                        return fail(r, 414);
                r->target[r->target_size++] = (char) c;
                r->state = HTTP_PARSE_TARGET;
                return 0;
        case HTTP_PARSE_VERSION:
                if (c == '\r')
                        return version_end(r);
                if (!char_is_vchar(c) || r->version_size >= sizeof(r->version) - 1)
                        return fail(r, 400);
                r->version[r->version_size++] = (char) c;
                r->version[r->version_size] = 0;
                return 0;
        case HTTP_PARSE_LINE_LF:
                if (c != '\n')
                        return fail(r, 400);
                return target_end(r);
        default:
                abort();
        }
}

static int header_char(HttpRequest *r, unsigned char c) {
        if (++r->header_size > HTTP_HEADER_SECTION_MAX)
                return fail(r, 431);

        switch (r->state) {
        case HTTP_PARSE_FIELD_START:
                if (c == '\r') {
                        r->state = HTTP_PARSE_END_LF;
                        return 0;
                }
                /* Whitespace here is obsolete line folding, or hides a field from other parsers. */
                if (!char_is_tchar(c))
                        return fail(r, 400);
                if (++r->n_fields > HTTP_HEADER_FIELDS_MAX)
                        return fail(r, 431);
                r->field_name[0] = ascii_lower((char) c);
                r->field_name_size = 1;
                r->state = HTTP_PARSE_FIELD_NAME;
                return 0;
        case HTTP_PARSE_FIELD_NAME:
                if (c == ':')
                        return field_name_end(r);
                if (!char_is_tchar(c))
                        return fail(r, 400);
                if (r->field_name_size < HTTP_FIELD_NAME_KEPT_MAX)
                        r->field_name[r->field_name_size] = ascii_lower((char) c);
                /* One past the kept size marks a name too long to be one the parser looks at. */
                if (r->field_name_size <= HTTP_FIELD_NAME_KEPT_MAX)
                        r->field_name_size++;
                return 0;
        case HTTP_PARSE_FIELD_OWS:
                if (char_is_ows(c))
                        return 0;
                r->state = HTTP_PARSE_FIELD_VALUE;
                __attribute__((fallthrough));
        case HTTP_PARSE_FIELD_VALUE:
                if (c == '\r')
                        return field_value_end(r);
                if (!char_is_field_content(c))
                        return fail(r, 400);
                return field_value_char(r, c);
        case HTTP_PARSE_FIELD_LF:
                if (c != '\n')
                        return fail(r, 400);
                r->state = HTTP_PARSE_FIELD_START;
                return 0;
        case HTTP_PARSE_END_LF:
                if (c != '\n')
                        return fail(r, 400);
                return section_end(r);
        default:
                abort();
        }
}

int http_request_feed(HttpRequest *r, const void *data, size_t size, size_t *ret_consumed) {
        const unsigned char *p = data;
        size_t i = 0;

        while (i < size && r->state != HTTP_PARSE_DONE && r->state != HTTP_PARSE_ERROR) {
                if (r->state < HTTP_PARSE_FIELD_START)
                        (void) request_line_char(r, p[i]);
                else
                        (void) header_char(r, p[i]);
                i++;
        }

        if (ret_consumed)
                *ret_consumed = i;
        if (r->state == HTTP_PARSE_ERROR)
                return -EBADMSG;
        return r->state == HTTP_PARSE_DONE;
}

bool http_request_keep_alive(const HttpRequest *r) {
        if (r->connection_close)
                return false;
        return r->version_minor >= 1 || r->connection_keep_alive;
}

bool http_request_has_body(const HttpRequest *r) {
        return r->transfer_encoding || (r->has_content_length && r->content_length > 0);
}
