/*
 * verify_signature PUBKEY HEX SIGNATURE: checks a signature printed by tzwm sign without the
 * token or the module: base58check decoding and tezos_signature_verify (libsodium, OpenSSL) over
 * blake2b-256 of the request, as a Tezos node checks it. Exit 0 valid, 1 invalid, 2 unusable
 * arguments.
 */
#include "cli.h"
#include "tezos.h"

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    struct tezos_public_key key;
    enum tezos_base58_kind kind, expected;
    uint8_t signature[TEZOS_BASE58_BYTES_MAX], *request;
    size_t signature_len, request_len;
    enum tezos_error error;

    if (argc != 4) {
        fprintf(stderr, "usage: verify_signature PUBKEY HEX SIGNATURE\n");
        return 2;
    }
    if (tezos_public_key_from_text(argv[1], &key) != TEZOS_OK ||
        (request = cli_hex_decode(argv[2], &request_len)) == NULL) {
        fprintf(stderr, "verify_signature: not a public key, or not hex\n");
        return 2;
    }
    expected = key.curve == TEZOS_CURVE_ED25519     ? TEZOS_B58_EDSIG
               : key.curve == TEZOS_CURVE_SECP256K1 ? TEZOS_B58_SPSIG1
                                                    : TEZOS_B58_P2SIG;
    error = tezos_base58check_decode(argv[3], &kind, signature, &signature_len);
    if (error == TEZOS_OK && (kind != expected || signature_len != TEZOS_SIGNATURE_SIZE))
        error = TEZOS_ERR_PREFIX;
    if (error == TEZOS_OK)
        error = tezos_signature_verify(&key, request, request_len, signature);
    free(request);
    if (error != TEZOS_OK) {
        fprintf(stderr, "verify_signature: %s\n", tezos_error_text(error));
        return 1;
    }
    return 0;
}
