/* The shared vectors file (its path in TZWM_VECTORS), for the tests that check real requests. */
#ifndef TZWM_TESTS_VECTORS_H
#define TZWM_TESTS_VECTORS_H

#include <stddef.h>
#include <stdint.h>

struct vector {
    const char *name, *kind, *chain_id, *digest, *hex;
    int level, round, slot; /* slot -1: the file gives none */
    uint8_t bytes[512];
    size_t len;
};

struct vectors {
    void *document; /* the parsed JSON the strings point into */
    size_t count;
    struct vector items[64];
};

/* 0, or -1 with the reason on stderr (a missing or malformed file fails the test). */
int vectors_load(struct vectors *vectors);
void vectors_free(struct vectors *vectors);

#endif
