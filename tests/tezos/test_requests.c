/*
 * Constructed requests for what the real vectors lack (locked rounds, seed nonce hashes, DAL
 * bitsets, extreme levels and rounds) and every refusal of tezos_request_decode.
 */
#include "request_builder.h"
#include "tezos.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <stdint.h>
#include <string.h>

static struct tezos_request decode_ok(const uint8_t *bytes, size_t len)
{
    struct tezos_request_result result = tezos_request_decode(bytes, len);

    if (result.error != TEZOS_OK)
        fail_msg("refused: %s", result.reason);
    assert_string_equal(result.reason, "");
    return result.request;
}

static void expect_refused(const uint8_t *bytes, size_t len, enum tezos_error expected)
{
    struct tezos_request_result result = tezos_request_decode(bytes, len);

    if (result.error != expected)
        fail_msg("expected \"%s\", got \"%s\" (%s)", tezos_error_text(expected),
                 tezos_error_text(result.error), result.reason);
    assert_true(strlen(result.reason) > 0);
    /* Nothing of a refused request is reported as decoded. */
    assert_int_equal(result.request.level, 0);
    assert_int_equal(result.request.round, 0);
}

/* Every strict prefix of a valid request is refused (a digest at 32 bytes), and so is the
 * request with a byte appended (bytes holds one more byte). */
static void expect_cuts_and_extension_refused(uint8_t *bytes, size_t len)
{
    for (size_t cut = 1; cut < len; cut++)
        expect_refused(bytes, cut, cut == 32 ? TEZOS_ERR_DIGEST : TEZOS_ERR_TRUNCATED);
    bytes[len] = 0x01;
    expect_refused(bytes, len + 1, TEZOS_ERR_TRAILING);
}

static void put_be32(uint8_t *at, uint32_t value)
{
    at[0] = value >> 24;
    at[1] = value >> 16;
    at[2] = value >> 8;
    at[3] = value;
}

/* ---- Blocks ---- */

static void test_block_defaults(void **state)
{
    struct block_fields fields = block_defaults();
    uint8_t bytes[BUILDER_MAX];
    size_t len = build_block(&fields, bytes);
    struct tezos_request request;
    uint8_t digest[TEZOS_DIGEST_SIZE];

    (void)state;
    assert_int_equal(len, 198); /* the size of a normal block request */
    request = decode_ok(bytes, len);
    assert_int_equal(request.kind, TEZOS_KIND_BLOCK);
    assert_memory_equal(request.chain_id, fields.chain_id, 4);
    assert_int_equal(request.level, 2);
    assert_int_equal(request.round, 0);
    assert_false(request.has_slot);
    assert_false(request.has_locked_round);
    assert_false(request.has_seed_nonce_hash);
    tezos_blake2b_256(bytes, len, digest);
    assert_memory_equal(request.digest, digest, sizeof digest);
}

/* A re-proposal: locked round 1, payload first proposed at round 1, now proposed at round 3. */
static void test_block_locked_round(void **state)
{
    struct block_fields fields = block_defaults();
    uint8_t bytes[BUILDER_MAX];
    size_t len;
    struct tezos_request request;

    (void)state;
    fields.level = 1234567;
    fields.has_locked_round = true;
    fields.locked_round = 1;
    fields.payload_round = 1;
    fields.round = 3;
    fields.predecessor_round = 5;
    len = build_block(&fields, bytes);
    assert_int_equal(len, BLOCK_SIZE(37, false));
    assert_int_equal(bytes[86], 37); /* F */
    request = decode_ok(bytes, len);
    assert_int_equal(request.level, 1234567);
    assert_int_equal(request.round, 3); /* the fitness round, not the payload round */
    assert_int_equal(request.payload_round, 1);
    assert_true(request.has_locked_round);
    assert_int_equal(request.locked_round, 1);
}

static void test_block_seed_nonce_hash(void **state)
{
    struct block_fields fields = block_defaults();
    uint8_t bytes[BUILDER_MAX];
    size_t len;
    struct tezos_request request;

    (void)state;
    fields.has_seed_nonce_hash = true;
    fields.level = 4096;
    fields.round = 1;
    len = build_block(&fields, bytes);
    assert_int_equal(len, 230);
    request = decode_ok(bytes, len);
    assert_true(request.has_seed_nonce_hash);
    assert_int_equal(request.level, 4096);
    assert_int_equal(request.round, 1);
    /* Each cut of it, inside the seed nonce hash too, is a truncation. */
    expect_cuts_and_extension_refused(bytes, len);
}

static void test_block_high_level_and_round(void **state)
{
    struct block_fields fields = block_defaults();
    uint8_t bytes[BUILDER_MAX];
    struct tezos_request request;

    (void)state;
    fields.level = INT32_MAX;
    fields.round = INT32_MAX;
    fields.payload_round = INT32_MAX - 1;
    fields.has_locked_round = true;
    fields.locked_round = INT32_MAX - 1;
    fields.predecessor_round = INT32_MAX;
    request = decode_ok(bytes, build_block(&fields, bytes));
    assert_int_equal(request.level, INT32_MAX);
    assert_int_equal(request.round, INT32_MAX);
    assert_int_equal(request.payload_round, INT32_MAX - 1);
    assert_int_equal(request.locked_round, INT32_MAX - 1);
}

static void test_block_negative(void **state)
{
    struct block_fields fields;
    uint8_t bytes[BUILDER_MAX];

    (void)state;
    fields = block_defaults();
    fields.level = INT32_MIN; /* 0x80000000: 2^31 read as int32 */
    expect_refused(bytes, build_block(&fields, bytes), TEZOS_ERR_NEGATIVE_LEVEL);
    fields = block_defaults();
    fields.level = -1;
    expect_refused(bytes, build_block(&fields, bytes), TEZOS_ERR_NEGATIVE_LEVEL);
    fields = block_defaults();
    fields.round = INT32_MIN;
    expect_refused(bytes, build_block(&fields, bytes), TEZOS_ERR_NEGATIVE_ROUND);
    fields = block_defaults();
    fields.payload_round = -1;
    expect_refused(bytes, build_block(&fields, bytes), TEZOS_ERR_NEGATIVE_ROUND);
    fields = block_defaults();
    fields.round = 2;
    fields.has_locked_round = true;
    fields.locked_round = -1;
    expect_refused(bytes, build_block(&fields, bytes), TEZOS_ERR_NEGATIVE_ROUND);
}

static void test_block_fitness_refused(void **state)
{
    struct block_fields fields;
    uint8_t bytes[BUILDER_MAX];
    size_t len;
    /* Made-up fitnesses: element lists (uint32 length ‖ bytes). */
    static const uint8_t four_elements[] = {0, 0, 0, 1, 2, 0, 0, 0, 4,    0,    0,    0,   2,
                                            0, 0, 0, 0, 0, 0, 0, 4, 0xff, 0xff, 0xff, 0xff};
    static const uint8_t six_elements[] = {0, 0, 0, 1, 2, 0, 0, 0, 4,    0,    0,    0,    2,
                                           0, 0, 0, 0, 0, 0, 0, 4, 0xff, 0xff, 0xff, 0xff, 0,
                                           0, 0, 4, 0, 0, 0, 0, 0, 0,    0,    0};
    static const uint8_t element_too_long[] = {0, 0, 0, 1, 2, 0, 0, 0, 9, 0, 0, 0, 2};
    static const uint8_t extra_bytes[] = {0,    0, 0, 1, 2, 0, 0, 0, 4, 0,    0,    0,
                                          2,    0, 0, 0, 0, 0, 0, 0, 4, 0xff, 0xff, 0xff,
                                          0xff, 0, 0, 0, 4, 0, 0, 0, 0, 0xaa};
    static const uint8_t empty[1];

    (void)state;
    fields = block_defaults();
    fields.fitness = four_elements;
    fields.fitness_len = sizeof four_elements;
    expect_refused(bytes, build_block(&fields, bytes), TEZOS_ERR_FITNESS);
    fields.fitness = six_elements;
    fields.fitness_len = sizeof six_elements;
    expect_refused(bytes, build_block(&fields, bytes), TEZOS_ERR_FITNESS);
    fields.fitness = element_too_long;
    fields.fitness_len = sizeof element_too_long;
    expect_refused(bytes, build_block(&fields, bytes), TEZOS_ERR_FITNESS);
    fields.fitness = extra_bytes;
    fields.fitness_len = sizeof extra_bytes;
    expect_refused(bytes, build_block(&fields, bytes), TEZOS_ERR_FITNESS);
    fields.fitness = empty;
    fields.fitness_len = 0;
    expect_refused(bytes, build_block(&fields, bytes), TEZOS_ERR_FITNESS);

    /* Wrong version (fitness starts at 87: length at 87, version at 91). */
    fields = block_defaults();
    len = build_block(&fields, bytes);
    assert_int_equal(bytes[91], 0x02);
    bytes[91] = 0x01;
    expect_refused(bytes, len, TEZOS_ERR_FITNESS);
    /* Fitness level (at 96) differs from the header level. */
    len = build_block(&fields, bytes);
    put_be32(bytes + 96, 3);
    expect_refused(bytes, len, TEZOS_ERR_FITNESS);
    /* Predecessor round element (at 108) that is not −round − 1 of any round. */
    len = build_block(&fields, bytes);
    put_be32(bytes + 108, 0);
    expect_refused(bytes, len, TEZOS_ERR_FITNESS);
    /* The version element 2 bytes long: version len 2, then everything shifted is malformed. */
    len = build_block(&fields, bytes);
    put_be32(bytes + 87, 2);
    expect_refused(bytes, len, TEZOS_ERR_FITNESS);
    /* F larger than what follows: truncated, not a fitness error. */
    len = build_block(&fields, bytes);
    put_be32(bytes + 83, 1000);
    expect_refused(bytes, len, TEZOS_ERR_TRUNCATED);

    /* A locked round of 2 bytes. */
    {
        static const uint8_t two_byte_locked[] = {0,    0,    0,    1, 2, 0, 0, 0, 4, 0, 0, 0,
                                                  2,    0,    0,    0, 2, 0, 0, 0, 0, 0, 4, 0xff,
                                                  0xff, 0xff, 0xff, 0, 0, 0, 4, 0, 0, 0, 1};

        fields.fitness = two_byte_locked;
        fields.fitness_len = sizeof two_byte_locked;
        expect_refused(bytes, build_block(&fields, bytes), TEZOS_ERR_FITNESS);
    }
    /* A locked round not below the round (Octez: Locked_round_not_less_than_round). */
    fields = block_defaults();
    fields.has_locked_round = true;
    fields.locked_round = 2;
    fields.round = 2;
    expect_refused(bytes, build_block(&fields, bytes), TEZOS_ERR_FITNESS);
}

static void test_block_seed_flag_and_votes(void **state)
{
    struct block_fields fields = block_defaults();
    uint8_t bytes[BUILDER_MAX];
    size_t len = build_block(&fields, bytes);
    static const uint8_t bad_votes[] = {0x03, 0x07, 0x0c, 0x0f, 0x10, 0x80, 0xff};
    static const uint8_t good_votes[] = {0x00, 0x01, 0x02, 0x04, 0x05, 0x06, 0x08, 0x09, 0x0a};

    (void)state;
    for (unsigned flag = 0x01; flag < 0xff; flag++) {
        bytes[len - 2] = (uint8_t)flag;
        expect_refused(bytes, len, TEZOS_ERR_SEED_NONCE_FLAG);
    }
    bytes[len - 2] = 0x00;
    for (size_t i = 0; i < sizeof bad_votes; i++) {
        bytes[len - 1] = bad_votes[i];
        expect_refused(bytes, len, TEZOS_ERR_VOTES);
    }
    for (size_t i = 0; i < sizeof good_votes; i++) {
        bytes[len - 1] = good_votes[i];
        decode_ok(bytes, len);
    }
}

/* ---- Preattestations and attestations ---- */

static void test_consensus_kinds(void **state)
{
    struct consensus_fields fields = attestation_defaults();
    uint8_t bytes[BUILDER_MAX];
    struct tezos_request request;

    (void)state;
    fields.magic = 0x12;
    fields.tag = 20;
    assert_int_equal(build_consensus(&fields, bytes), 80);
    request = decode_ok(bytes, 80);
    assert_int_equal(request.kind, TEZOS_KIND_PREATTESTATION);
    assert_int_equal(request.slot, 21);
    fields.magic = 0x13;
    fields.tag = 21;
    request = decode_ok(bytes, build_consensus(&fields, bytes));
    assert_int_equal(request.kind, TEZOS_KIND_ATTESTATION);
    assert_false(request.has_dal_content);
    assert_int_equal(request.level, 34);
    assert_int_equal(request.round, 4);
}

static void test_attestation_dal(void **state)
{
    struct consensus_fields fields = attestation_defaults();
    uint8_t bytes[BUILDER_MAX];
    size_t len;
    struct tezos_request request;
    /* 2^14 + 2^7 + 1 + … : three 7-bit groups, the last nonzero. */
    static const uint8_t multi_byte[] = {0x81, 0x81, 0x01};
    static const uint8_t zero[] = {0x00};
    static const uint8_t long_bitset[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f};

    (void)state;
    fields.tag = 23;
    fields.slot = 65535;
    fields.dal = multi_byte;
    fields.dal_len = sizeof multi_byte;
    len = build_consensus(&fields, bytes);
    assert_int_equal(len, 83);
    request = decode_ok(bytes, len);
    assert_int_equal(request.kind, TEZOS_KIND_ATTESTATION); /* one watermark row with tag 21 */
    assert_true(request.has_dal_content);
    assert_int_equal(request.slot, 65535);
    expect_cuts_and_extension_refused(bytes, len);

    fields.dal = zero;
    fields.dal_len = sizeof zero;
    decode_ok(bytes, build_consensus(&fields, bytes));
    fields.dal = long_bitset;
    fields.dal_len = sizeof long_bitset;
    decode_ok(bytes, build_consensus(&fields, bytes));
}

static void test_attestation_dal_refused(void **state)
{
    struct consensus_fields fields = attestation_defaults();
    uint8_t bytes[BUILDER_MAX];
    static const uint8_t not_canonical[] = {0x81, 0x00};
    static const uint8_t unterminated[] = {0x81, 0x80};
    static const uint8_t then_more[] = {0x05, 0x00};

    (void)state;
    fields.tag = 23;
    expect_refused(bytes, build_consensus(&fields, bytes), TEZOS_ERR_TRUNCATED); /* no bitset */
    fields.dal = not_canonical;
    fields.dal_len = sizeof not_canonical;
    expect_refused(bytes, build_consensus(&fields, bytes), TEZOS_ERR_ZARITH);
    fields.dal = unterminated;
    fields.dal_len = sizeof unterminated;
    expect_refused(bytes, build_consensus(&fields, bytes), TEZOS_ERR_TRUNCATED);
    fields.dal = then_more;
    fields.dal_len = sizeof then_more;
    expect_refused(bytes, build_consensus(&fields, bytes), TEZOS_ERR_TRAILING);
    /* Tag 21 has no bitset: a byte after it is trailing. */
    fields.tag = 21;
    fields.dal_len = 1;
    expect_refused(bytes, build_consensus(&fields, bytes), TEZOS_ERR_TRAILING);
}

static void test_consensus_high_and_negative(void **state)
{
    struct consensus_fields fields = attestation_defaults();
    uint8_t bytes[BUILDER_MAX];
    struct tezos_request request;

    (void)state;
    fields.level = INT32_MAX;
    fields.round = INT32_MAX;
    request = decode_ok(bytes, build_consensus(&fields, bytes));
    assert_int_equal(request.level, INT32_MAX);
    assert_int_equal(request.round, INT32_MAX);
    fields.level = INT32_MIN;
    expect_refused(bytes, build_consensus(&fields, bytes), TEZOS_ERR_NEGATIVE_LEVEL);
    fields.level = 1;
    fields.round = -1;
    expect_refused(bytes, build_consensus(&fields, bytes), TEZOS_ERR_NEGATIVE_ROUND);
    fields.magic = 0x12;
    fields.tag = 20;
    fields.round = INT32_MIN;
    expect_refused(bytes, build_consensus(&fields, bytes), TEZOS_ERR_NEGATIVE_ROUND);
}

static void test_consensus_tags_refused(void **state)
{
    struct consensus_fields fields = attestation_defaults();
    uint8_t bytes[BUILDER_MAX];

    (void)state;
    for (unsigned magic = 0x12; magic <= 0x13; magic++) {
        fields.magic = (uint8_t)magic;
        for (unsigned tag = 0; tag < 256; tag++) {
            bool allowed =
                (magic == 0x12 && tag == 20) || (magic == 0x13 && (tag == 21 || tag == 23));
            size_t len;

            if (allowed)
                continue;
            fields.tag = (uint8_t)tag;
            len = build_consensus(&fields, bytes);
            expect_refused(bytes, len, tag == 40 || tag == 41 ? TEZOS_ERR_TAG_BLS : TEZOS_ERR_TAG);
        }
    }
}

/* ---- Framing ---- */

static void test_magic_refused(void **state)
{
    uint8_t bytes[80] = {0};

    (void)state;
    expect_refused(bytes, 0, TEZOS_ERR_EMPTY);
    expect_refused(NULL, 0, TEZOS_ERR_EMPTY);
    for (unsigned magic = 0; magic < 256; magic++) {
        enum tezos_error expected = TEZOS_ERR_MAGIC;

        if (magic == 0x03 || magic == 0x05 || (magic >= 0x11 && magic <= 0x13))
            continue;
        if (magic == 0x01 || magic == 0x02)
            expected = TEZOS_ERR_EMMY;
        bytes[0] = (uint8_t)magic;
        expect_refused(bytes, sizeof bytes, expected);
        expect_refused(bytes, 1, expected);
    }
}

/* 32 bytes is what other signers pass to C_Sign: a digest, refused whatever it starts with. */
static void test_digest_refused(void **state)
{
    uint8_t bytes[32];

    (void)state;
    for (unsigned first = 0; first < 256; first++) {
        memset(bytes, 0x5a, sizeof bytes);
        bytes[0] = (uint8_t)first;
        expect_refused(bytes, sizeof bytes, TEZOS_ERR_DIGEST);
    }
}

static void test_generic_and_michelson(void **state)
{
    uint8_t bytes[64];
    struct tezos_request request;
    uint8_t digest[TEZOS_DIGEST_SIZE];

    (void)state;
    memset(bytes, 0x6c, sizeof bytes);
    bytes[0] = 0x03;
    request = decode_ok(bytes, 40);
    assert_int_equal(request.kind, TEZOS_KIND_GENERIC);
    assert_false(tezos_kind_is_consensus(request.kind));
    tezos_blake2b_256(bytes, 40, digest);
    assert_memory_equal(request.digest, digest, sizeof digest);
    expect_refused(bytes, 33, TEZOS_ERR_TRUNCATED); /* a branch and no contents */
    expect_refused(bytes, 1, TEZOS_ERR_TRUNCATED);
    bytes[0] = 0x05;
    request = decode_ok(bytes, 2);
    assert_int_equal(request.kind, TEZOS_KIND_MICHELSON);
    expect_refused(bytes, 1, TEZOS_ERR_TRUNCATED);
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(tezos_kind_name(TEZOS_KIND_BLOCK), "block");
    assert_string_equal(tezos_kind_name(TEZOS_KIND_PREATTESTATION), "preattestation");
    assert_string_equal(tezos_kind_name(TEZOS_KIND_ATTESTATION), "attestation");
    assert_string_equal(tezos_kind_name(TEZOS_KIND_GENERIC), "generic");
    assert_string_equal(tezos_kind_name(TEZOS_KIND_MICHELSON), "michelson");
    /* Every error has its own text. */
    for (int a = TEZOS_OK; a <= TEZOS_ERR_CRYPTO; a++) {
        for (int b = a + 1; b <= TEZOS_ERR_CRYPTO; b++)
            assert_string_not_equal(tezos_error_text(a), tezos_error_text(b));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_block_defaults),
        cmocka_unit_test(test_block_locked_round),
        cmocka_unit_test(test_block_seed_nonce_hash),
        cmocka_unit_test(test_block_high_level_and_round),
        cmocka_unit_test(test_block_negative),
        cmocka_unit_test(test_block_fitness_refused),
        cmocka_unit_test(test_block_seed_flag_and_votes),
        cmocka_unit_test(test_consensus_kinds),
        cmocka_unit_test(test_attestation_dal),
        cmocka_unit_test(test_attestation_dal_refused),
        cmocka_unit_test(test_consensus_high_and_negative),
        cmocka_unit_test(test_consensus_tags_refused),
        cmocka_unit_test(test_magic_refused),
        cmocka_unit_test(test_digest_refused),
        cmocka_unit_test(test_generic_and_michelson),
        cmocka_unit_test(test_names),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
