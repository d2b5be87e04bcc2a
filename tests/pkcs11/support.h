/* What the PKCS#11 tests share: the module under test and the token that with-token made. */
#ifndef TZWM_TESTS_PKCS11_SUPPORT_H
#define TZWM_TESTS_PKCS11_SUPPORT_H

#include "cli.h"

#include <p11-kit/pkcs11.h>
#include <stdbool.h>

/* An environment variable that the test cannot run without. */
const char *test_env(const char *name);

/* Loads the module at path (fails the test when it cannot). */
CK_FUNCTION_LIST_PTR test_load(struct client_module *module, const char *path);

/* cmocka fixtures: C_Initialize(NULL) and C_Finalize(NULL) on the module the group setup put in
 * its state (tests start with the group's state). */
int test_initialize(void **state);
int test_finalize(void **state);

/* The slot of the test token (TZWM_TEST_TOKEN). */
CK_SLOT_ID test_slot(CK_FUNCTION_LIST_PTR p11);

/* A read-write session on the test token, logged in as the user when login is true. */
CK_SESSION_HANDLE test_session(CK_FUNCTION_LIST_PTR p11, bool login);

/* Up to max objects matching the template; the count found. */
CK_ULONG test_find(CK_FUNCTION_LIST_PTR p11, CK_SESSION_HANDLE session, CK_ATTRIBUTE *template,
                   CK_ULONG template_count, CK_OBJECT_HANDLE *objects, CK_ULONG max);

/* The value of one attribute into buffer; its length. Fails the test when it is unavailable. */
CK_ULONG test_attribute(CK_FUNCTION_LIST_PTR p11, CK_SESSION_HANDLE session,
                        CK_OBJECT_HANDLE object, CK_ATTRIBUTE_TYPE type, void *buffer,
                        CK_ULONG size);

/* Runs child() in a forked process and returns its exit status (0 = its checks passed). The
 * child must report through its exit status: cmocka's assertions do not cross fork(). */
int test_in_child(int (*child)(void *), void *argument);

/* support_log.c: the whole file as a string (fails the test when it cannot be read); free() it. */
char *test_read_file(const char *path);
/* Fails the test when text is (expected = false) or is not (expected = true) in the file. */
void test_assert_log_contains(const char *path, const char *text, bool expected);

#endif
