#include "test_support.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/socket.h>

#include <cmocka.h>

struct watermark_store *test_store_from_environment(void)
{
    char error[WATERMARK_REASON_SIZE];
    struct watermark_config *config = watermark_config_from_env(error, sizeof error);
    if (config == NULL)
        fail_msg("config: %s", error);
    struct watermark_store *store = watermark_store_open(config, error, sizeof error);
    watermark_config_free(config);
    if (store == NULL)
        fail_msg("store: %s", error);
    return store;
}

int test_loopback_socket(bool listening, char *url, size_t url_size)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = 0};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof address;
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&address, sizeof address), 0);
    if (listening)
        assert_int_equal(listen(fd, 4), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&address, &size), 0);
    snprintf(url, url_size, "http://127.0.0.1:%d", ntohs(address.sin_port));
    return fd;
}
