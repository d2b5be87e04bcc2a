/*
 * One logged-in PKCS#11 session per worker. A session runs one sign operation at a time (the
 * module answers CKR_OPERATION_ACTIVE to a second), so each request borrows a whole session and
 * gives it back. There are as many sessions as workers, and a worker serves one request at a time:
 * the wait in session_pool_acquire is short or none.
 */
#include "signer.h"

#include <stdio.h>
#include <stdlib.h>

struct pooled_session {
    struct token_session session;
    bool busy;
};

struct session_pool {
    pthread_mutex_t lock;
    pthread_cond_t freed;
    size_t count;
    struct pooled_session sessions[];
};

struct session_pool *session_pool_open(CK_FUNCTION_LIST_PTR p11,
                                       const struct session_options *options, size_t count)
{
    struct session_pool *pool = calloc(1, sizeof *pool + count * sizeof pool->sessions[0]);
    CK_RV rv;

    if (pool == NULL) {
        fprintf(stderr, "tzwm-signer: out of memory\n");
        return NULL;
    }
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->freed, NULL);
    for (size_t i = 0; i < count; i++)
        pool->sessions[i].session.handle = CK_INVALID_HANDLE;
    pool->count = count;
    /* The first session chooses the token and logs in; the login holds for every session of
     * this application on the token, so the others only open. */
    if (session_open(p11, options, &pool->sessions[0].session) != 0)
        goto fail;
    for (size_t i = 1; i < count; i++) {
        struct token_session *session = &pool->sessions[i].session;

        *session = pool->sessions[0].session;
        rv = p11->C_OpenSession(session->slot, CKF_SERIAL_SESSION, NULL, NULL, &session->handle);
        if (rv != CKR_OK) {
            session->handle = CK_INVALID_HANDLE;
            fprintf(stderr, "tzwm-signer: C_OpenSession %zu of %zu failed: %s\n", i + 1, count,
                    ckr_name(rv));
            goto fail;
        }
    }
    return pool;
fail:
    session_pool_close(pool);
    return NULL;
}

const struct token_session *session_pool_acquire(struct session_pool *pool)
{
    const struct token_session *session = NULL;

    pthread_mutex_lock(&pool->lock);
    while (session == NULL) {
        for (size_t i = 0; i < pool->count && session == NULL; i++) {
            if (!pool->sessions[i].busy) {
                pool->sessions[i].busy = true;
                session = &pool->sessions[i].session;
            }
        }
        if (session == NULL)
            pthread_cond_wait(&pool->freed, &pool->lock);
    }
    pthread_mutex_unlock(&pool->lock);
    return session;
}

void session_pool_release(struct session_pool *pool, const struct token_session *session)
{
    pthread_mutex_lock(&pool->lock);
    for (size_t i = 0; i < pool->count; i++) {
        if (&pool->sessions[i].session == session)
            pool->sessions[i].busy = false;
    }
    pthread_cond_signal(&pool->freed);
    pthread_mutex_unlock(&pool->lock);
}

const struct token_session *session_pool_first(struct session_pool *pool)
{
    return &pool->sessions[0].session;
}

/* After the workers have stopped: no session is borrowed any more. Closing the last session of
 * the token logs out. */
void session_pool_close(struct session_pool *pool)
{
    if (pool == NULL)
        return;
    for (size_t i = pool->count; i-- > 0;)
        session_close(&pool->sessions[i].session);
    pthread_cond_destroy(&pool->freed);
    pthread_mutex_destroy(&pool->lock);
    free(pool);
}
