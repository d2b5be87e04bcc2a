/*
 * A tiny HTTP/1.1 server in a thread of the test, on a free loopback port: it records every raw
 * request and answers from a script, then with a plain success for the operation. It shows what
 * no real DynamoDB-API server can be made to do on demand (5xx, throttling, lost connections,
 * silence, a denied CreateTable) and hands the exact bytes the client sent to the signature check.
 */
#ifndef TZWM_TESTS_SCRIPTED_SERVER_H
#define TZWM_TESTS_SCRIPTED_SERVER_H

#include <stddef.h>

enum scripted_action {
    SCRIPTED_ANSWER, /* status and body */
    SCRIPTED_CLOSE,  /* close the connection without an answer */
    SCRIPTED_SILENT, /* never answer (the client's deadline ends it) */
};

struct scripted_reply {
    enum scripted_action action;
    int status;
    const char *body;
};

struct scripted_server;

struct scripted_server *scripted_server_start(void);
/* Stops it, closing every connection; frees everything. */
void scripted_server_stop(struct scripted_server *server);
int scripted_server_port(const struct scripted_server *server);
/* "http://127.0.0.1:<port>" */
const char *scripted_server_url(const struct scripted_server *server);
/* The next requests get these replies, in order; the script is copied. Later ones get a success:
 * CreateTable and DescribeTable an ACTIVE table, PutItem {}, Query and Scan no items. */
void scripted_server_script(struct scripted_server *server, const struct scripted_reply *replies,
                            size_t count);
size_t scripted_server_request_count(struct scripted_server *server);
/* How many TCP connections it has accepted. */
size_t scripted_server_connection_count(struct scripted_server *server);
/* The raw bytes of request i (headers and body), NUL-terminated; valid until stop. */
const char *scripted_server_request(struct scripted_server *server, size_t i);
/* Forgets the recorded requests and the rest of the script. */
void scripted_server_reset(struct scripted_server *server);

#endif
