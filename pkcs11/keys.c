/*
 * Which Tezos key is behind a private key handle. The address comes from the public point:
 * CKA_EC_POINT on the private object where the token offers it, else the one public key object
 * that shares the private key's CKA_ID, key type and curve. That match is only a claim (any
 * logged-in client could plant a public object, and a handle may come to name another key), so
 * the gate verifies every signature against the point before it lets it out.
 */
#include "module.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PARAMS_MAX 64
#define POINT_MAX  160
#define ID_MAX     256

/* The attribute values tzwm reads of a key. */
struct key_attributes {
    CK_BYTE params[PARAMS_MAX];
    CK_ULONG params_len;
    CK_BYTE id[ID_MAX];
    CK_ULONG id_len;
    CK_BYTE point[POINT_MAX];
    CK_ULONG point_len;
};

CK_RV key_check(const CK_FUNCTION_LIST *real, CK_SESSION_HANDLE session, CK_OBJECT_HANDLE key,
                CK_MECHANISM_TYPE mechanism, char *why, size_t why_size)
{
    CK_OBJECT_CLASS class = 0;
    CK_KEY_TYPE type = 0;
    CK_BBOOL sign = CK_FALSE;
    CK_ATTRIBUTE template[] = {
        {CKA_CLASS, &class, sizeof class},
        {CKA_KEY_TYPE, &type, sizeof type},
        {CKA_SIGN, &sign, sizeof sign},
    };
    CK_KEY_TYPE wanted = mechanism == CKM_EDDSA ? CKK_EC_EDWARDS : CKK_EC;
    CK_RV rv = real->C_GetAttributeValue(session, key, template, 3);

    if (rv == CKR_OBJECT_HANDLE_INVALID)
        rv = CKR_KEY_HANDLE_INVALID;
    if (rv == CKR_ATTRIBUTE_TYPE_INVALID)
        rv = CKR_KEY_TYPE_INCONSISTENT; /* not a key at all */
    if (rv != CKR_OK) {
        snprintf(why, why_size, "cannot read the key's class, type and CKA_SIGN: %s", ckr_name(rv));
        return rv;
    }
    if (class != CKO_PRIVATE_KEY || type != wanted) {
        snprintf(why, why_size, "%s",
                 mechanism == CKM_EDDSA
                     ? "CKM_EDDSA needs a CKK_EC_EDWARDS (Ed25519) private key"
                     : "CKM_ECDSA needs a CKK_EC (secp256k1 or P-256) private key");
        return CKR_KEY_TYPE_INCONSISTENT;
    }
    if (sign != CK_TRUE) {
        snprintf(why, why_size, "the key may not sign (CKA_SIGN is false)");
        return CKR_KEY_FUNCTION_NOT_PERMITTED;
    }
    return CKR_OK;
}

/* The attributes of object, each NULL-length when the object does not have it. */
static CK_RV read_attributes(const CK_FUNCTION_LIST *real, CK_SESSION_HANDLE session,
                             CK_OBJECT_HANDLE object, struct key_attributes *out)
{
    CK_ATTRIBUTE template[] = {
        {CKA_EC_PARAMS, out->params, sizeof out->params},
        {CKA_ID, out->id, sizeof out->id},
        {CKA_EC_POINT, out->point, sizeof out->point},
    };
    CK_RV rv = real->C_GetAttributeValue(session, object, template, 3);

    /* A missing attribute (or one too long) is reported per attribute, the others are read. */
    if (rv != CKR_OK && rv != CKR_ATTRIBUTE_TYPE_INVALID && rv != CKR_ATTRIBUTE_SENSITIVE &&
        rv != CKR_BUFFER_TOO_SMALL)
        return rv;
    out->params_len =
        template[0].ulValueLen == CK_UNAVAILABLE_INFORMATION ? 0 : template[0].ulValueLen;
    out->id_len = template[1].ulValueLen == CK_UNAVAILABLE_INFORMATION ? 0 : template[1].ulValueLen;
    out->point_len =
        template[2].ulValueLen == CK_UNAVAILABLE_INFORMATION ? 0 : template[2].ulValueLen;
    return CKR_OK;
}

/* The point of the one public key that shares the private key's CKA_ID, type and curve, found in
 * a session of tzwm's own so that the caller's session (and any search it has open) is
 * untouched. */
static CK_RV find_public_point(const CK_FUNCTION_LIST *real, CK_SLOT_ID slot,
                               CK_MECHANISM_TYPE mechanism, struct key_attributes *key, char *why,
                               size_t why_size)
{
    CK_OBJECT_CLASS class = CKO_PUBLIC_KEY;
    CK_KEY_TYPE type = mechanism == CKM_EDDSA ? CKK_EC_EDWARDS : CKK_EC;
    CK_ATTRIBUTE template[] = {
        {CKA_CLASS, &class, sizeof class},
        {CKA_KEY_TYPE, &type, sizeof type},
        {CKA_ID, key->id, key->id_len},
        {CKA_EC_PARAMS, key->params, key->params_len},
    };
    CK_OBJECT_HANDLE found[2];
    CK_SESSION_HANDLE session;
    struct key_attributes public_key;
    CK_ULONG count = 0;
    CK_RV rv;

    if (key->id_len == 0) {
        snprintf(why, why_size, "the key has no CKA_EC_POINT and no CKA_ID to find its public key");
        return CKR_KEY_TYPE_INCONSISTENT;
    }
    rv = real->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &session);
    if (rv != CKR_OK) {
        snprintf(why, why_size, "cannot open a session to find the public key: %s", ckr_name(rv));
        return rv;
    }
    rv = real->C_FindObjectsInit(session, template, 4);
    if (rv == CKR_OK) {
        rv = real->C_FindObjects(session, found, 2, &count);
        real->C_FindObjectsFinal(session);
    }
    if (rv == CKR_OK && count == 1)
        rv = read_attributes(real, session, found[0], &public_key);
    real->C_CloseSession(session);

    if (rv != CKR_OK) {
        snprintf(why, why_size, "cannot find the public key: %s", ckr_name(rv));
        return rv;
    }
    if (count != 1 || public_key.point_len == 0) {
        snprintf(why, why_size,
                 count == 0 ? "no public key shares the key's CKA_ID and curve"
                            : "several public keys share the key's CKA_ID and curve");
        return CKR_KEY_TYPE_INCONSISTENT;
    }
    memcpy(key->point, public_key.point, public_key.point_len);
    key->point_len = public_key.point_len;
    return CKR_OK;
}

CK_RV key_identity_read(const CK_FUNCTION_LIST *real, CK_SESSION_HANDLE session, CK_SLOT_ID slot,
                        CK_OBJECT_HANDLE key, CK_MECHANISM_TYPE mechanism,
                        struct key_identity *identity, char *why, size_t why_size)
{
    struct key_attributes attributes;
    enum tezos_error error;
    CK_RV rv;

    rv = read_attributes(real, session, key, &attributes);
    if (rv != CKR_OK) {
        snprintf(why, why_size, "cannot read the key's attributes: %s", ckr_name(rv));
        return rv;
    }
    if (attributes.point_len == 0) {
        rv = find_public_point(real, slot, mechanism, &attributes, why, why_size);
        if (rv != CKR_OK)
            return rv;
    }
    error = tezos_public_key_from_pkcs11(attributes.params, attributes.params_len, attributes.point,
                                         attributes.point_len, &identity->public_key);
    if (error == TEZOS_OK &&
        (identity->public_key.curve == TEZOS_CURVE_ED25519) != (mechanism == CKM_EDDSA))
        error = TEZOS_ERR_CURVE;
    if (error == TEZOS_OK)
        error = tezos_address(&identity->public_key, identity->address, sizeof identity->address);
    if (error != TEZOS_OK) {
        snprintf(why, why_size, "not a Tezos key: %s", tezos_error_text(error));
        return rv_from_tezos(error);
    }
    return CKR_OK;
}

/* ---- The cache ---- */

struct cached_key {
    CK_SLOT_ID slot;
    CK_OBJECT_HANDLE key;
    struct key_identity identity;
    struct tezos_verifier *verifier; /* the entry's own */
};

struct key_cache {
    struct cached_key *items;
    size_t count, capacity;
};

struct key_cache *key_cache_new(void)
{
    return calloc(1, sizeof(struct key_cache));
}

void key_cache_free(struct key_cache *cache)
{
    if (cache == NULL)
        return;
    for (size_t i = 0; i < cache->count; i++)
        tezos_verifier_free(cache->items[i].verifier);
    free(cache->items);
    free(cache);
}

static struct cached_key *lookup(const struct key_cache *cache, CK_SLOT_ID slot,
                                 CK_OBJECT_HANDLE key)
{
    for (size_t i = 0; i < cache->count; i++) {
        if (cache->items[i].slot == slot && cache->items[i].key == key)
            return &cache->items[i];
    }
    return NULL;
}

bool key_cache_find(const struct key_cache *cache, CK_SLOT_ID slot, CK_OBJECT_HANDLE key,
                    struct key_identity *identity, struct tezos_verifier **verifier)
{
    const struct cached_key *found = lookup(cache, slot, key);

    *verifier = NULL;
    if (found == NULL || tezos_verifier_copy(found->verifier, verifier) != TEZOS_OK)
        return false;
    *identity = found->identity;
    return true;
}

void key_cache_put(struct key_cache *cache, CK_SLOT_ID slot, CK_OBJECT_HANDLE key,
                   const struct key_identity *identity, const struct tezos_verifier *verifier)
{
    struct cached_key *found = lookup(cache, slot, key);
    struct tezos_verifier *copy;

    /* Out of memory: the key is simply read again next time. */
    if (tezos_verifier_copy(verifier, &copy) != TEZOS_OK)
        return;
    if (found != NULL) {
        tezos_verifier_free(found->verifier);
        *found = (struct cached_key){slot, key, *identity, copy};
        return;
    }
    if (cache->count == cache->capacity) {
        size_t capacity = cache->capacity ? 2 * cache->capacity : 8;
        struct cached_key *items = realloc(cache->items, capacity * sizeof *items);

        if (items == NULL) {
            tezos_verifier_free(copy);
            return;
        }
        cache->items = items;
        cache->capacity = capacity;
    }
    cache->items[cache->count++] = (struct cached_key){slot, key, *identity, copy};
}

void key_cache_forget(struct key_cache *cache, CK_SLOT_ID slot, CK_OBJECT_HANDLE key)
{
    struct cached_key *found = lookup(cache, slot, key);

    if (found != NULL) {
        tezos_verifier_free(found->verifier);
        *found = cache->items[--cache->count];
    }
}
