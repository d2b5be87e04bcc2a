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

void measure_token(const struct bench_token *token, const struct bench_key *key, size_t n,
                   struct samples *samples)
{
    uint8_t digest[TEZOS_DIGEST_SIZE], signature[TEZOS_SIGNATURE_SIZE];
    double start, cpu = 0;

    memset(digest, 0x5a, sizeof digest);
    for (size_t i = 0; i < WARM_UP + n; i++) {
        if (i == WARM_UP) {
            samples->wall_seconds = bench_now();
            cpu = bench_thread_cpu();
        }
        digest[0] = (uint8_t)i;
        start = bench_now();
        CK_RV rv = bench_sign(token->p11, token->session, key, digest, sizeof digest, signature);
        double micros = (bench_now() - start) * 1e6;
        if (rv != CKR_OK)
            bench_fail("the token did not sign with %s: %s", key->label, ckr_name(rv));
        if (i >= WARM_UP)
            samples_add(samples, micros);
    }
    samples->wall_seconds = bench_now() - samples->wall_seconds;
    samples->cpu_seconds = bench_thread_cpu() - cpu;
}

/* What the token does for tzwm per signature besides signing: the session's slot, and the key's
 * class, type and CKA_SIGN (checked at every C_SignInit, on purpose). */
static CK_RV token_calls_of_the_gate(const struct bench_token *token, const struct bench_key *key)
{
    CK_OBJECT_CLASS class;
    CK_KEY_TYPE type;
    CK_BBOOL sign;
    CK_ATTRIBUTE template[] = {
        {CKA_CLASS, &class, sizeof class},
        {CKA_KEY_TYPE, &type, sizeof type},
        {CKA_SIGN, &sign, sizeof sign},
    };
    CK_SESSION_INFO info;
    CK_RV rv = token->p11->C_GetSessionInfo(token->session, &info);

    if (rv == CKR_OK)
        rv = token->p11->C_GetAttributeValue(token->session, key->handle, template, 3);
    return rv;
}

void measure_token_as_gate(const struct bench_token *token, const struct bench_key *key, size_t n,
                           struct samples *samples)
{
    uint8_t digest[TEZOS_DIGEST_SIZE], signature[TEZOS_SIGNATURE_SIZE];
    double start, cpu = 0;

    memset(digest, 0x5a, sizeof digest);
    for (size_t i = 0; i < WARM_UP + n; i++) {
        if (i == WARM_UP) {
            samples->wall_seconds = bench_now();
            cpu = bench_thread_cpu();
        }
        digest[0] = (uint8_t)i;
        start = bench_now();
        CK_RV rv = token_calls_of_the_gate(token, key);
        if (rv == CKR_OK)
            rv = bench_sign(token->p11, token->session, key, digest, sizeof digest, signature);
        double micros = (bench_now() - start) * 1e6;
        if (rv != CKR_OK)
            bench_fail("the token did not sign with %s: %s", key->label, ckr_name(rv));
        if (i >= WARM_UP)
            samples_add(samples, micros);
    }
    samples->wall_seconds = bench_now() - samples->wall_seconds;
    samples->cpu_seconds = bench_thread_cpu() - cpu;
}

void measure_verify(const struct bench_token *token, const struct bench_key *key, size_t n,
                    struct samples *samples)
{
    static const uint8_t chain[TEZOS_CHAIN_ID_SIZE] = {0x7a, 0x62, 0x76, 0x01};
    uint8_t request[BENCH_REQUEST_MAX], digest[TEZOS_DIGEST_SIZE];
    uint8_t signature[TEZOS_SIGNATURE_SIZE];
    size_t length = bench_attestation(chain, 1, request);
    double start, cpu = 0;
    CK_RV rv;

    tezos_blake2b_256(request, length, digest);
    rv = bench_sign(token->p11, token->session, key, digest, sizeof digest, signature);
    if (rv != CKR_OK)
        bench_fail("the token did not sign with %s: %s", key->label, ckr_name(rv));
    tezos_signature_normalize(key->public_key.curve, signature, NULL);
    for (size_t i = 0; i < WARM_UP + n; i++) {
        if (i == WARM_UP) {
            samples->wall_seconds = bench_now();
            cpu = bench_thread_cpu();
        }
        start = bench_now();
        enum tezos_error error =
            tezos_signature_verify(&key->public_key, request, length, signature);
        double micros = (bench_now() - start) * 1e6;
        if (error != TEZOS_OK)
            bench_fail("the signature by %s does not verify", key->label);
        if (i >= WARM_UP)
            samples_add(samples, micros);
    }
    samples->wall_seconds = bench_now() - samples->wall_seconds;
    samples->cpu_seconds = bench_thread_cpu() - cpu;
}

void measure_store(struct watermark_store *store, const struct bench_key *key,
                   const uint8_t chain[TEZOS_CHAIN_ID_SIZE], size_t n, struct samples *samples)
{
    char chain_text[TEZOS_BASE58_TEXT_MAX], idx[2 * TEZOS_BASE58_TEXT_MAX];
    char digest[TEZOS_BASE58_TEXT_MAX], reason[WATERMARK_REASON_SIZE];
    uint8_t digest_bytes[TEZOS_DIGEST_SIZE];
    double start, cpu = 0;

    memset(digest_bytes, 0x5a, sizeof digest_bytes);
    tezos_base58check_encode(TEZOS_B58_CHAIN_ID, chain, chain_text, sizeof chain_text);
    tezos_base58check_encode(TEZOS_B58_VALUE_HASH, digest_bytes, digest, sizeof digest);
    snprintf(idx, sizeof idx, "%s/%s", chain_text, key->address);
    for (size_t i = 0; i < WARM_UP + n; i++) {
        if (i == WARM_UP) {
            samples->wall_seconds = bench_now();
            cpu = bench_thread_cpu();
        }
        start = bench_now();
        enum watermark_result result = watermark_advance(store, idx, "attestation", (int64_t)i + 1,
                                                         0, digest, reason, sizeof reason);
        double micros = (bench_now() - start) * 1e6;
        if (result != WATERMARK_OK)
            bench_fail("the store did not advance %s: %s", idx, reason);
        if (i >= WARM_UP)
            samples_add(samples, micros);
    }
    samples->wall_seconds = bench_now() - samples->wall_seconds;
    samples->cpu_seconds = bench_thread_cpu() - cpu;
}

/* count signatures through tzwm with key in session, each a level above the last; samples and CPU
 * from the first timed one (after warm_up). */
static void sign_through_tzwm(const struct bench_token *token, CK_SESSION_HANDLE session,
                              struct bench_key *key, const uint8_t chain[TEZOS_CHAIN_ID_SIZE],
                              size_t warm_up, size_t count, struct samples *samples)
{
    uint8_t request[BENCH_REQUEST_MAX], signature[TEZOS_SIGNATURE_SIZE];
    double start, cpu = 0;

    for (size_t i = 0; i < warm_up + count; i++) {
        size_t length = bench_attestation(chain, ++key->next_level, request);
        if (i == warm_up) {
            samples->wall_seconds = bench_now();
            cpu = bench_thread_cpu();
        }
        start = bench_now();
        CK_RV rv = bench_sign(token->p11, session, key, request, length, signature);
        double micros = (bench_now() - start) * 1e6;
        if (rv != CKR_OK)
            bench_fail("tzwm did not sign level %d with %s: %s", key->next_level, key->label,
                       ckr_name(rv));
        if (i >= warm_up)
            samples_add(samples, micros);
    }
    samples->wall_seconds = bench_now() - samples->wall_seconds;
    samples->cpu_seconds = bench_thread_cpu() - cpu;
}

void measure_tzwm(const struct bench_token *token, struct bench_key *key,
                  const uint8_t chain[TEZOS_CHAIN_ID_SIZE], size_t n, struct samples *samples)
{
    sign_through_tzwm(token, token->session, key, chain, WARM_UP, n, samples);
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
