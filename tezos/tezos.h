/*
 * tezos/: what tzwm knows about Tezos, as pure functions (libc, libsodium and OpenSSL only; no I/O,
 * no global state). It decodes signing requests, hashes them, speaks base58check, turns PKCS#11 key
 * attributes into Tezos keys and addresses, and normalises and checks signatures.
 *
 * Every function that can fail returns an enum tezos_error; tezos_error_text() says what it means.
 * tezos_request_decode() also gives a reason naming the exact byte and field.
 */
#ifndef TZWM_TEZOS_H
#define TZWM_TEZOS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum tezos_error {
    TEZOS_OK = 0,
    /* Requests */
    TEZOS_ERR_EMPTY,           /* no bytes at all */
    TEZOS_ERR_DIGEST,          /* 32 bytes: a digest, not a request; tzwm must see the request */
    TEZOS_ERR_EMMY,            /* magic 0x01 or 0x02: pre-Tenderbake, dead since 2022 */
    TEZOS_ERR_MAGIC,           /* an unknown magic byte */
    TEZOS_ERR_TAG_BLS,         /* tags 40/41: tz4 (BLS) consensus operations */
    TEZOS_ERR_TAG,             /* any other operation tag */
    TEZOS_ERR_TRUNCATED,       /* the bytes end inside a field */
    TEZOS_ERR_TRAILING,        /* bytes after the end of the request */
    TEZOS_ERR_NEGATIVE_LEVEL,  /* level < 0 */
    TEZOS_ERR_NEGATIVE_ROUND,  /* round < 0 (fitness round, locked round or consensus round) */
    TEZOS_ERR_FITNESS,         /* a block fitness that is not Tenderbake's */
    TEZOS_ERR_SEED_NONCE_FLAG, /* a seed nonce hash flag other than 0x00 or 0xff */
    TEZOS_ERR_VOTES,           /* a per-block votes byte no protocol emits */
    TEZOS_ERR_ZARITH,          /* a DAL bitset that is not a canonical Zarith natural */
    /* Encodings, keys and signatures */
    TEZOS_ERR_BASE58,       /* a character outside the base58 alphabet */
    TEZOS_ERR_CHECKSUM,     /* base58check checksum mismatch */
    TEZOS_ERR_PREFIX,       /* base58check text of an unknown or unexpected kind */
    TEZOS_ERR_BUFFER,       /* the output buffer is too small */
    TEZOS_ERR_KEY_ENCODING, /* malformed CKA_EC_PARAMS / CKA_EC_POINT */
    TEZOS_ERR_CURVE,        /* a curve Tezos keys cannot use */
    TEZOS_ERR_KEY,          /* a point that is not on its curve */
    TEZOS_ERR_SIGNATURE,    /* a signature that does not verify (or has a high S on secp256k1) */
    TEZOS_ERR_CRYPTO,       /* libsodium or OpenSSL failed */
    TEZOS_ERR_MEMORY,       /* out of memory */
};

/* A short, stable English description of an error ("request truncated", ...). */
const char *tezos_error_text(enum tezos_error error);

/* ---- Hashes (libsodium's BLAKE2b, unkeyed) ---- */

#define TEZOS_DIGEST_SIZE       32 /* blake2b-256: what is signed */
#define TEZOS_ADDRESS_HASH_SIZE 20 /* blake2b-160: an address */

void tezos_blake2b_256(const uint8_t *bytes, size_t len, uint8_t digest[TEZOS_DIGEST_SIZE]);
void tezos_blake2b_160(const uint8_t *bytes, size_t len, uint8_t hash[TEZOS_ADDRESS_HASH_SIZE]);

/* ---- Signing requests ---- */

enum tezos_kind {
    TEZOS_KIND_BLOCK,          /* 0x11 */
    TEZOS_KIND_PREATTESTATION, /* 0x12, tag 20 */
    TEZOS_KIND_ATTESTATION,    /* 0x13, tags 21 and 23: one watermark row for both */
    TEZOS_KIND_GENERIC,        /* 0x03: transfers and other manager operations */
    TEZOS_KIND_MICHELSON,      /* 0x05: packed Michelson data */
};

/* "block", "preattestation", "attestation", "generic", "michelson". */
const char *tezos_kind_name(enum tezos_kind kind);

/* Blocks, preattestations and attestations: the kinds that carry chain, level and round. */
bool tezos_kind_is_consensus(enum tezos_kind kind);

#define TEZOS_CHAIN_ID_SIZE 4

struct tezos_request {
    enum tezos_kind kind;
    /* Consensus kinds only (zero otherwise). */
    uint8_t chain_id[TEZOS_CHAIN_ID_SIZE];
    int32_t level;
    int32_t round; /* blocks: the last fitness element, not the payload round */
    bool has_slot; /* preattestations and attestations */
    uint16_t slot;
    /* Blocks only: what the header says besides, for logs and tests. */
    int32_t payload_round;
    bool has_locked_round;
    int32_t locked_round;
    bool has_seed_nonce_hash;
    /* Attestations only: tag 23 (with a DAL bitset) rather than 21. */
    bool has_dal_content;
    /* Every kind: blake2b-256 of the whole request, the bytes that get signed. */
    uint8_t digest[TEZOS_DIGEST_SIZE];
};

struct tezos_request_result {
    enum tezos_error error;
    char reason[192];             /* error != TEZOS_OK: what is wrong and where, for a log line */
    struct tezos_request request; /* error == TEZOS_OK only */
};

/* Decodes a whole signing request (magic byte included). Refuses anything it cannot fully
 * account for: truncation, trailing bytes, unknown magic bytes and tags, malformed fields. */
struct tezos_request_result tezos_request_decode(const uint8_t *bytes, size_t len);

/* ---- Base58check ---- */

enum tezos_base58_kind {
    TEZOS_B58_CHAIN_ID,   /* Net…, 4 bytes */
    TEZOS_B58_TZ1,        /* Ed25519 address, 20 bytes */
    TEZOS_B58_TZ2,        /* secp256k1 address */
    TEZOS_B58_TZ3,        /* P-256 address */
    TEZOS_B58_EDPK,       /* Ed25519 public key, 32 bytes */
    TEZOS_B58_SPPK,       /* secp256k1 public key, 33 bytes (compressed) */
    TEZOS_B58_P2PK,       /* P-256 public key, 33 bytes (compressed) */
    TEZOS_B58_EDSIG,      /* Ed25519 signature, 64 bytes */
    TEZOS_B58_SPSIG1,     /* secp256k1 signature r‖s */
    TEZOS_B58_P2SIG,      /* P-256 signature r‖s */
    TEZOS_B58_VALUE_HASH, /* vh…, a request digest, 32 bytes */
};

/* Large enough for every kind's text and its terminating NUL. */
#define TEZOS_BASE58_TEXT_MAX  112
#define TEZOS_BASE58_BYTES_MAX 64

/* The payload size of a kind (4, 20, 32, 33 or 64). */
size_t tezos_base58_payload_size(enum tezos_base58_kind kind);

/* payload (tezos_base58_payload_size(kind) bytes) as base58check text with the kind's prefix. */
enum tezos_error tezos_base58check_encode(enum tezos_base58_kind kind, const uint8_t *payload,
                                          char *text, size_t text_size);

/* Text of any kind above: its kind and payload (out must hold TEZOS_BASE58_BYTES_MAX bytes). */
enum tezos_error tezos_base58check_decode(const char *text, enum tezos_base58_kind *kind,
                                          uint8_t *payload, size_t *payload_len);

/* ---- Keys ---- */

enum tezos_curve {
    TEZOS_CURVE_ED25519,   /* tz1 */
    TEZOS_CURVE_SECP256K1, /* tz2 */
    TEZOS_CURVE_P256,      /* tz3 */
};

/* Ed25519: the 32-byte key. ECDSA: the 33-byte compressed point (02/03 ‖ X). */
struct tezos_public_key {
    enum tezos_curve curve;
    size_t len;
    uint8_t bytes[33];
};

/* The curve named by CKA_EC_PARAMS: a DER OID (P-256, secp256k1, Ed25519) or the DER
 * PrintableString "edwards25519". Other curves: TEZOS_ERR_CURVE. */
enum tezos_error tezos_curve_from_ec_params(const uint8_t *der, size_t len,
                                            enum tezos_curve *curve);

/* The Tezos public key of a PKCS#11 EC or Edwards key: CKA_EC_PARAMS and CKA_EC_POINT (a DER
 * OCTET STRING or the raw point; EC points uncompressed or compressed, checked on the curve). */
enum tezos_error tezos_public_key_from_pkcs11(const uint8_t *ec_params, size_t params_len,
                                              const uint8_t *ec_point, size_t point_len,
                                              struct tezos_public_key *key);

/* edpk… / sppk… / p2pk… text, and back (an EC point is checked on its curve). */
enum tezos_error tezos_public_key_to_text(const struct tezos_public_key *key, char *text,
                                          size_t text_size);
enum tezos_error tezos_public_key_from_text(const char *text, struct tezos_public_key *key);

/* The tz1… / tz2… / tz3… address: blake2b-160 of the key bytes. */
enum tezos_error tezos_address(const struct tezos_public_key *key, char *text, size_t text_size);

/* ---- Signatures (64 bytes: Ed25519, or r‖s big-endian for ECDSA) ---- */

#define TEZOS_SIGNATURE_SIZE 64

/* secp256k1: replaces a high S by n − S, which Octez (libsecp256k1) requires. Other curves are
 * left untouched. *changed (may be NULL) says whether S was replaced. */
enum tezos_error tezos_signature_normalize(enum tezos_curve curve,
                                           uint8_t signature[TEZOS_SIGNATURE_SIZE], bool *changed);

/* Checks signature against key over blake2b-256(request), as a Tezos node would: secp256k1
 * signatures with a high S are refused. TEZOS_OK or TEZOS_ERR_SIGNATURE (TEZOS_ERR_KEY for a
 * point not on its curve). */
enum tezos_error tezos_signature_verify(const struct tezos_public_key *key, const uint8_t *request,
                                        size_t request_len,
                                        const uint8_t signature[TEZOS_SIGNATURE_SIZE]);

/* A public key parsed once to check many signatures (what tezos_signature_verify does each time:
 * for P-256, building OpenSSL's key costs about a third of a verification). Immutable once made:
 * any number of threads may check with one verifier at once. */
struct tezos_verifier;
enum tezos_error tezos_verifier_new(const struct tezos_public_key *key,
                                    struct tezos_verifier **verifier);
/* A verifier of its own for another owner, sharing what was parsed (OpenSSL's key is reference
 * counted): a small allocation, no parsing. TEZOS_OK or TEZOS_ERR_MEMORY. */
enum tezos_error tezos_verifier_copy(const struct tezos_verifier *verifier,
                                     struct tezos_verifier **copy);
void tezos_verifier_free(struct tezos_verifier *verifier);
/* The key the verifier was made from. */
const struct tezos_public_key *tezos_verifier_key(const struct tezos_verifier *verifier);
/* tezos_signature_verify with the verifier's key. */
enum tezos_error tezos_verifier_check(const struct tezos_verifier *verifier, const uint8_t *request,
                                      size_t request_len,
                                      const uint8_t signature[TEZOS_SIGNATURE_SIZE]);

/* edsig… / spsig1… / p2sig… text of a signature by a key on curve. */
enum tezos_error tezos_signature_to_text(enum tezos_curve curve,
                                         const uint8_t signature[TEZOS_SIGNATURE_SIZE], char *text,
                                         size_t text_size);

#endif
