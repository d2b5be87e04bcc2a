/* Names of the return codes an operator is likely to meet in tzwm's logs and the CLI. */
#include "module.h"

#include <stdio.h>

#define NAME(rv)                                                                                   \
    {                                                                                              \
        rv, #rv                                                                                    \
    }

static const struct {
    CK_RV rv;
    const char *name;
} names[] = {
    NAME(CKR_OK),
    NAME(CKR_CANCEL),
    NAME(CKR_HOST_MEMORY),
    NAME(CKR_SLOT_ID_INVALID),
    NAME(CKR_GENERAL_ERROR),
    NAME(CKR_FUNCTION_FAILED),
    NAME(CKR_ARGUMENTS_BAD),
    NAME(CKR_CANT_LOCK),
    NAME(CKR_ATTRIBUTE_READ_ONLY),
    NAME(CKR_ATTRIBUTE_SENSITIVE),
    NAME(CKR_ATTRIBUTE_TYPE_INVALID),
    NAME(CKR_ATTRIBUTE_VALUE_INVALID),
    NAME(CKR_DATA_INVALID),
    NAME(CKR_DATA_LEN_RANGE),
    NAME(CKR_DEVICE_ERROR),
    NAME(CKR_DEVICE_MEMORY),
    NAME(CKR_DEVICE_REMOVED),
    NAME(CKR_FUNCTION_CANCELED),
    NAME(CKR_FUNCTION_NOT_PARALLEL),
    NAME(CKR_FUNCTION_NOT_SUPPORTED),
    NAME(CKR_KEY_HANDLE_INVALID),
    NAME(CKR_KEY_TYPE_INCONSISTENT),
    NAME(CKR_KEY_FUNCTION_NOT_PERMITTED),
    NAME(CKR_MECHANISM_INVALID),
    NAME(CKR_MECHANISM_PARAM_INVALID),
    NAME(CKR_OBJECT_HANDLE_INVALID),
    NAME(CKR_OPERATION_ACTIVE),
    NAME(CKR_OPERATION_NOT_INITIALIZED),
    NAME(CKR_PIN_INCORRECT),
    NAME(CKR_PIN_INVALID),
    NAME(CKR_PIN_LEN_RANGE),
    NAME(CKR_PIN_LOCKED),
    NAME(CKR_SESSION_CLOSED),
    NAME(CKR_SESSION_COUNT),
    NAME(CKR_SESSION_HANDLE_INVALID),
    NAME(CKR_SESSION_PARALLEL_NOT_SUPPORTED),
    NAME(CKR_SESSION_READ_ONLY),
    NAME(CKR_SESSION_EXISTS),
    NAME(CKR_SIGNATURE_INVALID),
    NAME(CKR_SIGNATURE_LEN_RANGE),
    NAME(CKR_TEMPLATE_INCOMPLETE),
    NAME(CKR_TEMPLATE_INCONSISTENT),
    NAME(CKR_TOKEN_NOT_PRESENT),
    NAME(CKR_TOKEN_NOT_RECOGNIZED),
    NAME(CKR_TOKEN_WRITE_PROTECTED),
    NAME(CKR_USER_ALREADY_LOGGED_IN),
    NAME(CKR_USER_NOT_LOGGED_IN),
    NAME(CKR_USER_PIN_NOT_INITIALIZED),
    NAME(CKR_USER_TYPE_INVALID),
    NAME(CKR_BUFFER_TOO_SMALL),
    NAME(CKR_CRYPTOKI_NOT_INITIALIZED),
    NAME(CKR_CRYPTOKI_ALREADY_INITIALIZED),
    NAME(CKR_FUNCTION_REJECTED),
};

const char *ckr_name(CK_RV rv)
{
    /* Unknown codes are formatted per thread so that concurrent callers never share a buffer. */
    static __thread char unknown[24];

    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (names[i].rv == rv)
            return names[i].name;
    }
    snprintf(unknown, sizeof unknown, "CKR_0x%08lx", (unsigned long)rv);
    return unknown;
}
