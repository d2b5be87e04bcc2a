/*
 * What may be signed at all: TZWM_ALLOW names the kinds (default: the three consensus kinds;
 * "generic" and "michelson" may be added and are signed without a watermark), TZWM_CHAINS the
 * chains (default: any). Read once at C_Initialize; a value tzwm cannot read fails it.
 */
#include "module.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHAINS_MAX 16

struct policy {
    unsigned kinds; /* bit (1 << enum tezos_kind) */
    size_t chain_count;
    uint8_t chains[CHAINS_MAX][TEZOS_CHAIN_ID_SIZE];
};

static const enum tezos_kind all_kinds[] = {
    TEZOS_KIND_BLOCK,   TEZOS_KIND_PREATTESTATION, TEZOS_KIND_ATTESTATION,
    TEZOS_KIND_GENERIC, TEZOS_KIND_MICHELSON,
};

/* Calls item for each element of a comma list, blanks trimmed; stops at the first non-zero. */
static int each_item(const char *list, int (*item)(struct policy *, const char *, char *, size_t),
                     struct policy *policy, char *error, size_t error_size)
{
    char *copy = strdup(list), *next, *token;
    int status = 0;

    if (copy == NULL) {
        snprintf(error, error_size, "out of memory reading the policy");
        return -1;
    }
    for (next = copy; status == 0 && (token = strsep(&next, ",")) != NULL;) {
        char *end;

        token += strspn(token, " \t");
        end = token + strlen(token);
        while (end > token && (end[-1] == ' ' || end[-1] == '\t'))
            *--end = '\0';
        if (*token != '\0')
            status = item(policy, token, error, error_size);
    }
    free(copy);
    return status;
}

static int allow_kind(struct policy *policy, const char *name, char *error, size_t error_size)
{
    for (size_t i = 0; i < sizeof all_kinds / sizeof all_kinds[0]; i++) {
        if (strcmp(name, tezos_kind_name(all_kinds[i])) == 0) {
            policy->kinds |= 1u << all_kinds[i];
            return 0;
        }
    }
    snprintf(error, error_size,
             "TZWM_ALLOW: unknown kind '%s' (known: block, preattestation, attestation, "
             "generic, michelson)",
             name);
    return -1;
}

static int allow_chain(struct policy *policy, const char *text, char *error, size_t error_size)
{
    uint8_t bytes[TEZOS_BASE58_BYTES_MAX];
    enum tezos_base58_kind kind;
    size_t length = 0;

    if (tezos_base58check_decode(text, &kind, bytes, &length) != TEZOS_OK ||
        kind != TEZOS_B58_CHAIN_ID || length != TEZOS_CHAIN_ID_SIZE) {
        snprintf(error, error_size, "TZWM_CHAINS: '%s' is not a chain id (Net…)", text);
        return -1;
    }
    if (policy->chain_count == CHAINS_MAX) {
        snprintf(error, error_size, "TZWM_CHAINS: more than %d chains", CHAINS_MAX);
        return -1;
    }
    memcpy(policy->chains[policy->chain_count++], bytes, TEZOS_CHAIN_ID_SIZE);
    return 0;
}

struct policy *policy_from_env(char *error, size_t error_size)
{
    const char *allow = getenv("TZWM_ALLOW");
    const char *chains = getenv("TZWM_CHAINS");
    struct policy *policy = calloc(1, sizeof *policy);

    if (policy == NULL) {
        snprintf(error, error_size, "out of memory reading the policy");
        return NULL;
    }
    if (allow == NULL)
        allow = "block,preattestation,attestation";
    if (each_item(allow, allow_kind, policy, error, error_size) != 0)
        goto fail;
    if (policy->kinds == 0) {
        snprintf(error, error_size, "TZWM_ALLOW names no kind: nothing could be signed");
        goto fail;
    }
    if (chains != NULL && each_item(chains, allow_chain, policy, error, error_size) != 0)
        goto fail;
    if (chains != NULL && policy->chain_count == 0) {
        snprintf(error, error_size, "TZWM_CHAINS is set but names no chain");
        goto fail;
    }
    return policy;
fail:
    free(policy);
    return NULL;
}

void policy_free(struct policy *policy)
{
    free(policy);
}

bool policy_allows_kind(const struct policy *policy, enum tezos_kind kind)
{
    return (policy->kinds & (1u << kind)) != 0;
}

bool policy_allows_chain(const struct policy *policy, const uint8_t chain_id[TEZOS_CHAIN_ID_SIZE])
{
    if (policy->chain_count == 0)
        return true;
    for (size_t i = 0; i < policy->chain_count; i++) {
        if (memcmp(policy->chains[i], chain_id, TEZOS_CHAIN_ID_SIZE) == 0)
            return true;
    }
    return false;
}
