/*
 * tzwm-bench LIBTZWM TOKEN_LABEL [N]: what tzwm adds to a signature. Needs TZWM_MODULE (the real
 * module, measured alone as well), the AWS_* variables of a DynamoDB-API server, TZWM_PIN (1234
 * when unset; never printed) and TZWM_LOG_FILE (the module's connection counter is read from it).
 * The token needs the three baker keys and extra-ed25519-1…3 (make-token with TZWM_EXTRA_KEYS=3).
 * scripts/bench sets all of this up.
 */
#include "bench.h"
#include "watermark.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define KEY_TYPES   3
#define MAX_THREADS 4

static struct bench_key keys[KEY_TYPES] = {
    {.name = "Ed25519", .label = "baker-ed25519", .mechanism = CKM_EDDSA},
    {.name = "secp256k1", .label = "baker-secp256k1", .mechanism = CKM_ECDSA},
    {.name = "P-256", .label = "baker-p256", .mechanism = CKM_ECDSA},
};

/* One key per signing thread, so that no two threads ever race for one watermark row. */
static struct bench_key thread_keys[MAX_THREADS] = {
    {.name = "Ed25519", .label = "baker-ed25519", .mechanism = CKM_EDDSA},
    {.name = "Ed25519", .label = "extra-ed25519-1", .mechanism = CKM_EDDSA},
    {.name = "Ed25519", .label = "extra-ed25519-2", .mechanism = CKM_EDDSA},
    {.name = "Ed25519", .label = "extra-ed25519-3", .mechanism = CKM_EDDSA},
};

static const size_t thread_counts[] = {1, 2, 4};
#define THREAD_RUNS (sizeof thread_counts / sizeof thread_counts[0])

/* A chain of this run's own for each use, so that no two measurements share a watermark row. */
enum chain_use { CHAIN_STORE = 1, CHAIN_TZWM, CHAIN_THREADS, CHAIN_TOKEN_AND_STORE };

static void chain_for(enum chain_use use, uint8_t chain[TEZOS_CHAIN_ID_SIZE])
{
    chain[0] = 0x7a, chain[1] = 0x62, chain[2] = (uint8_t)getpid(), chain[3] = (uint8_t)use;
}

static const char *required_env(const char *name)
{
    const char *value = getenv(name);

    if (value == NULL || value[0] == '\0')
        bench_fail("%s is not set (scripts/bench sets it)", name);
    return value;
}

static struct summary summarize(struct samples *samples)
{
    struct summary summary = samples_summary(samples);

    samples_free(samples);
    return summary;
}

/* The store in the bench's own process, opened as the module opens it. */
static struct watermark_store *store_open(void)
{
    enum watermark_table_origin origin;
    char error[WATERMARK_REASON_SIZE];
    struct watermark_config *config = watermark_config_from_env(error, sizeof error);
    struct watermark_store *store;

    if (config == NULL || (store = watermark_store_open(config, error, sizeof error)) == NULL)
        bench_fail("the watermark store: %s", error);
    watermark_config_free(config);
    if (watermark_ensure_table(store, &origin, error, sizeof error) != WATERMARK_OK)
        bench_fail("the watermark table: %s", error);
    return store;
}

/* 1, the verification, and 1b with 2 in turn: SoftHSM loaded by itself, then unloaded again
 * (tzwm must be the only user of the real module in a process). */
static void measure_real_token(const char *label, const char *pin, size_t n,
                               struct key_results *results)
{
    struct watermark_store *store = store_open();
    struct bench_token token;
    struct samples samples, store_samples;
    uint8_t chain[TEZOS_CHAIN_ID_SIZE];

    chain_for(CHAIN_TOKEN_AND_STORE, chain);
    bench_token_open(&token, required_env("TZWM_MODULE"), label, pin);
    for (size_t i = 0; i < KEY_TYPES; i++) {
        bench_key_find(&token, &keys[i]);
        samples_init(&samples, n);
        measure_token(&token, &keys[i], n, &samples);
        results[i].of[MEASURE_TOKEN] = summarize(&samples);
        samples_init(&samples, n);
        measure_token_as_gate(&token, &keys[i], n, &samples);
        results[i].of[MEASURE_TOKEN_AS_GATE] = summarize(&samples);
        samples_init(&samples, n);
        measure_verify(&token, &keys[i], n, &samples);
        results[i].of[MEASURE_VERIFY] = summarize(&samples);
        samples_init(&samples, n);
        samples_init(&store_samples, n);
        measure_token_and_store(&token, &keys[i], store, chain, n, &samples, &store_samples);
        results[i].of[MEASURE_TOKEN_IN_TURN] = summarize(&samples);
        results[i].of[MEASURE_STORE_IN_TURN] = summarize(&store_samples);
    }
    bench_token_close(&token);
    watermark_store_close(store);
}

/* The module's own counters, from the line it logs when C_Finalize closes its store. */
static void read_module_counts(struct connection_counts *counts)
{
    static const char marker[] = "DynamoDB watermark backend closed: ";
    FILE *log = fopen(required_env("TZWM_LOG_FILE"), "r");
    char line[1024];

    if (log == NULL)
        return;
    while (fgets(line, sizeof line, log) != NULL) {
        const char *found = strstr(line, marker);
        if (found != NULL &&
            sscanf(found + strlen(marker), "%lu requests over %lu connections opened",
                   &counts->requests, &counts->opened) == 2)
            counts->known = true;
    }
    fclose(log);
}

/* 2 and 3 in turn, then 4: the store in the bench's own process, and libtzwm.so. */
static void measure_module(const char *library, const char *label, const char *pin, size_t n,
                           struct key_results *results, struct thread_results *threads,
                           struct connection_counts *store_counts, struct connection_counts *counts)
{
    struct watermark_connection_counters before, after;
    struct watermark_store *store = store_open();
    struct bench_token token;
    struct samples store_samples, tzwm_samples;
    uint8_t store_chain[TEZOS_CHAIN_ID_SIZE], chain[TEZOS_CHAIN_ID_SIZE];

    bench_token_open(&token, library, label, pin);
    chain_for(CHAIN_STORE, store_chain);
    chain_for(CHAIN_TZWM, chain);
    watermark_store_counters(store, &before);
    for (size_t i = 0; i < KEY_TYPES; i++) {
        bench_key_find(&token, &keys[i]);
        samples_init(&store_samples, n);
        samples_init(&tzwm_samples, n);
        measure_store_and_tzwm(store, &token, &keys[i], store_chain, chain, n, &store_samples,
                               &tzwm_samples);
        results[i].of[MEASURE_STORE] = summarize(&store_samples);
        results[i].of[MEASURE_TZWM] = summarize(&tzwm_samples);
        counts->signatures += (unsigned long)keys[i].next_level;
    }
    watermark_store_counters(store, &after);
    watermark_store_close(store);
    store_counts->requests = after.requests - before.requests;
    store_counts->opened = after.connections_opened - before.connections_opened;
    store_counts->signatures = store_counts->requests; /* one PutItem stands for one signature */
    store_counts->known = true;

    chain_for(CHAIN_THREADS, chain);
    for (size_t i = 0; i < MAX_THREADS; i++)
        bench_key_find(&token, &thread_keys[i]);
    for (size_t run = 0; run < THREAD_RUNS; run++) {
        double server = bench_server_cpu();
        struct samples samples;

        samples_init(&samples, n);
        measure_threads(&token, thread_keys, thread_counts[run], chain, n, &samples);
        threads[run] = (struct thread_results){
            .threads = thread_counts[run],
            .server_cpu_seconds = server < 0 ? -1 : bench_server_cpu() - server,
            .wall_seconds = samples.wall_seconds,
            .signatures = samples.count,
        };
        threads[run].summary = summarize(&samples);
    }
    for (size_t i = 0; i < MAX_THREADS; i++)
        counts->signatures += (unsigned long)thread_keys[i].next_level;
    bench_token_close(&token);
    read_module_counts(counts);
}

int main(int argc, char **argv)
{
    struct key_results results[KEY_TYPES] = {0};
    struct thread_results threads[THREAD_RUNS];
    struct connection_counts store_counts = {0}, module_counts = {0};
    const char *pin = getenv("TZWM_PIN") != NULL ? getenv("TZWM_PIN") : "1234";
    long n = argc > 3 ? strtol(argv[3], NULL, 10) : 2000;

    if (argc < 3 || argc > 4 || n < 4 || n > 1000000) {
        fprintf(stderr, "usage: tzwm-bench LIBTZWM TOKEN_LABEL [N (4 to 1000000, default 2000)]\n");
        return 2;
    }
    for (size_t i = 0; i < KEY_TYPES; i++)
        results[i].key = &keys[i];

    fprintf(stderr, "tzwm-bench: 1. the token alone, and the verification alone\n");
    measure_real_token(argv[2], pin, (size_t)n, results);
    fprintf(stderr, "tzwm-bench: 2. the store alone and 3. through tzwm, in turn; 4. threads\n");
    measure_module(argv[1], argv[2], pin, (size_t)n, results, threads, &store_counts,
                   &module_counts);

    report_latency(results, KEY_TYPES, (size_t)n);
    report_threads(threads, THREAD_RUNS, (size_t)n);
    report_cpu(results, KEY_TYPES);
    report_connections(&store_counts, &module_counts);
    return 0;
}
