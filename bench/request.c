#include "bench.h"
#include "request_builder.h"

#include <string.h>

size_t bench_attestation(const uint8_t chain[TEZOS_CHAIN_ID_SIZE], int32_t level, uint8_t *out)
{
    struct consensus_fields fields = attestation_defaults();

    _Static_assert(BENCH_REQUEST_MAX >= BUILDER_MAX, "the builder writes up to BUILDER_MAX bytes");
    memcpy(fields.chain_id, chain, TEZOS_CHAIN_ID_SIZE);
    fields.level = level;
    fields.round = 0;
    return build_consensus(&fields, out);
}
