/* The one place where what tezos/ and watermark/ answer becomes a PKCS#11 return code. */
#include "module.h"

CK_RV rv_from_tezos(enum tezos_error error)
{
    switch (error) {
    case TEZOS_OK:
        return CKR_OK;
    /* What the caller asked to sign is not a request tzwm can account for. */
    case TEZOS_ERR_EMPTY:
    case TEZOS_ERR_DIGEST:
    case TEZOS_ERR_EMMY:
    case TEZOS_ERR_MAGIC:
    case TEZOS_ERR_TAG_BLS:
    case TEZOS_ERR_TAG:
    case TEZOS_ERR_TRUNCATED:
    case TEZOS_ERR_TRAILING:
    case TEZOS_ERR_NEGATIVE_LEVEL:
    case TEZOS_ERR_NEGATIVE_ROUND:
    case TEZOS_ERR_FITNESS:
    case TEZOS_ERR_SEED_NONCE_FLAG:
    case TEZOS_ERR_VOTES:
    case TEZOS_ERR_ZARITH:
        return CKR_DATA_INVALID;
    /* The key is not one a Tezos baker signs with. */
    case TEZOS_ERR_KEY_ENCODING:
    case TEZOS_ERR_CURVE:
    case TEZOS_ERR_KEY:
        return CKR_KEY_TYPE_INCONSISTENT;
    /* Anything else is tzwm failing, and nothing is signed. */
    case TEZOS_ERR_BASE58:
    case TEZOS_ERR_CHECKSUM:
    case TEZOS_ERR_PREFIX:
    case TEZOS_ERR_BUFFER:
    case TEZOS_ERR_SIGNATURE:
    case TEZOS_ERR_MEMORY:
        return CKR_HOST_MEMORY;
    case TEZOS_ERR_CRYPTO:
        break;
    }
    return CKR_FUNCTION_FAILED;
}

CK_RV rv_from_watermark(enum watermark_result result)
{
    switch (result) {
    case WATERMARK_OK:
        return CKR_OK;
    case WATERMARK_REFUSED: /* at or below the shared watermark: a double signature */
        return CKR_FUNCTION_REJECTED;
    case WATERMARK_UNAVAILABLE:
        break;
    }
    return CKR_FUNCTION_FAILED;
}
