/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests of the logging module: the console line format and its escaping, errno handling, levels, targets. */
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "message-ids.h"
#include "tap.h"

#define TEST_TIMEOUT_SEC 60U
#define LONG_MESSAGE_LENGTH 5000U

static int capture_fd = -EBADF, saved_stderr = -EBADF;

static void die(const char *what) {
        perror(what);
        exit(EXIT_FAILURE);
}

static void skip(const char *why) {
        tap_count++;
        printf("ok %u # SKIP %s\n", tap_count, why);
        fflush(stdout);
}

/* Points stderr at a fresh memfd until capture_end(), which returns what was written. */
static void capture_begin(void) {
        capture_fd = memfd_create("test-log", MFD_CLOEXEC);
        if (capture_fd < 0)
                die("memfd_create");
        saved_stderr = dup(STDERR_FILENO);
        if (saved_stderr < 0 || dup2(capture_fd, STDERR_FILENO) < 0)
                die("dup2");
}

static char *capture_end(void) {
        struct stat st;
        char *s;

        if (dup2(saved_stderr, STDERR_FILENO) < 0)
                die("dup2");
        saved_stderr = safe_close(saved_stderr);

        if (fstat(capture_fd, &st) < 0)
                die("fstat");
        s = calloc(1, (size_t) st.st_size + 1);
        if (!s)
                die("calloc");
        if (pread(capture_fd, s, (size_t) st.st_size, 0) != st.st_size)
                die("pread");
        capture_fd = safe_close(capture_fd);
        return s;
}

static size_t count_char(const char *s, char c) {
        size_t n = 0;

        for (; *s; s++)
                n += *s == c;
        return n;
}

static void test_strings(void) {
        is_int(log_target_from_string("auto"), LOG_TARGET_AUTO, "'auto' is a target");
        is_int(log_target_from_string("journal"), LOG_TARGET_JOURNAL, "'journal' is a target");
        is_int(log_target_from_string("console"), LOG_TARGET_CONSOLE, "'console' is a target");
        is_int(log_target_from_string("syslog"), -EINVAL, "'syslog' is not a target");
        is_int(log_target_from_string(NULL), -EINVAL, "NULL is not a target");
        is_str(log_target_to_string(LOG_TARGET_JOURNAL), "journal", "JOURNAL is 'journal'");
        ok(!log_target_to_string(_LOG_TARGET_MAX), "past the last target there is no name");

        is_int(log_level_from_string("debug"), LOG_DEBUG, "'debug' is LOG_DEBUG");
        is_int(log_level_from_string("info"), LOG_INFO, "'info' is LOG_INFO");
        is_int(log_level_from_string("notice"), LOG_NOTICE, "'notice' is LOG_NOTICE");
        is_int(log_level_from_string("warning"), LOG_WARNING, "'warning' is LOG_WARNING");
        is_int(log_level_from_string("warn"), LOG_WARNING, "'warn' is LOG_WARNING");
        is_int(log_level_from_string("err"), LOG_ERR, "'err' is LOG_ERR");
        is_int(log_level_from_string("error"), LOG_ERR, "'error' is LOG_ERR");
        is_int(log_level_from_string("emerg"), LOG_EMERG, "'emerg' is LOG_EMERG");
        is_int(log_level_from_string("6"), LOG_INFO, "'6' is LOG_INFO");
        is_int(log_level_from_string("8"), -EINVAL, "'8' is not a level");
        is_int(log_level_from_string("Debug"), -EINVAL, "levels are lower case");
        is_int(log_level_from_string(""), -EINVAL, "'' is not a level");
        is_str(log_level_to_string(LOG_NOTICE), "notice", "LOG_NOTICE is 'notice'");

        ok(log_field_name_is_valid("QUALITY_GENERATION"), "QUALITY_GENERATION is a field name");
        ok(log_field_name_is_valid("A1_"), "A1_ is a field name");
        ok(!log_field_name_is_valid("quality"), "lower case is not a field name");
        ok(!log_field_name_is_valid("_PID"), "a trusted '_' name is not ours to send");
        ok(!log_field_name_is_valid("1ABC"), "a name does not start with a digit");
        ok(!log_field_name_is_valid("A-B"), "'-' is not in a field name");
        ok(!log_field_name_is_valid(""), "the empty name is not a field name");
        ok(log_field_name_is_valid("ABCDEFGHIJABCDEFGHIJABCDEFGHIJABCDEFGHIJABCDEFGHIJABCDEFGHIJABCD"),
           "a 64-character name is a field name");
        ok(!log_field_name_is_valid("ABCDEFGHIJABCDEFGHIJABCDEFGHIJABCDEFGHIJABCDEFGHIJABCDEFGHIJABCDE"),
           "a 65-character name is not");
}

static void test_auto(void) {
        bool socket = access(LOG_JOURNAL_SOCKET, F_OK) >= 0;

        log_set_target(LOG_TARGET_AUTO);
        is_int(log_get_target(), socket ? LOG_TARGET_JOURNAL : LOG_TARGET_CONSOLE, "auto resolves to %s",
               socket ? "the journal, its socket exists" : "the console, no journal socket");
}

static void test_plain(void) {
        _cleanup_free_ char *out = NULL;
        int r, evaluated = 0;

        log_set_target(LOG_TARGET_CONSOLE);
        log_set_max_level(LOG_INFO);

        capture_begin();
        log_info("Hello %s.", "world");
        out = capture_end();
        is_str(out, "Hello world.\n", "log_info() writes the message alone on one line");
        free(out);

        capture_begin();
        errno = EBADF;
        r = log_error_errno(-ENOENT, "Failed to open %s: %m", "/x");
        is_int(errno, EBADF, "errno survives logging");
        out = capture_end();
        is_int(r, -ENOENT, "log_error_errno(-ENOENT) returns -ENOENT");
        is_str(out, "Failed to open /x: No such file or directory\n", "%%m expands to the error's text");
        free(out);

        capture_begin();
        r = log_warning_errno(EACCES, "Denied: %m");
        out = capture_end();
        is_int(r, -EACCES, "a positive errno comes back negative");
        is_str(out, "Denied: Permission denied\n", "%%m of a positive errno");
        free(out);

        capture_begin();
        errno = ENOSPC;
        r = log_full_errno(LOG_NOTICE, 0, "Disk: %m");
        out = capture_end();
        is_int(r, 0, "error 0 returns 0");
        is_str(out, "Disk: No space left on device\n", "with error 0, %%m is the caller's errno");
        free(out);

        capture_begin();
        log_debug("Debug %d.", evaluated++);
        r = log_debug_errno(EIO, "Debug: %m");
        out = capture_end();
        is_str(out, "", "debug is dropped at level info");
        is_int(evaluated, 0, "a dropped message's arguments are not evaluated");
        is_int(r, -EIO, "a dropped message still returns the error");
        free(out);

        capture_begin();
        log_notice("two\nlines\tand\x01 a \\ backslash");
        out = capture_end();
        is_str(out, "two\\nlines\\tand\\x01 a \\ backslash\n",
               "control characters are escaped, a '\\' is not");
        is_int(count_char(out, '\n'), 1, "a plain message is one line");
        free(out);

        capture_begin();
        r = log_oom();
        out = capture_end();
        is_int(r, -ENOMEM, "log_oom() returns -ENOMEM");
        is_str(out, "Out of memory.\n", "log_oom() says so");
}

static void test_event(void) {
        _cleanup_free_ char *out = NULL;
        const char *gen = "7", *env = "my env";
        int r;

        log_set_target(LOG_TARGET_CONSOLE);
        log_set_max_level(LOG_INFO);

        capture_begin();
        errno = EBADF;
        r = log_event_fields(LOG_NOTICE, QUALITY_MESSAGE_CONFIG_APPLIED,
                             LOG_FIELDS(LOG_FIELD("QUALITY_GENERATION", gen),
                                        LOG_FIELD("QUALITY_ENVIRONMENT", env),
                                        LOG_FIELD("QUALITY_TIER", NULL),
                                        LOG_FIELD("QUALITY_TASK_TYPE", "character_portrait")),
                             "Configuration generation %s applied.", gen);
        is_int(errno, EBADF, "errno survives an event");
        out = capture_end();
        is_int(r, 0, "log_event() succeeds");
        is_str(out,
               "Configuration generation 7 applied. MESSAGE_ID=25ab20fd79254aeaa8d52d44f260d2ec"
               " QUALITY_GENERATION=7 QUALITY_ENVIRONMENT=\"my env\" QUALITY_TASK_TYPE=character_portrait\n",
               "an event is the message, MESSAGE_ID=, each field once, NULL fields left out");
        free(out);

        capture_begin();
        log_event_fields(LOG_WARNING, QUALITY_MESSAGE_WORKFLOW_MISSING,
                         LOG_FIELDS(LOG_FIELD("QUALITY_CONFIG_PATH", "a \"b\" \\c\nd"),
                                    LOG_FIELD("QUALITY_ENVIRONMENT", ""),
                                    LOG_FIELD("QUALITY_TIER", "tab\there\x7f"),
                                    LOG_FIELD("QUALITY_TASK_TYPE", "caf\xc3\xa9")),
                         "Escapes.");
        out = capture_end();
        is_str(out,
               "Escapes. MESSAGE_ID=012c5469f81f41a686ed9da7fa715eec QUALITY_CONFIG_PATH=\"a \\\"b\\\" "
               "\\\\c\\nd\""
               " QUALITY_ENVIRONMENT=\"\" QUALITY_TIER=\"tab\\there\\x7f\" QUALITY_TASK_TYPE=caf\xc3\xa9\n",
               "space, quote, backslash and control characters are quoted C-style; UTF-8 stays bare");
        is_int(count_char(out, '\n'), 1, "a value with a newline keeps the event on one line");
        free(out);

        capture_begin();
        log_event_fields(LOG_NOTICE, QUALITY_MESSAGE_ROLLBACK,
                         LOG_FIELDS(LOG_FIELD("QUALITY_GENERATION", "9")),
                         "Origin 'x MESSAGE_ID=00 y' with a \\ and\na newline.");
        out = capture_end();
        is_str(out,
               "Origin 'x MESSAGE_ID\\x3d00 y' with a \\\\ and\\na newline. "
               "MESSAGE_ID=c0420221253543ac9fa34de729a3e886"
               " QUALITY_GENERATION=9\n",
               "an event's message escapes '\\', control characters and a MESSAGE_ID= of its own");
        ok(strstr(out, " MESSAGE_ID=") &&
                   streq(strstr(out, " MESSAGE_ID="), " MESSAGE_ID=c0420221253543ac9fa34de729a3e886"
                                                      " QUALITY_GENERATION=9\n"),
           "the first ' MESSAGE_ID=' of the line is the real one");
        free(out);

        capture_begin();
        log_event_fields(LOG_NOTICE, QUALITY_MESSAGE_HEALTH_CHANGED,
                         LOG_FIELDS(LOG_FIELD("lower", "1"), LOG_FIELD("_PID", "2"), LOG_FIELD("1ABC", "3"),
                                    LOG_FIELD("MESSAGE", "4"), LOG_FIELD("MESSAGE_ID", "5"),
                                    LOG_FIELD("PRIORITY", "6"), LOG_FIELD("SYSLOG_IDENTIFIER", "7"),
                                    LOG_FIELD("", "8"), LOG_FIELD(NULL, "9"), LOG_FIELD("OK", "10")),
                         "Bad names.");
        out = capture_end();
        is_str(out, "Bad names. MESSAGE_ID=a9f5723eda004020ae5fb7a64379860c OK=10\n",
               "invalid and reserved field names are left out");
        free(out);

        capture_begin();
        r = log_event(LOG_NOTICE, NULL, NULL, 0, "No id, no fields.");
        out = capture_end();
        is_int(r, 0, "an event without id or fields succeeds");
        is_str(out, "No id, no fields.\n", "without an id there is no MESSAGE_ID=");
        free(out);

        capture_begin();
        r = log_event_fields(LOG_DEBUG, QUALITY_MESSAGE_DAEMON_STARTED, LOG_FIELDS(LOG_FIELD("A", "1")),
                             "Hidden.");
        out = capture_end();
        is_int(r, 0, "a dropped event returns 0");
        is_str(out, "", "a debug event is dropped at level info");
}

static void test_long(void) {
        _cleanup_free_ char *out = NULL, *text = NULL;

        text = malloc(LONG_MESSAGE_LENGTH + 1);
        if (!text)
                die("malloc");
        memset(text, 'x', LONG_MESSAGE_LENGTH);
        text[LONG_MESSAGE_LENGTH] = '\0';

        capture_begin();
        log_event_fields(LOG_NOTICE, QUALITY_MESSAGE_DAEMON_STOPPING, LOG_FIELDS(LOG_FIELD("A", "1")), "%s",
                         text);
        out = capture_end();
        ok(strlen(out) == LONG_MESSAGE_LENGTH +
                                   strlen(" MESSAGE_ID=b6107bff2720422a9b9814237006ddb6 A=1\n") &&
                   strneq(out, text, LONG_MESSAGE_LENGTH),
           "a message longer than the stack buffer is written whole");
}

static void test_environment(void) {
        _cleanup_free_ char *out = NULL;
        int r;

        log_set_max_level(LOG_INFO);
        log_set_target(LOG_TARGET_CONSOLE);

        (void) setenv(LOG_ENV_LEVEL, "debug", 1);
        (void) setenv(LOG_ENV_TARGET, "console", 1);
        r = log_parse_environment();
        is_int(r, 0, "$QUALITY_LOG_LEVEL=debug parses");
        is_int(log_get_max_level(), LOG_DEBUG, "$QUALITY_LOG_LEVEL=debug sets the level");
        is_int(log_get_target(), LOG_TARGET_CONSOLE, "$QUALITY_LOG_TARGET=console sets the target");

        capture_begin();
        log_debug("Visible.");
        out = capture_end();
        is_str(out, "Visible.\n", "debug is written at level debug");
        free(out);

        (void) setenv(LOG_ENV_LEVEL, "loud", 1);
        (void) unsetenv(LOG_ENV_TARGET);
        capture_begin();
        r = log_parse_environment();
        out = capture_end();
        is_int(r, -EINVAL, "$QUALITY_LOG_LEVEL=loud is refused");
        is_int(log_get_max_level(), LOG_DEBUG, "a refused level leaves the level alone");
        is_str(out, "Ignoring $QUALITY_LOG_LEVEL=loud, not a log level.\n", "a refused level is reported");

        (void) unsetenv(LOG_ENV_LEVEL);
        log_set_max_level(LOG_INFO);
}

static void test_journal_stream(void) {
        _cleanup_free_ char *out = NULL;
        char stream[64];
        struct stat st;

        log_set_target(LOG_TARGET_CONSOLE);
        capture_begin();
        if (fstat(capture_fd, &st) < 0)
                die("fstat");
        (void) snprintf(stream, sizeof stream, "%llu:%llu", (unsigned long long) st.st_dev,
                        (unsigned long long) st.st_ino);
        (void) setenv("JOURNAL_STREAM", stream, 1);
        log_event_fields(LOG_WARNING, QUALITY_MESSAGE_UNAUTHORIZED_CALL,
                         LOG_FIELDS(LOG_FIELD("QUALITY_CALLER_UID", "1000")), "Denied.");
        log_info("Plain.");
        (void) unsetenv("JOURNAL_STREAM");
        out = capture_end();
        is_str(out,
               "<4>Denied. MESSAGE_ID=f2fa415552a64bad975c40ca995e1d12 QUALITY_CALLER_UID=1000\n<6>Plain.\n",
               "on a journal stream each line starts with its <priority>");
}

static void test_journal(void) {
        _cleanup_free_ char *out = NULL;
        int r;

        log_set_target(LOG_TARGET_JOURNAL);
        log_set_identifier("test-log");

        if (access(LOG_JOURNAL_SOCKET, F_OK) < 0) {
                /* No journal: the entry must still reach someone. */
                capture_begin();
                r = log_event_fields(LOG_NOTICE, QUALITY_MESSAGE_CONFIG_REJECTED,
                                     LOG_FIELDS(LOG_FIELD("QUALITY_PROBLEM_CODE", "unknown-key")),
                                     "Rejected.");
                out = capture_end();
                is_int(r, 0, "without a journal an event falls back");
                is_str(out,
                       "Rejected. MESSAGE_ID=c2f75e9efcc449638f24fcdb16182b47 "
                       "QUALITY_PROBLEM_CODE=unknown-key\n",
                       "without a journal an event goes to the console");
                skip("no journal socket at " LOG_JOURNAL_SOCKET ", the journal target cannot be checked");
        } else {
                capture_begin();
                r = log_event_fields(LOG_NOTICE, QUALITY_MESSAGE_CONFIG_REJECTED,
                                     LOG_FIELDS(LOG_FIELD("QUALITY_PROBLEM_CODE", "unknown-key"),
                                                LOG_FIELD("QUALITY_CONFIG_PATH", "multi\nline")),
                                     "Rejected (test-log).");
                log_info_errno(ENOENT, "Plain to the journal (test-log): %m");
                out = capture_end();
                is_int(r, 0, "an event is sent to the journal");
                is_str(out, "", "the journal took both entries, nothing fell back to the console");
        }

        log_set_identifier(NULL);
        log_set_target(LOG_TARGET_CONSOLE);
}

int main(void) {
        (void) alarm(TEST_TIMEOUT_SEC);
        (void) unsetenv(LOG_ENV_LEVEL);
        (void) unsetenv(LOG_ENV_TARGET);
        (void) unsetenv("JOURNAL_STREAM");

        test_strings();
        test_auto();
        test_plain();
        test_event();
        test_long();
        test_environment();
        test_journal_stream();
        test_journal();

        return tap_done();
}
