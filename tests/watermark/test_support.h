/* What several watermark tests need: a store from the environment, loopback sockets. */
#ifndef TZWM_TESTS_WATERMARK_SUPPORT_H
#define TZWM_TESTS_WATERMARK_SUPPORT_H

#include "watermark.h"

#include <stdbool.h>
#include <stddef.h>

/* A store configured from the environment as it is now; fails the test when there is none. */
struct watermark_store *test_store_from_environment(void);

/* A TCP socket bound to a free loopback port, listening or not (connections to a bound socket
 * that does not listen are refused); url gets "http://127.0.0.1:<port>". */
int test_loopback_socket(bool listening, char *url, size_t url_size);

#endif
