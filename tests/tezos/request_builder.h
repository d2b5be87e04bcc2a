/*
 * Encodes signing requests from their fields, for the tests: the independent writer side of
 * tezos_request_decode. Hashes and other opaque fields are filled with recognisable patterns.
 */
#ifndef TZWM_TESTS_REQUEST_BUILDER_H
#define TZWM_TESTS_REQUEST_BUILDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BUILDER_MAX 512

struct block_fields {
    uint8_t chain_id[4];
    int32_t level;
    int32_t round; /* the last fitness element */
    int32_t payload_round;
    int32_t predecessor_round;
    bool has_locked_round;
    int32_t locked_round;
    bool has_seed_nonce_hash;
    uint8_t votes;
    /* When set, these bytes are the fitness instead of the one made from the fields above. */
    const uint8_t *fitness;
    size_t fitness_len;
};

/* A sandbox-chain block at level 2, round 0, as the vectors have. */
struct block_fields block_defaults(void);

/* The request's length; out holds BUILDER_MAX bytes. */
size_t build_block(const struct block_fields *fields, uint8_t *out);

struct consensus_fields {
    uint8_t magic; /* 0x12 or 0x13 */
    uint8_t tag;   /* 20, 21 or 23 */
    uint8_t chain_id[4];
    uint16_t slot;
    int32_t level, round;
    const uint8_t *dal; /* tag 23: the Zarith bytes as they go on the wire */
    size_t dal_len;
};

struct consensus_fields attestation_defaults(void);
size_t build_consensus(const struct consensus_fields *fields, uint8_t *out);

/* Offsets in a block built with a made fitness (F = 33, or 37 with a locked round). */
#define BLOCK_FITNESS_OFFSET 87
#define BLOCK_SIZE(f, seed)  (87 + (f) + 32 + 32 + 4 + 8 + 1 + ((seed) ? 32 : 0) + 1)

#endif
