/*
 * Many threads in one process: two threads per baker key, each with its own session, race
 * different blocks and attestations at the same (level, round) through one tzwm instance; the
 * merged record of all threads is checked as the processes' is.
 *
 *   test_race_threads os         C_Initialize with CKF_OS_LOCKING_OK (and the callbacks, which
 *                                tzwm then leaves alone)
 *   test_race_threads callbacks  C_Initialize with the mutex callbacks only: tzwm (and the real
 *                                module) must lock through them
 */
#include "cli.h"
#include "race.h"
#include "request_builder.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define THREADS_PER_KEY 2
#define THREADS         (RACE_KEYS * THREADS_PER_KEY)
#define STEPS           100
#define KINDS           2

static CK_FUNCTION_LIST_PTR p11;
static struct race_key keys[RACE_KEYS];
static struct race_step steps[STEPS];
static uint8_t chain[4];
static pthread_barrier_t step_barrier;
static struct race_attempt attempts[THREADS][STEPS * KINDS];
static int passed, failed;

static void check(bool ok, const char *what)
{
    printf("%s: %s\n", ok ? "ok" : "FAIL", what);
    ok ? passed++ : failed++;
}

/* ---- The application's mutex callbacks, counted ---- */

static atomic_long created, destroyed, locked, unlocked, misused;

static CK_RV create_mutex(CK_VOID_PTR_PTR mutex)
{
    pthread_mutex_t *made = malloc(sizeof *made);

    if (mutex == NULL || made == NULL) {
        free(made);
        return CKR_HOST_MEMORY;
    }
    pthread_mutex_init(made, NULL);
    *mutex = made;
    created++;
    return CKR_OK;
}

static CK_RV destroy_mutex(CK_VOID_PTR mutex)
{
    if (mutex == NULL || pthread_mutex_destroy(mutex) != 0) {
        misused++;
        return CKR_MUTEX_BAD;
    }
    free(mutex);
    destroyed++;
    return CKR_OK;
}

static CK_RV lock_mutex(CK_VOID_PTR mutex)
{
    if (mutex == NULL || pthread_mutex_lock(mutex) != 0) {
        misused++;
        return CKR_MUTEX_BAD;
    }
    locked++;
    return CKR_OK;
}

static CK_RV unlock_mutex(CK_VOID_PTR mutex)
{
    if (mutex == NULL || pthread_mutex_unlock(mutex) != 0) {
        misused++;
        return CKR_MUTEX_NOT_LOCKED;
    }
    unlocked++;
    return CKR_OK;
}

/* ---- The race ---- */

struct signer {
    int index;
    CK_SESSION_HANDLE session;
};

static void *run_signer(void *argument)
{
    const struct signer *signer = argument;
    int key = signer->index / THREADS_PER_KEY;
    uint8_t variant = (uint8_t)(signer->index % THREADS_PER_KEY), request[BUILDER_MAX];

    for (int s = 0; s < STEPS; s++) {
        for (int kind = 0; kind < KINDS; kind++) {
            struct race_attempt *attempt = &attempts[signer->index][s * KINDS + kind];

            *attempt = (struct race_attempt){.signer = signer->index,
                                             .key = key,
                                             .kind = kind,
                                             .level = steps[s].level,
                                             .round = steps[s].round};
            /* Every thread starts each signature together: the race is at its widest. */
            pthread_barrier_wait(&step_barrier);
            race_sign(p11, signer->session, &keys[key], request,
                      race_request(kind, chain, steps[s].level, steps[s].round, variant, request),
                      attempt);
        }
    }
    return NULL;
}

/* ---- C_Finalize waits for a gate under way ---- */

struct pending {
    CK_SESSION_HANDLE session;
    struct race_attempt attempt;
};

static void *sign_pending(void *argument)
{
    struct pending *pending = argument;
    uint8_t request[BUILDER_MAX];

    race_sign(p11, pending->session, &keys[0], request,
              race_request(RACE_BLOCK, chain, 1000000, 0, 0, request), &pending->attempt);
    return NULL;
}

struct resume {
    pid_t server;
    struct timespec resumed;
};

static void *resume_store_soon(void *argument)
{
    struct resume *resume = argument;

    usleep(300 * 1000);
    clock_gettime(CLOCK_MONOTONIC, &resume->resumed);
    kill(resume->server, SIGCONT);
    return NULL;
}

/* Whether a gate runs on the session: a length query answers CKR_OPERATION_ACTIVE only then (and
 * changes nothing otherwise). Waits up to 30 s for it. */
static bool gate_seen_running(CK_SESSION_HANDLE session)
{
    uint8_t request[BUILDER_MAX];
    size_t length = race_request(RACE_BLOCK, chain, 1000000, 0, 0, request);
    CK_ULONG signature_len;

    for (int i = 0; i < 30000; i++) {
        if (p11->C_Sign(session, request, length, NULL, &signature_len) == CKR_OPERATION_ACTIVE)
            return true;
        usleep(1000);
    }
    return false;
}

/* The store stopped, one thread in the gate: C_Finalize returns only once the store is back and
 * that gate has ended (it waits through the state lock, which takes the application's mutex with
 * callbacks only). The gate cannot end before the store is back; C_Finalize touches no store. */
static void finalize_during_a_gate(CK_SESSION_HANDLE session)
{
    const char *store = getenv("TZWM_STORE_PID");
    struct resume resume = {.server = store != NULL ? (pid_t)atol(store) : 0};
    struct pending pending = {.session = session};
    struct timespec finalized;
    pthread_t signer, resumer;
    bool running;
    CK_RV rv;

    if (resume.server <= 0 || kill(resume.server, SIGSTOP) != 0) {
        check(false, "the store can be stopped (TZWM_STORE_PID)");
        return;
    }
    pthread_create(&signer, NULL, sign_pending, &pending);
    running = gate_seen_running(session);
    pthread_create(&resumer, NULL, resume_store_soon, &resume);
    rv = p11->C_Finalize(NULL);
    clock_gettime(CLOCK_MONOTONIC, &finalized);
    pthread_join(resumer, NULL);
    pthread_join(signer, NULL);
    kill(resume.server, SIGCONT);

    check(running, "a gate ran on the session while the store was stopped");
    check(rv == CKR_OK, "C_Finalize");
    check(pending.attempt.rv == CKR_OK && pending.attempt.verified,
          "the gate under way signed once the store was back");
    check(resume.resumed.tv_sec < finalized.tv_sec || (resume.resumed.tv_sec == finalized.tv_sec &&
                                                       resume.resumed.tv_nsec <= finalized.tv_nsec),
          "C_Finalize waited for the gate under way, so returned after the store was back");
}

/* C_SignInit with a mechanism tzwm refuses itself, before the real module is asked anything:
 * how many times tzwm locked through the callbacks for it. */
static long locks_by_tzwm_alone(CK_SESSION_HANDLE session)
{
    CK_MECHANISM sha256 = {CKM_SHA256, NULL, 0};
    long before = locked;

    check(p11->C_SignInit(session, &sha256, keys[0].handle) == CKR_MECHANISM_INVALID,
          "C_SignInit with SHA-256 is CKR_MECHANISM_INVALID");
    return locked - before;
}

int main(int argc, char **argv)
{
    bool callbacks_only = argc == 2 && strcmp(argv[1], "callbacks") == 0;
    CK_C_INITIALIZE_ARGS args = {create_mutex,
                                 destroy_mutex,
                                 lock_mutex,
                                 unlock_mutex,
                                 callbacks_only ? 0 : CKF_OS_LOCKING_OK,
                                 NULL};
    struct signer signers[THREADS];
    pthread_t threads[THREADS];
    struct client_module module;
    struct race_tally tally;
    char error[1024];
    size_t violations;
    long tzwm_locks;

    if (argc != 2 || (!callbacks_only && strcmp(argv[1], "os") != 0)) {
        fprintf(stderr, "usage: %s os|callbacks\n", argv[0]);
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("locking: %s\n",
           callbacks_only ? "the application's callbacks only" : "CKF_OS_LOCKING_OK");
    race_schedule(race_seed(), steps, STEPS);
    race_chain(chain);
    race_keys_init(keys);
    if (client_module_load(&module, getenv("TZWM_LIBRARY"), error, sizeof error) != 0) {
        fprintf(stderr, "%s\n", error);
        return 1;
    }
    p11 = module.p11;
    if (p11->C_Initialize(&args) != CKR_OK) {
        fprintf(stderr, "C_Initialize failed\n");
        return 1;
    }
    for (int i = 0; i < THREADS; i++) {
        signers[i].index = i;
        /* Logging in one session logs in all of the application's sessions. */
        if (race_open_session(p11, i == 0, &signers[i].session) != 0)
            return 1;
    }
    for (int k = 0; k < RACE_KEYS; k++) {
        if (race_find_key(p11, signers[0].session, &keys[k]) != 0)
            return 1;
    }
    tzwm_locks = locks_by_tzwm_alone(signers[0].session);
    if (callbacks_only)
        check(tzwm_locks > 0, "tzwm locks its own state through the application's callbacks");
    else
        check(tzwm_locks == 0, "with CKF_OS_LOCKING_OK tzwm locks with the OS, not the callbacks");

    pthread_barrier_init(&step_barrier, NULL, THREADS);
    for (int i = 0; i < THREADS; i++) {
        if (pthread_create(&threads[i], NULL, run_signer, &signers[i]) != 0) {
            fprintf(stderr, "pthread_create failed\n");
            return 1;
        }
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(threads[i], NULL);
    pthread_barrier_destroy(&step_barrier);

    violations = race_check(&attempts[0][0], THREADS * STEPS * KINDS, &tally);
    check(violations == 0, "no two different requests signed at one (key, kind, level, round), "
                           "none at or below one signed before");
    check(tally.signed_count > 0, "something was signed");

    finalize_during_a_gate(signers[0].session);
    printf("mutex callbacks: %ld created, %ld destroyed, %ld locks, %ld unlocks\n", (long)created,
           (long)destroyed, (long)locked, (long)unlocked);
    check(misused == 0, "every callback was given a mutex it made, in a state that fits");
    check(locked == unlocked, "every lock through the callbacks was unlocked");
    check(created == destroyed, "C_Finalize destroyed every mutex made through the callbacks");
    if (callbacks_only)
        check(created > 0, "mutexes were made through the callbacks");
    /* The module stays loaded: LeakSanitizer names SoftHSM's own leaks (suppressed by its
     * frames) only while SoftHSM is still mapped at exit. */
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
