/*
 * libFuzzer target for what tzwm reads of DynamoDB's answers: the error type and message of any
 * body, and the rows of Query, Scan and GetItem replies. It must never crash, never report an
 * error type with its '#' namespace or from a body that is not JSON, and never accept a row whose
 * fields are not exactly the attributes' values.
 */
#define TZWM_WATERMARK_INTERNAL
#include "watermark.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void require(bool condition, const char *what)
{
    if (!condition) {
        fprintf(stderr, "DynamoDB reply misread: %s\n", what);
        abort();
    }
}

static const char *attribute(const cJSON *item, const char *name, const char *type)
{
    return cJSON_GetStringValue(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(item, name), type));
}

static void check_row(const cJSON *item)
{
    struct watermark_row row;
    char level[32], round[32];

    if (!watermark_json_row(item, &row))
        return;
    require(row.idx != NULL && row.kind != NULL && row.digest != NULL, "a row without a field");
    require(row.idx == attribute(item, "idx", "S"), "idx is not the idx attribute");
    require(row.kind == attribute(item, "request", "S"), "kind is not the request attribute");
    require(row.digest == attribute(item, "digest", "S"), "digest is not the digest attribute");
    snprintf(level, sizeof level, "%lld", (long long)row.level);
    snprintf(round, sizeof round, "%lld", (long long)row.round);
    /* The numbers are the attributes' own digits (leading '+' or zeros aside, as strtoll reads). */
    require(strtoll(attribute(item, "lvl", "N"), NULL, 10) == row.level, "lvl misread");
    require(strtoll(attribute(item, "round", "N"), NULL, 10) == row.round, "round misread");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *body = malloc(size + 1);
    char type[64], message[200];
    cJSON *reply, *items, *item;

    if (body == NULL)
        return 0;
    memcpy(body, data, size);
    body[size] = '\0';

    watermark_json_error(body, type, sizeof type, message, sizeof message);
    require(strlen(type) < sizeof type && strlen(message) < sizeof message, "overlong text");
    require(strchr(type, '#') == NULL, "an error type with its namespace");
    reply = cJSON_Parse(body);
    if (reply == NULL)
        require(type[0] == '\0' && message[0] == '\0', "an error read from a body that is no JSON");
    cJSON_Delete(reply);

    reply = cJSON_ParseWithOpts(body, NULL, true);
    items = cJSON_GetObjectItemCaseSensitive(reply, "Items");
    for (item = cJSON_IsArray(items) ? items->child : NULL; item != NULL; item = item->next)
        check_row(item);
    check_row(cJSON_GetObjectItemCaseSensitive(reply, "Item"));
    cJSON_Delete(reply);
    free(body);
    return 0;
}
