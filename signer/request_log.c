/*
 * One line per request, to stderr (a journal under systemd) or to syslog with --syslog. A line
 * says what was asked and how it ended, never a secret: the PIN is only ever in the session code
 * and the request bytes are not logged (the module's own log has chain, address and digest).
 */
#include "signer.h"

#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>

#define PATH_LOGGED_MAX 96

static bool log_to_syslog;

void request_log_open(bool use_syslog)
{
    log_to_syslog = use_syslog;
    if (use_syslog)
        openlog("tzwm-signer", LOG_PID, LOG_DAEMON);
}

static void log_line(int priority, const char *line)
{
    if (log_to_syslog) {
        syslog(priority, "%s", line);
    } else {
        /* One write per line: the workers' lines never interleave. */
        fprintf(stderr, "tzwm-signer: %s\n", line);
    }
}

/* The method or path as the client sent it, but printable and bounded: a client cannot forge log
 * lines. */
static void printable(const char *text, char *out, size_t out_size)
{
    size_t n = 0;

    for (; *text != '\0' && n + 4 < out_size; text++)
        out[n++] = (*text >= 0x20 && *text < 0x7f) ? *text : '?';
    if (*text != '\0' && n + 3 < out_size)
        out[n++] = '.', out[n++] = '.', out[n++] = '.';
    out[n] = '\0';
}

void request_log(const struct request_summary *summary)
{
    char method[16], path[PATH_LOGGED_MAX], request[96] = "", line[512];

    printable(summary->method, method, sizeof method);
    printable(summary->path, path, sizeof path);
    if (summary->kind != NULL && summary->has_level)
        snprintf(request, sizeof request, " kind %s level %d round %d", summary->kind,
                 (int)summary->level, (int)summary->round);
    else if (summary->kind != NULL)
        snprintf(request, sizeof request, " kind %s", summary->kind);
    snprintf(line, sizeof line, "%s %s%s: %u %s in %.1f ms", method, path, request, summary->status,
             summary->outcome, summary->latency_ms);
    log_line(summary->status >= 500   ? LOG_ERR
             : summary->status >= 400 ? LOG_WARNING
                                      : LOG_INFO,
             line);
}

void request_log_note(const char *format, ...)
{
    char line[512];
    va_list arguments;

    va_start(arguments, format);
    vsnprintf(line, sizeof line, format, arguments);
    va_end(arguments);
    log_line(LOG_NOTICE, line);
}
