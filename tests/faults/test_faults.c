/*
 * The store's faults, end to end through libtzwm.so's C_Sign: the module talks to dynalite through
 * fault-proxy.js (with-fault-proxy), which delays, resets, answers errors or mangles the answers on
 * command. For each fault: the return code, the signature buffer untouched on a refusal, the time
 * taken against the deadline, the row as dynalite has it (read past the proxy), the warn line
 * naming the reason, and signing again once the fault is gone, without re-initializing the module.
 */
#define TZWM_WATERMARK_INTERNAL
#include "request_builder.h"
#include "support.h"
#include "tezos.h"
#include "watermark.h"

#include <curl/curl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#define POISON 0xa5
/* The deadline is the contract; this much slack covers a loaded machine and the sanitizers. */
#define MARGIN_MS 1500

static struct client_module module;
static CK_FUNCTION_LIST_PTR p11;
static CK_SESSION_HANDLE session;
static CK_OBJECT_HANDLE key;
static struct tezos_public_key public_key;
static char address[40];
/* dynalite itself, past the proxy: what was truly written. */
static struct watermark_store *direct;
static long deadline_ms;

#define KEY_LABEL "baker-ed25519"

static void find_key(void)
{
    CK_OBJECT_CLASS private_class = CKO_PRIVATE_KEY, public_class = CKO_PUBLIC_KEY;
    CK_ATTRIBUTE template[] = {
        {CKA_CLASS, &private_class, sizeof private_class},
        {CKA_LABEL, KEY_LABEL, sizeof KEY_LABEL - 1},
    };
    CK_OBJECT_HANDLE public_handle;
    CK_BYTE params[64], point[128];
    CK_ULONG params_len, point_len;

    assert_int_equal(test_find(p11, session, template, 2, &key, 1), 1);
    template[0].pValue = &public_class;
    assert_int_equal(test_find(p11, session, template, 2, &public_handle, 1), 1);
    params_len = test_attribute(p11, session, public_handle, CKA_EC_PARAMS, params, sizeof params);
    point_len = test_attribute(p11, session, public_handle, CKA_EC_POINT, point, sizeof point);
    assert_int_equal(
        tezos_public_key_from_pkcs11(params, params_len, point, point_len, &public_key), TEZOS_OK);
    assert_int_equal(tezos_address(&public_key, address, sizeof address), TEZOS_OK);
}

static void initialize(void)
{
    assert_int_equal(p11->C_Initialize(NULL), CKR_OK);
    session = test_session(p11, true);
    find_key();
}

/* ---- The proxy's control port ---- */

static size_t keep_reply(char *data, size_t size, size_t count, void *user)
{
    char *reply = user;
    size_t used = strlen(reply), length = size * count;

    if (used + length < 256) {
        memcpy(reply + used, data, length);
        reply[used + length] = '\0';
    }
    return length;
}

/* POST body to the control path (or GET when body is NULL); the reply's text. */
static void control(const char *path, const char *body, char reply[256])
{
    char url[128];
    CURL *curl = curl_easy_init();
    long status = 0;

    assert_non_null(curl);
    reply[0] = '\0';
    snprintf(url, sizeof url, "http://127.0.0.1:%s%s", test_env("TZWM_FAULT_CONTROL"), path);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    if (body != NULL)
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, keep_reply);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, reply);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 10000L);
    assert_int_equal(curl_easy_perform(curl), CURLE_OK);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(curl);
    assert_int_equal(status, 200);
}

/* The next requests take the queued actions (a JSON list), later ones `otherwise`. */
static void faults(const char *queue, const char *otherwise)
{
    char body[1024], reply[256];

    snprintf(body, sizeof body, "{\"queue\": [%s], \"otherwise\": %s}", queue,
             otherwise != NULL ? otherwise : "{\"do\": \"pass\"}");
    control("/faults", body, reply);
}

/* The requests that reached the proxy since the last faults(), and those it forwarded. */
static void counts(int *requests, int *forwarded)
{
    char reply[256];

    control("/counts", NULL, reply);
    assert_int_equal(sscanf(reply, "{\"requests\":%d,\"forwarded\":%d}", requests, forwarded), 2);
}

/* Waits (up to a few seconds) until dynalite has answered `expected` forwarded requests since the
 * last faults(): a held write must be made before the row is read and the next counts taken. */
static void wait_answered(int expected)
{
    char reply[256];
    int answered = -1;

    for (int tries = 0; tries < 100; tries++) {
        control("/counts", NULL, reply);
        assert_int_equal(
            sscanf(reply, "{\"requests\":%*d,\"forwarded\":%*d,\"answered\":%d}", &answered), 1);
        if (answered >= expected)
            break;
        usleep(50 * 1000);
    }
    assert_int_equal(answered, expected);
}

/* ---- Signing ---- */

static long elapsed_ms(const struct timespec *start)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - start->tv_sec) * 1000 + (now.tv_nsec - start->tv_nsec) / 1000000;
}

/* C_SignInit + C_Sign into a poisoned buffer: the return code; on a refusal, not one byte of the
 * buffer written and the operation ended; on a signature, one that verifies. *took_ms is how long
 * C_Sign took. */
static CK_RV sign(const uint8_t *request, size_t len, long *took_ms)
{
    CK_MECHANISM eddsa = {CKM_EDDSA, NULL, 0};
    uint8_t signature[64];
    CK_ULONG signature_len = sizeof signature;
    struct timespec start;
    CK_RV rv;

    memset(signature, POISON, sizeof signature);
    assert_int_equal(p11->C_SignInit(session, &eddsa, key), CKR_OK);
    clock_gettime(CLOCK_MONOTONIC, &start);
    rv = p11->C_Sign(session, (CK_BYTE_PTR)request, len, signature, &signature_len);
    *took_ms = elapsed_ms(&start);
    if (rv == CKR_OK) {
        assert_int_equal(signature_len, 64);
        assert_int_equal(tezos_signature_verify(&public_key, request, len, signature), TEZOS_OK);
    } else {
        for (size_t i = 0; i < sizeof signature; i++)
            assert_int_equal(signature[i], POISON);
        assert_int_equal(p11->C_Sign(session, (CK_BYTE_PTR)request, len, signature, &signature_len),
                         CKR_OPERATION_NOT_INITIALIZED);
    }
    return rv;
}

static void expect_signed(const uint8_t *request, size_t len)
{
    long took;

    assert_int_equal(sign(request, len, &took), CKR_OK);
}

/* Refused as unavailable, by the deadline. */
static void expect_unavailable(const uint8_t *request, size_t len)
{
    long took;

    assert_int_equal(sign(request, len, &took), CKR_FUNCTION_FAILED);
    if (took >= deadline_ms + MARGIN_MS)
        fail_msg("refused after %ld ms, past the deadline of %ld ms", took, deadline_ms);
}

/* A chain of each test's own, so that tests never share rows. */
struct test_block {
    uint8_t chain[4];
    char chain_text[32];
    char idx[128];
};

static void test_block_for(struct test_block *block, uint8_t number)
{
    block->chain[0] = 0x7a, block->chain[1] = 0x66;
    block->chain[2] = (uint8_t)(1 + getpid() % 250), block->chain[3] = number;
    assert_int_equal(tezos_base58check_encode(TEZOS_B58_CHAIN_ID, block->chain, block->chain_text,
                                              sizeof block->chain_text),
                     TEZOS_OK);
    snprintf(block->idx, sizeof block->idx, "%s/%s", block->chain_text, address);
}

/* A block at (level, 0); variants are different blocks at that level and round. */
static size_t block_at(const struct test_block *block, int32_t level, uint8_t variant,
                       uint8_t out[BUILDER_MAX])
{
    struct block_fields fields = block_defaults();

    memcpy(fields.chain_id, block->chain, 4);
    fields.level = level;
    fields.round = 0;
    fields.payload_round = 0;
    fields.votes = variant;
    return build_block(&fields, out);
}

struct found_row {
    bool found;
    int64_t level;
    char digest[128];
};

static int keep_row(const struct watermark_row *row, void *context)
{
    struct found_row *found = context;

    if (strcmp(row->kind, "block") == 0) {
        found->found = true;
        found->level = row->level;
        snprintf(found->digest, sizeof found->digest, "%s", row->digest);
    }
    return 0;
}

/* The block row of the test's chain as dynalite has it: absent (level < 0), or at level with the
 * digest of request (any digest when request is NULL). */
static void expect_row(const struct test_block *block, int64_t level, const uint8_t *request,
                       size_t len)
{
    struct watermark_filter filter = {block->chain_text, address};
    struct found_row found = {0};
    char reason[WATERMARK_REASON_SIZE], digest_text[TEZOS_BASE58_TEXT_MAX];
    uint8_t digest[32];

    assert_int_equal(watermark_list(direct, &filter, keep_row, &found, reason, sizeof reason),
                     WATERMARK_OK);
    if (level < 0) {
        assert_false(found.found);
        return;
    }
    assert_true(found.found);
    assert_int_equal(found.level, level);
    if (request == NULL)
        return;
    tezos_blake2b_256(request, len, digest);
    assert_int_equal(
        tezos_base58check_encode(TEZOS_B58_VALUE_HASH, digest, digest_text, sizeof digest_text),
        TEZOS_OK);
    assert_string_equal(found.digest, digest_text);
}

/* The warn line of a refused block at level, with the reason's start. */
static void expect_warning(const struct test_block *block, int32_t level, const char *reason)
{
    char line[512];

    snprintf(line, sizeof line, "warn: refused block %s level %d round 0: %s", block->idx, level,
             reason);
    test_assert_log_contains(test_env("TZWM_LOG_FILE"), line, true);
}

/* The proxy's actions, as JSON. */
#define ERROR_BODY(type)     "\"{\\\"__type\\\":\\\"com.amazonaws.dynamodb.v20120810#" type "\\\"}\""
#define ANSWER(status, body) "{\"do\": \"answer\", \"status\": " #status ", \"body\": " body "}"
#define ANSWER_TYPED(status, body, type)                                                           \
    "{\"do\": \"answer\", \"status\": " #status ", \"body\": " body ", \"type\": \"" type "\"}"
#define RESET      "{\"do\": \"reset\"}"
#define LOSE       "{\"do\": \"lose\"}"
#define TRUNCATE   "{\"do\": \"truncate\"}"
#define THROTTLED  ANSWER(400, ERROR_BODY("ProvisionedThroughputExceededException"))
#define THROTTLING ANSWER(400, ERROR_BODY("ThrottlingException"))

/* ---- Retried faults ---- */

/* Faults that pass (the queue) before the write that goes through: the block at level signs in one
 * C_Sign, after the proxy saw requests and forwarded some of them. */
static void signed_through(const struct test_block *block, int32_t level, const char *queue,
                           int requests_expected, int forwarded_expected)
{
    uint8_t request[BUILDER_MAX];
    size_t len = block_at(block, level, 0, request);
    int requests, forwarded;

    faults(queue, NULL);
    expect_signed(request, len);
    counts(&requests, &forwarded);
    assert_int_equal(requests, requests_expected);
    assert_int_equal(forwarded, forwarded_expected);
    expect_row(block, level, request, len);
}

/* 5xx, throttling and a reset connection are retried, and the write that follows them signs. */
static void retried_faults_then_signed(void **state)
{
    struct test_block block;
    (void)state;

    test_block_for(&block, 1);
    signed_through(&block, 5,
                   ANSWER(500, ERROR_BODY("InternalServerError")) "," ANSWER(
                       503, "\"\"") "," THROTTLED "," THROTTLING "," RESET,
                   6, 1);
}

/* A fault and what C_Sign must make of it. */
struct fault {
    const char *queue, *otherwise; /* for faults() */
    const char *reason;            /* how the warn line gives it */
    bool retried;                  /* tried again until the deadline, or given up at once */
    bool written;                  /* the write reached dynalite (its answer did not come back) */
};

/* A block at level (one above the chain's watermark) refused under the fault, by the deadline, the
 * row as the fault left it and the reason logged; then, the fault gone, signed. */
static void refused_under_the_fault_then_signed(const struct test_block *block, int32_t level,
                                                const struct fault *fault)
{
    uint8_t request[BUILDER_MAX];
    size_t len = block_at(block, level, 0, request);
    int requests, forwarded;

    faults(fault->queue, fault->otherwise);
    expect_unavailable(request, len);
    counts(&requests, &forwarded);
    if (fault->retried)
        assert_true(requests > 1);
    else
        assert_int_equal(requests, 1);
    assert_int_equal(forwarded, fault->written ? 1 : 0);
    if (fault->written)
        expect_row(block, level, request, len);
    else
        expect_row(block, level - 1, NULL, 0);
    expect_warning(block, level, fault->reason);
    faults("", NULL);
    expect_signed(request, len);
    expect_row(block, level, request, len);
}

/* Faults at levels from first on, above a block signed at first - 1. */
static void each_fault(uint8_t chain_number, int32_t first, const struct fault *cases, size_t count)
{
    struct test_block block;
    uint8_t request[BUILDER_MAX];

    test_block_for(&block, chain_number);
    expect_signed(request, block_at(&block, first - 1, 0, request));
    for (size_t i = 0; i < count; i++)
        refused_under_the_fault_then_signed(&block, first + (int32_t)i, &cases[i]);
}

/* Each retried fault that does not end: refused by the deadline after more than one try, nothing
 * written, the reason logged; signing goes on once it ends. */
static void retried_faults_until_the_deadline(void **state)
{
    static const struct fault cases[] = {
        {"", ANSWER(503, "\"\""), "watermark unavailable: DynamoDB PutItem: HTTP 503 error", true,
         false},
        {"", ANSWER(500, ERROR_BODY("InternalServerError")),
         "watermark unavailable: DynamoDB PutItem: HTTP 500 InternalServerError", true, false},
        {"", THROTTLED,
         "watermark unavailable: DynamoDB PutItem: HTTP 400 "
         "ProvisionedThroughputExceededException",
         true, false},
        {"", THROTTLING, "watermark unavailable: DynamoDB PutItem: HTTP 400 ThrottlingException",
         true, false},
        {"", RESET, "watermark unavailable: DynamoDB PutItem at ", true, false},
    };
    (void)state;

    each_fault(2, 10, cases, sizeof cases / sizeof cases[0]);
}

/* After a refusal under a fault that may have let the write through: the same request signs (the
 * digest clause), a different one at its level and round is a true refusal, and the row stays the
 * first one's. */
static void same_signs_another_is_refused(const struct test_block *block, int32_t level)
{
    uint8_t request[BUILDER_MAX], other[BUILDER_MAX];
    size_t len = block_at(block, level, 0, request), other_len = block_at(block, level, 1, other);
    long took;

    faults("", NULL);
    expect_signed(request, len);
    assert_int_equal(sign(other, other_len, &took), CKR_FUNCTION_REJECTED);
    expect_warning(block, level, "watermark refused: ");
    expect_row(block, level, request, len);
}

/* An answer held past the deadline: refused by the deadline. The write reaches dynalite later;
 * the same request then signs and a different one does not. */
static void answer_past_the_deadline(void **state)
{
    struct test_block block;
    uint8_t request[BUILDER_MAX];
    size_t len;
    char delay[64];
    (void)state;

    test_block_for(&block, 3);
    len = block_at(&block, 7, 0, request);
    snprintf(delay, sizeof delay, "{\"do\": \"delay\", \"ms\": %ld}", deadline_ms + 300);
    faults(delay, NULL);
    expect_unavailable(request, len);
    expect_row(&block, -1, NULL, 0);
    expect_warning(&block, 7, "watermark unavailable: DynamoDB PutItem at ");
    /* The held write reaches dynalite after the refusal (here, not in the next test's counts). */
    wait_answered(1);
    expect_row(&block, 7, request, len);
    same_signs_another_is_refused(&block, 7);
}

/* Answers that are not DynamoDB's success: refused at once (not retried), whether or not the write
 * reached dynalite; signing goes on after them. */
static void unexpected_answers_are_not_signed(void **state)
{
#define MALFORMED "watermark unavailable: DynamoDB PutItem: HTTP 200 with a malformed body"
#define NOT_JSON  "watermark unavailable: DynamoDB PutItem: HTTP 200 with content type text/html"
    static const struct fault cases[] = {
        {TRUNCATE, NULL, MALFORMED, false, true},
        {ANSWER(200, "\"{\\\"ConsumedCapacity\\\": {\\\"Tab\""), NULL, MALFORMED, false, false},
        {ANSWER_TYPED(200, "\"<html>signed in</html>\"", "text/html"), NULL, NOT_JSON, false,
         false},
        {ANSWER(200, "\"[]\""), NULL, MALFORMED, false, false},
        {ANSWER(200, ERROR_BODY("ConditionalCheckFailedException")), NULL, MALFORMED, false, false},
        /* A body DynamoDB could send, from something that is not DynamoDB. */
        {ANSWER_TYPED(200, "\"{}\"", "text/html"), NULL, NOT_JSON, false, false},
        {ANSWER(400, ERROR_BODY("ValidationException")), NULL,
         "watermark unavailable: DynamoDB PutItem: HTTP 400 ValidationException", false, false},
    };
#undef MALFORMED
#undef NOT_JSON
    (void)state;

    each_fault(4, 20, cases, sizeof cases / sizeof cases[0]);
}

/* The write reached dynalite and its answer was lost: the identical request sent again is accepted
 * (the digest clause) within the same C_Sign. (On a kept-alive connection that dies before any
 * answer, libcurl itself sends it again before the store's own retry would.) With every answer
 * lost, no signature; afterwards the same request signs and a different one at its level is a
 * true refusal. */
static void lost_answers(void **state)
{
    struct test_block block;
    uint8_t request[BUILDER_MAX];
    size_t len;
    int requests, forwarded;
    (void)state;

    test_block_for(&block, 5);
    /* The first answer lost, the retry's answer back. */
    signed_through(&block, 3, LOSE, 2, 2);

    len = block_at(&block, 4, 0, request);
    faults("", LOSE);
    expect_unavailable(request, len);
    counts(&requests, &forwarded);
    assert_true(forwarded > 1);
    expect_row(&block, 4, request, len);
    expect_warning(&block, 4, "watermark unavailable: DynamoDB PutItem at ");
    same_signs_another_is_refused(&block, 4);
}

/* Credentials rejected: not retried, logged, no signature. */
static void credentials_rejected(void **state)
{
#define INVALID_TOKEN "The security token included in the request is invalid."
    static const struct fault rejected = {
        "",
        ANSWER(403,
               "\"{\\\"__type\\\":\\\"com.amazon.coral.service#UnrecognizedClientException\\\","
               "\\\"message\\\":\\\"" INVALID_TOKEN "\\\"}\""),
        "watermark unavailable: DynamoDB PutItem: HTTP 403 "
        "UnrecognizedClientException: " INVALID_TOKEN,
        false,
        false,
    };
#undef INVALID_TOKEN
    (void)state;

    each_fault(6, 2, &rejected, 1);
}

/* Reinitializes the module with the endpoint and CA bundle (NULL: none). */
static void reinitialize_at(const char *endpoint, const char *ca_bundle)
{
    assert_int_equal(p11->C_Finalize(NULL), CKR_OK);
    setenv("AWS_ENDPOINT_URL_DYNAMODB", endpoint, 1);
    if (ca_bundle != NULL)
        setenv("AWS_CA_BUNDLE", ca_bundle, 1);
    else
        unsetenv("AWS_CA_BUNDLE");
    initialize();
}

/* An HTTPS endpoint whose certificate the configured CA did not sign: refused, never retried into
 * the deadline, nothing reaches the store; with the right CA the same endpoint signs. */
static void certificate_not_trusted(void **state)
{
    char proxy[256];
    struct test_block block;
    uint8_t request[BUILDER_MAX];
    size_t len;
    int requests, forwarded;
    (void)state;

    snprintf(proxy, sizeof proxy, "%s", test_env("AWS_ENDPOINT_URL_DYNAMODB"));
    test_block_for(&block, 7);
    len = block_at(&block, 6, 0, request);
    reinitialize_at(test_env("TZWM_FAULT_HTTPS_ENDPOINT"), test_env("TZWM_TEST_OTHER_CA"));
    faults("", NULL);
    expect_unavailable(request, len);
    counts(&requests, &forwarded);
    assert_int_equal(requests, 0);
    expect_row(&block, -1, NULL, 0);
    expect_warning(&block, 6, "watermark unavailable: DynamoDB CreateTable at https://127.0.0.1:");
    test_assert_log_contains(test_env("TZWM_LOG_FILE"), "SSL certificate problem", true);

    reinitialize_at(test_env("TZWM_FAULT_HTTPS_ENDPOINT"), test_env("TZWM_TEST_CA"));
    expect_signed(request, len);
    expect_row(&block, 6, request, len);
    reinitialize_at(proxy, NULL);
}

/* dynalite killed while a write is on its way, then started again over the same files: refused (by
 * the deadline) while it is down, and signing resumes by itself once it is back, with the watermark
 * it had. */
static void store_killed_and_restarted(void **state)
{
    struct test_block block;
    uint8_t request[BUILDER_MAX], earlier[BUILDER_MAX], conflicting[BUILDER_MAX];
    size_t len, earlier_len, conflicting_len;
    char action[64], body[512], reply[256];
    long took;
    (void)state;

    test_block_for(&block, 8);
    earlier_len = block_at(&block, 1, 0, earlier);
    conflicting_len = block_at(&block, 1, 1, conflicting);
    len = block_at(&block, 2, 0, request);
    expect_signed(earlier, earlier_len);

    snprintf(action, sizeof action, "{\"do\": \"kill\", \"pid\": %s}", test_env("TZWM_STORE_PID"));
    faults(action, NULL);
    expect_unavailable(request, len);
    expect_warning(&block, 2, "watermark unavailable: DynamoDB PutItem at ");
    expect_unavailable(request, len); /* still down */

    snprintf(body, sizeof body, "{\"path\": \"%s\"}", test_env("TZWM_STORE_PATH"));
    control("/restart", body, reply);
    expect_signed(request, len);
    expect_row(&block, 2, request, len);
    /* The row from before the kill was kept: the level it guards is still
     * guarded. */
    assert_int_equal(sign(conflicting, conflicting_len, &took), CKR_FUNCTION_REJECTED);
}

/* The table deleted after start: no signature, the reason logged, nothing retried. tzwm never
 * creates it again by itself (an empty table would forget every watermark); once an operator has it
 * back, signing goes on without re-initializing. */
static void table_deleted_after_start(void **state)
{
    struct watermark_config *config;
    struct watermark_http *http;
    struct watermark_http_reply reply;
    enum watermark_table_origin origin;
    struct test_block block;
    uint8_t request[BUILDER_MAX];
    char error[WATERMARK_REASON_SIZE];
    size_t len;
    int requests, forwarded;
    (void)state;

    test_block_for(&block, 9);
    len = block_at(&block, 4, 0, request);
    setenv("AWS_ENDPOINT_URL_DYNAMODB", test_env("TZWM_DIRECT_ENDPOINT"), 1);
    config = watermark_config_from_env(error, sizeof error);
    assert_non_null(config);
    http = watermark_http_new(config, error, sizeof error);
    assert_non_null(http);
    watermark_http_post(http, "DeleteTable", "{\"TableName\": \"watermark\"}",
                        watermark_now_ms() + 5000, &reply, error, sizeof error);
    assert_false(reply.transport_failed);
    assert_int_equal(reply.status, 200);
    watermark_http_reply_clear(&reply);
    /* dynalite keeps a table DELETING for a while: until it is gone, it is not
     * missing. */
    for (int tries = 0;; tries++) {
        assert_true(tries < 100);
        watermark_http_post(http, "DescribeTable", "{\"TableName\": \"watermark\"}",
                            watermark_now_ms() + 5000, &reply, error, sizeof error);
        assert_false(reply.transport_failed);
        long status = reply.status;
        watermark_http_reply_clear(&reply);
        if (status == 400)
            break;
        usleep(50 * 1000);
    }
    watermark_http_free(http);
    watermark_config_free(config);

    faults("", NULL);
    expect_unavailable(request, len);
    counts(&requests, &forwarded);
    assert_int_equal(requests, 1);
    expect_warning(&block, 4,
                   "watermark unavailable: DynamoDB PutItem: HTTP 400 "
                   "ResourceNotFoundException");
    expect_unavailable(request, len); /* not created again by tzwm */

    assert_int_equal(watermark_ensure_table(direct, &origin, error, sizeof error), WATERMARK_OK);
    assert_int_equal(origin, WATERMARK_TABLE_CREATED);
    expect_signed(request, len);
    expect_row(&block, 4, request, len);
}

/* ---- Set-up ---- */

static int setup(void **state)
{
    struct watermark_config *config;
    char error[WATERMARK_REASON_SIZE], proxy[256];
    (void)state;

    deadline_ms = atol(test_env("TZWM_TIMEOUT_MS"));
    p11 = test_load(&module, test_env("TZWM_LIBRARY"));
    initialize();
    /* The direct store: dynalite's own endpoint, past the proxy. */
    snprintf(proxy, sizeof proxy, "%s", test_env("AWS_ENDPOINT_URL_DYNAMODB"));
    setenv("AWS_ENDPOINT_URL_DYNAMODB", test_env("TZWM_DIRECT_ENDPOINT"), 1);
    config = watermark_config_from_env(error, sizeof error);
    setenv("AWS_ENDPOINT_URL_DYNAMODB", proxy, 1);
    if (config == NULL)
        fail_msg("%s", error);
    direct = watermark_store_open(config, error, sizeof error);
    watermark_config_free(config);
    if (direct == NULL)
        fail_msg("%s", error);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (p11 == NULL)
        return 0;
    assert_int_equal(p11->C_Finalize(NULL), CKR_OK);
    watermark_store_close(direct);
    return 0;
}

/* Each test starts with a fresh session and a proxy that passes everything. */
static int fresh_start(void **state)
{
    (void)state;
    faults("", NULL);
    assert_int_equal(p11->C_CloseSession(session), CKR_OK);
    session = test_session(p11, true);
    find_key();
    return 0;
}

int main(void)
{
#define TEST(name) cmocka_unit_test_setup(name, fresh_start)
    const struct CMUnitTest tests[] = {
        TEST(retried_faults_then_signed),
        TEST(retried_faults_until_the_deadline),
        TEST(answer_past_the_deadline),
        TEST(unexpected_answers_are_not_signed),
        TEST(lost_answers),
        TEST(credentials_rejected),
        TEST(certificate_not_trusted),
        TEST(store_killed_and_restarted),
        TEST(table_deleted_after_start),
    };

    return cmocka_run_group_tests_name("faults", tests, setup, teardown);
}
