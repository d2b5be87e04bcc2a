/* Deadlines are measured on the monotonic clock: a wall-clock step must not stretch or cut one. */
#define TZWM_WATERMARK_INTERNAL
#include "watermark.h"

#include <time.h>

int64_t watermark_now_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}
