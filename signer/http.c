/*
 * The HTTP side: libmicrohttpd with a pool of worker threads, each serving its connections one
 * request at a time. Bodies are bounded: one larger than SIGNER_BODY_MAX is read and dropped (up
 * to BODY_DISCARD_MAX, so that the client still reads the 413) and answered 413; a larger
 * Content-Length is answered at once and the connection closed.
 */
#include "signer.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BODY_DISCARD_MAX (1024 * 1024)

struct http_server {
    struct MHD_Daemon *daemon;
    struct signer *signer;
    /* Requests begun and not yet answered, for a stop that lets them finish. */
    pthread_mutex_t lock;
    pthread_cond_t idle;
    unsigned in_flight;
};

/* One request, from its headers to its answer. */
struct exchange {
    struct http_server *server;
    struct timespec start;
    char *body; /* NUL-terminated */
    size_t body_len;
    size_t discarded; /* bytes dropped past SIGNER_BODY_MAX */
    bool answered;
};

static double elapsed_ms(const struct timespec *start)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) * 1e3 +
           (double)(now.tv_nsec - start->tv_nsec) / 1e6;
}

/* Queues the reply with its JSON body and logs the request. */
static enum MHD_Result send_reply(struct MHD_Connection *connection, struct exchange *exchange,
                                  const char *method, const char *path, struct reply *reply)
{
    static const char empty[] = "";
    struct MHD_Response *response;
    enum MHD_Result queued;

    if (reply->body != NULL)
        response = MHD_create_response_from_buffer(strlen(reply->body), reply->body,
                                                   MHD_RESPMEM_MUST_FREE);
    else
        response = MHD_create_response_from_buffer(0, (void *)empty, MHD_RESPMEM_PERSISTENT);
    if (response == NULL) {
        free(reply->body);
        return MHD_NO;
    }
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    if (reply->allow != NULL)
        MHD_add_response_header(response, MHD_HTTP_HEADER_ALLOW, reply->allow);
    queued = MHD_queue_response(connection, reply->status, response);
    MHD_destroy_response(response);
    exchange->answered = true;
    reply->summary.method = method;
    reply->summary.path = path;
    reply->summary.status = reply->status;
    reply->summary.outcome = reply->outcome;
    reply->summary.latency_ms = elapsed_ms(&exchange->start);
    request_log(&reply->summary);
    return queued;
}

static enum MHD_Result too_large(struct MHD_Connection *connection, struct exchange *exchange,
                                 const char *method, const char *path)
{
    struct reply reply = {0};

    reply_error(&reply, 413, "body too large", "body_too_large",
                "the body is larger than %d bytes: a request is at most 64 KiB", SIGNER_BODY_MAX);
    return send_reply(connection, exchange, method, path, &reply);
}

/* The first call for a request: its exchange, and a 413 at once for a body that could not be
 * read to its end. */
static enum MHD_Result begin(struct http_server *server, struct MHD_Connection *connection,
                             const char *method, const char *path, void **context)
{
    struct exchange *exchange = calloc(1, sizeof *exchange);
    const char *length;

    if (exchange == NULL)
        return MHD_NO;
    exchange->server = server;
    clock_gettime(CLOCK_MONOTONIC, &exchange->start);
    pthread_mutex_lock(&server->lock);
    server->in_flight++;
    pthread_mutex_unlock(&server->lock);
    *context = exchange;
    length =
        MHD_lookup_connection_value(connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (length != NULL && strtoull(length, NULL, 10) > BODY_DISCARD_MAX)
        return too_large(connection, exchange, method, path);
    return MHD_YES;
}

/* A piece of the body: kept while the body is within bounds, dropped past them. */
static enum MHD_Result receive(struct exchange *exchange, const char *data, size_t size)
{
    char *grown;

    if (exchange->discarded > 0 || exchange->body_len + size > SIGNER_BODY_MAX) {
        exchange->discarded += size;
        free(exchange->body);
        exchange->body = NULL;
        /* Past this, the client is not sending a request: close rather than read on. */
        return exchange->discarded > BODY_DISCARD_MAX ? MHD_NO : MHD_YES;
    }
    grown = realloc(exchange->body, exchange->body_len + size + 1);
    if (grown == NULL)
        return MHD_NO;
    exchange->body = grown;
    memcpy(exchange->body + exchange->body_len, data, size);
    exchange->body_len += size;
    exchange->body[exchange->body_len] = '\0';
    return MHD_YES;
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *connection, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_data_size, void **context)
{
    struct http_server *server = cls;
    struct exchange *exchange = *context;
    struct reply reply = {0};
    enum MHD_Result result;

    (void)version;
    if (exchange == NULL)
        return begin(server, connection, method, url, context);
    if (exchange->answered) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        result = receive(exchange, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return result;
    }
    if (exchange->discarded > 0)
        return too_large(connection, exchange, method, url);
    signer_route(server->signer, method, url, exchange->body, exchange->body_len, &reply);
    return send_reply(connection, exchange, method, url, &reply);
}

static void completed(void *cls, struct MHD_Connection *connection, void **context,
                      enum MHD_RequestTerminationCode code)
{
    struct http_server *server = cls;
    struct exchange *exchange = *context;

    (void)connection;
    (void)code;
    if (exchange == NULL)
        return;
    free(exchange->body);
    free(exchange);
    *context = NULL;
    pthread_mutex_lock(&server->lock);
    if (--server->in_flight == 0)
        pthread_cond_broadcast(&server->idle);
    pthread_mutex_unlock(&server->lock);
}

/* Paths are compared exactly as sent: an address is base58 and never escaped, and an unescaped
 * %00 would end the path early (and name a key it does not). */
static size_t keep_escaped(void *cls, struct MHD_Connection *connection, char *text)
{
    (void)cls;
    (void)connection;
    return strlen(text);
}

/* host (numeric, IPv4 or IPv6) and port as a socket address. */
static int resolve(const struct http_options *options, struct sockaddr_storage *address)
{
    struct addrinfo hints = {.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
                             .ai_socktype = SOCK_STREAM};
    struct addrinfo *found;
    char port[8];
    int error;

    snprintf(port, sizeof port, "%u", options->port);
    error = getaddrinfo(options->host, port, &hints, &found);
    if (error != 0) {
        fprintf(stderr, "tzwm-signer: --listen: '%s' is not an IP address: %s\n", options->host,
                gai_strerror(error));
        return -1;
    }
    memcpy(address, found->ai_addr, found->ai_addrlen);
    freeaddrinfo(found);
    return 0;
}

struct http_server *http_start(struct signer *signer, const struct http_options *options)
{
    struct http_server *server = calloc(1, sizeof *server);
    struct sockaddr_storage address;
    unsigned flags =
        MHD_USE_AUTO | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG;

    if (server == NULL || resolve(options, &address) != 0)
        goto fail;
    if (address.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    server->signer = signer;
    pthread_mutex_init(&server->lock, NULL);
    pthread_cond_init(&server->idle, NULL);
    /* One worker is libmicrohttpd's polling thread itself (a pool of 1 draws a warning). */
    server->daemon =
        MHD_start_daemon(flags, options->port, NULL, NULL, answer, server, MHD_OPTION_SOCK_ADDR,
                         (struct sockaddr *)&address, MHD_OPTION_THREAD_POOL_SIZE,
                         options->workers > 1 ? options->workers : 0, MHD_OPTION_CONNECTION_LIMIT,
                         options->max_connections, MHD_OPTION_CONNECTION_TIMEOUT,
                         options->timeout_s, MHD_OPTION_NOTIFY_COMPLETED, completed, server,
                         MHD_OPTION_UNESCAPE_CALLBACK, keep_escaped, NULL, MHD_OPTION_END);
    if (server->daemon == NULL) {
        fprintf(stderr, "tzwm-signer: cannot listen on %s port %u: %s\n", options->host,
                options->port, errno != 0 ? strerror(errno) : "libmicrohttpd refused");
        pthread_cond_destroy(&server->idle);
        pthread_mutex_destroy(&server->lock);
        goto fail;
    }
    return server;
fail:
    free(server);
    return NULL;
}

void http_stop(struct http_server *server, unsigned grace_ms)
{
    MHD_socket listener = MHD_quiesce_daemon(server->daemon);
    struct timespec deadline;

    /* Quiesced, the socket is still bound: the kernel would go on completing handshakes that
     * nobody answers, and a baker failing over would wait out the grace. Shut down, new
     * connections are refused at once (it stays open until the daemon stops, as
     * MHD_quiesce_daemon requires). */
    if (listener != MHD_INVALID_SOCKET)
        shutdown(listener, SHUT_RDWR);
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += grace_ms / 1000;
    deadline.tv_nsec += (long)(grace_ms % 1000) * 1000000;
    if (deadline.tv_nsec >= 1000000000) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&server->lock);
    while (server->in_flight > 0 &&
           pthread_cond_timedwait(&server->idle, &server->lock, &deadline) == 0)
        ;
    if (server->in_flight > 0)
        request_log_note("stopping with %u requests unanswered after %u ms", server->in_flight,
                         grace_ms);
    pthread_mutex_unlock(&server->lock);
    MHD_stop_daemon(server->daemon);
    if (listener != MHD_INVALID_SOCKET)
        close(listener);
    pthread_cond_destroy(&server->idle);
    pthread_mutex_destroy(&server->lock);
    free(server);
}
