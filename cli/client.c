/* What every PKCS#11 client of the module needs: load it and find a token. */
#include "cli.h"

#include <dlfcn.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int client_module_load(struct client_module *module, const char *path, char *error,
                       size_t error_size)
{
    CK_C_GetFunctionList get_function_list;
    CK_RV rv;

    module->p11 = NULL;
    module->handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (module->handle == NULL) {
        snprintf(error, error_size, "cannot load module '%s': %s", path, dlerror());
        return -1;
    }
    *(void **)&get_function_list = dlsym(module->handle, "C_GetFunctionList");
    if (get_function_list == NULL) {
        snprintf(error, error_size, "'%s' is not a PKCS#11 module (no C_GetFunctionList)", path);
        goto fail;
    }
    rv = get_function_list(&module->p11);
    if (rv != CKR_OK || module->p11 == NULL) {
        snprintf(error, error_size, "'%s': C_GetFunctionList failed (0x%lx)", path, rv);
        goto fail;
    }
    return 0;
fail:
    client_module_unload(module);
    return -1;
}

void client_module_unload(struct client_module *module)
{
    if (module->handle != NULL)
        dlclose(module->handle);
    module->handle = NULL;
    module->p11 = NULL;
}

const char *client_field(const CK_UTF8CHAR *field, size_t size, char *out, size_t out_size)
{
    while (size > 0 && (field[size - 1] == ' ' || field[size - 1] == '\0'))
        size--;
    if (size >= out_size)
        size = out_size - 1;
    memcpy(out, field, size);
    out[size] = '\0';
    return out;
}

CK_RV client_slot_list(CK_FUNCTION_LIST_PTR p11, CK_BBOOL token_present, CK_SLOT_ID **slots,
                       CK_ULONG *count)
{
    CK_RV rv;

    *slots = NULL;
    *count = 0;
    rv = p11->C_GetSlotList(token_present, NULL, count);
    if (rv != CKR_OK)
        return rv;
    *slots = calloc(*count ? *count : 1, sizeof **slots);
    if (*slots == NULL)
        return CKR_HOST_MEMORY;
    rv = p11->C_GetSlotList(token_present, *slots, count);
    if (rv != CKR_OK) {
        free(*slots);
        *slots = NULL;
    }
    return rv;
}

CK_RV client_find_slot(CK_FUNCTION_LIST_PTR p11, const char *label, CK_SLOT_ID *slot)
{
    CK_SLOT_ID *slots;
    CK_ULONG count;
    CK_RV rv = client_slot_list(p11, CK_TRUE, &slots, &count);

    if (rv != CKR_OK)
        return rv;
    rv = CKR_TOKEN_NOT_PRESENT;
    for (CK_ULONG i = 0; i < count; i++) {
        CK_TOKEN_INFO info;
        char text[sizeof info.label + 1];

        if (p11->C_GetTokenInfo(slots[i], &info) != CKR_OK)
            continue;
        if (strcmp(client_field(info.label, sizeof info.label, text, sizeof text), label) == 0) {
            *slot = slots[i];
            rv = CKR_OK;
            break;
        }
    }
    free(slots);
    return rv;
}

const char *client_default_module(char *out, size_t out_size)
{
    char self[4096];
    ssize_t length = readlink("/proc/self/exe", self, sizeof self - 1);

    if (length <= 0) {
        snprintf(out, out_size, "libtzwm.so");
        return out;
    }
    self[length] = '\0';
    snprintf(out, out_size, "%s/libtzwm.so", dirname(self));
    return out;
}
