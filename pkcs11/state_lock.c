/*
 * The module-state lock, and how it honours the application's locking arguments.
 *
 * PKCS#11 2.40 (C_Initialize): mutex callbacks WITHOUT CKF_OS_LOCKING_OK mean the library must
 * lock through them or answer CKR_CANT_LOCK; with CKF_OS_LOCKING_OK (or no arguments) it may use
 * the operating system's primitives. tzwm:
 *
 * - Always has its own pthread mutex and condition variable. They cannot be the application's:
 *   the state exists before C_Initialize and after C_Finalize (a call then must still answer
 *   CKR_CRYPTOKI_NOT_INITIALIZED), fork() handlers need a lock no application thread can hold in
 *   the child, and C_Finalize and C_CloseSession must sleep until a gate ends, for which PKCS#11
 *   offers no callback (there is no condition variable among the four). On Linux pthreads are
 *   always there, so refusing with CKR_CANT_LOCK would turn signers away for nothing.
 * - With the callbacks only, it also makes one mutex through CreateMutex at C_Initialize, takes
 *   it (LockMutex) around every access to its state until C_Finalize, and destroys it there: the
 *   application's locking sees and orders everything tzwm does, as the standard asks.
 * - With CKF_OS_LOCKING_OK, or no arguments, it uses its own mutex alone. In every case the
 *   arguments go to the real module unchanged, which then decides the same for itself.
 *
 * Order: the application's mutex first, then the pthread mutex. A wait lets both go and takes
 * them again in that order, so no thread ever waits for the application's mutex while holding
 * the pthread one.
 */
#include "module.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

/* The application's mutex and the callbacks that lock it. */
struct app_mutex {
    void *mutex;
    pid_t pid; /* the process that made it: a child of fork() never uses its parent's */
    CK_LOCKMUTEX lock;
    CK_UNLOCKMUTEX unlock;
    CK_DESTROYMUTEX destroy;
};

static struct {
    pthread_mutex_t os;
    pthread_cond_t idle;
    /* While up with callbacks only: written with both locks held, read atomically before they
     * are taken. */
    struct app_mutex *app;
} state_lock_data = {
    .os = PTHREAD_MUTEX_INITIALIZER,
    .idle = PTHREAD_COND_INITIALIZER,
};

/* The application's mutex this thread took with the lock, if any: what state_unlock lets go even
 * when C_Initialize or C_Finalize changed the mutex in use meanwhile. */
static _Thread_local struct app_mutex *held_app_mutex;

static struct app_mutex *app_mutex_in_use(void)
{
    struct app_mutex *app = __atomic_load_n(&state_lock_data.app, __ATOMIC_ACQUIRE);

    /* In a child of fork(), the parent's application threads may have held it: never used. */
    return app != NULL && app->pid == getpid() ? app : NULL;
}

static void take(struct app_mutex *app)
{
    if (app != NULL)
        app->lock(app->mutex);
    pthread_mutex_lock(&state_lock_data.os);
    held_app_mutex = app;
}

void state_lock(void)
{
    take(app_mutex_in_use());
}

void state_unlock(void)
{
    struct app_mutex *app = held_app_mutex;

    held_app_mutex = NULL;
    pthread_mutex_unlock(&state_lock_data.os);
    if (app != NULL)
        app->unlock(app->mutex);
}

void state_wait_idle(void)
{
    struct app_mutex *app = held_app_mutex;

    if (app == NULL) {
        pthread_cond_wait(&state_lock_data.idle, &state_lock_data.os);
        return;
    }
    /* Still holding the pthread mutex, no gate can end and broadcast before this thread waits. */
    app->unlock(app->mutex);
    pthread_cond_wait(&state_lock_data.idle, &state_lock_data.os);
    pthread_mutex_unlock(&state_lock_data.os);
    take(app);
}

void state_signal_idle(void)
{
    pthread_cond_broadcast(&state_lock_data.idle);
}

CK_RV state_lock_make_app_mutex(const CK_C_INITIALIZE_ARGS *args, struct app_mutex **made)
{
    struct app_mutex *app;
    CK_RV rv;

    *made = NULL;
    if (args == NULL || args->CreateMutex == NULL || (args->flags & CKF_OS_LOCKING_OK))
        return CKR_OK;
    app = calloc(1, sizeof *app);
    if (app == NULL)
        return CKR_HOST_MEMORY;
    *app =
        (struct app_mutex){NULL, getpid(), args->LockMutex, args->UnlockMutex, args->DestroyMutex};
    rv = args->CreateMutex(&app->mutex);
    if (rv != CKR_OK) {
        free(app);
        return rv;
    }
    *made = app;
    return CKR_OK;
}

void state_lock_use_app_mutex_locked(struct app_mutex *app)
{
    __atomic_store_n(&state_lock_data.app, app, __ATOMIC_RELEASE);
}

struct app_mutex *state_lock_drop_app_mutex_locked(void)
{
    struct app_mutex *app = app_mutex_in_use();

    __atomic_store_n(&state_lock_data.app, NULL, __ATOMIC_RELEASE);
    return app;
}

void state_lock_destroy_app_mutex(struct app_mutex *app)
{
    if (app == NULL)
        return;
    app->destroy(app->mutex);
    free(app);
}

/* fork() copies the pthread mutex in whatever state another thread left it: take it across the
 * fork so that the child's copy is always free. (The application's mutex is not taken: the
 * child never uses it.) */
static void fork_prepare(void)
{
    pthread_mutex_lock(&state_lock_data.os);
}

static void fork_release(void)
{
    pthread_mutex_unlock(&state_lock_data.os);
}

static void register_fork_handlers(void)
{
    pthread_atfork(fork_prepare, fork_release, fork_release);
}

void state_lock_guard_fork(void)
{
    static pthread_once_t fork_handlers = PTHREAD_ONCE_INIT;

    pthread_once(&fork_handlers, register_fork_handlers);
}

struct app_mutex *state_lock_start_in_child_locked(void)
{
    /* The parent's waiters are not in this process. */
    pthread_cond_init(&state_lock_data.idle, NULL);
    return __atomic_exchange_n(&state_lock_data.app, NULL, __ATOMIC_ACQ_REL);
}
