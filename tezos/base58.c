/* Base58check: payload ‖ first 4 bytes of sha256(sha256(prefix ‖ payload)), with Tezos prefixes. */
#include "tezos.h"

#include <openssl/sha.h>
#include <string.h>

static const char alphabet[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

#define CHECKSUM_SIZE 4
#define PREFIX_MAX    5
#define RAW_MAX       (PREFIX_MAX + TEZOS_BASE58_BYTES_MAX + CHECKSUM_SIZE)

static const struct prefix {
    enum tezos_base58_kind kind;
    uint8_t bytes[PREFIX_MAX];
    size_t len, payload_size;
} prefixes[] = {
    {TEZOS_B58_CHAIN_ID, {0x57, 0x52, 0x00}, 3, 4},
    {TEZOS_B58_TZ1, {0x06, 0xa1, 0x9f}, 3, 20},
    {TEZOS_B58_TZ2, {0x06, 0xa1, 0xa1}, 3, 20},
    {TEZOS_B58_TZ3, {0x06, 0xa1, 0xa4}, 3, 20},
    {TEZOS_B58_EDPK, {0x0d, 0x0f, 0x25, 0xd9}, 4, 32},
    {TEZOS_B58_SPPK, {0x03, 0xfe, 0xe2, 0x56}, 4, 33},
    {TEZOS_B58_P2PK, {0x03, 0xb2, 0x8b, 0x7f}, 4, 33},
    {TEZOS_B58_EDSIG, {0x09, 0xf5, 0xcd, 0x86, 0x12}, 5, 64},
    {TEZOS_B58_SPSIG1, {0x0d, 0x73, 0x65, 0x13, 0x3f}, 5, 64},
    {TEZOS_B58_P2SIG, {0x36, 0xf0, 0x2c, 0x34}, 4, 64},
    {TEZOS_B58_VALUE_HASH, {0x01, 0x6a, 0xf2}, 3, 32},
};

#define PREFIX_COUNT (sizeof prefixes / sizeof prefixes[0])

static const struct prefix *find_prefix(enum tezos_base58_kind kind)
{
    for (size_t i = 0; i < PREFIX_COUNT; i++) {
        if (prefixes[i].kind == kind)
            return &prefixes[i];
    }
    return NULL;
}

size_t tezos_base58_payload_size(enum tezos_base58_kind kind)
{
    const struct prefix *prefix = find_prefix(kind);

    return prefix != NULL ? prefix->payload_size : 0;
}

static void checksum(const uint8_t *bytes, size_t len, uint8_t out[CHECKSUM_SIZE])
{
    uint8_t once[SHA256_DIGEST_LENGTH], twice[SHA256_DIGEST_LENGTH];

    SHA256(bytes, len, once);
    SHA256(once, sizeof once, twice);
    memcpy(out, twice, CHECKSUM_SIZE);
}

/* Plain base58 of bytes: each leading zero byte is a '1', the rest a big number in base 58. */
static enum tezos_error base58_encode(const uint8_t *bytes, size_t len, char *text,
                                      size_t text_size)
{
    /* Base-58 digits, least significant first; log(256)/log(58) < 1.37. */
    uint8_t digits[RAW_MAX * 138 / 100 + 1];
    size_t zeros = 0, count = 0, i;

    while (zeros < len && bytes[zeros] == 0)
        zeros++;
    for (i = zeros; i < len; i++) {
        unsigned carry = bytes[i];

        for (size_t j = 0; j < count; j++) {
            carry += (unsigned)digits[j] << 8;
            digits[j] = carry % 58;
            carry /= 58;
        }
        while (carry > 0) {
            digits[count++] = carry % 58;
            carry /= 58;
        }
    }
    if (zeros + count + 1 > text_size)
        return TEZOS_ERR_BUFFER;
    for (i = 0; i < zeros; i++)
        text[i] = alphabet[0];
    for (size_t j = 0; j < count; j++)
        text[zeros + j] = alphabet[digits[count - 1 - j]];
    text[zeros + count] = '\0';
    return TEZOS_OK;
}

/* Plain base58 decoding into at most RAW_MAX bytes. */
static enum tezos_error base58_decode(const char *text, uint8_t *bytes, size_t *len)
{
    uint8_t number[RAW_MAX]; /* big-endian bytes of the number, least significant last */
    size_t zeros = 0, count = 0, i;

    while (text[zeros] == alphabet[0])
        zeros++;
    for (i = zeros; text[i] != '\0'; i++) {
        const char *at = strchr(alphabet, text[i]);
        unsigned carry;

        if (at == NULL)
            return TEZOS_ERR_BASE58;
        carry = (unsigned)(at - alphabet);
        for (size_t j = 0; j < count; j++) {
            carry += number[RAW_MAX - 1 - j] * 58u;
            number[RAW_MAX - 1 - j] = carry & 0xff;
            carry >>= 8;
        }
        while (carry > 0) {
            if (count == RAW_MAX)
                return TEZOS_ERR_PREFIX; /* longer than any Tezos base58check text */
            number[RAW_MAX - 1 - count++] = carry & 0xff;
            carry >>= 8;
        }
    }
    if (zeros + count > RAW_MAX)
        return TEZOS_ERR_PREFIX;
    memset(bytes, 0, zeros);
    memcpy(bytes + zeros, number + RAW_MAX - count, count);
    *len = zeros + count;
    return TEZOS_OK;
}

enum tezos_error tezos_base58check_encode(enum tezos_base58_kind kind, const uint8_t *payload,
                                          char *text, size_t text_size)
{
    const struct prefix *prefix = find_prefix(kind);
    uint8_t raw[RAW_MAX];
    size_t len;

    if (prefix == NULL)
        return TEZOS_ERR_PREFIX;
    memcpy(raw, prefix->bytes, prefix->len);
    memcpy(raw + prefix->len, payload, prefix->payload_size);
    len = prefix->len + prefix->payload_size;
    checksum(raw, len, raw + len);
    return base58_encode(raw, len + CHECKSUM_SIZE, text, text_size);
}

enum tezos_error tezos_base58check_decode(const char *text, enum tezos_base58_kind *kind,
                                          uint8_t *payload, size_t *payload_len)
{
    uint8_t raw[RAW_MAX], expected[CHECKSUM_SIZE];
    size_t len;
    enum tezos_error error;

    if ((error = base58_decode(text, raw, &len)) != TEZOS_OK)
        return error;
    if (len < CHECKSUM_SIZE)
        return TEZOS_ERR_PREFIX;
    len -= CHECKSUM_SIZE;
    checksum(raw, len, expected);
    if (memcmp(expected, raw + len, CHECKSUM_SIZE) != 0)
        return TEZOS_ERR_CHECKSUM;
    /* The prefix and the total length together name the kind (tz1/tz2/tz3 share 06 a1). */
    for (size_t i = 0; i < PREFIX_COUNT; i++) {
        const struct prefix *prefix = &prefixes[i];

        if (len == prefix->len + prefix->payload_size &&
            memcmp(raw, prefix->bytes, prefix->len) == 0) {
            *kind = prefix->kind;
            memcpy(payload, raw + prefix->len, prefix->payload_size);
            *payload_len = prefix->payload_size;
            return TEZOS_OK;
        }
    }
    return TEZOS_ERR_PREFIX;
}
