/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests of SHA-256: the FIPS 180-4 example messages, padding boundaries, and incremental hashing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "sha256.h"
#include "tap.h"

#define MILLION 1000000U
#define SPLIT_BUFFER_SIZE 200U

static const char *hex_of_buffer(const void *data, size_t size) {
        static char hex[SHA256_HEX_SIZE];
        uint8_t digest[SHA256_DIGEST_SIZE];

        sha256_buffer(data, size, digest);
        sha256_to_hex(digest, hex);
        return hex;
}

static void test_fips_vectors(void) {
        static const struct {
                const char *message;
                const char *digest;
        } vectors[] = {
                { "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
                { "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
                /* 448 bits: the length field no longer fits the first block. */
                { "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
                  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
                /* 896 bits. */
                { "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
                  "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
                  "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1" },
        };

        for (size_t i = 0; i < ELEMENTSOF(vectors); i++)
                is_str(hex_of_buffer(vectors[i].message, strlen(vectors[i].message)), vectors[i].digest,
                       "FIPS 180-4 vector of %zu bytes", strlen(vectors[i].message));

        is_str(hex_of_buffer(NULL, 0), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
               "a NULL buffer of size 0 hashes as the empty message");
}

static void test_million_a(void) {
        _cleanup_free_ char *a = malloc(MILLION);
        uint8_t digest[SHA256_DIGEST_SIZE];
        char hex[SHA256_HEX_SIZE];
        Sha256Context ctx;

        if (!ok(a, "allocating one million bytes"))
                return;
        memset(a, 'a', MILLION);
        is_str(hex_of_buffer(a, MILLION), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
               "one million 'a' in one call");

        /* 1000 updates of 1000 bytes: never aligned with the 64-byte blocks. */
        sha256_init(&ctx);
        for (unsigned i = 0; i < 1000; i++)
                sha256_update(&ctx, a + i * 1000U, 1000);
        sha256_finish(&ctx, digest);
        sha256_to_hex(digest, hex);
        is_str(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
               "one million 'a' in updates of 1000 bytes");
}

/* Lengths around the padding boundaries: 55 bytes still fit the length field in one block, 56 do not. */
static void test_padding_boundaries(void) {
        static const struct {
                size_t length;
                const char *digest;
        } vectors[] = {
                { 55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318" },
                { 56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a" },
                { 63, "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34" },
                { 64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb" },
                { 65, "635361c48bb9eab14198e76ea8ab7f1a41685d6ad62aa9146d301d4f17eb0ae0" },
                { 119, "31eba51c313a5c08226adf18d4a359cfdfd8d2e816b13f4af952f7ea6584dcfb" },
                { 120, "2f3d335432c70b580af0e8e1b3674a7c020d683aa5f73aaaedfdc55af904c21c" },
        };
        char a[128];

        memset(a, 'a', sizeof a);
        for (size_t i = 0; i < ELEMENTSOF(vectors); i++)
                is_str(hex_of_buffer(a, vectors[i].length), vectors[i].digest, "%zu times 'a'",
                       vectors[i].length);
}

static void test_incremental(void) {
        uint8_t buffer[SPLIT_BUFFER_SIZE], expected[SHA256_DIGEST_SIZE], digest[SHA256_DIGEST_SIZE];
        unsigned mismatches = 0;
        Sha256Context ctx;

        for (size_t i = 0; i < sizeof buffer; i++)
                buffer[i] = (uint8_t) (i * 7U + 3U);
        sha256_buffer(buffer, sizeof buffer, expected);

        for (size_t split = 0; split <= sizeof buffer; split++) {
                sha256_init(&ctx);
                sha256_update(&ctx, buffer, split);
                sha256_update(&ctx, buffer + split, sizeof buffer - split);
                sha256_finish(&ctx, digest);
                if (memcmp(digest, expected, sizeof digest) != 0) {
                        printf("# split at %zu differs\n", split);
                        mismatches++;
                }
        }
        is_int(mismatches, 0, "two updates split at every offset of %u bytes equal one call",
               SPLIT_BUFFER_SIZE);

        mismatches = 0;
        for (size_t first = 0; first <= sizeof buffer; first++)
                for (size_t second = first; second <= sizeof buffer; second++) {
                        sha256_init(&ctx);
                        sha256_update(&ctx, buffer, first);
                        sha256_update(&ctx, buffer + first, second - first);
                        sha256_update(&ctx, buffer + second, sizeof buffer - second);
                        sha256_finish(&ctx, digest);
                        if (memcmp(digest, expected, sizeof digest) != 0)
                                mismatches++;
                }
        is_int(mismatches, 0, "three updates split at every pair of offsets equal one call");

        sha256_init(&ctx);
        for (size_t i = 0; i < sizeof buffer; i++)
                sha256_update(&ctx, buffer + i, 1);
        sha256_finish(&ctx, digest);
        ok(memcmp(digest, expected, sizeof digest) == 0, "one byte at a time equals one call");

        /* A finished context is wiped; init makes it usable again. */
        sha256_init(&ctx);
        sha256_update(&ctx, "abc", 3);
        sha256_finish(&ctx, digest);
        sha256_init(&ctx);
        sha256_update(&ctx, buffer, sizeof buffer);
        sha256_finish(&ctx, digest);
        ok(memcmp(digest, expected, sizeof digest) == 0, "a context can be reused after init");
}

static void test_hex(void) {
        uint8_t digest[SHA256_DIGEST_SIZE];
        char hex[SHA256_HEX_SIZE];

        for (size_t i = 0; i < sizeof digest; i++)
                digest[i] = (uint8_t) (i * 8U + 7U);
        memset(hex, 'x', sizeof hex);
        sha256_to_hex(digest, hex);
        is_str(hex, "070f171f272f373f474f575f676f777f878f979fa7afb7bfc7cfd7dfe7eff7ff",
               "hex form is lowercase, two digits per byte, NUL-terminated");
        is_int(strlen(hex), SHA256_HEX_SIZE - 1, "hex form is %u characters", SHA256_HEX_SIZE - 1);
}

int main(void) {
        test_fips_vectors();
        test_million_a();
        test_padding_boundaries();
        test_incremental();
        test_hex();
        return tap_done();
}
