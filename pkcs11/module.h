/*
 * pkcs11/: the tzwm module. It stands between signing software and the real token's PKCS#11
 * module, forwards everything, and owns only the calls that start, end or produce signatures.
 * Every symbol here is hidden except C_GetFunctionList (see libtzwm.map).
 */
#ifndef TZWM_PKCS11_MODULE_H
#define TZWM_PKCS11_MODULE_H

#include <p11-kit/pkcs11.h>

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

/* lifecycle.c: the module state and the calls that change it. */
CK_RV lifecycle_initialize(CK_VOID_PTR init_args);
CK_RV lifecycle_finalize(CK_VOID_PTR reserved);
/* CKR_OK when this process initialized tzwm, else CKR_CRYPTOKI_NOT_INITIALIZED (also in a child
 * forked from an initialized parent, until the child calls C_Initialize itself). */
CK_RV lifecycle_check(void);
/* The checks C_Initialize makes of its argument before anything else. */
CK_RV init_args_check(CK_VOID_PTR init_args);

#endif
