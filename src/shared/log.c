/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Logging for every program: plain messages and structured events, to the journal or to stderr. */

/* We send CODE_FILE=, CODE_LINE= and CODE_FUNC= of our callers ourselves; sd-journal's macros would add
 * this file's. */
#define SD_JOURNAL_SUPPRESS_LOCATION 1

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include "log.h"

/* Messages up to this size (with their "MESSAGE=" prefix) are formatted without allocating, so that even
 * log_oom() gets through. Longer ones are allocated, or truncated to this size when that fails. */
#define LOG_MESSAGE_STACK 2048U
/* journald refuses longer field names. */
#define JOURNAL_FIELD_NAME_MAX 64U

#define MESSAGE_PREFIX "MESSAGE="
#define MESSAGE_ID_FIELD "MESSAGE_ID="

#define ANSI_RED "\x1b[0;1;31m"
#define ANSI_YELLOW "\x1b[0;1;33m"
#define ANSI_NORMAL "\x1b[0m"

static LogTarget log_target = LOG_TARGET_AUTO;
static int log_max_level = LOG_INFO;
static const char *log_identifier = NULL;
static int journal_socket_exists = -1; /* AUTO's decision, made once: -1 not yet, else 0 or 1 */

static const char *const log_target_table[_LOG_TARGET_MAX] = {
        [LOG_TARGET_AUTO] = "auto",
        [LOG_TARGET_JOURNAL] = "journal",
        [LOG_TARGET_CONSOLE] = "console",
};

static const char *const log_level_table[] = {
        [LOG_EMERG] = "emerg",     [LOG_ALERT] = "alert",   [LOG_CRIT] = "crit", [LOG_ERR] = "err",
        [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice", [LOG_INFO] = "info", [LOG_DEBUG] = "debug",
};

/* Accepted spellings besides the table's: what people type. */
static const struct {
        const char *name;
        int level;
} log_level_aliases[] = {
        { "emergency", LOG_EMERG },
        { "critical", LOG_CRIT },
        { "error", LOG_ERR },
        { "warn", LOG_WARNING },
};

/* The names log_event() writes itself; a caller's field of the same name would make two of them. */
static const char *const log_reserved_fields[] = {
        "MESSAGE",
        "MESSAGE_ID",
        "PRIORITY",
        "SYSLOG_IDENTIFIER",
};

const char *log_target_to_string(LogTarget t) {
        if (t < 0 || t >= _LOG_TARGET_MAX)
                return NULL;
        return log_target_table[t];
}

LogTarget log_target_from_string(const char *s) {
        if (!s)
                return _LOG_TARGET_INVALID;
        for (LogTarget t = 0; t < _LOG_TARGET_MAX; t++)
                if (streq(log_target_table[t], s))
                        return t;
        return _LOG_TARGET_INVALID;
}

const char *log_level_to_string(int level) {
        if (level < 0 || (size_t) level >= ELEMENTSOF(log_level_table))
                return NULL;
        return log_level_table[level];
}

int log_level_from_string(const char *s) {
        if (!s)
                return -EINVAL;
        if (s[0] >= '0' && s[0] <= '7' && s[1] == '\0')
                return s[0] - '0';
        for (size_t i = 0; i < ELEMENTSOF(log_level_table); i++)
                if (streq(log_level_table[i], s))
                        return (int) i;
        for (size_t i = 0; i < ELEMENTSOF(log_level_aliases); i++)
                if (streq(log_level_aliases[i].name, s))
                        return log_level_aliases[i].level;
        return -EINVAL;
}

void log_set_target(LogTarget t) {
        if (t >= 0 && t < _LOG_TARGET_MAX)
                log_target = t;
}

LogTarget log_get_target(void) {
        if (log_target != LOG_TARGET_AUTO)
                return log_target;

        if (journal_socket_exists < 0) {
                int saved_errno = errno;

                journal_socket_exists = access(LOG_JOURNAL_SOCKET, F_OK) >= 0;
                errno = saved_errno;
        }
        return journal_socket_exists ? LOG_TARGET_JOURNAL : LOG_TARGET_CONSOLE;
}

void log_set_max_level(int level) {
        log_max_level = LOG_PRI(level);
}

int log_get_max_level(void) {
        return log_max_level;
}

void log_set_identifier(const char *ident) {
        log_identifier = ident;
}

static const char *log_get_identifier(void) {
        return log_identifier ? log_identifier : program_invocation_short_name;
}

int log_parse_environment(void) {
        const char *e;
        int r = 0;

        e = getenv(LOG_ENV_LEVEL);
        if (e) {
                int level = log_level_from_string(e);

                if (level < 0)
                        r = log_warning_errno(level, "Ignoring $%s=%s, not a log level.", LOG_ENV_LEVEL, e);
                else
                        log_set_max_level(level);
        }

        e = getenv(LOG_ENV_TARGET);
        if (e) {
                LogTarget t = log_target_from_string(e);

                if (t < 0) {
                        int k = log_warning_errno(t, "Ignoring $%s=%s, not 'auto', 'journal' or 'console'.",
                                                  LOG_ENV_TARGET, e);
                        if (r == 0)
                                r = k;
                } else
                        log_set_target(t);
        }

        return r;
}

bool log_field_name_is_valid(const char *name) {
        size_t n;

        if (!name || name[0] == '\0' || name[0] == '_' || (name[0] >= '0' && name[0] <= '9'))
                return false;

        n = strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");
        return name[n] == '\0' && n <= JOURNAL_FIELD_NAME_MAX;
}

static bool log_field_is_sendable(const LogField *f) {
        if (!f->value || !log_field_name_is_valid(f->name))
                return false;
        for (size_t i = 0; i < ELEMENTSOF(log_reserved_fields); i++)
                if (streq(log_reserved_fields[i], f->name))
                        return false;
        return true;
}

/* Formats "MESSAGE=" + the text into buf when it fits, else into a heap buffer returned in *ret_heap for the
 * caller to free. errno is set for "%m" first: abs(error), or the caller's errno when error is 0. */
static const char *log_format(char *buf, size_t size, char **ret_heap, int error, int caller_errno,
                              const char *format, va_list ap) {
        const size_t prefix = strlen(MESSAGE_PREFIX);
        char *heap;
        va_list aq;
        int n;

        *ret_heap = NULL;
        memcpy(buf, MESSAGE_PREFIX, prefix + 1);

        va_copy(aq, ap);
        errno = error != 0 ? abs(error) : caller_errno;
        n = vsnprintf(buf + prefix, size - prefix, format, aq);
        va_end(aq);
        if (n < 0) {
                /* Only an impossible format gets here; its text still says more than nothing. */
                (void) snprintf(buf + prefix, size - prefix, "%s", format);
                return buf;
        }
        if ((size_t) n < size - prefix)
                return buf;

        heap = malloc(prefix + (size_t) n + 1);
        if (!heap)
                return buf; /* truncated */

        memcpy(heap, MESSAGE_PREFIX, prefix);
        errno = error != 0 ? abs(error) : caller_errno;
        (void) vsnprintf(heap + prefix, (size_t) n + 1, format, ap);
        *ret_heap = heap;
        return heap;
}

static bool stderr_is_journal_stream(void) {
        unsigned long long dev, ino;
        const char *e;
        struct stat st;
        int consumed = 0;

        e = getenv("JOURNAL_STREAM");
        if (!e || sscanf(e, "%llu:%llu%n", &dev, &ino, &consumed) != 2 || e[consumed] != '\0')
                return false;
        if (fstat(STDERR_FILENO, &st) < 0)
                return false;
        return st.st_dev == dev && st.st_ino == ino;
}

static bool stderr_wants_colour(void) {
        const char *term;

        if (getenv("NO_COLOR"))
                return false;
        term = getenv("TERM");
        if (term && streq(term, "dumb"))
                return false;
        return isatty(STDERR_FILENO);
}

static void write_escaped_byte(FILE *f, unsigned char c) {
        switch (c) {
        case '\n':
                fputs("\\n", f);
                break;
        case '\t':
                fputs("\\t", f);
                break;
        case '\r':
                fputs("\\r", f);
                break;
        case '\\':
                fputs("\\\\", f);
                break;
        case '"':
                fputs("\\\"", f);
                break;
        default:
                fprintf(f, "\\x%02x", c);
        }
}

static bool is_control(unsigned char c) {
        return c < 0x20 || c == 0x7f;
}

/* A plain message: control characters escaped, nothing else, so it reads as written but stays one line. */
static void write_plain_message(FILE *f, const char *s) {
        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                if (is_control(*p))
                        write_escaped_byte(f, *p);
                else
                        fputc(*p, f);
}

/* An event's message: also '\' escaped, and the '=' of "MESSAGE_ID=" hidden, so the line splits where the
 * real MESSAGE_ID= begins. */
static void write_event_message(FILE *f, const char *s) {
        const size_t k = strlen("MESSAGE_ID");

        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                if (is_control(*p) || *p == '\\')
                        write_escaped_byte(f, *p);
                else if (*p == '=' && (size_t) (p - (const unsigned char *) s) >= k &&
                         memcmp(p - k, "MESSAGE_ID", k) == 0)
                        fputs("\\x3d", f);
                else
                        fputc(*p, f);
}

static bool value_needs_quotes(const char *v) {
        if (v[0] == '\0')
                return true;
        for (const unsigned char *p = (const unsigned char *) v; *p; p++)
                if (is_control(*p) || *p == ' ' || *p == '"' || *p == '\\')
                        return true;
        return false;
}

static void write_field_value(FILE *f, const char *v) {
        if (!value_needs_quotes(v)) {
                fputs(v, f);
                return;
        }

        fputc('"', f);
        for (const unsigned char *p = (const unsigned char *) v; *p; p++)
                if (is_control(*p) || *p == '"' || *p == '\\')
                        write_escaped_byte(f, *p);
                else
                        fputc(*p, f);
        fputc('"', f);
}

static int write_all(int fd, const char *p, size_t n) {
        while (n > 0) {
                ssize_t k = write(fd, p, n);

                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                p += k;
                n -= (size_t) k;
        }
        return 0;
}

/* Writes one line to stderr with a single write(), so lines of concurrent writers do not interleave. When
 * no memory is left for building it, the line goes straight to (unbuffered) stderr piece by piece. */
static int console_write(int level, const char *message, bool event, const char *message_id,
                         const LogField *fields, size_t n_fields) {
        _cleanup_free_ char *buf = NULL;
        const char *colour = NULL;
        size_t size = 0;
        FILE *f;
        int r;

        f = open_memstream(&buf, &size);
        if (!f)
                f = stderr;

        if (stderr_is_journal_stream())
                fprintf(f, "<%i>", LOG_PRI(level));
        else if (LOG_PRI(level) <= LOG_WARNING && stderr_wants_colour())
                colour = LOG_PRI(level) <= LOG_ERR ? ANSI_RED : ANSI_YELLOW;

        if (colour)
                fputs(colour, f);

        if (!event)
                write_plain_message(f, message);
        else {
                write_event_message(f, message);
                if (message_id)
                        fprintf(f, " %s%s", MESSAGE_ID_FIELD, message_id);
                for (size_t i = 0; i < n_fields; i++) {
                        if (!log_field_is_sendable(fields + i))
                                continue;
                        fprintf(f, " %s=", fields[i].name);
                        write_field_value(f, fields[i].value);
                }
        }

        if (colour)
                fputs(ANSI_NORMAL, f);
        fputc('\n', f);

        if (f == stderr)
                return ferror(stderr) ? -EIO : 0;

        r = fclose(f) == 0 ? 0 : -ENOMEM;
        if (r < 0)
                return r;
        return write_all(STDERR_FILENO, buf, size);
}

/* One journal entry from "MESSAGE=..." plus NAME=value fields. The fields are joined in a single
 * allocation, as sd_journal_sendv() wants each field contiguous in one iovec. */
static int journal_write(const char *message_field, const LogField *fixed, size_t n_fixed,
                         const LogField *fields, size_t n_fields) {
        _cleanup_free_ struct iovec *iov = NULL;
        _cleanup_free_ char *data = NULL;
        size_t n_iov = 0, total = 0;
        char *p;

        for (size_t i = 0; i < n_fixed; i++)
                if (fixed[i].value)
                        total += strlen(fixed[i].name) + 1 + strlen(fixed[i].value);
        for (size_t i = 0; i < n_fields; i++)
                if (log_field_is_sendable(fields + i))
                        total += strlen(fields[i].name) + 1 + strlen(fields[i].value);

        if (n_fixed + n_fields >= INT_MAX)
                return -E2BIG;
        /* sd_journal_sendv() reports success when there is no journal at all; we want to know. */
        if (access(LOG_JOURNAL_SOCKET, F_OK) < 0)
                return negative_errno();

        iov = calloc(1 + n_fixed + n_fields, sizeof(struct iovec));
        data = malloc(total + 1);
        if (!iov || !data)
                return -ENOMEM;

        iov[n_iov++] = (struct iovec){
                .iov_base = (char *) message_field,
                .iov_len = strlen(message_field),
        };

        p = data;
        for (size_t i = 0; i < n_fixed + n_fields; i++) {
                const LogField *f = i < n_fixed ? fixed + i : fields + (i - n_fixed);
                char *start = p;

                if (i < n_fixed ? !f->value : !log_field_is_sendable(f))
                        continue;

                p = stpcpy(p, f->name);
                *p++ = '=';
                p = stpcpy(p, f->value);
                iov[n_iov++] = (struct iovec){ .iov_base = start, .iov_len = (size_t) (p - start) };
        }

        return sd_journal_sendv(iov, (int) n_iov);
}

/* Sends to the target in use; a journal that cannot take the entry gets it on the console instead. */
static int log_dispatch(int level, const char *message_field, bool event, const char *message_id,
                        const LogField *fixed, size_t n_fixed, const LogField *fields, size_t n_fields) {
        const char *message = message_field + strlen(MESSAGE_PREFIX);

        if (log_get_target() == LOG_TARGET_JOURNAL &&
            journal_write(message_field, fixed, n_fixed, fields, n_fields) >= 0)
                return 0;

        return console_write(level, message, event, message_id, fields, n_fields);
}

int log_internal(int level, int error, const char *file, int line, const char *func, const char *format,
                 ...) {
        char buf[LOG_MESSAGE_STACK], priority[12], line_str[12], errno_str[12];
        _cleanup_free_ char *heap = NULL;
        int saved_errno = errno;
        const char *message;
        va_list ap;

        if (LOG_PRI(level) > log_max_level)
                return LOG_ERRNO_VALUE(error);

        va_start(ap, format);
        message = log_format(buf, sizeof buf, &heap, error, saved_errno, format, ap);
        va_end(ap);

        (void) snprintf(priority, sizeof priority, "%i", LOG_PRI(level));
        (void) snprintf(line_str, sizeof line_str, "%i", line);
        (void) snprintf(errno_str, sizeof errno_str, "%i", abs(error));

        const LogField fixed[] = {
                { "PRIORITY", priority }, { "SYSLOG_IDENTIFIER", log_get_identifier() },
                { "CODE_FILE", file },    { "CODE_LINE", file ? line_str : NULL },
                { "CODE_FUNC", func },    { "ERRNO", error != 0 ? errno_str : NULL },
        };

        (void) log_dispatch(level, message, false, NULL, fixed, ELEMENTSOF(fixed), NULL, 0);

        errno = saved_errno;
        return LOG_ERRNO_VALUE(error);
}

int log_event(int level, const char *message_id, const LogField *fields, size_t n_fields, const char *format,
              ...) {
        char buf[LOG_MESSAGE_STACK], priority[12];
        _cleanup_free_ char *heap = NULL;
        int saved_errno = errno, r;
        const char *message;
        va_list ap;

        if (LOG_PRI(level) > log_max_level)
                return 0;

        va_start(ap, format);
        message = log_format(buf, sizeof buf, &heap, 0, saved_errno, format, ap);
        va_end(ap);

        (void) snprintf(priority, sizeof priority, "%i", LOG_PRI(level));

        const LogField fixed[] = {
                { "MESSAGE_ID", message_id },
                { "PRIORITY", priority },
                { "SYSLOG_IDENTIFIER", log_get_identifier() },
        };

        r = log_dispatch(level, message, true, message_id, fixed, ELEMENTSOF(fixed), fields, n_fields);

        errno = saved_errno;
        return r;
}
