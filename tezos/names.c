/* The words tzwm prints for errors and request kinds. */
#include "tezos.h"

const char *tezos_error_text(enum tezos_error error)
{
    switch (error) {
    case TEZOS_OK:
        return "ok";
    case TEZOS_ERR_EMPTY:
        return "empty request";
    case TEZOS_ERR_DIGEST:
        return "a 32-byte digest, not a request";
    case TEZOS_ERR_EMMY:
        return "pre-Tenderbake (Emmy) request";
    case TEZOS_ERR_MAGIC:
        return "unknown magic byte";
    case TEZOS_ERR_TAG_BLS:
        return "tz4 (BLS) consensus operation";
    case TEZOS_ERR_TAG:
        return "unknown operation tag";
    case TEZOS_ERR_TRUNCATED:
        return "request truncated";
    case TEZOS_ERR_TRAILING:
        return "trailing bytes after the request";
    case TEZOS_ERR_NEGATIVE_LEVEL:
        return "negative level";
    case TEZOS_ERR_NEGATIVE_ROUND:
        return "negative round";
    case TEZOS_ERR_FITNESS:
        return "not a Tenderbake fitness";
    case TEZOS_ERR_SEED_NONCE_FLAG:
        return "invalid seed nonce hash flag";
    case TEZOS_ERR_VOTES:
        return "invalid per-block votes";
    case TEZOS_ERR_ZARITH:
        return "malformed Zarith natural";
    case TEZOS_ERR_BASE58:
        return "invalid base58 character";
    case TEZOS_ERR_CHECKSUM:
        return "base58check checksum mismatch";
    case TEZOS_ERR_PREFIX:
        return "unknown or unexpected base58check prefix";
    case TEZOS_ERR_BUFFER:
        return "output buffer too small";
    case TEZOS_ERR_KEY_ENCODING:
        return "malformed EC parameters or point";
    case TEZOS_ERR_CURVE:
        return "curve not usable by Tezos";
    case TEZOS_ERR_KEY:
        return "point not on its curve";
    case TEZOS_ERR_SIGNATURE:
        return "signature does not verify";
    case TEZOS_ERR_CRYPTO:
        return "cryptographic library failure";
    case TEZOS_ERR_MEMORY:
        return "out of memory";
    }
    return "unknown error";
}

const char *tezos_kind_name(enum tezos_kind kind)
{
    switch (kind) {
    case TEZOS_KIND_BLOCK:
        return "block";
    case TEZOS_KIND_PREATTESTATION:
        return "preattestation";
    case TEZOS_KIND_ATTESTATION:
        return "attestation";
    case TEZOS_KIND_GENERIC:
        return "generic";
    case TEZOS_KIND_MICHELSON:
        return "michelson";
    }
    return "unknown";
}

bool tezos_kind_is_consensus(enum tezos_kind kind)
{
    return kind == TEZOS_KIND_BLOCK || kind == TEZOS_KIND_PREATTESTATION ||
           kind == TEZOS_KIND_ATTESTATION;
}
