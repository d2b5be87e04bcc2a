/*
 * libFuzzer target for tezos_request_decode: it must never crash, and whatever it accepts must be
 * what the bytes say at the layouts' offsets (docs/tezos-signing.md §2), checked here
 * independently of the decoder's walk. A refusal must give a reason.
 */
#include "tezos.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint32_t be32(const uint8_t *at)
{
    return (uint32_t)at[0] << 24 | (uint32_t)at[1] << 16 | (uint32_t)at[2] << 8 | at[3];
}

static void require(bool condition, const char *what)
{
    if (!condition) {
        fprintf(stderr, "tezos_request_decode accepted a request it misread: %s\n", what);
        abort();
    }
}

static void check_block(const uint8_t *data, size_t size, const struct tezos_request *request)
{
    size_t fitness_len, end;

    require(size > 87, "block shorter than its fixed header");
    fitness_len = be32(data + 83);
    require(fitness_len == 33 || fitness_len == 37, "fitness length");
    require(request->has_locked_round == (fitness_len == 37), "locked round presence");
    end = 87 + fitness_len + 32 + 32 + 4 + 8;
    require(size > end, "block ends before the seed nonce flag");
    require(request->has_seed_nonce_hash == (data[end] == 0xff), "seed nonce flag");
    require(data[end] == 0x00 || data[end] == 0xff, "seed nonce flag value");
    require(size == end + 1 + (request->has_seed_nonce_hash ? 32 : 0) + 1, "block size");
    require(request->level == (int32_t)be32(data + 5), "level");
    require(be32(data + 87) == 1 && data[91] == 0x02, "fitness version");
    require(be32(data + 92) == 4 && (int32_t)be32(data + 96) == request->level, "fitness level");
    if (request->has_locked_round)
        require(be32(data + 100) == 4 && (int32_t)be32(data + 104) == request->locked_round &&
                    request->locked_round < request->round,
                "locked round");
    else
        require(be32(data + 100) == 0, "empty locked round");
    require(be32(data + 87 + fitness_len - 8) == 4 &&
                (int32_t)be32(data + 87 + fitness_len - 4) == request->round,
            "round is the last fitness element");
    require((int32_t)be32(data + 151 + fitness_len) == request->payload_round, "payload round");
    require(request->payload_round >= 0, "payload round sign");
    require(!request->has_slot && !request->has_dal_content, "no slot in a block");
}

static void check_consensus(const uint8_t *data, size_t size, const struct tezos_request *request)
{
    uint8_t tag;

    require(size >= 80, "consensus operation shorter than 80 bytes");
    tag = data[37];
    if (data[0] == 0x12)
        require(tag == 20 && request->kind == TEZOS_KIND_PREATTESTATION, "preattestation tag");
    else
        require((tag == 21 || tag == 23) && request->kind == TEZOS_KIND_ATTESTATION,
                "attestation tag");
    require(request->has_dal_content == (tag == 23), "DAL content");
    if (tag == 23) {
        require(size > 80 && data[size - 1] < 0x80, "DAL bitset ends at the end");
        for (size_t i = 80; i < size - 1; i++)
            require(data[i] >= 0x80, "DAL bitset is one natural");
        require(size == 81 || data[size - 1] != 0, "DAL bitset is canonical");
    } else {
        require(size == 80, "size of tags 20 and 21");
    }
    require(request->has_slot && request->slot == (data[38] << 8 | data[39]), "slot");
    require(request->level == (int32_t)be32(data + 40), "level");
    require(request->round == (int32_t)be32(data + 44), "round");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tezos_request_result result = tezos_request_decode(data, size);
    const struct tezos_request *request = &result.request;
    uint8_t digest[TEZOS_DIGEST_SIZE];

    if (result.error != TEZOS_OK) {
        require(result.reason[0] != '\0', "a refusal without a reason");
        return 0;
    }
    require(result.reason[0] == '\0', "a reason on success");
    require(size > 0 && size != 32, "size");
    tezos_blake2b_256(data, size, digest);
    require(memcmp(digest, request->digest, sizeof digest) == 0, "digest");
    switch (data[0]) {
    case 0x03:
        require(request->kind == TEZOS_KIND_GENERIC && size >= 34, "generic operation");
        return 0;
    case 0x05:
        require(request->kind == TEZOS_KIND_MICHELSON && size >= 2, "Michelson data");
        return 0;
    case 0x11:
        require(request->kind == TEZOS_KIND_BLOCK, "block kind");
        check_block(data, size, request);
        break;
    case 0x12:
    case 0x13:
        check_consensus(data, size, request);
        break;
    default:
        require(false, "magic byte");
    }
    require(memcmp(request->chain_id, data + 1, TEZOS_CHAIN_ID_SIZE) == 0, "chain id");
    require(request->level >= 0 && request->round >= 0, "level and round signs");
    return 0;
}
