/*
 * The store against a real DynamoDB-API server (run under tests/servers/with-store, once against
 * dynalite and once against DynamoDB Local): the same body for both.
 */
#define TZWM_WATERMARK_INTERNAL
#include "watermark.h"

#include "test_support.h"

#include <inttypes.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static struct watermark_config *config_for(const char *table)
{
    setenv("TZWM_TABLE", table, 1);
    char error[WATERMARK_REASON_SIZE];
    struct watermark_config *config = watermark_config_from_env(error, sizeof error);
    if (config == NULL)
        fail_msg("config: %s", error);
    return config;
}

static struct watermark_store *store_for(const char *table)
{
    setenv("TZWM_TABLE", table, 1);
    return test_store_from_environment();
}

/* A store on a table of its own, created for the test. */
static struct watermark_store *store_with_table(const char *table)
{
    struct watermark_store *store = store_for(table);
    enum watermark_table_origin origin;
    char reason[WATERMARK_REASON_SIZE];
    enum watermark_result result = watermark_ensure_table(store, &origin, reason, sizeof reason);
    if (result != WATERMARK_OK)
        fail_msg("ensure table %s: %s", table, reason);
    return store;
}

static void test_ensure_table_creates_then_reuses(void **state)
{
    (void)state;
    char reason[WATERMARK_REASON_SIZE];
    enum watermark_table_origin origin;

    struct watermark_store *store = store_for("watermark");
    assert_int_equal(watermark_ensure_table(store, &origin, reason, sizeof reason), WATERMARK_OK);
    assert_int_equal(origin, WATERMARK_TABLE_CREATED);
    assert_string_equal(reason, "created table 'watermark'");

    assert_int_equal(watermark_ensure_table(store, &origin, reason, sizeof reason), WATERMARK_OK);
    assert_int_equal(origin, WATERMARK_TABLE_EXISTED);
    assert_string_equal(reason, "using existing table 'watermark'");
    watermark_store_close(store);

    /* Another process (another store) finds it too, and a write lands in it. */
    store = store_for("watermark");
    assert_int_equal(watermark_ensure_table(store, &origin, reason, sizeof reason), WATERMARK_OK);
    assert_int_equal(origin, WATERMARK_TABLE_EXISTED);
    assert_int_equal(watermark_advance(store, "NetXdQprcVkpaWU/tz1create", "block", 1, 0,
                                       "vh1digest", reason, sizeof reason),
                     WATERMARK_OK);
    watermark_store_close(store);
}

static void test_operations_on_missing_table_are_unavailable(void **state)
{
    (void)state;
    char reason[WATERMARK_REASON_SIZE];
    struct watermark_store *store = store_for("no_such_table");
    assert_int_equal(watermark_advance(store, "NetXdQprcVkpaWU/tz1missing", "block", 1, 0, "vh1",
                                       reason, sizeof reason),
                     WATERMARK_UNAVAILABLE);
    assert_non_null(strstr(reason, "ResourceNotFoundException"));
    watermark_store_close(store);
}

/* Every ordering of a second write against a first: level and round lower, equal or higher, and
 * the digest the same or another. */
static void test_advance_in_every_ordering(void **state)
{
    (void)state;
    struct watermark_store *store = store_with_table("orderings");
    const int64_t level = 100, round = 5;
    int case_number = 0;
    for (int level_step = -1; level_step <= 1; level_step++) {
        for (int round_step = -1; round_step <= 1; round_step++) {
            for (int same_digest = 0; same_digest <= 1; same_digest++) {
                char idx[64], reason[WATERMARK_REASON_SIZE];
                snprintf(idx, sizeof idx, "NetXdQprcVkpaWU/tz1case%d", case_number++);
                const char *second_digest = same_digest ? "vh1first" : "vh2second";
                enum watermark_result expected;
                if (level_step > 0 || (level_step == 0 && round_step > 0) ||
                    (level_step == 0 && round_step == 0 && same_digest))
                    expected = WATERMARK_OK;
                else
                    expected = WATERMARK_REFUSED;

                assert_int_equal(watermark_advance(store, idx, "attestation", level, round,
                                                   "vh1first", reason, sizeof reason),
                                 WATERMARK_OK);
                enum watermark_result result =
                    watermark_advance(store, idx, "attestation", level + level_step,
                                      round + round_step, second_digest, reason, sizeof reason);
                if (result != expected)
                    fail_msg("level %+d round %+d %s digest: %s (%s), expected %s", level_step,
                             round_step, same_digest ? "same" : "other",
                             watermark_result_name(result), reason,
                             watermark_result_name(expected));
                if (expected == WATERMARK_REFUSED)
                    assert_non_null(strstr(reason, "refused"));
            }
        }
    }
    watermark_store_close(store);
}

/* Rows are per (chain/address, kind): a block at a high level does not hold back an attestation
 * of the same key, nor another key, nor the same key on another chain. */
static void test_rows_are_independent(void **state)
{
    (void)state;
    struct watermark_store *store = store_with_table("independent");
    static const struct {
        const char *idx, *kind;
        int64_t level, round;
        enum watermark_result expected;
    } writes[] = {
        {"NetA/tz1a", "block", 500, 0, WATERMARK_OK},
        {"NetA/tz1a", "attestation", 10, 0, WATERMARK_OK},
        {"NetA/tz1a", "preattestation", 10, 0, WATERMARK_OK},
        {"NetA/tz1b", "block", 10, 0, WATERMARK_OK},
        {"NetB/tz1a", "block", 10, 0, WATERMARK_OK},
        {"NetA/tz1a", "block", 499, 9, WATERMARK_REFUSED},
    };
    for (size_t i = 0; i < sizeof writes / sizeof writes[0]; i++) {
        char digest[16], reason[WATERMARK_REASON_SIZE];
        snprintf(digest, sizeof digest, "vh%zu", i);
        assert_int_equal(watermark_advance(store, writes[i].idx, writes[i].kind, writes[i].level,
                                           writes[i].round, digest, reason, sizeof reason),
                         writes[i].expected);
    }
    watermark_store_close(store);
}

/* The stored item, read back raw with GetItem: exactly the five attributes, with their types. */
static cJSON *get_item(const char *table, const char *idx, const char *kind)
{
    struct watermark_config *config = config_for(table);
    char error[WATERMARK_REASON_SIZE];
    struct watermark_http *http = watermark_http_new(config, error, sizeof error);
    assert_non_null(http);
    char body[512];
    snprintf(body, sizeof body,
             "{\"TableName\":\"%s\",\"ConsistentRead\":true,"
             "\"Key\":{\"idx\":{\"S\":\"%s\"},\"request\":{\"S\":\"%s\"}}}",
             table, idx, kind);
    struct watermark_http_reply reply;
    watermark_http_post(http, "GetItem", body, watermark_now_ms() + 5000, &reply, error,
                        sizeof error);
    if (reply.transport_failed)
        fail_msg("GetItem: %s", error);
    assert_int_equal(reply.status, 200);
    cJSON *parsed = cJSON_Parse(reply.body);
    assert_non_null(parsed);
    cJSON *item = cJSON_DetachItemFromObjectCaseSensitive(parsed, "Item");
    cJSON_Delete(parsed);
    watermark_http_reply_clear(&reply);
    watermark_http_free(http);
    watermark_config_free(config);
    return item;
}

static void assert_attribute(const cJSON *item, const char *name, const char *type,
                             const char *value)
{
    const cJSON *attribute = cJSON_GetObjectItemCaseSensitive(item, name);
    assert_true(cJSON_IsObject(attribute));
    assert_int_equal(cJSON_GetArraySize(attribute), 1);
    const char *text = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(attribute, type));
    if (text == NULL)
        fail_msg("attribute %s is not of type %s", name, type);
    assert_string_equal(text, value);
}

/* Exactly the five attributes, with these values and types. */
static void assert_row(const cJSON *item, const char *idx, const char *kind, const char *level,
                       const char *round, const char *digest)
{
    assert_non_null(item);
    assert_int_equal(cJSON_GetArraySize(item), 5);
    assert_attribute(item, "idx", "S", idx);
    assert_attribute(item, "request", "S", kind);
    assert_attribute(item, "lvl", "N", level);
    assert_attribute(item, "round", "N", round);
    assert_attribute(item, "digest", "S", digest);
}

/* The row of (idx, "preattestation") in table "attributes" is exactly this. */
static void assert_stored(const char *idx, const char *round, const char *digest)
{
    cJSON *item = get_item("attributes", idx, "preattestation");
    assert_row(item, idx, "preattestation", "2147483647", round, digest);
    cJSON_Delete(item);
}

static void test_row_has_exact_attributes(void **state)
{
    (void)state;
    struct watermark_store *store = store_with_table("attributes");
    const char *idx = "NetXdQprcVkpaWU/tz1VSUr8wwNhLAzempoch5d6hLRiTh8Cjcjb";
    const char *digest = "vh2p9uxYMiDrQ8kD2HGPAKJSP4pQuMgfK3tHJ5nK6HbHgYWLDTGYS";
    const int64_t level = 2147483647;
    char reason[WATERMARK_REASON_SIZE];
    assert_int_equal(
        watermark_advance(store, idx, "preattestation", level, 7, digest, reason, sizeof reason),
        WATERMARK_OK);
    assert_stored(idx, "7", digest);
    /* A refused write leaves the row as it was. */
    assert_int_equal(
        watermark_advance(store, idx, "preattestation", level, 7, "vhOther", reason, sizeof reason),
        WATERMARK_REFUSED);
    assert_stored(idx, "7", digest);
    /* An accepted one replaces it whole. */
    assert_int_equal(
        watermark_advance(store, idx, "preattestation", level, 8, "vhNext", reason, sizeof reason),
        WATERMARK_OK);
    assert_stored(idx, "8", "vhNext");
    watermark_store_close(store);
}

struct listing {
    char rows[32][160];
    size_t count;
    size_t stop_after; /* 0: never stop */
};

static int collect_row(const struct watermark_row *row, void *context)
{
    struct listing *listing = context;
    assert_true(listing->count < 32);
    snprintf(listing->rows[listing->count++], sizeof listing->rows[0],
             "%s %s %" PRId64 " %" PRId64 " %s", row->idx, row->kind, row->level, row->round,
             row->digest);
    return listing->stop_after != 0 && listing->count == listing->stop_after;
}

static int compare_rows(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* The listing, sorted, as one text: row order is the server's business. */
static void assert_listing(struct watermark_store *store, const char *chain, const char *address,
                           const char *expected)
{
    struct watermark_filter filter = {chain, address};
    struct listing listing = {.count = 0};
    char reason[WATERMARK_REASON_SIZE];
    enum watermark_result result =
        watermark_list(store, &filter, collect_row, &listing, reason, sizeof reason);
    if (result != WATERMARK_OK)
        fail_msg("list: %s", reason);
    qsort(listing.rows, listing.count, sizeof listing.rows[0], compare_rows);
    char text[4096] = "";
    for (size_t i = 0; i < listing.count; i++) {
        strcat(text, listing.rows[i]);
        strcat(text, "\n");
    }
    assert_string_equal(text, expected);
}

static void test_list_rows(void **state)
{
    (void)state;
    struct watermark_store *store = store_with_table("listing");
    char reason[WATERMARK_REASON_SIZE];
    static const struct {
        const char *idx, *kind;
        int64_t level, round;
        const char *digest;
    } rows[] = {
        {"NetA/tz1a", "block", 10, 1, "vh1"},          {"NetA/tz1a", "attestation", 11, 0, "vh2"},
        {"NetA/tz1a", "preattestation", 11, 0, "vh3"}, {"NetA/tz1b", "block", 12, 0, "vh4"},
        {"NetB/tz1a", "block", 13, 2, "vh5"},          {"NetAB/tz1a", "block", 14, 0, "vh6"},
        {"NetB/tz1ab", "block", 15, 0, "vh7"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        assert_int_equal(watermark_advance(store, rows[i].idx, rows[i].kind, rows[i].level,
                                           rows[i].round, rows[i].digest, reason, sizeof reason),
                         WATERMARK_OK);

    const char *all = "NetA/tz1a attestation 11 0 vh2\n"
                      "NetA/tz1a block 10 1 vh1\n"
                      "NetA/tz1a preattestation 11 0 vh3\n"
                      "NetA/tz1b block 12 0 vh4\n"
                      "NetAB/tz1a block 14 0 vh6\n"
                      "NetB/tz1a block 13 2 vh5\n"
                      "NetB/tz1ab block 15 0 vh7\n";
    const char *chain_a = "NetA/tz1a attestation 11 0 vh2\n"
                          "NetA/tz1a block 10 1 vh1\n"
                          "NetA/tz1a preattestation 11 0 vh3\n"
                          "NetA/tz1b block 12 0 vh4\n";
    const char *address_a = "NetA/tz1a attestation 11 0 vh2\n"
                            "NetA/tz1a block 10 1 vh1\n"
                            "NetA/tz1a preattestation 11 0 vh3\n"
                            "NetAB/tz1a block 14 0 vh6\n"
                            "NetB/tz1a block 13 2 vh5\n";
    const char *both = "NetA/tz1a attestation 11 0 vh2\n"
                       "NetA/tz1a block 10 1 vh1\n"
                       "NetA/tz1a preattestation 11 0 vh3\n";
    /* Once in the server's own pages, once two rows a page (several pages per listing). */
    for (int page_limit = 0; page_limit <= 2; page_limit += 2) {
        watermark_store_set_page_limit(store, page_limit);
        assert_listing(store, NULL, NULL, all);
        assert_listing(store, "NetA", NULL, chain_a);
        assert_listing(store, NULL, "tz1a", address_a);
        assert_listing(store, "NetA", "tz1a", both);
        assert_listing(store, "NetC", NULL, "");
        assert_listing(store, "NetC", "tz1a", "");
    }

    /* A callback can stop the listing. */
    struct listing listing = {.count = 0, .stop_after = 3};
    assert_int_equal(watermark_list(store, NULL, collect_row, &listing, reason, sizeof reason),
                     WATERMARK_OK);
    assert_int_equal(listing.count, 3);
    watermark_store_close(store);
}

#define THREADS 8
#define RACES   10

struct racer {
    struct watermark_store *store;
    pthread_barrier_t *barrier;
    int number;
    int wins;
    int refusals;
    int own_row_ok;
};

/* Each thread writes a row of its own (all must succeed) and, at each race, a rival request for
 * one shared row at one level and round (exactly one per race may win). */
static void *race(void *argument)
{
    struct racer *racer = argument;
    char idx[64], digest[32], reason[WATERMARK_REASON_SIZE];
    snprintf(idx, sizeof idx, "NetRace/tz1own%d", racer->number);
    for (int level = 1; level <= RACES; level++) {
        if (watermark_advance(racer->store, idx, "block", level, 0, "vhOwn", reason,
                              sizeof reason) == WATERMARK_OK)
            racer->own_row_ok++;
        snprintf(digest, sizeof digest, "vhRacer%d", racer->number);
        pthread_barrier_wait(racer->barrier);
        enum watermark_result result = watermark_advance(racer->store, "NetRace/tz1shared", "block",
                                                         level, 0, digest, reason, sizeof reason);
        if (result == WATERMARK_OK)
            racer->wins++;
        else if (result == WATERMARK_REFUSED)
            racer->refusals++;
        pthread_barrier_wait(racer->barrier);
    }
    return NULL;
}

static void test_concurrent_writers(void **state)
{
    (void)state;
    struct watermark_store *store = store_with_table("concurrent");
    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, THREADS);
    struct racer racers[THREADS];
    pthread_t threads[THREADS];
    for (int i = 0; i < THREADS; i++) {
        racers[i] = (struct racer){store, &barrier, i, 0, 0, 0};
        assert_int_equal(pthread_create(&threads[i], NULL, race, &racers[i]), 0);
    }
    int wins = 0, refusals = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(threads[i], NULL);
        wins += racers[i].wins;
        refusals += racers[i].refusals;
        assert_int_equal(racers[i].own_row_ok, RACES);
    }
    pthread_barrier_destroy(&barrier);
    assert_int_equal(wins, RACES);
    assert_int_equal(refusals, RACES * (THREADS - 1));
    watermark_store_close(store);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ensure_table_creates_then_reuses),
        cmocka_unit_test(test_operations_on_missing_table_are_unavailable),
        cmocka_unit_test(test_advance_in_every_ordering),
        cmocka_unit_test(test_rows_are_independent),
        cmocka_unit_test(test_row_has_exact_attributes),
        cmocka_unit_test(test_list_rows),
        cmocka_unit_test(test_concurrent_writers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
