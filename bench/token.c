/*
 * The bench as a PKCS#11 client, of SoftHSM directly or of libtzwm.so over it: the same calls a
 * signer makes, so that the two can be compared call for call.
 */
#include "bench.h"
#include "module.h" /* ckr_name */

#include <string.h>

void bench_token_open(struct bench_token *token, const char *module_path, const char *label,
                      const char *pin)
{
    char error[1024];
    CK_RV rv;

    memset(token, 0, sizeof *token);
    if (client_module_load(&token->module, module_path, error, sizeof error) != 0)
        bench_fail("%s", error);
    token->p11 = token->module.p11;
    /* Threads sign at once: a NULL argument would tell the token (SoftHSM then drops its locks)
     * that they never do. */
    CK_C_INITIALIZE_ARGS threads = {.flags = CKF_OS_LOCKING_OK};
    rv = token->p11->C_Initialize(&threads);
    if (rv != CKR_OK)
        bench_fail("C_Initialize of %s: %s", module_path, ckr_name(rv));
    rv = client_find_slot(token->p11, label, &token->slot);
    if (rv != CKR_OK)
        bench_fail("no token '%s' in %s: %s", label, module_path, ckr_name(rv));
    token->session = bench_token_session(token);
    rv = token->p11->C_Login(token->session, CKU_USER, (CK_UTF8CHAR_PTR)pin, (CK_ULONG)strlen(pin));
    if (rv != CKR_OK)
        bench_fail("C_Login to '%s': %s", label, ckr_name(rv));
}

void bench_token_close(struct bench_token *token)
{
    CK_RV rv = token->p11->C_Finalize(NULL);

    if (rv != CKR_OK)
        bench_fail("C_Finalize: %s", ckr_name(rv));
    client_module_unload(&token->module);
    memset(token, 0, sizeof *token);
}

CK_SESSION_HANDLE bench_token_session(const struct bench_token *token)
{
    CK_SESSION_HANDLE session = CK_INVALID_HANDLE;
    CK_RV rv = token->p11->C_OpenSession(token->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL,
                                         NULL, &session);

    if (rv != CKR_OK)
        bench_fail("C_OpenSession: %s", ckr_name(rv));
    return session;
}

/* The one object of class with the key's label. */
static CK_OBJECT_HANDLE find_object(const struct bench_token *token, const struct bench_key *key,
                                    CK_OBJECT_CLASS class)
{
    CK_ATTRIBUTE template[] = {
        {CKA_CLASS, &class, sizeof class},
        {CKA_LABEL, (void *)key->label, (CK_ULONG)strlen(key->label)},
    };
    CK_OBJECT_HANDLE found[2];
    CK_ULONG count = 0;
    CK_FUNCTION_LIST_PTR p11 = token->p11;
    CK_RV rv = p11->C_FindObjectsInit(token->session, template, 2);

    if (rv == CKR_OK) {
        rv = p11->C_FindObjects(token->session, found, 2, &count);
        p11->C_FindObjectsFinal(token->session);
    }
    if (rv != CKR_OK || count != 1)
        bench_fail("looking for the key '%s': %s, %lu found", key->label, ckr_name(rv), count);
    return found[0];
}

void bench_key_find(const struct bench_token *token, struct bench_key *key)
{
    CK_OBJECT_HANDLE public_key = find_object(token, key, CKO_PUBLIC_KEY);
    CK_BYTE params[64], point[128];
    CK_ATTRIBUTE template[] = {
        {CKA_EC_PARAMS, params, sizeof params},
        {CKA_EC_POINT, point, sizeof point},
    };
    CK_RV rv;

    key->handle = find_object(token, key, CKO_PRIVATE_KEY);
    rv = token->p11->C_GetAttributeValue(token->session, public_key, template, 2);
    if (rv != CKR_OK)
        bench_fail("reading the public key '%s': %s", key->label, ckr_name(rv));
    if (tezos_public_key_from_pkcs11(params, template[0].ulValueLen, point, template[1].ulValueLen,
                                     &key->public_key) != TEZOS_OK ||
        tezos_address(&key->public_key, key->address, sizeof key->address) != TEZOS_OK)
        bench_fail("the key '%s' is not a Tezos key", key->label);
}

CK_RV bench_sign(CK_FUNCTION_LIST_PTR p11, CK_SESSION_HANDLE session, const struct bench_key *key,
                 const uint8_t *data, size_t length, uint8_t signature[TEZOS_SIGNATURE_SIZE])
{
    CK_MECHANISM mechanism = {key->mechanism, NULL, 0};
    CK_ULONG signature_len = TEZOS_SIGNATURE_SIZE;
    CK_RV rv = p11->C_SignInit(session, &mechanism, key->handle);

    if (rv != CKR_OK)
        return rv;
    return p11->C_Sign(session, (CK_BYTE_PTR)data, (CK_ULONG)length, signature, &signature_len);
}
