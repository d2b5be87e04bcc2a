/*
 * The module state and the calls that change it: C_Initialize and C_Finalize.
 *
 * One struct behind one mutex. The mutex guards the state only: it is never held while the real
 * module or the network is called, so a slow token or a slow store never blocks another session.
 * A getpid() stamp makes the state belong to the process that initialized it: a child forked
 * from an initialized parent is not initialized until it calls C_Initialize itself.
 */
#include "module.h"

#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

enum phase {
    PHASE_DOWN,     /* not initialized */
    PHASE_CHANGING, /* a C_Initialize or C_Finalize is calling the real module */
    PHASE_UP,
};

static struct module_state {
    pthread_mutex_t lock;
    enum phase phase;
    pid_t pid; /* the process the phase belongs to */
} state = {.lock = PTHREAD_MUTEX_INITIALIZER, .phase = PHASE_DOWN};

/* fork() copies the mutex in whatever state another thread left it: take it across the fork so
 * that the child's copy is always free. */
static void fork_prepare(void)
{
    pthread_mutex_lock(&state.lock);
}

static void fork_release(void)
{
    pthread_mutex_unlock(&state.lock);
}

static void register_fork_handlers(void)
{
    pthread_atfork(fork_prepare, fork_release, fork_release);
}

static bool up_in_this_process_locked(void)
{
    return state.phase == PHASE_UP && state.pid == getpid();
}

CK_RV lifecycle_check(void)
{
    bool up;

    pthread_mutex_lock(&state.lock);
    up = up_in_this_process_locked();
    pthread_mutex_unlock(&state.lock);
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
    log_info("tzwm %s initialized over %.*s %.*s (Cryptoki %u.%u)", TZWM_VERSION,
             unpadded(info.manufacturerID, sizeof info.manufacturerID), info.manufacturerID,
             unpadded(info.libraryDescription, sizeof info.libraryDescription),
             info.libraryDescription, info.cryptokiVersion.major, info.cryptokiVersion.minor);
}

CK_RV lifecycle_initialize(CK_VOID_PTR init_args)
{
    static pthread_once_t fork_handlers = PTHREAD_ONCE_INIT;
    const CK_FUNCTION_LIST *real;
    pid_t pid = getpid();
    bool inherited;
    CK_RV rv;

    pthread_once(&fork_handlers, register_fork_handlers);
    log_configure();
    real = real_module();
    if (real == NULL) {
        log_error("%s", real_module_error());
        rv = CKR_GENERAL_ERROR;
        goto out;
    }

    pthread_mutex_lock(&state.lock);
    if (state.pid == pid && state.phase != PHASE_DOWN) {
        pthread_mutex_unlock(&state.lock);
        rv = CKR_CRYPTOKI_ALREADY_INITIALIZED;
        goto out;
    }
    rv = init_args_check(init_args);
    if (rv != CKR_OK) {
        pthread_mutex_unlock(&state.lock);
        goto out;
    }
    /* A phase stamped by another process came through fork(): the child starts over. */
    inherited = state.phase != PHASE_DOWN;
    state.phase = PHASE_CHANGING;
    state.pid = pid;
    pthread_mutex_unlock(&state.lock);

    rv = real->C_Initialize(init_args);
    if (rv == CKR_CRYPTOKI_ALREADY_INITIALIZED && inherited) {
        /* A real module that does not notice fork() still holds the parent's initialization;
         * it serves the child as it is. */
        log_debug("the real module kept its initialization across fork()");
        rv = CKR_OK;
    }

    pthread_mutex_lock(&state.lock);
    state.phase = rv == CKR_OK ? PHASE_UP : PHASE_DOWN;
    pthread_mutex_unlock(&state.lock);

    if (rv == CKR_OK)
        log_real_module(real);
    else
        log_error("the real module's C_Initialize failed with %s", ckr_name(rv));
out:
    return rv;
}

CK_RV lifecycle_finalize(CK_VOID_PTR reserved)
{
    const CK_FUNCTION_LIST *real = real_module();
    CK_RV rv;

    pthread_mutex_lock(&state.lock);
    if (!up_in_this_process_locked()) {
        pthread_mutex_unlock(&state.lock);
        rv = CKR_CRYPTOKI_NOT_INITIALIZED;
        goto out;
    }
    if (reserved != NULL) {
        pthread_mutex_unlock(&state.lock);
        rv = CKR_ARGUMENTS_BAD;
        goto out;
    }
    state.phase = PHASE_CHANGING;
    pthread_mutex_unlock(&state.lock);

    rv = real->C_Finalize(NULL);

    pthread_mutex_lock(&state.lock);
    /* The real module already finalized (by another user in this process) is down too. */
    state.phase = rv == CKR_OK || rv == CKR_CRYPTOKI_NOT_INITIALIZED ? PHASE_DOWN : PHASE_UP;
    pthread_mutex_unlock(&state.lock);

    if (rv == CKR_OK) {
        log_info("tzwm finalized");
        log_close();
    } else {
        log_error("the real module's C_Finalize failed with %s", ckr_name(rv));
    }
out:
    return rv;
}
