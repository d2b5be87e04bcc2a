/*
 * The keys tzwm-signer signs with: the token's, read once at start by token_keys_find, the code
 * tzwm keys uses, so that each address served is the one the module watermarks. A key added to
 * the token later is served after a restart.
 */
#include "signer.h"

#include <stdlib.h>
#include <string.h>

int keyring_load(struct keyring *keyring, const struct token_session *session)
{
    return token_keys_find(session, &keyring->keys, &keyring->count);
}

void keyring_free(struct keyring *keyring)
{
    free(keyring->keys);
    keyring->keys = NULL;
    keyring->count = 0;
}

const struct token_key *keyring_find(const struct keyring *keyring, const char *address)
{
    for (size_t i = 0; i < keyring->count; i++) {
        if (strcmp(keyring->keys[i].identity.address, address) == 0)
            return &keyring->keys[i];
    }
    return NULL;
}
