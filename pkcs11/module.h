/*
 * pkcs11/: the tzwm module. It stands between signing software and the real token's PKCS#11
 * module, forwards everything, and owns only the calls that start, end or produce signatures.
 * Every symbol here is hidden except C_GetFunctionList (see libtzwm.map).
 */
#ifndef TZWM_PKCS11_MODULE_H
#define TZWM_PKCS11_MODULE_H

#include "tezos.h"
#include "watermark.h"

#include <p11-kit/pkcs11.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* log.c: one line per event to syslog, a file or stderr; never a secret. */
enum log_level { LOG_LEVEL_ERROR, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

/* Reads TZWM_LOG_LEVEL and TZWM_LOG_FILE; called on first use and by every C_Initialize. */
void log_configure(void);
/* Closes a log file opened by log_configure (C_Finalize). */
void log_close(void);
void log_message(enum log_level level, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

#define log_error(...) log_message(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn(...)  log_message(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(...)  log_message(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) log_message(LOG_LEVEL_DEBUG, __VA_ARGS__)

/* ckr_name.c: "CKR_PIN_INCORRECT" for logs and messages; "CKR_0x..." when unknown. */
const char *ckr_name(CK_RV rv);

/* real_module.c: the module named by TZWM_MODULE, loaded once per process and kept loaded until
 * tzwm itself is unloaded. NULL when it could not be loaded; real_module_error() says why. */
const CK_FUNCTION_LIST *real_module(void);
const char *real_module_error(void);
/* The TZWM_MODULE path it was loaded from. */
const char *real_module_path(void);

/* results.c: the one place where the results of tezos/ and watermark/ become return codes. */
CK_RV rv_from_tezos(enum tezos_error error);
CK_RV rv_from_watermark(enum watermark_result result);

/* policy.c: what may be signed at all (TZWM_ALLOW, TZWM_CHAINS), read at C_Initialize. */
struct policy;
struct policy *policy_from_env(char *error, size_t error_size);
void policy_free(struct policy *policy);
bool policy_allows_kind(const struct policy *policy, enum tezos_kind kind);
/* Always true when TZWM_CHAINS is not set. */
bool policy_allows_chain(const struct policy *policy, const uint8_t chain_id[TEZOS_CHAIN_ID_SIZE]);

/* keys.c: the Tezos identity of a signing key, read through the real module. */
struct key_identity {
    struct tezos_public_key public_key;
    char address[40]; /* tz1… / tz2… / tz3… */
};

/* What C_SignInit checks of the key every time, in one read: a private key of the mechanism's
 * key type that may sign. CKR_OK, or the return code C_SignInit gives, with the reason in why. */
CK_RV key_check(const CK_FUNCTION_LIST *real, CK_SESSION_HANDLE session, CK_OBJECT_HANDLE key,
                CK_MECHANISM_TYPE mechanism, char *why, size_t why_size);

/* The Tezos identity of a key that passed key_check: CKR_OK, or the return code C_SignInit
 * gives, with the reason in why. */
CK_RV key_identity_read(const CK_FUNCTION_LIST *real, CK_SESSION_HANDLE session, CK_SLOT_ID slot,
                        CK_OBJECT_HANDLE key, CK_MECHANISM_TYPE mechanism,
                        struct key_identity *identity, char *why, size_t why_size);

/* Identities already read, with the verifier of each one's public key, by (slot, key handle). The
 * caller holds the module-state lock. The cache only saves reads and parsing: every signature is
 * still verified against the identity before it leaves tzwm, so a handle that came to name
 * another key can never sign under the old address. */
struct key_cache;
struct key_cache *key_cache_new(void);
void key_cache_free(struct key_cache *cache);
/* On a hit, the identity and a verifier of the caller's own (tezos_verifier_copy: no parsing). */
bool key_cache_find(const struct key_cache *cache, CK_SLOT_ID slot, CK_OBJECT_HANDLE key,
                    struct key_identity *identity, struct tezos_verifier **verifier);
/* Caches a copy of verifier; out of memory, nothing is cached (the key is read again). */
void key_cache_put(struct key_cache *cache, CK_SLOT_ID slot, CK_OBJECT_HANDLE key,
                   const struct key_identity *identity, const struct tezos_verifier *verifier);
void key_cache_forget(struct key_cache *cache, CK_SLOT_ID slot, CK_OBJECT_HANDLE key);

/* sessions.c: the sign operation of each session between C_SignInit and its end. The caller
 * holds the module-state lock. */
#define SIGN_DATA_MAX (64 * 1024) /* C_SignUpdate parts together: a request is never larger */

struct sign_operation {
    uint64_t serial; /* tells this operation from a later one on a reused session handle */
    CK_SESSION_HANDLE session;
    CK_SLOT_ID slot;
    CK_MECHANISM_TYPE mechanism;
    CK_OBJECT_HANDLE key;
    struct key_identity identity;
    struct tezos_verifier *verifier; /* of identity.public_key, the operation's own */
    bool busy;                       /* a gate runs for it: no other call may touch it meanwhile */
    bool multipart; /* C_SignUpdate was called: only C_SignUpdate and C_SignFinal go on */
    uint8_t *data;  /* the request, or the parts so far: tzwm's own copy */
    size_t length, capacity;
};

struct sign_table;
struct sign_table *sign_table_new(void);
void sign_table_free(struct sign_table *table);
struct sign_operation *sign_table_find(struct sign_table *table, CK_SESSION_HANDLE session);
/* A copy of operation (without data, with a new serial) for its session, which takes over its
 * verifier (operation->verifier is then NULL): CKR_HOST_MEMORY when out of memory. */
CK_RV sign_table_add(struct sign_table *table, struct sign_operation *operation);
/* Appends a part: CKR_DATA_LEN_RANGE past SIGN_DATA_MAX, CKR_HOST_MEMORY. */
CK_RV sign_operation_append(struct sign_operation *operation, const uint8_t *part, size_t length);
void sign_table_remove(struct sign_table *table, CK_SESSION_HANDLE session);
/* Removes the session's operation if it is still the one with this serial. */
void sign_table_end(struct sign_table *table, CK_SESSION_HANDLE session, uint64_t serial);
/* Frees what an operation taken out of the table holds (its data, its verifier). */
void sign_operation_clear(struct sign_operation *operation);
void sign_table_remove_slot(struct sign_table *table, CK_SLOT_ID slot);
/* Whether a gate runs for the session, or for any session of the slot. */
bool sign_table_busy(struct sign_table *table, CK_SESSION_HANDLE session);
bool sign_table_slot_busy(struct sign_table *table, CK_SLOT_ID slot);

/* store.c: the watermark store as the module uses it: opened at C_Initialize from the
 * environment, its table ensured once (and again by signing until that works). */
struct gate_store;
/* Never NULL unless out of memory: a store that is not configured answers every advance with
 * WATERMARK_UNAVAILABLE and says why. */
struct gate_store *gate_store_open(void);
void gate_store_close(struct gate_store *store);
enum watermark_result gate_store_advance(struct gate_store *store, const char *idx,
                                         const char *kind, int64_t level, int64_t round,
                                         const char *digest, char *reason, size_t reason_size);

/* gate.c: the signing path tzwm owns. */
CK_RV gate_sign_init(CK_SESSION_HANDLE session, CK_MECHANISM_PTR mechanism, CK_OBJECT_HANDLE key);
CK_RV gate_sign(CK_SESSION_HANDLE session, CK_BYTE_PTR data, CK_ULONG data_len,
                CK_BYTE_PTR signature, CK_ULONG_PTR signature_len);
CK_RV gate_sign_update(CK_SESSION_HANDLE session, CK_BYTE_PTR part, CK_ULONG part_len);
CK_RV gate_sign_final(CK_SESSION_HANDLE session, CK_BYTE_PTR signature, CK_ULONG_PTR signature_len);
CK_RV gate_close_session(CK_SESSION_HANDLE session);
CK_RV gate_close_all_sessions(CK_SLOT_ID slot);

/* state_lock.c: the one lock of the module state, never held across a call into the real module
 * or the store. A pthread mutex; with the application's mutex callbacks and no
 * CKF_OS_LOCKING_OK, also the application's own mutex, taken first (see state_lock.c). */
void state_lock(void);
void state_unlock(void);
/* With the lock held: lets it go until state_signal_idle() (or a spurious wake-up), then takes it
 * again. Callers loop on their condition. */
void state_wait_idle(void);
/* With the lock held: wakes every state_wait_idle(). */
void state_signal_idle(void);

/* The application's mutex, made at C_Initialize when the arguments ask tzwm to lock through the
 * callbacks (NULL otherwise, or the callback's error), used from then on (with the lock held),
 * dropped at C_Finalize (with the lock held) and destroyed after. */
struct app_mutex;
CK_RV state_lock_make_app_mutex(const CK_C_INITIALIZE_ARGS *args, struct app_mutex **made);
void state_lock_use_app_mutex_locked(struct app_mutex *app);
struct app_mutex *state_lock_drop_app_mutex_locked(void);
void state_lock_destroy_app_mutex(struct app_mutex *app);
/* Registers the fork() handlers that keep the lock usable in a child (once per process). */
void state_lock_guard_fork(void);
/* In a child's C_Initialize, with the lock held: forgets the parent's waiters, and stops using
 * its application mutex, returned to be set aside (never destroyed: destroying it could touch
 * what the parent's threads held). */
struct app_mutex *state_lock_start_in_child_locked(void);

/* lifecycle.c: the one module state, behind the state lock. */
enum phase {
    PHASE_DOWN,     /* not initialized */
    PHASE_CHANGING, /* a C_Initialize or C_Finalize is calling the real module */
    PHASE_UP,
};

struct module_state {
    enum phase phase;
    pid_t pid; /* the process the phase belongs to */
    /* Set while up. */
    struct policy *policy;
    struct gate_store *store;
    struct sign_table *operations;
    struct key_cache *keys;
    /* Gates under way: C_Finalize waits for them before releasing the store, and closing a
     * session waits for its own. state_signal_idle() whenever one ends. */
    unsigned in_flight;
};

extern struct module_state module_state;

CK_RV lifecycle_initialize(CK_VOID_PTR init_args);
CK_RV lifecycle_finalize(CK_VOID_PTR reserved);
/* CKR_OK when this process initialized tzwm, else CKR_CRYPTOKI_NOT_INITIALIZED (also in a child
 * forked from an initialized parent, until the child calls C_Initialize itself). */
CK_RV lifecycle_check(void);
/* The same check with the lock already held. */
bool lifecycle_up_locked(void);
/* The checks C_Initialize makes of its argument before anything else. */
CK_RV init_args_check(CK_VOID_PTR init_args);

#endif
