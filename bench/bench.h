/*
 * bench/: what tzwm adds to a signature, measured against SoftHSM and a DynamoDB-API server on
 * loopback. Run by scripts/bench; never by the tests (speed is reported, not asserted).
 */
#ifndef TZWM_BENCH_H
#define TZWM_BENCH_H

#include "cli.h"
#include "tezos.h"

#include <p11-kit/pkcs11.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* fail.c: the bench stops at the first thing that does not work; it has nothing to fall back on.
 */
_Noreturn void bench_fail(const char *format, ...) __attribute__((format(printf, 1, 2)));

/* clock.c: seconds of the monotonic clock, and CPU seconds of the calling thread (user + system,
 * nanosecond resolution, waiting not included). */
double bench_now(void);
double bench_thread_cpu(void);

/* server.c: CPU seconds the DynamoDB-API server (TZWM_STORE_PID) has used, in clock ticks'
 * resolution; -1 when unknown. */
double bench_server_cpu(void);

/* samples.c: the latencies of one measurement, and what the report says of them. */
struct samples {
    double *micros;
    size_t count, capacity;
    double wall_seconds; /* the whole run, for the throughput */
    double cpu_seconds;  /* the measuring threads' CPU over the run */
};

struct summary {
    double median_micros, p99_micros;
    double per_second;
    double cpu_micros; /* per operation */
};

void samples_init(struct samples *samples, size_t capacity);
void samples_add(struct samples *samples, double micros);
/* Adds every sample of other (for threads measured apart); wall and CPU are the caller's. */
void samples_merge(struct samples *samples, const struct samples *other);
struct summary samples_summary(struct samples *samples);
void samples_free(struct samples *samples);

/* token.c: a PKCS#11 module (SoftHSM itself, or libtzwm.so over it) with the bench's token
 * open and logged in, and the keys found in it. */
struct bench_token {
    struct client_module module;
    CK_FUNCTION_LIST_PTR p11;
    CK_SLOT_ID slot;
    CK_SESSION_HANDLE session;
};

struct bench_key {
    const char *name;  /* for the report: "Ed25519", … */
    const char *label; /* CKA_LABEL of the pair */
    CK_MECHANISM_TYPE mechanism;
    CK_OBJECT_HANDLE handle; /* the private key, in the token's sessions */
    struct tezos_public_key public_key;
    char address[40];
    int32_t next_level; /* each signature through tzwm goes one level up */
};

void bench_token_open(struct bench_token *token, const char *module_path, const char *label,
                      const char *pin);
void bench_token_close(struct bench_token *token);
/* A new session of the token's application (already logged in: login is per application). */
CK_SESSION_HANDLE bench_token_session(const struct bench_token *token);
void bench_key_find(const struct bench_token *token, struct bench_key *key);
/* C_SignInit + C_Sign of data with key: what a signer does for one signature. */
CK_RV bench_sign(CK_FUNCTION_LIST_PTR p11, CK_SESSION_HANDLE session, const struct bench_key *key,
                 const uint8_t *data, size_t length, uint8_t signature[TEZOS_SIGNATURE_SIZE]);

/* request.c: the request tzwm signs for the bench: an attestation (the signature a baker makes
 * most often) on chain at level, round 0. out holds BENCH_REQUEST_MAX bytes. */
#define BENCH_REQUEST_MAX 512
size_t bench_attestation(const uint8_t chain[TEZOS_CHAIN_ID_SIZE], int32_t level, uint8_t *out);

/* measure.c: the four measurements. Each warms up first (a first signature reads the key, a first
 * request opens the connection) and then times n operations, one sample each. */
struct watermark_store;

/* 1: C_SignInit + C_Sign of a 32-byte digest on the token itself. */
void measure_token(const struct bench_token *token, const struct bench_key *key, size_t n,
                   struct samples *samples);
/* 1 as tzwm drives the token: its C_GetSessionInfo and C_GetAttributeValue (the key check at
 * every C_SignInit), then C_SignInit + C_Sign of a digest. */
void measure_token_as_gate(const struct bench_token *token, const struct bench_key *key, size_t n,
                           struct samples *samples);
/* tezos_verifier_check alone (a verifier made once per key), as the gate runs it after every
 * signature. */
void measure_verify(const struct bench_token *token, const struct bench_key *key, size_t n,
                    struct samples *samples);
/* 1b and 2 in turn, as a signer that kept its own watermark in DynamoDB would run them: the
 * token's calls as tzwm makes them, then a conditional PutItem on chain. */
void measure_token_and_store(const struct bench_token *token, const struct bench_key *key,
                             struct watermark_store *store,
                             const uint8_t chain[TEZOS_CHAIN_ID_SIZE], size_t n,
                             struct samples *token_samples, struct samples *store_samples);
/* 2 and 3 in turn (one of each per round, so that both see the same moments of the server):
 * 2: one conditional PutItem through watermark_advance, on store_chain, a new level each time;
 * 3: C_SignInit + C_Sign of a whole attestation through tzwm, on tzwm_chain, a new level each
 * time. */
void measure_store_and_tzwm(struct watermark_store *store, const struct bench_token *token,
                            struct bench_key *key, const uint8_t store_chain[TEZOS_CHAIN_ID_SIZE],
                            const uint8_t tzwm_chain[TEZOS_CHAIN_ID_SIZE], size_t n,
                            struct samples *store_samples, struct samples *tzwm_samples);
/* 4: threads signing at once through tzwm, each in its own session with keys[i], n in all. CPU
 * is summed over the threads. */
void measure_threads(const struct bench_token *token, struct bench_key *keys, size_t threads,
                     const uint8_t chain[TEZOS_CHAIN_ID_SIZE], size_t n, struct samples *samples);

/* report.c: the markdown the bench prints. */
enum measurement {
    MEASURE_TOKEN,         /* 1 */
    MEASURE_STORE,         /* 2 */
    MEASURE_TZWM,          /* 3 */
    MEASURE_TOKEN_AS_GATE, /* the token calls tzwm makes per signature */
    MEASURE_VERIFY,        /* the gate's verification alone */
    MEASURE_TOKEN_IN_TURN, /* 1b in turn with a PutItem */
    MEASURE_STORE_IN_TURN, /* a PutItem in turn with 1b */
    MEASUREMENTS,
};

struct key_results {
    const struct bench_key *key;
    struct summary of[MEASUREMENTS];
};

struct thread_results {
    size_t threads;
    struct summary summary;
    double server_cpu_seconds; /* the server's over the run; negative when unknown */
    double wall_seconds;
    size_t signatures;
};

struct connection_counts {
    unsigned long requests, opened, signatures;
    bool known;
};

void report_latency(const struct key_results *results, size_t count, size_t n);
void report_threads(const struct thread_results *results, size_t count, size_t n);
void report_connections(const struct connection_counts *store,
                        const struct connection_counts *tzwm);
void report_cpu(const struct key_results *results, size_t count);

#endif
