/*
 * DynamoDB's JSON: the request bodies tzwm sends and the parts of replies it reads.
 *
 * Attribute names always go through ExpressionAttributeNames: DynamoDB reserves hundreds of words
 * and some of ours may be among them. Errors are told apart by __type, never by message text
 * (servers do not even agree on the message's key).
 */
#define TZWM_WATERMARK_INTERNAL
#include "watermark.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Adds {"<type>": "<value>"} under name; false when out of memory. */
static bool add_attribute(cJSON *object, const char *name, const char *type, const char *value)
{
    cJSON *attribute = cJSON_AddObjectToObject(object, name);
    return attribute != NULL && cJSON_AddStringToObject(attribute, type, value) != NULL;
}

static bool add_number(cJSON *object, const char *name, int64_t value)
{
    char text[24];
    snprintf(text, sizeof text, "%" PRId64, value);
    return add_attribute(object, name, "N", text);
}

/* The body as text, freeing the tree; NULL when building it failed anywhere. */
static char *finish(cJSON *request, bool ok)
{
    char *text = ok ? cJSON_PrintUnformatted(request) : NULL;
    cJSON_Delete(request);
    return text;
}

static bool add_key_attribute(cJSON *definitions, cJSON *schema, const char *name,
                              const char *key_type)
{
    cJSON *definition = cJSON_CreateObject();
    cJSON *key = cJSON_CreateObject();
    bool ok = definition != NULL && key != NULL &&
              cJSON_AddStringToObject(definition, "AttributeName", name) != NULL &&
              cJSON_AddStringToObject(definition, "AttributeType", "S") != NULL &&
              cJSON_AddStringToObject(key, "AttributeName", name) != NULL &&
              cJSON_AddStringToObject(key, "KeyType", key_type) != NULL;
    if (ok) {
        cJSON_AddItemToArray(definitions, definition);
        cJSON_AddItemToArray(schema, key);
    } else {
        cJSON_Delete(definition);
        cJSON_Delete(key);
    }
    return ok;
}

/* Signatory's layout: one row per (chain/address, request kind). */
char *watermark_json_create_table(const char *table)
{
    cJSON *request = cJSON_CreateObject();
    cJSON *definitions = cJSON_AddArrayToObject(request, "AttributeDefinitions");
    cJSON *schema = cJSON_AddArrayToObject(request, "KeySchema");
    cJSON *throughput = cJSON_AddObjectToObject(request, "ProvisionedThroughput");
    bool ok = request != NULL && definitions != NULL && schema != NULL && throughput != NULL &&
              cJSON_AddStringToObject(request, "TableName", table) != NULL &&
              add_key_attribute(definitions, schema, "idx", "HASH") &&
              add_key_attribute(definitions, schema, "request", "RANGE") &&
              cJSON_AddNumberToObject(throughput, "ReadCapacityUnits", 5) != NULL &&
              cJSON_AddNumberToObject(throughput, "WriteCapacityUnits", 5) != NULL;
    return finish(request, ok);
}

char *watermark_json_describe_table(const char *table)
{
    cJSON *request = cJSON_CreateObject();
    bool ok = request != NULL && cJSON_AddStringToObject(request, "TableName", table) != NULL;
    return finish(request, ok);
}

/* Accepted when the row is new, when (level, round) is above the row's, or when it is the very
 * same request again (same level, round and digest): re-signing identical bytes is no double
 * signature, and it makes a retry after a lost reply safe. */
static const char put_condition[] =
    "attribute_not_exists(#idx) OR #lvl < :lvl OR (#lvl = :lvl AND #round < :round) OR "
    "(#lvl = :lvl AND #round = :round AND #digest = :digest)";

char *watermark_json_put_item(const char *table, const char *idx, const char *kind, int64_t level,
                              int64_t round, const char *digest)
{
    cJSON *request = cJSON_CreateObject();
    cJSON *item = cJSON_AddObjectToObject(request, "Item");
    cJSON *names = cJSON_AddObjectToObject(request, "ExpressionAttributeNames");
    cJSON *values = cJSON_AddObjectToObject(request, "ExpressionAttributeValues");
    bool ok = item != NULL && names != NULL && values != NULL &&
              cJSON_AddStringToObject(request, "TableName", table) != NULL &&
              add_attribute(item, "idx", "S", idx) && add_attribute(item, "request", "S", kind) &&
              add_number(item, "lvl", level) && add_number(item, "round", round) &&
              add_attribute(item, "digest", "S", digest) &&
              cJSON_AddStringToObject(request, "ConditionExpression", put_condition) != NULL &&
              cJSON_AddStringToObject(names, "#idx", "idx") != NULL &&
              cJSON_AddStringToObject(names, "#lvl", "lvl") != NULL &&
              cJSON_AddStringToObject(names, "#round", "round") != NULL &&
              cJSON_AddStringToObject(names, "#digest", "digest") != NULL &&
              add_number(values, ":lvl", level) && add_number(values, ":round", round) &&
              add_attribute(values, ":digest", "S", digest);
    return finish(request, ok);
}

/* Query by key when the whole idx is known; otherwise a Scan, narrowed by the server where it
 * can be (the caller still checks each row exactly). */
char *watermark_json_list(const char *table, const struct watermark_filter *filter, int page_limit,
                          const cJSON *start_key, const char **operation)
{
    cJSON *request = cJSON_CreateObject();
    bool ok = request != NULL && cJSON_AddStringToObject(request, "TableName", table) != NULL;
    const char *expression = NULL, *value = NULL;
    char *text = NULL;
    *operation = "Scan";
    if (filter->chain != NULL && filter->address != NULL) {
        *operation = "Query";
        size_t size = strlen(filter->chain) + strlen(filter->address) + 2;
        text = malloc(size);
        if (text != NULL)
            snprintf(text, size, "%s/%s", filter->chain, filter->address);
        expression = "#idx = :idx";
        value = text;
        ok &= text != NULL &&
              cJSON_AddStringToObject(request, "KeyConditionExpression", expression) != NULL;
        expression = NULL;
    } else if (filter->chain != NULL) {
        size_t size = strlen(filter->chain) + 2;
        text = malloc(size);
        if (text != NULL)
            snprintf(text, size, "%s/", filter->chain);
        expression = "begins_with(#idx, :idx)";
        value = text;
        ok &= text != NULL;
    } else if (filter->address != NULL) {
        expression = "contains(#idx, :idx)";
        value = filter->address;
    }
    if (expression != NULL)
        ok &= cJSON_AddStringToObject(request, "FilterExpression", expression) != NULL;
    if (value != NULL) {
        cJSON *names = cJSON_AddObjectToObject(request, "ExpressionAttributeNames");
        cJSON *values = cJSON_AddObjectToObject(request, "ExpressionAttributeValues");
        ok &= names != NULL && values != NULL &&
              cJSON_AddStringToObject(names, "#idx", "idx") != NULL &&
              add_attribute(values, ":idx", "S", value);
    }
    if (page_limit > 0)
        ok &= cJSON_AddNumberToObject(request, "Limit", page_limit) != NULL;
    if (start_key != NULL) {
        cJSON *copy = cJSON_Duplicate(start_key, true);
        ok &= copy != NULL && cJSON_AddItemToObject(request, "ExclusiveStartKey", copy);
    }
    free(text);
    return finish(request, ok);
}

static void copy_text(char *destination, size_t size, const char *text)
{
    if (size > 0)
        snprintf(destination, size, "%s", text != NULL ? text : "");
}

void watermark_json_error(const char *body, char *type, size_t type_size, char *message,
                          size_t message_size)
{
    copy_text(type, type_size, NULL);
    copy_text(message, message_size, NULL);
    cJSON *reply = body != NULL ? cJSON_Parse(body) : NULL;
    const char *full_type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(reply, "__type"));
    if (full_type != NULL) {
        const char *hash = strrchr(full_type, '#');
        copy_text(type, type_size, hash != NULL ? hash + 1 : full_type);
    }
    /* AWS and DynamoDB Local say "Message", dynalite "message". */
    const char *text = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(reply, "Message"));
    if (text == NULL)
        text = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(reply, "message"));
    copy_text(message, message_size, text);
    cJSON_Delete(reply);
}

/* The value of {"<type>": value} under name, NULL when absent or of another type. */
static const char *attribute(const cJSON *item, const char *name, const char *type)
{
    const cJSON *attribute = cJSON_GetObjectItemCaseSensitive(item, name);
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(attribute, type));
}

static bool parse_integer(const char *text, int64_t *value)
{
    if (text == NULL)
        return false;
    char *end;
    errno = 0;
    long long parsed = strtoll(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0')
        return false;
    *value = parsed;
    return true;
}

bool watermark_json_row(const cJSON *item, struct watermark_row *row)
{
    row->idx = attribute(item, "idx", "S");
    row->kind = attribute(item, "request", "S");
    row->digest = attribute(item, "digest", "S");
    return row->idx != NULL && row->kind != NULL && row->digest != NULL &&
           parse_integer(attribute(item, "lvl", "N"), &row->level) &&
           parse_integer(attribute(item, "round", "N"), &row->round);
}
