/* The scripted test server: one thread accepting, one thread per connection. */
#include "scripted_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_CONNECTIONS 64
#define MAX_REQUESTS    256
#define MAX_SCRIPT      32

struct scripted_server {
    int listener;
    int port;
    char url[64];
    pthread_t acceptor;
    pthread_mutex_t lock;
    bool stopping;
    int connections[MAX_CONNECTIONS];
    pthread_t threads[MAX_CONNECTIONS];
    size_t connection_count;
    char *requests[MAX_REQUESTS];
    size_t request_count;
    struct scripted_reply script[MAX_SCRIPT];
    size_t script_next, script_count;
};

struct connection {
    struct scripted_server *server;
    int fd;
};

/* Reads one request (headers and Content-Length body); NULL at end of stream. */
static char *read_request(int fd)
{
    size_t size = 4096, length = 0, body_length = 0;
    char *buffer = malloc(size);
    char *headers_end = NULL;
    for (;;) {
        if (headers_end != NULL) {
            size_t header_length = (size_t)(headers_end - buffer) + 4;
            if (length >= header_length + body_length) {
                buffer[length] = '\0';
                return buffer;
            }
        }
        if (length + 1 >= size)
            buffer = realloc(buffer, size *= 2);
        ssize_t got = read(fd, buffer + length, size - length - 1);
        if (got <= 0) {
            free(buffer);
            return NULL;
        }
        length += (size_t)got;
        buffer[length] = '\0';
        if (headers_end == NULL && (headers_end = strstr(buffer, "\r\n\r\n")) != NULL) {
            for (char *line = strstr(buffer, "\r\n"); line != NULL && line < headers_end;
                 line = strstr(line + 2, "\r\n"))
                if (strncasecmp(line + 2, "Content-Length:", 15) == 0)
                    body_length = strtoul(line + 17, NULL, 10);
        }
    }
}

/* "PutItem" from "X-Amz-Target: DynamoDB_20120810.PutItem". */
static void operation_of(const char *request, char *operation, size_t size)
{
    operation[0] = '\0';
    for (const char *line = strstr(request, "\r\n"); line != NULL; line = strstr(line + 2, "\r\n"))
        if (strncasecmp(line + 2, "X-Amz-Target:", 13) == 0) {
            const char *dot = strchr(line, '.');
            size_t n = strcspn(dot + 1, "\r\n");
            snprintf(operation, size, "%.*s", (int)n, dot + 1);
            return;
        }
}

static struct scripted_reply default_reply(const char *operation)
{
    if (strcmp(operation, "CreateTable") == 0)
        return (struct scripted_reply){SCRIPTED_ANSWER, 200,
                                       "{\"TableDescription\":{\"TableStatus\":\"ACTIVE\"}}"};
    if (strcmp(operation, "DescribeTable") == 0)
        return (struct scripted_reply){SCRIPTED_ANSWER, 200,
                                       "{\"Table\":{\"TableStatus\":\"ACTIVE\"}}"};
    if (strcmp(operation, "Query") == 0 || strcmp(operation, "Scan") == 0)
        return (struct scripted_reply){SCRIPTED_ANSWER, 200, "{\"Items\":[],\"Count\":0}"};
    return (struct scripted_reply){SCRIPTED_ANSWER, 200, "{}"};
}

static void *serve(void *argument)
{
    struct connection *connection = argument;
    struct scripted_server *server = connection->server;
    char *request;
    while ((request = read_request(connection->fd)) != NULL) {
        char operation[64];
        operation_of(request, operation, sizeof operation);
        pthread_mutex_lock(&server->lock);
        if (server->request_count < MAX_REQUESTS)
            server->requests[server->request_count++] = request;
        else
            free(request);
        struct scripted_reply reply = server->script_next < server->script_count
                                          ? server->script[server->script_next++]
                                          : default_reply(operation);
        pthread_mutex_unlock(&server->lock);
        if (reply.action == SCRIPTED_CLOSE)
            break;
        if (reply.action == SCRIPTED_SILENT)
            continue;
        char head[256];
        int length = snprintf(head, sizeof head,
                              "HTTP/1.1 %d Scripted\r\nContent-Type: application/x-amz-json-1.0"
                              "\r\nContent-Length: %zu\r\n\r\n",
                              reply.status, strlen(reply.body));
        /* MSG_NOSIGNAL: a client that already hung up (a test of deadlines) must not kill the
         * test with SIGPIPE. */
        if (send(connection->fd, head, (size_t)length, MSG_NOSIGNAL) != length ||
            send(connection->fd, reply.body, strlen(reply.body), MSG_NOSIGNAL) !=
                (ssize_t)strlen(reply.body))
            break;
    }
    shutdown(connection->fd, SHUT_RDWR);
    free(connection);
    return NULL;
}

static void *accept_connections(void *argument)
{
    struct scripted_server *server = argument;
    for (;;) {
        int fd = accept(server->listener, NULL, NULL);
        pthread_mutex_lock(&server->lock);
        if (fd < 0 || server->stopping || server->connection_count == MAX_CONNECTIONS) {
            pthread_mutex_unlock(&server->lock);
            if (fd >= 0)
                close(fd);
            return NULL;
        }
        struct connection *connection = malloc(sizeof *connection);
        *connection = (struct connection){server, fd};
        server->connections[server->connection_count] = fd;
        pthread_create(&server->threads[server->connection_count], NULL, serve, connection);
        server->connection_count++;
        pthread_mutex_unlock(&server->lock);
    }
}

struct scripted_server *scripted_server_start(void)
{
    struct scripted_server *server = calloc(1, sizeof *server);
    pthread_mutex_init(&server->lock, NULL);
    server->listener = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = 0};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof address;
    if (bind(server->listener, (struct sockaddr *)&address, sizeof address) != 0 ||
        listen(server->listener, 16) != 0 ||
        getsockname(server->listener, (struct sockaddr *)&address, &size) != 0) {
        perror("scripted server");
        abort();
    }
    server->port = ntohs(address.sin_port);
    snprintf(server->url, sizeof server->url, "http://127.0.0.1:%d", server->port);
    pthread_create(&server->acceptor, NULL, accept_connections, server);
    return server;
}

void scripted_server_stop(struct scripted_server *server)
{
    pthread_mutex_lock(&server->lock);
    server->stopping = true;
    pthread_mutex_unlock(&server->lock);
    shutdown(server->listener, SHUT_RDWR);
    pthread_join(server->acceptor, NULL);
    close(server->listener);
    for (size_t i = 0; i < server->connection_count; i++) {
        shutdown(server->connections[i], SHUT_RDWR);
        pthread_join(server->threads[i], NULL);
        close(server->connections[i]);
    }
    scripted_server_reset(server);
    pthread_mutex_destroy(&server->lock);
    free(server);
}

int scripted_server_port(const struct scripted_server *server)
{
    return server->port;
}

const char *scripted_server_url(const struct scripted_server *server)
{
    return server->url;
}

void scripted_server_script(struct scripted_server *server, const struct scripted_reply *replies,
                            size_t count)
{
    pthread_mutex_lock(&server->lock);
    server->script_count = count < MAX_SCRIPT ? count : MAX_SCRIPT;
    memcpy(server->script, replies, server->script_count * sizeof *replies);
    server->script_next = 0;
    pthread_mutex_unlock(&server->lock);
}

size_t scripted_server_request_count(struct scripted_server *server)
{
    pthread_mutex_lock(&server->lock);
    size_t count = server->request_count;
    pthread_mutex_unlock(&server->lock);
    return count;
}

size_t scripted_server_connection_count(struct scripted_server *server)
{
    pthread_mutex_lock(&server->lock);
    size_t count = server->connection_count;
    pthread_mutex_unlock(&server->lock);
    return count;
}

const char *scripted_server_request(struct scripted_server *server, size_t i)
{
    pthread_mutex_lock(&server->lock);
    const char *request = i < server->request_count ? server->requests[i] : NULL;
    pthread_mutex_unlock(&server->lock);
    return request;
}

void scripted_server_reset(struct scripted_server *server)
{
    pthread_mutex_lock(&server->lock);
    for (size_t i = 0; i < server->request_count; i++)
        free(server->requests[i]);
    server->request_count = 0;
    server->script_count = server->script_next = 0;
    pthread_mutex_unlock(&server->lock);
}
