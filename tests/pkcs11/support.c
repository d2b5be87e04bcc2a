#include "support.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

const char *test_env(const char *name)
{
    const char *value = getenv(name);

    if (value == NULL || *value == '\0')
        fail_msg("the environment variable %s is not set (run the tests through ctest)", name);
    return value;
}

CK_FUNCTION_LIST_PTR test_load(struct client_module *module, const char *path)
{
    char error[1024];

    if (client_module_load(module, path, error, sizeof error) != 0)
        fail_msg("%s", error);
    return module->p11;
}

int test_initialize(void **state)
{
    CK_FUNCTION_LIST_PTR p11 = *state;

    assert_int_equal(p11->C_Initialize(NULL), CKR_OK);
    return 0;
}

int test_finalize(void **state)
{
    CK_FUNCTION_LIST_PTR p11 = *state;

    assert_int_equal(p11->C_Finalize(NULL), CKR_OK);
    return 0;
}

CK_SLOT_ID test_slot(CK_FUNCTION_LIST_PTR p11)
{
    CK_SLOT_ID slot = 0;

    assert_int_equal(client_find_slot(p11, test_env("TZWM_TEST_TOKEN"), &slot), CKR_OK);
    return slot;
}

CK_SESSION_HANDLE test_session(CK_FUNCTION_LIST_PTR p11, bool login)
{
    const char *pin = test_env("TZWM_TEST_PIN");
    CK_SESSION_HANDLE session = CK_INVALID_HANDLE;

    assert_int_equal(p11->C_OpenSession(test_slot(p11), CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL,
                                        NULL, &session),
                     CKR_OK);
    if (login)
        assert_int_equal(
            p11->C_Login(session, CKU_USER, (CK_UTF8CHAR_PTR)pin, (CK_ULONG)strlen(pin)), CKR_OK);
    return session;
}

CK_ULONG test_find(CK_FUNCTION_LIST_PTR p11, CK_SESSION_HANDLE session, CK_ATTRIBUTE *template,
                   CK_ULONG template_count, CK_OBJECT_HANDLE *objects, CK_ULONG max)
{
    CK_ULONG count = 0;

    assert_int_equal(p11->C_FindObjectsInit(session, template, template_count), CKR_OK);
    assert_int_equal(p11->C_FindObjects(session, objects, max, &count), CKR_OK);
    assert_int_equal(p11->C_FindObjectsFinal(session), CKR_OK);
    return count;
}

CK_ULONG test_attribute(CK_FUNCTION_LIST_PTR p11, CK_SESSION_HANDLE session,
                        CK_OBJECT_HANDLE object, CK_ATTRIBUTE_TYPE type, void *buffer,
                        CK_ULONG size)
{
    CK_ATTRIBUTE attribute = {type, buffer, size};

    assert_int_equal(p11->C_GetAttributeValue(session, object, &attribute, 1), CKR_OK);
    return attribute.ulValueLen;
}

int test_in_child(int (*child)(void *), void *argument)
{
    int status = 0;
    pid_t pid = fork();

    assert_true(pid >= 0);
    if (pid == 0)
        _exit(child(argument));
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
