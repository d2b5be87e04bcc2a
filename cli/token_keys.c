/*
 * The signing keys on a token, as tzwm keys lists them and tzwm sign chooses one. They are checked
 * and their Tezos identity read by key_check and key_identity_read, the very code the gate runs at
 * C_SignInit, so a key listed here is one the gate accepts and the address shown is the one the
 * watermark rows carry.
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIND_BATCH 32

/* CKA_LABEL and CKA_ID as text; empty when the key has none. */
static void read_label_and_id(const struct token_session *session, struct token_key *key)
{
    CK_BYTE id[(sizeof key->id_hex - 1) / 2];
    CK_ATTRIBUTE template[] = {
        {CKA_LABEL, key->label, sizeof key->label - 1},
        {CKA_ID, id, sizeof id},
    };
    CK_ULONG label_len, id_len;

    session->p11->C_GetAttributeValue(session->handle, key->handle, template, 2);
    label_len = template[0].ulValueLen == CK_UNAVAILABLE_INFORMATION ? 0 : template[0].ulValueLen;
    id_len = template[1].ulValueLen == CK_UNAVAILABLE_INFORMATION ? 0 : template[1].ulValueLen;
    key->label[label_len] = '\0';
    for (CK_ULONG i = 0; i < id_len; i++)
        snprintf(key->id_hex + 2 * i, 3, "%02x", id[i]);
    key->id_hex[2 * id_len] = '\0';
}

/* Fills key when handle is a private key tzwm can sign with; false otherwise. */
static bool read_key(const struct token_session *session, CK_OBJECT_HANDLE handle,
                     struct token_key *key)
{
    CK_KEY_TYPE type = 0;
    CK_ATTRIBUTE template[] = {{CKA_KEY_TYPE, &type, sizeof type}};
    char why[256];

    if (session->p11->C_GetAttributeValue(session->handle, handle, template, 1) != CKR_OK ||
        (type != CKK_EC && type != CKK_EC_EDWARDS))
        return false;
    key->handle = handle;
    key->mechanism = type == CKK_EC_EDWARDS ? CKM_EDDSA : CKM_ECDSA;
    /* What C_SignInit checks (a private key that may sign), then what it watermarks under. */
    if (key_check(session->p11, session->handle, handle, key->mechanism, why, sizeof why) !=
            CKR_OK ||
        key_identity_read(session->p11, session->handle, session->slot, handle, key->mechanism,
                          &key->identity, why, sizeof why) != CKR_OK)
        return false;
    read_label_and_id(session, key);
    return true;
}

/* By CKA_ID, then label: the order the operator gave them, not the token's handle order. */
static int compare_keys(const void *left, const void *right)
{
    const struct token_key *a = left, *b = right;
    int order = strcmp(a->id_hex, b->id_hex);

    return order != 0 ? order : strcmp(a->label, b->label);
}

int token_keys_find(const struct token_session *session, struct token_key **keys, size_t *count)
{
    CK_FUNCTION_LIST_PTR p11 = session->p11;
    CK_OBJECT_CLASS class = CKO_PRIVATE_KEY;
    CK_ATTRIBUTE template[] = {{CKA_CLASS, &class, sizeof class}};
    CK_OBJECT_HANDLE *handles = NULL, *grown;
    CK_ULONG found = 0, batch = 0;
    CK_RV rv;

    *keys = NULL;
    *count = 0;
    rv = p11->C_FindObjectsInit(session->handle, template, 1);
    if (rv != CKR_OK)
        goto out;
    do {
        grown = realloc(handles, (found + FIND_BATCH) * sizeof *handles);
        if (grown == NULL) {
            rv = CKR_HOST_MEMORY;
            break;
        }
        handles = grown;
        rv = p11->C_FindObjects(session->handle, handles + found, FIND_BATCH, &batch);
        found += batch;
    } while (rv == CKR_OK && batch == FIND_BATCH);
    p11->C_FindObjectsFinal(session->handle);
    /* The search is over before the keys are read: key_identity_read opens sessions of its own. */
    if (rv == CKR_OK && (*keys = calloc(found ? found : 1, sizeof **keys)) == NULL)
        rv = CKR_HOST_MEMORY;
    for (CK_ULONG i = 0; rv == CKR_OK && i < found; i++) {
        if (read_key(session, handles[i], &(*keys)[*count]))
            (*count)++;
    }
out:
    free(handles);
    if (rv == CKR_OK) {
        if (*count > 0)
            qsort(*keys, *count, sizeof **keys, compare_keys);
        return 0;
    }
    fprintf(stderr, "tzwm: cannot list the token's private keys: %s\n", ckr_name(rv));
    free(*keys);
    *keys = NULL;
    *count = 0;
    return 1;
}

const char *token_key_type(const struct token_key *key)
{
    switch (key->identity.public_key.curve) {
    case TEZOS_CURVE_ED25519:
        return "ed25519";
    case TEZOS_CURVE_SECP256K1:
        return "secp256k1";
    case TEZOS_CURVE_P256:
        return "p256";
    }
    return "unknown";
}
