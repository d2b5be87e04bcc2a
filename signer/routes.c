/*
 * The paths of the Octez remote-signer protocol that a baker uses:
 *   GET  /authorized_keys   {} : tzwm-signer does not authenticate requests (bind it to loopback
 *                           or a private network)
 *   GET  /keys/<address>    {"public_key": "edpk…|sppk…|p2pk…"}
 *   POST /keys/<address>    "<hex of the whole request>" -> {"signature": "edsig…|spsig1…|p2sig…"}
 * Anything else: 404 for a path the protocol does not have, 405 for a method a path does not take.
 */
#include "signer.h"

#include <cjson/cJSON.h>
#include <string.h>

#define KEYS_PREFIX "/keys/"

static bool is_get(const char *method)
{
    /* HEAD is GET without a body (libmicrohttpd leaves the body out). */
    return strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
}

static void not_allowed(struct reply *reply, const char *method, const char *allow)
{
    reply->allow = allow;
    reply_error(reply, 405, "method not allowed", "method_not_allowed",
                "this path takes %s, not %s", allow, method);
}

static void authorized_keys(const char *method, struct reply *reply)
{
    if (!is_get(method)) {
        not_allowed(reply, method, "GET");
        return;
    }
    /* No list: Octez clients then sign without authenticating their requests. */
    reply_json(reply, 200, "no request authentication", strdup("{}"));
}

static void public_key(const struct token_key *key, struct reply *reply)
{
    char text[TEZOS_BASE58_TEXT_MAX];
    cJSON *answer;

    if (tezos_public_key_to_text(&key->identity.public_key, text, sizeof text) != TEZOS_OK) {
        reply_error(reply, 500, "error", "public_key", "cannot encode the key's public key");
        return;
    }
    answer = cJSON_CreateObject();
    cJSON_AddStringToObject(answer, "public_key", text);
    reply_json(reply, 200, "public key", cJSON_PrintUnformatted(answer));
    cJSON_Delete(answer);
}

static void keys(struct signer *signer, const char *method, const char *address, const char *body,
                 size_t body_len, struct reply *reply)
{
    bool get = is_get(method), post = strcmp(method, "POST") == 0;
    const struct token_key *key;

    if (!get && !post) {
        not_allowed(reply, method, "GET, POST");
        return;
    }
    key = keyring_find(&signer->keyring, address);
    if (key == NULL) {
        reply_error(reply, 404, "unknown key", "unknown_key",
                    "no signing key with this address on the token (see tzwm keys)");
        return;
    }
    if (get)
        public_key(key, reply);
    else
        sign_handle(signer, key, body, body_len, reply);
}

void signer_route(struct signer *signer, const char *method, const char *path, const char *body,
                  size_t body_len, struct reply *reply)
{
    if (strcmp(path, "/authorized_keys") == 0)
        authorized_keys(method, reply);
    else if (strncmp(path, KEYS_PREFIX, strlen(KEYS_PREFIX)) == 0 &&
             path[strlen(KEYS_PREFIX)] != '\0' && strchr(path + strlen(KEYS_PREFIX), '/') == NULL)
        keys(signer, method, path + strlen(KEYS_PREFIX), body, body_len, reply);
    else
        reply_error(reply, 404, "unknown path", "unknown_path",
                    "tzwm-signer serves /authorized_keys and /keys/<tz address> only");
}
