#include "bench.h"

#include <time.h>

static double seconds(clockid_t clock)
{
    struct timespec now;

    clock_gettime(clock, &now);
    return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

double bench_now(void)
{
    return seconds(CLOCK_MONOTONIC);
}

double bench_thread_cpu(void)
{
    return seconds(CLOCK_THREAD_CPUTIME_ID);
}
