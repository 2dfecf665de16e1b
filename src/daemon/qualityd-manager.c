/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The daemon's state and lifecycle: event loop, signals, watchdog, notifications, the config watch. */
#include <grp.h>
#include <libgen.h>
#include <signal.h>
#include <string.h>
#include <sys/inotify.h>
#include <systemd/sd-daemon.h>

#include "log.h"
#include "message-ids.h"
#include "quality-def.h"
#include "qualityd-manager.h"
#include "time-util.h"

/* Editors write a file in several steps; wait for the last before hashing it. */
#define DISK_CHECK_DELAY_USEC (200 * USEC_PER_MSEC)

static void settings_done(Settings *s) {
        free(s->config_path);
        free(s->workflows_root);
        free(s->state_dir);
        free(s->admin_group);
}

int manager_new(Settings *settings, Manager **ret) {
        _cleanup_(manager_freep) Manager *m = NULL;
        _cleanup_free_ char *copy = NULL;

        m = calloc(1, sizeof(Manager));
        if (!m)
                return -ENOMEM;

        m->settings = *settings;
        *settings = (Settings){ 0 };
        m->status = HEALTH_UNHEALTHY;

        copy = strdup(m->settings.config_path);
        if (!copy)
                return -ENOMEM;
        m->config_dir = strdup(dirname(copy));
        if (!m->config_dir)
                return -ENOMEM;

        *ret = TAKE_PTR(m);
        return 0;
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;

        sd_event_source_unref(m->sighup_source);
        sd_event_source_unref(m->check_timer);
        sd_event_source_unref(m->inotify_source);
        sd_event_source_unref(m->disk_check_timer);
        sd_bus_flush_close_unref(m->bus);
        sd_event_unref(m->event);

        config_unref(m->config);
        generation_store_free(m->generations);
        workflow_checker_free(m->checker);
        free(m->workflows.broken);
        free(m->workflows.first_problem);
        free(m->selections);
        free(m->workflows_root);
        free(m->config_dir);
        settings_done(&m->settings);
        free(m);
        return NULL;
}

void manager_notify_status(Manager *m, const char *extra) {
        _cleanup_free_ char *status = NULL;

        if (manager_status_line(m, &status) < 0)
                return;
        (void) sd_notifyf(false, "%s%sSTATUS=%s", extra ? extra : "", extra ? "\n" : "", status);
}

static int on_sighup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        Manager *m = userdata;
        uint64_t generation;
        int k;

        log_info("Received SIGHUP, reloading %s.", m->settings.config_path);
        k = manager_reload(m, &error, &generation);
        if (k < 0)
                log_warning("Reload failed: %s", error.message ? error.message : strerror(-k));
        sd_bus_error_free(&error);
        return 0;
}

static int on_disk_check_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        (void) manager_check_disk(userdata);
        return 0;
}

static int on_config_dir_event(sd_event_source *s, const struct inotify_event *event, void *userdata) {
        Manager *m = userdata;
        const char *name = strrchr(m->settings.config_path, '/');
        int k;

        name = name ? name + 1 : m->settings.config_path;
        if (event->len > 0 && !streq(event->name, name))
                return 0;

        if (m->disk_check_timer) {
                k = sd_event_source_set_time_relative(m->disk_check_timer, DISK_CHECK_DELAY_USEC);
                if (k >= 0)
                        k = sd_event_source_set_enabled(m->disk_check_timer, SD_EVENT_ONESHOT);
        } else
                k = sd_event_add_time_relative(m->event, &m->disk_check_timer, CLOCK_MONOTONIC,
                                               DISK_CHECK_DELAY_USEC, 0, on_disk_check_timer, m);
        if (k < 0)
                log_warning_errno(k, "Failed to schedule a check of %s: %m", m->settings.config_path);
        return 0;
}

int manager_watch_config_dir(Manager *m) {
        int k;

        k = sd_event_add_inotify(m->event, &m->inotify_source, m->config_dir,
                                 IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE |
                                         IN_ATTRIB | IN_ONLYDIR,
                                 on_config_dir_event, m);
        if (k < 0)
                /* The periodic check still notices changes, only later. */
                log_warning_errno(
                        k, "Failed to watch %s, changes to %s are noticed at the next periodic check: %m",
                        m->config_dir, m->settings.config_path);
        return 0;
}

static int resolve_admin_group(Manager *m) {
        struct group *g;

        errno = 0;
        g = getgrnam(m->settings.admin_group);
        if (!g) {
                log_warning("Group '%s' does not exist; only root may reload, deploy and roll back.",
                            m->settings.admin_group);
                return 0;
        }
        m->admin_gid = g->gr_gid;
        m->admin_gid_valid = true;
        return 0;
}

int manager_start(Manager *m) {
        char generation[DECIMAL_STR_MAX(uint64_t)];
        sigset_t mask;
        int k;

        /* Not sd_event_default(): that one checks its thread with a gettid() call on every iteration, a
         * syscall per Resolve for nothing in a single-threaded daemon. */
        k = sd_event_new(&m->event);
        if (k < 0)
                return log_error_errno(k, "Failed to allocate the event loop: %m");

        /* Signals become events: SIGTERM and SIGINT end the loop, SIGHUP reloads. */
        sigemptyset(&mask);
        sigaddset(&mask, SIGHUP);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return log_error_errno(errno, "Failed to block signals: %m");

        k = sd_event_set_signal_exit(m->event, true);
        if (k < 0)
                return log_error_errno(k, "Failed to make SIGTERM and SIGINT exit: %m");
        k = sd_event_add_signal(m->event, &m->sighup_source, SIGHUP, on_sighup, m);
        if (k < 0)
                return log_error_errno(k, "Failed to handle SIGHUP: %m");
        k = sd_event_set_watchdog(m->event, true);
        if (k < 0)
                return log_error_errno(k, "Failed to enable the watchdog: %m");

        k = resolve_admin_group(m);
        if (k < 0)
                return k;

        k = manager_connect_bus(m);
        if (k < 0)
                return k;

        k = manager_load_startup(m);
        if (k < 0)
                return k;

        (void) manager_check_disk(m);
        k = manager_watch_config_dir(m);
        if (k < 0)
                return k;
        k = manager_start_check_timer(m);
        if (k < 0)
                return k;

        /* Ready once the name is owned and the first load is decided, whatever it decided. */
        k = manager_request_name(m);
        if (k < 0)
                return k;

        snprintf(generation, sizeof(generation), "%" PRIu64, m->generation);
        log_event_fields(
                LOG_INFO, QUALITY_MESSAGE_DAEMON_STARTED,
                LOG_FIELDS(LOG_FIELD("QUALITY_CONFIG_PATH", m->settings.config_path),
                           LOG_FIELD("QUALITY_GENERATION", m->config ? generation : NULL),
                           LOG_FIELD("QUALITY_ENVIRONMENT", m->config ? m->config->environment : NULL)),
                "auteur-qualityd %s started on %s: status %s, workflows beneath %s.", PACKAGE_VERSION,
                m->settings.config_path, health_status_to_string(m->status), m->workflows_root);
        manager_notify_status(m, "READY=1");
        return 0;
}

int manager_run(Manager *m) {
        char generation[DECIMAL_STR_MAX(uint64_t)];
        int k;

        k = sd_event_loop(m->event);

        snprintf(generation, sizeof(generation), "%" PRIu64, m->generation);
        (void) sd_notify(false, "STOPPING=1\nSTATUS=Shutting down.");
        log_event_fields(LOG_INFO, QUALITY_MESSAGE_DAEMON_STOPPING,
                         LOG_FIELDS(LOG_FIELD("QUALITY_GENERATION", m->config ? generation : NULL)),
                         "auteur-qualityd stopping.");
        if (k < 0)
                return log_error_errno(k, "Event loop failed: %m");
        return 0;
}
