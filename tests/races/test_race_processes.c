/*
 * Many signer instances: separate processes, each with its own tzwm instance (forked before the
 * module is loaded, so each loads and initializes its own), its own session on the one shared
 * token and its own DynamoDB connections, like separate signer hosts. At every step all of them
 * sign a different block at the same (level, round) with the same key; a process-shared barrier
 * starts each step together. The parent then checks the merged record of all of them.
 */
#include "cli.h"
#include "race.h"
#include "request_builder.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define SIGNERS 4
#define STEPS   200

struct shared {
    /* SoftHSM processes starting on one token at once sometimes find no token
     * (CKR_TOKEN_NOT_PRESENT, seen here): signers start one at a time, as separate hosts do, and
     * only then race. */
    pthread_mutex_t start;
    pthread_barrier_t step;
    struct race_attempt attempts[SIGNERS][STEPS];
};

/* One signer's whole run; its exit status. A signer that cannot start still meets every step of
 * the barrier (so that the others never wait for it) and reports through its status. */
static int signer(int index, struct shared *shared, const struct race_step *steps,
                  const uint8_t chain[4])
{
    struct client_module module;
    struct race_key keys[RACE_KEYS];
    CK_C_INITIALIZE_ARGS args = {.flags = CKF_OS_LOCKING_OK};
    CK_SESSION_HANDLE session;
    uint8_t request[BUILDER_MAX];
    char error[1024];
    int status = 0;

    race_keys_init(keys);
    pthread_mutex_lock(&shared->start);
    if (client_module_load(&module, getenv("TZWM_LIBRARY"), error, sizeof error) != 0) {
        fprintf(stderr, "signer %d: %s\n", index, error);
        status = 2;
    } else if (module.p11->C_Initialize(&args) != CKR_OK ||
               race_open_session(module.p11, true, &session) != 0) {
        status = 3;
    }
    for (int k = 0; status == 0 && k < RACE_KEYS; k++)
        status = race_find_key(module.p11, session, &keys[k]) == 0 ? 0 : 4;
    pthread_mutex_unlock(&shared->start);

    for (int s = 0; s < STEPS; s++) {
        struct race_attempt *attempt = &shared->attempts[index][s];
        int key = steps[s].level % RACE_KEYS; /* both steps of a level: one key */

        *attempt = (struct race_attempt){.signer = index,
                                         .key = key,
                                         .kind = RACE_BLOCK,
                                         .level = steps[s].level,
                                         .round = steps[s].round,
                                         .rv = CKR_GENERAL_ERROR};
        pthread_barrier_wait(&shared->step);
        if (status == 0)
            race_sign(module.p11, session, &keys[key], request,
                      race_request(RACE_BLOCK, chain, steps[s].level, steps[s].round,
                                   (uint8_t)index, request),
                      attempt);
    }
    if (status == 0 && module.p11->C_Finalize(NULL) != CKR_OK)
        status = 5;
    return status;
}

int main(void)
{
    struct race_step steps[STEPS];
    struct race_tally tally;
    struct shared *shared;
    pthread_barrierattr_t attributes;
    pthread_mutexattr_t mutex_attributes;
    pid_t children[SIGNERS];
    uint8_t chain[4];
    int passed = 0, failed = 0, status;
    size_t violations;

    setvbuf(stdout, NULL, _IOLBF, 0);
    race_schedule(race_seed(), steps, STEPS);
    race_chain(chain);
    shared = mmap(NULL, sizeof *shared, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shared == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    pthread_barrierattr_init(&attributes);
    pthread_barrierattr_setpshared(&attributes, PTHREAD_PROCESS_SHARED);
    pthread_barrier_init(&shared->step, &attributes, SIGNERS);
    pthread_mutexattr_init(&mutex_attributes);
    pthread_mutexattr_setpshared(&mutex_attributes, PTHREAD_PROCESS_SHARED);
    pthread_mutex_init(&shared->start, &mutex_attributes);

    for (int i = 0; i < SIGNERS; i++) {
        children[i] = fork();
        if (children[i] < 0) {
            perror("fork");
            return 1;
        }
        if (children[i] == 0)
            _exit(signer(i, shared, steps, chain));
    }
    for (int i = 0; i < SIGNERS; i++) {
        if (waitpid(children[i], &status, 0) == children[i] && WIFEXITED(status) &&
            WEXITSTATUS(status) == 0) {
            passed++;
        } else {
            printf("FAIL: signer %d ended with status 0x%x\n", i, status);
            failed++;
        }
    }

    violations = race_check(&shared->attempts[0][0], SIGNERS * STEPS, &tally);
    printf("%s: no two different blocks signed at one (key, level, round), none at or below one "
           "signed before\n",
           violations == 0 ? "ok" : "FAIL");
    violations == 0 ? passed++ : failed++;
    /* A run that signs nothing proves nothing. */
    printf("%s: something was signed\n", tally.signed_count > 0 ? "ok" : "FAIL");
    tally.signed_count > 0 ? passed++ : failed++;
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
