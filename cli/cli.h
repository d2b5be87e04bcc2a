/*
 * cli/: tzwm, a command-line PKCS#11 client. It reaches the token only through a PKCS#11 module
 * (libtzwm.so by default), exactly as signing software does. The client helpers here are shared
 * with the tests, which are PKCS#11 clients too.
 */
#ifndef TZWM_CLI_H
#define TZWM_CLI_H

#include "module.h" /* ckr_name, key_check, key_identity_read: the gate's own reading of keys */

#include <getopt.h>
#include <p11-kit/pkcs11.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A loaded PKCS#11 module. */
struct client_module {
    void *handle;
    CK_FUNCTION_LIST_PTR p11;
};

/* dlopen + C_GetFunctionList. On failure writes the reason to error and returns -1. */
int client_module_load(struct client_module *module, const char *path, char *error,
                       size_t error_size);
void client_module_unload(struct client_module *module);

/* The module's slots (only those with a token when token_present), in a malloc'ed array that the
 * caller frees (also on failure: it is then NULL). */
CK_RV client_slot_list(CK_FUNCTION_LIST_PTR p11, CK_BBOOL token_present, CK_SLOT_ID **slots,
                       CK_ULONG *count);

/* The slot whose token carries label (blank-padded in CK_TOKEN_INFO). CKR_TOKEN_NOT_PRESENT when
 * no token has it. SoftHSM moves initialized tokens to random-looking slot ids: never assume 0. */
CK_RV client_find_slot(CK_FUNCTION_LIST_PTR p11, const char *label, CK_SLOT_ID *slot);

/* A blank-padded PKCS#11 text field without its padding, as a C string in out. */
const char *client_field(const CK_UTF8CHAR *field, size_t size, char *out, size_t out_size);

/* The libtzwm.so beside the running tzwm binary (where the build puts both). */
const char *client_default_module(char *out, size_t out_size);

/* hex.c: hex text (an optional 0x, even length) as bytes in a malloc'ed buffer; NULL if it is not
 * hex. */
uint8_t *cli_hex_decode(const char *text, size_t *len);

/* session.c: what the commands that use the token share: which token, the PIN, a logged-in
 * session. The options go in each command's getopt_long table (SESSION_OPTIONS first). */
struct session_options {
    const char *token_label; /* --token LABEL */
    const char *slot_text;   /* --slot N */
    const char *pin_file;    /* --pin-file FILE; otherwise TZWM_PIN */
};

#define SESSION_OPTION_TOKEN    0x100
#define SESSION_OPTION_SLOT     0x101
#define SESSION_OPTION_PIN_FILE 0x102
#define SESSION_OPTIONS                                                                            \
    {"token", required_argument, NULL, SESSION_OPTION_TOKEN},                                      \
        {"slot", required_argument, NULL, SESSION_OPTION_SLOT},                                    \
    {                                                                                              \
        "pin-file", required_argument, NULL, SESSION_OPTION_PIN_FILE                               \
    }
#define SESSION_OPTIONS_USAGE "[--token LABEL | --slot N] [--pin-file FILE]"

/* Stores option (as getopt_long returned it, with its argument) when it is a session option;
 * false when it is not one. */
bool session_option(struct session_options *options, int option, const char *argument);

struct token_session {
    CK_FUNCTION_LIST_PTR p11;
    CK_SLOT_ID slot;
    CK_SESSION_HANDLE handle;
};

/* Chooses the slot (--slot, --token, else the only initialized token), opens a session and logs
 * in as the user with the PIN. 0, or 1 with the reason on stderr (never the PIN). */
int session_open(CK_FUNCTION_LIST_PTR p11, const struct session_options *options,
                 struct token_session *session);
void session_close(struct token_session *session);

/* token_keys.c: the private keys on a token that tzwm can sign with, and their Tezos identity. */
struct token_key {
    CK_OBJECT_HANDLE handle;
    CK_MECHANISM_TYPE mechanism; /* CKM_EDDSA (Ed25519) or CKM_ECDSA (secp256k1, P-256) */
    char label[256];
    char id_hex[2 * 128 + 1];
    struct key_identity identity; /* the public key and the tz address */
};

/* Every such key, by CKA_ID then label, in a malloc'ed array (*keys, *count). Keys tzwm cannot
 * sign with (RSA, other curves, CKA_SIGN false, no public point) are left out. 0, or 1 with the
 * reason on stderr. */
int token_keys_find(const struct token_session *session, struct token_key **keys, size_t *count);

/* "ed25519", "secp256k1" or "p256". */
const char *token_key_type(const struct token_key *key);

/* token_sign.c: C_SignInit and C_Sign of the whole request by key on session; the signature as
 * edsig…/spsig1…/p2sig… text. The module's return code (CKR_GENERAL_ERROR when its answer is not
 * a 64-byte signature). */
CK_RV token_key_sign(const struct token_session *session, const struct token_key *key,
                     const uint8_t *request, size_t len, char *signature_text, size_t text_size);

/* Why the module did not sign request, from its return code, for a message: empty when the code
 * says nothing more than its name. */
void token_sign_explain(CK_RV rv, const uint8_t *request, size_t len, char *why, size_t why_size);

/* Commands: argc/argv after the command name; the module is initialized (p11 is NULL for commands
 * that need no module). Exit codes. */
struct command_context {
    CK_FUNCTION_LIST_PTR p11;
    int argc;
    char **argv;
};
int command_slots(const struct command_context *context);
int command_decode(const struct command_context *context);
int command_address(const struct command_context *context);
int command_keys(const struct command_context *context);
int command_sign(const struct command_context *context);
int command_watermarks(const struct command_context *context);

#endif
