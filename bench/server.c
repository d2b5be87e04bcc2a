/*
 * The CPU the DynamoDB-API server spends, from /proc/<TZWM_STORE_PID>/stat (with-store exports the
 * pid). On a machine with few cores the server competes with the signers for them, and a single-
 * threaded server bounds what more signing threads can gain: the report shows how busy it was.
 */
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

double bench_server_cpu(void)
{
    const char *pid = getenv("TZWM_STORE_PID");
    unsigned long user = 0, system = 0;
    char path[64], line[1024], *end;
    FILE *stat;

    if (pid == NULL)
        return -1;
    snprintf(path, sizeof path, "/proc/%s/stat", pid);
    stat = fopen(path, "r");
    if (stat == NULL)
        return -1;
    end = fgets(line, sizeof line, stat) != NULL ? strrchr(line, ')') : NULL;
    fclose(stat);
    /* After "pid (comm)": state is field 3, utime and stime are fields 14 and 15. */
    if (end == NULL ||
        sscanf(end + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &user, &system) != 2)
        return -1;
    return (double)(user + system) / (double)sysconf(_SC_CLK_TCK);
}
