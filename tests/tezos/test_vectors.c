/*
 * The real requests of the shared vectors file (path in TZWM_VECTORS): each decodes to its expected
 * kind, chain id, level, round and digest; each strict prefix and each one-byte extension is
 * refused with the right error.
 */
#include "tezos.h"
#include "vectors.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct vectors all;

static int load_vectors(void **state)
{
    (void)state;
    return vectors_load(&all);
}

static int free_vectors(void **state)
{
    (void)state;
    vectors_free(&all);
    return 0;
}

static void test_vectors_decode(void **state)
{
    (void)state;
    for (size_t i = 0; i < all.count; i++) {
        const struct vector *vector = &all.items[i];
        struct tezos_request_result result = tezos_request_decode(vector->bytes, vector->len);
        char chain_id[TEZOS_BASE58_TEXT_MAX], digest[TEZOS_BASE58_TEXT_MAX];
        uint8_t expected_digest[TEZOS_DIGEST_SIZE];

        if (result.error != TEZOS_OK)
            fail_msg("%s: %s", vector->name, result.reason);
        assert_string_equal(tezos_kind_name(result.request.kind), vector->kind);
        assert_true(tezos_kind_is_consensus(result.request.kind));
        assert_int_equal(tezos_base58check_encode(TEZOS_B58_CHAIN_ID, result.request.chain_id,
                                                  chain_id, sizeof chain_id),
                         TEZOS_OK);
        assert_string_equal(chain_id, vector->chain_id);
        assert_int_equal(result.request.level, vector->level);
        assert_int_equal(result.request.round, vector->round);
        assert_int_equal(result.request.has_slot, result.request.kind != TEZOS_KIND_BLOCK);
        if (vector->slot >= 0)
            assert_int_equal(result.request.slot, vector->slot);
        assert_int_equal(tezos_base58check_encode(TEZOS_B58_VALUE_HASH, result.request.digest,
                                                  digest, sizeof digest),
                         TEZOS_OK);
        assert_string_equal(digest, vector->digest);
        /* The digest is blake2b-256 of the whole request. */
        tezos_blake2b_256(vector->bytes, vector->len, expected_digest);
        assert_memory_equal(result.request.digest, expected_digest, TEZOS_DIGEST_SIZE);
    }
}

/* Every strict prefix: empty, a digest-sized 32 bytes, or truncated. */
static void test_vectors_truncated(void **state)
{
    (void)state;
    for (size_t i = 0; i < all.count; i++) {
        for (size_t len = 0; len < all.items[i].len; len++) {
            struct tezos_request_result result = tezos_request_decode(all.items[i].bytes, len);
            enum tezos_error expected = len == 0    ? TEZOS_ERR_EMPTY
                                        : len == 32 ? TEZOS_ERR_DIGEST
                                                    : TEZOS_ERR_TRUNCATED;

            if (result.error != expected)
                fail_msg("%s cut to %zu bytes: %s", all.items[i].name, len, result.reason);
            assert_true(strlen(result.reason) > 0);
        }
    }
}

/* Each vector with one byte appended, whatever its value. */
static void test_vectors_trailing(void **state)
{
    static const uint8_t appended[] = {0x00, 0x01, 0x7f, 0x80, 0xff};

    (void)state;
    for (size_t i = 0; i < all.count; i++) {
        for (size_t j = 0; j < sizeof appended; j++) {
            uint8_t bytes[513];
            struct tezos_request_result result;

            memcpy(bytes, all.items[i].bytes, all.items[i].len);
            bytes[all.items[i].len] = appended[j];
            result = tezos_request_decode(bytes, all.items[i].len + 1);
            if (result.error != TEZOS_ERR_TRAILING)
                fail_msg("%s + 0x%02x: %s", all.items[i].name, appended[j], result.reason);
        }
    }
}

/* A1 and A2: two different blocks at one level and round, hence different digests. */
static void test_vectors_double_baking_differs(void **state)
{
    const struct vector *a1 = NULL, *a2 = NULL;
    struct tezos_request_result first, second;

    (void)state;
    for (size_t i = 0; i < all.count; i++) {
        if (strcmp(all.items[i].name, "A1") == 0)
            a1 = &all.items[i];
        if (strcmp(all.items[i].name, "A2") == 0)
            a2 = &all.items[i];
    }
    assert_non_null(a1);
    assert_non_null(a2);
    first = tezos_request_decode(a1->bytes, a1->len);
    second = tezos_request_decode(a2->bytes, a2->len);
    assert_int_equal(first.request.level, second.request.level);
    assert_int_equal(first.request.round, second.request.round);
    assert_memory_not_equal(first.request.digest, second.request.digest, TEZOS_DIGEST_SIZE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors_decode),
        cmocka_unit_test(test_vectors_truncated),
        cmocka_unit_test(test_vectors_trailing),
        cmocka_unit_test(test_vectors_double_baking_differs),
    };

    return cmocka_run_group_tests(tests, load_vectors, free_vectors);
}
