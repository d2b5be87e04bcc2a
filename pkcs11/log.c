/* Logging: syslog by default, or the file named by TZWM_LOG_FILE ("-" is stderr). */
#include "module.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static const struct {
    const char *name;
    int syslog_priority;
} levels[] = {
    [LOG_LEVEL_ERROR] = {"error", LOG_ERR},
    [LOG_LEVEL_WARN] = {"warn", LOG_WARNING},
    [LOG_LEVEL_INFO] = {"info", LOG_INFO},
    [LOG_LEVEL_DEBUG] = {"debug", LOG_DEBUG},
};

static struct {
    pthread_mutex_t lock;
    enum log_level level;
    FILE *file; /* NULL: syslog */
} logger = {PTHREAD_MUTEX_INITIALIZER, LOG_LEVEL_INFO, NULL};

static void close_locked(void)
{
    if (logger.file != NULL && logger.file != stderr)
        fclose(logger.file);
    logger.file = NULL;
}

/* fork() copies the mutex in whatever state another thread left it: hold it across the fork. */
static void fork_prepare(void)
{
    pthread_mutex_lock(&logger.lock);
}

static void fork_release(void)
{
    pthread_mutex_unlock(&logger.lock);
}

static void register_fork_handlers(void)
{
    pthread_atfork(fork_prepare, fork_release, fork_release);
}

void log_configure(void)
{
    static pthread_once_t fork_handlers = PTHREAD_ONCE_INIT;
    const char *level = getenv("TZWM_LOG_LEVEL");
    const char *path = getenv("TZWM_LOG_FILE");
    const char *bad_level = NULL, *bad_path = NULL;

    pthread_once(&fork_handlers, register_fork_handlers);
    pthread_mutex_lock(&logger.lock);
    logger.level = LOG_LEVEL_INFO;
    if (level != NULL && *level != '\0') {
        bad_level = level;
        for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++) {
            if (strcasecmp(level, levels[i].name) == 0) {
                logger.level = (enum log_level)i;
                bad_level = NULL;
            }
        }
    }
    close_locked();
    if (path != NULL && strcmp(path, "-") == 0) {
        logger.file = stderr;
    } else if (path != NULL && *path != '\0') {
        /* Append, close-on-exec, line by line: several processes may share one log file. */
        logger.file = fopen(path, "ae");
        if (logger.file == NULL)
            bad_path = path;
        else
            setvbuf(logger.file, NULL, _IOLBF, 0);
    }
    pthread_mutex_unlock(&logger.lock);

    if (bad_level != NULL)
        log_warn("TZWM_LOG_LEVEL '%s' is not one of error, warn, info, debug: using info",
                 bad_level);
    if (bad_path != NULL)
        log_warn("cannot open TZWM_LOG_FILE '%s': logging to syslog", bad_path);
}

void log_close(void)
{
    pthread_mutex_lock(&logger.lock);
    close_locked();
    pthread_mutex_unlock(&logger.lock);
}

void log_message(enum log_level level, const char *format, ...)
{
    char message[1024];
    va_list args;

    pthread_mutex_lock(&logger.lock);
    if (level > logger.level) {
        pthread_mutex_unlock(&logger.lock);
        return;
    }
    va_start(args, format);
    vsnprintf(message, sizeof message, format, args);
    va_end(args);

    if (logger.file == NULL) {
        /* No openlog(): the ident and facility belong to the application that loaded us. */
        syslog(levels[level].syslog_priority, "tzwm: %s", message);
    } else {
        struct timeval now;
        struct tm utc;
        char stamp[32];

        gettimeofday(&now, NULL);
        gmtime_r(&now.tv_sec, &utc);
        strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &utc);
        fprintf(logger.file, "%s.%03ldZ tzwm[%ld] %s: %s\n", stamp, (long)now.tv_usec / 1000,
                (long)getpid(), levels[level].name, message);
    }
    pthread_mutex_unlock(&logger.lock);
}
