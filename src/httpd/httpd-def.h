/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The HTTP shim's limits and defaults, as auteur-quality-httpd(8) documents them. */
#pragma once

#include "time-util.h"

/* Requests. A request-target longer than HTTP_TARGET_MAX is answered 414; a header section (every byte
 * after the request line, the final empty line included) longer than HTTP_HEADER_SECTION_MAX, or with
 * more than HTTP_HEADER_FIELDS_MAX fields, 431. */
#define HTTP_TARGET_MAX 8192U
#define HTTP_METHOD_MAX 16U
#define HTTP_HEADER_SECTION_MAX 8192U
#define HTTP_HEADER_FIELDS_MAX 100U
/* Field names longer than this cannot be one the parser looks at; they are only checked and counted. */
#define HTTP_FIELD_NAME_KEPT_MAX 32U
/* Connection tokens longer than this cannot be "close" or "keep-alive". */
#define HTTP_TOKEN_KEPT_MAX 16U
/* Content-Length values with more digits than this are taken as "too large" rather than parsed. */
#define HTTP_CONTENT_LENGTH_DIGITS_MAX 18U

/* Connections. Bytes are read in chunks of HTTP_INPUT_BUFFER_SIZE; a response whose queueing would
 * raise a connection's unsent output above HTTP_OUTPUT_MAX cuts the connection off (one response,
 * however large, is always queued when nothing else is). */
#define HTTP_INPUT_BUFFER_SIZE 4096U
#define HTTP_OUTPUT_MAX (1024U * 1024U)
#define HTTP_RESPONSE_HEAD_MAX 512U
/* Responses sent with one sendmsg() call at most. */
#define HTTP_OUTPUT_IOV_MAX 32U
/* Connection events taken from the epoll set in one go. */
#define HTTP_EPOLL_BATCH 64U
/* Connections taken from the accept queue in one go, so that one listener cannot starve the others. */
#define HTTP_ACCEPT_BATCH 64U

#define HTTPD_MAX_CONNECTIONS_DEFAULT 512U
#define HTTPD_MAX_CONNECTIONS_MAX 65536U
#define HTTPD_HEADER_TIMEOUT_DEFAULT_USEC (10 * USEC_PER_SEC)
#define HTTPD_IDLE_TIMEOUT_DEFAULT_USEC (30 * USEC_PER_SEC)
#define HTTPD_BUS_TIMEOUT_DEFAULT_USEC (5 * USEC_PER_SEC)
#define HTTPD_TIMEOUT_MIN_USEC USEC_PER_MSEC
#define HTTPD_TIMEOUT_MAX_USEC (3600 * USEC_PER_SEC)
#define HTTPD_EXIT_IDLE_MAX_USEC (7 * 24 * 3600 * USEC_PER_SEC)
/* Deadlines are checked with this much slack, so that expiring connections are swept in batches. */
#define HTTPD_DEADLINE_ACCURACY_USEC (100 * USEC_PER_MSEC)
/* After EMFILE or ENFILE, accepting pauses until a connection closes or this much time passes. */
#define HTTPD_ACCEPT_RETRY_USEC (1 * USEC_PER_SEC)

/* The daemon. GetMetrics is called at most once per HTTPD_METRICS_MAX_AGE_USEC. The health JSON is
 * refreshed on every signal that says something changed, and, when requests keep coming, in the
 * background once it is older than HTTPD_HEALTH_MAX_AGE_USEC (counts that change without a signal,
 * such as a second missing workflow, are then at most that old). */
#define HTTPD_METRICS_MAX_AGE_USEC (1 * USEC_PER_SEC)
#define HTTPD_HEALTH_MAX_AGE_USEC (5 * USEC_PER_SEC)
/* A lost bus connection, or a daemon that owns its name but does not answer Health, is tried again
 * after this long. */
#define HTTPD_BUS_RETRY_USEC (2 * USEC_PER_SEC)
/* DescribeTaskType answers kept per configuration generation; when full, the cache starts over. */
#define HTTPD_TIERS_CACHE_MAX 4096U
#define HTTPD_TIERS_CACHE_BUCKETS 1024U
