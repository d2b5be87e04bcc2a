/*
 * signer/: tzwm-signer, the HTTP protocol of the Octez remote signer in front of libtzwm.so. It is
 * a PKCS#11 client of the module like tzwm (cli/), whose helpers it uses: it hands C_Sign the
 * whole request and the module decides, so a baker that points at tzwm-signer gets the watermark
 * with no other software.
 */
#ifndef TZWM_SIGNER_H
#define TZWM_SIGNER_H

#include "cli.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The largest body a POST may carry: a 64 KiB request as a JSON string of hex, and some room. */
#define SIGNER_BODY_MAX (2 * 64 * 1024 + 64)

/* keyring.c: the token's signing keys, read once at start (as tzwm keys lists them), by address. */
struct keyring {
    struct token_key *keys;
    size_t count;
};

/* Reads the keys through session. 0, or 1 with the reason on stderr. */
int keyring_load(struct keyring *keyring, const struct token_session *session);
void keyring_free(struct keyring *keyring);
/* The key whose tz address is address; NULL when the token has none. */
const struct token_key *keyring_find(const struct keyring *keyring, const char *address);

/* session_pool.c: one logged-in PKCS#11 session per HTTP worker. A PKCS#11 session runs one
 * operation at a time, so a request borrows a session of its own for C_SignInit and C_Sign. */
struct session_pool;

/* Opens count sessions on the token options choose: the first logs in (the login is the token's,
 * for every session of the process). NULL, with the reason on stderr, when it cannot. */
struct session_pool *session_pool_open(CK_FUNCTION_LIST_PTR p11,
                                       const struct session_options *options, size_t count);
/* A session no other request holds (waits for one); give it back with session_pool_release. */
const struct token_session *session_pool_acquire(struct session_pool *pool);
void session_pool_release(struct session_pool *pool, const struct token_session *session);
/* The first session, for reading keys before the workers start. */
const struct token_session *session_pool_first(struct session_pool *pool);
void session_pool_close(struct session_pool *pool);

/* request_log.c: one line per request, to stderr or syslog. Never a secret: the line has the
 * method, the path (made printable), the request's kind, level and round, the status, the outcome
 * and the latency. */
void request_log_open(bool use_syslog);
struct request_summary {
    const char *method;
    const char *path;
    const char *kind; /* NULL when the request was not decoded (not a POST, or malformed) */
    bool has_level;   /* consensus kinds */
    int32_t level, round;
    unsigned status;
    const char *outcome; /* "signed", "refused", ... */
    double latency_ms;
};
void request_log(const struct request_summary *summary);
/* A line about the daemon itself (start, stop), at the same place as the request lines. */
void request_log_note(const char *format, ...) __attribute__((format(printf, 1, 2)));

/* routes.c: what the signer answers. The handlers build a response and never block on anything
 * but the token and, through the module, DynamoDB. */
struct signer {
    struct keyring keyring;
    struct session_pool *sessions;
    bool token_lost; /* set once (atomically) by signer_token_lost */
};

/* The exit status of a signer that stopped because the token lost its sessions or keys: a
 * service manager that restarts on failure starts it over (a new login, the keys read again). */
#define SIGNER_EXIT_TOKEN_LOST 75 /* EX_TEMPFAIL */

/* Whether rv says that the token no longer knows this signer's sessions, login or key handles
 * (an HSM restarted, a token removed): nothing but starting over mends that. */
bool signer_token_lost_code(CK_RV rv);
/* The first time: logs why and asks the main thread to stop (SIGTERM to this process), so that
 * the requests under way are answered and the signer exits SIGNER_EXIT_TOKEN_LOST. */
void signer_token_lost(struct signer *signer, CK_RV rv);

struct reply {
    unsigned status;
    char *body;          /* malloc'ed JSON text */
    const char *allow;   /* 405: the methods the path takes */
    const char *outcome; /* for the log */
    struct request_summary summary;
};

/* Answers method on path (the query already taken off) with body (body_len bytes and a NUL after
 * them; NULL when there was none). */
void signer_route(struct signer *signer, const char *method, const char *path, const char *body,
                  size_t body_len, struct reply *reply);

/* sign.c: POST /keys/<address>: the body is a JSON string of hex, the whole request. */
void sign_handle(struct signer *signer, const struct token_key *key, const char *body,
                 size_t body_len, struct reply *reply);

/* reply.c: JSON answers. The errors have the shape of Octez's error traces,
 * [{"kind":"permanent","id":"tzwm.signer.<id>","msg":"..."}], so that Octez clients show them. */
void reply_json(struct reply *reply, unsigned status, const char *outcome, char *body);
void reply_error(struct reply *reply, unsigned status, const char *outcome, const char *id,
                 const char *format, ...) __attribute__((format(printf, 5, 6)));

/* http.c: the libmicrohttpd daemon. */
struct http_options {
    const char *host; /* an IPv4 or IPv6 address */
    uint16_t port;
    unsigned workers;         /* threads, each with its own PKCS#11 session */
    unsigned max_connections; /* at once, over all workers */
    unsigned timeout_s;       /* an idle connection is closed after it */
};
struct http_server;

/* Binds and starts serving. NULL, with the reason on stderr, when it cannot. */
struct http_server *http_start(struct signer *signer, const struct http_options *options);
/* Stops accepting, lets the requests under way finish (for at most grace_ms), then stops. */
void http_stop(struct http_server *server, unsigned grace_ms);

#endif
