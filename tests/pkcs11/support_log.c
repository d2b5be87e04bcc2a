#include "support.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

char *test_read_file(const char *path)
{
    FILE *file = fopen(path, "r");
    char *text;
    long size;

    if (file == NULL)
        fail_msg("cannot read %s", path);
    fseek(file, 0, SEEK_END);
    size = ftell(file);
    rewind(file);
    text = calloc(1, (size_t)size + 1);
    assert_non_null(text);
    assert_int_equal(fread(text, 1, (size_t)size, file), (size_t)size);
    fclose(file);
    return text;
}

void test_assert_log_contains(const char *path, const char *text, bool expected)
{
    char *log = test_read_file(path);
    bool found = strstr(log, text) != NULL;

    if (found != expected)
        fail_msg("%s '%s' in %s:\n%s", expected ? "expected" : "did not expect", text, path, log);
    free(log);
}
