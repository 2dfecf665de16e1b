/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Loads a quality configuration from YAML text with libyaml's event API. */
#pragma once

#include <stddef.h>

#include "config.h"
#include "problem.h"

/* Parses YAML text into a Config, recording every problem of the text itself (syntax, schema, types,
 * ranges, limits) in problems. Workflow files are not looked at here; see config-validate.h.
 *
 * Returns 0 and a Config whenever the document could be read to its end, even if problems has errors,
 * so that later passes can report more; the caller must not serve a Config whose problems have errors.
 * Returns -EINVAL (and no Config) when the text could not be read at all (syntax, size, encoding).
 * Returns -ENOMEM on allocation failure. */
int config_load_buffer(const char *text, size_t size, Problems *problems, Config **ret);

/* Reads a file of at most CONFIG_SIZE_MAX bytes into memory (NUL-terminated). A file that is larger
 * is reported as a too-large problem and -EFBIG returned; other failures return a negative errno. */
int config_read_file(const char *path, Problems *problems, char **ret_text, size_t *ret_size);
