/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The append-only history of applied configurations in STATE_DIR/generations/, with retention. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "macro.h"
#include "sha256.h"

typedef struct GenerationInfo {
        uint64_t generation;
        uint64_t applied_usec; /* CLOCK_REALTIME µs */
        char sha256[SHA256_HEX_SIZE];
        char *origin;
        char *environment;
} GenerationInfo;

typedef struct GenerationStore GenerationStore;

/* Opens STATE_DIR/generations/, creating it if needed, and loads the metadata of every complete generation:
 * NNNNNNNN.yaml beside a valid NNNNNNNN.json, which is written last. Anything else in the directory
 * (temporary files, a yaml without metadata, metadata that does not parse or names another number) is
 * ignored. The yaml is not hashed here, only when it is read, so that opening stays cheap. keep (>= 1) is
 * how many generations appends leave behind; opening never deletes anything. */
int generation_store_open(const char *state_dir, unsigned keep, GenerationStore **ret);
GenerationStore *generation_store_free(GenerationStore *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(GenerationStore *, generation_store_free);

/* The generations directory, for messages. */
const char *generation_store_path(const GenerationStore *s) _pure_;
unsigned generation_store_keep(const GenerationStore *s) _pure_;

/* The generations known, oldest first. A GenerationInfo stays valid until it is pruned or the store is
 * freed. */
size_t generation_store_count(const GenerationStore *s) _pure_;
/* NULL when index is out of range. */
const GenerationInfo *generation_store_get(const GenerationStore *s, size_t index) _pure_;
/* NULL when the generation is unknown or pruned. */
const GenerationInfo *generation_store_find(const GenerationStore *s, uint64_t generation) _pure_;
/* NULL when the store is empty. */
const GenerationInfo *generation_store_newest(const GenerationStore *s) _pure_;

/* Records text as generation newest + 1 (1 in an empty store): writes NNNNNNNN.yaml, then its metadata
 * NNNNNNNN.json, each atomically and durably, then prunes the oldest generations beyond keep (metadata
 * first, so that a crash leaves an ignored yaml rather than a generation without content). On failure
 * nothing is added and the files of the new generation are removed. origin and environment may be NULL
 * for "". Fails with -EFBIG for text over CONFIG_SIZE_MAX, -E2BIG when the metadata would exceed
 * GENERATION_METADATA_SIZE_MAX. */
int generation_store_append(GenerationStore *s, const char *text, size_t size, const char *origin,
                            const char *environment, uint64_t applied_usec, const GenerationInfo **ret);

/* Reads a generation's text, NUL-terminated, and checks it against the sha256 of its metadata: -ENOENT
 * for an unknown or pruned generation (or a vanished file), -EBADMSG when the text does not match.
 * ret_size may be NULL (then a text holding a NUL byte is -EBADMSG). */
int generation_store_read(const GenerationStore *s, uint64_t generation, char **ret_text, size_t *ret_size);
