/* tzwm keys: the token's signing keys with their Tezos addresses and public keys. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void print_keys(const struct token_key *keys, size_t count)
{
    int label_width = (int)strlen("LABEL"), id_width = (int)strlen("ID");

    for (size_t i = 0; i < count; i++) {
        if ((int)strlen(keys[i].label) > label_width)
            label_width = (int)strlen(keys[i].label);
        if ((int)strlen(keys[i].id_hex) > id_width)
            id_width = (int)strlen(keys[i].id_hex);
    }
    printf("%-*s  %-*s  %-9s  %-36s  %s\n", label_width, "LABEL", id_width, "ID", "TYPE", "ADDRESS",
           "PUBLIC KEY");
    for (size_t i = 0; i < count; i++) {
        char public_key[TEZOS_BASE58_TEXT_MAX];

        if (tezos_public_key_to_text(&keys[i].identity.public_key, public_key, sizeof public_key) !=
            TEZOS_OK)
            snprintf(public_key, sizeof public_key, "?");
        printf("%-*s  %-*s  %-9s  %-36s  %s\n", label_width, keys[i].label, id_width,
               keys[i].id_hex, token_key_type(&keys[i]), keys[i].identity.address, public_key);
    }
}

int command_keys(const struct command_context *context)
{
    static const struct option options[] = {SESSION_OPTIONS, {NULL, 0, NULL, 0}};
    struct session_options session_options = {0};
    struct token_session session;
    struct token_key *keys;
    size_t count;
    int option, status;

    optind = 0;
    while ((option = getopt_long(context->argc, context->argv, "", options, NULL)) != -1) {
        if (!session_option(&session_options, option, optarg))
            goto usage;
    }
    if (optind != context->argc)
        goto usage;
    if (session_open(context->p11, &session_options, &session) != 0)
        return 1;
    status = token_keys_find(&session, &keys, &count);
    if (status == 0 && count == 0)
        fprintf(stderr, "tzwm: no Ed25519, secp256k1 or P-256 private key on the token\n");
    else if (status == 0)
        print_keys(keys, count);
    free(keys);
    session_close(&session);
    return status;
usage:
    fprintf(stderr, "usage: tzwm keys " SESSION_OPTIONS_USAGE "\n");
    return 1;
}
