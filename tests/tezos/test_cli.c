/*
 * tzwm decode and tzwm address, run as the user runs them (TZWM_CLI): one JSON object with the
 * vectors' expected values and exit 0, or a reason on stderr and exit 1. Neither needs a module:
 * they run with --module pointing nowhere.
 */
#include "vectors.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cjson/cJSON.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static struct vectors all;

static int load_vectors(void **state)
{
    (void)state;
    if (getenv("TZWM_CLI") == NULL) {
        fprintf(stderr, "TZWM_CLI is not set\n");
        return -1;
    }
    return vectors_load(&all);
}

static int free_vectors(void **state)
{
    (void)state;
    vectors_free(&all);
    return 0;
}

/* Runs tzwm with arguments (shell words we make ourselves: hex and base58 only), returns its exit
 * status, its stdout in out and its stderr in err. */
static int run_tzwm(const char *arguments, char *out, size_t out_size, char *err, size_t err_size)
{
    char command[4096], err_path[] = "/tmp/tzwm-test-cli-XXXXXX";
    FILE *pipe, *file;
    size_t len;
    int status, fd = mkstemp(err_path);

    assert_true(fd >= 0);
    snprintf(command, sizeof command, "'%s' --module /nonexistent/libtzwm.so %s 2>%s",
             getenv("TZWM_CLI"), arguments, err_path);
    pipe = popen(command, "r");
    assert_non_null(pipe);
    len = fread(out, 1, out_size - 1, pipe);
    out[len] = '\0';
    status = pclose(pipe);
    file = fdopen(fd, "r");
    assert_non_null(file);
    len = fread(err, 1, err_size - 1, file);
    err[len] = '\0';
    fclose(file);
    unlink(err_path);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

static void test_decode_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < all.count; i++) {
        const struct vector *vector = &all.items[i];
        char arguments[2048], out[1024], err[1024];
        cJSON *json;
        const cJSON *slot;

        snprintf(arguments, sizeof arguments, "decode %s", vector->hex);
        assert_int_equal(run_tzwm(arguments, out, sizeof out, err, sizeof err), 0);
        assert_string_equal(err, "");
        /* One object on one line. */
        assert_non_null(strchr(out, '\n'));
        assert_string_equal(strchr(out, '\n'), "\n");
        json = cJSON_Parse(out);
        assert_non_null(json);
        assert_string_equal(cJSON_GetObjectItemCaseSensitive(json, "kind")->valuestring,
                            vector->kind);
        assert_string_equal(cJSON_GetObjectItemCaseSensitive(json, "chain_id")->valuestring,
                            vector->chain_id);
        assert_int_equal(cJSON_GetObjectItemCaseSensitive(json, "level")->valueint, vector->level);
        assert_int_equal(cJSON_GetObjectItemCaseSensitive(json, "round")->valueint, vector->round);
        assert_string_equal(cJSON_GetObjectItemCaseSensitive(json, "digest")->valuestring,
                            vector->digest);
        slot = cJSON_GetObjectItemCaseSensitive(json, "slot");
        if (strcmp(vector->kind, "block") == 0)
            assert_null(slot);
        else
            assert_true(cJSON_IsNumber(slot));
        if (vector->slot >= 0)
            assert_int_equal(slot->valueint, vector->slot);
        cJSON_Delete(json);
    }
}

static void test_decode_refused(void **state)
{
    static const char *const refused[] = {
        "decode ''",   "decode 11",     "decode 0100",     "decode 1", "decode zz",
        "decode 12ab", "decode 130000", "decode ff000000", "decode",   "decode 05 05"};
    char out[1024], err[1024];

    (void)state;
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        if (run_tzwm(refused[i], out, sizeof out, err, sizeof err) != 1)
            fail_msg("tzwm %s did not exit 1", refused[i]);
        assert_string_equal(out, "");
        assert_true(strlen(err) > 0);
    }
    /* The reason says what is wrong. */
    run_tzwm("decode 0100", out, sizeof out, err, sizeof err);
    assert_non_null(strstr(err, "Emmy"));
    run_tzwm("decode 11b3d79f99", out, sizeof out, err, sizeof err);
    assert_non_null(strstr(err, "truncated"));
}

static void test_decode_generic(void **state)
{
    char out[1024], err[1024];
    cJSON *json;

    (void)state;
    assert_int_equal(run_tzwm("decode 0x0501000000", out, sizeof out, err, sizeof err), 0);
    json = cJSON_Parse(out);
    assert_non_null(json);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(json, "kind")->valuestring, "michelson");
    assert_null(cJSON_GetObjectItemCaseSensitive(json, "level"));
    assert_memory_equal(cJSON_GetObjectItemCaseSensitive(json, "digest")->valuestring, "vh", 2);
    cJSON_Delete(json);
}

/* The keys and addresses of test_keys.c (computed by independent_keys.py). */
static void test_address(void **state)
{
    static const char *const pairs[][2] = {
        {"edpkvH4rzbmfvAEgiJQU1TKYfrTvBbpVJGHmQByh9Nph4BzvRh8aXP",
         "tz1N7tYGMGs3GGjeJAJKtbycAWcvoPNSUYgu\n"},
        {"sppk7aEFdrScsCDxdaQ7Ev1JxpWZESrEK6UsWRhr79JfGKkPYGTsudN",
         "tz2BCeQSi5ETyKJsob61pWCoQvoGtsrJBEt2\n"},
        {"p2pk67L57Q7vcgLkMrKXctFRKs5JSLR6qjiw1riJaFyakWpTv9QSkRf",
         "tz3bqAfFRnSA6dfPRG8XR6MBMmo6HZTTG44V\n"},
    };
    char arguments[256], out[1024], err[1024];

    (void)state;
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        snprintf(arguments, sizeof arguments, "address %s", pairs[i][0]);
        assert_int_equal(run_tzwm(arguments, out, sizeof out, err, sizeof err), 0);
        assert_string_equal(out, pairs[i][1]);
    }
    assert_int_equal(
        run_tzwm("address tz1N7tYGMGs3GGjeJAJKtbycAWcvoPNSUYgu", out, sizeof out, err, sizeof err),
        1);
    assert_true(strlen(err) > 0);
    assert_int_equal(run_tzwm("address edpkvH4rzbmfvAEgiJQU1TKYfrTvBbpVJGHmQByh9Nph4BzvRh8aXQ", out,
                              sizeof out, err, sizeof err),
                     1);
    assert_non_null(strstr(err, "checksum"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_vectors),
        cmocka_unit_test(test_decode_refused),
        cmocka_unit_test(test_decode_generic),
        cmocka_unit_test(test_address),
    };

    return cmocka_run_group_tests(tests, load_vectors, free_vectors);
}
