/*
 * The function list tzwm hands out: the real module's own list, copied, with the few entries
 * tzwm owns written over it. Every other call goes straight to the real module, with no tzwm
 * code in between.
 */
#include "module.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#define TZWM_MANUFACTURER "tzwm"
#define TZWM_DESCRIPTION  "tzwm Tezos double-sign guard"

static CK_FUNCTION_LIST list;

/* Copies text into a blank-padded, unterminated PKCS#11 field. */
static void pad_copy(CK_UTF8CHAR *field, size_t size, const char *text)
{
    size_t length = strlen(text);

    memset(field, ' ', size);
    memcpy(field, text, length < size ? length : size);
}

static CK_RV tzwm_C_Initialize(CK_VOID_PTR init_args)
{
    return lifecycle_initialize(init_args);
}

static CK_RV tzwm_C_Finalize(CK_VOID_PTR reserved)
{
    return lifecycle_finalize(reserved);
}

static CK_RV tzwm_C_GetInfo(CK_INFO_PTR info)
{
    CK_RV rv = lifecycle_check();

    if (rv != CKR_OK)
        goto out;
    if (info == NULL) {
        rv = CKR_ARGUMENTS_BAD;
        goto out;
    }
    memset(info, 0, sizeof *info);
    info->cryptokiVersion.major = 2;
    info->cryptokiVersion.minor = 40;
    pad_copy(info->manufacturerID, sizeof info->manufacturerID, TZWM_MANUFACTURER);
    pad_copy(info->libraryDescription, sizeof info->libraryDescription, TZWM_DESCRIPTION);
    info->libraryVersion.major = TZWM_VERSION_MAJOR;
    info->libraryVersion.minor = TZWM_VERSION_MINOR;
out:
    return rv;
}

/* Ways to produce a signature that would bypass the watermark: never offered. */
static CK_RV tzwm_C_SignRecoverInit(CK_SESSION_HANDLE session, CK_MECHANISM_PTR mechanism,
                                    CK_OBJECT_HANDLE key)
{
    (void)session, (void)mechanism, (void)key;
    return CKR_FUNCTION_NOT_SUPPORTED;
}

static CK_RV tzwm_C_SignRecover(CK_SESSION_HANDLE session, CK_BYTE_PTR data, CK_ULONG data_len,
                                CK_BYTE_PTR signature, CK_ULONG_PTR signature_len)
{
    (void)session, (void)data, (void)data_len, (void)signature, (void)signature_len;
    return CKR_FUNCTION_NOT_SUPPORTED;
}

static CK_RV tzwm_C_SignEncryptUpdate(CK_SESSION_HANDLE session, CK_BYTE_PTR part,
                                      CK_ULONG part_len, CK_BYTE_PTR encrypted_part,
                                      CK_ULONG_PTR encrypted_part_len)
{
    (void)session, (void)part, (void)part_len, (void)encrypted_part, (void)encrypted_part_len;
    return CKR_FUNCTION_NOT_SUPPORTED;
}

/* A saved operation state could resume a sign operation that never went through the gate. */
static CK_RV tzwm_C_SetOperationState(CK_SESSION_HANDLE session, CK_BYTE_PTR state,
                                      CK_ULONG state_len, CK_OBJECT_HANDLE encryption_key,
                                      CK_OBJECT_HANDLE authentication_key)
{
    (void)session, (void)state, (void)state_len, (void)encryption_key, (void)authentication_key;
    return CKR_FUNCTION_NOT_SUPPORTED;
}

/*
 * Entries with nothing behind them: with no real module every forwarded entry answers
 * CKR_CRYPTOKI_NOT_INITIALIZED (C_Initialize has failed and said why), and an entry a vendor left
 * NULL answers CKR_FUNCTION_NOT_SUPPORTED instead of crashing the caller. Every PKCS#11 function
 * returns CK_RV and the C ABIs tzwm is built for (x86-64 and AArch64 System V, GCC) leave the
 * arguments to the caller, so one argument-less stub serves every entry.
 */
static CK_RV not_initialized(void)
{
    return CKR_CRYPTOKI_NOT_INITIALIZED;
}

static CK_RV not_supported(void)
{
    return CKR_FUNCTION_NOT_SUPPORTED;
}

/* Sets every entry that is NULL, or every entry when all is true, to stub. */
static void fill_entries(CK_FUNCTION_LIST *target, CK_RV (*stub)(void), bool all)
{
    static const void *const null_entry = NULL;
    size_t first = offsetof(CK_FUNCTION_LIST, C_Initialize);

    for (size_t offset = first; offset + sizeof stub <= sizeof *target; offset += sizeof stub) {
        char *entry = (char *)target + offset;

        if (all || memcmp(entry, &null_entry, sizeof stub) == 0)
            memcpy(entry, &stub, sizeof stub);
    }
}

static CK_RV tzwm_C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR out);

static void build(void)
{
    const CK_FUNCTION_LIST *real;

    log_configure();
    real = real_module();
    if (real != NULL) {
        memcpy(&list, real, sizeof list);
        fill_entries(&list, not_supported, false);
    } else {
        fill_entries(&list, not_initialized, true);
    }

    list.version.major = 2;
    list.version.minor = 40;
    /* What tzwm owns. Everything else is the real module's. */
    list.C_Initialize = tzwm_C_Initialize;
    list.C_Finalize = tzwm_C_Finalize;
    list.C_GetInfo = tzwm_C_GetInfo;
    /* Never the exported symbol: another C_GetFunctionList already in the process (p11-kit's,
     * loaded with GnuTLS by many applications) would take its place, and the list would hand
     * out a list that bypasses tzwm. */
    list.C_GetFunctionList = tzwm_C_GetFunctionList;
    list.C_SignRecoverInit = tzwm_C_SignRecoverInit;
    list.C_SignRecover = tzwm_C_SignRecover;
    list.C_SignEncryptUpdate = tzwm_C_SignEncryptUpdate;
    list.C_SetOperationState = tzwm_C_SetOperationState;
    list.C_SignInit = gate_sign_init;
    list.C_Sign = gate_sign;
    list.C_SignUpdate = gate_sign_update;
    list.C_SignFinal = gate_sign_final;
    list.C_CloseSession = gate_close_session;
    list.C_CloseAllSessions = gate_close_all_sessions;
}

static CK_RV tzwm_C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR out)
{
    static pthread_once_t built = PTHREAD_ONCE_INIT;

    if (out == NULL)
        return CKR_ARGUMENTS_BAD;
    pthread_once(&built, build);
    *out = &list;
    return CKR_OK;
}

__attribute__((visibility("default"))) CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR out)
{
    return tzwm_C_GetFunctionList(out);
}
