/*
 * The watermark store as the module uses it. Opened at C_Initialize from the AWS_* and TZWM_*
 * environment; its table is ensured then, and, if DynamoDB could not be reached, again by each
 * signature until it works. A store that is not configured refuses every watermarked signature
 * and says why: tzwm still serves everything else (listing keys, say).
 */
#include "module.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct gate_store {
    struct watermark_store *store; /* NULL: not configured (error says why) */
    char table[256];
    char error[WATERMARK_REASON_SIZE];
    bool ready; /* the table is there; guarded by the module-state lock */
};

/* Ensures the table and logs the outcome. */
static enum watermark_result ensure_table(struct gate_store *gate, char *reason, size_t reason_size)
{
    enum watermark_table_origin origin;
    enum watermark_result result;

    result = watermark_ensure_table(gate->store, &origin, reason, reason_size);
    if (result == WATERMARK_OK)
        log_info(origin == WATERMARK_TABLE_CREATED
                     ? "DynamoDB watermark backend created table '%s'"
                     : "DynamoDB watermark backend using existing table '%s'",
                 gate->table);
    return result;
}

static void set_ready(struct gate_store *gate)
{
    state_lock();
    gate->ready = true;
    state_unlock();
}

static bool is_ready(struct gate_store *gate)
{
    bool ready;

    state_lock();
    ready = gate->ready;
    state_unlock();
    return ready;
}

struct gate_store *gate_store_open(void)
{
    struct gate_store *gate = calloc(1, sizeof *gate);
    struct watermark_config *config;
    char reason[WATERMARK_REASON_SIZE];

    if (gate == NULL)
        return NULL;
    config = watermark_config_from_env(gate->error, sizeof gate->error);
    if (config == NULL) {
        log_error("the watermark store is not configured: %s; every watermarked signature "
                  "will be refused",
                  gate->error);
        return gate;
    }
    snprintf(gate->table, sizeof gate->table, "%s", watermark_config_table(config));
    gate->store = watermark_store_open(config, gate->error, sizeof gate->error);
    if (gate->store == NULL) {
        log_error("cannot open the watermark store: %s; every watermarked signature will be "
                  "refused",
                  gate->error);
    } else {
        log_info("watermark store: table '%s' at %s (region %s, deadline %ld ms)", gate->table,
                 watermark_config_endpoint(config), watermark_config_region(config),
                 watermark_config_timeout_ms(config));
        /* Not shared yet: no lock needed. */
        if (ensure_table(gate, reason, sizeof reason) == WATERMARK_OK)
            gate->ready = true;
        else
            log_warn("DynamoDB watermark backend cannot set up table '%s' yet: %s; signing "
                     "will retry it",
                     gate->table, reason);
    }
    watermark_config_free(config);
    return gate;
}

void gate_store_close(struct gate_store *gate)
{
    if (gate == NULL)
        return;
    if (gate->store != NULL) {
        struct watermark_connection_counters counters;

        /* A pool that works keeps this near one connection per concurrent signer. */
        watermark_store_counters(gate->store, &counters);
        log_info("DynamoDB watermark backend closed: %lu requests over %lu connections opened",
                 counters.requests, counters.connections_opened);
    }
    watermark_store_close(gate->store);
    free(gate);
}

enum watermark_result gate_store_advance(struct gate_store *gate, const char *idx, const char *kind,
                                         int64_t level, int64_t round, const char *digest,
                                         char *reason, size_t reason_size)
{
    enum watermark_result result;

    if (gate->store == NULL) {
        snprintf(reason, reason_size, "the watermark store is not configured: %s", gate->error);
        return WATERMARK_UNAVAILABLE;
    }
    if (!is_ready(gate)) {
        result = ensure_table(gate, reason, reason_size);
        if (result != WATERMARK_OK)
            return result;
        set_ready(gate);
    }
    return watermark_advance(gate->store, idx, kind, level, round, digest, reason, reason_size);
}
