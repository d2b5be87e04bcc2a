/* The sign operation of each session, from C_SignInit to its end. The caller holds the lock. */
#include "module.h"

#include <stdlib.h>
#include <string.h>

struct sign_table {
    struct sign_operation **items;
    size_t count, capacity;
    uint64_t last_serial;
};

struct sign_table *sign_table_new(void)
{
    return calloc(1, sizeof(struct sign_table));
}

void sign_operation_clear(struct sign_operation *operation)
{
    /* The parts may be a whole request: nothing of it outlives the operation. */
    if (operation->data != NULL)
        memset(operation->data, 0, operation->capacity);
    free(operation->data);
    operation->data = NULL;
    operation->length = operation->capacity = 0;
    tezos_verifier_free(operation->verifier);
    operation->verifier = NULL;
}

static void operation_free(struct sign_operation *operation)
{
    if (operation == NULL)
        return;
    sign_operation_clear(operation);
    free(operation);
}

void sign_table_free(struct sign_table *table)
{
    if (table == NULL)
        return;
    for (size_t i = 0; i < table->count; i++)
        operation_free(table->items[i]);
    free(table->items);
    free(table);
}

static size_t index_of(const struct sign_table *table, CK_SESSION_HANDLE session)
{
    size_t i;

    for (i = 0; i < table->count && table->items[i]->session != session; i++)
        ;
    return i;
}

struct sign_operation *sign_table_find(struct sign_table *table, CK_SESSION_HANDLE session)
{
    size_t i = index_of(table, session);

    return i < table->count ? table->items[i] : NULL;
}

CK_RV sign_table_add(struct sign_table *table, struct sign_operation *operation)
{
    struct sign_operation *copy;

    if (table->count == table->capacity) {
        size_t capacity = table->capacity ? 2 * table->capacity : 8;
        struct sign_operation **items = realloc(table->items, capacity * sizeof *items);

        if (items == NULL)
            return CKR_HOST_MEMORY;
        table->items = items;
        table->capacity = capacity;
    }
    copy = malloc(sizeof *copy);
    if (copy == NULL)
        return CKR_HOST_MEMORY;
    *copy = *operation;
    copy->serial = ++table->last_serial;
    copy->data = NULL;
    copy->length = copy->capacity = 0;
    operation->verifier = NULL;
    table->items[table->count++] = copy;
    return CKR_OK;
}

CK_RV sign_operation_append(struct sign_operation *operation, const uint8_t *part, size_t length)
{
    if (length > SIGN_DATA_MAX - operation->length)
        return CKR_DATA_LEN_RANGE;
    if (operation->length + length > operation->capacity) {
        size_t capacity = operation->capacity ? operation->capacity : 256;
        uint8_t *data;

        while (capacity < operation->length + length)
            capacity *= 2;
        if (capacity > SIGN_DATA_MAX)
            capacity = SIGN_DATA_MAX;
        data = malloc(capacity);
        if (data == NULL)
            return CKR_HOST_MEMORY;
        if (operation->length > 0)
            memcpy(data, operation->data, operation->length);
        if (operation->data != NULL)
            memset(operation->data, 0, operation->capacity);
        free(operation->data);
        operation->data = data;
        operation->capacity = capacity;
    }
    if (length > 0)
        memcpy(operation->data + operation->length, part, length);
    operation->length += length;
    return CKR_OK;
}

static void remove_at(struct sign_table *table, size_t i)
{
    operation_free(table->items[i]);
    table->items[i] = table->items[--table->count];
}

void sign_table_remove(struct sign_table *table, CK_SESSION_HANDLE session)
{
    size_t i = index_of(table, session);

    if (i < table->count)
        remove_at(table, i);
}

bool sign_table_busy(struct sign_table *table, CK_SESSION_HANDLE session)
{
    const struct sign_operation *operation = sign_table_find(table, session);

    return operation != NULL && operation->busy;
}

bool sign_table_slot_busy(struct sign_table *table, CK_SLOT_ID slot)
{
    for (size_t i = 0; i < table->count; i++) {
        if (table->items[i]->slot == slot && table->items[i]->busy)
            return true;
    }
    return false;
}

void sign_table_end(struct sign_table *table, CK_SESSION_HANDLE session, uint64_t serial)
{
    size_t i = index_of(table, session);

    if (i < table->count && table->items[i]->serial == serial)
        remove_at(table, i);
}

void sign_table_remove_slot(struct sign_table *table, CK_SLOT_ID slot)
{
    for (size_t i = 0; i < table->count;) {
        if (table->items[i]->slot == slot)
            remove_at(table, i);
        else
            i++;
    }
}
