/* The seeded schedule every signer follows: the same (level, round) at the same step. */
#include "race.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

uint64_t race_seed(void)
{
    const char *given = getenv("TZWM_RACE_SEED");
    struct timespec now;
    uint64_t seed;

    if (given != NULL && *given != '\0') {
        seed = strtoull(given, NULL, 0);
    } else {
        clock_gettime(CLOCK_REALTIME, &now);
        seed = (uint64_t)now.tv_sec * 1000000007u ^ (uint64_t)now.tv_nsec ^ (uint64_t)getpid();
    }
    printf("seed %" PRIu64 " (TZWM_RACE_SEED=%" PRIu64 " repeats this run)\n", seed, seed);
    fflush(stdout);
    return seed;
}

/* splitmix64: small, seeded, the same everywhere. */
static uint64_t next_random(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15u);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

void race_schedule(uint64_t seed, struct race_step *steps, size_t count)
{
    uint64_t state = seed;

    for (size_t i = 0; i < count; i++) {
        steps[i].level = (int32_t)(1 + i / 2);
        steps[i].round = (int32_t)(next_random(&state) % 4);
    }
}
