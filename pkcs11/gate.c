/*
 * The signing path, the reason tzwm exists. C_SignInit checks the key, finds its Tezos identity
 * and touches nothing on the token. C_Sign (or C_SignUpdate… C_SignFinal) then takes the whole
 * request and, in this order: decodes it, applies the policy, advances the shared watermark with
 * one conditional write, and only when that write succeeded has the real token sign the
 * request's blake2b-256 digest; the signature leaves only if it verifies with the key whose
 * address was watermarked. Every refusal ends the operation before the real token is asked
 * anything, so the token is never left with a half-open sign operation.
 */
#include "module.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define SIGNATURE_LEN TEZOS_SIGNATURE_SIZE

/* What the gate needs of the module state, taken under the lock. */
struct gate_view {
    const struct policy *policy;
    struct gate_store *store;
};

static void in_flight_end(void)
{
    state_lock();
    module_state.in_flight--;
    state_signal_idle();
    state_unlock();
}

/* With the lock held: CKR_OPERATION_ACTIVE when the session has a sign operation. */
static CK_RV no_operation_locked(CK_SESSION_HANDLE session)
{
    if (!lifecycle_up_locked())
        return CKR_CRYPTOKI_NOT_INITIALIZED;
    return sign_table_find(module_state.operations, session) != NULL ? CKR_OPERATION_ACTIVE
                                                                     : CKR_OK;
}

CK_RV gate_sign_init(CK_SESSION_HANDLE session, CK_MECHANISM_PTR mechanism, CK_OBJECT_HANDLE key)
{
    const CK_FUNCTION_LIST *real = real_module();
    struct sign_operation operation = {0};
    CK_SESSION_INFO info;
    bool cached;
    char why[256];
    CK_RV rv;

    state_lock();
    rv = no_operation_locked(session);
    state_unlock();
    if (rv != CKR_OK)
        goto out;
    if (mechanism == NULL) {
        rv = CKR_ARGUMENTS_BAD;
        goto out;
    }
    if (mechanism->mechanism != CKM_EDDSA && mechanism->mechanism != CKM_ECDSA) {
        rv = CKR_MECHANISM_INVALID;
        goto out;
    }
    /* Plain EdDSA (no Ed25519ph, no context) and raw ECDSA: what Tezos signs with. */
    if (mechanism->pParameter != NULL || mechanism->ulParameterLen != 0) {
        rv = CKR_MECHANISM_PARAM_INVALID;
        goto out;
    }
    rv = real->C_GetSessionInfo(session, &info);
    if (rv != CKR_OK)
        goto out;
    /* Every time, cached or not: the handle must still name a private key that may sign. */
    rv = key_check(real, session, key, mechanism->mechanism, why, sizeof why);
    if (rv != CKR_OK) {
        log_warn("C_SignInit refused for key %lu: %s (%s)", key, why, ckr_name(rv));
        goto out;
    }
    operation.session = session;
    operation.slot = info.slotID;
    operation.mechanism = mechanism->mechanism;
    operation.key = key;

    state_lock();
    cached = lifecycle_up_locked() && key_cache_find(module_state.keys, info.slotID, key,
                                                     &operation.identity, &operation.verifier);
    state_unlock();
    /* Read and parsed without the lock: a slow token or OpenSSL never holds up other sessions. */
    if (!cached) {
        rv = key_identity_read(real, session, info.slotID, key, mechanism->mechanism,
                               &operation.identity, why, sizeof why);
        if (rv == CKR_OK) {
            enum tezos_error error =
                tezos_verifier_new(&operation.identity.public_key, &operation.verifier);

            if (error != TEZOS_OK) {
                rv = rv_from_tezos(error);
                snprintf(why, sizeof why, "its public key: %s", tezos_error_text(error));
            }
        }
        if (rv != CKR_OK) {
            log_warn("C_SignInit refused for key %lu: %s (%s)", key, why, ckr_name(rv));
            goto out;
        }
    }

    log_debug("C_SignInit session %lu key %lu: %s, %s", session, key, operation.identity.address,
              cached ? "cached" : "read from the token");
    state_lock();
    rv = no_operation_locked(session);
    if (rv == CKR_OK && !cached)
        key_cache_put(module_state.keys, info.slotID, key, &operation.identity, operation.verifier);
    if (rv == CKR_OK)
        rv = sign_table_add(module_state.operations, &operation);
    state_unlock();
out:
    /* NULL once the table took it over. */
    tezos_verifier_free(operation.verifier);
    return rv;
}

/* With the lock held: the session's operation, unless there is none (or tzwm is down), or a gate
 * runs for it in another thread (CKR_OPERATION_ACTIVE, the operation left alone). */
static CK_RV idle_operation_locked(CK_SESSION_HANDLE session, struct sign_operation **operation)
{
    if (!lifecycle_up_locked())
        return CKR_CRYPTOKI_NOT_INITIALIZED;
    *operation = sign_table_find(module_state.operations, session);
    if (*operation == NULL)
        return CKR_OPERATION_NOT_INITIALIZED;
    return (*operation)->busy ? CKR_OPERATION_ACTIVE : CKR_OK;
}

/*
 * The start of C_Sign (final = false, with the request in data) and C_SignFinal (final = true).
 * A length query or too small a buffer answers here and leaves the operation active; a busy
 * operation (another thread is in its gate) answers CKR_OPERATION_ACTIVE and is left alone; any
 * other error ends the operation. When *run is set, the operation is marked busy and moved into
 * *taken with tzwm's own copy of the request (the caller's buffer is read exactly once), and the
 * call counts as in flight until in_flight_end().
 */
static CK_RV take(CK_SESSION_HANDLE session, bool final, const CK_BYTE *data, CK_ULONG data_len,
                  CK_BYTE_PTR signature, CK_ULONG_PTR signature_len, struct sign_operation *taken,
                  struct gate_view *view, bool *run)
{
    struct sign_operation *operation;
    CK_RV rv = CKR_OK;

    *run = false;
    state_lock();
    rv = idle_operation_locked(session, &operation);
    if (rv != CKR_OK)
        goto unlock;
    if (signature_len == NULL || (!final && data == NULL && data_len > 0)) {
        rv = CKR_ARGUMENTS_BAD;
    } else if (!final && operation->multipart) {
        rv = CKR_OPERATION_ACTIVE; /* C_Sign after C_SignUpdate: it ends the operation */
    } else if (signature == NULL) {
        *signature_len = SIGNATURE_LEN;
        goto unlock;
    } else if (*signature_len < SIGNATURE_LEN) {
        *signature_len = SIGNATURE_LEN;
        rv = CKR_BUFFER_TOO_SMALL;
        goto unlock;
    } else if (!final && (rv = sign_operation_append(operation, data, data_len)) != CKR_OK) {
        log_warn("refused a %lu-byte request for %s: larger than any Tezos request (%s)", data_len,
                 operation->identity.address, ckr_name(rv));
    } else {
        operation->busy = true;
        *taken = *operation;
        operation->data = NULL;
        operation->length = operation->capacity = 0;
        operation->verifier = NULL;
        *view = (struct gate_view){module_state.policy, module_state.store};
        module_state.in_flight++;
        *run = true;
        goto unlock;
    }
    sign_table_remove(module_state.operations, session);
unlock:
    state_unlock();
    return rv;
}

/* The real token's signature of digest, 64 bytes. */
static CK_RV real_sign(const CK_FUNCTION_LIST *real, const struct sign_operation *operation,
                       const uint8_t digest[TEZOS_DIGEST_SIZE], uint8_t signature[SIGNATURE_LEN])
{
    CK_MECHANISM mechanism = {operation->mechanism, NULL, 0};
    CK_BYTE out[256]; /* room for any answer, so the token never keeps the operation open */
    CK_ULONG length = sizeof out;
    CK_RV rv;

    rv = real->C_SignInit(operation->session, &mechanism, operation->key);
    if (rv != CKR_OK)
        return rv;
    rv = real->C_Sign(operation->session, (CK_BYTE_PTR)digest, TEZOS_DIGEST_SIZE, out, &length);
    if (rv != CKR_OK)
        return rv;
    if (length != SIGNATURE_LEN) {
        log_error("the token answered with a %lu-byte signature, not %d", length, SIGNATURE_LEN);
        return CKR_FUNCTION_FAILED;
    }
    memcpy(signature, out, SIGNATURE_LEN);
    return CKR_OK;
}

/* "block NetXdQprcVkpaWU/tz1… level 5 round 0", for log lines. */
static void describe(char *out, size_t size, const struct tezos_request *request, const char *chain,
                     const char *address)
{
    if (tezos_kind_is_consensus(request->kind))
        snprintf(out, size, "%s %s/%s level %" PRId32 " round %" PRId32,
                 tezos_kind_name(request->kind), chain, address, request->level, request->round);
    else
        snprintf(out, size, "%s by %s", tezos_kind_name(request->kind), address);
}

/* Decode, policy, watermark, sign, verify: the whole gate for the operation's request. */
static CK_RV run_gate(const struct gate_view *view, const struct sign_operation *operation,
                      uint8_t signature[SIGNATURE_LEN], bool *mismatch)
{
    const uint8_t *data = operation->data;
    size_t length = operation->length;
    const char *address = operation->identity.address;
    const struct tezos_request *request;
    struct tezos_request_result decoded;
    char chain[TEZOS_BASE58_TEXT_MAX] = "", digest[TEZOS_BASE58_TEXT_MAX];
    char idx[2 * TEZOS_BASE58_TEXT_MAX], what[256], reason[WATERMARK_REASON_SIZE];
    enum tezos_error error;
    CK_RV rv;

    decoded = tezos_request_decode(data, length);
    if (decoded.error != TEZOS_OK) {
        rv = rv_from_tezos(decoded.error);
        log_warn("refused a %zu-byte request for %s: %s (%s)", length, address, decoded.reason,
                 ckr_name(rv));
        return rv;
    }
    request = &decoded.request;
    if (tezos_kind_is_consensus(request->kind))
        tezos_base58check_encode(TEZOS_B58_CHAIN_ID, request->chain_id, chain, sizeof chain);
    describe(what, sizeof what, request, chain, address);

    if (!policy_allows_kind(view->policy, request->kind)) {
        rv = CKR_FUNCTION_REJECTED;
        log_warn("refused %s: kind %s is not in TZWM_ALLOW (%s)", what,
                 tezos_kind_name(request->kind), ckr_name(rv));
        return rv;
    }
    error = tezos_base58check_encode(TEZOS_B58_VALUE_HASH, request->digest, digest, sizeof digest);
    if (error != TEZOS_OK)
        return rv_from_tezos(error);

    if (tezos_kind_is_consensus(request->kind)) {
        enum watermark_result result;

        if (!policy_allows_chain(view->policy, request->chain_id)) {
            rv = CKR_FUNCTION_REJECTED;
            log_warn("refused %s: chain %s is not in TZWM_CHAINS (%s)", what, chain, ckr_name(rv));
            return rv;
        }
        snprintf(idx, sizeof idx, "%s/%s", chain, address);
        result = gate_store_advance(view->store, idx, tezos_kind_name(request->kind),
                                    request->level, request->round, digest, reason, sizeof reason);
        rv = rv_from_watermark(result);
        if (rv != CKR_OK) {
            log_warn("refused %s: watermark %s: %s (%s)", what, watermark_result_name(result),
                     reason, ckr_name(rv));
            return rv;
        }
        log_debug("watermark ok: %s", reason);
    }

    rv = real_sign(real_module(), operation, request->digest, signature);
    if (rv != CKR_OK) {
        log_error("the token did not sign %s: %s", what, ckr_name(rv));
        return rv;
    }
    error = tezos_signature_normalize(operation->identity.public_key.curve, signature, NULL);
    /* Every signature, before it leaves: it proves that the key that signed is the one whose
     * address was just watermarked (a planted public key object, or a handle that came to name
     * another key, ends here). */
    if (error == TEZOS_OK) {
        error = tezos_verifier_check(operation->verifier, data, length, signature);
        *mismatch = error != TEZOS_OK;
        if (*mismatch)
            log_error("withheld the signature of %s: it does not verify with the public key "
                      "found for key %lu, so %s is not its address",
                      what, operation->key, address);
    }
    if (error != TEZOS_OK) {
        memset(signature, 0, SIGNATURE_LEN);
        return CKR_FUNCTION_FAILED;
    }
    log_info("signed %s (%s)", what, digest);
    return CKR_OK;
}

/* C_Sign and C_SignFinal, from take() to the caller's buffer. */
static CK_RV sign(CK_SESSION_HANDLE session, bool final, const CK_BYTE *data, CK_ULONG data_len,
                  CK_BYTE_PTR signature, CK_ULONG_PTR signature_len)
{
    struct sign_operation operation;
    struct gate_view view;
    uint8_t produced[SIGNATURE_LEN];
    bool run, mismatch = false;
    CK_SESSION_INFO info;
    CK_RV rv;

    rv = take(session, final, data, data_len, signature, signature_len, &operation, &view, &run);
    /* No operation on a session that does not exist: say so, as the token would. */
    if (rv == CKR_OPERATION_NOT_INITIALIZED &&
        real_module()->C_GetSessionInfo(session, &info) == CKR_SESSION_HANDLE_INVALID)
        rv = CKR_SESSION_HANDLE_INVALID;
    if (rv != CKR_OK || !run)
        return rv;
    rv = run_gate(&view, &operation, produced, &mismatch);

    state_lock();
    sign_table_end(module_state.operations, session, operation.serial);
    if (mismatch)
        key_cache_forget(module_state.keys, operation.slot, operation.key);
    state_unlock();
    in_flight_end();
    sign_operation_clear(&operation);

    if (rv == CKR_OK) {
        memcpy(signature, produced, SIGNATURE_LEN);
        *signature_len = SIGNATURE_LEN;
    }
    return rv;
}

CK_RV gate_sign(CK_SESSION_HANDLE session, CK_BYTE_PTR data, CK_ULONG data_len,
                CK_BYTE_PTR signature, CK_ULONG_PTR signature_len)
{
    return sign(session, false, data, data_len, signature, signature_len);
}

CK_RV gate_sign_final(CK_SESSION_HANDLE session, CK_BYTE_PTR signature, CK_ULONG_PTR signature_len)
{
    return sign(session, true, NULL, 0, signature, signature_len);
}

CK_RV gate_sign_update(CK_SESSION_HANDLE session, CK_BYTE_PTR part, CK_ULONG part_len)
{
    struct sign_operation *operation;
    CK_RV rv;

    state_lock();
    rv = idle_operation_locked(session, &operation);
    if (rv != CKR_OK)
        goto unlock;
    operation->multipart = true;
    rv = part == NULL && part_len > 0 ? CKR_ARGUMENTS_BAD
                                      : sign_operation_append(operation, part, part_len);
    if (rv != CKR_OK)
        sign_table_remove(module_state.operations, session);
unlock:
    state_unlock();
    return rv;
}

/* How a session close reaches the sign operations: which ones it touches, and the real call. */
struct session_close {
    bool (*busy)(struct sign_table *table, CK_ULONG what);
    void (*forget)(struct sign_table *table, CK_ULONG what);
    CK_RV (*real_close)(CK_ULONG what);
};

/* Closing ends the sign operations of what it closes (a reused handle must never inherit one),
 * once no gate runs on them: the token must not see a session vanish under a signature. */
static CK_RV close_when_idle(const struct session_close *close, CK_ULONG what)
{
    CK_RV rv = CKR_OK;

    if (close == NULL)
        return CKR_CRYPTOKI_NOT_INITIALIZED; /* no real module at all */
    state_lock();
    while (lifecycle_up_locked() && close->busy(module_state.operations, what))
        state_wait_idle();
    if (!lifecycle_up_locked())
        rv = CKR_CRYPTOKI_NOT_INITIALIZED;
    state_unlock();
    if (rv != CKR_OK)
        return rv;
    rv = close->real_close(what);
    state_lock();
    if (lifecycle_up_locked())
        close->forget(module_state.operations, what);
    state_unlock();
    return rv;
}

CK_RV gate_close_session(CK_SESSION_HANDLE session)
{
    const CK_FUNCTION_LIST *real = real_module();
    const struct session_close close = {sign_table_busy, sign_table_remove,
                                        real != NULL ? real->C_CloseSession : NULL};

    return close_when_idle(real != NULL ? &close : NULL, session);
}

CK_RV gate_close_all_sessions(CK_SLOT_ID slot)
{
    const CK_FUNCTION_LIST *real = real_module();
    const struct session_close close = {sign_table_slot_busy, sign_table_remove_slot,
                                        real != NULL ? real->C_CloseAllSessions : NULL};

    return close_when_idle(real != NULL ? &close : NULL, slot);
}
