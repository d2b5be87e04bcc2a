/*
 * watermark/: the shared high-watermark in DynamoDB. Before each signature one conditional PutItem
 * advances the row of (chain/address, kind); DynamoDB refuses it when the signer already went as
 * far (a lower or equal level and round with another digest), so two signers sharing the table can
 * never sign twice at one level and round.
 *
 * Knows nothing of PKCS#11 or Tezos encodings: everything arrives as strings and integers.
 * Uses libc, libcurl, cJSON and pthreads only. Every function is safe to call from several
 * threads at once on one store; no lock is held across a request.
 */
#ifndef TZWM_WATERMARK_H
#define TZWM_WATERMARK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum watermark_result {
    WATERMARK_OK,
    WATERMARK_REFUSED,     /* DynamoDB's condition failed: the request must not be signed */
    WATERMARK_UNAVAILABLE, /* no answer we can trust before the deadline: do not sign either */
};

/* Room for any reason or error text this library writes. */
#define WATERMARK_REASON_SIZE 512

/* "ok", "refused" or "unavailable". */
const char *watermark_result_name(enum watermark_result result);

/* config.c: the environment (AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
 * AWS_SESSION_TOKEN, AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL, AWS_CA_BUNDLE, CURL_CA_BUNDLE,
 * TZWM_TABLE, TZWM_TIMEOUT_MS), read once. */
struct watermark_config;

/* NULL when a variable is missing or malformed; error then names the variable (never its value
 * when it is a secret). */
struct watermark_config *watermark_config_from_env(char *error, size_t error_size);
void watermark_config_free(struct watermark_config *config);
/* For the caller's logs: none of these is a secret. */
const char *watermark_config_table(const struct watermark_config *config);
const char *watermark_config_endpoint(const struct watermark_config *config);
const char *watermark_config_region(const struct watermark_config *config);
long watermark_config_timeout_ms(const struct watermark_config *config);

/* store.c: the operations. The store copies what it needs of the config. */
struct watermark_store;

struct watermark_store *watermark_store_open(const struct watermark_config *config, char *error,
                                             size_t error_size);
void watermark_store_close(struct watermark_store *store);

enum watermark_table_origin {
    WATERMARK_TABLE_CREATED, /* log "DynamoDB watermark backend created table '<name>'" */
    WATERMARK_TABLE_EXISTED, /* log "DynamoDB watermark backend using existing table '<name>'" */
};

/* Creates the table unless it exists and waits until it is ACTIVE (a minute at most). A denied
 * CreateTable is fine when the table is there. On WATERMARK_OK, *origin says which. */
enum watermark_result watermark_ensure_table(struct watermark_store *store,
                                             enum watermark_table_origin *origin, char *reason,
                                             size_t reason_size);

/* One conditional PutItem of the whole row (idx "<chain>/<address>", kind "block",
 * "preattestation" or "attestation", digest the "vh…" text), retried on throttling, 5xx and
 * connection failures while the config's deadline allows. WATERMARK_OK only when DynamoDB stored
 * it: the level and round are above the row's, or they are equal and so is the digest. */
enum watermark_result watermark_advance(struct watermark_store *store, const char *idx,
                                        const char *kind, int64_t level, int64_t round,
                                        const char *digest, char *reason, size_t reason_size);

/* How hard the store works its connections: HTTP requests sent (every attempt) and the TCP/TLS
 * connections libcurl had to open for them. On a warm pool the second stays put. */
struct watermark_connection_counters {
    unsigned long requests;
    unsigned long connections_opened;
};

void watermark_store_counters(const struct watermark_store *store,
                              struct watermark_connection_counters *counters);

struct watermark_row {
    const char *idx;
    const char *kind;
    int64_t level;
    int64_t round;
    const char *digest;
};

/* Which rows watermark_list reports: NULL fields match everything. */
struct watermark_filter {
    const char *chain;   /* "Net…" */
    const char *address; /* "tz…" */
};

/* Called once per row; the strings live until it returns. Non-zero stops the listing. */
typedef int (*watermark_row_callback)(const struct watermark_row *row, void *context);

/* The rows that match (a Query when both chain and address are given, else a Scan), all pages;
 * each page has the config's timeout, retries included. For inspection, not for signing. */
enum watermark_result watermark_list(struct watermark_store *store,
                                     const struct watermark_filter *filter,
                                     watermark_row_callback callback, void *context, char *reason,
                                     size_t reason_size);

#ifdef TZWM_WATERMARK_INTERNAL
/*
 * Inside watermark/ (and its own tests) only: the rest of the tree sees the structs as opaque.
 */
#include <cjson/cJSON.h>

struct watermark_config {
    char *region;
    char *access_key_id;
    char *secret_access_key; /* secret */
    char *session_token;     /* secret; NULL when not set */
    char *endpoint;          /* "http(s)://host[:port]/" */
    char *ca_bundle;         /* NULL: the system CAs */
    char *table;
    long timeout_ms;
};

/* config.c */
struct watermark_config *watermark_config_copy(const struct watermark_config *config);
/* Prints into reason (truncating, never overflowing); returns reason for convenience. */
char *watermark_reason(char *reason, size_t reason_size, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

/* store.c: at most this many rows per Query or Scan page (0: DynamoDB's own 1 MB pages), so that
 * tests can see pagination without a megabyte of rows. */
void watermark_store_set_page_limit(struct watermark_store *store, int page_limit);

/* clock.c: milliseconds of CLOCK_MONOTONIC. */
int64_t watermark_now_ms(void);

/* http.c: signed POSTs of DynamoDB operations over a small pool of kept-alive connections. */
struct watermark_http;

struct watermark_http *watermark_http_new(const struct watermark_config *config, char *error,
                                          size_t error_size);
void watermark_http_free(struct watermark_http *http);

struct watermark_http_reply {
    bool transport_failed; /* no HTTP answer: connection, TLS or timeout; reason says which */
    bool permanent;        /* a failure that trying again cannot mend (a certificate refused) */
    long status;
    char content_type[64]; /* as the server sent it; "" when none */
    char *body;            /* NUL-terminated; NULL when none; freed by watermark_http_reply_clear */
    size_t length;
};

/* One attempt of one operation ("PutItem", …), no retry, finished by deadline_ms
 * (watermark_now_ms). */
void watermark_http_post(struct watermark_http *http, const char *operation, const char *body,
                         int64_t deadline_ms, struct watermark_http_reply *reply, char *reason,
                         size_t reason_size);
void watermark_http_reply_clear(struct watermark_http_reply *reply);
void watermark_http_counters(const struct watermark_http *http,
                             struct watermark_connection_counters *counters);

/* json.c: request bodies (the caller frees them with free()) and the parts of replies. */
char *watermark_json_create_table(const char *table);
char *watermark_json_describe_table(const char *table);
char *watermark_json_put_item(const char *table, const char *idx, const char *kind, int64_t level,
                              int64_t round, const char *digest);
/* A Query or Scan page for the filter; start_key is the previous LastEvaluatedKey or NULL.
 * *operation is set to "Query" or "Scan"; page_limit 0 means no Limit. */
char *watermark_json_list(const char *table, const struct watermark_filter *filter, int page_limit,
                          const cJSON *start_key, const char **operation);
/* The name after '#' in an error body's __type ("" when there is none), and its message whichever
 * way the server spells the key. */
void watermark_json_error(const char *body, char *type, size_t type_size, char *message,
                          size_t message_size);
/* A DynamoDB item as a row; false when an attribute is missing or has another type. The row
 * points into item. */
bool watermark_json_row(const cJSON *item, struct watermark_row *row);
#endif

#endif
