/* A signer's side of the race: its session, its keys, and one signature attempt recorded. */
#include "cli.h"
#include "race.h"
#include "request_builder.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void race_keys_init(struct race_key keys[RACE_KEYS])
{
    static const struct race_key known[RACE_KEYS] = {
        {"baker-ed25519", CKM_EDDSA, 0, {0}},
        {"baker-secp256k1", CKM_ECDSA, 0, {0}},
        {"baker-p256", CKM_ECDSA, 0, {0}},
    };

    memcpy(keys, known, sizeof known);
}

static int find_one(CK_FUNCTION_LIST_PTR p11, CK_SESSION_HANDLE session, CK_OBJECT_CLASS class,
                    const char *label, CK_OBJECT_HANDLE *object)
{
    CK_ATTRIBUTE template[] = {
        {CKA_CLASS, &class, sizeof class},
        {CKA_LABEL, (void *)label, (CK_ULONG)strlen(label)},
    };
    CK_ULONG count = 0;

    if (p11->C_FindObjectsInit(session, template, 2) != CKR_OK ||
        p11->C_FindObjects(session, object, 1, &count) != CKR_OK ||
        p11->C_FindObjectsFinal(session) != CKR_OK || count != 1) {
        fprintf(stderr, "no object '%s' of class %lu on the token\n", label, class);
        return -1;
    }
    return 0;
}

int race_find_key(CK_FUNCTION_LIST_PTR p11, CK_SESSION_HANDLE session, struct race_key *key)
{
    CK_OBJECT_HANDLE public_key;
    CK_BYTE params[64], point[128];
    CK_ATTRIBUTE attributes[] = {
        {CKA_EC_PARAMS, params, sizeof params},
        {CKA_EC_POINT, point, sizeof point},
    };

    if (find_one(p11, session, CKO_PRIVATE_KEY, key->label, &key->handle) != 0 ||
        find_one(p11, session, CKO_PUBLIC_KEY, key->label, &public_key) != 0)
        return -1;
    if (p11->C_GetAttributeValue(session, public_key, attributes, 2) != CKR_OK ||
        tezos_public_key_from_pkcs11(params, attributes[0].ulValueLen, point,
                                     attributes[1].ulValueLen, &key->public_key) != TEZOS_OK) {
        fprintf(stderr, "cannot read the public key of '%s'\n", key->label);
        return -1;
    }
    return 0;
}

int race_open_session(CK_FUNCTION_LIST_PTR p11, bool login, CK_SESSION_HANDLE *session)
{
    const char *token = getenv("TZWM_TEST_TOKEN"), *pin = getenv("TZWM_TEST_PIN");
    CK_SLOT_ID slot;
    CK_RV rv;

    if (token == NULL || pin == NULL) {
        fprintf(stderr, "TZWM_TEST_TOKEN and TZWM_TEST_PIN must be set (run through ctest)\n");
        return -1;
    }
    rv = client_find_slot(p11, token, &slot);
    if (rv == CKR_OK)
        rv = p11->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, session);
    if (rv == CKR_OK && login)
        rv = p11->C_Login(*session, CKU_USER, (CK_UTF8CHAR_PTR)pin, (CK_ULONG)strlen(pin));
    if (rv != CKR_OK) {
        fprintf(stderr, "cannot open a session on the test token: 0x%lx\n", rv);
        return -1;
    }
    return 0;
}

size_t race_request(enum race_kind kind, const uint8_t chain[4], int32_t level, int32_t round,
                    uint8_t variant, uint8_t *out)
{
    if (kind == RACE_BLOCK) {
        struct block_fields fields = block_defaults();

        memcpy(fields.chain_id, chain, 4);
        fields.level = level;
        fields.round = round;
        fields.payload_round = 0;
        /* Per-block votes are 0 to 2: the nonce hash's presence makes up to 6 variants. */
        fields.votes = variant % 3;
        fields.has_seed_nonce_hash = variant / 3 % 2 == 1;
        return build_block(&fields, out);
    } else {
        struct consensus_fields fields = attestation_defaults();

        fields.magic = 0x13;
        fields.tag = 21;
        memcpy(fields.chain_id, chain, 4);
        fields.level = level;
        fields.round = round;
        fields.slot = variant;
        return build_consensus(&fields, out);
    }
}

void race_sign(CK_FUNCTION_LIST_PTR p11, CK_SESSION_HANDLE session, const struct race_key *key,
               const uint8_t *request, size_t length, struct race_attempt *attempt)
{
    CK_MECHANISM mechanism = {key->mechanism, NULL, 0};
    uint8_t signature[64];
    CK_ULONG signature_len = sizeof signature;

    tezos_blake2b_256(request, length, attempt->digest);
    clock_gettime(CLOCK_MONOTONIC, &attempt->start);
    attempt->rv = p11->C_SignInit(session, &mechanism, key->handle);
    if (attempt->rv == CKR_OK)
        attempt->rv = p11->C_Sign(session, (CK_BYTE_PTR)request, length, signature, &signature_len);
    clock_gettime(CLOCK_MONOTONIC, &attempt->end);
    attempt->verified =
        attempt->rv == CKR_OK && signature_len == sizeof signature &&
        tezos_signature_verify(&key->public_key, request, length, signature) == TEZOS_OK;
}

void race_chain(uint8_t chain[4])
{
    chain[0] = 0x7a, chain[1] = 0x72, chain[2] = (uint8_t)(getpid() % 251), chain[3] = 1;
}
