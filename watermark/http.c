/*
 * Signed POSTs to DynamoDB over kept-alive connections.
 *
 * A new TLS handshake costs more than the whole PutItem on a warm connection, so connections are
 * kept: each is one curl easy handle, taken from a small idle pool for one request and put back
 * after. The pool's lock is held only to take or return a handle, never across a request, so
 * sessions signing at once each have their own connection.
 *
 * libcurl signs with SigV4 itself (CURLOPT_AWS_SIGV4). Its edges: it signs whatever Content-Type
 * is sent (its form default unless set), and a session token must be sent as our own header.
 */
#define TZWM_WATERMARK_INTERNAL
#include "watermark.h"

#include <curl/curl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

/* Connections kept idle beyond this many are closed: more sessions than this rarely sign at one
 * instant. */
#define MAX_IDLE_CONNECTIONS 8
/* No DynamoDB answer we ask for comes near this (a Query or Scan page is at most 1 MB). */
#define MAX_REPLY_BYTES (4 * 1024 * 1024)

struct connection {
    CURL *curl;
    char error[CURL_ERROR_SIZE];
    struct connection *next;
};

struct watermark_http {
    struct watermark_config *config;
    pid_t pid;       /* the process whose connections the pool holds */
    char sigv4[128]; /* "aws:amz:<region>:dynamodb" */
    pthread_mutex_t lock;
    struct connection *idle;
    size_t idle_count;
    /* What libcurl says it opened (CURLINFO_NUM_CONNECTS, summed), so that a kept-alive pool can
     * be seen to be one; updated without the lock. */
    _Atomic unsigned long connections_opened;
    _Atomic unsigned long requests;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result;

/* Once per process and never undone: another library in the process may use libcurl too. */
static void curl_init(void)
{
    curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct watermark_http *watermark_http_new(const struct watermark_config *config, char *error,
                                          size_t error_size)
{
    pthread_once(&curl_once, curl_init);
    if (curl_init_result != CURLE_OK) {
        watermark_reason(error, error_size, "libcurl cannot start: %s",
                         curl_easy_strerror(curl_init_result));
        return NULL;
    }
    struct watermark_http *http = calloc(1, sizeof *http);
    if (http == NULL || (http->config = watermark_config_copy(config)) == NULL) {
        free(http);
        watermark_reason(error, error_size, "out of memory");
        return NULL;
    }
    snprintf(http->sigv4, sizeof http->sigv4, "aws:amz:%s:dynamodb", config->region);
    http->pid = getpid();
    pthread_mutex_init(&http->lock, NULL);
    return http;
}

static void connection_free(struct connection *connection)
{
    if (connection == NULL)
        return;
    curl_easy_cleanup(connection->curl);
    free(connection);
}

void watermark_http_free(struct watermark_http *http)
{
    if (http == NULL)
        return;
    /* In a forked child the idle connections are the parent's sockets: closing them here would
     * send a TLS close_notify on the parent's connection. They are left alone (leaked). */
    bool own = http->pid == getpid();
    while (http->idle != NULL) {
        struct connection *next = http->idle->next;
        if (own)
            connection_free(http->idle);
        http->idle = next;
    }
    pthread_mutex_destroy(&http->lock);
    watermark_config_free(http->config);
    free(http);
}

static size_t collect_body(char *data, size_t size, size_t count, void *user)
{
    struct watermark_http_reply *reply = user;
    size_t length = size * count;
    if (reply->length + length > MAX_REPLY_BYTES)
        return CURL_WRITEFUNC_ERROR;
    char *body = realloc(reply->body, reply->length + length + 1);
    if (body == NULL)
        return CURL_WRITEFUNC_ERROR;
    memcpy(body + reply->length, data, length);
    reply->length += length;
    body[reply->length] = '\0';
    reply->body = body;
    return length;
}

/* The options every request on this connection shares. Verbose output stays off: it would print
 * the session token header. */
static bool configure(struct watermark_http *http, struct connection *connection)
{
    const struct watermark_config *config = http->config;
    CURL *curl = connection->curl;
    bool plain_http = strncmp(config->endpoint, "http://", 7) == 0;
    bool ok = true;
    ok &= curl_easy_setopt(curl, CURLOPT_URL, config->endpoint) == CURLE_OK;
    /* Several threads: no SIGALRM for DNS timeouts. */
    ok &= curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L) == CURLE_OK;
    ok &= curl_easy_setopt(curl, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1) == CURLE_OK;
    /* Plain http only when the endpoint itself says so; never a redirect elsewhere. */
    ok &= curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, plain_http ? "http" : "https") == CURLE_OK;
    ok &= curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK;
    ok &= curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L) == CURLE_OK;
    ok &= curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L) == CURLE_OK;
    if (config->ca_bundle != NULL)
        ok &= curl_easy_setopt(curl, CURLOPT_CAINFO, config->ca_bundle) == CURLE_OK;
    ok &= curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L) == CURLE_OK;
    ok &= curl_easy_setopt(curl, CURLOPT_MAXCONNECTS, 1L) == CURLE_OK;
    ok &= curl_easy_setopt(curl, CURLOPT_AWS_SIGV4, http->sigv4) == CURLE_OK;
    /* USERNAME and PASSWORD apart: a secret key may contain ':' (USERPWD would split it). */
    ok &= curl_easy_setopt(curl, CURLOPT_USERNAME, config->access_key_id) == CURLE_OK;
    ok &= curl_easy_setopt(curl, CURLOPT_PASSWORD, config->secret_access_key) == CURLE_OK;
    ok &= curl_easy_setopt(curl, CURLOPT_USERAGENT, "tzwm/" TZWM_VERSION) == CURLE_OK;
    ok &= curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, connection->error) == CURLE_OK;
    ok &= curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect_body) == CURLE_OK;
    return ok;
}

static struct connection *take_connection(struct watermark_http *http)
{
    pthread_mutex_lock(&http->lock);
    /* A forked child never writes on the parent's connections: it opens its own, one per
     * request. */
    struct connection *connection = http->pid == getpid() ? http->idle : NULL;
    if (connection != NULL) {
        http->idle = connection->next;
        http->idle_count--;
    }
    pthread_mutex_unlock(&http->lock);
    if (connection != NULL)
        return connection;

    connection = calloc(1, sizeof *connection);
    if (connection == NULL)
        return NULL;
    connection->curl = curl_easy_init();
    if (connection->curl == NULL || !configure(http, connection)) {
        connection_free(connection);
        return NULL;
    }
    return connection;
}

static void return_connection(struct watermark_http *http, struct connection *connection)
{
    pthread_mutex_lock(&http->lock);
    if (http->idle_count < MAX_IDLE_CONNECTIONS && http->pid == getpid()) {
        connection->next = http->idle;
        http->idle = connection;
        http->idle_count++;
        connection = NULL;
    }
    pthread_mutex_unlock(&http->lock);
    connection_free(connection);
}

/* The request's own headers; every one of them is signed by curl. */
static struct curl_slist *request_headers(const struct watermark_config *config,
                                          const char *operation)
{
    char target[96];
    snprintf(target, sizeof target, "X-Amz-Target: DynamoDB_20120810.%s", operation);
    struct curl_slist *headers =
        curl_slist_append(NULL, "Content-Type: application/x-amz-json-1.0");
    struct curl_slist *more = headers ? curl_slist_append(headers, target) : NULL;
    if (more != NULL && config->session_token != NULL) {
        size_t size = strlen(config->session_token) + sizeof "X-Amz-Security-Token: ";
        char *token = malloc(size);
        if (token != NULL) {
            snprintf(token, size, "X-Amz-Security-Token: %s", config->session_token);
            more = curl_slist_append(headers, token);
            explicit_bzero(token, size);
            free(token);
        } else {
            more = NULL;
        }
    }
    if (more == NULL) {
        curl_slist_free_all(headers);
        return NULL;
    }
    return headers;
}

/* curl keeps header strings in the slist: wipe the token's copy before freeing it. */
static void free_headers(struct curl_slist *headers)
{
    for (struct curl_slist *header = headers; header != NULL; header = header->next)
        explicit_bzero(header->data, strlen(header->data));
    curl_slist_free_all(headers);
}

/* Failures of the configuration or the peer's identity: the same on every try. */
static bool permanent_failure(CURLcode code)
{
    switch (code) {
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
        return true;
    default:
        return false;
    }
}

/*
 * curl_easy_perform with SIGPIPE held back in this thread. The store lives inside somebody
 * else's signer: a DynamoDB peer hanging up while libcurl writes (which CURLOPT_NOSIGNAL leaves
 * to the platform, and TLS writes may raise) must cost one request, never the process. A SIGPIPE
 * raised meanwhile is consumed before the thread's mask is restored.
 */
static CURLcode perform_without_sigpipe(CURL *curl)
{
    sigset_t pipe_only, before;
    struct timespec none = {0, 0};
    CURLcode code;

    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_only, &before);
    code = curl_easy_perform(curl);
    if (!sigismember(&before, SIGPIPE)) {
        while (sigtimedwait(&pipe_only, NULL, &none) == SIGPIPE)
            ;
        pthread_sigmask(SIG_SETMASK, &before, NULL);
    }
    return code;
}

void watermark_http_post(struct watermark_http *http, const char *operation, const char *body,
                         int64_t deadline_ms, struct watermark_http_reply *reply, char *reason,
                         size_t reason_size)
{
    memset(reply, 0, sizeof *reply);
    reply->transport_failed = true;
    int64_t remaining = deadline_ms - watermark_now_ms();
    if (remaining <= 0) {
        watermark_reason(reason, reason_size, "DynamoDB %s: deadline passed", operation);
        return;
    }
    struct connection *connection = take_connection(http);
    struct curl_slist *headers = request_headers(http->config, operation);
    if (connection == NULL || headers == NULL) {
        watermark_reason(reason, reason_size, "DynamoDB %s: out of memory", operation);
        free_headers(headers);
        if (connection != NULL)
            return_connection(http, connection);
        return;
    }
    CURL *curl = connection->curl;
    connection->error[0] = '\0';
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, reply);
    /* The whole attempt ends by the deadline. A connect gets at most half of what is left, so
     * that a connection stuck in its handshake leaves time for one more try. */
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)remaining);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, (long)(remaining > 1 ? remaining / 2 : 1));

    CURLcode code = perform_without_sigpipe(curl);
    long opened = 0;
    if (curl_easy_getinfo(curl, CURLINFO_NUM_CONNECTS, &opened) == CURLE_OK && opened > 0)
        http->connections_opened += (unsigned long)opened;
    http->requests++;
    if (code == CURLE_OK) {
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply->status);
        const char *content_type = NULL;
        if (curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &content_type) == CURLE_OK &&
            content_type != NULL)
            snprintf(reply->content_type, sizeof reply->content_type, "%s", content_type);
        reply->transport_failed = false;
    } else {
        reply->permanent = permanent_failure(code);
        watermark_reason(
            reason, reason_size, "DynamoDB %s at %s: %s", operation, http->config->endpoint,
            connection->error[0] != '\0' ? connection->error : curl_easy_strerror(code));
    }
    /* Nothing of this request may linger on the handle. */
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, NULL);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, NULL);
    free_headers(headers);
    return_connection(http, connection);
}

void watermark_http_counters(const struct watermark_http *http,
                             struct watermark_connection_counters *counters)
{
    counters->requests = http->requests;
    counters->connections_opened = http->connections_opened;
}

void watermark_http_reply_clear(struct watermark_http_reply *reply)
{
    free(reply->body);
    memset(reply, 0, sizeof *reply);
}
