/* BLAKE2b, unkeyed, from libsodium: OpenSSL 3.0 only offers BLAKE2b-512. */
#include "tezos.h"

#include <sodium.h>

void tezos_blake2b_256(const uint8_t *bytes, size_t len, uint8_t digest[TEZOS_DIGEST_SIZE])
{
    /* Cannot fail: 32 is within crypto_generichash's sizes and there is no key. */
    crypto_generichash(digest, TEZOS_DIGEST_SIZE, bytes, len, NULL, 0);
}

void tezos_blake2b_160(const uint8_t *bytes, size_t len, uint8_t hash[TEZOS_ADDRESS_HASH_SIZE])
{
    crypto_generichash(hash, TEZOS_ADDRESS_HASH_SIZE, bytes, len, NULL, 0);
}
