/*
 * The store's configuration, read from the environment once (the AWS SDKs' variables, so that a
 * baker's existing AWS setup works unchanged). Every error names the variable; the secret key and
 * the session token never appear in any text.
 */
#define TZWM_WATERMARK_INTERNAL
#include "watermark.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A baker has a few seconds per block; a write that takes longer than this is better refused
 * (the baker misses one slot) than left hanging. */
#define DEFAULT_TIMEOUT_MS 2000
#define MAX_TIMEOUT_MS     600000

char *watermark_reason(char *reason, size_t reason_size, const char *format, ...)
{
    if (reason == NULL || reason_size == 0)
        return reason;
    va_list args;
    va_start(args, format);
    vsnprintf(reason, reason_size, format, args);
    va_end(args);
    return reason;
}

const char *watermark_result_name(enum watermark_result result)
{
    switch (result) {
    case WATERMARK_OK:
        return "ok";
    case WATERMARK_REFUSED:
        return "refused";
    case WATERMARK_UNAVAILABLE:
        return "unavailable";
    }
    return "unknown";
}

/* The variable's value, NULL when unset or empty (the SDKs treat both alike). */
static const char *variable(const char *name)
{
    const char *value = getenv(name);
    return value != NULL && value[0] != '\0' ? value : NULL;
}

/* Header values and curl's option strings must not carry control characters. */
static bool printable(const char *text)
{
    for (const unsigned char *c = (const unsigned char *)text; *c != '\0'; c++)
        if (*c < 0x20 || *c == 0x7f)
            return false;
    return true;
}

/* Region names go inside "aws:amz:<region>:dynamodb" and a host name. */
static bool valid_region(const char *region)
{
    for (const char *c = region; *c != '\0'; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-'))
            return false;
    return true;
}

/* DynamoDB's rule for table names: 3 to 255 of [A-Za-z0-9_.-]. */
static bool valid_table(const char *table)
{
    size_t length = strlen(table);
    if (length < 3 || length > 255)
        return false;
    for (const char *c = table; *c != '\0'; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '_' || *c == '-' || *c == '.'))
            return false;
    return true;
}

/* http(s)://host[:port][/], nothing else: a user, a query or a path would be signed and sent in
 * ways the operator did not mean. The result is normalised to end with "/". */
static char *parse_endpoint(const char *text)
{
    CURLU *url = curl_url();
    char *scheme = NULL, *host = NULL, *user = NULL, *query = NULL, *fragment = NULL, *path = NULL;
    char *result = NULL;
    if (url == NULL || !printable(text) ||
        curl_url_set(url, CURLUPART_URL, text, CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK)
        goto done;
    if (curl_url_get(url, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0))
        goto done;
    if (curl_url_get(url, CURLUPART_HOST, &host, 0) != CURLUE_OK || host[0] == '\0')
        goto done;
    if (curl_url_get(url, CURLUPART_USER, &user, 0) != CURLUE_NO_USER ||
        curl_url_get(url, CURLUPART_QUERY, &query, 0) != CURLUE_NO_QUERY ||
        curl_url_get(url, CURLUPART_FRAGMENT, &fragment, 0) != CURLUE_NO_FRAGMENT)
        goto done;
    if (curl_url_get(url, CURLUPART_PATH, &path, 0) == CURLUE_OK && strcmp(path, "/") != 0)
        goto done;
    if (curl_url_set(url, CURLUPART_PATH, "/", 0) == CURLUE_OK)
        curl_url_get(url, CURLUPART_URL, &result, 0);
done:
    curl_free(scheme);
    curl_free(host);
    curl_free(user);
    curl_free(query);
    curl_free(fragment);
    curl_free(path);
    curl_url_cleanup(url);
    if (result == NULL)
        return NULL;
    char *copy = strdup(result);
    curl_free(result);
    return copy;
}

static bool parse_timeout(const char *text, long *timeout_ms)
{
    /* Digits only: strtol alone would also take spaces and signs. */
    if (text[0] < '0' || text[0] > '9')
        return false;
    char *end;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || value < 1 || value > MAX_TIMEOUT_MS)
        return false;
    *timeout_ms = value;
    return true;
}

/* Secrets are wiped before their memory goes back to malloc. */
static void free_secret(char *secret)
{
    if (secret != NULL)
        explicit_bzero(secret, strlen(secret));
    free(secret);
}

void watermark_config_free(struct watermark_config *config)
{
    if (config == NULL)
        return;
    free(config->region);
    free(config->access_key_id);
    free_secret(config->secret_access_key);
    free_secret(config->session_token);
    free(config->endpoint);
    free(config->ca_bundle);
    free(config->table);
    free(config);
}

static char *copy_or_null(const char *text)
{
    return text != NULL ? strdup(text) : NULL;
}

struct watermark_config *watermark_config_copy(const struct watermark_config *config)
{
    struct watermark_config *copy = calloc(1, sizeof *copy);
    if (copy == NULL)
        return NULL;
    copy->region = strdup(config->region);
    copy->access_key_id = strdup(config->access_key_id);
    copy->secret_access_key = strdup(config->secret_access_key);
    copy->session_token = copy_or_null(config->session_token);
    copy->endpoint = strdup(config->endpoint);
    copy->ca_bundle = copy_or_null(config->ca_bundle);
    copy->table = strdup(config->table);
    copy->timeout_ms = config->timeout_ms;
    if (copy->region == NULL || copy->access_key_id == NULL || copy->secret_access_key == NULL ||
        (config->session_token != NULL && copy->session_token == NULL) || copy->endpoint == NULL ||
        (config->ca_bundle != NULL && copy->ca_bundle == NULL) || copy->table == NULL) {
        watermark_config_free(copy);
        return NULL;
    }
    return copy;
}

/* A credential: it goes into a header or a curl option, so printable; never echoed. */
static bool read_credential(const char *name, bool required, char **field, char *error,
                            size_t error_size)
{
    const char *value = variable(name);
    if ((value == NULL && required) || (value != NULL && !printable(value))) {
        watermark_reason(error, error_size, "%s is %s", name,
                         value == NULL ? "not set" : "malformed");
        return false;
    }
    *field = copy_or_null(value);
    return true;
}

/* Fills config from the environment; false with error set otherwise. */
static bool read_environment(struct watermark_config *config, char *error, size_t error_size)
{
    const char *region_name = variable("AWS_REGION") ? "AWS_REGION" : "AWS_DEFAULT_REGION";
    const char *region = variable(region_name);
    if (region == NULL) {
        watermark_reason(error, error_size, "AWS_REGION (or AWS_DEFAULT_REGION) is not set");
        return false;
    }
    if (!valid_region(region)) {
        watermark_reason(error, error_size, "%s is not a region name like eu-west-1", region_name);
        return false;
    }
    config->region = strdup(region);

    if (!read_credential("AWS_ACCESS_KEY_ID", true, &config->access_key_id, error, error_size) ||
        !read_credential("AWS_SECRET_ACCESS_KEY", true, &config->secret_access_key, error,
                         error_size) ||
        !read_credential("AWS_SESSION_TOKEN", false, &config->session_token, error, error_size))
        return false;

    const char *endpoint_name =
        variable("AWS_ENDPOINT_URL_DYNAMODB") ? "AWS_ENDPOINT_URL_DYNAMODB" : "AWS_ENDPOINT_URL";
    const char *endpoint = variable(endpoint_name);
    if (endpoint != NULL) {
        config->endpoint = parse_endpoint(endpoint);
        if (config->endpoint == NULL) {
            /* Not echoed: a malformed URL may carry a user and password. */
            watermark_reason(error, error_size, "%s is not an endpoint like https://host[:port]",
                             endpoint_name);
            return false;
        }
    } else {
        char url[300];
        snprintf(url, sizeof url, "https://dynamodb.%s.amazonaws.com/", region);
        config->endpoint = strdup(url);
    }

    /* libcurl does not read CURL_CA_BUNDLE itself (only the curl tool does). */
    const char *ca_bundle = variable("AWS_CA_BUNDLE");
    if (ca_bundle == NULL)
        ca_bundle = variable("CURL_CA_BUNDLE");
    config->ca_bundle = copy_or_null(ca_bundle);

    const char *table = variable("TZWM_TABLE");
    if (table != NULL && !valid_table(table)) {
        watermark_reason(error, error_size,
                         "TZWM_TABLE is not a DynamoDB table name (3 to 255 of A-Z a-z 0-9 _ - .)");
        return false;
    }
    config->table = strdup(table != NULL ? table : "watermark");

    const char *timeout = variable("TZWM_TIMEOUT_MS");
    config->timeout_ms = DEFAULT_TIMEOUT_MS;
    if (timeout != NULL && !parse_timeout(timeout, &config->timeout_ms)) {
        watermark_reason(error, error_size,
                         "TZWM_TIMEOUT_MS is not a number of milliseconds from 1 to %d (got '%s')",
                         MAX_TIMEOUT_MS, timeout);
        return false;
    }
    return true;
}

struct watermark_config *watermark_config_from_env(char *error, size_t error_size)
{
    struct watermark_config *config = calloc(1, sizeof *config);
    if (config == NULL) {
        watermark_reason(error, error_size, "out of memory");
        return NULL;
    }
    if (!read_environment(config, error, error_size)) {
        watermark_config_free(config);
        return NULL;
    }
    if (config->region == NULL || config->access_key_id == NULL ||
        config->secret_access_key == NULL || config->endpoint == NULL || config->table == NULL) {
        watermark_reason(error, error_size, "out of memory");
        watermark_config_free(config);
        return NULL;
    }
    return config;
}

const char *watermark_config_table(const struct watermark_config *config)
{
    return config->table;
}

const char *watermark_config_endpoint(const struct watermark_config *config)
{
    return config->endpoint;
}

const char *watermark_config_region(const struct watermark_config *config)
{
    return config->region;
}

long watermark_config_timeout_ms(const struct watermark_config *config)
{
    return config->timeout_ms;
}
