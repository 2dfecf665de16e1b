/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SHA-256 (FIPS 180-4), self-contained: one-shot and incremental hashing and the hex form of a digest. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define SHA256_DIGEST_SIZE 32U
#define SHA256_BLOCK_SIZE 64U
/* Two hex digits per byte plus the terminating NUL. */
#define SHA256_HEX_SIZE (SHA256_DIGEST_SIZE * 2U + 1U)

typedef struct Sha256Context {
        uint32_t state[8];
        uint64_t length; /* bytes hashed so far */
        uint8_t block[SHA256_BLOCK_SIZE];
        size_t block_used;
} Sha256Context;

void sha256_init(Sha256Context *ctx);
void sha256_update(Sha256Context *ctx, const void *data, size_t size);
/* Writes the digest and wipes the context; call sha256_init() before reusing it. */
void sha256_finish(Sha256Context *ctx, uint8_t ret[SHA256_DIGEST_SIZE]);

void sha256_buffer(const void *data, size_t size, uint8_t ret[SHA256_DIGEST_SIZE]);
/* Lowercase hex, NUL-terminated. */
void sha256_to_hex(const uint8_t digest[SHA256_DIGEST_SIZE], char ret[SHA256_HEX_SIZE]);
