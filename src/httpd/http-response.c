/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HTTP responses: shared immutable bodies, status lines and the header block before a body. */
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "http-response.h"
#include "json-util.h"

#define SERVER_NAME "auteur-quality-httpd"

int http_body_new(const void *data, size_t size, HttpBody **ret) {
        HttpBody *b;

        b = malloc(offsetof(HttpBody, data) + size + 1);
        if (!b)
                return -ENOMEM;
        b->n_ref = 1;
        b->size = size;
        if (size > 0)
                memcpy(b->data, data, size);
        b->data[size] = 0;
        *ret = b;
        return 0;
}

int http_body_new_error(unsigned status, const char *message, HttpBody **ret) {
        _cleanup_(json_object_putp) struct json_object *o = json_object_new_object();
        const char *reason = http_status_reason(status), *text;

        if (!o)
                return -ENOMEM;
        if (json_object_object_add(o, "status", json_object_new_int((int) status)) < 0 ||
            json_object_object_add(o, "error", json_object_new_string(reason ? reason : "Error")) < 0 ||
            json_object_object_add(o, "message", json_object_new_string(message)) < 0)
                return -ENOMEM;

        text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!text)
                return -ENOMEM;
        return http_body_new(text, strlen(text), ret);
}

HttpBody *http_body_ref(HttpBody *b) {
        if (b)
                b->n_ref++;
        return b;
}

HttpBody *http_body_unref(HttpBody *b) {
        if (b && --b->n_ref == 0)
                free(b);
        return NULL;
}

const char *http_status_reason(unsigned status) {
        switch (status) {
        case 200:
                return "OK";
        case 400:
                return "Bad Request";
        case 404:
                return "Not Found";
        case 405:
                return "Method Not Allowed";
        case 408:
                return "Request Timeout";
        case 409:
                return "Conflict";
        case 413:
                return "Content Too Large";
        case 414:
                return "URI Too Long";
        case 431:
                return "Request Header Fields Too Large";
        case 500:
                return "Internal Server Error";
        case 502:
                return "Bad Gateway";
        case 503:
                return "Service Unavailable";
        case 505:
                return "HTTP Version Not Supported";
        default:
                return NULL;
        }
}

void http_date_format(usec_t realtime, char ret[static HTTP_DATE_SIZE]) {
        /* Fixed English names: the format is not the locale's to choose (RFC 9110, IMF-fixdate). */
        static const char days[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
        static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
        time_t sec = (time_t) (realtime / USEC_PER_SEC);
        struct tm tm;

        if (!gmtime_r(&sec, &tm) || tm.tm_year + 1900 > 9999 || tm.tm_year + 1900 < 0) {
                snprintf(ret, HTTP_DATE_SIZE, "Thu, 01 Jan 1970 00:00:00 GMT");
                return;
        }
        /* The fields are in range already; the modulo only tells the compiler they fit. */
        snprintf(ret, HTTP_DATE_SIZE, "%s, %02u %s %04u %02u:%02u:%02u GMT", days[tm.tm_wday % 7],
                 (unsigned) tm.tm_mday % 100U, months[tm.tm_mon % 12],
                 (unsigned) (tm.tm_year + 1900) % 10000U, (unsigned) tm.tm_hour % 100U,
                 (unsigned) tm.tm_min % 100U, (unsigned) tm.tm_sec % 100U);
}

/* Appends n bytes at *p if they fit before end. */
static bool append(char **p, const char *end, const char *s, size_t n) {
        if ((size_t) (end - *p) < n)
                return false;
        memcpy(*p, s, n);
        *p += n;
        return true;
}

static bool append_string(char **p, const char *end, const char *s) {
        return append(p, end, s, strlen(s));
}

static bool append_number(char **p, const char *end, uint64_t v) {
        char digits[DECIMAL_STR_MAX(uint64_t)];
        size_t n = sizeof(digits);

        do {
                digits[--n] = (char) ('0' + v % 10);
                v /= 10;
        } while (v > 0);
        return append(p, end, digits + n, sizeof(digits) - n);
}

/* Written by hand rather than with snprintf(): this runs for every response, and formatting was most of
 * the time the shim itself spends on one. */
int http_response_format_head(char *buf, size_t size, unsigned status, const char *date,
                              const char *content_type, size_t content_length,
                              HttpConnectionHeader connection, const char *extra) {
        static const char *const connection_lines[] = {
                [HTTP_CONNECTION_HEADER_NONE] = "",
                [HTTP_CONNECTION_HEADER_CLOSE] = "Connection: close\r\n",
                [HTTP_CONNECTION_HEADER_KEEP_ALIVE] = "Connection: keep-alive\r\n",
        };
        const char *reason = http_status_reason(status), *end = buf + size;
        char *p = buf;
        bool ok;

        ok = append_string(&p, end, "HTTP/1.1 ") && append_number(&p, end, status) &&
             append_string(&p, end, " ") && append_string(&p, end, reason ? reason : "Unknown") &&
             append_string(&p, end, "\r\nServer: " SERVER_NAME "\r\nDate: ") &&
             append_string(&p, end, date) && append_string(&p, end, "\r\nContent-Type: ") &&
             append_string(&p, end, content_type) && append_string(&p, end, "\r\nContent-Length: ") &&
             append_number(&p, end, content_length) && append_string(&p, end, "\r\n") &&
             append_string(&p, end, connection_lines[connection]) &&
             append_string(&p, end, extra ? extra : "") && append_string(&p, end, "\r\n");
        if (!ok || p - buf > INT_MAX)
                return -ENOBUFS;
        return (int) (p - buf);
}
