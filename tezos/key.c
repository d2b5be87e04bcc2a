/* Tezos public keys and addresses from the PKCS#11 attributes of EC and Edwards keys. */
#include "tezos.h"

#include <openssl/ec.h>
#include <openssl/obj_mac.h>
#include <string.h>

#define DER_OCTET_STRING     0x04
#define DER_OID              0x06
#define DER_PRINTABLE_STRING 0x13

#define ED25519_KEY_SIZE     32
#define EC_COMPRESSED_SIZE   33
#define EC_UNCOMPRESSED_SIZE 65

static const struct curve_name {
    enum tezos_curve curve;
    uint8_t tag;
    const char *content;
    size_t len;
} curve_names[] = {
    {TEZOS_CURVE_P256, DER_OID, "\x2a\x86\x48\xce\x3d\x03\x01\x07", 8}, /* 1.2.840.10045.3.1.7 */
    {TEZOS_CURVE_SECP256K1, DER_OID, "\x2b\x81\x04\x00\x0a", 5},        /* 1.3.132.0.10 */
    {TEZOS_CURVE_ED25519, DER_OID, "\x2b\x65\x70", 3},                  /* 1.3.101.112 */
    {TEZOS_CURVE_ED25519, DER_PRINTABLE_STRING, "edwards25519", 12},    /* PKCS#11 3.0 */
};

static const struct key_kinds {
    enum tezos_curve curve;
    enum tezos_base58_kind key, address;
    int openssl_nid;
} key_kinds[] = {
    {TEZOS_CURVE_ED25519, TEZOS_B58_EDPK, TEZOS_B58_TZ1, NID_undef},
    {TEZOS_CURVE_SECP256K1, TEZOS_B58_SPPK, TEZOS_B58_TZ2, NID_secp256k1},
    {TEZOS_CURVE_P256, TEZOS_B58_P2PK, TEZOS_B58_TZ3, NID_X9_62_prime256v1},
};

static const struct key_kinds *kinds_of_curve(enum tezos_curve curve)
{
    for (size_t i = 0; i < sizeof key_kinds / sizeof key_kinds[0]; i++) {
        if (key_kinds[i].curve == curve)
            return &key_kinds[i];
    }
    return NULL;
}

/* One whole DER element (tag, definite length up to 2 bytes, content) and nothing after it. */
static bool der_element(const uint8_t *der, size_t len, uint8_t *tag, const uint8_t **content,
                        size_t *content_len)
{
    size_t header = 2, size;

    if (len < 2)
        return false;
    *tag = der[0];
    size = der[1];
    if (size == 0x81 || size == 0x82) {
        size_t octets = size & 0x7f;

        if (len < 2 + octets)
            return false;
        size = octets == 1 ? der[2] : (size_t)der[2] << 8 | der[3];
        header += octets;
    } else if (size & 0x80) {
        return false;
    }
    if (len - header != size)
        return false;
    *content = der + header;
    *content_len = size;
    return true;
}

enum tezos_error tezos_curve_from_ec_params(const uint8_t *der, size_t len, enum tezos_curve *curve)
{
    const uint8_t *content;
    size_t content_len;
    uint8_t tag;

    if (!der_element(der, len, &tag, &content, &content_len) ||
        (tag != DER_OID && tag != DER_PRINTABLE_STRING))
        return TEZOS_ERR_KEY_ENCODING;
    for (size_t i = 0; i < sizeof curve_names / sizeof curve_names[0]; i++) {
        const struct curve_name *name = &curve_names[i];

        if (tag == name->tag && content_len == name->len &&
            memcmp(content, name->content, name->len) == 0) {
            *curve = name->curve;
            return TEZOS_OK;
        }
    }
    return TEZOS_ERR_CURVE;
}

/* Any encoding of a point on nid's curve as the 33-byte compressed point; off-curve: an error. */
static enum tezos_error compress_point(int nid, const uint8_t *point, size_t len,
                                       uint8_t out[EC_COMPRESSED_SIZE])
{
    EC_GROUP *group = EC_GROUP_new_by_curve_name(nid);
    EC_POINT *decoded = group != NULL ? EC_POINT_new(group) : NULL;
    enum tezos_error error = TEZOS_ERR_CRYPTO;

    if (decoded == NULL)
        goto done;
    error = TEZOS_ERR_KEY;
    if (EC_POINT_oct2point(group, decoded, point, len, NULL) != 1 ||
        EC_POINT_is_at_infinity(group, decoded) || EC_POINT_is_on_curve(group, decoded, NULL) != 1)
        goto done;
    if (EC_POINT_point2oct(group, decoded, POINT_CONVERSION_COMPRESSED, out, EC_COMPRESSED_SIZE,
                           NULL) != EC_COMPRESSED_SIZE) {
        error = TEZOS_ERR_CRYPTO;
        goto done;
    }
    error = TEZOS_OK;
done:
    EC_POINT_free(decoded);
    EC_GROUP_free(group);
    return error;
}

static bool point_size_fits(enum tezos_curve curve, size_t len)
{
    if (curve == TEZOS_CURVE_ED25519)
        return len == ED25519_KEY_SIZE;
    return len == EC_COMPRESSED_SIZE || len == EC_UNCOMPRESSED_SIZE;
}

static enum tezos_error key_from_point(enum tezos_curve curve, const uint8_t *point, size_t len,
                                       struct tezos_public_key *key)
{
    enum tezos_error error;

    if (!point_size_fits(curve, len))
        return TEZOS_ERR_KEY_ENCODING;
    key->curve = curve;
    if (curve == TEZOS_CURVE_ED25519) {
        memcpy(key->bytes, point, ED25519_KEY_SIZE);
        key->len = ED25519_KEY_SIZE;
        return TEZOS_OK;
    }
    if ((error = compress_point(kinds_of_curve(curve)->openssl_nid, point, len, key->bytes)) !=
        TEZOS_OK)
        return error;
    key->len = EC_COMPRESSED_SIZE;
    return TEZOS_OK;
}

enum tezos_error tezos_public_key_from_pkcs11(const uint8_t *ec_params, size_t params_len,
                                              const uint8_t *ec_point, size_t point_len,
                                              struct tezos_public_key *key)
{
    enum tezos_curve curve;
    const uint8_t *content;
    size_t content_len;
    uint8_t tag;
    enum tezos_error error;

    if ((error = tezos_curve_from_ec_params(ec_params, params_len, &curve)) != TEZOS_OK)
        return error;
    /* The standard says DER OCTET STRING; some tokens give the raw point. A raw point can look
     * like a DER header by chance, so DER wins only when its content has a point's size. */
    if (der_element(ec_point, point_len, &tag, &content, &content_len) && tag == DER_OCTET_STRING &&
        point_size_fits(curve, content_len))
        return key_from_point(curve, content, content_len, key);
    return key_from_point(curve, ec_point, point_len, key);
}

enum tezos_error tezos_public_key_to_text(const struct tezos_public_key *key, char *text,
                                          size_t text_size)
{
    const struct key_kinds *kinds = kinds_of_curve(key->curve);

    if (kinds == NULL)
        return TEZOS_ERR_CURVE;
    return tezos_base58check_encode(kinds->key, key->bytes, text, text_size);
}

enum tezos_error tezos_public_key_from_text(const char *text, struct tezos_public_key *key)
{
    uint8_t payload[TEZOS_BASE58_BYTES_MAX];
    enum tezos_base58_kind kind;
    size_t len;
    enum tezos_error error;

    if ((error = tezos_base58check_decode(text, &kind, payload, &len)) != TEZOS_OK)
        return error;
    for (size_t i = 0; i < sizeof key_kinds / sizeof key_kinds[0]; i++) {
        if (key_kinds[i].key == kind)
            return key_from_point(key_kinds[i].curve, payload, len, key);
    }
    return TEZOS_ERR_PREFIX;
}

enum tezos_error tezos_address(const struct tezos_public_key *key, char *text, size_t text_size)
{
    const struct key_kinds *kinds = kinds_of_curve(key->curve);
    uint8_t hash[TEZOS_ADDRESS_HASH_SIZE];

    if (kinds == NULL)
        return TEZOS_ERR_CURVE;
    tezos_blake2b_160(key->bytes, key->len, hash);
    return tezos_base58check_encode(kinds->address, hash, text, text_size);
}
