/* Signatures: 64 bytes, Ed25519 or ECDSA r‖s over blake2b-256 of the whole request. */
#include "tezos.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <secp256k1.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define HALF_SIZE (TEZOS_SIGNATURE_SIZE / 2)

/* S (the second half) as a number, checked 0 < S < n, and whether it is above n/2 on secp256k1. */
static enum tezos_error secp256k1_s(const uint8_t signature[TEZOS_SIGNATURE_SIZE],
                                    const BIGNUM *order, BIGNUM *s, bool *high)
{
    BIGNUM *half = BN_new();
    enum tezos_error error = TEZOS_ERR_CRYPTO;

    if (half == NULL || BN_bin2bn(signature + HALF_SIZE, HALF_SIZE, s) == NULL ||
        !BN_rshift1(half, order))
        goto done;
    error = TEZOS_ERR_SIGNATURE;
    if (BN_is_zero(s) || BN_cmp(s, order) >= 0)
        goto done;
    *high = BN_cmp(s, half) > 0;
    error = TEZOS_OK;
done:
    BN_free(half);
    return error;
}

/* The order n of secp256k1 (SEC 2, 2.4.1), big-endian. A constant rather than OpenSSL's group:
 * building an EC_GROUP costs some 16 µs, and this runs twice on every secp256k1 signature. */
static const uint8_t secp256k1_order[HALF_SIZE] = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
    0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41,
};

/* Checks S and, when normalize is set and S is high, replaces it by n − S: the same signature for
 * ECDSA, and the one libsecp256k1 accepts. */
static enum tezos_error secp256k1_low_s(uint8_t signature[TEZOS_SIGNATURE_SIZE], bool normalize,
                                        bool *high)
{
    BIGNUM *order = BN_bin2bn(secp256k1_order, HALF_SIZE, NULL);
    BIGNUM *s = BN_new();
    enum tezos_error error = TEZOS_ERR_CRYPTO;

    *high = false;
    if (order == NULL || s == NULL)
        goto done;
    if ((error = secp256k1_s(signature, order, s, high)) != TEZOS_OK || !*high || !normalize)
        goto done;
    if (!BN_sub(s, order, s) || BN_bn2binpad(s, signature + HALF_SIZE, HALF_SIZE) != HALF_SIZE)
        error = TEZOS_ERR_CRYPTO;
done:
    BN_free(s);
    BN_free(order);
    return error;
}

enum tezos_error tezos_signature_normalize(enum tezos_curve curve,
                                           uint8_t signature[TEZOS_SIGNATURE_SIZE], bool *changed)
{
    bool high = false;
    enum tezos_error error = TEZOS_OK;

    if (curve == TEZOS_CURVE_SECP256K1)
        error = secp256k1_low_s(signature, true, &high);
    if (changed != NULL)
        *changed = error == TEZOS_OK && high;
    return error;
}

/* OpenSSL's P-256 key of the point; NULL when it is not on the curve. */
static EVP_PKEY *p256_public_key(const struct tezos_public_key *key)
{
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)"prime256v1", 0),
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)key->bytes, key->len),
        OSSL_PARAM_construct_end(),
    };
    EVP_PKEY_CTX *context = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    EVP_PKEY *pkey = NULL;

    if (context == NULL || EVP_PKEY_fromdata_init(context) != 1 ||
        EVP_PKEY_fromdata(context, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
        pkey = NULL;
    EVP_PKEY_CTX_free(context);
    return pkey;
}

/* r‖s as the DER ECDSA-Sig-Value OpenSSL verifies; *der is OPENSSL_malloc'ed. */
static int ecdsa_der(const uint8_t signature[TEZOS_SIGNATURE_SIZE], uint8_t **der)
{
    ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(signature, HALF_SIZE, NULL);
    BIGNUM *s = BN_bin2bn(signature + HALF_SIZE, HALF_SIZE, NULL);
    int len = -1;

    if (sig == NULL || r == NULL || s == NULL || ECDSA_SIG_set0(sig, r, s) != 1) {
        BN_free(r);
        BN_free(s);
    } else {
        *der = NULL;
        len = i2d_ECDSA_SIG(sig, der);
    }
    ECDSA_SIG_free(sig);
    return len;
}

static enum tezos_error p256_verify(EVP_PKEY *pkey, const uint8_t digest[TEZOS_DIGEST_SIZE],
                                    const uint8_t signature[TEZOS_SIGNATURE_SIZE])
{
    EVP_PKEY_CTX *context = EVP_PKEY_CTX_new(pkey, NULL);
    uint8_t *der = NULL;
    int der_len = ecdsa_der(signature, &der);
    enum tezos_error error = TEZOS_ERR_CRYPTO;

    if (context != NULL && der_len > 0 && EVP_PKEY_verify_init(context) == 1)
        error = EVP_PKEY_verify(context, der, (size_t)der_len, digest, TEZOS_DIGEST_SIZE) == 1
                    ? TEZOS_OK
                    : TEZOS_ERR_SIGNATURE;
    OPENSSL_free(der);
    EVP_PKEY_CTX_free(context);
    return error;
}

/*
 * secp256k1 as Octez checks it: with libsecp256k1 itself, which refuses a high S (and, several
 * times faster than OpenSSL's generic curve code, keeps the check of every signature cheap). The
 * static context needs no allocation and holds no state: verification needs no randomization.
 */
static enum tezos_error secp256k1_verify(const secp256k1_pubkey *point,
                                         const uint8_t digest[TEZOS_DIGEST_SIZE],
                                         const uint8_t signature[TEZOS_SIGNATURE_SIZE])
{
    const secp256k1_context *context = secp256k1_context_static;
    secp256k1_ecdsa_signature parsed;

    /* Compact r‖s: fails for r or s not below the order. */
    if (secp256k1_ecdsa_signature_parse_compact(context, &parsed, signature) != 1)
        return TEZOS_ERR_SIGNATURE;
    return secp256k1_ecdsa_verify(context, &parsed, digest, point) == 1 ? TEZOS_OK
                                                                        : TEZOS_ERR_SIGNATURE;
}

struct tezos_verifier {
    struct tezos_public_key key;
    secp256k1_pubkey secp256k1; /* secp256k1: the parsed point */
    EVP_PKEY *p256;             /* P-256: OpenSSL's key */
};

enum tezos_error tezos_verifier_new(const struct tezos_public_key *key,
                                    struct tezos_verifier **verifier)
{
    struct tezos_verifier *made = calloc(1, sizeof *made);
    enum tezos_error error = TEZOS_OK;

    *verifier = NULL;
    if (made == NULL)
        return TEZOS_ERR_MEMORY;
    made->key = *key;
    switch (key->curve) {
    case TEZOS_CURVE_ED25519:
        break;
    case TEZOS_CURVE_SECP256K1:
        if (secp256k1_ec_pubkey_parse(secp256k1_context_static, &made->secp256k1, key->bytes,
                                      key->len) != 1)
            error = TEZOS_ERR_KEY;
        break;
    case TEZOS_CURVE_P256:
        made->p256 = p256_public_key(key);
        if (made->p256 == NULL)
            error = TEZOS_ERR_KEY;
        break;
    default:
        error = TEZOS_ERR_CURVE;
    }
    if (error != TEZOS_OK)
        tezos_verifier_free(made);
    else
        *verifier = made;
    return error;
}

enum tezos_error tezos_verifier_copy(const struct tezos_verifier *verifier,
                                     struct tezos_verifier **copy)
{
    *copy = malloc(sizeof **copy);
    if (*copy == NULL)
        return TEZOS_ERR_MEMORY;
    **copy = *verifier;
    if (verifier->p256 != NULL && EVP_PKEY_up_ref(verifier->p256) != 1) {
        free(*copy);
        *copy = NULL;
        return TEZOS_ERR_MEMORY;
    }
    return TEZOS_OK;
}

void tezos_verifier_free(struct tezos_verifier *verifier)
{
    if (verifier == NULL)
        return;
    EVP_PKEY_free(verifier->p256);
    free(verifier);
}

const struct tezos_public_key *tezos_verifier_key(const struct tezos_verifier *verifier)
{
    return &verifier->key;
}

enum tezos_error tezos_verifier_check(const struct tezos_verifier *verifier, const uint8_t *request,
                                      size_t request_len,
                                      const uint8_t signature[TEZOS_SIGNATURE_SIZE])
{
    uint8_t digest[TEZOS_DIGEST_SIZE];

    tezos_blake2b_256(request, request_len, digest);
    switch (verifier->key.curve) {
    case TEZOS_CURVE_ED25519:
        return crypto_sign_verify_detached(signature, digest, sizeof digest, verifier->key.bytes) ==
                       0
                   ? TEZOS_OK
                   : TEZOS_ERR_SIGNATURE;
    case TEZOS_CURVE_SECP256K1:
        return secp256k1_verify(&verifier->secp256k1, digest, signature);
    case TEZOS_CURVE_P256:
        return p256_verify(verifier->p256, digest, signature);
    }
    return TEZOS_ERR_CURVE;
}

enum tezos_error tezos_signature_verify(const struct tezos_public_key *key, const uint8_t *request,
                                        size_t request_len,
                                        const uint8_t signature[TEZOS_SIGNATURE_SIZE])
{
    struct tezos_verifier *verifier;
    enum tezos_error error = tezos_verifier_new(key, &verifier);

    if (error == TEZOS_OK)
        error = tezos_verifier_check(verifier, request, request_len, signature);
    tezos_verifier_free(verifier);
    return error;
}

enum tezos_error tezos_signature_to_text(enum tezos_curve curve,
                                         const uint8_t signature[TEZOS_SIGNATURE_SIZE], char *text,
                                         size_t text_size)
{
    switch (curve) {
    case TEZOS_CURVE_ED25519:
        return tezos_base58check_encode(TEZOS_B58_EDSIG, signature, text, text_size);
    case TEZOS_CURVE_SECP256K1:
        return tezos_base58check_encode(TEZOS_B58_SPSIG1, signature, text, text_size);
    case TEZOS_CURVE_P256:
        return tezos_base58check_encode(TEZOS_B58_P2SIG, signature, text, text_size);
    }
    return TEZOS_ERR_CURVE;
}
