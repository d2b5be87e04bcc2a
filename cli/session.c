/*
 * The token side that tzwm keys and tzwm sign share: which token (--slot, --token, or the only
 * initialized one), the PIN (TZWM_PIN or --pin-file) and a session logged in as the user. The PIN
 * is held only as long as C_Login needs it and is never printed.
 */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PIN_MAX 256

bool session_option(struct session_options *options, int option, const char *argument)
{
    switch (option) {
    case SESSION_OPTION_TOKEN:
        options->token_label = argument;
        return true;
    case SESSION_OPTION_SLOT:
        options->slot_text = argument;
        return true;
    case SESSION_OPTION_PIN_FILE:
        options->pin_file = argument;
        return true;
    default:
        return false;
    }
}

/* The only slot whose token is initialized: a default only when there is no choice to make. */
static int only_initialized_token(CK_FUNCTION_LIST_PTR p11, CK_SLOT_ID *slot)
{
    CK_SLOT_ID *slots;
    CK_ULONG count, found = 0;
    CK_RV rv = client_slot_list(p11, CK_TRUE, &slots, &count);

    if (rv != CKR_OK) {
        fprintf(stderr, "tzwm: C_GetSlotList failed: %s\n", ckr_name(rv));
        return 1;
    }
    for (CK_ULONG i = 0; i < count; i++) {
        CK_TOKEN_INFO info;

        if (p11->C_GetTokenInfo(slots[i], &info) == CKR_OK &&
            (info.flags & CKF_TOKEN_INITIALIZED)) {
            *slot = slots[i];
            found++;
        }
    }
    free(slots);
    if (found == 1)
        return 0;
    fprintf(stderr, found == 0
                        ? "tzwm: no initialized token (see tzwm slots)\n"
                        : "tzwm: several initialized tokens: choose one with --token LABEL or "
                          "--slot N (see tzwm slots)\n");
    return 1;
}

static int choose_slot(CK_FUNCTION_LIST_PTR p11, const struct session_options *options,
                       CK_SLOT_ID *slot)
{
    char *end;
    CK_RV rv;

    if (options->slot_text != NULL && options->token_label != NULL) {
        fprintf(stderr, "tzwm: give --slot or --token, not both\n");
        return 1;
    }
    if (options->slot_text != NULL) {
        errno = 0;
        *slot = strtoul(options->slot_text, &end, 10);
        if (errno != 0 || end == options->slot_text || *end != '\0') {
            fprintf(stderr, "tzwm: --slot wants a slot number, not '%s'\n", options->slot_text);
            return 1;
        }
        return 0;
    }
    if (options->token_label == NULL)
        return only_initialized_token(p11, slot);
    rv = client_find_slot(p11, options->token_label, slot);
    if (rv == CKR_OK)
        return 0;
    if (rv == CKR_TOKEN_NOT_PRESENT)
        fprintf(stderr, "tzwm: no token labelled '%s' (see tzwm slots)\n", options->token_label);
    else
        fprintf(stderr, "tzwm: cannot list the tokens: %s\n", ckr_name(rv));
    return 1;
}

/* The PIN: the first line of --pin-file, else TZWM_PIN. */
static int read_pin(const struct session_options *options, char pin[PIN_MAX])
{
    const char *variable = getenv("TZWM_PIN");
    FILE *file;

    if (options->pin_file == NULL) {
        if (variable == NULL || *variable == '\0') {
            fprintf(stderr, "tzwm: no PIN: set TZWM_PIN or give --pin-file FILE\n");
            return 1;
        }
        if (strlen(variable) >= PIN_MAX) {
            fprintf(stderr, "tzwm: TZWM_PIN is longer than %d characters\n", PIN_MAX - 1);
            return 1;
        }
        strcpy(pin, variable);
        return 0;
    }
    file = fopen(options->pin_file, "r");
    if (file == NULL) {
        fprintf(stderr, "tzwm: cannot read the PIN file '%s': %s\n", options->pin_file,
                strerror(errno));
        return 1;
    }
    if (fgets(pin, PIN_MAX, file) == NULL)
        pin[0] = '\0';
    fclose(file);
    pin[strcspn(pin, "\r\n")] = '\0';
    if (pin[0] == '\0') {
        fprintf(stderr, "tzwm: the PIN file '%s' has no PIN on its first line\n",
                options->pin_file);
        return 1;
    }
    return 0;
}

int session_open(CK_FUNCTION_LIST_PTR p11, const struct session_options *options,
                 struct token_session *session)
{
    char pin[PIN_MAX];
    CK_RV rv;

    session->p11 = p11;
    session->handle = CK_INVALID_HANDLE;
    if (choose_slot(p11, options, &session->slot) != 0 || read_pin(options, pin) != 0)
        return 1;
    rv = p11->C_OpenSession(session->slot, CKF_SERIAL_SESSION, NULL, NULL, &session->handle);
    if (rv != CKR_OK) {
        explicit_bzero(pin, sizeof pin);
        fprintf(stderr, "tzwm: C_OpenSession on slot %lu failed: %s\n", session->slot,
                ckr_name(rv));
        return 1;
    }
    rv = p11->C_Login(session->handle, CKU_USER, (CK_UTF8CHAR_PTR)pin, (CK_ULONG)strlen(pin));
    explicit_bzero(pin, sizeof pin);
    if (rv != CKR_OK) {
        fprintf(stderr, "tzwm: C_Login failed: %s\n", ckr_name(rv));
        session_close(session);
        return 1;
    }
    return 0;
}

void session_close(struct token_session *session)
{
    if (session->handle != CK_INVALID_HANDLE)
        session->p11->C_CloseSession(session->handle);
    session->handle = CK_INVALID_HANDLE;
}
