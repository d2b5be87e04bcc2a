/*
 * The timed loops. Only the call being measured is inside the clock: requests are built and
 * results checked outside it. A failed operation stops the bench (a refusal would be timed as a
 * fast signature).
 */
#include "bench.h"
#include "module.h" /* ckr_name */
#include "watermark.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define WARM_UP 10

/* What is timed: prepare (may be NULL) runs outside the clock, run inside it; both fail the bench
 * themselves when something does not work. i counts from 0, warm-ups included. */
struct timed_operation {
    void (*prepare)(void *context, size_t i);
    void (*run)(void *context, size_t i);
    void *context;
};

/*
 * warm_up + n rounds of the operations, taken in turn within each round: samples[k], wall and CPU
 * of operations[k] over the last n (wall: the sum of its own timed runs). Operations timed in
 * turn see the same moments of a noisy machine or server, so their medians compare.
 */
static void time_in_turn(const struct timed_operation *operations, size_t count, size_t warm_up,
                         size_t n, struct samples **samples)
{
    for (size_t k = 0; k < count; k++)
        samples[k]->wall_seconds = samples[k]->cpu_seconds = 0;
    for (size_t i = 0; i < warm_up + n; i++) {
        for (size_t k = 0; k < count; k++) {
            const struct timed_operation *operation = &operations[k];
            double start, cpu, seconds;

            if (operation->prepare != NULL)
                operation->prepare(operation->context, i);
            cpu = bench_thread_cpu();
            start = bench_now();
            operation->run(operation->context, i);
            seconds = bench_now() - start;
            cpu = bench_thread_cpu() - cpu;
            if (i < warm_up)
                continue;
            samples_add(samples[k], seconds * 1e6);
            samples[k]->wall_seconds += seconds;
            samples[k]->cpu_seconds += cpu;
        }
    }
}

static void time_runs(const struct timed_operation *operation, size_t warm_up, size_t n,
                      struct samples *samples)
{
    time_in_turn(operation, 1, warm_up, n, &samples);
}

/* ---- 1 and 1b: the token alone ---- */

struct token_signing {
    const struct bench_token *token;
    const struct bench_key *key;
    uint8_t digest[TEZOS_DIGEST_SIZE];
};

static void sign_digest(struct token_signing *signing, size_t i)
{
    uint8_t signature[TEZOS_SIGNATURE_SIZE];
    CK_RV rv;

    signing->digest[0] = (uint8_t)i;
    rv = bench_sign(signing->token->p11, signing->token->session, signing->key, signing->digest,
                    sizeof signing->digest, signature);
    if (rv != CKR_OK)
        bench_fail("the token did not sign with %s: %s", signing->key->label, ckr_name(rv));
}

static void run_token(void *context, size_t i)
{
    sign_digest(context, i);
}

/* What the token does for tzwm per signature besides signing: the session's slot, and the key's
 * class, type and CKA_SIGN (checked at every C_SignInit, on purpose). */
static void run_token_as_gate(void *context, size_t i)
{
    struct token_signing *signing = context;
    const CK_FUNCTION_LIST *p11 = signing->token->p11;
    CK_OBJECT_CLASS class;
    CK_KEY_TYPE type;
    CK_BBOOL sign;
    CK_ATTRIBUTE template[] = {
        {CKA_CLASS, &class, sizeof class},
        {CKA_KEY_TYPE, &type, sizeof type},
        {CKA_SIGN, &sign, sizeof sign},
    };
    CK_SESSION_INFO info;
    CK_RV rv = p11->C_GetSessionInfo(signing->token->session, &info);

    if (rv == CKR_OK)
        rv = p11->C_GetAttributeValue(signing->token->session, signing->key->handle, template, 3);
    if (rv != CKR_OK)
        bench_fail("the token did not answer about %s: %s", signing->key->label, ckr_name(rv));
    sign_digest(signing, i);
}

static void time_token(const struct bench_token *token, const struct bench_key *key, size_t n,
                       void (*run)(void *context, size_t i), struct samples *samples)
{
    struct token_signing signing = {.token = token, .key = key};
    struct timed_operation operation = {NULL, run, &signing};

    memset(signing.digest, 0x5a, sizeof signing.digest);
    time_runs(&operation, WARM_UP, n, samples);
}

void measure_token(const struct bench_token *token, const struct bench_key *key, size_t n,
                   struct samples *samples)
{
    time_token(token, key, n, run_token, samples);
}

void measure_token_as_gate(const struct bench_token *token, const struct bench_key *key, size_t n,
                           struct samples *samples)
{
    time_token(token, key, n, run_token_as_gate, samples);
}

/* ---- The verification alone ---- */

struct verification {
    const struct bench_key *key;
    struct tezos_verifier *verifier; /* made once per key, as the module's key cache does */
    uint8_t request[BENCH_REQUEST_MAX];
    size_t length;
    uint8_t signature[TEZOS_SIGNATURE_SIZE];
};

static void run_verify(void *context, size_t i)
{
    struct verification *verification = context;
    (void)i;

    if (tezos_verifier_check(verification->verifier, verification->request, verification->length,
                             verification->signature) != TEZOS_OK)
        bench_fail("the signature by %s does not verify", verification->key->label);
}

void measure_verify(const struct bench_token *token, const struct bench_key *key, size_t n,
                    struct samples *samples)
{
    static const uint8_t chain[TEZOS_CHAIN_ID_SIZE] = {0x7a, 0x62, 0x76, 0x01};
    struct verification verification = {.key = key};
    struct timed_operation operation = {NULL, run_verify, &verification};
    uint8_t digest[TEZOS_DIGEST_SIZE];
    CK_RV rv;

    verification.length = bench_attestation(chain, 1, verification.request);
    tezos_blake2b_256(verification.request, verification.length, digest);
    rv = bench_sign(token->p11, token->session, key, digest, sizeof digest, verification.signature);
    if (rv != CKR_OK)
        bench_fail("the token did not sign with %s: %s", key->label, ckr_name(rv));
    tezos_signature_normalize(key->public_key.curve, verification.signature, NULL);
    if (tezos_verifier_new(&key->public_key, &verification.verifier) != TEZOS_OK)
        bench_fail("no verifier for the public key of %s", key->label);
    time_runs(&operation, WARM_UP, n, samples);
    tezos_verifier_free(verification.verifier);
}

/* ---- 2 and 3: the store alone, and a signature through tzwm, in turn ---- */

struct store_writing {
    struct watermark_store *store;
    char idx[2 * TEZOS_BASE58_TEXT_MAX], digest[TEZOS_BASE58_TEXT_MAX];
};

static void run_store(void *context, size_t i)
{
    struct store_writing *writing = context;
    char reason[WATERMARK_REASON_SIZE];

    if (watermark_advance(writing->store, writing->idx, "attestation", (int64_t)i + 1, 0,
                          writing->digest, reason, sizeof reason) != WATERMARK_OK)
        bench_fail("the store did not advance %s: %s", writing->idx, reason);
}

static void store_writing_for(struct watermark_store *store, const struct bench_key *key,
                              const uint8_t chain[TEZOS_CHAIN_ID_SIZE],
                              struct store_writing *writing)
{
    char chain_text[TEZOS_BASE58_TEXT_MAX];
    uint8_t digest[TEZOS_DIGEST_SIZE];

    writing->store = store;
    memset(digest, 0x5a, sizeof digest);
    tezos_base58check_encode(TEZOS_B58_CHAIN_ID, chain, chain_text, sizeof chain_text);
    tezos_base58check_encode(TEZOS_B58_VALUE_HASH, digest, writing->digest, sizeof writing->digest);
    snprintf(writing->idx, sizeof writing->idx, "%s/%s", chain_text, key->address);
}

void measure_token_and_store(const struct bench_token *token, const struct bench_key *key,
                             struct watermark_store *store,
                             const uint8_t chain[TEZOS_CHAIN_ID_SIZE], size_t n,
                             struct samples *token_samples, struct samples *store_samples)
{
    struct token_signing signing = {.token = token, .key = key};
    struct store_writing writing;
    const struct timed_operation operations[] = {
        {NULL, run_token_as_gate, &signing},
        {NULL, run_store, &writing},
    };
    struct samples *samples[] = {token_samples, store_samples};

    memset(signing.digest, 0x5a, sizeof signing.digest);
    store_writing_for(store, key, chain, &writing);
    time_in_turn(operations, 2, WARM_UP, n, samples);
}

struct tzwm_signing {
    const struct bench_token *token;
    CK_SESSION_HANDLE session;
    struct bench_key *key;
    const uint8_t *chain;
    uint8_t request[BENCH_REQUEST_MAX];
    size_t length;
};

/* Each signature a level above the last. */
static void prepare_tzwm(void *context, size_t i)
{
    struct tzwm_signing *signing = context;
    (void)i;

    signing->length =
        bench_attestation(signing->chain, ++signing->key->next_level, signing->request);
}

static void run_tzwm(void *context, size_t i)
{
    struct tzwm_signing *signing = context;
    uint8_t signature[TEZOS_SIGNATURE_SIZE];
    CK_RV rv = bench_sign(signing->token->p11, signing->session, signing->key, signing->request,
                          signing->length, signature);
    (void)i;

    if (rv != CKR_OK)
        bench_fail("tzwm did not sign level %d with %s: %s", signing->key->next_level,
                   signing->key->label, ckr_name(rv));
}

static void sign_through_tzwm(const struct bench_token *token, CK_SESSION_HANDLE session,
                              struct bench_key *key, const uint8_t chain[TEZOS_CHAIN_ID_SIZE],
                              size_t warm_up, size_t count, struct samples *samples)
{
    struct tzwm_signing signing = {.token = token, .session = session, .key = key, .chain = chain};
    struct timed_operation operation = {prepare_tzwm, run_tzwm, &signing};

    time_runs(&operation, warm_up, count, samples);
}

void measure_store_and_tzwm(struct watermark_store *store, const struct bench_token *token,
                            struct bench_key *key, const uint8_t store_chain[TEZOS_CHAIN_ID_SIZE],
                            const uint8_t tzwm_chain[TEZOS_CHAIN_ID_SIZE], size_t n,
                            struct samples *store_samples, struct samples *tzwm_samples)
{
    struct store_writing writing;
    struct tzwm_signing signing = {
        .token = token, .session = token->session, .key = key, .chain = tzwm_chain};
    const struct timed_operation operations[] = {
        {NULL, run_store, &writing},
        {prepare_tzwm, run_tzwm, &signing},
    };
    struct samples *samples[] = {store_samples, tzwm_samples};

    store_writing_for(store, key, store_chain, &writing);
    time_in_turn(operations, 2, WARM_UP, n, samples);
}

struct signing_thread {
    pthread_t thread;
    const struct bench_token *token;
    struct bench_key *key;
    const uint8_t *chain;
    size_t count;
    pthread_barrier_t *start;
    struct samples samples;
};

static void *signing_thread_run(void *argument)
{
    struct signing_thread *thread = argument;
    CK_SESSION_HANDLE session = bench_token_session(thread->token);

    /* Warm: this session's first use of the key, and a connection for this thread in the pool. */
    sign_through_tzwm(thread->token, session, thread->key, thread->chain, 0, WARM_UP,
                      &thread->samples);
    thread->samples.count = 0;
    pthread_barrier_wait(thread->start);
    sign_through_tzwm(thread->token, session, thread->key, thread->chain, 0, thread->count,
                      &thread->samples);
    thread->token->p11->C_CloseSession(session);
    return NULL;
}

void measure_threads(const struct bench_token *token, struct bench_key *keys, size_t threads,
                     const uint8_t chain[TEZOS_CHAIN_ID_SIZE], size_t n, struct samples *samples)
{
    struct signing_thread running[threads];
    pthread_barrier_t start;
    double started;

    pthread_barrier_init(&start, NULL, (unsigned)threads + 1);
    for (size_t i = 0; i < threads; i++) {
        running[i] = (struct signing_thread){
            .token = token, .key = &keys[i], .chain = chain, .count = n / threads, .start = &start};
        samples_init(&running[i].samples, n / threads + WARM_UP);
        if (pthread_create(&running[i].thread, NULL, signing_thread_run, &running[i]) != 0)
            bench_fail("cannot start a signing thread");
    }
    pthread_barrier_wait(&start);
    started = bench_now();
    for (size_t i = 0; i < threads; i++) {
        pthread_join(running[i].thread, NULL);
        samples_merge(samples, &running[i].samples);
        samples->cpu_seconds += running[i].samples.cpu_seconds;
        samples_free(&running[i].samples);
    }
    samples->wall_seconds = bench_now() - started;
    pthread_barrier_destroy(&start);
}
