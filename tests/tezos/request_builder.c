/* Request encoding for the tests: the layouts of docs/tezos-signing.md §2, written forward. */
#include "request_builder.h"

#include <string.h>

struct writer {
    uint8_t *out;
    size_t len;
};

static void put(struct writer *writer, const void *bytes, size_t len)
{
    memcpy(writer->out + writer->len, bytes, len);
    writer->len += len;
}

static void put_pattern(struct writer *writer, uint8_t seed, size_t len)
{
    for (size_t i = 0; i < len; i++)
        writer->out[writer->len++] = (uint8_t)(seed + i * 7);
}

static void put_u8(struct writer *writer, uint8_t value)
{
    writer->out[writer->len++] = value;
}

static void put_u32(struct writer *writer, uint32_t value)
{
    uint8_t bytes[4] = {value >> 24, value >> 16, value >> 8, value};

    put(writer, bytes, 4);
}

static void put_i32_element(struct writer *writer, int32_t value)
{
    put_u32(writer, 4);
    put_u32(writer, (uint32_t)value);
}

struct block_fields block_defaults(void)
{
    return (struct block_fields){
        .chain_id = {0xb3, 0xd7, 0x9f, 0x99},
        .level = 2,
        .predecessor_round = 0,
    };
}

size_t build_block(const struct block_fields *fields, uint8_t *out)
{
    struct writer writer = {out, 0};
    uint8_t fitness[64];
    struct writer made = {fitness, 0};

    put_u32(&made, 1);
    put_u8(&made, 0x02);
    put_i32_element(&made, fields->level);
    if (fields->has_locked_round)
        put_i32_element(&made, fields->locked_round);
    else
        put_u32(&made, 0);
    put_i32_element(&made, -fields->predecessor_round - 1);
    put_i32_element(&made, fields->round);

    put_u8(&writer, 0x11);
    put(&writer, fields->chain_id, 4);
    put_u32(&writer, (uint32_t)fields->level);
    put_u8(&writer, 3);             /* proto level */
    put_pattern(&writer, 0x10, 32); /* predecessor */
    put_pattern(&writer, 0x00, 8);  /* timestamp */
    put_u8(&writer, 4);             /* validation passes */
    put_pattern(&writer, 0x20, 32); /* operations hash */
    if (fields->fitness != NULL) {
        put_u32(&writer, (uint32_t)fields->fitness_len);
        put(&writer, fields->fitness, fields->fitness_len);
    } else {
        put_u32(&writer, (uint32_t)made.len);
        put(&writer, fitness, made.len);
    }
    put_pattern(&writer, 0x30, 32); /* context hash */
    put_pattern(&writer, 0x40, 32); /* payload hash */
    put_u32(&writer, (uint32_t)fields->payload_round);
    put_pattern(&writer, 0x50, 8); /* proof-of-work nonce */
    if (fields->has_seed_nonce_hash) {
        put_u8(&writer, 0xff);
        put_pattern(&writer, 0x60, 32);
    } else {
        put_u8(&writer, 0x00);
    }
    put_u8(&writer, fields->votes);
    return writer.len;
}

struct consensus_fields attestation_defaults(void)
{
    return (struct consensus_fields){
        .magic = 0x13,
        .tag = 21,
        .chain_id = {0xb3, 0xd7, 0x9f, 0x99},
        .slot = 21,
        .level = 34,
        .round = 4,
    };
}

size_t build_consensus(const struct consensus_fields *fields, uint8_t *out)
{
    struct writer writer = {out, 0};

    put_u8(&writer, fields->magic);
    put(&writer, fields->chain_id, 4);
    put_pattern(&writer, 0x70, 32); /* branch */
    put_u8(&writer, fields->tag);
    put_u8(&writer, fields->slot >> 8);
    put_u8(&writer, fields->slot & 0xff);
    put_u32(&writer, (uint32_t)fields->level);
    put_u32(&writer, (uint32_t)fields->round);
    put_pattern(&writer, 0x80, 32); /* block payload hash */
    if (fields->dal_len > 0)
        put(&writer, fields->dal, fields->dal_len);
    return writer.len;
}
