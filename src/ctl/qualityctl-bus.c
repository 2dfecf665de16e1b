/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* auteur-qualityctl: the connection to the daemon, its properties, and what a failed call means. */
#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "macro.h"
#include "quality-def.h"
#include "qualityctl.h"

/* The name sd-bus has no constant for: dbus-daemon's answer when a method call timed out. */
#define BUS_ERROR_TIMED_OUT "org.freedesktop.DBus.Error.TimedOut"
#define BUS_ERROR_SPAWN_PREFIX "org.freedesktop.DBus.Error.Spawn."
#define BUS_ERROR_ERRNO_PREFIX "System.Error."

int bus_connect(sd_bus **ret) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int k;

        if (arg_host)
                k = sd_bus_open_system_remote(&bus, arg_host);
        else if (arg_machine)
                k = sd_bus_open_system_machine(&bus, arg_machine);
        else
                k = sd_bus_open_system(&bus);
        if (k < 0)
                return k;

        k = sd_bus_set_method_call_timeout(bus, QUALITYCTL_CALL_TIMEOUT_USEC);
        if (k < 0)
                return k;
        /* The daemon decides who may deploy from the caller's credentials alone; there is nothing to ask. */
        k = sd_bus_set_allow_interactive_authorization(bus, false);
        if (k < 0)
                return k;

        *ret = TAKE_PTR(bus);
        return 0;
}

int bus_call(sd_bus *bus, const char *member, sd_bus_error *error, sd_bus_message **reply, const char *types,
             ...) {
        va_list ap;
        int k;

        va_start(ap, types);
        k = sd_bus_call_methodv(bus, QUALITY_BUS_NAME, QUALITY_BUS_PATH, QUALITY_BUS_INTERFACE, member,
                                error, reply, types, ap);
        va_end(ap);
        return k;
}

static bool errno_is_unreachable(int r) {
        switch (r) {
        case -ENOENT:       /* no bus socket */
        case -ECONNREFUSED: /* a socket with nothing behind it */
        case -ECONNRESET:
        case -ECONNABORTED:
        case -ENOTCONN:
        case -EPIPE:
        case -ESHUTDOWN:
        case -ETIMEDOUT:
        case -EHOSTUNREACH:
        case -ENETUNREACH:
        case -EHOSTDOWN:
                return true;
        default:
                return false;
        }
}

bool bus_error_is_unreachable(const sd_bus_error *error, int r) {
        if (!sd_bus_error_is_set(error))
                return errno_is_unreachable(r);

        if (sd_bus_error_has_names(error, SD_BUS_ERROR_SERVICE_UNKNOWN, SD_BUS_ERROR_NAME_HAS_NO_OWNER,
                                   SD_BUS_ERROR_NO_REPLY, SD_BUS_ERROR_DISCONNECTED, BUS_ERROR_TIMED_OUT,
                                   SD_BUS_ERROR_TIMEOUT))
                return true;
        /* Bus activation of the service failed: nothing is there to answer. */
        if (strneq(error->name, BUS_ERROR_SPAWN_PREFIX, strlen(BUS_ERROR_SPAWN_PREFIX)))
                return true;
        /* sd-bus reports a connection that broke during the call as a plain errno. Errors the daemon sent
         * have names of their own, or standard ones that are not about the connection. */
        if (strneq(error->name, BUS_ERROR_ERRNO_PREFIX, strlen(BUS_ERROR_ERRNO_PREFIX)))
                return errno_is_unreachable(-sd_bus_error_get_errno(error));
        return false;
}

int bus_log_connect_error(int r) {
        if (arg_host)
                fprintf(stderr, "Failed to connect to the system bus of %s: %s.\n", arg_host, strerror(-r));
        else if (arg_machine)
                fprintf(stderr, "Failed to connect to the system bus of machine %s: %s.\n", arg_machine,
                        strerror(-r));
        else
                fprintf(stderr, "Failed to connect to the system bus: %s.\n", strerror(-r));
        return r == -ENOMEM ? EXIT_INVALID : EXIT_UNREACHABLE;
}

int bus_log_error(const char *action, const sd_bus_error *error, int r) {
        bool unreachable = bus_error_is_unreachable(error, r);

        if (sd_bus_error_is_set(error) && error->message && *error->message) {
                const char *msg = error->message;
                size_t n = strcspn(msg, "\n");

                /* The first line is the sentence; InvalidConfig adds one problem a line. */
                fprintf(stderr, "Failed to %s: %.*s%s\n", action, (int) n, msg,
                        n > 0 && strchr(".!?", msg[n - 1]) ? "" : ".");
                if (msg[n])
                        fprintf(stderr, "%s\n", msg + n + 1);
        } else if (sd_bus_error_is_set(error))
                fprintf(stderr, "Failed to %s: %s.\n", action, error->name);
        else
                fprintf(stderr, "Failed to %s: %s.\n", action, strerror(r < 0 ? -r : EIO));

        if (unreachable && arg_host)
                fprintf(stderr, "Is auteur-quality.service running on %s?\n", arg_host);
        else if (unreachable && arg_machine)
                fprintf(stderr, "Is auteur-quality.service running in %s?\n", arg_machine);
        else if (unreachable)
                fprintf(stderr, "Is auteur-quality.service running?\n");
        return unreachable ? EXIT_UNREACHABLE : EXIT_INVALID;
}

/* ---- properties ---- */

typedef struct PropertyMap {
        const char *name;
        char type;
        size_t offset;
} PropertyMap;

static const PropertyMap daemon_info_map[] = {
        { "Version", 's', offsetof(DaemonInfo, version) },
        { "Environment", 's', offsetof(DaemonInfo, environment) },
        { "Generation", 't', offsetof(DaemonInfo, generation) },
        { "Status", 's', offsetof(DaemonInfo, status) },
        { "ConfigPath", 's', offsetof(DaemonInfo, config_path) },
        { "WorkflowsRoot", 's', offsetof(DaemonInfo, workflows_root) },
        { "Mappings", 'u', offsetof(DaemonInfo, mappings) },
        { "LastReloadUSec", 't', offsetof(DaemonInfo, last_reload_usec) },
        { "ConfigChangedOnDisk", 'b', offsetof(DaemonInfo, config_changed_on_disk) },
};

static int read_property(sd_bus_message *m, const PropertyMap *p, DaemonInfo *info) {
        char signature[2] = { p->type, 0 };
        void *field = (char *) info + p->offset;
        const char *contents;
        int k;

        /* A daemon of another version may type a property differently: skip it rather than fail. */
        k = sd_bus_message_peek_type(m, NULL, &contents);
        if (k < 0)
                return k;
        if (!streq(contents, signature))
                return sd_bus_message_skip(m, "v");

        k = sd_bus_message_enter_container(m, 'v', signature);
        if (k < 0)
                return k;

        switch (p->type) {
        case 's': {
                const char *s;
                char *copy;

                k = sd_bus_message_read_basic(m, 's', &s);
                if (k < 0)
                        return k;
                copy = strdup(s);
                if (!copy)
                        return -ENOMEM;
                free(*(char **) field);
                *(char **) field = copy;
                break;
        }
        case 'b': {
                int b;

                k = sd_bus_message_read_basic(m, 'b', &b);
                if (k < 0)
                        return k;
                *(bool *) field = b;
                break;
        }
        default:
                k = sd_bus_message_read_basic(m, p->type, field);
                if (k < 0)
                        return k;
        }

        return sd_bus_message_exit_container(m);
}

int daemon_info_get(sd_bus *bus, sd_bus_error *error, DaemonInfo *ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        DaemonInfo info = { 0 };
        int k;

        k = sd_bus_call_method(bus, QUALITY_BUS_NAME, QUALITY_BUS_PATH, "org.freedesktop.DBus.Properties",
                               "GetAll", error, &reply, "s", QUALITY_BUS_INTERFACE);
        if (k < 0)
                return k;

        k = sd_bus_message_enter_container(reply, 'a', "{sv}");
        if (k < 0)
                return k;
        while ((k = sd_bus_message_enter_container(reply, 'e', "sv")) > 0) {
                const PropertyMap *p = NULL;
                const char *name;

                k = sd_bus_message_read_basic(reply, 's', &name);
                if (k < 0)
                        break;
                for (size_t i = 0; i < ELEMENTSOF(daemon_info_map); i++)
                        if (streq(daemon_info_map[i].name, name))
                                p = daemon_info_map + i;

                k = p ? read_property(reply, p, &info) : sd_bus_message_skip(reply, "v");
                if (k < 0)
                        break;
                k = sd_bus_message_exit_container(reply);
                if (k < 0)
                        break;
        }
        if (k >= 0)
                k = sd_bus_message_exit_container(reply);
        if (k >= 0 && (!info.environment || !info.status || !info.workflows_root || !info.config_path))
                k = -EBADMSG; /* not the daemon this tool knows */
        if (k < 0) {
                daemon_info_done(&info);
                return k;
        }

        *ret = info;
        return 0;
}

void daemon_info_done(DaemonInfo *info) {
        free(info->version);
        free(info->environment);
        free(info->status);
        free(info->config_path);
        free(info->workflows_root);
        *info = (DaemonInfo){ 0 };
}

void daemon_info_print_active(const DaemonInfo *info, const char *verb, FILE *f) {
        if (info->generation == 0 || !info->environment || !*info->environment)
                fprintf(f, "No configuration is active (status %s).\n",
                        info->status ? info->status : "unknown");
        else
                fprintf(f, "Generation %" PRIu64 " of environment '%s' %s.\n", info->generation,
                        info->environment, verb);
}
