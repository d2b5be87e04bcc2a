/*
 * POST /keys/<address>: the body is a JSON string of hex, the whole request (magic byte and
 * payload), as Octez clients send it. The module decides: it decodes the request, advances the
 * watermark in DynamoDB and only then lets the token sign. Its return code sets the status:
 *   CKR_FUNCTION_REJECTED  409  the watermark or the policy refused it
 *   CKR_FUNCTION_FAILED    503  the store did not answer (or the signature did not verify)
 *   CKR_DATA_INVALID, CKR_DATA_LEN_RANGE  400  not a request tzwm can account for
 *   the token lost the session, login or key handle  503, and the signer stops to start over
 *   anything else          500
 */
#include "signer.h"

#include <cjson/cJSON.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The request's kind, level and round for the log line, when it decodes. */
static void summarize(const uint8_t *request, size_t len, struct request_summary *summary)
{
    struct tezos_request_result decoded = tezos_request_decode(request, len);

    if (decoded.error != TEZOS_OK)
        return;
    summary->kind = tezos_kind_name(decoded.request.kind);
    summary->has_level = tezos_kind_is_consensus(decoded.request.kind);
    summary->level = decoded.request.level;
    summary->round = decoded.request.round;
}

/* The hex text of a JSON string body; NULL (with the 400 in reply) when the body is anything
 * else. The text belongs to *json. The body is NUL-terminated, and must have no NUL of its own:
 * nothing may follow the JSON value but white space. Hex needs no escape, and cJSON would end the
 * string at an escaped NUL ("11\u0000ff" would read as "11"): a backslash is malformed. */
static const char *body_hex(const char *body, size_t body_len, cJSON **json, struct reply *reply)
{
    *json = body == NULL || strlen(body) != body_len
                ? NULL
                : cJSON_ParseWithLengthOpts(body, body_len + 1, NULL, true);
    if (*json == NULL) {
        reply_error(reply, 400, "malformed", "malformed_body",
                    "the body is not JSON: it must be a JSON string of the request in hex");
        return NULL;
    }
    if (!cJSON_IsString(*json)) {
        reply_error(reply, 400, "malformed", "malformed_body",
                    "the body must be a JSON string of the request in hex");
        return NULL;
    }
    if (memchr(body, '\\', body_len) != NULL) {
        reply_error(reply, 400, "malformed", "malformed_body",
                    "the string has an escape sequence: hexadecimal bytes need none");
        return NULL;
    }
    return cJSON_GetStringValue(*json);
}

static void signed_reply(const char *signature, struct reply *reply)
{
    cJSON *answer = cJSON_CreateObject();

    cJSON_AddStringToObject(answer, "signature", signature);
    reply_json(reply, 200, "signed", cJSON_PrintUnformatted(answer));
    cJSON_Delete(answer);
}

bool signer_token_lost_code(CK_RV rv)
{
    switch (rv) {
    case CKR_CRYPTOKI_NOT_INITIALIZED:
    case CKR_DEVICE_ERROR:
    case CKR_DEVICE_REMOVED:
    case CKR_KEY_HANDLE_INVALID:
    case CKR_SESSION_CLOSED:
    case CKR_SESSION_HANDLE_INVALID:
    case CKR_TOKEN_NOT_PRESENT:
    case CKR_TOKEN_NOT_RECOGNIZED:
    case CKR_USER_NOT_LOGGED_IN:
        return true;
    default:
        return false;
    }
}

void signer_token_lost(struct signer *signer, CK_RV rv)
{
    if (__atomic_exchange_n(&signer->token_lost, true, __ATOMIC_ACQ_REL))
        return;
    request_log_note("the token lost this signer's session, login or keys (%s): stopping, to be "
                     "started again (exit %d)",
                     ckr_name(rv), SIGNER_EXIT_TOKEN_LOST);
    kill(getpid(), SIGTERM);
}

static void not_signed(CK_RV rv, const uint8_t *request, size_t len, struct reply *reply)
{
    char why[512];

    token_sign_explain(rv, request, len, why, sizeof why);
    if (signer_token_lost_code(rv)) {
        reply_error(reply, 503, "token lost", "token_lost",
                    "not signed (%s): the token lost this signer's session, login or keys; "
                    "tzwm-signer stops to start again",
                    ckr_name(rv));
        return;
    }
    switch (rv) {
    case CKR_FUNCTION_REJECTED:
        reply_error(reply, 409, "refused", "refused",
                    "refused by the watermark or the policy (%s): %s; see the module's log",
                    ckr_name(rv), why);
        break;
    case CKR_FUNCTION_FAILED:
        reply_error(reply, 503, "store unavailable", "unavailable",
                    "not signed (%s): %s; see the module's log", ckr_name(rv), why);
        break;
    case CKR_DATA_INVALID:
    case CKR_DATA_LEN_RANGE:
        reply_error(reply, 400, "malformed", "invalid_request", "not signed (%s): %s", ckr_name(rv),
                    why);
        break;
    default:
        reply_error(reply, 500, "error", "error", "not signed (%s); see the module's log",
                    ckr_name(rv));
        break;
    }
}

void sign_handle(struct signer *signer, const struct token_key *key, const char *body,
                 size_t body_len, struct reply *reply)
{
    char signature[TEZOS_BASE58_TEXT_MAX];
    const struct token_session *session;
    uint8_t *request = NULL;
    const char *hex;
    cJSON *json;
    size_t len;
    CK_RV rv;

    if ((hex = body_hex(body, body_len, &json, reply)) == NULL)
        goto out;
    if ((request = cli_hex_decode(hex, &len)) == NULL) {
        reply_error(reply, 400, "malformed", "malformed_body",
                    "the string is not hexadecimal bytes (an even number of 0-9, a-f)");
        goto out;
    }
    summarize(request, len, &reply->summary);
    session = session_pool_acquire(signer->sessions);
    rv = token_key_sign(session, key, request, len, signature, sizeof signature);
    session_pool_release(signer->sessions, session);
    if (rv == CKR_OK)
        signed_reply(signature, reply);
    else
        not_signed(rv, request, len, reply);
    if (signer_token_lost_code(rv))
        signer_token_lost(signer, rv);
out:
    free(request);
    cJSON_Delete(json);
}
