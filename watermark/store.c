/*
 * The store's operations: ensure the table, advance a watermark, list rows.
 *
 * Every DynamoDB call goes through call(), which retries what is worth retrying (throttling, 5xx,
 * no answer at all) with jittered backoff until the deadline, and hands back anything else as it
 * is. A PutItem retried after its first reply was lost is safe: the condition accepts the very
 * same row again.
 */
#define TZWM_WATERMARK_INTERNAL
#include "watermark.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* A table AWS is creating is ACTIVE within seconds, rarely a minute. */
#define TABLE_ACTIVE_WAIT_MS 60000
#define TABLE_POLL_MS        250
/* Backoff between tries: doubling from the first, never above the cap. */
#define BACKOFF_FIRST_MS 20
#define BACKOFF_CAP_MS   500

struct watermark_store {
    struct watermark_http *http;
    char *table;
    long timeout_ms;
    int page_limit;
};

struct watermark_store *watermark_store_open(const struct watermark_config *config, char *error,
                                             size_t error_size)
{
    struct watermark_store *store = calloc(1, sizeof *store);
    if (store == NULL || (store->table = strdup(config->table)) == NULL) {
        free(store);
        watermark_reason(error, error_size, "out of memory");
        return NULL;
    }
    store->timeout_ms = config->timeout_ms;
    store->http = watermark_http_new(config, error, error_size);
    if (store->http == NULL) {
        watermark_store_close(store);
        return NULL;
    }
    return store;
}

void watermark_store_close(struct watermark_store *store)
{
    if (store == NULL)
        return;
    watermark_http_free(store->http);
    free(store->table);
    free(store);
}

void watermark_store_counters(const struct watermark_store *store,
                              struct watermark_connection_counters *counters)
{
    watermark_http_counters(store->http, counters);
}

void watermark_store_set_page_limit(struct watermark_store *store, int page_limit)
{
    store->page_limit = page_limit;
}

enum call_outcome {
    CALL_OK,            /* HTTP 200 with a JSON object that names no error: reply is set */
    CALL_SERVICE_ERROR, /* DynamoDB said no: error_type says how */
    CALL_UNAVAILABLE,   /* nothing usable before the deadline */
};

struct call_result {
    cJSON *reply;
    char error_type[64];
};

static bool retryable_error(const char *type)
{
    static const char *const throttling[] = {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
    };
    for (size_t i = 0; i < sizeof throttling / sizeof throttling[0]; i++)
        if (strcmp(type, throttling[i]) == 0)
            return true;
    return false;
}

/* DynamoDB answers application/x-amz-json-1.0; application/json is JSON too. A parameter after
 * ';' (a charset) is allowed. */
static bool json_content(const char *content_type)
{
    static const char *const json[] = {"application/x-amz-json-1.0", "application/json"};
    for (size_t i = 0; i < sizeof json / sizeof json[0]; i++) {
        size_t length = strlen(json[i]);
        if (strncasecmp(content_type, json[i], length) == 0 &&
            (content_type[length] == '\0' || content_type[length] == ';'))
            return true;
    }
    return false;
}

static void sleep_ms(int64_t milliseconds)
{
    struct timespec pause = {milliseconds / 1000, (milliseconds % 1000) * 1000000};
    while (nanosleep(&pause, &pause) != 0)
        ;
}

/* Half fixed, half random ("equal jitter"): signers that failed together do not retry together. */
static int64_t backoff_ms(unsigned attempt, unsigned *seed)
{
    int64_t cap = BACKOFF_FIRST_MS;
    for (unsigned i = 0; i < attempt && cap < BACKOFF_CAP_MS; i++)
        cap *= 2;
    if (cap > BACKOFF_CAP_MS)
        cap = BACKOFF_CAP_MS;
    return cap / 2 + rand_r(seed) % (cap / 2 + 1);
}

static enum call_outcome call(struct watermark_store *store, const char *operation,
                              const char *body, int64_t deadline_ms, struct call_result *result,
                              char *reason, size_t reason_size)
{
    memset(result, 0, sizeof *result);
    /* A success writes no reason: the caller's buffer must still hold a string. */
    if (reason_size > 0)
        reason[0] = '\0';
    if (body == NULL) {
        watermark_reason(reason, reason_size, "DynamoDB %s: out of memory", operation);
        return CALL_UNAVAILABLE;
    }
    unsigned seed = (unsigned)watermark_now_ms() ^ (unsigned)(uintptr_t)&seed;
    for (unsigned attempt = 0;; attempt++) {
        struct watermark_http_reply reply;
        watermark_http_post(store->http, operation, body, deadline_ms, &reply, reason, reason_size);
        if (!reply.transport_failed && reply.status == 200 && !json_content(reply.content_type)) {
            /* Whatever answered is not DynamoDB (a captive portal, say), whatever its body says:
             * no write can be taken to have happened. */
            watermark_reason(reason, reason_size, "DynamoDB %s: HTTP 200 with content type %s",
                             operation, reply.content_type[0] ? reply.content_type : "(none)");
            watermark_http_reply_clear(&reply);
            return CALL_UNAVAILABLE;
        }
        if (!reply.transport_failed && reply.status == 200) {
            result->reply = cJSON_ParseWithOpts(reply.body != NULL ? reply.body : "", NULL, true);
            watermark_http_reply_clear(&reply);
            /* A success is a JSON object that names no error: a 200 carrying an error type came
             * from something in the way, not from a write that happened. */
            if (cJSON_IsObject(result->reply) && !cJSON_HasObjectItem(result->reply, "__type"))
                return CALL_OK;
            cJSON_Delete(result->reply);
            result->reply = NULL;
            watermark_reason(reason, reason_size, "DynamoDB %s: HTTP 200 with a malformed body",
                             operation);
            return CALL_UNAVAILABLE;
        }
        bool retry = (reply.transport_failed && !reply.permanent) || reply.status >= 500;
        if (!reply.transport_failed) {
            char message[200];
            watermark_json_error(reply.body, result->error_type, sizeof result->error_type, message,
                                 sizeof message);
            watermark_reason(reason, reason_size, "DynamoDB %s: HTTP %ld %s%s%s", operation,
                             reply.status, result->error_type[0] ? result->error_type : "error",
                             message[0] ? ": " : "", message);
            retry |= retryable_error(result->error_type);
        }
        bool answered = !reply.transport_failed;
        watermark_http_reply_clear(&reply);
        if (!retry)
            return answered ? CALL_SERVICE_ERROR : CALL_UNAVAILABLE;
        int64_t pause = backoff_ms(attempt, &seed);
        if (watermark_now_ms() + pause >= deadline_ms) {
            size_t used = strlen(reason);
            watermark_reason(reason + used, reason_size - used,
                             " (deadline reached after %u attempts)", attempt + 1);
            return CALL_UNAVAILABLE;
        }
        sleep_ms(pause);
    }
}

/* DescribeTable until ACTIVE, for at most TABLE_ACTIVE_WAIT_MS. */
static enum watermark_result wait_until_active(struct watermark_store *store, char *reason,
                                               size_t reason_size)
{
    char *body = watermark_json_describe_table(store->table);
    int64_t give_up = watermark_now_ms() + TABLE_ACTIVE_WAIT_MS;
    enum watermark_result result = WATERMARK_UNAVAILABLE;
    for (;;) {
        struct call_result call_result;
        enum call_outcome outcome =
            call(store, "DescribeTable", body, watermark_now_ms() + store->timeout_ms, &call_result,
                 reason, reason_size);
        if (outcome != CALL_OK)
            break;
        const cJSON *table = cJSON_GetObjectItemCaseSensitive(call_result.reply, "Table");
        const char *status =
            cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(table, "TableStatus"));
        if (status != NULL && strcmp(status, "ACTIVE") == 0) {
            cJSON_Delete(call_result.reply);
            result = WATERMARK_OK;
            break;
        }
        watermark_reason(reason, reason_size, "DynamoDB table '%s' is %s, not ACTIVE", store->table,
                         status != NULL ? status : "of no known status");
        cJSON_Delete(call_result.reply);
        if (watermark_now_ms() + TABLE_POLL_MS >= give_up)
            break;
        sleep_ms(TABLE_POLL_MS);
    }
    free(body);
    return result;
}

enum watermark_result watermark_ensure_table(struct watermark_store *store,
                                             enum watermark_table_origin *origin, char *reason,
                                             size_t reason_size)
{
    char *body = watermark_json_create_table(store->table);
    struct call_result result;
    enum call_outcome outcome =
        call(store, "CreateTable", body, watermark_now_ms() + store->timeout_ms, &result, reason,
             reason_size);
    free(body);
    cJSON_Delete(result.reply);
    if (outcome == CALL_UNAVAILABLE)
        return WATERMARK_UNAVAILABLE;
    /* Least privilege may leave out CreateTable: a table made beforehand is fine. */
    bool denied =
        outcome == CALL_SERVICE_ERROR && strcmp(result.error_type, "AccessDeniedException") == 0;
    if (outcome == CALL_OK) {
        *origin = WATERMARK_TABLE_CREATED;
    } else if (denied || strcmp(result.error_type, "ResourceInUseException") == 0) {
        *origin = WATERMARK_TABLE_EXISTED;
    } else {
        return WATERMARK_UNAVAILABLE;
    }
    char create_error[WATERMARK_REASON_SIZE];
    watermark_reason(create_error, sizeof create_error, "%s", reason);
    if (wait_until_active(store, reason, reason_size) != WATERMARK_OK) {
        if (denied) {
            size_t used = strlen(reason);
            watermark_reason(reason + used, reason_size - used, " (after %s)", create_error);
        }
        return WATERMARK_UNAVAILABLE;
    }
    watermark_reason(reason, reason_size, "%s table '%s'",
                     *origin == WATERMARK_TABLE_CREATED ? "created" : "using existing",
                     store->table);
    return WATERMARK_OK;
}

static bool nonempty(const char *text)
{
    return text != NULL && text[0] != '\0';
}

enum watermark_result watermark_advance(struct watermark_store *store, const char *idx,
                                        const char *kind, int64_t level, int64_t round,
                                        const char *digest, char *reason, size_t reason_size)
{
    if (!nonempty(idx) || !nonempty(kind) || !nonempty(digest) || level < 0 || round < 0) {
        watermark_reason(reason, reason_size, "watermark: invalid request to record");
        return WATERMARK_UNAVAILABLE;
    }
    char *body = watermark_json_put_item(store->table, idx, kind, level, round, digest);
    struct call_result result;
    enum call_outcome outcome = call(store, "PutItem", body, watermark_now_ms() + store->timeout_ms,
                                     &result, reason, reason_size);
    free(body);
    cJSON_Delete(result.reply);
    switch (outcome) {
    case CALL_OK:
        watermark_reason(reason, reason_size,
                         "%s %s at level %" PRId64 " round %" PRId64 " recorded", idx, kind, level,
                         round);
        return WATERMARK_OK;
    case CALL_SERVICE_ERROR:
        if (strcmp(result.error_type, "ConditionalCheckFailedException") != 0)
            return WATERMARK_UNAVAILABLE;
        watermark_reason(reason, reason_size,
                         "%s %s at level %" PRId64 " round %" PRId64
                         " refused: the watermark is already there or beyond with another request",
                         idx, kind, level, round);
        return WATERMARK_REFUSED;
    case CALL_UNAVAILABLE:
        break;
    }
    return WATERMARK_UNAVAILABLE;
}

static bool starts_with(const char *text, const char *prefix)
{
    return strncmp(text, prefix, strlen(prefix)) == 0;
}

/* The exact test of a row against the filter: the server's filters narrow, this decides. */
static bool row_matches(const struct watermark_row *row, const struct watermark_filter *filter)
{
    const char *slash = strchr(row->idx, '/');
    if (slash == NULL)
        return filter->chain == NULL && filter->address == NULL;
    size_t chain_length = (size_t)(slash - row->idx);
    if (filter->chain != NULL &&
        (strlen(filter->chain) != chain_length || !starts_with(row->idx, filter->chain)))
        return false;
    return filter->address == NULL || strcmp(slash + 1, filter->address) == 0;
}

/* Reports the page's rows; false when a callback stopped the listing or a row is malformed. */
static bool report_rows(const cJSON *items, const struct watermark_filter *filter,
                        watermark_row_callback callback, void *context, bool *stopped)
{
    const cJSON *item;
    cJSON_ArrayForEach(item, items)
    {
        struct watermark_row row;
        if (!watermark_json_row(item, &row))
            return false;
        if (row_matches(&row, filter) && callback(&row, context) != 0) {
            *stopped = true;
            return false;
        }
    }
    return true;
}

enum watermark_result watermark_list(struct watermark_store *store,
                                     const struct watermark_filter *filter,
                                     watermark_row_callback callback, void *context, char *reason,
                                     size_t reason_size)
{
    static const struct watermark_filter everything = {NULL, NULL};
    if (filter == NULL)
        filter = &everything;
    cJSON *start_key = NULL;
    enum watermark_result result = WATERMARK_OK;
    watermark_reason(reason, reason_size, "listed");
    do {
        const char *operation;
        char *body =
            watermark_json_list(store->table, filter, store->page_limit, start_key, &operation);
        cJSON_Delete(start_key);
        start_key = NULL;
        struct call_result page;
        enum call_outcome outcome =
            call(store, operation, body, watermark_now_ms() + store->timeout_ms, &page, reason,
                 reason_size);
        free(body);
        if (outcome != CALL_OK)
            return WATERMARK_UNAVAILABLE;
        const cJSON *items = cJSON_GetObjectItemCaseSensitive(page.reply, "Items");
        bool stopped = false;
        if (!cJSON_IsArray(items) || !report_rows(items, filter, callback, context, &stopped)) {
            if (!stopped) {
                watermark_reason(reason, reason_size, "DynamoDB %s: a malformed page or row",
                                 operation);
                result = WATERMARK_UNAVAILABLE;
            }
        } else {
            start_key = cJSON_DetachItemFromObjectCaseSensitive(page.reply, "LastEvaluatedKey");
        }
        cJSON_Delete(page.reply);
    } while (start_key != NULL);
    return result;
}
