/*
 * The bench's answer, as markdown tables: what the README's Performance section carries.
 */
#include "bench.h"

#include <stdio.h>

static const char *const measurement_names[MEASUREMENTS] = {
    [MEASURE_TOKEN] = "1. token alone (C_Sign of a digest)",
    [MEASURE_STORE] = "2. store alone (conditional PutItem)",
    [MEASURE_TZWM] = "3. tzwm (C_Sign of a whole attestation)",
    [MEASURE_TOKEN_AS_GATE] = "1b. token, the calls tzwm makes (+ session info, key check)",
    [MEASURE_VERIFY] = "tzwm's verification alone (tezos_verifier_check)",
    [MEASURE_TOKEN_IN_TURN] = "1c. 1b in turn with a PutItem (a signer's own watermark)",
    [MEASURE_STORE_IN_TURN] = "2c. the PutItem in turn with 1b",
};

void report_latency(const struct key_results *results, size_t count, size_t n)
{
    printf("\n### Latency, %zu operations each, one thread\n\n", n);
    printf("| key | measurement | median µs | p99 µs | per second | CPU µs/op |\n");
    printf("|---|---|--:|--:|--:|--:|\n");
    for (size_t i = 0; i < count; i++) {
        for (int m = 0; m < MEASUREMENTS; m++) {
            const struct summary *s = &results[i].of[m];
            printf("| %s | %s | %.0f | %.0f | %.0f | %.1f |\n", results[i].key->name,
                   measurement_names[m], s->median_micros, s->p99_micros, s->per_second,
                   s->cpu_micros);
        }
    }
    printf("\n| key | ratio 3 / (1 + 2) at the median | at p99 | 3 / (1c + 2c) at the median "
           "|\n|---|--:|--:|--:|\n");
    for (size_t i = 0; i < count; i++) {
        const struct summary *of = results[i].of;
        printf("| %s | %.3f | %.3f | %.3f |\n", results[i].key->name,
               of[MEASURE_TZWM].median_micros /
                   (of[MEASURE_TOKEN].median_micros + of[MEASURE_STORE].median_micros),
               of[MEASURE_TZWM].p99_micros /
                   (of[MEASURE_TOKEN].p99_micros + of[MEASURE_STORE].p99_micros),
               of[MEASURE_TZWM].median_micros / (of[MEASURE_TOKEN_IN_TURN].median_micros +
                                                 of[MEASURE_STORE_IN_TURN].median_micros));
    }
}

void report_threads(const struct thread_results *results, size_t count, size_t n)
{
    printf("\n### Threads through tzwm, each its own session and Ed25519 key, %zu signatures in "
           "all\n\n",
           n);
    printf("| threads | median µs | p99 µs | signatures/s | × 1 thread | client CPU µs/signature | "
           "server CPU µs/signature | server busy |\n");
    printf("|--:|--:|--:|--:|--:|--:|--:|--:|\n");
    for (size_t i = 0; i < count; i++) {
        const struct thread_results *run = &results[i];
        const struct summary *s = &run->summary;
        printf("| %zu | %.0f | %.0f | %.0f | %.2f | %.1f |", run->threads, s->median_micros,
               s->p99_micros, s->per_second, s->per_second / results[0].summary.per_second,
               s->cpu_micros);
        if (run->server_cpu_seconds < 0)
            printf(" unknown | unknown |\n");
        else
            printf(" %.0f | %.0f %% of a core |\n",
                   run->server_cpu_seconds * 1e6 / (double)run->signatures,
                   100 * run->server_cpu_seconds / run->wall_seconds);
    }
}

static void report_counts(const char *what, const struct connection_counts *counts)
{
    if (!counts->known) {
        printf("| %s | unknown (no counter line in TZWM_LOG_FILE) | | |\n", what);
        return;
    }
    printf("| %s | %lu | %lu | %.2f |\n", what, counts->requests, counts->opened,
           counts->signatures ? 1000.0 * (double)counts->opened / (double)counts->signatures : 0);
}

void report_connections(const struct connection_counts *store, const struct connection_counts *tzwm)
{
    printf("\n### DynamoDB connections (libcurl's CURLINFO_NUM_CONNECTS, summed)\n\n");
    printf("| client | HTTP requests | connections opened | per 1000 signatures |\n");
    printf("|---|--:|--:|--:|\n");
    report_counts("2. store alone (warm-ups included)", store);
    report_counts("libtzwm.so, whole process lifetime (table set-up, warm-ups, threads)", tzwm);
}

void report_cpu(const struct key_results *results, size_t count)
{
    printf("\n### CPU per signature, µs (CLOCK_THREAD_CPUTIME_ID of the signing thread: user + "
           "system, no waiting)\n\n");
    printf("| key | 3. tzwm | 1. token | 1b. token, tzwm's calls | 2. store client | 3 − 1 − 2 | "
           "module's own: 3 − 1b − 2 | of which verification | module's own without it |\n");
    printf("|---|--:|--:|--:|--:|--:|--:|--:|--:|\n");
    for (size_t i = 0; i < count; i++) {
        const struct summary *of = results[i].of;
        double tzwm = of[MEASURE_TZWM].cpu_micros, store = of[MEASURE_STORE].cpu_micros;
        double own = tzwm - of[MEASURE_TOKEN_AS_GATE].cpu_micros - store;
        printf("| %s | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f |\n",
               results[i].key->name, tzwm, of[MEASURE_TOKEN].cpu_micros,
               of[MEASURE_TOKEN_AS_GATE].cpu_micros, store,
               tzwm - of[MEASURE_TOKEN].cpu_micros - store, own, of[MEASURE_VERIFY].cpu_micros,
               own - of[MEASURE_VERIFY].cpu_micros);
    }
}
