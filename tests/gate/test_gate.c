/*
 * The gate end to end: libtzwm.so over a real SoftHSM token, the watermark in a real
 * DynamoDB-API server (dynalite, started by with-store), every key type. Signatures are checked
 * independently (tezos_signature_verify: libsodium / OpenSSL, not the token) and the rows are
 * read back from the table.
 */
#include "module.h" /* ckr_name */
#include "request_builder.h"
#include "support.h"
#include "tezos.h"
#include "vectors.h"
#include "watermark.h"

#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#define KEYS          3
#define POISON        0xa5
#define SESSION_TOKEN "tzwm-test-session-token-5d2e"

static struct client_module module;
static CK_FUNCTION_LIST_PTR p11;
static CK_SESSION_HANDLE session;
static struct vectors vectors;
static struct watermark_store *store;

static struct baker_key {
    const char *label;
    CK_MECHANISM_TYPE mechanism;
    CK_OBJECT_HANDLE handle;
    struct tezos_public_key public_key;
    char address[40];
} keys[KEYS] = {
    {"baker-ed25519", CKM_EDDSA, 0, {0}, ""},
    {"baker-secp256k1", CKM_ECDSA, 0, {0}, ""},
    {"baker-p256", CKM_ECDSA, 0, {0}, ""},
};

static void find_key(struct baker_key *key)
{
    CK_OBJECT_CLASS private_class = CKO_PRIVATE_KEY, public_class = CKO_PUBLIC_KEY;
    CK_ATTRIBUTE template[] = {
        {CKA_CLASS, &private_class, sizeof private_class},
        {CKA_LABEL, (void *)key->label, (CK_ULONG)strlen(key->label)},
    };
    CK_OBJECT_HANDLE public_key;
    CK_BYTE params[64], point[128];
    CK_ULONG params_len, point_len;

    assert_int_equal(test_find(p11, session, template, 2, &key->handle, 1), 1);
    template[0].pValue = &public_class;
    assert_int_equal(test_find(p11, session, template, 2, &public_key, 1), 1);
    params_len = test_attribute(p11, session, public_key, CKA_EC_PARAMS, params, sizeof params);
    point_len = test_attribute(p11, session, public_key, CKA_EC_POINT, point, sizeof point);
    assert_int_equal(
        tezos_public_key_from_pkcs11(params, params_len, point, point_len, &key->public_key),
        TEZOS_OK);
    assert_int_equal(tezos_address(&key->public_key, key->address, sizeof key->address), TEZOS_OK);
}

/* C_Initialize, a logged-in session, and the keys' handles in it. */
static int initialize(void)
{
    /* Threads sign here: the token must lock (SoftHSM drops its locks for NULL arguments). */
    CK_C_INITIALIZE_ARGS args = {.flags = CKF_OS_LOCKING_OK};

    assert_int_equal(p11->C_Initialize(&args), CKR_OK);
    session = test_session(p11, true);
    for (int i = 0; i < KEYS; i++)
        find_key(&keys[i]);
    return 0;
}

static int finalize(void)
{
    assert_int_equal(p11->C_Finalize(NULL), CKR_OK);
    return 0;
}

static int setup(void **state)
{
    struct watermark_config *config;
    char error[512];
    (void)state;

    assert_int_equal(vectors_load(&vectors), 0);
    /* Temporary credentials: the token goes in a header, never into a log line. */
    setenv("AWS_SESSION_TOKEN", SESSION_TOKEN, 1);
    p11 = test_load(&module, test_env("TZWM_LIBRARY"));
    initialize();
    config = watermark_config_from_env(error, sizeof error);
    if (config == NULL)
        fail_msg("%s", error);
    store = watermark_store_open(config, error, sizeof error);
    if (store == NULL)
        fail_msg("%s", error);
    watermark_config_free(config);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (p11 == NULL)
        return 0; /* the setup failed before loading the module */
    finalize();
    watermark_store_close(store);
    vectors_free(&vectors);
    return 0;
}

static const struct vector *vector(const char *name)
{
    for (size_t i = 0; i < vectors.count; i++) {
        if (strcmp(vectors.items[i].name, name) == 0)
            return &vectors.items[i];
    }
    fail_msg("no vector %s", name);
    return NULL;
}

/* C_SignInit + C_Sign into a poisoned buffer: the return code, and on a refusal a check that not
 * one byte of the buffer was written. */
static CK_RV sign(const struct baker_key *key, const uint8_t *request, size_t len,
                  uint8_t signature[64])
{
    CK_MECHANISM mechanism = {key->mechanism, NULL, 0};
    CK_ULONG signature_len = 64;
    CK_RV rv;

    memset(signature, POISON, 64);
    assert_int_equal(p11->C_SignInit(session, &mechanism, key->handle), CKR_OK);
    rv = p11->C_Sign(session, (CK_BYTE_PTR)request, len, signature, &signature_len);
    if (rv == CKR_OK) {
        assert_int_equal(signature_len, 64);
    } else {
        for (int i = 0; i < 64; i++)
            assert_int_equal(signature[i], POISON);
        /* The refusal ended the operation: the session is ready for the next C_SignInit. */
        assert_int_equal(p11->C_Sign(session, (CK_BYTE_PTR)request, len, signature, &signature_len),
                         CKR_OPERATION_NOT_INITIALIZED);
    }
    return rv;
}

static void expect_signed(const struct baker_key *key, const uint8_t *request, size_t len)
{
    uint8_t signature[64];

    assert_int_equal(sign(key, request, len, signature), CKR_OK);
    assert_int_equal(tezos_signature_verify(&key->public_key, request, len, signature), TEZOS_OK);
}

static void expect_refused(const struct baker_key *key, const uint8_t *request, size_t len,
                           CK_RV expected)
{
    uint8_t signature[64];

    assert_int_equal(sign(key, request, len, signature), expected);
}

/* A chain of the test's own, so that tests never share rows. */
static void test_chain(uint8_t chain[4], uint8_t number)
{
    static uint8_t run;

    if (run == 0)
        run = (uint8_t)(1 + getpid() % 250);
    chain[0] = 0x7a, chain[1] = 0x77, chain[2] = run, chain[3] = number;
}

static void chain_text(const uint8_t chain[4], char *text, size_t size)
{
    assert_int_equal(tezos_base58check_encode(TEZOS_B58_CHAIN_ID, chain, text, size), TEZOS_OK);
}

static size_t block(const uint8_t chain[4], int32_t level, int32_t round, uint8_t variant,
                    uint8_t out[BUILDER_MAX])
{
    struct block_fields fields = block_defaults();

    memcpy(fields.chain_id, chain, 4);
    fields.level = level;
    fields.round = round;
    fields.payload_round = 0;
    fields.votes = variant; /* two variants: two different blocks at one level and round */
    return build_block(&fields, out);
}

static size_t consensus(uint8_t magic, uint8_t tag, const uint8_t chain[4], int32_t level,
                        int32_t round, uint16_t slot, uint8_t out[BUILDER_MAX])
{
    static const uint8_t dal[] = {0x85, 0x01};
    struct consensus_fields fields = attestation_defaults();

    fields.magic = magic;
    fields.tag = tag;
    memcpy(fields.chain_id, chain, 4);
    fields.level = level;
    fields.round = round;
    fields.slot = slot;
    fields.dal = tag == 23 ? dal : NULL;
    fields.dal_len = tag == 23 ? sizeof dal : 0;
    return build_consensus(&fields, out);
}

struct found_rows {
    const char *kind;
    int count;
    /* The row of kind, when there is one. */
    bool found;
    char idx[128], digest[128];
    int64_t level, round;
};

static int collect(const struct watermark_row *row, void *context)
{
    struct found_rows *found = context;

    found->count++;
    if (found->kind != NULL && strcmp(row->kind, found->kind) == 0) {
        found->found = true;
        snprintf(found->idx, sizeof found->idx, "%s", row->idx);
        snprintf(found->digest, sizeof found->digest, "%s", row->digest);
        found->level = row->level;
        found->round = row->round;
    }
    return 0;
}

/* The rows of (chain, address), and the one of kind. */
static struct found_rows rows(const char *chain, const char *address, const char *kind)
{
    struct watermark_filter filter = {chain, address};
    struct found_rows found = {.kind = kind};
    char reason[WATERMARK_REASON_SIZE];

    assert_int_equal(watermark_list(store, &filter, collect, &found, reason, sizeof reason),
                     WATERMARK_OK);
    return found;
}

static void expect_row(const char *chain, const struct baker_key *key, const char *kind,
                       int64_t level, int64_t round, const uint8_t *request, size_t len)
{
    struct found_rows found = rows(chain, key->address, kind);
    uint8_t digest[32];
    char idx[128], text[TEZOS_BASE58_TEXT_MAX];

    snprintf(idx, sizeof idx, "%s/%s", chain, key->address);
    tezos_blake2b_256(request, len, digest);
    assert_int_equal(tezos_base58check_encode(TEZOS_B58_VALUE_HASH, digest, text, sizeof text),
                     TEZOS_OK);
    assert_true(found.found);
    assert_string_equal(found.idx, idx);
    assert_int_equal(found.level, level);
    assert_int_equal(found.round, round);
    assert_string_equal(found.digest, text);
}

/* ---- The vectors, on every key ---- */

static void vectors_on_every_key(void **state)
{
    const struct vector *a1 = vector("A1"), *a2 = vector("A2"), *b1 = vector("B1");
    const struct vector *c1 = vector("C1"), *c2 = vector("C2"), *c3 = vector("C3");
    (void)state;

    for (int i = 0; i < KEYS; i++) {
        const struct baker_key *key = &keys[i];

        expect_signed(key, a1->bytes, a1->len);
        expect_row(a1->chain_id, key, "block", 2, 0, a1->bytes, a1->len);
        /* A2: another block at A1's level and round is double baking. */
        expect_refused(key, a2->bytes, a2->len, CKR_FUNCTION_REJECTED);
        expect_row(a1->chain_id, key, "block", 2, 0, a1->bytes, a1->len);
        /* The very same request again is no evidence of anything. */
        expect_signed(key, a1->bytes, a1->len);
        expect_signed(key, b1->bytes, b1->len);
        expect_row(b1->chain_id, key, "block", 7, 2, b1->bytes, b1->len);
        expect_signed(key, c1->bytes, c1->len);
        expect_refused(key, b1->bytes, b1->len, CKR_FUNCTION_REJECTED); /* a lower level */
        expect_signed(key, c2->bytes, c2->len);
        expect_row(c2->chain_id, key, "preattestation", 34, 4, c2->bytes, c2->len);
        expect_signed(key, c3->bytes, c3->len);
        expect_row(c3->chain_id, key, "attestation", 34, 4, c3->bytes, c3->len);
        assert_int_equal(rows(a1->chain_id, key->address, NULL).count, 3);
    }
}

/* ---- The watermark's order ---- */

static void level_and_round_order(void **state)
{
    uint8_t chain[4], request[BUILDER_MAX];
    char text[32];
    size_t len;
    (void)state;

    test_chain(chain, 1);
    chain_text(chain, text, sizeof text);
    for (int i = 0; i < KEYS; i++) {
        const struct baker_key *key = &keys[i];

        len = block(chain, 10, 1, 0, request);
        expect_signed(key, request, len);
        expect_signed(key, request, len); /* identical: allowed again */
        expect_refused(key, request, block(chain, 10, 1, 1, request), CKR_FUNCTION_REJECTED);
        expect_refused(key, request, block(chain, 10, 0, 0, request), CKR_FUNCTION_REJECTED);
        expect_refused(key, request, block(chain, 9, 5, 0, request), CKR_FUNCTION_REJECTED);
        len = block(chain, 10, 2, 1, request);
        expect_signed(key, request, len); /* a higher round */
        expect_row(text, key, "block", 10, 2, request, len);
        len = block(chain, 11, 0, 0, request);
        expect_signed(key, request, len); /* a higher level, round 0 */
        expect_row(text, key, "block", 11, 0, request, len);
        expect_refused(key, request, block(chain, 10, 3, 0, request), CKR_FUNCTION_REJECTED);
    }
}

static void kinds_chains_and_keys_are_independent(void **state)
{
    uint8_t chain[4], other[4], request[BUILDER_MAX];
    char text[32];
    size_t len;
    (void)state;

    test_chain(chain, 2);
    test_chain(other, 3);
    chain_text(chain, text, sizeof text);
    for (int i = 0; i < KEYS; i++) {
        expect_signed(&keys[i], request, block(chain, 20, 0, 0, request));
        expect_signed(&keys[i], request, consensus(0x12, 20, chain, 20, 0, 1, request));
        expect_signed(&keys[i], request, consensus(0x13, 21, chain, 20, 0, 1, request));
        /* Another chain at the same level and round. */
        expect_signed(&keys[i], request, block(other, 20, 0, 1, request));
        assert_int_equal(rows(text, keys[i].address, NULL).count, 3);
    }
    /* Each kind has its own row at (20, 0). */
    len = consensus(0x12, 20, chain, 20, 0, 1, request);
    expect_row(text, &keys[0], "preattestation", 20, 0, request, len);
    /* Another slot is another operation: refused at the same level and round. */
    expect_refused(&keys[0], request, consensus(0x12, 20, chain, 20, 0, 2, request),
                   CKR_FUNCTION_REJECTED);
}

static void attestation_with_dal_shares_the_row(void **state)
{
    uint8_t chain[4], request[BUILDER_MAX];
    char text[32];
    size_t len;
    (void)state;

    test_chain(chain, 4);
    chain_text(chain, text, sizeof text);
    for (int i = 0; i < KEYS; i++) {
        expect_signed(&keys[i], request, consensus(0x13, 21, chain, 8, 0, 3, request));
        /* Tag 23 is an attestation too: a second one at (8, 0) is double attesting. */
        expect_refused(&keys[i], request, consensus(0x13, 23, chain, 8, 0, 3, request),
                       CKR_FUNCTION_REJECTED);
        len = consensus(0x13, 23, chain, 8, 1, 3, request);
        expect_signed(&keys[i], request, len);
        expect_row(text, &keys[i], "attestation", 8, 1, request, len);
    }
}

/* ---- The PKCS#11 contract ---- */

static void length_query_and_small_buffer_write_nothing(void **state)
{
    CK_MECHANISM mechanism = {CKM_ECDSA, NULL, 0};
    uint8_t chain[4], request[BUILDER_MAX], signature[64];
    CK_ULONG signature_len = 0;
    char text[32];
    size_t len;
    (void)state;

    test_chain(chain, 5);
    chain_text(chain, text, sizeof text);
    len = block(chain, 3, 0, 0, request);
    assert_int_equal(p11->C_SignInit(session, &mechanism, keys[2].handle), CKR_OK);
    assert_int_equal(p11->C_Sign(session, request, len, NULL, &signature_len), CKR_OK);
    assert_int_equal(signature_len, 64);
    signature_len = 63;
    memset(signature, POISON, sizeof signature);
    assert_int_equal(p11->C_Sign(session, request, len, signature, &signature_len),
                     CKR_BUFFER_TOO_SMALL);
    assert_int_equal(signature_len, 64);
    assert_int_equal(signature[0], POISON);
    assert_int_equal(rows(text, keys[2].address, NULL).count, 0);
    /* Still active: the operation goes on to a signature. */
    assert_int_equal(p11->C_Sign(session, request, len, signature, &signature_len), CKR_OK);
    assert_int_equal(tezos_signature_verify(&keys[2].public_key, request, len, signature),
                     TEZOS_OK);
    assert_int_equal(rows(text, keys[2].address, NULL).count, 1);
    assert_int_equal(p11->C_SignInit(session, NULL, keys[2].handle), CKR_ARGUMENTS_BAD);
}

static void refusals_leave_the_session_ready(void **state)
{
    CK_MECHANISM ecdsa_sha256 = {CKM_ECDSA_SHA256, NULL, 0}, eddsa = {CKM_EDDSA, NULL, 0};
    CK_MECHANISM ecdsa = {CKM_ECDSA, NULL, 0};
    CK_MECHANISM rsa_generate = {CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0};
    CK_ULONG bits = 2048;
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    CK_ATTRIBUTE rsa_public[] = {{CKA_MODULUS_BITS, &bits, sizeof bits},
                                 {CKA_TOKEN, &no, sizeof no}};
    CK_ATTRIBUTE rsa_private[] = {{CKA_SIGN, &yes, sizeof yes}, {CKA_TOKEN, &no, sizeof no}};
    CK_OBJECT_HANDLE rsa_public_key, rsa_key;
    uint8_t digest[32], generic[64], request[BUILDER_MAX], chain[4];
    (void)state;

    test_chain(chain, 6);
    memset(digest, 0x11, sizeof digest);
    for (int i = 0; i < KEYS; i++) {
        /* A digest is not a request: tzwm cannot tell what it would sign. */
        digest[0] = 0x11;
        expect_refused(&keys[i], digest, sizeof digest, CKR_DATA_INVALID);
        expect_refused(&keys[i], (const uint8_t *)"", 0, CKR_DATA_INVALID);
        /* 0x03 (a transfer, say) is not allowed by the default TZWM_ALLOW. */
        memset(generic, 0x22, sizeof generic);
        generic[0] = 0x03;
        expect_refused(&keys[i], generic, sizeof generic, CKR_FUNCTION_REJECTED);
        expect_signed(&keys[i], request, block(chain, 1, 0, 0, request));
    }
    assert_int_equal(p11->C_SignInit(session, &ecdsa_sha256, keys[2].handle),
                     CKR_MECHANISM_INVALID);
    assert_int_equal(p11->C_SignInit(session, &eddsa, keys[2].handle), CKR_KEY_TYPE_INCONSISTENT);
    assert_int_equal(p11->C_SignInit(session, &ecdsa, keys[0].handle), CKR_KEY_TYPE_INCONSISTENT);
    assert_int_equal(p11->C_GenerateKeyPair(session, &rsa_generate, rsa_public, 2, rsa_private, 2,
                                            &rsa_public_key, &rsa_key),
                     CKR_OK);
    assert_int_equal(p11->C_SignInit(session, &ecdsa, rsa_key), CKR_KEY_TYPE_INCONSISTENT);
    assert_int_equal(p11->C_SignInit(session, &ecdsa, 0xdead0000UL), CKR_KEY_HANDLE_INVALID);
    assert_int_equal(p11->C_SignInit(0xdead0000UL, &ecdsa, keys[2].handle),
                     CKR_SESSION_HANDLE_INVALID);
    /* One operation at a time per session. */
    assert_int_equal(p11->C_SignInit(session, &ecdsa, keys[2].handle), CKR_OK);
    assert_int_equal(p11->C_SignInit(session, &ecdsa, keys[2].handle), CKR_OPERATION_ACTIVE);
    assert_int_equal(p11->C_Sign(session, digest, sizeof digest, request, &(CK_ULONG){64}),
                     CKR_DATA_INVALID);
    expect_signed(&keys[2], request, block(chain, 2, 0, 0, request));
}

static void multipart_is_the_same_gate(void **state)
{
    CK_MECHANISM ecdsa = {CKM_ECDSA, NULL, 0};
    uint8_t chain[4], request[BUILDER_MAX], other[BUILDER_MAX], signature[64];
    static uint8_t huge[(64 * 1024) + 1];
    CK_ULONG signature_len = sizeof signature;
    size_t len;
    (void)state;

    test_chain(chain, 7);
    len = block(chain, 4, 0, 0, request);
    assert_int_equal(p11->C_SignInit(session, &ecdsa, keys[1].handle), CKR_OK);
    assert_int_equal(p11->C_SignUpdate(session, request, 10), CKR_OK);
    assert_int_equal(p11->C_SignUpdate(session, request + 10, 0), CKR_OK);
    assert_int_equal(p11->C_SignUpdate(session, request + 10, len - 10), CKR_OK);
    /* C_Sign in the middle of a multi-part operation ends it. */
    assert_int_equal(p11->C_Sign(session, request, len, signature, &signature_len),
                     CKR_OPERATION_ACTIVE);
    assert_int_equal(p11->C_SignInit(session, &ecdsa, keys[1].handle), CKR_OK);
    assert_int_equal(p11->C_SignUpdate(session, request, 100), CKR_OK);
    assert_int_equal(p11->C_SignUpdate(session, request + 100, len - 100), CKR_OK);
    assert_int_equal(p11->C_SignFinal(session, NULL, &signature_len), CKR_OK);
    assert_int_equal(signature_len, 64);
    signature_len = 10;
    assert_int_equal(p11->C_SignFinal(session, signature, &signature_len), CKR_BUFFER_TOO_SMALL);
    assert_int_equal(signature_len, 64);
    assert_int_equal(p11->C_SignFinal(session, signature, &signature_len), CKR_OK);
    assert_int_equal(tezos_signature_verify(&keys[1].public_key, request, len, signature),
                     TEZOS_OK);
    assert_int_equal(p11->C_SignFinal(session, signature, &signature_len),
                     CKR_OPERATION_NOT_INITIALIZED);

    /* A different block at the same level and round, in parts: refused, nothing written. */
    len = block(chain, 4, 0, 1, other);
    memset(signature, POISON, sizeof signature);
    assert_int_equal(p11->C_SignInit(session, &ecdsa, keys[1].handle), CKR_OK);
    assert_int_equal(p11->C_SignUpdate(session, other, len), CKR_OK);
    assert_int_equal(p11->C_SignFinal(session, signature, &signature_len), CKR_FUNCTION_REJECTED);
    for (int i = 0; i < 64; i++)
        assert_int_equal(signature[i], POISON);
    assert_int_equal(p11->C_SignFinal(session, signature, &signature_len),
                     CKR_OPERATION_NOT_INITIALIZED);

    /* Past 64 KiB: no request is that large. */
    assert_int_equal(p11->C_SignInit(session, &ecdsa, keys[1].handle), CKR_OK);
    assert_int_equal(p11->C_SignUpdate(session, huge, (64 * 1024)), CKR_OK);
    assert_int_equal(p11->C_SignUpdate(session, huge, 1), CKR_DATA_LEN_RANGE);
    assert_int_equal(p11->C_SignFinal(session, signature, &signature_len),
                     CKR_OPERATION_NOT_INITIALIZED);
    expect_refused(&keys[1], huge, sizeof huge, CKR_DATA_LEN_RANGE);
    assert_int_equal(p11->C_SignUpdate(session, request, len), CKR_OPERATION_NOT_INITIALIZED);
}

/* A public key object planted under a private key's CKA_ID, carrying another key's point: the
 * watermark would be advanced for the other key's address, so the signature must not leave. */
static void planted_public_key_withholds_the_signature(void **state)
{
    CK_MECHANISM generate = {CKM_EC_KEY_PAIR_GEN, NULL, 0}, ecdsa = {CKM_ECDSA, NULL, 0};
    static const CK_BYTE p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
    CK_BYTE id[] = {0x99}, point[128];
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    CK_OBJECT_CLASS public_class = CKO_PUBLIC_KEY;
    CK_KEY_TYPE ec = CKK_EC;
    CK_ATTRIBUTE public_template[] = {{CKA_EC_PARAMS, (void *)p256, sizeof p256},
                                      {CKA_TOKEN, &no, sizeof no},
                                      {CKA_ID, id, sizeof id}};
    CK_ATTRIBUTE private_template[] = {
        {CKA_SIGN, &yes, sizeof yes}, {CKA_TOKEN, &no, sizeof no}, {CKA_ID, id, sizeof id}};
    CK_OBJECT_HANDLE public_key, private_key, planted, baker_public;
    CK_OBJECT_CLASS class = CKO_PUBLIC_KEY;
    CK_ATTRIBUTE baker_template[] = {
        {CKA_CLASS, &class, sizeof class},
        {CKA_LABEL, (void *)keys[2].label, (CK_ULONG)strlen(keys[2].label)}};
    uint8_t chain[4], request[BUILDER_MAX], signature[64];
    CK_ULONG signature_len = sizeof signature, point_len;
    char text[32];
    size_t len;
    (void)state;

    assert_int_equal(p11->C_GenerateKeyPair(session, &generate, public_template, 3,
                                            private_template, 3, &public_key, &private_key),
                     CKR_OK);
    assert_int_equal(p11->C_DestroyObject(session, public_key), CKR_OK);
    assert_int_equal(test_find(p11, session, baker_template, 2, &baker_public, 1), 1);
    point_len = test_attribute(p11, session, baker_public, CKA_EC_POINT, point, sizeof point);
    CK_ATTRIBUTE fake[] = {{CKA_CLASS, &public_class, sizeof public_class},
                           {CKA_KEY_TYPE, &ec, sizeof ec},
                           {CKA_TOKEN, &no, sizeof no},
                           {CKA_ID, id, sizeof id},
                           {CKA_EC_PARAMS, (void *)p256, sizeof p256},
                           {CKA_EC_POINT, point, point_len}};
    assert_int_equal(p11->C_CreateObject(session, fake, 6, &planted), CKR_OK);

    test_chain(chain, 13);
    chain_text(chain, text, sizeof text);
    len = block(chain, 5, 0, 0, request);
    memset(signature, POISON, sizeof signature);
    assert_int_equal(p11->C_SignInit(session, &ecdsa, private_key), CKR_OK);
    assert_int_equal(p11->C_Sign(session, request, len, signature, &signature_len),
                     CKR_FUNCTION_FAILED);
    for (int i = 0; i < 64; i++)
        assert_int_equal(signature[i], POISON);
    test_assert_log_contains(test_env("TZWM_LOG_FILE"), "error: withheld the signature of block",
                             true);
    /* The baker's own key is untouched by it and signs at that level. */
    expect_signed(&keys[2], request, len);
}

static void key_that_may_not_sign(void **state)
{
    CK_MECHANISM generate = {CKM_EC_EDWARDS_KEY_PAIR_GEN, NULL, 0}, eddsa = {CKM_EDDSA, NULL, 0};
    static const CK_BYTE ed25519[] = {0x13, 0x0c, 'e', 'd', 'w', 'a', 'r',
                                      'd',  's',  '2', '5', '5', '1', '9'};
    CK_BBOOL no = CK_FALSE;
    CK_ATTRIBUTE public_template[] = {{CKA_EC_PARAMS, (void *)ed25519, sizeof ed25519},
                                      {CKA_TOKEN, &no, sizeof no}};
    CK_ATTRIBUTE private_template[] = {{CKA_SIGN, &no, sizeof no}, {CKA_TOKEN, &no, sizeof no}};
    CK_MECHANISM with_parameter = {CKM_EDDSA, (void *)ed25519, sizeof ed25519};
    CK_OBJECT_HANDLE public_key, private_key;
    (void)state;

    assert_int_equal(p11->C_GenerateKeyPair(session, &generate, public_template, 2,
                                            private_template, 2, &public_key, &private_key),
                     CKR_OK);
    assert_int_equal(p11->C_SignInit(session, &eddsa, private_key), CKR_KEY_FUNCTION_NOT_PERMITTED);
    assert_int_equal(p11->C_SignInit(session, &eddsa, public_key), CKR_KEY_TYPE_INCONSISTENT);
    assert_int_equal(p11->C_SignInit(session, &with_parameter, keys[0].handle),
                     CKR_MECHANISM_PARAM_INVALID);
}

static void closing_the_session_ends_the_operation(void **state)
{
    CK_MECHANISM eddsa = {CKM_EDDSA, NULL, 0};
    uint8_t chain[4], request[BUILDER_MAX], signature[64];
    CK_ULONG signature_len = sizeof signature;
    CK_SESSION_HANDLE closed = session;
    char text[32];
    size_t len;
    (void)state;

    test_chain(chain, 14);
    chain_text(chain, text, sizeof text);
    len = block(chain, 1, 0, 0, request);
    assert_int_equal(p11->C_SignInit(closed, &eddsa, keys[0].handle), CKR_OK);
    /* Another session keeps the user logged in while the first one closes. */
    session = test_session(p11, false);
    assert_int_equal(p11->C_CloseSession(closed), CKR_OK);
    assert_int_equal(p11->C_Sign(closed, request, len, signature, &signature_len),
                     CKR_SESSION_HANDLE_INVALID);
    assert_int_equal(rows(text, keys[0].address, NULL).count, 0);
    expect_signed(&keys[0], request, len);
}

/* Calls out of order, NULL pointers, zero and absurd lengths: a return code, never a crash, never
 * a read past what the caller gave. */
static void hostile_calls(void **state)
{
    CK_MECHANISM ecdsa = {CKM_ECDSA, NULL, 0};
    uint8_t request[BUILDER_MAX] = {0x11}, signature[64];
    CK_ULONG signature_len = sizeof signature;
    CK_SESSION_HANDLE wrong = 0xdead0000UL;
    (void)state;

    assert_int_equal(p11->C_Sign(session, request, 10, signature, &signature_len),
                     CKR_OPERATION_NOT_INITIALIZED);
    assert_int_equal(p11->C_SignUpdate(session, request, 10), CKR_OPERATION_NOT_INITIALIZED);
    assert_int_equal(p11->C_SignFinal(session, signature, &signature_len),
                     CKR_OPERATION_NOT_INITIALIZED);
    assert_int_equal(p11->C_Sign(wrong, request, 10, signature, &signature_len),
                     CKR_SESSION_HANDLE_INVALID);
    assert_int_equal(p11->C_SignFinal(wrong, signature, &signature_len),
                     CKR_SESSION_HANDLE_INVALID);
    assert_int_equal(p11->C_SignInit(session, NULL, keys[2].handle), CKR_ARGUMENTS_BAD);

    /* Each of these ends the operation it hits. */
    const struct {
        int call; /* 0 C_Sign, 1 C_SignUpdate, 2 C_SignFinal */
        const uint8_t *data;
        CK_ULONG len;
        bool null_length;
        CK_RV expected;
    } cases[] = {
        {0, NULL, 5, false, CKR_ARGUMENTS_BAD},
        {0, request, 10, true, CKR_ARGUMENTS_BAD},
        {1, NULL, 5, false, CKR_ARGUMENTS_BAD},
        {2, NULL, 0, true, CKR_ARGUMENTS_BAD},
        {0, request, (CK_ULONG)-1, false, CKR_DATA_LEN_RANGE},
        {1, request, (CK_ULONG)-1, false, CKR_DATA_LEN_RANGE},
        {0, request, 0, false, CKR_DATA_INVALID},
        {0, NULL, 0, false, CKR_DATA_INVALID},
        {2, NULL, 0, false, CKR_DATA_INVALID}, /* no parts at all */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        CK_ULONG *length = cases[i].null_length ? NULL : &signature_len;
        CK_RV rv;

        signature_len = sizeof signature;
        assert_int_equal(p11->C_SignInit(session, &ecdsa, keys[2].handle), CKR_OK);
        if (cases[i].call == 0)
            rv = p11->C_Sign(session, (CK_BYTE_PTR)cases[i].data, cases[i].len, signature, length);
        else if (cases[i].call == 1)
            rv = p11->C_SignUpdate(session, (CK_BYTE_PTR)cases[i].data, cases[i].len);
        else
            rv = p11->C_SignFinal(session, signature, length);
        if (rv != cases[i].expected)
            fail_msg("case %zu: %s, expected %s", i, ckr_name(rv), ckr_name(cases[i].expected));
        assert_int_equal(p11->C_SignFinal(session, signature, &signature_len),
                         CKR_OPERATION_NOT_INITIALIZED);
    }
}

/* ---- The store ---- */

static long elapsed_ms(const struct timespec *start)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - start->tv_sec) * 1000 + (now.tv_nsec - start->tv_nsec) / 1000000;
}

static void store_stopped_then_back(void **state)
{
    pid_t server = (pid_t)atol(test_env("TZWM_STORE_PID"));
    long deadline = atol(test_env("TZWM_TIMEOUT_MS"));
    uint8_t chain[4], request[BUILDER_MAX];
    struct timespec start;
    size_t len;
    (void)state;

    test_chain(chain, 8);
    len = block(chain, 30, 0, 0, request);
    CK_MECHANISM mechanism = {keys[0].mechanism, NULL, 0};
    uint8_t signature[64];
    CK_ULONG signature_len = sizeof signature;
    long took;
    CK_RV rv;

    /* The server stopped (not killed): connections hang, as with a stalled store. */
    assert_int_equal(p11->C_SignInit(session, &mechanism, keys[0].handle), CKR_OK);
    memset(signature, POISON, sizeof signature);
    assert_int_equal(kill(server, SIGSTOP), 0);
    clock_gettime(CLOCK_MONOTONIC, &start);
    rv = p11->C_Sign(session, request, len, signature, &signature_len);
    took = elapsed_ms(&start);
    assert_int_equal(kill(server, SIGCONT), 0);
    assert_int_equal(rv, CKR_FUNCTION_FAILED);
    assert_int_equal(signature[0], POISON);
    /* The deadline is the contract: a refusal by then, with a margin for a loaded machine. */
    assert_true(took < deadline + 1500);
    /* Back: the same request signs (its write may have landed late: the digest allows it). */
    expect_signed(&keys[0], request, len);
}

/* C_Initialize while the store cannot answer: it still succeeds (within the deadline), signing is
 * refused, and once the store is back signing sets the table up and goes on by itself. */
static void store_down_at_initialize(void **state)
{
    pid_t server = (pid_t)atol(test_env("TZWM_STORE_PID"));
    long deadline = atol(test_env("TZWM_TIMEOUT_MS"));
    uint8_t chain[4], request[BUILDER_MAX];
    struct timespec start;
    size_t len;
    long took;
    CK_RV rv;
    (void)state;

    test_chain(chain, 12);
    len = block(chain, 50, 0, 0, request);
    finalize();
    assert_int_equal(kill(server, SIGSTOP), 0);
    clock_gettime(CLOCK_MONOTONIC, &start);
    rv = p11->C_Initialize(NULL);
    took = elapsed_ms(&start);
    assert_int_equal(kill(server, SIGCONT), 0);
    assert_int_equal(rv, CKR_OK);
    assert_true(took < deadline + 1500);
    assert_int_equal(p11->C_Finalize(NULL), CKR_OK);

    assert_int_equal(kill(server, SIGSTOP), 0);
    rv = p11->C_Initialize(NULL);
    if (rv == CKR_OK) {
        session = test_session(p11, true);
        for (int i = 0; i < KEYS; i++)
            find_key(&keys[i]);
        rv = sign(&keys[1], request, len, (uint8_t[64]){0});
    }
    assert_int_equal(kill(server, SIGCONT), 0);
    assert_int_equal(rv, CKR_FUNCTION_FAILED);
    expect_signed(&keys[1], request, len);
    test_assert_log_contains(test_env("TZWM_LOG_FILE"),
                             "warn: DynamoDB watermark backend cannot set up table 'watermark' "
                             "yet: ",
                             true);
}

struct pending_signature {
    CK_SESSION_HANDLE session;
    uint8_t request[BUILDER_MAX];
    size_t len;
    CK_RV rv;
};

static void *sign_in_thread(void *argument)
{
    struct pending_signature *pending = argument;
    uint8_t signature[64];
    CK_ULONG signature_len = sizeof signature;

    pending->rv =
        p11->C_Sign(pending->session, pending->request, pending->len, signature, &signature_len);
    return NULL;
}

/* While one thread is in the gate (the store stalled): the session's operation is busy for every
 * other call, and C_Finalize waits for the gate to end before it releases anything. */
static void a_gate_under_way(void **state)
{
    pid_t server = (pid_t)atol(test_env("TZWM_STORE_PID"));
    CK_MECHANISM ecdsa = {CKM_ECDSA, NULL, 0};
    struct pending_signature pending = {.session = session};
    uint8_t chain[4], signature[64];
    CK_ULONG signature_len = sizeof signature;
    pthread_t thread;
    CK_RV sign_rv, update_rv, init_rv, finalize_rv;
    (void)state;

    test_chain(chain, 15);
    pending.len = block(chain, 60, 0, 0, pending.request);
    assert_int_equal(p11->C_SignInit(session, &ecdsa, keys[2].handle), CKR_OK);
    assert_int_equal(kill(server, SIGSTOP), 0);
    assert_int_equal(pthread_create(&thread, NULL, sign_in_thread, &pending), 0);
    /* Until the thread is in the gate, a length query answers CKR_OK; then the operation is
     * busy for every other call. */
    do {
        usleep(10 * 1000);
        sign_rv = p11->C_Sign(session, pending.request, pending.len, NULL, &signature_len);
    } while (sign_rv == CKR_OK);
    sign_rv = p11->C_Sign(session, pending.request, pending.len, signature, &signature_len);
    update_rv = p11->C_SignUpdate(session, pending.request, pending.len);
    init_rv = p11->C_SignInit(session, &ecdsa, keys[2].handle);
    finalize_rv = p11->C_Finalize(NULL);
    assert_int_equal(kill(server, SIGCONT), 0);
    assert_int_equal(pthread_join(thread, NULL), 0);

    assert_int_equal(sign_rv, CKR_OPERATION_ACTIVE);
    assert_int_equal(update_rv, CKR_OPERATION_ACTIVE);
    assert_int_equal(init_rv, CKR_OPERATION_ACTIVE);
    assert_int_equal(finalize_rv, CKR_OK);
    /* The gate ended by the store's deadline; C_Finalize waited for it (the thread race tests
     * show the wait itself, and ASan would see the store used after its release). */
    assert_int_equal(pending.rv, CKR_FUNCTION_FAILED);
    initialize();
}

/* A second signer: another process with its own module state, connections and session. */
static int second_signer(void *argument)
{
    const uint8_t *conflicting = argument;
    CK_MECHANISM ecdsa = {CKM_ECDSA, NULL, 0};
    CK_OBJECT_CLASS class = CKO_PRIVATE_KEY;
    CK_ATTRIBUTE template[] = {
        {CKA_CLASS, &class, sizeof class},
        {CKA_LABEL, (void *)keys[2].label, (CK_ULONG)strlen(keys[2].label)},
    };
    CK_SESSION_HANDLE other;
    CK_OBJECT_HANDLE key;
    uint8_t signature[64];
    CK_ULONG signature_len = sizeof signature, count = 0;
    CK_SLOT_ID slot;
    const char *pin = getenv("TZWM_TEST_PIN");

    if (p11->C_Initialize(NULL) != CKR_OK)
        return 1;
    if (client_find_slot(p11, getenv("TZWM_TEST_TOKEN"), &slot) != CKR_OK ||
        p11->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &other) != CKR_OK ||
        p11->C_Login(other, CKU_USER, (CK_UTF8CHAR_PTR)pin, (CK_ULONG)strlen(pin)) != CKR_OK)
        return 2;
    if (p11->C_FindObjectsInit(other, template, 2) != CKR_OK ||
        p11->C_FindObjects(other, &key, 1, &count) != CKR_OK || count != 1 ||
        p11->C_FindObjectsFinal(other) != CKR_OK)
        return 6;
    if (p11->C_SignInit(other, &ecdsa, key) != CKR_OK)
        return 3;
    if (p11->C_Sign(other, (CK_BYTE_PTR)conflicting, BLOCK_SIZE(33, false), signature,
                    &signature_len) != CKR_FUNCTION_REJECTED)
        return 4;
    return p11->C_Finalize(NULL) == CKR_OK ? 0 : 5;
}

static void second_process_cannot_double_sign(void **state)
{
    uint8_t chain[4], request[BUILDER_MAX], conflicting[BUILDER_MAX];
    (void)state;

    test_chain(chain, 9);
    expect_signed(&keys[2], request, block(chain, 40, 0, 0, request));
    assert_int_equal(block(chain, 40, 0, 1, conflicting), BLOCK_SIZE(33, false));
    assert_int_equal(test_in_child(second_signer, conflicting), 0);
}

/* ---- Policy and start-up ---- */

static void reinitialize_with(const char *allow, const char *chains)
{
    finalize();
    if (allow != NULL)
        setenv("TZWM_ALLOW", allow, 1);
    else
        unsetenv("TZWM_ALLOW");
    if (chains != NULL)
        setenv("TZWM_CHAINS", chains, 1);
    else
        unsetenv("TZWM_CHAINS");
    initialize();
}

static void policy(void **state)
{
    uint8_t chain[4], other[4], request[BUILDER_MAX], generic[64];
    char text[32];
    (void)state;

    test_chain(chain, 10);
    test_chain(other, 11);
    chain_text(chain, text, sizeof text);
    memset(generic, 0x33, sizeof generic);
    generic[0] = 0x03;

    reinitialize_with("block, generic", text);
    expect_signed(&keys[0], generic, sizeof generic);
    expect_signed(&keys[0], generic, sizeof generic); /* never watermarked: signed again */
    assert_int_equal(rows(NULL, keys[0].address, "generic").found, false);
    expect_signed(&keys[0], request, block(chain, 1, 0, 0, request));
    expect_refused(&keys[0], request, block(other, 1, 0, 0, request), CKR_FUNCTION_REJECTED);
    expect_refused(&keys[0], request, consensus(0x13, 21, chain, 1, 0, 0, request),
                   CKR_FUNCTION_REJECTED);
    assert_int_equal(rows(text, keys[0].address, NULL).count, 1);

    reinitialize_with("michelson", NULL);
    memset(generic, 0x44, sizeof generic);
    generic[0] = 0x05;
    expect_signed(&keys[1], generic, sizeof generic);
    expect_refused(&keys[1], request, block(other, 2, 0, 0, request), CKR_FUNCTION_REJECTED);

    /* What cannot be read fails C_Initialize: tzwm never guesses a policy. */
    finalize();
    setenv("TZWM_ALLOW", "block,transfers", 1);
    assert_int_equal(p11->C_Initialize(NULL), CKR_GENERAL_ERROR);
    setenv("TZWM_ALLOW", "block", 1);
    setenv("TZWM_CHAINS", "NetXnotAChain", 1);
    assert_int_equal(p11->C_Initialize(NULL), CKR_GENERAL_ERROR);
    unsetenv("TZWM_CHAINS");
    unsetenv("TZWM_ALLOW");
    initialize();
    test_assert_log_contains(test_env("TZWM_LOG_FILE"),
                             "error: TZWM_ALLOW: unknown kind 'transfers'", true);
    test_assert_log_contains(test_env("TZWM_LOG_FILE"),
                             "error: TZWM_CHAINS: 'NetXnotAChain' is not a chain id", true);
}

static void table_set_up_is_logged(void **state)
{
    const char *log = test_env("TZWM_LOG_FILE");
    (void)state;

    test_assert_log_contains(log, "info: DynamoDB watermark backend created table 'watermark'",
                             true);
    test_assert_log_contains(
        log, "info: DynamoDB watermark backend using existing table 'watermark'", true);
    test_assert_log_contains(log, "warn: refused block NetXo5iVw1vBoxM/", true);
    test_assert_log_contains(log, "watermark refused", true);
}

/* The whole run's log, at debug level: no secret in it. */
static void no_secret_in_the_log(void **state)
{
    const char *log = test_env("TZWM_LOG_FILE");
    (void)state;

    test_assert_log_contains(log, "debug: C_SignInit", true);
    test_assert_log_contains(log, "debug: watermark ok: ", true);
    test_assert_log_contains(log, test_env("AWS_SECRET_ACCESS_KEY"), false);
    test_assert_log_contains(log, SESSION_TOKEN, false);
    test_assert_log_contains(log, test_env("TZWM_TEST_PIN"), false);
}

/* A fresh session for each test, so that one failing test leaves nothing open for the next.
 * (Closing the last session logs out, and SoftHSM then hands out new private key handles.) */
static int fresh_session(void **state)
{
    (void)state;
    assert_int_equal(p11->C_CloseSession(session), CKR_OK);
    session = test_session(p11, true);
    for (int i = 0; i < KEYS; i++)
        find_key(&keys[i]);
    return 0;
}

int main(void)
{
#define TEST(name) cmocka_unit_test_setup(name, fresh_session)
    const struct CMUnitTest tests[] = {
        TEST(vectors_on_every_key),
        TEST(level_and_round_order),
        TEST(kinds_chains_and_keys_are_independent),
        TEST(attestation_with_dal_shares_the_row),
        TEST(length_query_and_small_buffer_write_nothing),
        TEST(refusals_leave_the_session_ready),
        TEST(multipart_is_the_same_gate),
        TEST(store_stopped_then_back),
        TEST(store_down_at_initialize),
        TEST(a_gate_under_way),
        TEST(planted_public_key_withholds_the_signature),
        TEST(key_that_may_not_sign),
        TEST(closing_the_session_ends_the_operation),
        TEST(hostile_calls),
        TEST(second_process_cannot_double_sign),
        TEST(policy),
        TEST(table_set_up_is_logged),
        TEST(no_secret_in_the_log),
    };

    return cmocka_run_group_tests_name("gate", tests, setup, teardown);
}
