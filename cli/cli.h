/*
 * cli/: tzwm, a command-line PKCS#11 client. It reaches the token only through a PKCS#11 module
 * (libtzwm.so by default), exactly as signing software does. The client helpers here are shared
 * with the tests, which are PKCS#11 clients too.
 */
#ifndef TZWM_CLI_H
#define TZWM_CLI_H

#include <p11-kit/pkcs11.h>
#include <stddef.h>

/* A loaded PKCS#11 module. */
struct client_module {
    void *handle;
    CK_FUNCTION_LIST_PTR p11;
};

/* dlopen + C_GetFunctionList. On failure writes the reason to error and returns -1. */
int client_module_load(struct client_module *module, const char *path, char *error,
                       size_t error_size);
void client_module_unload(struct client_module *module);

/* The slot whose token carries label (blank-padded in CK_TOKEN_INFO). CKR_TOKEN_NOT_PRESENT when
 * no token has it. SoftHSM moves initialized tokens to random-looking slot ids: never assume 0. */
CK_RV client_find_slot(CK_FUNCTION_LIST_PTR p11, const char *label, CK_SLOT_ID *slot);

/* A blank-padded PKCS#11 text field without its padding, as a C string in out. */
const char *client_field(const CK_UTF8CHAR *field, size_t size, char *out, size_t out_size);

/* The libtzwm.so beside the running tzwm binary (where the build puts both). */
const char *client_default_module(char *out, size_t out_size);

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

#endif
