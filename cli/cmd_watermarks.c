/*
 * tzwm watermarks: the rows of the watermark table, read straight from DynamoDB with the same
 * configuration as the module (AWS_*, TZWM_TABLE, TZWM_TIMEOUT_MS). No module and no token: an
 * operator can look at the table from any machine that may read it.
 */
#include "cli.h"
#include "watermark.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A row kept after the listing, its idx split into chain and address. */
struct row {
    char *chain, *address, *kind, *digest;
    int64_t level, round;
};

struct rows {
    struct row *items;
    size_t count, capacity;
    bool out_of_memory;
};

static int keep_row(const struct watermark_row *row, void *context)
{
    struct rows *rows = context;
    const char *slash = strchr(row->idx, '/');
    struct row *kept;

    if (rows->count == rows->capacity) {
        size_t capacity = rows->capacity ? 2 * rows->capacity : 16;
        struct row *grown = realloc(rows->items, capacity * sizeof *grown);

        if (grown == NULL)
            goto out_of_memory;
        rows->items = grown;
        rows->capacity = capacity;
    }
    kept = &rows->items[rows->count];
    *kept = (struct row){NULL, NULL, NULL, NULL, row->level, row->round};
    kept->chain = slash ? strndup(row->idx, (size_t)(slash - row->idx)) : strdup(row->idx);
    kept->address = strdup(slash ? slash + 1 : "");
    kept->kind = strdup(row->kind);
    kept->digest = strdup(row->digest);
    rows->count++;
    if (kept->chain && kept->address && kept->kind && kept->digest)
        return 0;
out_of_memory:
    rows->out_of_memory = true;
    return 1;
}

static void rows_free(struct rows *rows)
{
    for (size_t i = 0; i < rows->count; i++) {
        free(rows->items[i].chain);
        free(rows->items[i].address);
        free(rows->items[i].kind);
        free(rows->items[i].digest);
    }
    free(rows->items);
}

/* By chain, address and kind: the table's own order is its hash order, which says nothing. */
static int compare_rows(const void *left, const void *right)
{
    const struct row *a = left, *b = right;
    int order = strcmp(a->chain, b->chain);

    if (order == 0)
        order = strcmp(a->address, b->address);
    return order != 0 ? order : strcmp(a->kind, b->kind);
}

static int width(const struct rows *rows, size_t field, const char *title)
{
    size_t widest = strlen(title);

    for (size_t i = 0; i < rows->count; i++) {
        const char *texts[] = {rows->items[i].chain, rows->items[i].address, rows->items[i].kind};

        if (strlen(texts[field]) > widest)
            widest = strlen(texts[field]);
    }
    return (int)widest;
}

static void print_text(const struct rows *rows)
{
    int chain = width(rows, 0, "CHAIN"), address = width(rows, 1, "ADDRESS");
    int kind = width(rows, 2, "KIND");

    printf("%-*s  %-*s  %-*s  %10s  %6s  %s\n", chain, "CHAIN", address, "ADDRESS", kind, "KIND",
           "LEVEL", "ROUND", "DIGEST");
    for (size_t i = 0; i < rows->count; i++) {
        const struct row *row = &rows->items[i];

        printf("%-*s  %-*s  %-*s  %10" PRId64 "  %6" PRId64 "  %s\n", chain, row->chain, address,
               row->address, kind, row->kind, row->level, row->round, row->digest);
    }
}

static int print_json(const struct rows *rows)
{
    cJSON *array = cJSON_CreateArray();
    char *text;

    for (size_t i = 0; array != NULL && i < rows->count; i++) {
        const struct row *row = &rows->items[i];
        cJSON *object = cJSON_CreateObject();

        if (object == NULL || !cJSON_AddItemToArray(array, object) ||
            cJSON_AddStringToObject(object, "chain", row->chain) == NULL ||
            cJSON_AddStringToObject(object, "address", row->address) == NULL ||
            cJSON_AddStringToObject(object, "kind", row->kind) == NULL ||
            cJSON_AddNumberToObject(object, "level", (double)row->level) == NULL ||
            cJSON_AddNumberToObject(object, "round", (double)row->round) == NULL ||
            cJSON_AddStringToObject(object, "digest", row->digest) == NULL) {
            cJSON_Delete(array);
            array = NULL;
        }
    }
    text = array != NULL ? cJSON_PrintUnformatted(array) : NULL;
    cJSON_Delete(array);
    if (text == NULL) {
        fprintf(stderr, "tzwm: out of memory\n");
        return 1;
    }
    printf("%s\n", text);
    free(text);
    return 0;
}

/* 0 with the rows, 3 when the store did not answer (as tzwm sign), 1 otherwise. */
static int list_rows(const struct watermark_filter *filter, struct rows *rows)
{
    char error[WATERMARK_REASON_SIZE];
    struct watermark_config *config = watermark_config_from_env(error, sizeof error);
    struct watermark_store *store;
    enum watermark_result result;

    if (config == NULL) {
        fprintf(stderr, "tzwm: the watermark store is not configured: %s\n", error);
        return 1;
    }
    store = watermark_store_open(config, error, sizeof error);
    if (store == NULL) {
        fprintf(stderr, "tzwm: cannot open the watermark store: %s\n", error);
        watermark_config_free(config);
        return 1;
    }
    result = watermark_list(store, filter, keep_row, rows, error, sizeof error);
    if (result != WATERMARK_OK)
        fprintf(stderr, "tzwm: cannot list table '%s' at %s: %s\n", watermark_config_table(config),
                watermark_config_endpoint(config), error);
    watermark_store_close(store);
    watermark_config_free(config);
    if (rows->out_of_memory) {
        fprintf(stderr, "tzwm: out of memory\n");
        return 1;
    }
    return result == WATERMARK_OK ? 0 : 3;
}

int command_watermarks(const struct command_context *context)
{
    static const struct option options[] = {
        {"address", required_argument, NULL, 'a'},
        {"chain", required_argument, NULL, 'c'},
        {"json", no_argument, NULL, 'j'},
        {NULL, 0, NULL, 0},
    };
    struct watermark_filter filter = {NULL, NULL};
    struct rows rows = {0};
    bool json = false;
    int option, status;

    optind = 0;
    while ((option = getopt_long(context->argc, context->argv, "", options, NULL)) != -1) {
        if (option == 'a')
            filter.address = optarg;
        else if (option == 'c')
            filter.chain = optarg;
        else if (option == 'j')
            json = true;
        else
            goto usage;
    }
    if (optind != context->argc)
        goto usage;
    status = list_rows(&filter, &rows);
    if (status == 0) {
        if (rows.count > 0)
            qsort(rows.items, rows.count, sizeof *rows.items, compare_rows);
        if (json)
            status = print_json(&rows);
        else
            print_text(&rows);
    }
    rows_free(&rows);
    return status;
usage:
    fprintf(stderr, "usage: tzwm watermarks [--address tz…] [--chain Net…] [--json]\n");
    return 1;
}
