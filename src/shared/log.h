/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Logging for every program: plain messages and structured events, to the journal or to stderr. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <syslog.h>

#include "macro.h"

/* Where messages go. AUTO picks the journal when its socket exists (checked once, on first use) and the
 * console otherwise. An entry the journal cannot take (no socket, a failed send) goes to the console. */
typedef enum LogTarget {
        LOG_TARGET_AUTO,
        LOG_TARGET_JOURNAL,
        LOG_TARGET_CONSOLE,
        _LOG_TARGET_MAX,
        _LOG_TARGET_INVALID = -EINVAL,
} LogTarget;

#define LOG_JOURNAL_SOCKET "/run/systemd/journal/socket"
#define LOG_ENV_LEVEL "QUALITY_LOG_LEVEL"
#define LOG_ENV_TARGET "QUALITY_LOG_TARGET"

const char *log_target_to_string(LogTarget t) _const_;
LogTarget log_target_from_string(const char *s) _pure_;

/* "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug" (also "error", "warn" and the
 * digits 0-7); -EINVAL for anything else. */
const char *log_level_to_string(int level) _const_;
int log_level_from_string(const char *s) _pure_;

void log_set_target(LogTarget t);
/* The target in use: AUTO is resolved to JOURNAL or CONSOLE. */
LogTarget log_get_target(void);

/* Messages above this syslog level are dropped. The default is LOG_INFO. */
void log_set_max_level(int level);
int log_get_max_level(void) _pure_;

/* SYSLOG_IDENTIFIER= in the journal. Not copied: pass a string that lives as long as the program (a
 * literal). NULL restores the default, program_invocation_short_name. */
void log_set_identifier(const char *ident);

/* Applies $QUALITY_LOG_LEVEL and $QUALITY_LOG_TARGET when set. A value that does not parse is ignored
 * with a warning and makes this return -EINVAL; the other variable still applies. */
int log_parse_environment(void);

/* Plain messages.
 *
 * Returns -abs(error), so that "return log_error_errno(r, ...);" reports and propagates in one go; with
 * error == 0 it returns 0. When error != 0, "%m" in the format expands to strerror(abs(error)). errno is
 * preserved across the call.
 *
 * Journal: MESSAGE=, PRIORITY=, CODE_FILE=, CODE_LINE=, CODE_FUNC=, SYSLOG_IDENTIFIER=, and ERRNO= when
 * error != 0.
 * Console: the message alone, as one line on stderr. Control characters in it are written as the C-style
 * escapes described below ('\' is left as it is), so a message never spans lines. */
int log_internal(int level, int error, const char *file, int line, const char *func, const char *format, ...)
        _printf_(6, 7);

#define LOG_ERRNO_VALUE(e) ((e) < 0 ? (e) : -(e))

/* The arguments are not evaluated when the level is filtered out. */
#define log_full_errno(level, error, ...)                                                                   \
        __extension__({                                                                                     \
                int _log_level = (level), _log_error = (error);                                             \
                log_get_max_level() >= LOG_PRI(_log_level)                                                  \
                        ? log_internal(_log_level, _log_error, __FILE__, __LINE__, __func__, __VA_ARGS__)   \
                        : LOG_ERRNO_VALUE(_log_error);                                                      \
        })
#define log_full(level, ...) (void) log_full_errno((level), 0, __VA_ARGS__)

#define log_debug(...) log_full(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_full(LOG_INFO, __VA_ARGS__)
#define log_notice(...) log_full(LOG_NOTICE, __VA_ARGS__)
#define log_warning(...) log_full(LOG_WARNING, __VA_ARGS__)
#define log_error(...) log_full(LOG_ERR, __VA_ARGS__)

#define log_debug_errno(error, ...) log_full_errno(LOG_DEBUG, (error), __VA_ARGS__)
#define log_info_errno(error, ...) log_full_errno(LOG_INFO, (error), __VA_ARGS__)
#define log_notice_errno(error, ...) log_full_errno(LOG_NOTICE, (error), __VA_ARGS__)
#define log_warning_errno(error, ...) log_full_errno(LOG_WARNING, (error), __VA_ARGS__)
#define log_error_errno(error, ...) log_full_errno(LOG_ERR, (error), __VA_ARGS__)

#define log_oom() log_error_errno(ENOMEM, "Out of memory.")

/* Structured events.
 *
 * One journal entry per call: MESSAGE= (the formatted text), MESSAGE_ID= (omitted when message_id is NULL),
 * PRIORITY=, SYSLOG_IDENTIFIER=, and NAME=value for each field. A field whose value is NULL is omitted;
 * so is one whose name is not a valid journal field name (see log_field_name_is_valid()) or is one of the
 * four names above. Values may hold any bytes but NUL.
 *
 * On the console, exactly one line on stderr:
 *
 *     MESSAGE " MESSAGE_ID=" ID { " " NAME "=" VALUE } "\n"
 *
 * for example
 *
 *     Configuration generation 7 applied. MESSAGE_ID=25ab20fd79254aeaa8d52d44f260d2ec QUALITY_GENERATION=7
 *     QUALITY_ENVIRONMENT="my env"                              (one line, wrapped here for the comment)
 *
 * The parts are written so that the line splits without guessing:
 *   - MESSAGE has '\' written as "\\" and control characters (0x00-0x1f, 0x7f) as escapes: "\n", "\t",
 *     "\r", else "\xHH". Inside it, the '=' of any "MESSAGE_ID=" is written "\x3d", so the first
 *     " MESSAGE_ID=" of the line is where the fields begin. " MESSAGE_ID=" ID is left out when message_id
 *     is NULL.
 *   - VALUE is written bare when it is not empty and holds no space, '"', '\' or control character.
 *     Otherwise it is quoted: '"', the value with '"' as "\"", '\' as "\\" and control characters escaped
 *     as in MESSAGE, then '"'. So a bare value ends at the next space, a quoted one at the first '"' that
 *     does not follow a '\'.
 *   - "\xHH" is always exactly two lowercase hex digits. Bytes from 0x80 up are copied unchanged, so UTF-8
 *     text stays readable.
 *   - Fields appear in the caller's order, each once.
 *
 * For plain messages and events alike: when stderr is a journal stream ($JOURNAL_STREAM names it), lines
 * start with "<PRIORITY>" so journald files them at the right level and strips the prefix; when stderr is
 * a terminal, warnings and errors are coloured unless $NO_COLOR is set or $TERM is "dumb".
 *
 * Returns 0, or a negative errno when the entry could not be written anywhere; callers normally ignore it.
 * errno is preserved. */
typedef struct LogField {
        const char *name;  /* [A-Z0-9_], not starting with a digit or '_', at most 64 characters */
        const char *value; /* NULL: the field is left out */
} LogField;

int log_event(int level, const char *message_id, const LogField *fields, size_t n_fields, const char *format,
              ...) _printf_(5, 6);

bool log_field_name_is_valid(const char *name) _pure_;

/* log_event_fields(LOG_NOTICE, QUALITY_MESSAGE_CONFIG_APPLIED,
 *                  LOG_FIELDS(LOG_FIELD("QUALITY_GENERATION", gen_str),
 *                             LOG_FIELD("QUALITY_ENVIRONMENT", env)),
 *                  "Configuration generation %s applied.", gen_str);
 *
 * LOG_FIELDS() is an array (a compound literal, alive until the end of the enclosing block), so
 * log_event_fields() can count it. For an event without fields call log_event(level, id, NULL, 0, ...). */
/* clang-format off */
#define LOG_FIELD(n, v) { .name = (n), .value = (v) }
#define LOG_FIELDS(...) ((const LogField[]) { __VA_ARGS__ })
/* clang-format on */
#define log_event_fields(level, message_id, fields, ...)                                                    \
        log_event((level), (message_id), (fields), LOG_FIELDS_COUNT(fields), __VA_ARGS__)

/* ELEMENTSOF() that does not compile for a pointer (it yields void), whose size would give a wrong count. */
#define LOG_FIELDS_COUNT(a)                                                                                 \
        __builtin_choose_expr(!__builtin_types_compatible_p(__typeof__(a), __typeof__(&(a)[0])),            \
                              ELEMENTSOF(a), (void) 0)
