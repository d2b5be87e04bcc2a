/*
 * An HTTPS endpoint whose certificate comes from a test CA (run under
 * `TZWM_STORE_HTTPS=1 with-store dynalite`): trusted when that CA is configured through
 * AWS_CA_BUNDLE or CURL_CA_BUNDLE, refused otherwise.
 */
#include "test_support.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* ensure_table then advance with the CA variables as given (NULL: unset). */
static enum watermark_result use_store(const char *aws_ca, const char *curl_ca, char *reason)
{
    if (aws_ca != NULL)
        setenv("AWS_CA_BUNDLE", aws_ca, 1);
    else
        unsetenv("AWS_CA_BUNDLE");
    if (curl_ca != NULL)
        setenv("CURL_CA_BUNDLE", curl_ca, 1);
    else
        unsetenv("CURL_CA_BUNDLE");
    assert_int_equal(strncmp(getenv("AWS_ENDPOINT_URL_DYNAMODB"), "https://", 8), 0);
    struct watermark_store *store = test_store_from_environment();
    enum watermark_table_origin origin;
    enum watermark_result result =
        watermark_ensure_table(store, &origin, reason, WATERMARK_REASON_SIZE);
    if (result == WATERMARK_OK)
        result = watermark_advance(store, "NetXdQprcVkpaWU/tz1tls", "block", 1, 0, "vh1", reason,
                                   WATERMARK_REASON_SIZE);
    watermark_store_close(store);
    return result;
}

static void test_trusted_through_either_variable(void **state)
{
    (void)state;
    const char *ca = getenv("TZWM_TEST_CA");
    assert_non_null(ca);
    char reason[WATERMARK_REASON_SIZE];
    assert_int_equal(use_store(NULL, ca, reason), WATERMARK_OK);
    assert_int_equal(use_store(ca, NULL, reason), WATERMARK_OK);
}

static void test_refused_without_the_ca(void **state)
{
    (void)state;
    const char *ca = getenv("TZWM_TEST_CA"), *other = getenv("TZWM_TEST_OTHER_CA");
    assert_non_null(ca);
    assert_non_null(other);
    char reason[WATERMARK_REASON_SIZE];
    /* The system CAs do not know the test CA. */
    assert_int_equal(use_store(NULL, NULL, reason), WATERMARK_UNAVAILABLE);
    assert_non_null(strstr(reason, "certificate"));
    assert_int_equal(use_store(other, NULL, reason), WATERMARK_UNAVAILABLE);
    assert_non_null(strstr(reason, "certificate"));
    /* AWS_CA_BUNDLE comes first, as in the AWS SDKs. */
    assert_int_equal(use_store(other, ca, reason), WATERMARK_UNAVAILABLE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trusted_through_either_variable),
        cmocka_unit_test(test_refused_without_the_ca),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
