/* Reads the shared vectors file with cJSON. */
#include "vectors.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *read_file(const char *path)
{
    FILE *file = fopen(path, "rb");
    char *text = NULL;
    long size;

    if (file == NULL)
        return NULL;
    if (fseek(file, 0, SEEK_END) == 0 && (size = ftell(file)) >= 0 &&
        fseek(file, 0, SEEK_SET) == 0 && (text = calloc(1, (size_t)size + 1)) != NULL &&
        fread(text, 1, (size_t)size, file) != (size_t)size) {
        free(text);
        text = NULL;
    }
    fclose(file);
    return text;
}

static const char *string_field(const cJSON *object, const char *name)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(object, name);

    return cJSON_IsString(item) ? item->valuestring : NULL;
}

/* An integer field, or missing when there is none; -2 when it is not a number. */
static int int_field(const cJSON *object, const char *name, int missing)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(object, name);

    if (item == NULL)
        return missing;
    return cJSON_IsNumber(item) ? item->valueint : -2;
}

static int hex_to_bytes(const char *hex, uint8_t *bytes, size_t size, size_t *len)
{
    size_t digits = strlen(hex);

    if (digits % 2 != 0 || digits / 2 > size)
        return -1;
    for (size_t i = 0; i < digits / 2; i++) {
        unsigned value;

        if (sscanf(hex + 2 * i, "%2x", &value) != 1)
            return -1;
        bytes[i] = (uint8_t)value;
    }
    *len = digits / 2;
    return 0;
}

static int load_vector(const cJSON *request, struct vector *vector)
{
    vector->name = string_field(request, "name");
    vector->kind = string_field(request, "kind");
    vector->chain_id = string_field(request, "chain_id");
    vector->digest = string_field(request, "digest");
    vector->hex = string_field(request, "hex");
    vector->level = int_field(request, "level", -2);
    vector->round = int_field(request, "round", -2);
    vector->slot = int_field(request, "slot", -1);
    if (vector->name == NULL || vector->kind == NULL || vector->chain_id == NULL ||
        vector->digest == NULL || vector->hex == NULL || vector->level < 0 || vector->round < 0 ||
        vector->slot < -1)
        return -1;
    return hex_to_bytes(vector->hex, vector->bytes, sizeof vector->bytes, &vector->len);
}

int vectors_load(struct vectors *vectors)
{
    const char *path = getenv("TZWM_VECTORS");
    const cJSON *requests, *request;
    char *text;

    memset(vectors, 0, sizeof *vectors);
    if (path == NULL || (text = read_file(path)) == NULL) {
        fprintf(stderr, "cannot read the vectors file (TZWM_VECTORS=%s)\n", path ? path : "unset");
        return -1;
    }
    vectors->document = cJSON_Parse(text);
    free(text);
    requests = cJSON_GetObjectItemCaseSensitive(vectors->document, "requests");
    if (!cJSON_IsArray(requests)) {
        fprintf(stderr, "%s: no \"requests\" array\n", path);
        return -1;
    }
    cJSON_ArrayForEach(request, requests)
    {
        if (vectors->count == sizeof vectors->items / sizeof vectors->items[0] ||
            load_vector(request, &vectors->items[vectors->count]) != 0) {
            fprintf(stderr, "%s: request %zu is malformed (or too many)\n", path, vectors->count);
            return -1;
        }
        vectors->count++;
    }
    return vectors->count > 0 ? 0 : -1;
}

void vectors_free(struct vectors *vectors)
{
    cJSON_Delete(vectors->document);
    vectors->document = NULL;
}
