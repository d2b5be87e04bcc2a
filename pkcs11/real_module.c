/*
 * The real token's module: named by TZWM_MODULE, opened once per process with
 * RTLD_NOW | RTLD_LOCAL (every symbol resolved up front, none leaking into the application's
 * namespace), and closed only when tzwm itself is unloaded, so that an application that
 * finalizes and initializes again keeps talking to the same loaded module.
 */
#define _GNU_SOURCE /* dladdr */
#include "module.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct {
    pthread_once_t once;
    void *handle;
    bool loaded;
    /* Exactly a 2.x list: a 3.x module (SoftHSM 2.7+) hands out a 2.x-sized list even when it
     * reports version 3, and tzwm offers 2.40 only. */
    CK_FUNCTION_LIST list;
    char path[512];
    char error[512];
} real = {.once = PTHREAD_ONCE_INIT};

static void fail(const char *format, ...) __attribute__((format(printf, 1, 2)));

static void fail(const char *format, ...)
{
    va_list args;

    va_start(args, format);
    vsnprintf(real.error, sizeof real.error, format, args);
    va_end(args);
}

/* True when function lives in this very shared object: TZWM_MODULE naming tzwm would recurse. */
static bool is_ours(void *function)
{
    Dl_info theirs, ours;

    return dladdr(function, &theirs) != 0 && dladdr((void *)&real, &ours) != 0 &&
           theirs.dli_fbase == ours.dli_fbase;
}

static void load(void)
{
    const char *path = getenv("TZWM_MODULE");
    CK_C_GetFunctionList get_function_list;
    CK_FUNCTION_LIST_PTR list = NULL;
    CK_RV rv;

    if (path == NULL || *path == '\0') {
        fail("TZWM_MODULE is not set: set it to the path of the real token's PKCS#11 module "
             "(for SoftHSMv2: /usr/lib/softhsm/libsofthsm2.so)");
        return;
    }
    snprintf(real.path, sizeof real.path, "%s", path);
    real.handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (real.handle == NULL) {
        fail("cannot load TZWM_MODULE '%s': %s", path, dlerror());
        return;
    }
    *(void **)&get_function_list = dlsym(real.handle, "C_GetFunctionList");
    if (get_function_list == NULL) {
        fail("TZWM_MODULE '%s' is not a PKCS#11 module: it has no C_GetFunctionList", path);
        goto close;
    }
    if (is_ours(*(void **)&get_function_list)) {
        fail("TZWM_MODULE '%s' is tzwm itself: point it at the real token's module", path);
        goto close;
    }
    rv = get_function_list(&list);
    if (rv != CKR_OK || list == NULL) {
        fail("TZWM_MODULE '%s': C_GetFunctionList failed with %s", path, ckr_name(rv));
        goto close;
    }
    if (list->version.major < 2) {
        fail("TZWM_MODULE '%s' implements Cryptoki %u.%u: tzwm needs 2.x or later", path,
             list->version.major, list->version.minor);
        goto close;
    }
    memcpy(&real.list, list, sizeof real.list);
    real.loaded = true;
    return;

close:
    dlclose(real.handle);
    real.handle = NULL;
}

const CK_FUNCTION_LIST *real_module(void)
{
    pthread_once(&real.once, load);
    return real.loaded ? &real.list : NULL;
}

const char *real_module_path(void)
{
    pthread_once(&real.once, load);
    return real.path;
}

const char *real_module_error(void)
{
    pthread_once(&real.once, load);
    return real.error;
}

__attribute__((destructor)) static void unload(void)
{
    if (real.handle != NULL)
        dlclose(real.handle);
}
