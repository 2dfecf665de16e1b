/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The HTTP request parser on good and hostile input, fed whole, byte by byte and in uneven pieces. */
#include <stdlib.h>
#include <string.h>

#include "http-request.h"
#include "tap.h"

typedef struct Case {
        const char *name;
        const char *input;
        size_t size;       /* 0: strlen(input) */
        int result;        /* what http_request_feed() returns at the end: 1, 0 or -EBADMSG */
        unsigned status;   /* for -EBADMSG */
        HttpMethod method; /* for 1 */
        const char *path;  /* for 1 */
        bool keep_alive;   /* for 1 */
        bool body;         /* for 1 */
} Case;

#define GOOD(n, in, m, p, k)                                                                                \
        { .name = n, .input = in, .result = 1, .method = m, .path = p, .keep_alive = k }
#define BAD(n, in, s)                                                                                       \
        { .name = n, .input = in, .result = -EBADMSG, .status = s }
#define MORE(n, in)                                                                                         \
        { .name = n, .input = in, .result = 0 }

static const Case cases[] = {
        GOOD("simple GET", "GET /health HTTP/1.1\r\nHost: x\r\n\r\n", HTTP_METHOD_GET, "/health", true),
        GOOD("HEAD", "HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n", HTTP_METHOD_HEAD, "/metrics", true),
        GOOD("query stripped", "GET /health?verbose=1&x HTTP/1.1\r\nHost: x\r\n\r\n", HTTP_METHOD_GET,
             "/health", true),
        GOOD("absolute form", "GET http://example.com:8000/api/v1/quality/ready HTTP/1.1\r\nHost: x\r\n\r\n",
             HTTP_METHOD_GET, "/api/v1/quality/ready", true),
        GOOD("absolute form without path", "GET HTTPS://example.com HTTP/1.1\r\nHost: x\r\n\r\n",
             HTTP_METHOD_GET, "", true),
        GOOD("HTTP/1.0 closes", "GET / HTTP/1.0\r\n\r\n", HTTP_METHOD_GET, "/", false),
        GOOD("HTTP/1.0 keep-alive", "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", HTTP_METHOD_GET, "/",
             true),
        GOOD("Connection: close", "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", HTTP_METHOD_GET,
             "/", false),
        GOOD("Connection token list", "GET / HTTP/1.1\r\nHost: x\r\nconnection:  TE ,  CLOSE\t\r\n\r\n",
             HTTP_METHOD_GET, "/", false),
        GOOD("Connection lookalike", "GET / HTTP/1.1\r\nHost: x\r\nConnection: closed, x-close\r\n\r\n",
             HTTP_METHOD_GET, "/", true),
        GOOD("one leading empty line", "\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n", HTTP_METHOD_GET, "/", true),
        GOOD("HTTP/1.2 is 1.x", "GET / HTTP/1.2\r\nHost: x\r\n\r\n", HTTP_METHOD_GET, "/", true),
        GOOD("empty field value", "GET / HTTP/1.1\r\nHost: x\r\nX-Empty:\r\n\r\n", HTTP_METHOD_GET, "/",
             true),
        GOOD("obs-text value", "GET / HTTP/1.1\r\nHost: x\r\nX-Name: caf\xc3\xa9\r\n\r\n", HTTP_METHOD_GET,
             "/", true),
        GOOD("long field name",
             "GET / HTTP/1.1\r\nHost: x\r\nX-A-Very-Long-Field-Name-That-Is-Not-Ours: 1\r\n\r\n",
             HTTP_METHOD_GET, "/", true),
        GOOD("Content-Length 0", "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", HTTP_METHOD_GET,
             "/", true),
        GOOD("same Content-Length twice",
             "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n", HTTP_METHOD_GET,
             "/", true),
        /* Methods this server does not serve are parsed to the end, for a 405; their path is not looked at.
         */
        { .name = "POST is well-formed",
          .input = "POST /x HTTP/1.1\r\nHost: x\r\n\r\n",
          .result = 1,
          .method = HTTP_METHOD_OTHER,
          .path = "",
          .keep_alive = true },
        { .name = "lower-case method is another method",
          .input = "get / HTTP/1.1\r\nHost: x\r\n\r\n",
          .result = 1,
          .method = HTTP_METHOD_OTHER,
          .path = "",
          .keep_alive = true },
        { .name = "OPTIONS of the asterisk",
          .input = "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n",
          .result = 1,
          .method = HTTP_METHOD_OTHER,
          .path = "",
          .keep_alive = true },
        { .name = "CONNECT of an authority",
          .input = "CONNECT example.com:443 HTTP/1.1\r\nHost: x\r\n\r\n",
          .result = 1,
          .method = HTTP_METHOD_OTHER,
          .path = "",
          .keep_alive = true },
        { .name = "body by Content-Length",
          .input = "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
          .result = 1,
          .method = HTTP_METHOD_GET,
          .path = "/",
          .keep_alive = true,
          .body = true },
        { .name = "body by Transfer-Encoding",
          .input = "GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
          .result = 1,
          .method = HTTP_METHOD_GET,
          .path = "/",
          .keep_alive = true,
          .body = true },
        { .name = "huge Content-Length",
          .input = "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n",
          .result = 1,
          .method = HTTP_METHOD_GET,
          .path = "/",
          .keep_alive = true,
          .body = true },

        MORE("incomplete request line", "GET /health HTTP/1.1"),
        MORE("incomplete header section", "GET /health HTTP/1.1\r\nHost: x\r\n"),
        MORE("nothing but CR", "\r"),

        BAD("garbage", "garbage\r\n\r\n", 400),
        BAD("TLS handshake", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 400),
        BAD("bare newline", "\n", 400),
        BAD("bare newline after request line", "GET / HTTP/1.1\nHost: x\n\n", 400),
        BAD("bare newline in header section", "GET / HTTP/1.1\r\nHost: x\n\r\n", 400),
        BAD("two leading empty lines", "\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        BAD("missing version", "GET /health\r\n\r\n", 400),
        BAD("missing target", "GET HTTP/1.1\r\n\r\n", 400),
        BAD("empty version", "GET / \r\n\r\n", 400),
        BAD("double space", "GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        BAD("leading space", " GET / HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        BAD("bad version", "GET / HTTP/1.x\r\nHost: x\r\n\r\n", 400),
        BAD("lower-case version", "GET / http/1.1\r\nHost: x\r\n\r\n", 400),
        BAD("long version", "GET / HTTP/1.10\r\nHost: x\r\n\r\n", 400),
        BAD("HTTP/2.0", "GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505),
        BAD("HTTP/0.9", "GET / HTTP/0.9\r\n\r\n", 505),
        BAD("method too long", "ABCDEFGHIJKLMNOPQRSTUVWXYZ / HTTP/1.1\r\n\r\n", 400),
        BAD("control character in target", "GET /he\x01lth HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        BAD("asterisk form for GET", "GET * HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        BAD("relative target", "GET health HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        BAD("no Host in HTTP/1.1", "GET / HTTP/1.1\r\n\r\n", 400),
        BAD("two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
        BAD("space before colon", "GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400),
        BAD("obsolete line folding", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n", 400),
        BAD("field without colon", "GET / HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n", 400),
        BAD("empty field name", "GET / HTTP/1.1\r\nHost: x\r\n: value\r\n\r\n", 400),
        BAD("control character in value", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x7f\r\n\r\n", 400),
        BAD("CR without LF", "GET / HTTP/1.1\r\nHost: x\rX\r\n\r\n", 400),
        BAD("Content-Length not a number", "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5x\r\n\r\n", 400),
        BAD("Content-Length empty", "GET / HTTP/1.1\r\nHost: x\r\nContent-Length:\r\n\r\n", 400),
        BAD("Content-Length list", "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 5\r\n\r\n", 400),
        BAD("Content-Length negative", "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400),
        BAD("two Content-Lengths",
            "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400),
        BAD("Content-Length and Transfer-Encoding",
            "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
};

static int feed_all(HttpRequest *r, const char *input, size_t size, size_t step, size_t *ret_consumed) {
        size_t done = 0;
        int k = 0;

        /* step 0: uneven pieces of 1, 2, 3, ... bytes. */
        for (size_t piece = 1; done < size; piece++) {
                size_t n = step > 0 ? step : piece, consumed = 0;

                if (n > size - done)
                        n = size - done;
                k = http_request_feed(r, input + done, n, &consumed);
                done += consumed;
                if (k != 0)
                        break;
                if (consumed != n)
                        return -EIO; /* 0 must mean "all consumed" */
        }
        *ret_consumed = done;
        return k;
}

static void test_case(const Case *c, size_t step, const char *how) {
        static HttpRequest r; /* large: keep it off the stack */
        size_t size = c->size > 0 ? c->size : strlen(c->input), consumed = 0;
        int k;

        http_request_init(&r);
        k = feed_all(&r, c->input, size, step, &consumed);
        if (!is_int(k, c->result, "%s, %s: result", c->name, how))
                return;

        if (k == -EBADMSG)
                is_int(r.error_status, c->status, "%s, %s: status", c->name, how);
        else if (k == 1) {
                bool ok_path = r.path_size == strlen(c->path) &&
                               memcmp(r.target + r.path_offset, c->path, r.path_size) == 0;

                ok(r.method == c->method && ok_path && http_request_keep_alive(&r) == c->keep_alive &&
                           http_request_has_body(&r) == c->body,
                   "%s, %s: method %d, path '%.*s', keep-alive %d, body %d", c->name, how, (int) r.method,
                   (int) r.path_size, r.target + r.path_offset, http_request_keep_alive(&r),
                   http_request_has_body(&r));
        }
}

static void test_limits(void) {
        static HttpRequest r;
        char *buf;
        size_t n, consumed;
        int k;

        buf = malloc(128 * 1024);
        if (!buf)
                abort();

        /* A target of exactly the limit is fine; one byte more is 414. */
        for (int extra = 0; extra <= 1; extra++) {
                n = (size_t) sprintf(buf, "GET /");
                memset(buf + n, 'a', HTTP_TARGET_MAX - 1 + (size_t) extra);
                n += HTTP_TARGET_MAX - 1 + (size_t) extra;
                n += (size_t) sprintf(buf + n, " HTTP/1.1\r\nHost: x\r\n\r\n");
                http_request_init(&r);
                k = http_request_feed(&r, buf, n, &consumed);
                if (extra == 0)
                        ok(k == 1 && r.target_size == HTTP_TARGET_MAX, "target of %u bytes is accepted",
                           HTTP_TARGET_MAX);
                else
                        ok(k == -EBADMSG && r.error_status == 414 && consumed < n,
                           "target of %u bytes is 414, found before the end", HTTP_TARGET_MAX + 1);
        }

        /* 10 KiB URI. */
        n = (size_t) sprintf(buf, "GET /");
        memset(buf + n, 'u', 10 * 1024);
        n += 10 * 1024;
        n += (size_t) sprintf(buf + n, " HTTP/1.1\r\nHost: x\r\n\r\n");
        http_request_init(&r);
        k = http_request_feed(&r, buf, n, &consumed);
        ok(k == -EBADMSG && r.error_status == 414, "10 KiB URI is 414");

        /* 64 KiB header field. */
        n = (size_t) sprintf(buf, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: ");
        memset(buf + n, 'h', 64 * 1024);
        n += 64 * 1024;
        n += (size_t) sprintf(buf + n, "\r\n\r\n");
        http_request_init(&r);
        k = http_request_feed(&r, buf, n, &consumed);
        ok(k == -EBADMSG && r.error_status == 431 && consumed <= HTTP_HEADER_SECTION_MAX + 64,
           "64 KiB header field is 431 after at most the section limit (%zu bytes)", consumed);

        /* A header section of exactly the limit is fine. */
        n = (size_t) sprintf(buf, "GET / HTTP/1.1\r\nHost: x\r\nX-Fill: ");
        {
                size_t section = n - strlen("GET / HTTP/1.1\r\n"), fill;

                fill = HTTP_HEADER_SECTION_MAX - section - strlen("\r\n\r\n");
                memset(buf + n, 'f', fill);
                n += fill;
        }
        n += (size_t) sprintf(buf + n, "\r\n\r\n");
        http_request_init(&r);
        k = http_request_feed(&r, buf, n, &consumed);
        ok(k == 1 && r.header_size == HTTP_HEADER_SECTION_MAX,
           "header section of exactly %u bytes is accepted", HTTP_HEADER_SECTION_MAX);

        /* Too many fields, each small. */
        n = (size_t) sprintf(buf, "GET / HTTP/1.1\r\nHost: x\r\n");
        for (unsigned i = 0; i < HTTP_HEADER_FIELDS_MAX; i++)
                n += (size_t) sprintf(buf + n, "X: %u\r\n", i);
        n += (size_t) sprintf(buf + n, "\r\n");
        http_request_init(&r);
        k = http_request_feed(&r, buf, n, &consumed);
        ok(k == -EBADMSG && r.error_status == 431, "%u fields are 431", HTTP_HEADER_FIELDS_MAX + 1);

        free(buf);
}

static void test_pipelined(void) {
        static const char input[] = "GET /a HTTP/1.1\r\nHost: x\r\n\r\nHEAD /b HTTP/1.1\r\nHost: "
                                    "x\r\n\r\nGET /c HTTP/1.0\r\n\r\n";
        static const char *const paths[] = { "/a", "/b", "/c" };
        static HttpRequest r;
        size_t done = 0, size = strlen(input);

        for (size_t i = 0; i < ELEMENTSOF(paths); i++) {
                size_t consumed = 0;
                int k;

                http_request_reset(&r);
                k = http_request_feed(&r, input + done, size - done, &consumed);
                done += consumed;
                ok(k == 1 && r.path_size == strlen(paths[i]) &&
                           memcmp(r.target + r.path_offset, paths[i], 2) == 0,
                   "pipelined request %zu ends where the next begins (%s)", i + 1, paths[i]);
        }
        is_int(done, size, "pipelined requests consume everything");

        /* A finished parser consumes nothing more until it is reset. */
        {
                size_t consumed = 99;

                is_int(http_request_feed(&r, "GET", 3, &consumed), 1, "a complete request stays complete");
                is_int(consumed, 0, "and consumes nothing");
        }
}

static void test_error_sticks(void) {
        static HttpRequest r;
        size_t consumed = 0;

        http_request_init(&r);
        (void) http_request_feed(&r, "\n", 1, &consumed);
        is_int(http_request_feed(&r, "GET / HTTP/1.1\r\n", 16, &consumed), -EBADMSG,
               "an error stays an error");
        is_int(consumed, 0, "and consumes nothing");
        http_request_reset(&r);
        ok(!http_request_started(&r), "reset forgets the request");
        is_int(http_request_feed(&r, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 27, &consumed), 1,
               "after a reset the next request parses");
}

int main(void) {
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                test_case(cases + i, SIZE_MAX, "whole");
                test_case(cases + i, 1, "byte by byte");
                test_case(cases + i, 0, "in uneven pieces");
        }
        test_limits();
        test_pipelined();
        test_error_sticks();
        return tap_done();
}
