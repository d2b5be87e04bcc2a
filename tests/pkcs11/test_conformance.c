/*
 * The conformance group: run once against SoftHSM directly and once against tzwm over SoftHSM
 * (TZWM_TEST_MODULE says which). Both runs assert the very same answers, so a pass in both modes
 * means tzwm is transparent wherever it does not own the call.
 */
#include "support.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static struct client_module module;
static CK_FUNCTION_LIST_PTR p11;

static CK_BBOOL yes = CK_TRUE, no = CK_FALSE;

static int load_module(void **state)
{
    p11 = test_load(&module, test_env("TZWM_TEST_MODULE"));
    *state = p11; /* what test_initialize and test_finalize act on */
    return 0;
}

static int mutexes_created;

static CK_RV create_mutex(CK_VOID_PTR_PTR mutex)
{
    static int token;
    *mutex = &token;
    mutexes_created++;
    return CKR_OK;
}

static CK_RV mutex_op(CK_VOID_PTR mutex)
{
    (void)mutex;
    return CKR_OK;
}

static void initialize_arguments(void **state)
{
    CK_C_INITIALIZE_ARGS args;
    int reserved;
    (void)state;

    memset(&args, 0, sizeof args);
    args.pReserved = &reserved;
    assert_int_equal(p11->C_Initialize(&args), CKR_ARGUMENTS_BAD);

    memset(&args, 0, sizeof args);
    args.CreateMutex = create_mutex;
    assert_int_equal(p11->C_Initialize(&args), CKR_ARGUMENTS_BAD);
    args.DestroyMutex = mutex_op;
    args.LockMutex = mutex_op;
    assert_int_equal(p11->C_Initialize(&args), CKR_ARGUMENTS_BAD);
    assert_int_equal(p11->C_GetSlotList(CK_TRUE, NULL, &(CK_ULONG){0}),
                     CKR_CRYPTOKI_NOT_INITIALIZED);

    /* All four callbacks with OS locking allowed, then the flag alone, then NULL. */
    args.UnlockMutex = mutex_op;
    args.flags = CKF_OS_LOCKING_OK;
    assert_int_equal(p11->C_Initialize(&args), CKR_OK);
    assert_int_equal(p11->C_Initialize(&args), CKR_CRYPTOKI_ALREADY_INITIALIZED);
    assert_int_equal(p11->C_Finalize(NULL), CKR_OK);

    /* The callbacks alone: the module must use them, so they reach the real module. */
    args.flags = 0;
    mutexes_created = 0;
    assert_int_equal(p11->C_Initialize(&args), CKR_OK);
    assert_int_equal(p11->C_Finalize(NULL), CKR_OK);
    assert_true(mutexes_created > 0);

    memset(&args, 0, sizeof args);
    args.flags = CKF_OS_LOCKING_OK;
    assert_int_equal(p11->C_Initialize(&args), CKR_OK);
    assert_int_equal(p11->C_Finalize(NULL), CKR_OK);

    assert_int_equal(p11->C_Initialize(NULL), CKR_OK);
    assert_int_equal(p11->C_Initialize(NULL), CKR_CRYPTOKI_ALREADY_INITIALIZED);
    assert_int_equal(p11->C_Finalize(&reserved), CKR_ARGUMENTS_BAD);
    assert_int_equal(p11->C_Finalize(NULL), CKR_OK);
    assert_int_equal(p11->C_Finalize(NULL), CKR_CRYPTOKI_NOT_INITIALIZED);
}

static void calls_before_initialize(void **state)
{
    CK_INFO info;
    CK_ULONG count = 0;
    (void)state;

    assert_int_equal(p11->C_GetInfo(&info), CKR_CRYPTOKI_NOT_INITIALIZED);
    assert_int_equal(p11->C_GetSlotList(CK_TRUE, NULL, &count), CKR_CRYPTOKI_NOT_INITIALIZED);
    assert_int_equal(p11->C_Finalize(NULL), CKR_CRYPTOKI_NOT_INITIALIZED);
}

static void reinitialize_after_finalize(void **state)
{
    CK_SESSION_HANDLE session;
    CK_SESSION_INFO info;
    (void)state;

    for (int cycle = 0; cycle < 3; cycle++) {
        assert_int_equal(p11->C_Initialize(NULL), CKR_OK);
        session = test_session(p11, true);
        assert_int_equal(p11->C_GetSessionInfo(session, &info), CKR_OK);
        assert_int_equal(info.state, CKS_RW_USER_FUNCTIONS);
        assert_int_equal(p11->C_Finalize(NULL), CKR_OK);
        assert_int_equal(p11->C_GetSessionInfo(session, &info), CKR_CRYPTOKI_NOT_INITIALIZED);
    }
}

static void function_list_and_info(void **state)
{
    CK_FUNCTION_LIST_PTR again = NULL;
    CK_INFO info;
    (void)state;

    assert_int_equal(p11->version.major, 2);
    assert_int_equal(p11->version.minor, 40);
    assert_int_equal(p11->C_GetFunctionList(&again), CKR_OK);
    assert_ptr_equal(again, p11);
    assert_int_equal(p11->C_GetInfo(NULL), CKR_ARGUMENTS_BAD);
    assert_int_equal(p11->C_GetInfo(&info), CKR_OK);
    assert_int_equal(info.cryptokiVersion.major, 2);
    assert_int_equal(info.cryptokiVersion.minor, 40);
}

static void slot_and_token_info(void **state)
{
    CK_SLOT_ID slot = test_slot(p11);
    CK_SLOT_INFO slot_info;
    CK_TOKEN_INFO token;
    char text[33];
    (void)state;

    assert_int_equal(p11->C_GetSlotInfo(slot, &slot_info), CKR_OK);
    assert_true(slot_info.flags & CKF_TOKEN_PRESENT);
    assert_int_equal(p11->C_GetTokenInfo(slot, &token), CKR_OK);
    assert_string_equal(client_field(token.label, sizeof token.label, text, sizeof text),
                        test_env("TZWM_TEST_TOKEN"));
    assert_string_equal(
        client_field(token.manufacturerID, sizeof token.manufacturerID, text, sizeof text),
        "SoftHSM project");
    assert_int_equal(
        token.flags &
            (CKF_TOKEN_INITIALIZED | CKF_USER_PIN_INITIALIZED | CKF_LOGIN_REQUIRED | CKF_RNG),
        CKF_TOKEN_INITIALIZED | CKF_USER_PIN_INITIALIZED | CKF_LOGIN_REQUIRED | CKF_RNG);
    assert_int_equal(p11->C_GetSlotInfo(0xdeadbeef, &slot_info), CKR_SLOT_ID_INVALID);
    assert_int_equal(p11->C_GetTokenInfo(0xdeadbeef, &token), CKR_SLOT_ID_INVALID);
}

static bool has_mechanism(const CK_MECHANISM_TYPE *list, CK_ULONG count, CK_MECHANISM_TYPE type)
{
    for (CK_ULONG i = 0; i < count; i++) {
        if (list[i] == type)
            return true;
    }
    return false;
}

static void mechanisms(void **state)
{
    CK_SLOT_ID slot = test_slot(p11);
    CK_MECHANISM_TYPE list[256];
    CK_ULONG count = 0, small = 1;
    CK_MECHANISM_INFO info;
    (void)state;

    assert_int_equal(p11->C_GetMechanismList(slot, NULL, &count), CKR_OK);
    assert_true(count > 1 && count <= 256);
    assert_int_equal(p11->C_GetMechanismList(slot, list, &small), CKR_BUFFER_TOO_SMALL);
    assert_int_equal(small, count);
    assert_int_equal(p11->C_GetMechanismList(slot, list, &count), CKR_OK);
    assert_true(has_mechanism(list, count, CKM_EDDSA));
    assert_true(has_mechanism(list, count, CKM_ECDSA));
    assert_true(has_mechanism(list, count, CKM_EC_KEY_PAIR_GEN));
    assert_true(has_mechanism(list, count, CKM_EC_EDWARDS_KEY_PAIR_GEN));

    assert_int_equal(p11->C_GetMechanismInfo(slot, CKM_ECDSA, &info), CKR_OK);
    assert_true(info.flags & CKF_SIGN);
    assert_true(info.flags & CKF_VERIFY);
    assert_int_equal(p11->C_GetMechanismInfo(slot, CKM_EDDSA, &info), CKR_OK);
    assert_true(info.flags & CKF_SIGN);
    assert_int_equal(p11->C_GetMechanismInfo(slot, 0x7fffff00UL, &info), CKR_MECHANISM_INVALID);
}

static void sessions(void **state)
{
    CK_SLOT_ID slot = test_slot(p11);
    CK_SESSION_HANDLE session, second;
    CK_SESSION_INFO info;
    (void)state;

    assert_int_equal(p11->C_OpenSession(slot, 0, NULL, NULL, &session),
                     CKR_SESSION_PARALLEL_NOT_SUPPORTED);
    assert_int_equal(p11->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &session), CKR_OK);
    assert_int_equal(p11->C_GetSessionInfo(session, &info), CKR_OK);
    assert_int_equal(info.slotID, slot);
    assert_int_equal(info.state, CKS_RO_PUBLIC_SESSION);
    assert_int_equal(
        p11->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &second), CKR_OK);
    assert_int_equal(p11->C_GetSessionInfo(second, &info), CKR_OK);
    assert_int_equal(info.state, CKS_RW_PUBLIC_SESSION);
    assert_int_equal(p11->C_CloseSession(session), CKR_OK);
    assert_int_equal(p11->C_GetSessionInfo(session, &info), CKR_SESSION_HANDLE_INVALID);
    assert_int_equal(p11->C_CloseSession(session), CKR_SESSION_HANDLE_INVALID);
    assert_int_equal(p11->C_CloseAllSessions(slot), CKR_OK);
    assert_int_equal(p11->C_GetSessionInfo(second, &info), CKR_SESSION_HANDLE_INVALID);
}

static void login(void **state)
{
    const char *pin = test_env("TZWM_TEST_PIN");
    CK_SESSION_HANDLE session = test_session(p11, false);
    CK_SESSION_INFO info;
    (void)state;

    assert_int_equal(p11->C_Login(session, CKU_USER, (CK_UTF8CHAR_PTR) "0000", 4),
                     CKR_PIN_INCORRECT);
    /* SoftHSM answers a logout without login with CKR_OK; tzwm must answer the same. */
    assert_int_equal(p11->C_Logout(session), CKR_OK);
    assert_int_equal(p11->C_Login(session, CKU_USER, (CK_UTF8CHAR_PTR)pin, (CK_ULONG)strlen(pin)),
                     CKR_OK);
    assert_int_equal(p11->C_GetSessionInfo(session, &info), CKR_OK);
    assert_int_equal(info.state, CKS_RW_USER_FUNCTIONS);
    assert_int_equal(p11->C_Login(session, CKU_USER, (CK_UTF8CHAR_PTR)pin, (CK_ULONG)strlen(pin)),
                     CKR_USER_ALREADY_LOGGED_IN);
    assert_int_equal(p11->C_Logout(session), CKR_OK);
    assert_int_equal(p11->C_GetSessionInfo(session, &info), CKR_OK);
    assert_int_equal(info.state, CKS_RW_PUBLIC_SESSION);
    assert_int_equal(p11->C_CloseSession(session), CKR_OK);
}

/* The token that make-token builds: label, CKA_ID, key type and curve of each pair. */
static const struct {
    const char *label;
    CK_BYTE id;
    CK_KEY_TYPE type;
    const char *params; /* CKA_EC_PARAMS, DER */
    CK_ULONG params_len;
} baker_keys[] = {
    {"baker-ed25519", 0x01, CKK_EC_EDWARDS,
     "\x13\x0c"
     "edwards25519",
     14},
    {"baker-secp256k1", 0x02, CKK_EC, "\x06\x05\x2b\x81\x04\x00\x0a", 7},
    {"baker-p256", 0x03, CKK_EC, "\x06\x08\x2a\x86\x48\xce\x3d\x03\x01\x07", 10},
};

static void objects(void **state)
{
    CK_SESSION_HANDLE session = test_session(p11, false);
    CK_OBJECT_CLASS private_class = CKO_PRIVATE_KEY, public_class = CKO_PUBLIC_KEY;
    CK_ATTRIBUTE private_keys = {CKA_CLASS, &private_class, sizeof private_class};
    CK_OBJECT_HANDLE found[8];
    const char *pin = test_env("TZWM_TEST_PIN");
    (void)state;

    /* Private objects are invisible before login. */
    assert_int_equal(test_find(p11, session, &private_keys, 1, found, 8), 0);
    assert_int_equal(p11->C_Login(session, CKU_USER, (CK_UTF8CHAR_PTR)pin, (CK_ULONG)strlen(pin)),
                     CKR_OK);
    assert_int_equal(test_find(p11, session, &private_keys, 1, found, 8), 3);

    for (size_t i = 0; i < sizeof baker_keys / sizeof baker_keys[0]; i++) {
        CK_ATTRIBUTE by_label[] = {
            {CKA_CLASS, &private_class, sizeof private_class},
            {CKA_LABEL, (void *)baker_keys[i].label, (CK_ULONG)strlen(baker_keys[i].label)},
        };
        CK_OBJECT_HANDLE key, public_key;
        CK_BYTE id[16], params[64], value[64];
        CK_BBOOL flag;
        CK_KEY_TYPE type;
        CK_ATTRIBUTE secret = {CKA_VALUE, value, sizeof value};

        assert_int_equal(test_find(p11, session, by_label, 2, &key, 1), 1);
        assert_int_equal(test_attribute(p11, session, key, CKA_ID, id, sizeof id), 1);
        assert_int_equal(id[0], baker_keys[i].id);
        test_attribute(p11, session, key, CKA_KEY_TYPE, &type, sizeof type);
        assert_int_equal(type, baker_keys[i].type);
        test_attribute(p11, session, key, CKA_SENSITIVE, &flag, sizeof flag);
        assert_int_equal(flag, CK_TRUE);
        test_attribute(p11, session, key, CKA_EXTRACTABLE, &flag, sizeof flag);
        assert_int_equal(flag, CK_FALSE);
        test_attribute(p11, session, key, CKA_SIGN, &flag, sizeof flag);
        assert_int_equal(flag, CK_TRUE);
        assert_int_equal(p11->C_GetAttributeValue(session, key, &secret, 1),
                         CKR_ATTRIBUTE_SENSITIVE);

        /* The public half shares CKA_ID and CKA_LABEL and carries the curve. */
        by_label[0].pValue = &public_class;
        assert_int_equal(test_find(p11, session, by_label, 2, &public_key, 1), 1);
        assert_int_equal(test_attribute(p11, session, public_key, CKA_ID, id, sizeof id), 1);
        assert_int_equal(id[0], baker_keys[i].id);
        assert_int_equal(
            test_attribute(p11, session, public_key, CKA_EC_PARAMS, params, sizeof params),
            baker_keys[i].params_len);
        assert_memory_equal(params, baker_keys[i].params, baker_keys[i].params_len);
    }
    assert_int_equal(p11->C_CloseSession(session), CKR_OK);
}

/* A session key pair: generated, read, used to verify, destroyed. (Signing is tzwm's own path,
 * not a pass-through: the gate's tests sign through it and verify with the token.) */
static void generate_and_verify(CK_SESSION_HANDLE session, CK_MECHANISM_TYPE generate,
                                CK_MECHANISM_TYPE verify, const CK_BYTE *params,
                                CK_ULONG params_len)
{
    CK_MECHANISM generate_mechanism = {generate, NULL, 0}, verify_mechanism = {verify, NULL, 0};
    CK_ATTRIBUTE public_template[] = {
        {CKA_EC_PARAMS, (void *)params, params_len},
        {CKA_VERIFY, &yes, sizeof yes},
        {CKA_TOKEN, &no, sizeof no},
    };
    CK_ATTRIBUTE private_template[] = {
        {CKA_SIGN, &yes, sizeof yes},
        {CKA_SENSITIVE, &yes, sizeof yes},
        {CKA_EXTRACTABLE, &no, sizeof no},
        {CKA_TOKEN, &no, sizeof no},
    };
    CK_OBJECT_HANDLE public_key, private_key;
    CK_BYTE data[32], signature[64], point[128];
    CK_BBOOL flag;

    memset(data, 0x5a, sizeof data);
    memset(signature, 0x17, sizeof signature);
    assert_int_equal(p11->C_GenerateKeyPair(session, &generate_mechanism, public_template, 3,
                                            private_template, 4, &public_key, &private_key),
                     CKR_OK);
    assert_true(test_attribute(p11, session, public_key, CKA_EC_POINT, point, sizeof point) > 32);
    test_attribute(p11, session, private_key, CKA_SIGN, &flag, sizeof flag);
    assert_int_equal(flag, CK_TRUE);
    assert_int_equal(p11->C_VerifyInit(session, &verify_mechanism, public_key), CKR_OK);
    assert_int_equal(p11->C_Verify(session, data, sizeof data, signature, sizeof signature),
                     CKR_SIGNATURE_INVALID);
    assert_int_equal(p11->C_DestroyObject(session, private_key), CKR_OK);
    assert_int_equal(p11->C_DestroyObject(session, public_key), CKR_OK);
    assert_int_equal(p11->C_DestroyObject(session, public_key), CKR_OBJECT_HANDLE_INVALID);
}

static void key_generation(void **state)
{
    CK_SESSION_HANDLE session = test_session(p11, true);
    (void)state;

    generate_and_verify(session, CKM_EC_KEY_PAIR_GEN, CKM_ECDSA,
                        (const CK_BYTE *)baker_keys[2].params, baker_keys[2].params_len);
    generate_and_verify(session, CKM_EC_KEY_PAIR_GEN, CKM_ECDSA,
                        (const CK_BYTE *)baker_keys[1].params, baker_keys[1].params_len);
    generate_and_verify(session, CKM_EC_EDWARDS_KEY_PAIR_GEN, CKM_EDDSA,
                        (const CK_BYTE *)baker_keys[0].params, baker_keys[0].params_len);
    assert_int_equal(p11->C_CloseSession(session), CKR_OK);
}

/* In the child: nothing works until C_Initialize, then everything does. While *forks_left, it
 * initializes with the application's mutex callbacks and forks again, so that its own child
 * inherits an initialization that uses them. Exit status = the first check that failed. */
static int forked_child(void *forks_left)
{
    CK_C_INITIALIZE_ARGS callbacks = {create_mutex, mutex_op, mutex_op, mutex_op, 0, NULL};
    int left = *(const int *)forks_left, next = left - 1;
    CK_SESSION_HANDLE session;
    CK_ULONG count = 0;
    CK_SLOT_ID slot;
    CK_INFO info;
    const char *pin = getenv("TZWM_TEST_PIN");

    if (p11->C_GetSlotList(CK_TRUE, NULL, &count) != CKR_CRYPTOKI_NOT_INITIALIZED)
        return 1;
    if (p11->C_GetInfo(&info) != CKR_CRYPTOKI_NOT_INITIALIZED)
        return 2;
    if (p11->C_Finalize(NULL) != CKR_CRYPTOKI_NOT_INITIALIZED)
        return 3;
    if (p11->C_Initialize(left > 0 ? &callbacks : NULL) != CKR_OK)
        return 4;
    if (client_find_slot(p11, getenv("TZWM_TEST_TOKEN"), &slot) != CKR_OK)
        return 5;
    if (p11->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &session) != CKR_OK)
        return 6;
    if (p11->C_Login(session, CKU_USER, (CK_UTF8CHAR_PTR)pin, (CK_ULONG)strlen(pin)) != CKR_OK)
        return 7;
    if (left > 0 && test_in_child(forked_child, &next) != 0)
        return 9;
    if (p11->C_Finalize(NULL) != CKR_OK)
        return 8;
    return 0;
}

static void fork_then_reinitialize(void **state)
{
    CK_SESSION_HANDLE session = test_session(p11, true);
    CK_SESSION_INFO info;
    int forks_left = 1; /* a child, and a grandchild */
    (void)state;

    assert_int_equal(test_in_child(forked_child, &forks_left), 0);
    /* The parent is untouched by what the child did. */
    assert_int_equal(p11->C_GetSessionInfo(session, &info), CKR_OK);
    assert_int_equal(info.state, CKS_RW_USER_FUNCTIONS);
    assert_int_equal(p11->C_CloseSession(session), CKR_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(calls_before_initialize),
        cmocka_unit_test(initialize_arguments),
        cmocka_unit_test(reinitialize_after_finalize),
        cmocka_unit_test_setup_teardown(function_list_and_info, test_initialize, test_finalize),
        cmocka_unit_test_setup_teardown(slot_and_token_info, test_initialize, test_finalize),
        cmocka_unit_test_setup_teardown(mechanisms, test_initialize, test_finalize),
        cmocka_unit_test_setup_teardown(sessions, test_initialize, test_finalize),
        cmocka_unit_test_setup_teardown(login, test_initialize, test_finalize),
        cmocka_unit_test_setup_teardown(objects, test_initialize, test_finalize),
        cmocka_unit_test_setup_teardown(key_generation, test_initialize, test_finalize),
        cmocka_unit_test_setup_teardown(fork_then_reinitialize, test_initialize, test_finalize),
    };

    /* The module stays loaded until exit, so that LeakSanitizer can name the token's frames in
     * what SoftHSM leaks (and suppress them) instead of reporting unmapped code. */
    return cmocka_run_group_tests_name("conformance", tests, load_module, NULL);
}
