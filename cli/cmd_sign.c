/*
 * tzwm sign: one request signed through the module, exactly as a baker's signer does it: the
 * whole request goes to C_Sign, the module decides. The exit status says how it ended, so that
 * scripts can tell a refusal (2) from a store that did not answer (3).
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum sign_status {
    SIGN_SIGNED = 0,
    SIGN_ERROR = 1,
    SIGN_REFUSED = 2,     /* CKR_FUNCTION_REJECTED: the watermark or the policy */
    SIGN_UNAVAILABLE = 3, /* CKR_FUNCTION_FAILED: the store did not answer, or failed */
};

#define LOG_HINT "see the module's log (TZWM_LOG_FILE, else syslog)"

/* The key named by an address or a label; NULL (with the reason on stderr) when there is not
 * exactly one. */
static const struct token_key *choose_key(const struct token_key *keys, size_t count,
                                          const char *name)
{
    const struct token_key *chosen = NULL;
    size_t matches = 0;

    for (size_t i = 0; i < count; i++) {
        if (strcmp(keys[i].identity.address, name) == 0 || strcmp(keys[i].label, name) == 0) {
            chosen = &keys[i];
            matches++;
        }
    }
    if (matches == 1)
        return chosen;
    fprintf(stderr,
            matches == 0 ? "tzwm: no signing key '%s' on the token (see tzwm keys)\n"
                         : "tzwm: several keys are labelled '%s': give its tz address\n",
            name);
    return NULL;
}

/* Says why the module did not sign, and the exit status for it. */
static enum sign_status refusal(CK_RV rv, const uint8_t *request, size_t len)
{
    struct tezos_request_result decoded;

    switch (rv) {
    case CKR_FUNCTION_REJECTED:
        fprintf(stderr,
                "tzwm: refused: %s: the watermark (this key already signed this kind at this "
                "level and round or higher) or the policy (TZWM_ALLOW, TZWM_CHAINS); " LOG_HINT
                "\n",
                ckr_name(rv));
        return SIGN_REFUSED;
    case CKR_FUNCTION_FAILED:
        fprintf(stderr,
                "tzwm: not signed: %s: the watermark store did not answer in time or "
                "failed; " LOG_HINT "\n",
                ckr_name(rv));
        return SIGN_UNAVAILABLE;
    case CKR_DATA_INVALID:
        decoded = tezos_request_decode(request, len);
        fprintf(stderr, "tzwm: not signed: %s: not a request tzwm signs (%s); " LOG_HINT "\n",
                ckr_name(rv), decoded.error != TEZOS_OK ? decoded.reason : "refused by the module");
        return SIGN_ERROR;
    default:
        fprintf(stderr, "tzwm: not signed: %s; " LOG_HINT "\n", ckr_name(rv));
        return SIGN_ERROR;
    }
}

static enum sign_status sign_request(const struct token_session *session,
                                     const struct token_key *key, const uint8_t *request,
                                     size_t len)
{
    CK_MECHANISM mechanism = {key->mechanism, NULL, 0};
    uint8_t signature[TEZOS_SIGNATURE_SIZE];
    CK_ULONG signature_len = sizeof signature;
    char text[TEZOS_BASE58_TEXT_MAX];
    CK_RV rv;

    rv = session->p11->C_SignInit(session->handle, &mechanism, key->handle);
    if (rv != CKR_OK) {
        fprintf(stderr, "tzwm: C_SignInit failed: %s; " LOG_HINT "\n", ckr_name(rv));
        return SIGN_ERROR;
    }
    rv = session->p11->C_Sign(session->handle, (CK_BYTE_PTR)request, (CK_ULONG)len, signature,
                              &signature_len);
    if (rv != CKR_OK)
        return refusal(rv, request, len);
    if (signature_len != sizeof signature ||
        tezos_signature_to_text(key->identity.public_key.curve, signature, text, sizeof text) !=
            TEZOS_OK) {
        fprintf(stderr, "tzwm: the module answered with a %lu-byte signature, not %zu\n",
                signature_len, sizeof signature);
        return SIGN_ERROR;
    }
    printf("%s\n", text);
    return SIGN_SIGNED;
}

int command_sign(const struct command_context *context)
{
    static const struct option options[] = {
        SESSION_OPTIONS, {"key", required_argument, NULL, 'k'}, {NULL, 0, NULL, 0}};
    struct session_options session_options = {0};
    struct token_session session;
    struct token_key *keys = NULL;
    const struct token_key *key;
    const char *key_name = NULL;
    uint8_t *request;
    size_t len, count;
    int option, status = SIGN_ERROR;

    optind = 0;
    while ((option = getopt_long(context->argc, context->argv, "", options, NULL)) != -1) {
        if (option == 'k')
            key_name = optarg;
        else if (!session_option(&session_options, option, optarg))
            goto usage;
    }
    if (key_name == NULL || optind != context->argc - 1)
        goto usage;
    if ((request = cli_hex_decode(context->argv[optind], &len)) == NULL) {
        fprintf(stderr, "tzwm: the request is not hexadecimal bytes\n");
        return SIGN_ERROR;
    }
    if (session_open(context->p11, &session_options, &session) == 0) {
        if (token_keys_find(&session, &keys, &count) == 0 &&
            (key = choose_key(keys, count, key_name)) != NULL)
            status = sign_request(&session, key, request, len);
        session_close(&session);
    }
    free(keys);
    free(request);
    return status;
usage:
    fprintf(stderr, "usage: tzwm sign " SESSION_OPTIONS_USAGE " --key ADDRESS|LABEL HEX\n");
    return SIGN_ERROR;
}
