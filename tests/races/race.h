/*
 * What the race tests share: signers that race different requests at the same (level, round),
 * a record of every attempt, and the check of the whole merged record against the watermark's
 * promise.
 */
#ifndef TZWM_TESTS_RACE_H
#define TZWM_TESTS_RACE_H

#include "tezos.h"

#include <p11-kit/pkcs11.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define RACE_KEYS 3

enum race_kind { RACE_BLOCK, RACE_ATTESTATION };

/* One C_SignInit + C_Sign, as a signer saw it. */
struct race_attempt {
    int signer;
    int key;
    enum race_kind kind;
    int32_t level, round;
    uint8_t digest[TEZOS_DIGEST_SIZE]; /* blake2b-256 of the request */
    CK_RV rv;
    bool verified;              /* the returned signature verified with the key (CKR_OK only) */
    struct timespec start, end; /* CLOCK_MONOTONIC: one clock for every process */
};

/* race_signer.c */
struct race_key {
    const char *label;
    CK_MECHANISM_TYPE mechanism;
    CK_OBJECT_HANDLE handle;
    struct tezos_public_key public_key;
};

/* The three baker keys of the test token (labels and mechanisms filled in). */
void race_keys_init(struct race_key keys[RACE_KEYS]);
/* The key's handle and public key, read in session: 0, or -1 with the reason on stderr. */
int race_find_key(CK_FUNCTION_LIST_PTR p11, CK_SESSION_HANDLE session, struct race_key *key);
/* A session on the test token (TZWM_TEST_TOKEN), logged in (TZWM_TEST_PIN) when login is true:
 * 0, or -1 with the reason on stderr. */
int race_open_session(CK_FUNCTION_LIST_PTR p11, bool login, CK_SESSION_HANDLE *session);
/* The request of a kind at (level, round) on chain; variant makes it differ from the other
 * signers' at the same (level, round) (blocks: 0 to 5). Its length; out holds BUILDER_MAX bytes. */
size_t race_request(enum race_kind kind, const uint8_t chain[4], int32_t level, int32_t round,
                    uint8_t variant, uint8_t *out);
/* Signs request with key and fills in attempt's result, digest, verification and times. */
void race_sign(CK_FUNCTION_LIST_PTR p11, CK_SESSION_HANDLE session, const struct race_key *key,
               const uint8_t *request, size_t length, struct race_attempt *attempt);
/* A chain id of this run's own. */
void race_chain(uint8_t chain[4]);

/* race_schedule.c: a seeded schedule of (level, round), the same for every signer. */
struct race_step {
    int32_t level, round;
};
/* The seed: TZWM_RACE_SEED when set, else the clock; printed so that a run can be repeated. */
uint64_t race_seed(void);
/* Two steps per level, each with a random round in [0, 4): the second one of a level is as
 * often at or below the first as above it. */
void race_schedule(uint64_t seed, struct race_step *steps, size_t count);

/* race_check.c: the merged record of every signer against the promise; prints each violation
 * and the summary line. The number of violations. */
struct race_tally {
    size_t signed_count, refused, failed, other;
};
size_t race_check(const struct race_attempt *attempts, size_t count, struct race_tally *tally);

#endif
