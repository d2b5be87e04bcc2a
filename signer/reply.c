/*
 * The JSON the signer answers with. Errors take the shape of an Octez error trace, a list of
 * {"kind", "id", "msg"}, which octez-client prints as it prints its own signer's errors.
 */
#include "signer.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>

void reply_json(struct reply *reply, unsigned status, const char *outcome, char *body)
{
    reply->status = status;
    reply->outcome = outcome;
    reply->body = body;
}

void reply_error(struct reply *reply, unsigned status, const char *outcome, const char *id,
                 const char *format, ...)
{
    char message[768], full_id[96];
    cJSON *trace = cJSON_CreateArray(), *error = cJSON_CreateObject();
    va_list arguments;

    va_start(arguments, format);
    vsnprintf(message, sizeof message, format, arguments);
    va_end(arguments);
    snprintf(full_id, sizeof full_id, "tzwm.signer.%s", id);
    cJSON_AddItemToArray(trace, error);
    /* Temporary: the same request may succeed later (the store came back); permanent otherwise. */
    cJSON_AddStringToObject(error, "kind", status == 503 ? "temporary" : "permanent");
    cJSON_AddStringToObject(error, "id", full_id);
    cJSON_AddStringToObject(error, "msg", message);
    reply_json(reply, status, outcome, cJSON_PrintUnformatted(trace));
    cJSON_Delete(trace);
}
