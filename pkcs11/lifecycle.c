/*
 * The module state and the calls that change it: C_Initialize and C_Finalize.
 *
 * One struct behind one lock (state_lock.c). The lock guards the state only: it is never held
 * while the real module or the network is called, so a slow token or a slow store never blocks
 * another session.
 * A getpid() stamp makes the state belong to the process that initialized it: a child forked
 * from an initialized parent is not initialized until it calls C_Initialize itself.
 */
#include "module.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

struct module_state module_state = {
    .phase = PHASE_DOWN,
};

/* What tzwm holds while it is up, made by C_Initialize and released by C_Finalize. */
struct resources {
    struct policy *policy;
    struct gate_store *store;
    struct sign_table *operations;
    struct key_cache *keys;
};

bool lifecycle_up_locked(void)
{
    return module_state.phase == PHASE_UP && module_state.pid == getpid();
}

CK_RV lifecycle_check(void)
{
    bool up;

    state_lock();
    up = lifecycle_up_locked();
    state_unlock();
    return up ? CKR_OK : CKR_CRYPTOKI_NOT_INITIALIZED;
}

CK_RV init_args_check(CK_VOID_PTR init_args)
{
    const CK_C_INITIALIZE_ARGS *args = init_args;
    int callbacks;

    if (args == NULL)
        return CKR_OK;
    if (args->pReserved != NULL)
        return CKR_ARGUMENTS_BAD;
    callbacks = (args->CreateMutex != NULL) + (args->DestroyMutex != NULL) +
                (args->LockMutex != NULL) + (args->UnlockMutex != NULL);
    return callbacks == 0 || callbacks == 4 ? CKR_OK : CKR_ARGUMENTS_BAD;
}

/* The length of a blank-padded PKCS#11 text field without its padding. */
static int unpadded(const CK_UTF8CHAR *field, size_t size)
{
    while (size > 0 && field[size - 1] == ' ')
        size--;
    return (int)size;
}

/* One line that tells an operator which token tzwm stands in front of. */
static void log_real_module(const CK_FUNCTION_LIST *real)
{
    CK_INFO info;

    if (real->C_GetInfo(&info) != CKR_OK)
        return;
    log_info("tzwm %s initialized over '%s': %.*s %.*s (Cryptoki %u.%u)", TZWM_VERSION,
             real_module_path(), unpadded(info.manufacturerID, sizeof info.manufacturerID),
             info.manufacturerID, unpadded(info.libraryDescription, sizeof info.libraryDescription),
             info.libraryDescription, info.cryptokiVersion.major, info.cryptokiVersion.minor);
}

/* What the state holds, moved out of it (the state is left holding nothing). */
static struct resources resources_take_locked(void)
{
    struct resources held = {module_state.policy, module_state.store, module_state.operations,
                             module_state.keys};

    module_state.policy = NULL;
    module_state.store = NULL;
    module_state.operations = NULL;
    module_state.keys = NULL;
    return held;
}

/* What a child forked from an initialized parent inherited and must never release (see
 * lifecycle_initialize), one generation per fork, newest first. Kept, not forgotten, so that it
 * stays reachable: a leak checker then tells it from a leak (`used`: the compiler keeps a store
 * that nothing reads). */
struct inheritance {
    struct resources held;
    struct app_mutex *app_mutex;
    struct inheritance *older;
};
static struct inheritance *inherited_at_fork __attribute__((used));

/* With the lock held, in a child: the parent's resources and mutex set aside, the state empty. */
static void set_inheritance_aside_locked(void)
{
    struct inheritance *inheritance = malloc(sizeof *inheritance);
    struct resources held = resources_take_locked();
    struct app_mutex *app_mutex = state_lock_start_in_child_locked();

    /* Out of memory, they are dropped all the same: only a leak checker could tell. */
    if (inheritance == NULL)
        return;
    *inheritance = (struct inheritance){held, app_mutex, inherited_at_fork};
    inherited_at_fork = inheritance;
}

static void resources_release(struct resources *held)
{
    gate_store_close(held->store);
    sign_table_free(held->operations);
    key_cache_free(held->keys);
    policy_free(held->policy);
    memset(held, 0, sizeof *held);
}

/* The policy, the store (its table ensured, which may take up to the store's deadline) and the
 * empty tables. CKR_GENERAL_ERROR for a policy that cannot be read: tzwm never guesses what an
 * operator meant to allow. */
static CK_RV resources_make(struct resources *made)
{
    char error[512];

    memset(made, 0, sizeof *made);
    made->policy = policy_from_env(error, sizeof error);
    if (made->policy == NULL) {
        log_error("%s", error);
        return CKR_GENERAL_ERROR;
    }
    made->store = gate_store_open();
    made->operations = sign_table_new();
    made->keys = key_cache_new();
    if (made->store == NULL || made->operations == NULL || made->keys == NULL) {
        resources_release(made);
        return CKR_HOST_MEMORY;
    }
    return CKR_OK;
}

CK_RV lifecycle_initialize(CK_VOID_PTR init_args)
{
    const CK_FUNCTION_LIST *real;
    struct resources made = {0};
    struct app_mutex *app_mutex = NULL;
    pid_t pid = getpid();
    bool inherited;
    CK_RV rv;

    state_lock_guard_fork();
    rv = init_args_check(init_args);
    if (rv != CKR_OK)
        goto out;

    state_lock();
    if (module_state.pid == pid && module_state.phase != PHASE_DOWN) {
        state_unlock();
        rv = CKR_CRYPTOKI_ALREADY_INITIALIZED;
        goto out;
    }
    /* A phase stamped by another process came through fork(): the child starts over. What the
     * parent held is set aside, never released: the store's connections are the parent's
     * sockets, and closing them here could write on them. */
    inherited = module_state.phase != PHASE_DOWN;
    module_state.phase = PHASE_CHANGING;
    module_state.pid = pid;
    if (inherited) {
        set_inheritance_aside_locked();
        /* The parent's signers are not in this process. */
        module_state.in_flight = 0;
    }
    state_unlock();

    log_configure();
    real = real_module();
    if (real == NULL) {
        log_error("%s", real_module_error());
        rv = CKR_GENERAL_ERROR;
        goto done;
    }
    rv = resources_make(&made);
    if (rv != CKR_OK)
        goto done;
    rv = state_lock_make_app_mutex(init_args, &app_mutex);
    if (rv != CKR_OK) {
        log_error("the application's CreateMutex failed with %s", ckr_name(rv));
        goto done;
    }
    rv = real->C_Initialize(init_args);
    if (rv == CKR_CRYPTOKI_ALREADY_INITIALIZED && inherited) {
        /* A real module that does not notice fork() still holds the parent's initialization;
         * it serves the child as it is. */
        log_info("the real module kept its initialization across fork()");
        rv = CKR_OK;
    }
    if (rv == CKR_OK)
        log_real_module(real);
    else
        log_error("the real module's C_Initialize failed with %s", ckr_name(rv));

done:
    if (rv != CKR_OK) {
        resources_release(&made);
        state_lock_destroy_app_mutex(app_mutex);
    }
    state_lock();
    module_state.phase = rv == CKR_OK ? PHASE_UP : PHASE_DOWN;
    if (rv == CKR_OK) {
        module_state.policy = made.policy;
        module_state.store = made.store;
        module_state.operations = made.operations;
        module_state.keys = made.keys;
        state_lock_use_app_mutex_locked(app_mutex);
    }
    state_unlock();
out:
    return rv;
}

CK_RV lifecycle_finalize(CK_VOID_PTR reserved)
{
    const CK_FUNCTION_LIST *real;
    struct resources held;
    struct app_mutex *app_mutex = NULL;
    CK_RV rv;

    state_lock();
    if (!lifecycle_up_locked()) {
        state_unlock();
        rv = CKR_CRYPTOKI_NOT_INITIALIZED;
        goto out;
    }
    if (reserved != NULL) {
        state_unlock();
        rv = CKR_ARGUMENTS_BAD;
        goto out;
    }
    module_state.phase = PHASE_CHANGING;
    real = real_module();
    /* Signatures under way finish first: they use the store C_Finalize is about to release. */
    while (module_state.in_flight > 0)
        state_wait_idle();
    state_unlock();

    rv = real->C_Finalize(NULL);

    state_lock();
    /* The real module already finalized (by another user in this process) is down too. */
    if (rv == CKR_OK || rv == CKR_CRYPTOKI_NOT_INITIALIZED) {
        module_state.phase = PHASE_DOWN;
        held = resources_take_locked();
        app_mutex = state_lock_drop_app_mutex_locked();
    } else {
        module_state.phase = PHASE_UP;
        memset(&held, 0, sizeof held);
    }
    state_unlock();
    resources_release(&held);
    state_lock_destroy_app_mutex(app_mutex);

    if (rv == CKR_OK) {
        log_info("tzwm finalized");
        log_close();
    } else {
        log_error("the real module's C_Finalize failed with %s", ckr_name(rv));
    }
out:
    return rv;
}
