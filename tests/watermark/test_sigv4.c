/*
 * Every request type the store sends, captured raw, must carry the signature botocore computes for
 * it (check_sigv4.py), with and without a session token.
 * Usage: test_watermark_sigv4 PYTHON CHECK_SIGV4_PY
 */
#include "watermark.h"

#include "scripted_server.h"
#include "test_support.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

static char *python, *checker;

static const char *const operations[] = {"CreateTable", "DescribeTable", "PutItem",
                                         "Query",       "Scan",          "Scan"};
#define OPERATIONS (sizeof operations / sizeof operations[0])

static int ignore_row(const struct watermark_row *row, void *context)
{
    (void)row;
    (void)context;
    return 0;
}

/* Sends one request of each type the store makes. */
static void send_every_request_type(const char *endpoint)
{
    setenv("AWS_ENDPOINT_URL_DYNAMODB", endpoint, 1);
    struct watermark_store *store = test_store_from_environment();
    char error[WATERMARK_REASON_SIZE];
    enum watermark_table_origin origin;
    assert_int_equal(watermark_ensure_table(store, &origin, error, sizeof error), WATERMARK_OK);
    assert_int_equal(watermark_advance(store,
                                       "NetXdQprcVkpaWU/tz1VSUr8wwNhLAzempoch5d6hLRiTh8Cjcjb",
                                       "attestation", 4242, 1, "vh2p9uxYMiDrQ8kD2HGPAKJSP4pQuMgf",
                                       error, sizeof error),
                     WATERMARK_OK);
    const struct watermark_filter both = {"NetXdQprcVkpaWU",
                                          "tz1VSUr8wwNhLAzempoch5d6hLRiTh8Cjcjb"};
    const struct watermark_filter chain = {"NetXdQprcVkpaWU", NULL};
    assert_int_equal(watermark_list(store, &both, ignore_row, NULL, error, sizeof error),
                     WATERMARK_OK);
    assert_int_equal(watermark_list(store, &chain, ignore_row, NULL, error, sizeof error),
                     WATERMARK_OK);
    assert_int_equal(watermark_list(store, NULL, ignore_row, NULL, error, sizeof error),
                     WATERMARK_OK);
    watermark_store_close(store);
}

static void save_requests(struct scripted_server *server, const char *directory)
{
    assert_int_equal(scripted_server_request_count(server), OPERATIONS);
    for (size_t i = 0; i < OPERATIONS; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%02zu.http", directory, i);
        FILE *file = fopen(path, "wb");
        assert_non_null(file);
        const char *request = scripted_server_request(server, i);
        assert_int_equal(fwrite(request, 1, strlen(request), file), strlen(request));
        fclose(file);
    }
}

/* PYTHON CHECK_SIGV4_PY DIR OPERATION...; its exit status. */
static int run_checker(const char *directory)
{
    char *argv[OPERATIONS + 4] = {python, checker, (char *)directory};
    for (size_t i = 0; i < OPERATIONS; i++)
        argv[3 + i] = (char *)operations[i];
    fflush(NULL);
    pid_t child = fork();
    if (child == 0) {
        execv(python, argv);
        _exit(127);
    }
    int status;
    assert_int_equal(waitpid(child, &status, 0), child);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static void remove_directory(const char *directory)
{
    for (size_t i = 0; i < OPERATIONS; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%02zu.http", directory, i);
        unlink(path);
    }
    rmdir(directory);
}

static void check_signatures(const char *session_token)
{
    setenv("AWS_REGION", "eu-west-1", 1);
    setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE", 1);
    /* '/', '+' and ':' in the secret: it must reach the signer whole. */
    setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfi:CYEXAMPLEKEY", 1);
    if (session_token != NULL)
        setenv("AWS_SESSION_TOKEN", session_token, 1);
    else
        unsetenv("AWS_SESSION_TOKEN");
    setenv("TZWM_TABLE", "watermark", 1);

    struct scripted_server *server = scripted_server_start();
    send_every_request_type(scripted_server_url(server));
    char directory[] = "/tmp/tzwm-sigv4.XXXXXX";
    assert_non_null(mkdtemp(directory));
    save_requests(server, directory);
    scripted_server_stop(server);
    int status = run_checker(directory);
    remove_directory(directory);
    assert_int_equal(status, 0);
}

static void test_signatures_without_session_token(void **state)
{
    (void)state;
    check_signatures(NULL);
}

static void test_signatures_with_session_token(void **state)
{
    (void)state;
    check_signatures("IQoJb3JpZ2luX2VjEXAMPLE/TOKEN+with=padding==");
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s PYTHON CHECK_SIGV4_PY\n", argv[0]);
        return 2;
    }
    python = argv[1];
    checker = argv[2];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signatures_without_session_token),
        cmocka_unit_test(test_signatures_with_session_token),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
