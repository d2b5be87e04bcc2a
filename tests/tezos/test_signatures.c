/*
 * Signatures: Ed25519 (RFC 8032 TEST 1 key) and ECDSA keys made by OpenSSL sign blake2b-256 of a
 * request; tezos_signature_verify and a tezos_verifier check them; secp256k1 high S is
 * normalised, P-256 left alone.
 */
#include "request_builder.h"
#include "tezos.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <sodium.h>
#include <string.h>

static const uint8_t rfc8032_seed[32] = {
    0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c, 0xc4,
    0x44, 0x49, 0xc5, 0x69, 0x7b, 0x7e, 0x7c, 0x3c, 0xaa, 0xe2, 0x08, 0x6b, 0x62, 0xc3, 0x9e, 0x2a};

/* The secp256k1 group order n, big-endian. */
static const uint8_t secp256k1_n[32] = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
    0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41};

static size_t request(uint8_t *bytes)
{
    struct consensus_fields fields = attestation_defaults();

    return build_consensus(&fields, bytes);
}

static void test_ed25519(void **state)
{
    uint8_t public_key[32], secret_key[64], bytes[BUILDER_MAX], digest[32], signature[64];
    struct tezos_public_key key = {.curve = TEZOS_CURVE_ED25519, .len = 32};
    char text[TEZOS_BASE58_TEXT_MAX];
    size_t len = request(bytes);
    bool changed = true;

    (void)state;
    assert_int_equal(crypto_sign_seed_keypair(public_key, secret_key, rfc8032_seed), 0);
    memcpy(key.bytes, public_key, 32);
    tezos_blake2b_256(bytes, len, digest);
    crypto_sign_detached(signature, NULL, digest, sizeof digest, secret_key);
    assert_int_equal(tezos_signature_verify(&key, bytes, len, signature), TEZOS_OK);
    /* Normalisation leaves Ed25519 alone. */
    assert_int_equal(tezos_signature_normalize(TEZOS_CURVE_ED25519, signature, &changed), TEZOS_OK);
    assert_false(changed);
    assert_int_equal(tezos_signature_verify(&key, bytes, len, signature), TEZOS_OK);
    /* Over the digest of the request, not the request itself. */
    crypto_sign_detached(signature, NULL, bytes, len, secret_key);
    assert_int_equal(tezos_signature_verify(&key, bytes, len, signature), TEZOS_ERR_SIGNATURE);
    crypto_sign_detached(signature, NULL, digest, sizeof digest, secret_key);
    bytes[len - 1] ^= 1;
    assert_int_equal(tezos_signature_verify(&key, bytes, len, signature), TEZOS_ERR_SIGNATURE);
    assert_int_equal(tezos_signature_to_text(TEZOS_CURVE_ED25519, signature, text, sizeof text),
                     TEZOS_OK);
    assert_memory_equal(text, "edsig", 5);
}

/* A fresh OpenSSL key on the curve, and its Tezos public key through the PKCS#11 attributes. */
static EVP_PKEY *ec_key(const char *group, const uint8_t *params, size_t params_len,
                        struct tezos_public_key *key)
{
    EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", group);
    uint8_t point[65];
    size_t len = 0;

    assert_non_null(pkey);
    assert_int_equal(
        EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point, &len),
        1);
    assert_int_equal(len, 65);
    assert_int_equal(tezos_public_key_from_pkcs11(params, params_len, point, len, key), TEZOS_OK);
    return pkey;
}

/* r‖s of an OpenSSL ECDSA signature of digest. */
static void ecdsa_sign(EVP_PKEY *pkey, const uint8_t digest[32], uint8_t signature[64])
{
    EVP_PKEY_CTX *context = EVP_PKEY_CTX_new(pkey, NULL);
    uint8_t der[80];
    const uint8_t *at = der;
    size_t der_len = sizeof der;
    ECDSA_SIG *sig;

    assert_non_null(context);
    assert_int_equal(EVP_PKEY_sign_init(context), 1);
    assert_int_equal(EVP_PKEY_sign(context, der, &der_len, digest, 32), 1);
    sig = d2i_ECDSA_SIG(NULL, &at, (long)der_len);
    assert_non_null(sig);
    assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_r(sig), signature, 32), 32);
    assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_s(sig), signature + 32, 32), 32);
    ECDSA_SIG_free(sig);
    EVP_PKEY_CTX_free(context);
}

/* S := order − S, big-endian, in place. */
static void negate_s(uint8_t signature[64], const uint8_t order[32])
{
    int borrow = 0;

    for (int i = 31; i >= 0; i--) {
        int value = order[i] - signature[32 + i] - borrow;

        borrow = value < 0;
        signature[32 + i] = (uint8_t)(value + (borrow ? 256 : 0));
    }
}

/* S > n/2 on secp256k1, i.e. S > n − S. */
static bool s_is_high(const uint8_t signature[64])
{
    uint8_t negated[64];

    memcpy(negated, signature, 64);
    negate_s(negated, secp256k1_n);
    return memcmp(signature + 32, negated + 32, 32) > 0;
}

static void test_secp256k1_low_s(void **state)
{
    static const uint8_t oid[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x0a};
    struct tezos_public_key key;
    EVP_PKEY *pkey = ec_key("secp256k1", oid, sizeof oid, &key);
    uint8_t bytes[BUILDER_MAX], digest[32], signature[64], low[64];
    size_t len = request(bytes);
    bool changed;
    char text[TEZOS_BASE58_TEXT_MAX];

    (void)state;
    tezos_blake2b_256(bytes, len, digest);
    ecdsa_sign(pkey, digest, signature);
    /* Make it high-S whatever OpenSSL gave: both S and n − S are valid ECDSA. */
    if (!s_is_high(signature))
        negate_s(signature, secp256k1_n);
    assert_true(s_is_high(signature));
    memcpy(low, signature, 64);
    negate_s(low, secp256k1_n);

    /* A Tezos node (libsecp256k1) refuses the high-S form. */
    assert_int_equal(tezos_signature_verify(&key, bytes, len, signature), TEZOS_ERR_SIGNATURE);
    assert_int_equal(tezos_signature_normalize(TEZOS_CURVE_SECP256K1, signature, &changed),
                     TEZOS_OK);
    assert_true(changed);
    assert_memory_equal(signature, low, 64);
    assert_int_equal(tezos_signature_verify(&key, bytes, len, signature), TEZOS_OK);
    /* Already low: untouched. */
    assert_int_equal(tezos_signature_normalize(TEZOS_CURVE_SECP256K1, signature, &changed),
                     TEZOS_OK);
    assert_false(changed);
    assert_memory_equal(signature, low, 64);
    /* Another request does not verify. */
    bytes[50] ^= 1;
    assert_int_equal(tezos_signature_verify(&key, bytes, len, signature), TEZOS_ERR_SIGNATURE);
    /* S = 0 and S = n are no signatures. */
    memset(signature + 32, 0, 32);
    assert_int_equal(tezos_signature_normalize(TEZOS_CURVE_SECP256K1, signature, NULL),
                     TEZOS_ERR_SIGNATURE);
    memcpy(signature + 32, secp256k1_n, 32);
    assert_int_equal(tezos_signature_normalize(TEZOS_CURVE_SECP256K1, signature, NULL),
                     TEZOS_ERR_SIGNATURE);
    assert_int_equal(tezos_signature_to_text(TEZOS_CURVE_SECP256K1, low, text, sizeof text),
                     TEZOS_OK);
    assert_memory_equal(text, "spsig1", 6);
    EVP_PKEY_free(pkey);
}

static void test_p256_untouched(void **state)
{
    static const uint8_t oid[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
    static const uint8_t p256_n[32] = {0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00,
                                       0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                       0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84,
                                       0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51};
    struct tezos_public_key key;
    EVP_PKEY *pkey = ec_key("prime256v1", oid, sizeof oid, &key);
    uint8_t bytes[BUILDER_MAX], digest[32], signature[64], original[64];
    size_t len = request(bytes);
    bool changed = true;
    char text[TEZOS_BASE58_TEXT_MAX];

    (void)state;
    tezos_blake2b_256(bytes, len, digest);
    ecdsa_sign(pkey, digest, signature);
    assert_int_equal(tezos_signature_verify(&key, bytes, len, signature), TEZOS_OK);
    /* Both S and n − S verify on P-256, and normalisation changes neither. */
    for (int form = 0; form < 2; form++) {
        memcpy(original, signature, 64);
        assert_int_equal(tezos_signature_normalize(TEZOS_CURVE_P256, signature, &changed),
                         TEZOS_OK);
        assert_false(changed);
        assert_memory_equal(signature, original, 64);
        assert_int_equal(tezos_signature_verify(&key, bytes, len, signature), TEZOS_OK);
        negate_s(signature, p256_n);
    }
    /* A changed r does not verify. */
    signature[0] ^= 0x80;
    assert_int_equal(tezos_signature_verify(&key, bytes, len, signature), TEZOS_ERR_SIGNATURE);
    assert_int_equal(tezos_signature_to_text(TEZOS_CURVE_P256, signature, text, sizeof text),
                     TEZOS_OK);
    assert_memory_equal(text, "p2sig", 5);
    EVP_PKEY_free(pkey);
}

/* The verifier checks what tezos_signature_verify checks, as often as asked. */
static void checks_as_often_as_asked(const struct tezos_verifier *verifier, const uint8_t *bytes,
                                     size_t len, const uint8_t signature[64])
{
    uint8_t other[64];

    memcpy(other, signature, 64);
    other[5] ^= 1;
    for (int round = 0; round < 3; round++) {
        assert_int_equal(tezos_verifier_check(verifier, bytes, len, signature), TEZOS_OK);
        assert_int_equal(tezos_verifier_check(verifier, bytes, len, other), TEZOS_ERR_SIGNATURE);
        assert_int_equal(tezos_verifier_check(verifier, bytes, len - 1, signature),
                         TEZOS_ERR_SIGNATURE);
    }
}

/* A verifier of the key, and a copy of it that outlives it, check alike. */
static void verifier_checks(const struct tezos_public_key *key, const uint8_t *bytes, size_t len,
                            const uint8_t signature[64])
{
    struct tezos_verifier *verifier, *copy;
    const struct tezos_public_key *known;

    assert_int_equal(tezos_verifier_new(key, &verifier), TEZOS_OK);
    known = tezos_verifier_key(verifier);
    assert_int_equal(known->curve, key->curve);
    assert_int_equal(known->len, key->len);
    assert_memory_equal(known->bytes, key->bytes, key->len);
    checks_as_often_as_asked(verifier, bytes, len, signature);
    assert_int_equal(tezos_verifier_copy(verifier, &copy), TEZOS_OK);
    tezos_verifier_free(verifier);
    checks_as_often_as_asked(copy, bytes, len, signature);
    tezos_verifier_free(copy);
}

/* A compressed point whose x (all ones) is not below the field prime: on no curve. */
static void off_curve_refused(enum tezos_curve curve)
{
    struct tezos_public_key key = {.curve = curve, .len = 33};
    struct tezos_verifier *verifier;
    uint8_t bytes[BUILDER_MAX], signature[64] = {1};
    size_t len = request(bytes);

    key.bytes[0] = 0x02;
    memset(key.bytes + 1, 0xff, 32);
    assert_int_equal(tezos_verifier_new(&key, &verifier), TEZOS_ERR_KEY);
    assert_null(verifier); /* what tezos_verifier_free takes */
    assert_int_equal(tezos_signature_verify(&key, bytes, len, signature), TEZOS_ERR_KEY);
}

static void test_verifier(void **state)
{
    static const uint8_t secp256k1_oid[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x0a};
    static const uint8_t p256_oid[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
    uint8_t public_key[32], secret_key[64], bytes[BUILDER_MAX], digest[32], signature[64];
    struct tezos_public_key key = {.curve = TEZOS_CURVE_ED25519, .len = 32};
    size_t len = request(bytes);
    EVP_PKEY *pkey;

    (void)state;
    tezos_blake2b_256(bytes, len, digest);
    assert_int_equal(crypto_sign_seed_keypair(public_key, secret_key, rfc8032_seed), 0);
    memcpy(key.bytes, public_key, 32);
    crypto_sign_detached(signature, NULL, digest, sizeof digest, secret_key);
    verifier_checks(&key, bytes, len, signature);

    pkey = ec_key("secp256k1", secp256k1_oid, sizeof secp256k1_oid, &key);
    ecdsa_sign(pkey, digest, signature);
    assert_int_equal(tezos_signature_normalize(TEZOS_CURVE_SECP256K1, signature, NULL), TEZOS_OK);
    verifier_checks(&key, bytes, len, signature);
    EVP_PKEY_free(pkey);

    pkey = ec_key("prime256v1", p256_oid, sizeof p256_oid, &key);
    ecdsa_sign(pkey, digest, signature);
    verifier_checks(&key, bytes, len, signature);
    EVP_PKEY_free(pkey);

    off_curve_refused(TEZOS_CURVE_SECP256K1);
    off_curve_refused(TEZOS_CURVE_P256);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ed25519),
        cmocka_unit_test(test_secp256k1_low_s),
        cmocka_unit_test(test_p256_untouched),
        cmocka_unit_test(test_verifier),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
