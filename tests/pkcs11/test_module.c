/* What tzwm adds to the real module's behaviour, seen through PKCS#11. */
#include "support.h"

#include <dlfcn.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static struct client_module module;
static CK_FUNCTION_LIST_PTR p11;

static int load_module(void **state)
{
    /* Many applications have p11-kit in their global namespace (GnuTLS brings it), with a
     * C_GetFunctionList of its own: tzwm's list must stay tzwm's all the same. */
    if (dlopen("libp11-kit.so.0", RTLD_NOW | RTLD_GLOBAL) == NULL)
        fail_msg("cannot load libp11-kit.so.0: %s", dlerror());
    p11 = test_load(&module, test_env("TZWM_LIBRARY"));
    *state = p11; /* what test_initialize and test_finalize act on */
    return 0;
}

static int unload_module(void **state)
{
    (void)state;
    client_module_unload(&module);
    return 0;
}

static void info_names_tzwm(void **state)
{
    CK_INFO info;
    char text[33], version[16];
    (void)state;

    assert_int_equal(p11->C_GetInfo(&info), CKR_OK);
    assert_string_equal(
        client_field(info.manufacturerID, sizeof info.manufacturerID, text, sizeof text), "tzwm");
    assert_string_equal(
        client_field(info.libraryDescription, sizeof info.libraryDescription, text, sizeof text),
        "tzwm Tezos double-sign guard");
    assert_int_equal(info.cryptokiVersion.major, 2);
    assert_int_equal(info.cryptokiVersion.minor, 40);
    snprintf(version, sizeof version, "%u.%u.", info.libraryVersion.major,
             info.libraryVersion.minor);
    assert_memory_equal(version, TZWM_VERSION, strlen(version));
    assert_int_equal(p11->version.major, 2);
    assert_int_equal(p11->version.minor, 40);
}

/* The entries tzwm owns. */
static const size_t owned[] = {
    offsetof(CK_FUNCTION_LIST, C_Initialize),
    offsetof(CK_FUNCTION_LIST, C_Finalize),
    offsetof(CK_FUNCTION_LIST, C_GetInfo),
    offsetof(CK_FUNCTION_LIST, C_GetFunctionList),
    offsetof(CK_FUNCTION_LIST, C_SignRecoverInit),
    offsetof(CK_FUNCTION_LIST, C_SignRecover),
    offsetof(CK_FUNCTION_LIST, C_SignEncryptUpdate),
    offsetof(CK_FUNCTION_LIST, C_SetOperationState),
    offsetof(CK_FUNCTION_LIST, C_SignInit),
    offsetof(CK_FUNCTION_LIST, C_Sign),
    offsetof(CK_FUNCTION_LIST, C_SignUpdate),
    offsetof(CK_FUNCTION_LIST, C_SignFinal),
    offsetof(CK_FUNCTION_LIST, C_CloseSession),
    offsetof(CK_FUNCTION_LIST, C_CloseAllSessions),
};

static bool is_owned(size_t offset)
{
    for (size_t i = 0; i < sizeof owned / sizeof owned[0]; i++) {
        if (owned[i] == offset)
            return true;
    }
    return false;
}

/* Every forwarded entry is the real module's own function, untouched; every owned one is tzwm's.
 * (SoftHSM answers the denied calls with CKR_FUNCTION_NOT_SUPPORTED itself: only this tells a
 * denied entry from a forwarded one.) */
static void forwarding_is_data(void **state)
{
    struct client_module real_module;
    CK_FUNCTION_LIST_PTR real = test_load(&real_module, test_env("TZWM_MODULE"));
    CK_FUNCTION_LIST_PTR again = NULL;
    size_t first = offsetof(CK_FUNCTION_LIST, C_Initialize), forwarded = 0;
    void (*entry)(void);
    (void)state;

    for (size_t offset = first; offset + sizeof entry <= sizeof *p11; offset += sizeof entry) {
        bool same = memcmp((char *)p11 + offset, (char *)real + offset, sizeof entry) == 0;

        if (is_owned(offset) == same)
            fail_msg("the entry at offset %zu is %s", offset,
                     same ? "the real module's but tzwm owns it" : "not the real module's");
        forwarded += same;
    }
    assert_int_equal(forwarded,
                     (sizeof *p11 - first) / sizeof entry - sizeof owned / sizeof owned[0]);
    /* The list's own C_GetFunctionList hands out tzwm's list, never the real one. */
    assert_int_equal(p11->C_GetFunctionList(&again), CKR_OK);
    assert_ptr_equal(again, p11);
    assert_int_equal(p11->C_GetFunctionList(NULL), CKR_ARGUMENTS_BAD);
    client_module_unload(&real_module);
}

static void other_ways_to_sign_are_denied(void **state)
{
    CK_SESSION_HANDLE session = test_session(p11, true);
    CK_OBJECT_CLASS class = CKO_PRIVATE_KEY;
    CK_ATTRIBUTE template = {CKA_CLASS, &class, sizeof class};
    CK_MECHANISM ecdsa = {CKM_ECDSA, NULL, 0};
    CK_OBJECT_HANDLE keys[3];
    CK_BYTE data[32] = {0}, out[128];
    CK_ULONG out_len = sizeof out;
    (void)state;

    assert_int_equal(test_find(p11, session, &template, 1, keys, 3), 3);
    for (int i = 0; i < 3; i++)
        assert_int_equal(p11->C_SignRecoverInit(session, &ecdsa, keys[i]),
                         CKR_FUNCTION_NOT_SUPPORTED);
    assert_int_equal(p11->C_SignRecover(session, data, sizeof data, out, &out_len),
                     CKR_FUNCTION_NOT_SUPPORTED);
    assert_int_equal(p11->C_SignEncryptUpdate(session, data, sizeof data, out, &out_len),
                     CKR_FUNCTION_NOT_SUPPORTED);
    assert_int_equal(p11->C_SetOperationState(session, out, sizeof out, 0, 0),
                     CKR_FUNCTION_NOT_SUPPORTED);
    assert_int_equal(p11->C_CloseSession(session), CKR_OK);
}

static void denied_even_before_initialize(void **state)
{
    CK_ULONG length = 0;
    (void)state;

    assert_int_equal(p11->C_SignRecoverInit(1, NULL, 1), CKR_FUNCTION_NOT_SUPPORTED);
    assert_int_equal(p11->C_SignRecover(1, NULL, 0, NULL, &length), CKR_FUNCTION_NOT_SUPPORTED);
    assert_int_equal(p11->C_SignEncryptUpdate(1, NULL, 0, NULL, &length),
                     CKR_FUNCTION_NOT_SUPPORTED);
    assert_int_equal(p11->C_SetOperationState(1, NULL, 0, 0, 0), CKR_FUNCTION_NOT_SUPPORTED);
}

static void initialization_is_logged(void **state)
{
    const char *log = test_env("TZWM_LOG_FILE");
    char line[1024];
    (void)state;

    assert_int_equal(p11->C_Initialize(NULL), CKR_OK);
    assert_int_equal(p11->C_Finalize(NULL), CKR_OK);
    snprintf(line, sizeof line, "info: tzwm %s initialized over '%s': SoftHSM", TZWM_VERSION,
             test_env("TZWM_MODULE"));
    test_assert_log_contains(log, line, true);
    test_assert_log_contains(log, "info: tzwm finalized", true);
}

/* The child of a parent whose real module does not notice fork(): tzwm's own stamp still says
 * "not initialized" until the child initializes, and initializing then works. */
static int child_of_unresetting_module(void *argument)
{
    CK_SLOT_ID slot;
    CK_INFO info;
    (void)argument;

    if (p11->C_GetInfo(&info) != CKR_CRYPTOKI_NOT_INITIALIZED)
        return 1;
    if (p11->C_Finalize(NULL) != CKR_CRYPTOKI_NOT_INITIALIZED)
        return 2;
    if (p11->C_Initialize(NULL) != CKR_OK)
        return 3;
    if (p11->C_Initialize(NULL) != CKR_CRYPTOKI_ALREADY_INITIALIZED)
        return 4;
    if (p11->C_GetInfo(&info) != CKR_OK)
        return 5;
    if (client_find_slot(p11, getenv("TZWM_TEST_TOKEN"), &slot) != CKR_OK)
        return 6;
    if (p11->C_Finalize(NULL) != CKR_OK)
        return 7;
    return 0;
}

static void fork_with_a_module_that_keeps_its_state(void **state)
{
    char conf[4096], original[4096];
    char *text;
    FILE *file;
    CK_INFO info;
    (void)state;

    /* The same token, with SoftHSM's fork reset turned off. */
    snprintf(original, sizeof original, "%s", test_env("SOFTHSM2_CONF"));
    snprintf(conf, sizeof conf, "%s/no-reset.conf", test_env("TZWM_TEST_DIR"));
    text = test_read_file(original);
    file = fopen(conf, "w");
    assert_non_null(file);
    fprintf(file, "%s\nlibrary.reset_on_fork = false\n", text);
    fclose(file);
    free(text);
    setenv("SOFTHSM2_CONF", conf, 1);

    assert_int_equal(p11->C_Initialize(NULL), CKR_OK);
    assert_int_equal(test_in_child(child_of_unresetting_module, NULL), 0);
    assert_int_equal(p11->C_GetInfo(&info), CKR_OK);
    assert_int_equal(p11->C_Finalize(NULL), CKR_OK);
    setenv("SOFTHSM2_CONF", original, 1);
    /* The child took the path for a real module that kept its state. */
    test_assert_log_contains(test_env("TZWM_LOG_FILE"),
                             "info: the real module kept its initialization across fork()", true);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(denied_even_before_initialize),
        cmocka_unit_test_setup_teardown(info_names_tzwm, test_initialize, test_finalize),
        cmocka_unit_test_setup_teardown(forwarding_is_data, test_initialize, test_finalize),
        cmocka_unit_test_setup_teardown(other_ways_to_sign_are_denied, test_initialize,
                                        test_finalize),
        cmocka_unit_test(initialization_is_logged),
        cmocka_unit_test(fork_with_a_module_that_keeps_its_state),
    };

    return cmocka_run_group_tests_name("module", tests, load_module, unload_module);
}
