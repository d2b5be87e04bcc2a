/* The configuration from the environment: defaults, precedence, and errors that name the variable
 * without ever showing a secret. */
#define TZWM_WATERMARK_INTERNAL
#include "watermark.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define SECRET_KEY    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY"
#define SESSION_TOKEN "FQoGZXIvYXdzEXAMPLESESSIONTOKEN"

static const char *const variables[] = {
    "AWS_REGION",        "AWS_DEFAULT_REGION",
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_DYNAMODB",
    "AWS_ENDPOINT_URL",  "AWS_CA_BUNDLE",
    "CURL_CA_BUNDLE",    "TZWM_TABLE",
    "TZWM_TIMEOUT_MS",
};

/* A complete, minimal environment before each test. */
static int complete_environment(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof variables / sizeof variables[0]; i++)
        unsetenv(variables[i]);
    setenv("AWS_REGION", "eu-west-1", 1);
    setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
    setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY, 1);
    setenv("AWS_SESSION_TOKEN", SESSION_TOKEN, 1);
    return 0;
}

static struct watermark_config *config_ok(void)
{
    char error[WATERMARK_REASON_SIZE];
    struct watermark_config *config = watermark_config_from_env(error, sizeof error);
    if (config == NULL)
        fail_msg("unexpected error: %s", error);
    return config;
}

/* The environment is refused with an error naming the variable and no secret. */
static void assert_error_names(const char *variable)
{
    char error[WATERMARK_REASON_SIZE] = "";
    struct watermark_config *config = watermark_config_from_env(error, sizeof error);
    if (config != NULL)
        fail_msg("accepted, expected an error about %s", variable);
    if (strstr(error, variable) == NULL)
        fail_msg("'%s' does not name %s", error, variable);
    assert_null(strstr(error, SECRET_KEY));
    assert_null(strstr(error, SESSION_TOKEN));
}

static void test_defaults(void **state)
{
    (void)state;
    struct watermark_config *config = config_ok();
    assert_string_equal(watermark_config_region(config), "eu-west-1");
    assert_string_equal(watermark_config_endpoint(config),
                        "https://dynamodb.eu-west-1.amazonaws.com/");
    assert_string_equal(watermark_config_table(config), "watermark");
    assert_int_equal(watermark_config_timeout_ms(config), 2000);
    assert_null(config->ca_bundle);
    assert_string_equal(config->session_token, SESSION_TOKEN);
    watermark_config_free(config);

    unsetenv("AWS_SESSION_TOKEN");
    config = config_ok();
    assert_null(config->session_token);
    watermark_config_free(config);
}

static void test_region(void **state)
{
    (void)state;
    setenv("AWS_DEFAULT_REGION", "us-east-2", 1);
    struct watermark_config *config = config_ok();
    assert_string_equal(watermark_config_region(config), "eu-west-1");
    watermark_config_free(config);

    unsetenv("AWS_REGION");
    config = config_ok();
    assert_string_equal(watermark_config_region(config), "us-east-2");
    assert_string_equal(watermark_config_endpoint(config),
                        "https://dynamodb.us-east-2.amazonaws.com/");
    watermark_config_free(config);

    unsetenv("AWS_DEFAULT_REGION");
    assert_error_names("AWS_REGION");
    setenv("AWS_REGION", "", 1);
    assert_error_names("AWS_REGION");
    setenv("AWS_REGION", "eu-west-1:evil", 1);
    assert_error_names("AWS_REGION");
}

static void test_credentials(void **state)
{
    (void)state;
    unsetenv("AWS_ACCESS_KEY_ID");
    assert_error_names("AWS_ACCESS_KEY_ID");
    setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);

    unsetenv("AWS_SECRET_ACCESS_KEY");
    assert_error_names("AWS_SECRET_ACCESS_KEY");
    setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY "\n", 1);
    assert_error_names("AWS_SECRET_ACCESS_KEY");
    setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY, 1);

    /* A header injection through the token is refused, without echoing it. */
    setenv("AWS_SESSION_TOKEN", SESSION_TOKEN "\r\nX-Evil: 1", 1);
    assert_error_names("AWS_SESSION_TOKEN");
}

static void test_endpoint(void **state)
{
    (void)state;
    setenv("AWS_ENDPOINT_URL", "https://general.example:8443", 1);
    struct watermark_config *config = config_ok();
    assert_string_equal(watermark_config_endpoint(config), "https://general.example:8443/");
    watermark_config_free(config);

    setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:8000/", 1);
    config = config_ok();
    assert_string_equal(watermark_config_endpoint(config), "http://127.0.0.1:8000/");
    watermark_config_free(config);

    unsetenv("AWS_ENDPOINT_URL");
    static const char *const malformed[] = {
        "ftp://127.0.0.1/",   "127.0.0.1:8000",        "http://",   "http://host/path",
        "http://host/?query", "http://host/#fragment", "not a url", "http://host\n/",
    };
    for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++) {
        setenv("AWS_ENDPOINT_URL_DYNAMODB", malformed[i], 1);
        assert_error_names("AWS_ENDPOINT_URL_DYNAMODB");
    }
    /* A URL with a user and password is refused, and the password is not echoed. */
    setenv("AWS_ENDPOINT_URL_DYNAMODB", "https://user:" SECRET_KEY "@host/", 1);
    assert_error_names("AWS_ENDPOINT_URL_DYNAMODB");
    unsetenv("AWS_ENDPOINT_URL_DYNAMODB");
    setenv("AWS_ENDPOINT_URL", "gopher://host/", 1);
    assert_error_names("AWS_ENDPOINT_URL");
}

static void test_ca_bundle(void **state)
{
    (void)state;
    setenv("CURL_CA_BUNDLE", "/etc/curl-ca.pem", 1);
    struct watermark_config *config = config_ok();
    assert_string_equal(config->ca_bundle, "/etc/curl-ca.pem");
    watermark_config_free(config);

    setenv("AWS_CA_BUNDLE", "/etc/aws-ca.pem", 1);
    config = config_ok();
    assert_string_equal(config->ca_bundle, "/etc/aws-ca.pem");
    watermark_config_free(config);
}

static void test_table(void **state)
{
    (void)state;
    setenv("TZWM_TABLE", "baker_1.watermarks-prod", 1);
    struct watermark_config *config = config_ok();
    assert_string_equal(watermark_config_table(config), "baker_1.watermarks-prod");
    watermark_config_free(config);

    static const char *const malformed[] = {"ab", "has space", "slash/table", "quote\"d"};
    for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++) {
        setenv("TZWM_TABLE", malformed[i], 1);
        assert_error_names("TZWM_TABLE");
    }
}

static void test_timeout(void **state)
{
    (void)state;
    setenv("TZWM_TIMEOUT_MS", "1500", 1);
    struct watermark_config *config = config_ok();
    assert_int_equal(watermark_config_timeout_ms(config), 1500);
    watermark_config_free(config);

    static const char *const malformed[] = {"0",   "-5",  "abc",    "10ms",
                                            " 10", "1e3", "600001", "99999999999999999999"};
    for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++) {
        setenv("TZWM_TIMEOUT_MS", malformed[i], 1);
        assert_error_names("TZWM_TIMEOUT_MS");
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_defaults, complete_environment),
        cmocka_unit_test_setup(test_region, complete_environment),
        cmocka_unit_test_setup(test_credentials, complete_environment),
        cmocka_unit_test_setup(test_endpoint, complete_environment),
        cmocka_unit_test_setup(test_ca_bundle, complete_environment),
        cmocka_unit_test_setup(test_table, complete_environment),
        cmocka_unit_test_setup(test_timeout, complete_environment),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
