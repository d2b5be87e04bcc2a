/* tzwm decode and tzwm address: Tezos requests and keys, offline (no PKCS#11 module). */
#include "cli.h"
#include "tezos.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void print_request(const struct tezos_request *request)
{
    char chain_id[TEZOS_BASE58_TEXT_MAX], digest[TEZOS_BASE58_TEXT_MAX];

    tezos_base58check_encode(TEZOS_B58_VALUE_HASH, request->digest, digest, sizeof digest);
    printf("{\"kind\":\"%s\"", tezos_kind_name(request->kind));
    if (tezos_kind_is_consensus(request->kind)) {
        tezos_base58check_encode(TEZOS_B58_CHAIN_ID, request->chain_id, chain_id, sizeof chain_id);
        printf(",\"chain_id\":\"%s\",\"level\":%d,\"round\":%d", chain_id, request->level,
               request->round);
        if (request->has_slot)
            printf(",\"slot\":%u", request->slot);
    }
    printf(",\"digest\":\"%s\"}\n", digest);
}

int command_decode(const struct command_context *context)
{
    struct tezos_request_result result;
    uint8_t *bytes;
    size_t len;

    if (context->argc != 2) {
        fprintf(stderr, "usage: tzwm decode HEX\n");
        return 1;
    }
    if ((bytes = cli_hex_decode(context->argv[1], &len)) == NULL) {
        fprintf(stderr, "tzwm: the request is not hexadecimal bytes\n");
        return 1;
    }
    result = tezos_request_decode(bytes, len);
    free(bytes);
    if (result.error != TEZOS_OK) {
        fprintf(stderr, "tzwm: refused: %s\n", result.reason);
        return 1;
    }
    print_request(&result.request);
    return 0;
}

int command_address(const struct command_context *context)
{
    struct tezos_public_key key;
    char address[TEZOS_BASE58_TEXT_MAX];
    enum tezos_error error;

    if (context->argc != 2) {
        fprintf(stderr, "usage: tzwm address PUBKEY (edpk…, sppk… or p2pk…)\n");
        return 1;
    }
    if ((error = tezos_public_key_from_text(context->argv[1], &key)) != TEZOS_OK ||
        (error = tezos_address(&key, address, sizeof address)) != TEZOS_OK) {
        fprintf(stderr, "tzwm: not a public key: %s\n", tezos_error_text(error));
        return 1;
    }
    printf("%s\n", address);
    return 0;
}
