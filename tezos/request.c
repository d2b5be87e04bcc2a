/* Decoding signing requests: magic byte ‖ payload, layouts as in docs/tezos-signing.md §2. */
#include "tezos.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define MAGIC_EMMY_BLOCK       0x01
#define MAGIC_EMMY_ENDORSEMENT 0x02
#define MAGIC_GENERIC          0x03
#define MAGIC_MICHELSON        0x05
#define MAGIC_BLOCK            0x11
#define MAGIC_PREATTESTATION   0x12
#define MAGIC_ATTESTATION      0x13

#define TAG_PREATTESTATION       20
#define TAG_ATTESTATION          21
#define TAG_ATTESTATION_WITH_DAL 23
#define TAG_BLS_PREATTESTATION   40
#define TAG_BLS_ATTESTATION      41

/* Preattestations and attestations: everything up to the block payload hash. */
#define CONSENSUS_SIZE 80

/* The Tenderbake fitness: version, level, locked round, predecessor round, round. */
#define FITNESS_ELEMENTS 5
#define FITNESS_VERSION  0x02

/* A cursor over the request; every read checks the bytes are there and names the field. */
struct reader {
    const uint8_t *bytes;
    size_t len, offset;
    struct tezos_request_result *result;
};

static enum tezos_error refuse(struct tezos_request_result *result, enum tezos_error error,
                               const char *format, ...) __attribute__((format(printf, 3, 4)));

static enum tezos_error refuse(struct tezos_request_result *result, enum tezos_error error,
                               const char *format, ...)
{
    va_list args;

    result->error = error;
    va_start(args, format);
    vsnprintf(result->reason, sizeof result->reason, format, args);
    va_end(args);
    return error;
}

static const uint8_t *take(struct reader *reader, size_t size, const char *field)
{
    const uint8_t *at = reader->bytes + reader->offset;

    if (reader->len - reader->offset < size) {
        refuse(reader->result, TEZOS_ERR_TRUNCATED,
               "request truncated: %s needs %zu bytes at offset %zu, only %zu left", field, size,
               reader->offset, reader->len - reader->offset);
        return NULL;
    }
    reader->offset += size;
    return at;
}

static uint32_t be32(const uint8_t *at)
{
    return (uint32_t)at[0] << 24 | (uint32_t)at[1] << 16 | (uint32_t)at[2] << 8 | at[3];
}

static bool take_u8(struct reader *reader, const char *field, uint8_t *value)
{
    const uint8_t *at = take(reader, 1, field);

    if (at != NULL)
        *value = at[0];
    return at != NULL;
}

static bool take_u32(struct reader *reader, const char *field, uint32_t *value)
{
    const uint8_t *at = take(reader, 4, field);

    if (at != NULL)
        *value = be32(at);
    return at != NULL;
}

static bool take_i32(struct reader *reader, const char *field, int32_t *value)
{
    uint32_t raw;

    if (!take_u32(reader, field, &raw))
        return false;
    *value = (int32_t)raw;
    return true;
}

static bool skip(struct reader *reader, size_t size, const char *field)
{
    return take(reader, size, field) != NULL;
}

/* The last check of every layout: the request ends where its encoding ends. */
static enum tezos_error expect_end(struct reader *reader, const char *what)
{
    if (reader->offset != reader->len)
        return refuse(reader->result, TEZOS_ERR_TRAILING,
                      "%zu trailing bytes after the %zu-byte %s", reader->len - reader->offset,
                      reader->offset, what);
    return TEZOS_OK;
}

static enum tezos_error check_level(struct reader *reader, int32_t level)
{
    if (level < 0)
        return refuse(reader->result, TEZOS_ERR_NEGATIVE_LEVEL, "negative level %d", level);
    return TEZOS_OK;
}

static enum tezos_error check_round(struct reader *reader, const char *field, int32_t round)
{
    if (round < 0)
        return refuse(reader->result, TEZOS_ERR_NEGATIVE_ROUND, "negative %s %d", field, round);
    return TEZOS_OK;
}

/* One fitness element: uint32 length ‖ bytes, inside the fitness (F bytes from its start). */
static bool take_fitness_element(struct reader *reader, size_t fitness_end, int index,
                                 const uint8_t **bytes, uint32_t *len)
{
    if (fitness_end - reader->offset < 4) {
        refuse(reader->result, TEZOS_ERR_FITNESS, "fitness has %d elements, Tenderbake's has %d",
               index, FITNESS_ELEMENTS);
        return false;
    }
    *len = be32(reader->bytes + reader->offset);
    reader->offset += 4;
    if (fitness_end - reader->offset < *len) {
        refuse(reader->result, TEZOS_ERR_FITNESS,
               "fitness element %d claims %u bytes, the fitness has %zu left", index, *len,
               fitness_end - reader->offset);
        return false;
    }
    *bytes = reader->bytes + reader->offset;
    reader->offset += *len;
    return true;
}

/*
 * Tenderbake fitness: [0x02] [level] [locked round: empty or int32] [−predecessor round − 1]
 * [round]. Checked as Octez's Fitness_repr.from_raw does, so a fitness the protocol would reject
 * never gets a signature.
 */
static enum tezos_error decode_fitness(struct reader *reader, uint32_t fitness_len)
{
    struct tezos_request *request = &reader->result->request;
    size_t fitness_end = reader->offset + fitness_len;
    const uint8_t *element[FITNESS_ELEMENTS];
    uint32_t size[FITNESS_ELEMENTS];
    int32_t predecessor;
    enum tezos_error error;

    for (int i = 0; i < FITNESS_ELEMENTS; i++) {
        if (!take_fitness_element(reader, fitness_end, i, &element[i], &size[i]))
            return reader->result->error;
    }
    if (reader->offset != fitness_end)
        return refuse(reader->result, TEZOS_ERR_FITNESS,
                      "fitness has %zu bytes after its %d elements", fitness_end - reader->offset,
                      FITNESS_ELEMENTS);
    if (size[0] != 1 || element[0][0] != FITNESS_VERSION)
        return refuse(reader->result, TEZOS_ERR_FITNESS,
                      "fitness version is not the single byte 0x02");
    if (size[1] != 4 || size[3] != 4 || size[4] != 4)
        return refuse(reader->result, TEZOS_ERR_FITNESS,
                      "fitness level and round elements must be 4 bytes (%u, %u, %u)", size[1],
                      size[3], size[4]);
    if (size[2] != 0 && size[2] != 4)
        return refuse(reader->result, TEZOS_ERR_FITNESS,
                      "fitness locked round must be empty or 4 bytes, not %u", size[2]);
    if ((int32_t)be32(element[1]) != request->level)
        return refuse(reader->result, TEZOS_ERR_FITNESS,
                      "fitness level %d differs from the header level %d",
                      (int32_t)be32(element[1]), request->level);
    request->round = (int32_t)be32(element[4]);
    if ((error = check_round(reader, "round", request->round)) != TEZOS_OK)
        return error;
    /* Stored as −round − 1, so any predecessor round ≥ 0 gives a negative number. */
    predecessor = (int32_t)be32(element[3]);
    if (predecessor >= 0)
        return refuse(reader->result, TEZOS_ERR_FITNESS,
                      "fitness predecessor round element %d is not negative", predecessor);
    request->has_locked_round = size[2] == 4;
    if (request->has_locked_round) {
        request->locked_round = (int32_t)be32(element[2]);
        if ((error = check_round(reader, "locked round", request->locked_round)) != TEZOS_OK)
            return error;
        if (request->locked_round >= request->round)
            return refuse(reader->result, TEZOS_ERR_FITNESS,
                          "fitness locked round %d is not below the round %d",
                          request->locked_round, request->round);
    }
    return TEZOS_OK;
}

/*
 * Per-block votes: liquidity baking vote in bits 0-1 and adaptive issuance vote in bits 2-3, each
 * 0 (on), 1 (off) or 2 (pass); the other bits are zero (Octez Per_block_votes_repr).
 */
static bool valid_per_block_votes(uint8_t votes)
{
    return (votes & 0x03) != 0x03 && (votes & 0x0c) != 0x0c && (votes & 0xf0) == 0;
}

static enum tezos_error decode_block(struct reader *reader)
{
    struct tezos_request *request = &reader->result->request;
    const uint8_t *chain_id;
    uint32_t fitness_len;
    uint8_t flag, votes;
    enum tezos_error error;

    request->kind = TEZOS_KIND_BLOCK;
    if ((chain_id = take(reader, TEZOS_CHAIN_ID_SIZE, "chain id")) == NULL ||
        !take_i32(reader, "level", &request->level))
        return reader->result->error;
    memcpy(request->chain_id, chain_id, TEZOS_CHAIN_ID_SIZE);
    if ((error = check_level(reader, request->level)) != TEZOS_OK)
        return error;
    if (!skip(reader, 1, "proto level") || !skip(reader, 32, "predecessor hash") ||
        !skip(reader, 8, "timestamp") || !skip(reader, 1, "validation passes") ||
        !skip(reader, 32, "operations hash") || !take_u32(reader, "fitness length", &fitness_len))
        return reader->result->error;
    /* The whole fitness must be there before its elements are walked. */
    if (reader->len - reader->offset < fitness_len)
        return refuse(reader->result, TEZOS_ERR_TRUNCATED,
                      "request truncated: fitness needs %u bytes at offset %zu, only %zu left",
                      fitness_len, reader->offset, reader->len - reader->offset);
    if ((error = decode_fitness(reader, fitness_len)) != TEZOS_OK)
        return error;
    if (!skip(reader, 32, "context hash") || !skip(reader, 32, "payload hash") ||
        !take_i32(reader, "payload round", &request->payload_round))
        return reader->result->error;
    if ((error = check_round(reader, "payload round", request->payload_round)) != TEZOS_OK)
        return error;
    if (!skip(reader, 8, "proof-of-work nonce") || !take_u8(reader, "seed nonce hash flag", &flag))
        return reader->result->error;
    if (flag != 0x00 && flag != 0xff)
        return refuse(reader->result, TEZOS_ERR_SEED_NONCE_FLAG,
                      "seed nonce hash flag 0x%02x at offset %zu is neither 0x00 nor 0xff", flag,
                      reader->offset - 1);
    request->has_seed_nonce_hash = flag == 0xff;
    if (request->has_seed_nonce_hash && !skip(reader, 32, "seed nonce hash"))
        return reader->result->error;
    if (!take_u8(reader, "per-block votes", &votes))
        return reader->result->error;
    if (!valid_per_block_votes(votes))
        return refuse(reader->result, TEZOS_ERR_VOTES, "per-block votes byte 0x%02x is invalid",
                      votes);
    return expect_end(reader, "block header");
}

/* A Zarith natural: 7 bits a byte, high bit = more; canonical (no final zero byte but for 0). */
static enum tezos_error take_zarith_natural(struct reader *reader, const char *field)
{
    size_t start = reader->offset;
    uint8_t byte;

    do {
        if (reader->offset == reader->len)
            return refuse(reader->result, TEZOS_ERR_TRUNCATED,
                          "request truncated: %s at offset %zu does not end", field, start);
        byte = reader->bytes[reader->offset++];
    } while (byte & 0x80);
    if (byte == 0x00 && reader->offset - start > 1)
        return refuse(reader->result, TEZOS_ERR_ZARITH,
                      "%s at offset %zu ends in a zero byte (not canonical)", field, start);
    return TEZOS_OK;
}

static enum tezos_error decode_consensus(struct reader *reader, uint8_t magic)
{
    struct tezos_request *request = &reader->result->request;
    const uint8_t *chain_id, *slot;
    uint8_t tag;
    enum tezos_error error;

    if ((chain_id = take(reader, TEZOS_CHAIN_ID_SIZE, "chain id")) == NULL ||
        !skip(reader, 32, "branch") || !take_u8(reader, "operation tag", &tag))
        return reader->result->error;
    memcpy(request->chain_id, chain_id, TEZOS_CHAIN_ID_SIZE);
    if (tag == TAG_BLS_PREATTESTATION || tag == TAG_BLS_ATTESTATION)
        return refuse(reader->result, TEZOS_ERR_TAG_BLS,
                      "operation tag %u is a tz4 (BLS) consensus operation", tag);
    if (magic == MAGIC_PREATTESTATION && tag == TAG_PREATTESTATION) {
        request->kind = TEZOS_KIND_PREATTESTATION;
    } else if (magic == MAGIC_ATTESTATION &&
               (tag == TAG_ATTESTATION || tag == TAG_ATTESTATION_WITH_DAL)) {
        request->kind = TEZOS_KIND_ATTESTATION;
        request->has_dal_content = tag == TAG_ATTESTATION_WITH_DAL;
    } else {
        return refuse(reader->result, TEZOS_ERR_TAG, "operation tag %u is not allowed after 0x%02x",
                      tag, magic);
    }
    if ((slot = take(reader, 2, "slot")) == NULL || !take_i32(reader, "level", &request->level) ||
        !take_i32(reader, "round", &request->round) || !skip(reader, 32, "block payload hash"))
        return reader->result->error;
    request->has_slot = true;
    request->slot = (uint16_t)(slot[0] << 8 | slot[1]);
    if ((error = check_level(reader, request->level)) != TEZOS_OK ||
        (error = check_round(reader, "round", request->round)) != TEZOS_OK)
        return error;
    if (request->has_dal_content &&
        (error = take_zarith_natural(reader, "DAL attestation bitset")) != TEZOS_OK)
        return error;
    return expect_end(reader, tezos_kind_name(request->kind));
}

/* Generic operations and Michelson data are not watermarked: only their framing is checked. */
static enum tezos_error decode_unwatermarked(struct reader *reader, uint8_t magic)
{
    struct tezos_request *request = &reader->result->request;

    if (magic == MAGIC_GENERIC) {
        request->kind = TEZOS_KIND_GENERIC;
        /* A branch and at least one byte of contents. */
        if (!skip(reader, 32, "branch") || !skip(reader, 1, "operation contents"))
            return reader->result->error;
    } else {
        request->kind = TEZOS_KIND_MICHELSON;
        if (!skip(reader, 1, "packed Michelson data"))
            return reader->result->error;
    }
    return TEZOS_OK;
}

static enum tezos_error decode(struct reader *reader)
{
    uint8_t magic;

    if (reader->len == 0)
        return refuse(reader->result, TEZOS_ERR_EMPTY, "empty request");
    if (reader->len == TEZOS_DIGEST_SIZE)
        return refuse(reader->result, TEZOS_ERR_DIGEST,
                      "32 bytes is a digest, not a request: pass the whole request");
    magic = reader->bytes[reader->offset++];
    switch (magic) {
    case MAGIC_BLOCK:
        return decode_block(reader);
    case MAGIC_PREATTESTATION:
    case MAGIC_ATTESTATION:
        return decode_consensus(reader, magic);
    case MAGIC_GENERIC:
    case MAGIC_MICHELSON:
        return decode_unwatermarked(reader, magic);
    case MAGIC_EMMY_BLOCK:
    case MAGIC_EMMY_ENDORSEMENT:
        return refuse(reader->result, TEZOS_ERR_EMMY,
                      "magic byte 0x%02x is a pre-Tenderbake (Emmy) request", magic);
    default:
        return refuse(reader->result, TEZOS_ERR_MAGIC, "unknown magic byte 0x%02x", magic);
    }
}

struct tezos_request_result tezos_request_decode(const uint8_t *bytes, size_t len)
{
    struct tezos_request_result result;
    struct reader reader = {bytes, len, 0, &result};

    memset(&result, 0, sizeof result);
    if (decode(&reader) != TEZOS_OK) {
        memset(&result.request, 0, sizeof result.request);
        return result;
    }
    tezos_blake2b_256(bytes, len, result.request.digest);
    return result;
}
