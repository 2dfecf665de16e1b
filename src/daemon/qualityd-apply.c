/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Transactional apply: validate beside the active config, record a generation, swap in one step. */
#include <errno.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "config-load.h"
#include "fileio.h"
#include "log.h"
#include "message-ids.h"
#include "quality-def.h"
#include "qualityd-bus.h"
#include "qualityd-manager.h"
#include "time-util.h"

static void sha256_hex(const char *text, size_t size, char ret[SHA256_HEX_SIZE]) {
        uint8_t digest[SHA256_DIGEST_SIZE];

        sha256_buffer(text, size, digest);
        sha256_to_hex(digest, ret);
}

static int validate(Manager *m, const char *text, size_t size, Problems *problems, Config **ret) {
        ValidateOptions opts = {
                .workflows_root = m->workflows_root,
                .root_mismatch = m->settings.root_mismatch,
                .base_dir = m->config_dir,
        };

        /* The root may have appeared since start-up. */
        if (!m->checker)
                (void) workflow_checker_new(m->workflows_root, &m->checker);
        opts.checker = m->checker;

        if (!text)
                return config_validate_file(m->settings.config_path, &opts, problems, ret);
        return config_validate_text(text, size, &opts, problems, ret);
}

int manager_validate_text(Manager *m, const char *text, size_t size, Problems *problems) {
        return validate(m, text, size, problems, NULL);
}

/* One entry for the event, then each problem on its own, so the journal has the full list. */
static void log_rejected(Manager *m, const Problems *p, const char *what) {
        const Problem *first = NULL;
        char generation[DECIMAL_STR_MAX(uint64_t)];

        for (size_t i = 0; i < p->n_items && !first; i++)
                if (p->items[i].severity == SEVERITY_ERROR)
                        first = p->items + i;

        snprintf(generation, sizeof(generation), "%" PRIu64, m->generation);
        log_event_fields(
                LOG_ERR, QUALITY_MESSAGE_CONFIG_REJECTED,
                LOG_FIELDS(LOG_FIELD("QUALITY_CONFIG_PATH", m->settings.config_path),
                           LOG_FIELD("QUALITY_PROBLEM_CODE",
                                     first ? problem_code_to_string(first->code) : NULL),
                           LOG_FIELD("QUALITY_GENERATION", m->config ? generation : NULL),
                           LOG_FIELD("QUALITY_ENVIRONMENT", m->config ? m->config->environment : NULL),
                           LOG_FIELD("QUALITY_CONFIG_SHA256", m->config ? m->sha256 : NULL)),
                "%s was rejected with %zu error%s and %zu warning%s; %s.", what, p->n_errors,
                p->n_errors == 1 ? "" : "s", p->n_warnings, p->n_warnings == 1 ? "" : "s",
                m->config ? "the active configuration keeps serving" : "no configuration is active");

        for (size_t i = 0; i < p->n_items; i++) {
                const Problem *x = p->items + i;

                log_full(x->severity == SEVERITY_ERROR ? LOG_ERR : LOG_WARNING, "%s:%u:%u: %s[%s]: %s",
                         p->file, x->line, x->column, severity_to_string(x->severity),
                         problem_code_to_string(x->code), x->message);
        }
}

/* InvalidConfig with the first few errors; the journal has them all. */
static int set_invalid_config(sd_bus_error *error, const Problems *p) {
        _cleanup_free_ char *text = NULL;
        size_t size = 0, shown = 0;
        FILE *f;

        f = open_memstream(&text, &size);
        if (!f)
                return -ENOMEM;
        fprintf(f, "The configuration has %zu error%s; nothing was changed.", p->n_errors,
                p->n_errors == 1 ? "" : "s");
        for (size_t i = 0; i < p->n_items && shown < INVALID_CONFIG_PROBLEMS_MAX; i++) {
                const Problem *x = p->items + i;

                if (x->severity != SEVERITY_ERROR)
                        continue;
                fprintf(f, "\n%s:%u:%u: error[%s]: %s", p->file, x->line, x->column,
                        problem_code_to_string(x->code), x->message);
                shown++;
        }
        if (fclose(f) != 0)
                return -ENOMEM;

        return sd_bus_error_set(error, QUALITY_ERROR_INVALID_CONFIG, text);
}

static void notify_reloading(void) {
        (void) sd_notifyf(false, "RELOADING=1\nMONOTONIC_USEC=" USEC_FMT, now(CLOCK_MONOTONIC));
}

static void log_applied(Manager *m, ApplyKind kind, const char *origin) {
        char generation[DECIMAL_STR_MAX(uint64_t)];

        snprintf(generation, sizeof(generation), "%" PRIu64, m->generation);
        log_event_fields(
                LOG_NOTICE,
                kind == APPLY_ROLLBACK ? QUALITY_MESSAGE_ROLLBACK : QUALITY_MESSAGE_CONFIG_APPLIED,
                LOG_FIELDS(LOG_FIELD("QUALITY_GENERATION", generation),
                           LOG_FIELD("QUALITY_ENVIRONMENT", m->config->environment),
                           LOG_FIELD("QUALITY_CONFIG_PATH", m->settings.config_path),
                           LOG_FIELD("QUALITY_CONFIG_SHA256", m->sha256)),
                "Configuration generation %s of environment '%s' applied (%s), serving %zu mappings.",
                generation, m->config->environment, origin, m->config->n_mappings);
}

/* Makes config the active configuration, as the generation info describes. fallback: it is served because
 * the file at the config path is unusable. */
static int swap_in(Manager *m, Config *config, const GenerationInfo *info, bool fallback) {
        _cleanup_(config_unrefp) Config *old = m->config;
        int k;

        m->config = config;
        m->generation = info->generation;
        memcpy(m->sha256, info->sha256, SHA256_HEX_SIZE);
        m->last_reload_usec = info->applied_usec;
        m->fallback = fallback;

        k = manager_adopt_config(m, old);
        if (k < 0)
                return k;

        manager_update_status(m);
        return 0;
}

/* What the config path held before an apply wrote it, to put back if the apply fails later. */
typedef struct PreviousFile {
        bool exists;
        char *text;
        size_t size;
} PreviousFile;

static void previous_file_done(PreviousFile *p) {
        free(p->text);
}

/* Writes text to the config path unless it holds exactly that already. Returns 1 if it wrote, with what
 * was there before in *previous. */
static int write_config(Manager *m, const char *text, size_t size, const char *sha, PreviousFile *previous,
                        sd_bus_error *error) {
        char current_sha[SHA256_HEX_SIZE];
        int k;

        k = read_full_file(m->settings.config_path, CONFIG_SIZE_MAX, &previous->text, &previous->size);
        if (k >= 0) {
                previous->exists = true;
                sha256_hex(previous->text, previous->size, current_sha);
                if (streq(current_sha, sha))
                        return 0;
        } else if (k != -ENOENT) {
                log_error_errno(k, "Failed to read %s: %m", m->settings.config_path);
                return sd_bus_error_set_errnof(
                        error, k, "Cannot read the configuration file %s: %s; nothing was changed.",
                        m->settings.config_path, strerror(-k));
        }

        k = write_file_atomic(m->settings.config_path, text, size, 0644);
        if (k < 0) {
                log_error_errno(k, "Failed to write the configuration file %s: %m", m->settings.config_path);
                return sd_bus_error_set_errnof(
                        error, k, "Cannot write the configuration file %s: %s; nothing was changed.",
                        m->settings.config_path, strerror(-k));
        }
        return 1;
}

/* Puts back what the config path held after a failed apply wrote over it. */
static void restore_config(Manager *m, const PreviousFile *previous) {
        int k;

        if (previous->exists)
                k = write_file_atomic(m->settings.config_path, previous->text, previous->size, 0644);
        else
                k = unlink(m->settings.config_path) < 0 ? negative_errno() : 0;
        if (k < 0)
                log_error_errno(k, "Failed to restore %s as it was: %m", m->settings.config_path);
}

static int apply(Manager *m, ApplyKind kind, const char *text, size_t size, const char *origin,
                 sd_bus_error *error, uint64_t *ret_generation) {
        _cleanup_(previous_file_done) PreviousFile previous = { 0 };
        _cleanup_(config_unrefp) Config *config = NULL;
        char sha[SHA256_HEX_SIZE];
        const GenerationInfo *info;
        bool wrote = false;
        Problems problems;
        int k;

        sha256_hex(text, size, sha);

        /* Nothing new: no generation, no signal, no notification. The file may still need writing. */
        if (m->config && streq(sha, m->sha256)) {
                if (kind == APPLY_DEPLOY || kind == APPLY_ROLLBACK) {
                        k = write_config(m, text, size, sha, &previous, error);
                        if (k < 0)
                                return k;
                }
                /* The file is fine again: a fallback to this very generation ends here. */
                m->config_file_valid = true;
                if (m->fallback) {
                        m->fallback = false;
                        manager_update_status(m);
                }
                (void) manager_check_disk(m);
                *ret_generation = m->generation;
                return 0;
        }

        k = problems_init(&problems, m->settings.config_path);
        if (k < 0)
                return k;

        notify_reloading();

        k = validate(m, text, size, &problems, &config);
        if (k < 0) {
                if (k == -EINVAL || problems_has_errors(&problems)) {
                        log_rejected(m, &problems,
                                     kind == APPLY_DEPLOY     ? "A deployed configuration"
                                     : kind == APPLY_ROLLBACK ? "The rolled-back configuration"
                                                              : "The configuration file");
                        k = set_invalid_config(error, &problems);
                } else
                        k = sd_bus_error_set_errnof(error, k, "Failed to validate the configuration: %s",
                                                    strerror(-k));
                m->reload_failure_total++;
                if (kind == APPLY_RELOAD)
                        m->config_file_valid = false;
                goto finish;
        }

        if (kind == APPLY_DEPLOY || kind == APPLY_ROLLBACK) {
                k = write_config(m, text, size, sha, &previous, error);
                if (k < 0) {
                        m->reload_failure_total++;
                        goto finish;
                }
                wrote = k > 0;
        }

        k = generation_store_append(m->generations, text, size, origin, config->environment,
                                    now(CLOCK_REALTIME), &info);
        if (k < 0) {
                log_error_errno(k, "Failed to record a new generation in %s: %m",
                                generation_store_path(m->generations));
                if (wrote)
                        restore_config(m, &previous);
                k = sd_bus_error_set_errnof(error, k,
                                            "Cannot record the new generation: %s; nothing was changed.",
                                            strerror(-k));
                m->reload_failure_total++;
                goto finish;
        }

        k = swap_in(m, TAKE_PTR(config), info, false);
        if (k < 0)
                goto finish;
        m->reload_success_total++;
        m->config_file_valid = true;
        log_applied(m, kind, origin);

        (void) manager_check_disk(m);
        (void) manager_emit_changes(m, "Environment", "Generation", "Mappings", "LastReloadUSec", NULL);
        (void) manager_emit_reloaded(m);
        *ret_generation = m->generation;

finish:
        problems_done(&problems);
        manager_notify_status(m, "READY=1");
        return k;
}

int manager_reload(Manager *m, sd_bus_error *error, uint64_t *ret_generation) {
        _cleanup_free_ char *text = NULL;
        Problems problems;
        size_t size;
        int k;

        k = problems_init(&problems, m->settings.config_path);
        if (k < 0)
                return k;

        k = config_read_file(m->settings.config_path, &problems, &text, &size);
        if (k < 0) {
                if (problems_has_errors(&problems)) {
                        notify_reloading();
                        log_rejected(m, &problems, "The configuration file");
                        k = set_invalid_config(error, &problems);
                        m->reload_failure_total++;
                        m->config_file_valid = false;
                        manager_notify_status(m, "READY=1");
                }
                problems_done(&problems);
                return k;
        }
        problems_done(&problems);

        return apply(m, APPLY_RELOAD, text, size, "reload", error, ret_generation);
}

int manager_deploy(Manager *m, const char *text, const char *origin, sd_bus_error *error,
                   uint64_t *ret_generation) {
        return apply(m, APPLY_DEPLOY, text, strlen(text), origin, error, ret_generation);
}

int manager_rollback(Manager *m, uint64_t generation, sd_bus_error *error, uint64_t *ret_generation) {
        _cleanup_free_ char *text = NULL, *origin = NULL;
        size_t size;
        int k;

        if (generation == 0) {
                if (m->generation <= 1)
                        return sd_bus_error_set(error, QUALITY_ERROR_NO_SUCH_GENERATION,
                                                "There is no generation before the active one.");
                generation = m->generation - 1;
        }

        if (!generation_store_find(m->generations, generation))
                return sd_bus_error_setf(error, QUALITY_ERROR_NO_SUCH_GENERATION,
                                         "Generation %" PRIu64 " does not exist or was pruned.", generation);

        k = generation_store_read(m->generations, generation, &text, &size);
        if (k < 0)
                return sd_bus_error_setf(error, QUALITY_ERROR_NO_SUCH_GENERATION,
                                         "Generation %" PRIu64 " cannot be read: %s.", generation,
                                         strerror(-k));

        if (asprintf(&origin, "rollback:%" PRIu64, generation) < 0)
                return -ENOMEM;

        return apply(m, APPLY_ROLLBACK, text, size, origin, error, ret_generation);
}

/* The workflows root is fixed at start-up: option or variable, else the root_path of the config file (or
 * of the newest generation if the file is unusable), else the default. */
static int decide_workflows_root(Manager *m, const char *file_text, size_t file_size) {
        _cleanup_free_ char *generation_text = NULL;
        const GenerationInfo *newest;
        size_t size;

        if (m->settings.workflows_root) {
                m->workflows_root = strdup(m->settings.workflows_root);
                return m->workflows_root ? 0 : -ENOMEM;
        }

        newest = generation_store_newest(m->generations);
        for (unsigned attempt = 0; attempt < 2; attempt++) {
                _cleanup_(config_unrefp) Config *c = NULL;
                const char *text = file_text;
                Problems scratch;

                size = file_size;
                if (attempt == 1) {
                        if (!newest || generation_store_read(m->generations, newest->generation,
                                                             &generation_text, &size) < 0)
                                break;
                        text = generation_text;
                }
                if (!text)
                        continue;

                if (problems_init(&scratch, m->settings.config_path) < 0)
                        return -ENOMEM;
                (void) config_load_buffer(text, size, &scratch, &c);
                problems_done(&scratch);

                if (c && c->root_path) {
                        if (c->root_path[0] == '/')
                                m->workflows_root = strdup(c->root_path);
                        else if (asprintf(&m->workflows_root, "%s/%s", m->config_dir, c->root_path) < 0)
                                m->workflows_root = NULL;
                        return m->workflows_root ? 0 : -ENOMEM;
                }
        }

        m->workflows_root = strdup(QUALITY_DEFAULT_WORKFLOWS_ROOT);
        return m->workflows_root ? 0 : -ENOMEM;
}

/* Serves the newest generation because the file is unusable: Status degraded. Its workflows are checked
 * afterwards like any served config's; a generation that no longer loads at all is not served. */
static int load_fallback(Manager *m) {
        _cleanup_(config_unrefp) Config *config = NULL;
        _cleanup_free_ char *text = NULL;
        const GenerationInfo *newest;
        Problems problems;
        size_t size;
        int k;

        newest = generation_store_newest(m->generations);
        if (!newest) {
                log_warning("No generation was ever applied; starting without a configuration (unhealthy).");
                return 0;
        }

        k = generation_store_read(m->generations, newest->generation, &text, &size);
        if (k < 0)
                return log_error_errno(k, "Failed to read generation %" PRIu64 ": %m", newest->generation);

        k = problems_init(&problems, m->settings.config_path);
        if (k < 0)
                return k;
        k = config_load_buffer(text, size, &problems, &config);
        if (k >= 0 && problems_has_errors(&problems))
                k = -EINVAL;
        problems_done(&problems);
        if (k < 0)
                return log_error_errno(k, "Generation %" PRIu64 " cannot be loaded any more: %m",
                                       newest->generation);

        k = swap_in(m, TAKE_PTR(config), newest, true);
        if (k < 0)
                return k;
        log_warning("Serving the last applied generation %" PRIu64
                    " (degraded) until a valid configuration is "
                    "deployed or reloaded.",
                    m->generation);
        return 0;
}

int manager_load_startup(Manager *m) {
        _cleanup_(config_unrefp) Config *config = NULL;
        _cleanup_free_ char *text = NULL;
        const GenerationInfo *newest, *info;
        char sha[SHA256_HEX_SIZE];
        Problems problems;
        size_t size = 0;
        int k;

        k = generation_store_open(m->settings.state_dir, m->settings.keep_generations, &m->generations);
        if (k < 0)
                return log_error_errno(k, "Failed to open the generations in %s: %m", m->settings.state_dir);

        k = problems_init(&problems, m->settings.config_path);
        if (k < 0)
                return k;

        k = config_read_file(m->settings.config_path, &problems, &text, &size);
        if (k == -ENOMEM)
                goto finish;

        k = decide_workflows_root(m, text, size);
        if (k < 0)
                goto finish;
        if (workflow_checker_new(m->workflows_root, &m->checker) < 0)
                log_warning("The workflows root %s cannot be opened; every workflow counts as missing.",
                            m->workflows_root);

        if (text)
                k = validate(m, text, size, &problems, &config);
        m->config_file_valid = text && k >= 0;
        if (!m->config_file_valid) {
                if (k == -ENOMEM)
                        goto finish;
                if (!text || k == -EINVAL || problems_has_errors(&problems))
                        log_rejected(m, &problems, "The configuration file");
                else
                        log_error_errno(k, "Failed to validate %s: %m", m->settings.config_path);
                m->reload_failure_total++;
                k = load_fallback(m);
                goto finish;
        }

        sha256_hex(text, size, sha);
        newest = generation_store_newest(m->generations);
        if (newest && streq(newest->sha256, sha))
                info = newest;
        else {
                k = generation_store_append(m->generations, text, size, "startup", config->environment,
                                            now(CLOCK_REALTIME), &info);
                if (k < 0) {
                        log_error_errno(k, "Failed to record the configuration as a new generation: %m");
                        goto finish;
                }
        }

        k = swap_in(m, TAKE_PTR(config), info, false);
        if (k < 0)
                goto finish;
        m->reload_success_total++;
        if (info != newest)
                log_applied(m, APPLY_STARTUP, "startup");
        else
                log_info("Resuming generation %" PRIu64 " of environment '%s'.", m->generation,
                         m->config->environment);

finish:
        problems_done(&problems);
        if (k < 0)
                return k;
        return manager_check_workflows(m);
}

int manager_check_disk(Manager *m) {
        _cleanup_free_ char *text = NULL;
        char sha[SHA256_HEX_SIZE] = "";
        char generation[DECIMAL_STR_MAX(uint64_t)];
        bool changed;
        size_t size;
        int k;

        /* Something too large or other than a regular file at the path is a change too. */
        k = read_full_file(m->settings.config_path, CONFIG_SIZE_MAX, &text, &size);
        if (k >= 0)
                sha256_hex(text, size, sha);
        else if (!IN_SET(k, -ENOENT, -EFBIG, -EISDIR, -EBADFD))
                return log_warning_errno(k, "Failed to read %s: %m", m->settings.config_path);

        changed = m->config ? !streq(sha, m->sha256) : k != -ENOENT;
        if (changed == m->config_changed_on_disk)
                return 0;

        m->config_changed_on_disk = changed;
        snprintf(generation, sizeof(generation), "%" PRIu64, m->generation);
        if (!m->config)
                log_event_fields(LOG_NOTICE, QUALITY_MESSAGE_CONFIG_CHANGED_ON_DISK,
                                 LOG_FIELDS(LOG_FIELD("QUALITY_CONFIG_PATH", m->settings.config_path),
                                            LOG_FIELD("QUALITY_CONFIG_SHA256", *sha ? sha : NULL)),
                                 "%s %s; no configuration is active, a reload or deploy applies one.",
                                 m->settings.config_path, changed ? "appeared" : "is gone");
        else
                log_event_fields(
                        LOG_NOTICE, QUALITY_MESSAGE_CONFIG_CHANGED_ON_DISK,
                        LOG_FIELDS(LOG_FIELD("QUALITY_CONFIG_PATH", m->settings.config_path),
                                   LOG_FIELD("QUALITY_GENERATION", generation),
                                   LOG_FIELD("QUALITY_CONFIG_SHA256", *sha ? sha : NULL)),
                        changed ? "%s no longer matches the active generation %s; only a reload applies it."
                                : "%s matches the active generation %s again.",
                        m->settings.config_path, generation);
        return manager_emit_changes(m, "ConfigChangedOnDisk", NULL);
}
