/* Hex text, as tzwm decode and tzwm sign take requests. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

uint8_t *cli_hex_decode(const char *text, size_t *len)
{
    size_t digits;
    uint8_t *bytes;

    if (strncmp(text, "0x", 2) == 0)
        text += 2;
    digits = strlen(text);
    if (digits % 2 != 0 || (bytes = malloc(digits / 2 + 1)) == NULL)
        return NULL;
    for (size_t i = 0; i < digits / 2; i++) {
        int high = hex_value(text[2 * i]), low = hex_value(text[2 * i + 1]);

        if (high < 0 || low < 0) {
            free(bytes);
            return NULL;
        }
        bytes[i] = (uint8_t)(high << 4 | low);
    }
    *len = digits / 2;
    return bytes;
}
