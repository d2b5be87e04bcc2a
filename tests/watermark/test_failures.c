/*
 * What the store does when DynamoDB misbehaves: retried failures, refusals never retried,
 * unavailable within the deadline when the store is down or silent, and no secret in any reason.
 */
#define TZWM_WATERMARK_INTERNAL
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

#define SECRET_KEY    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY"
#define SESSION_TOKEN "FQoGZXIvYXdzEXAMPLESESSIONTOKEN"
#define TIMEOUT_MS    1000
/* The contract is "unavailable by the deadline"; this much slack covers scheduling on a busy
 * machine and the sanitizers. */
#define MARGIN_MS 700

static struct watermark_store *store_at(const char *endpoint)
{
    setenv("AWS_ENDPOINT_URL_DYNAMODB", endpoint, 1);
    setenv("AWS_REGION", "eu-west-1", 1);
    setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
    setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY, 1);
    setenv("AWS_SESSION_TOKEN", SESSION_TOKEN, 1);
    setenv("TZWM_TIMEOUT_MS", "1000", 1);
    setenv("TZWM_TABLE", "watermark", 1);
    return test_store_from_environment();
}

static void assert_no_secret(const char *reason)
{
    assert_null(strstr(reason, SECRET_KEY));
    assert_null(strstr(reason, SESSION_TOKEN));
}

/* One advance against the script: its result, how many requests it took, its reason. */
static enum watermark_result advance_with(const struct scripted_reply *script, size_t count,
                                          size_t *requests, char *reason)
{
    struct scripted_server *server = scripted_server_start();
    scripted_server_script(server, script, count);
    struct watermark_store *store = store_at(scripted_server_url(server));
    enum watermark_result result = watermark_advance(store, "NetXdQprcVkpaWU/tz1a", "block", 7, 0,
                                                     "vh1", reason, WATERMARK_REASON_SIZE);
    *requests = scripted_server_request_count(server);
    watermark_store_close(store);
    scripted_server_stop(server);
    assert_no_secret(reason);
    return result;
}

#define ERROR_BODY(type) "{\"__type\":\"com.amazonaws.dynamodb.v20120810#" type "\"}"

static void test_retries_5xx_throttling_and_lost_connections(void **state)
{
    (void)state;
    const struct scripted_reply script[] = {
        {SCRIPTED_ANSWER, 500, "{\"__type\":\"InternalServerError\"}"},
        {SCRIPTED_ANSWER, 503, ""},
        {SCRIPTED_ANSWER, 400, ERROR_BODY("ProvisionedThroughputExceededException")},
        {SCRIPTED_ANSWER, 400, ERROR_BODY("ThrottlingException")},
        /* Without the namespace, as some services send it. */
        {SCRIPTED_ANSWER, 400, "{\"__type\":\"RequestLimitExceeded\"}"},
        {SCRIPTED_CLOSE, 0, NULL},
        {SCRIPTED_ANSWER, 200, "{}"},
    };
    size_t requests;
    char reason[WATERMARK_REASON_SIZE];
    assert_int_equal(advance_with(script, 7, &requests, reason), WATERMARK_OK);
    assert_int_equal(requests, 7);
}

static void test_refusal_is_never_retried(void **state)
{
    (void)state;
    /* dynalite's spelling of the message key, then AWS's. */
    const struct scripted_reply dynalite[] = {
        {SCRIPTED_ANSWER, 400,
         "{\"__type\":\"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException\","
         "\"message\":\"The conditional request failed\"}"},
    };
    const struct scripted_reply aws[] = {
        {SCRIPTED_ANSWER, 400,
         "{\"__type\":\"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException\","
         "\"Message\":\"The conditional request failed\"}"},
    };
    size_t requests;
    char reason[WATERMARK_REASON_SIZE];
    assert_int_equal(advance_with(dynalite, 1, &requests, reason), WATERMARK_REFUSED);
    assert_int_equal(requests, 1);
    assert_non_null(strstr(reason, "refused"));
    assert_int_equal(advance_with(aws, 1, &requests, reason), WATERMARK_REFUSED);
    assert_int_equal(requests, 1);
}

static void test_other_errors_are_unavailable_at_once(void **state)
{
    (void)state;
    static const char *const bodies[] = {
        ERROR_BODY("ValidationException"),
        ERROR_BODY("ResourceNotFoundException"),
        "{\"__type\":\"com.amazon.coral.service#AccessDeniedException\",\"Message\":\"no\"}",
        "{\"__type\":\"com.amazon.coral.service#UnrecognizedClientException\"}",
        "not json",
        "",
    };
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        const struct scripted_reply script[] = {{SCRIPTED_ANSWER, 400, bodies[i]}};
        size_t requests;
        char reason[WATERMARK_REASON_SIZE];
        assert_int_equal(advance_with(script, 1, &requests, reason), WATERMARK_UNAVAILABLE);
        assert_int_equal(requests, 1);
        assert_non_null(strstr(reason, "HTTP 400"));
    }
    /* The reason names the error type and carries the message, whichever its key. */
    const struct scripted_reply denied[] = {{SCRIPTED_ANSWER, 400, bodies[2]}};
    size_t requests;
    char reason[WATERMARK_REASON_SIZE];
    advance_with(denied, 1, &requests, reason);
    assert_string_equal(reason, "DynamoDB PutItem: HTTP 400 AccessDeniedException: no");
}

/* Only an HTTP 200 with a JSON object that names no error is a success. */
static void test_malformed_success_is_unavailable(void **state)
{
    (void)state;
    static const char *const bodies[] = {
        "",
        "{",
        "[]",
        "\"ok\"",
        "{} trailing",
        "null",
        "{}{}",
        "{\"__type\":\"com.amazonaws.dynamodb.v20120810#InternalServerError\"}",
        "{\"__type\":\"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException\","
        "\"message\":\"The conditional request failed\"}",
    };
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        const struct scripted_reply script[] = {{SCRIPTED_ANSWER, 200, bodies[i]}};
        size_t requests;
        char reason[WATERMARK_REASON_SIZE];
        enum watermark_result result = advance_with(script, 1, &requests, reason);
        if (result != WATERMARK_UNAVAILABLE)
            fail_msg("200 with '%s': %s", bodies[i], watermark_result_name(result));
    }
}

static void assert_unavailable_by_deadline(const char *endpoint, const char *what)
{
    struct watermark_store *store = store_at(endpoint);
    char reason[WATERMARK_REASON_SIZE];
    int64_t start = watermark_now_ms();
    enum watermark_result result = watermark_advance(store, "NetXdQprcVkpaWU/tz1a", "block", 7, 0,
                                                     "vh1", reason, sizeof reason);
    int64_t elapsed = watermark_now_ms() - start;
    watermark_store_close(store);
    assert_int_equal(result, WATERMARK_UNAVAILABLE);
    if (elapsed > TIMEOUT_MS + MARGIN_MS)
        fail_msg("%s: unavailable after %lld ms, deadline %d ms", what, (long long)elapsed,
                 TIMEOUT_MS);
    assert_no_secret(reason);
    print_message("%s: %s after %lld ms\n", what, reason, (long long)elapsed);
}

static void test_server_errors_until_the_deadline(void **state)
{
    (void)state;
    struct scripted_server *server = scripted_server_start();
    struct scripted_reply script[32];
    for (size_t i = 0; i < 32; i++)
        script[i] = (struct scripted_reply){SCRIPTED_ANSWER, 500, "{}"};
    scripted_server_script(server, script, 32);
    assert_unavailable_by_deadline(scripted_server_url(server), "HTTP 500 forever");
    /* It kept trying until the deadline, backing off between tries. */
    assert_in_range(scripted_server_request_count(server), 3, 31);
    scripted_server_stop(server);
}

static void test_silent_server(void **state)
{
    (void)state;
    struct scripted_server *server = scripted_server_start();
    const struct scripted_reply script[] = {{SCRIPTED_SILENT, 0, NULL}, {SCRIPTED_SILENT, 0, NULL}};
    scripted_server_script(server, script, 2);
    assert_unavailable_by_deadline(scripted_server_url(server), "silent server");
    scripted_server_stop(server);
}

/* A port that accepts connections (the kernel's backlog) and never reads them. */
static void test_listener_that_never_accepts(void **state)
{
    (void)state;
    char url[64];
    int listener = test_loopback_socket(true, url, sizeof url);
    assert_unavailable_by_deadline(url, "listener that never accepts");
    close(listener);
}

/* Nothing listens: every connection is refused at once, retried until the deadline. */
static void test_nothing_listening(void **state)
{
    (void)state;
    char url[64];
    int probe = test_loopback_socket(false, url, sizeof url);
    assert_unavailable_by_deadline(url, "nothing listening");
    close(probe);
}

static enum watermark_result ensure_with(const struct scripted_reply *script, size_t count,
                                         enum watermark_table_origin *origin, char *reason)
{
    struct scripted_server *server = scripted_server_start();
    scripted_server_script(server, script, count);
    struct watermark_store *store = store_at(scripted_server_url(server));
    enum watermark_result result =
        watermark_ensure_table(store, origin, reason, WATERMARK_REASON_SIZE);
    watermark_store_close(store);
    scripted_server_stop(server);
    assert_no_secret(reason);
    return result;
}

static void test_ensure_table_when_create_is_denied(void **state)
{
    (void)state;
    enum watermark_table_origin origin;
    char reason[WATERMARK_REASON_SIZE];
    const char *denied = "{\"__type\":\"com.amazon.coral.service#AccessDeniedException\","
                         "\"Message\":\"not authorized to perform: dynamodb:CreateTable\"}";

    /* Denied, but the table is there and ACTIVE: use it. */
    const struct scripted_reply present[] = {
        {SCRIPTED_ANSWER, 400, denied},
        {SCRIPTED_ANSWER, 200, "{\"Table\":{\"TableStatus\":\"ACTIVE\"}}"},
    };
    assert_int_equal(ensure_with(present, 2, &origin, reason), WATERMARK_OK);
    assert_int_equal(origin, WATERMARK_TABLE_EXISTED);

    /* Denied, and no table: unavailable, saying both. */
    const struct scripted_reply absent[] = {
        {SCRIPTED_ANSWER, 400, denied},
        {SCRIPTED_ANSWER, 400, ERROR_BODY("ResourceNotFoundException")},
    };
    assert_int_equal(ensure_with(absent, 2, &origin, reason), WATERMARK_UNAVAILABLE);
    assert_non_null(strstr(reason, "ResourceNotFoundException"));
    assert_non_null(strstr(reason, "AccessDeniedException"));

    /* Any other CreateTable error: unavailable. */
    const struct scripted_reply invalid[] = {
        {SCRIPTED_ANSWER, 400, ERROR_BODY("ValidationException")},
    };
    assert_int_equal(ensure_with(invalid, 1, &origin, reason), WATERMARK_UNAVAILABLE);
}

static void test_ensure_table_waits_until_active(void **state)
{
    (void)state;
    enum watermark_table_origin origin;
    char reason[WATERMARK_REASON_SIZE];
    const struct scripted_reply creating[] = {
        {SCRIPTED_ANSWER, 200, "{\"TableDescription\":{\"TableStatus\":\"CREATING\"}}"},
        {SCRIPTED_ANSWER, 200, "{\"Table\":{\"TableStatus\":\"CREATING\"}}"},
        {SCRIPTED_ANSWER, 200, "{\"Table\":{\"TableStatus\":\"CREATING\"}}"},
        {SCRIPTED_ANSWER, 200, "{\"Table\":{\"TableStatus\":\"ACTIVE\"}}"},
    };
    assert_int_equal(ensure_with(creating, 4, &origin, reason), WATERMARK_OK);
    assert_int_equal(origin, WATERMARK_TABLE_CREATED);

    /* Already there (and another process still creating it). */
    const struct scripted_reply in_use[] = {
        {SCRIPTED_ANSWER, 400, ERROR_BODY("ResourceInUseException")},
        {SCRIPTED_ANSWER, 200, "{\"Table\":{\"TableStatus\":\"CREATING\"}}"},
        {SCRIPTED_ANSWER, 200, "{\"Table\":{\"TableStatus\":\"ACTIVE\"}}"},
    };
    assert_int_equal(ensure_with(in_use, 3, &origin, reason), WATERMARK_OK);
    assert_int_equal(origin, WATERMARK_TABLE_EXISTED);
}

static int count_row(const struct watermark_row *row, void *context)
{
    (void)row;
    (*(int *)context)++;
    return 0;
}

/* Pages are followed by their LastEvaluatedKey; a malformed row is an error, not skipped. */
static void test_list_pages_and_malformed_rows(void **state)
{
    (void)state;
    const char *row = "{\"idx\":{\"S\":\"NetA/tz1a\"},\"request\":{\"S\":\"block\"},"
                      "\"lvl\":{\"N\":\"5\"},\"round\":{\"N\":\"0\"},\"digest\":{\"S\":\"vh1\"}}";
    char first[512], second[512];
    snprintf(first, sizeof first,
             "{\"Items\":[%s,%s],\"LastEvaluatedKey\":{\"idx\":{\"S\":\"NetA/tz1a\"},"
             "\"request\":{\"S\":\"block\"}}}",
             row, row);
    snprintf(second, sizeof second, "{\"Items\":[%s]}", row);
    struct scripted_server *server = scripted_server_start();
    const struct scripted_reply pages[] = {
        {SCRIPTED_ANSWER, 200, first},
        {SCRIPTED_ANSWER, 200, second},
    };
    scripted_server_script(server, pages, 2);
    struct watermark_store *store = store_at(scripted_server_url(server));
    char reason[WATERMARK_REASON_SIZE];
    int rows = 0;
    assert_int_equal(watermark_list(store, NULL, count_row, &rows, reason, sizeof reason),
                     WATERMARK_OK);
    assert_int_equal(rows, 3);
    assert_int_equal(scripted_server_request_count(server), 2);
    assert_non_null(strstr(scripted_server_request(server, 1), "\"ExclusiveStartKey\""));

    const struct scripted_reply malformed[] = {
        {SCRIPTED_ANSWER, 200,
         "{\"Items\":[{\"idx\":{\"S\":\"NetA/tz1a\"},\"request\":{\"S\":\"block\"},"
         "\"lvl\":{\"S\":\"5\"},\"round\":{\"N\":\"0\"},\"digest\":{\"S\":\"vh1\"}}]}"},
    };
    scripted_server_script(server, malformed, 1);
    assert_int_equal(watermark_list(store, NULL, count_row, &rows, reason, sizeof reason),
                     WATERMARK_UNAVAILABLE);
    watermark_store_close(store);
    scripted_server_stop(server);
}

static enum watermark_result advance_once(struct watermark_store *store, int64_t level)
{
    char reason[WATERMARK_REASON_SIZE];
    return watermark_advance(store, "NetXdQprcVkpaWU/tz1a", "block", level, 0, "vh1", reason,
                             sizeof reason);
}

/* One connection, kept alive, for every request of one thread. */
static void test_connection_is_reused(void **state)
{
    (void)state;
    struct scripted_server *server = scripted_server_start();
    struct watermark_store *store = store_at(scripted_server_url(server));
    for (int level = 1; level <= 5; level++)
        assert_int_equal(advance_once(store, level), WATERMARK_OK);
    assert_int_equal(scripted_server_request_count(server), 5);
    assert_int_equal(scripted_server_connection_count(server), 1);
    watermark_store_close(store);
    scripted_server_stop(server);
}

/* A forked child opens connections of its own and leaves the parent's alone, even when it closes
 * the store. */
static void test_forked_child_leaves_parent_connection(void **state)
{
    (void)state;
    struct scripted_server *server = scripted_server_start();
    struct watermark_store *store = store_at(scripted_server_url(server));
    assert_int_equal(advance_once(store, 1), WATERMARK_OK);
    fflush(NULL);
    pid_t child = fork();
    if (child == 0) {
        bool ok = advance_once(store, 2) == WATERMARK_OK;
        watermark_store_close(store);
        _exit(ok ? 0 : 1);
    }
    int status;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(advance_once(store, 3), WATERMARK_OK);
    assert_int_equal(scripted_server_request_count(server), 3);
    assert_int_equal(scripted_server_connection_count(server), 2);
    watermark_store_close(store);
    scripted_server_stop(server);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_retries_5xx_throttling_and_lost_connections),
        cmocka_unit_test(test_refusal_is_never_retried),
        cmocka_unit_test(test_other_errors_are_unavailable_at_once),
        cmocka_unit_test(test_malformed_success_is_unavailable),
        cmocka_unit_test(test_server_errors_until_the_deadline),
        cmocka_unit_test(test_silent_server),
        cmocka_unit_test(test_listener_that_never_accepts),
        cmocka_unit_test(test_nothing_listening),
        cmocka_unit_test(test_ensure_table_when_create_is_denied),
        cmocka_unit_test(test_ensure_table_waits_until_active),
        cmocka_unit_test(test_list_pages_and_malformed_rows),
        cmocka_unit_test(test_connection_is_reused),
        cmocka_unit_test(test_forked_child_leaves_parent_connection),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
