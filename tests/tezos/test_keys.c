/*
 * Keys, addresses and base58check. The expected texts were computed independently of this C code
 * by independent_keys.py (Python hashlib.blake2b/sha256 and its own base58), beside this file.
 */
#include "tezos.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <string.h>

/* RFC 8032 §7.1 TEST 1 public key. */
static const uint8_t ed25519_key[32] = {
    0xd7, 0x5a, 0x98, 0x01, 0x82, 0xb1, 0x0a, 0xb7, 0xd5, 0x4b, 0xfe, 0xd3, 0xc9, 0x64, 0x07, 0x3a,
    0x0e, 0xe1, 0x72, 0xf3, 0xda, 0xa6, 0x23, 0x25, 0xaf, 0x02, 0x1a, 0x68, 0xf7, 0x07, 0x51, 0x1a};
#define ED25519_TEXT    "edpkvH4rzbmfvAEgiJQU1TKYfrTvBbpVJGHmQByh9Nph4BzvRh8aXP"
#define ED25519_ADDRESS "tz1N7tYGMGs3GGjeJAJKtbycAWcvoPNSUYgu"

/* The generators of secp256k1 and P-256 (private key 1), as 04 ‖ X ‖ Y. */
static const uint8_t secp256k1_g[65] = {
    0x04, 0x79, 0xbe, 0x66, 0x7e, 0xf9, 0xdc, 0xbb, 0xac, 0x55, 0xa0, 0x62, 0x95,
    0xce, 0x87, 0x0b, 0x07, 0x02, 0x9b, 0xfc, 0xdb, 0x2d, 0xce, 0x28, 0xd9, 0x59,
    0xf2, 0x81, 0x5b, 0x16, 0xf8, 0x17, 0x98, 0x48, 0x3a, 0xda, 0x77, 0x26, 0xa3,
    0xc4, 0x65, 0x5d, 0xa4, 0xfb, 0xfc, 0x0e, 0x11, 0x08, 0xa8, 0xfd, 0x17, 0xb4,
    0x48, 0xa6, 0x85, 0x54, 0x19, 0x9c, 0x47, 0xd0, 0x8f, 0xfb, 0x10, 0xd4, 0xb8};
#define SECP256K1_TEXT    "sppk7aEFdrScsCDxdaQ7Ev1JxpWZESrEK6UsWRhr79JfGKkPYGTsudN"
#define SECP256K1_ADDRESS "tz2BCeQSi5ETyKJsob61pWCoQvoGtsrJBEt2"

static const uint8_t p256_g[65] = {0x04, 0x6b, 0x17, 0xd1, 0xf2, 0xe1, 0x2c, 0x42, 0x47, 0xf8, 0xbc,
                                   0xe6, 0xe5, 0x63, 0xa4, 0x40, 0xf2, 0x77, 0x03, 0x7d, 0x81, 0x2d,
                                   0xeb, 0x33, 0xa0, 0xf4, 0xa1, 0x39, 0x45, 0xd8, 0x98, 0xc2, 0x96,
                                   0x4f, 0xe3, 0x42, 0xe2, 0xfe, 0x1a, 0x7f, 0x9b, 0x8e, 0xe7, 0xeb,
                                   0x4a, 0x7c, 0x0f, 0x9e, 0x16, 0x2b, 0xce, 0x33, 0x57, 0x6b, 0x31,
                                   0x5e, 0xce, 0xcb, 0xb6, 0x40, 0x68, 0x37, 0xbf, 0x51, 0xf5};
#define P256_TEXT    "p2pk67L57Q7vcgLkMrKXctFRKs5JSLR6qjiw1riJaFyakWpTv9QSkRf"
#define P256_ADDRESS "tz3bqAfFRnSA6dfPRG8XR6MBMmo6HZTTG44V"

/* CKA_EC_PARAMS */
static const uint8_t oid_ed25519[] = {0x06, 0x03, 0x2b, 0x65, 0x70};
static const uint8_t string_edwards25519[] = {0x13, 0x0c, 'e', 'd', 'w', 'a', 'r',
                                              'd',  's',  '2', '5', '5', '1', '9'};
static const uint8_t oid_secp256k1[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x0a};
static const uint8_t oid_p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};

/* point wrapped in a DER OCTET STRING */
static size_t der_octet_string(const uint8_t *point, size_t len, uint8_t *out)
{
    out[0] = 0x04;
    out[1] = (uint8_t)len;
    memcpy(out + 2, point, len);
    return len + 2;
}

static void expect_key(const uint8_t *params, size_t params_len, const uint8_t *point,
                       size_t point_len, enum tezos_curve curve, const char *text,
                       const char *address)
{
    struct tezos_public_key key, parsed;
    char out[TEZOS_BASE58_TEXT_MAX];

    assert_int_equal(tezos_public_key_from_pkcs11(params, params_len, point, point_len, &key),
                     TEZOS_OK);
    assert_int_equal(key.curve, curve);
    assert_int_equal(key.len, curve == TEZOS_CURVE_ED25519 ? 32 : 33);
    assert_int_equal(tezos_public_key_to_text(&key, out, sizeof out), TEZOS_OK);
    assert_string_equal(out, text);
    assert_int_equal(tezos_address(&key, out, sizeof out), TEZOS_OK);
    assert_string_equal(out, address);
    /* And back from the text, as tzwm address does. */
    assert_int_equal(tezos_public_key_from_text(text, &parsed), TEZOS_OK);
    assert_int_equal(parsed.curve, curve);
    assert_int_equal(parsed.len, key.len);
    assert_memory_equal(parsed.bytes, key.bytes, key.len);
}

static void test_ed25519_key(void **state)
{
    uint8_t der[64];
    size_t der_len = der_octet_string(ed25519_key, sizeof ed25519_key, der);

    (void)state;
    expect_key(oid_ed25519, sizeof oid_ed25519, der, der_len, TEZOS_CURVE_ED25519, ED25519_TEXT,
               ED25519_ADDRESS);
    expect_key(string_edwards25519, sizeof string_edwards25519, der, der_len, TEZOS_CURVE_ED25519,
               ED25519_TEXT, ED25519_ADDRESS);
    expect_key(oid_ed25519, sizeof oid_ed25519, ed25519_key, sizeof ed25519_key,
               TEZOS_CURVE_ED25519, ED25519_TEXT, ED25519_ADDRESS);
}

/* Uncompressed and compressed points, DER-wrapped or raw, all give the same key. */
static void expect_ec_forms(const uint8_t *params, size_t params_len, const uint8_t point[65],
                            enum tezos_curve curve, const char *text, const char *address)
{
    uint8_t compressed[33], der[80];

    compressed[0] = 0x02 | (point[64] & 1);
    memcpy(compressed + 1, point + 1, 32);
    expect_key(params, params_len, der, der_octet_string(point, 65, der), curve, text, address);
    expect_key(params, params_len, point, 65, curve, text, address);
    expect_key(params, params_len, der, der_octet_string(compressed, 33, der), curve, text,
               address);
    expect_key(params, params_len, compressed, 33, curve, text, address);
}

static void test_secp256k1_key(void **state)
{
    (void)state;
    expect_ec_forms(oid_secp256k1, sizeof oid_secp256k1, secp256k1_g, TEZOS_CURVE_SECP256K1,
                    SECP256K1_TEXT, SECP256K1_ADDRESS);
}

static void test_p256_key(void **state)
{
    (void)state;
    expect_ec_forms(oid_p256, sizeof oid_p256, p256_g, TEZOS_CURVE_P256, P256_TEXT, P256_ADDRESS);
}

static void test_curves_refused(void **state)
{
    static const uint8_t oid_p384[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22};
    static const uint8_t oid_ed448[] = {0x06, 0x03, 0x2b, 0x65, 0x71};
    static const uint8_t string_edwards448[] = {0x13, 0x0a, 'e', 'd', 'w', 'a',
                                                'r',  'd',  's', '4', '4', '8'};
    static const uint8_t null[] = {0x05, 0x00};
    static const uint8_t short_oid[] = {0x06, 0x05, 0x2b, 0x81};
    static const uint8_t long_oid[] = {0x06, 0x03, 0x2b, 0x65, 0x70, 0x00};
    static const uint8_t bad_length[] = {0x06, 0x83, 0x00, 0x00, 0x03, 0x2b, 0x65, 0x70};
    enum tezos_curve curve;
    struct tezos_public_key key;

    (void)state;
    assert_int_equal(tezos_curve_from_ec_params(oid_p384, sizeof oid_p384, &curve),
                     TEZOS_ERR_CURVE);
    assert_int_equal(tezos_curve_from_ec_params(oid_ed448, sizeof oid_ed448, &curve),
                     TEZOS_ERR_CURVE);
    assert_int_equal(
        tezos_curve_from_ec_params(string_edwards448, sizeof string_edwards448, &curve),
        TEZOS_ERR_CURVE);
    assert_int_equal(tezos_curve_from_ec_params(null, sizeof null, &curve), TEZOS_ERR_KEY_ENCODING);
    assert_int_equal(tezos_curve_from_ec_params(short_oid, sizeof short_oid, &curve),
                     TEZOS_ERR_KEY_ENCODING);
    assert_int_equal(tezos_curve_from_ec_params(long_oid, sizeof long_oid, &curve),
                     TEZOS_ERR_KEY_ENCODING);
    assert_int_equal(tezos_curve_from_ec_params(bad_length, sizeof bad_length, &curve),
                     TEZOS_ERR_KEY_ENCODING);
    assert_int_equal(tezos_curve_from_ec_params(NULL, 0, &curve), TEZOS_ERR_KEY_ENCODING);
    assert_int_equal(
        tezos_public_key_from_pkcs11(oid_p384, sizeof oid_p384, p256_g, sizeof p256_g, &key),
        TEZOS_ERR_CURVE);
}

static void test_points_refused(void **state)
{
    uint8_t point[65], der[80];
    struct tezos_public_key key;

    (void)state;
    /* Off the curve: Y changed. */
    memcpy(point, secp256k1_g, sizeof point);
    point[64] ^= 0x01;
    assert_int_equal(tezos_public_key_from_pkcs11(oid_secp256k1, sizeof oid_secp256k1, point,
                                                  sizeof point, &key),
                     TEZOS_ERR_KEY);
    memcpy(point, p256_g, sizeof point);
    point[40] ^= 0x10;
    assert_int_equal(tezos_public_key_from_pkcs11(oid_p256, sizeof oid_p256, der,
                                                  der_octet_string(point, 65, der), &key),
                     TEZOS_ERR_KEY);
    /* A P-256 point given as secp256k1. */
    assert_int_equal(tezos_public_key_from_pkcs11(oid_secp256k1, sizeof oid_secp256k1, p256_g,
                                                  sizeof p256_g, &key),
                     TEZOS_ERR_KEY);
    /* Sizes no point has. */
    assert_int_equal(tezos_public_key_from_pkcs11(oid_p256, sizeof oid_p256, p256_g, 64, &key),
                     TEZOS_ERR_KEY_ENCODING);
    assert_int_equal(
        tezos_public_key_from_pkcs11(oid_ed25519, sizeof oid_ed25519, ed25519_key, 31, &key),
        TEZOS_ERR_KEY_ENCODING);
    assert_int_equal(
        tezos_public_key_from_pkcs11(oid_ed25519, sizeof oid_ed25519, p256_g, sizeof p256_g, &key),
        TEZOS_ERR_KEY_ENCODING);
    /* A text of a kind that is no public key. */
    assert_int_equal(tezos_public_key_from_text(ED25519_ADDRESS, &key), TEZOS_ERR_PREFIX);
}

static void test_base58_round_trips(void **state)
{
    static const enum tezos_base58_kind kinds[] = {
        TEZOS_B58_CHAIN_ID, TEZOS_B58_TZ1,   TEZOS_B58_TZ2,        TEZOS_B58_TZ3,
        TEZOS_B58_EDPK,     TEZOS_B58_SPPK,  TEZOS_B58_P2PK,       TEZOS_B58_EDSIG,
        TEZOS_B58_SPSIG1,   TEZOS_B58_P2SIG, TEZOS_B58_VALUE_HASH,
    };
    static const char *const starts[] = {"Net",  "tz1",   "tz2",    "tz3",   "edpk", "sppk",
                                         "p2pk", "edsig", "spsig1", "p2sig", "vh"};

    (void)state;
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        size_t size = tezos_base58_payload_size(kinds[i]);

        assert_true(size > 0 && size <= TEZOS_BASE58_BYTES_MAX);
        for (unsigned pattern = 0; pattern < 4; pattern++) {
            uint8_t payload[TEZOS_BASE58_BYTES_MAX], decoded[TEZOS_BASE58_BYTES_MAX];
            char text[TEZOS_BASE58_TEXT_MAX];
            enum tezos_base58_kind kind;
            size_t len;

            for (size_t j = 0; j < size; j++)
                payload[j] = pattern == 0   ? 0x00
                             : pattern == 1 ? 0xff
                                            : (uint8_t)(j * 37 + pattern * 101);
            assert_int_equal(tezos_base58check_encode(kinds[i], payload, text, sizeof text),
                             TEZOS_OK);
            assert_memory_equal(text, starts[i], strlen(starts[i]));
            assert_int_equal(tezos_base58check_decode(text, &kind, decoded, &len), TEZOS_OK);
            assert_int_equal(kind, kinds[i]);
            assert_int_equal(len, size);
            assert_memory_equal(decoded, payload, size);
        }
    }
}

static void test_base58_chain_id(void **state)
{
    static const uint8_t sandbox[4] = {0xb3, 0xd7, 0x9f, 0x99};
    uint8_t payload[TEZOS_BASE58_BYTES_MAX];
    enum tezos_base58_kind kind;
    size_t len;

    (void)state;
    assert_int_equal(tezos_base58check_decode("NetXo5iVw1vBoxM", &kind, payload, &len), TEZOS_OK);
    assert_int_equal(kind, TEZOS_B58_CHAIN_ID);
    assert_int_equal(len, 4);
    assert_memory_equal(payload, sandbox, 4);
}

static void test_base58_refused(void **state)
{
    uint8_t payload[TEZOS_BASE58_BYTES_MAX];
    char text[TEZOS_BASE58_TEXT_MAX];
    enum tezos_base58_kind kind;
    size_t len;
    static const char bad_characters[] = "0OIl+/ ";

    (void)state;
    for (const char *c = bad_characters; *c != '\0'; c++) {
        strcpy(text, ED25519_ADDRESS);
        text[5] = *c;
        assert_int_equal(tezos_base58check_decode(text, &kind, payload, &len), TEZOS_ERR_BASE58);
    }
    /* One character changed: the checksum no longer matches. */
    for (size_t i = 3; i < strlen(ED25519_ADDRESS); i++) {
        strcpy(text, ED25519_ADDRESS);
        text[i] = text[i] == 'z' ? 'y' : 'z';
        assert_int_equal(tezos_base58check_decode(text, &kind, payload, &len), TEZOS_ERR_CHECKSUM);
    }
    /* A valid base58check text with no Tezos prefix (independent_keys.py). */
    assert_int_equal(tezos_base58check_decode("11111116hrB2T", &kind, payload, &len),
                     TEZOS_ERR_PREFIX);
    assert_int_equal(tezos_base58check_decode("", &kind, payload, &len), TEZOS_ERR_PREFIX);
    /* Longer than any Tezos text. */
    memset(text, 'z', sizeof text - 1);
    text[sizeof text - 1] = '\0';
    assert_int_equal(tezos_base58check_decode(text, &kind, payload, &len), TEZOS_ERR_PREFIX);
    memset(text, '1', sizeof text - 1);
    assert_int_equal(tezos_base58check_decode(text, &kind, payload, &len), TEZOS_ERR_PREFIX);
    /* Too small an output buffer. */
    assert_int_equal(tezos_base58check_encode(TEZOS_B58_TZ1, payload, text, 36), TEZOS_ERR_BUFFER);
    assert_int_equal(tezos_base58check_encode(TEZOS_B58_TZ1, payload, text, 37), TEZOS_OK);
    assert_int_equal(strlen(text), 36);
}

/* BLAKE2b-256 and -160 of the empty input, from Python's hashlib.blake2b(b"", digest_size=32/20).
 */
static void test_blake2b(void **state)
{
    static const uint8_t empty_256[32] = {0x0e, 0x57, 0x51, 0xc0, 0x26, 0xe5, 0x43, 0xb2,
                                          0xe8, 0xab, 0x2e, 0xb0, 0x60, 0x99, 0xda, 0xa1,
                                          0xd1, 0xe5, 0xdf, 0x47, 0x77, 0x8f, 0x77, 0x87,
                                          0xfa, 0xab, 0x45, 0xcd, 0xf1, 0x2f, 0xe3, 0xa8};
    static const uint8_t empty_160[20] = {0x33, 0x45, 0x52, 0x4a, 0xbf, 0x6b, 0xbe,
                                          0x18, 0x09, 0x44, 0x92, 0x24, 0xb5, 0x97,
                                          0x2c, 0x41, 0x79, 0x0b, 0x6c, 0xf2};
    uint8_t digest[32], hash[20];

    (void)state;
    tezos_blake2b_256((const uint8_t *)"", 0, digest);
    assert_memory_equal(digest, empty_256, sizeof digest);
    tezos_blake2b_160((const uint8_t *)"", 0, hash);
    assert_memory_equal(hash, empty_160, sizeof hash);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ed25519_key),     cmocka_unit_test(test_secp256k1_key),
        cmocka_unit_test(test_p256_key),        cmocka_unit_test(test_curves_refused),
        cmocka_unit_test(test_points_refused),  cmocka_unit_test(test_base58_round_trips),
        cmocka_unit_test(test_base58_chain_id), cmocka_unit_test(test_base58_refused),
        cmocka_unit_test(test_blake2b),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
