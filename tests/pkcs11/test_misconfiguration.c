/*
 * A misconfigured tzwm fails C_Initialize with CKR_GENERAL_ERROR and one log line that says what
 * is wrong, and never crashes. TZWM_MODULE is read once per process, so each case runs in a
 * child that loads libtzwm.so for the first time: this program's own process never loads it.
 */
#define _GNU_SOURCE /* dladdr */
#include "support.h"

#include <dlfcn.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

struct misconfiguration {
    const char *module; /* TZWM_MODULE, NULL = unset */
    const char *log_level;
    CK_RV initialize;   /* what C_Initialize must answer */
    const char *log;    /* a line the log must hold */
    const char *absent; /* text the log must not hold, or NULL */
};

/* Exit status = the first check that failed. */
static int load_in_child(void *argument)
{
    const struct misconfiguration *c = argument;
    struct client_module module;
    CK_FUNCTION_LIST_PTR p11;
    CK_ULONG count = 0, length = 0;
    CK_INFO info;
    char error[1024];

    if (c->module != NULL)
        setenv("TZWM_MODULE", c->module, 1);
    else
        unsetenv("TZWM_MODULE");
    if (c->log_level != NULL)
        setenv("TZWM_LOG_LEVEL", c->log_level, 1);
    if (client_module_load(&module, getenv("TZWM_LIBRARY"), error, sizeof error) != 0)
        return 1;
    p11 = module.p11;
    if (p11->version.major != 2 || p11->version.minor != 40)
        return 2;
    if (p11->C_Initialize(NULL) != c->initialize)
        return 3;
    if (c->initialize == CKR_OK)
        return p11->C_Finalize(NULL) == CKR_OK ? 0 : 4;
    /* Whatever the caller does next, it gets an answer, never a crash. */
    if (p11->C_GetSlotList(CK_TRUE, NULL, &count) != CKR_CRYPTOKI_NOT_INITIALIZED)
        return 5;
    if (p11->C_OpenSession(1, CKF_SERIAL_SESSION, NULL, NULL, &(CK_SESSION_HANDLE){0}) !=
        CKR_CRYPTOKI_NOT_INITIALIZED)
        return 6;
    if (p11->C_Sign(1, NULL, 0, NULL, &length) != CKR_CRYPTOKI_NOT_INITIALIZED)
        return 7;
    /* tzwm's own entries too, with no real module behind them. */
    if (p11->C_SignInit(1, &(CK_MECHANISM){CKM_EDDSA, NULL, 0}, 1) !=
            CKR_CRYPTOKI_NOT_INITIALIZED ||
        p11->C_SignUpdate(1, NULL, 0) != CKR_CRYPTOKI_NOT_INITIALIZED ||
        p11->C_SignFinal(1, NULL, &length) != CKR_CRYPTOKI_NOT_INITIALIZED ||
        p11->C_CloseSession(1) != CKR_CRYPTOKI_NOT_INITIALIZED ||
        p11->C_CloseAllSessions(1) != CKR_CRYPTOKI_NOT_INITIALIZED)
        return 12;
    if (p11->C_GetInfo(&info) != CKR_CRYPTOKI_NOT_INITIALIZED)
        return 8;
    if (p11->C_Finalize(NULL) != CKR_CRYPTOKI_NOT_INITIALIZED)
        return 9;
    if (p11->C_SignRecover(1, NULL, 0, NULL, &length) != CKR_FUNCTION_NOT_SUPPORTED)
        return 10;
    if (p11->C_Initialize(NULL) != c->initialize)
        return 11;
    return 0;
}

static void check(const struct misconfiguration *c, const char *name)
{
    char log[4096];

    snprintf(log, sizeof log, "%s/%s.log", test_env("TZWM_TEST_DIR"), name);
    remove(log);
    setenv("TZWM_LOG_FILE", log, 1);
    assert_int_equal(test_in_child(load_in_child, (void *)c), 0);
    test_assert_log_contains(log, c->log, true);
    if (c->absent != NULL)
        test_assert_log_contains(log, c->absent, false);
}

static void module_unset(void **state)
{
    (void)state;
    check(&(struct misconfiguration){NULL, NULL, CKR_GENERAL_ERROR, "error: TZWM_MODULE is not set",
                                     NULL},
          "unset");
}

static void module_missing(void **state)
{
    (void)state;
    check(&(struct misconfiguration){"/nonexistent/libpkcs11.so", NULL, CKR_GENERAL_ERROR,
                                     "error: cannot load TZWM_MODULE '/nonexistent/libpkcs11.so': ",
                                     NULL},
          "missing");
}

static void module_not_pkcs11(void **state)
{
    Dl_info libc;
    char line[4096];
    (void)state;

    /* The C library: a real shared object with no C_GetFunctionList. */
    assert_int_not_equal(dladdr((void *)printf, &libc), 0);
    snprintf(line, sizeof line,
             "error: TZWM_MODULE '%s' is not a PKCS#11 module: it has no C_GetFunctionList",
             libc.dli_fname);
    check(&(struct misconfiguration){libc.dli_fname, NULL, CKR_GENERAL_ERROR, line, NULL},
          "not-pkcs11");
}

static void module_is_tzwm(void **state)
{
    (void)state;
    check(&(struct misconfiguration){test_env("TZWM_LIBRARY"), NULL, CKR_GENERAL_ERROR,
                                     "is tzwm itself", NULL},
          "tzwm-itself");
}

static void log_level_unknown(void **state)
{
    (void)state;
    check(&(struct misconfiguration){test_env("TZWM_SOFTHSM_MODULE"), "loud", CKR_OK,
                                     "warn: TZWM_LOG_LEVEL 'loud' is not one of error, warn, "
                                     "info, debug: using info",
                                     NULL},
          "level-unknown");
}

static void log_level_error_hides_info(void **state)
{
    (void)state;
    check(&(struct misconfiguration){"/nonexistent/libpkcs11.so", "error", CKR_GENERAL_ERROR,
                                     "error: cannot load TZWM_MODULE", "info:"},
          "level-error");
    check(&(struct misconfiguration){test_env("TZWM_SOFTHSM_MODULE"), "ERROR", CKR_OK, "", "info:"},
          "level-error-ok");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(module_unset),      cmocka_unit_test(module_missing),
        cmocka_unit_test(module_not_pkcs11), cmocka_unit_test(module_is_tzwm),
        cmocka_unit_test(log_level_unknown), cmocka_unit_test(log_level_error_hides_info),
    };

    return cmocka_run_group_tests_name("misconfiguration", tests, NULL, NULL);
}
