#include "bench.h"

#include <stdlib.h>
#include <string.h>

void samples_init(struct samples *samples, size_t capacity)
{
    memset(samples, 0, sizeof *samples);
    samples->micros = malloc((capacity > 0 ? capacity : 1) * sizeof *samples->micros);
    if (samples->micros == NULL)
        bench_fail("out of memory");
    samples->capacity = capacity;
}

void samples_add(struct samples *samples, double micros)
{
    if (samples->count == samples->capacity) {
        size_t capacity = samples->capacity ? 2 * samples->capacity : 64;
        double *more = realloc(samples->micros, capacity * sizeof *more);

        if (more == NULL)
            bench_fail("out of memory");
        samples->micros = more;
        samples->capacity = capacity;
    }
    samples->micros[samples->count++] = micros;
}

void samples_merge(struct samples *samples, const struct samples *other)
{
    for (size_t i = 0; i < other->count; i++)
        samples_add(samples, other->micros[i]);
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

struct summary samples_summary(struct samples *samples)
{
    struct summary summary = {0};
    size_t n = samples->count;

    if (n == 0)
        return summary;
    qsort(samples->micros, n, sizeof *samples->micros, compare_doubles);
    summary.median_micros =
        n % 2 ? samples->micros[n / 2] : (samples->micros[n / 2 - 1] + samples->micros[n / 2]) / 2;
    /* The nearest-rank 99th percentile: the smallest sample at or above 99 % of them. */
    summary.p99_micros = samples->micros[(99 * n + 99) / 100 - 1];
    summary.per_second = samples->wall_seconds > 0 ? (double)n / samples->wall_seconds : 0;
    summary.cpu_micros = samples->cpu_seconds * 1e6 / (double)n;
    return summary;
}

void samples_free(struct samples *samples)
{
    free(samples->micros);
    memset(samples, 0, sizeof *samples);
}
