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
    char why[512];

    token_sign_explain(rv, request, len, why, sizeof why);
    fprintf(stderr, "tzwm: %s: %s%s%s; " LOG_HINT "\n",
            rv == CKR_FUNCTION_REJECTED ? "refused" : "not signed", ckr_name(rv),
            why[0] != '\0' ? ": " : "", why);
    switch (rv) {
    case CKR_FUNCTION_REJECTED:
        return SIGN_REFUSED;
    case CKR_FUNCTION_FAILED:
        return SIGN_UNAVAILABLE;
    default:
        return SIGN_ERROR;
    }
}

static enum sign_status sign_request(const struct token_session *session,
                                     const struct token_key *key, const uint8_t *request,
                                     size_t len)
{
    char text[TEZOS_BASE58_TEXT_MAX];
    CK_RV rv = token_key_sign(session, key, request, len, text, sizeof text);

    if (rv != CKR_OK)
        return refusal(rv, request, len);
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
