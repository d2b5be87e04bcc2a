/*
 * The real requests of the shared vectors file (path in TZWM_VECTORS): each decodes to its expected
 * kind, chain id, level, round and digest; each strict prefix and each one-byte extension is
 * refused with the right error.
 */
#include "tezos.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cjson/cJSON.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct vector {
    const char *name, *kind, *chain_id, *digest;
    int level, round, slot; /* slot -1: the file gives none */
    uint8_t bytes[512];
    size_t len;
};

static struct vector vectors[64];
static size_t vector_count;
static cJSON *document;

static char *read_file(const char *path)
{
    FILE *file = fopen(path, "rb");
    char *text = NULL;
    long size;

    if (file == NULL)
        return NULL;
    if (fseek(file, 0, SEEK_END) == 0 && (size = ftell(file)) >= 0 &&
        fseek(file, 0, SEEK_SET) == 0 && (text = calloc(1, (size_t)size + 1)) != NULL &&
        fread(text, 1, (size_t)size, file) != (size_t)size) {
        free(text);
        text = NULL;
    }
    fclose(file);
    return text;
}

static const char *string_field(const cJSON *object, const char *name)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(object, name);

    assert_true(cJSON_IsString(item));
    return item->valuestring;
}

static int int_field(const cJSON *object, const char *name, int missing)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(object, name);

    if (item == NULL)
        return missing;
    assert_true(cJSON_IsNumber(item));
    return item->valueint;
}

static void hex_to_bytes(const char *hex, uint8_t *bytes, size_t size, size_t *len)
{
    size_t digits = strlen(hex);

    assert_int_equal(digits % 2, 0);
    assert_true(digits / 2 <= size);
    for (size_t i = 0; i < digits / 2; i++) {
        unsigned value;

        assert_int_equal(sscanf(hex + 2 * i, "%2x", &value), 1);
        bytes[i] = (uint8_t)value;
    }
    *len = digits / 2;
}

static int load_vectors(void **state)
{
    const char *path = getenv("TZWM_VECTORS");
    char *text;
    const cJSON *requests, *request;

    (void)state;
    if (path == NULL || (text = read_file(path)) == NULL) {
        fprintf(stderr, "cannot read the vectors file (TZWM_VECTORS=%s)\n", path ? path : "unset");
        return -1;
    }
    document = cJSON_Parse(text);
    free(text);
    requests = cJSON_GetObjectItemCaseSensitive(document, "requests");
    if (!cJSON_IsArray(requests))
        return -1;
    cJSON_ArrayForEach(request, requests)
    {
        struct vector *vector = &vectors[vector_count++];

        if (vector_count > sizeof vectors / sizeof vectors[0])
            return -1;
        vector->name = string_field(request, "name");
        vector->kind = string_field(request, "kind");
        vector->chain_id = string_field(request, "chain_id");
        vector->digest = string_field(request, "digest");
        vector->level = int_field(request, "level", -1);
        vector->round = int_field(request, "round", -1);
        vector->slot = int_field(request, "slot", -1);
        hex_to_bytes(string_field(request, "hex"), vector->bytes, sizeof vector->bytes,
                     &vector->len);
    }
    return vector_count > 0 ? 0 : -1;
}

static int free_vectors(void **state)
{
    (void)state;
    cJSON_Delete(document);
    return 0;
}

static void test_vectors_decode(void **state)
{
    (void)state;
    for (size_t i = 0; i < vector_count; i++) {
        const struct vector *vector = &vectors[i];
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
    for (size_t i = 0; i < vector_count; i++) {
        for (size_t len = 0; len < vectors[i].len; len++) {
            struct tezos_request_result result = tezos_request_decode(vectors[i].bytes, len);
            enum tezos_error expected = len == 0    ? TEZOS_ERR_EMPTY
                                        : len == 32 ? TEZOS_ERR_DIGEST
                                                    : TEZOS_ERR_TRUNCATED;

            if (result.error != expected)
                fail_msg("%s cut to %zu bytes: %s", vectors[i].name, len, result.reason);
            assert_true(strlen(result.reason) > 0);
        }
    }
}

/* Each vector with one byte appended, whatever its value. */
static void test_vectors_trailing(void **state)
{
    static const uint8_t appended[] = {0x00, 0x01, 0x7f, 0x80, 0xff};

    (void)state;
    for (size_t i = 0; i < vector_count; i++) {
        for (size_t j = 0; j < sizeof appended; j++) {
            uint8_t bytes[513];
            struct tezos_request_result result;

            memcpy(bytes, vectors[i].bytes, vectors[i].len);
            bytes[vectors[i].len] = appended[j];
            result = tezos_request_decode(bytes, vectors[i].len + 1);
            if (result.error != TEZOS_ERR_TRAILING)
                fail_msg("%s + 0x%02x: %s", vectors[i].name, appended[j], result.reason);
        }
    }
}

/* A1 and A2: two different blocks at one level and round, hence different digests. */
static void test_vectors_double_baking_differs(void **state)
{
    const struct vector *a1 = NULL, *a2 = NULL;
    struct tezos_request_result first, second;

    (void)state;
    for (size_t i = 0; i < vector_count; i++) {
        if (strcmp(vectors[i].name, "A1") == 0)
            a1 = &vectors[i];
        if (strcmp(vectors[i].name, "A2") == 0)
            a2 = &vectors[i];
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
