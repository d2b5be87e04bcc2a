/*
 * One request signed by a token key through the module, as tzwm sign and tzwm-signer both do it:
 * the whole request goes to C_Sign and the module decides. What a refusal means is said here once,
 * so that the command line and the signer daemon explain the module's return codes alike.
 */
#include "cli.h"

#include <stdio.h>

CK_RV token_key_sign(const struct token_session *session, const struct token_key *key,
                     const uint8_t *request, size_t len, char *signature_text, size_t text_size)
{
    CK_MECHANISM mechanism = {key->mechanism, NULL, 0};
    uint8_t signature[TEZOS_SIGNATURE_SIZE];
    CK_ULONG signature_len = sizeof signature;
    CK_RV rv;

    rv = session->p11->C_SignInit(session->handle, &mechanism, key->handle);
    if (rv != CKR_OK)
        return rv;
    rv = session->p11->C_Sign(session->handle, (CK_BYTE_PTR)request, (CK_ULONG)len, signature,
                              &signature_len);
    if (rv != CKR_OK)
        return rv;
    /* A module that answers with anything but a 64-byte Tezos signature is not tzwm. */
    if (signature_len != sizeof signature ||
        tezos_signature_to_text(key->identity.public_key.curve, signature, signature_text,
                                text_size) != TEZOS_OK)
        return CKR_GENERAL_ERROR;
    return CKR_OK;
}

void token_sign_explain(CK_RV rv, const uint8_t *request, size_t len, char *why, size_t why_size)
{
    struct tezos_request_result decoded;

    switch (rv) {
    case CKR_FUNCTION_REJECTED:
        snprintf(why, why_size,
                 "the watermark (this key already signed this kind at this level and round or "
                 "higher) or the policy (TZWM_ALLOW, TZWM_CHAINS)");
        break;
    case CKR_FUNCTION_FAILED:
        snprintf(why, why_size,
                 "the watermark store did not answer in time or failed (or is not configured), "
                 "or the token's signature did not verify with the key's public key");
        break;
    case CKR_DATA_INVALID:
        decoded = tezos_request_decode(request, len);
        snprintf(why, why_size, "not a request tzwm signs (%s)",
                 decoded.error != TEZOS_OK ? decoded.reason : "refused by the module");
        break;
    case CKR_DATA_LEN_RANGE:
        snprintf(why, why_size, "not a request tzwm signs (more than 64 KiB)");
        break;
    default:
        snprintf(why, why_size, "%s", "");
        break;
    }
}
