/*
 * The promise, checked over the merged record of every signer (processes or threads): for one
 * key and kind, two different requests are never both signed at one (level, round), and a request
 * signed after another one's signature came back is strictly above it. Every pair is compared,
 * across signers: order within one signer proves nothing about the others.
 */
#include "race.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define VIOLATIONS_SHOWN 10

static const char *kind_name(enum race_kind kind)
{
    return kind == RACE_BLOCK ? "block" : "attestation";
}

static bool before(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* (level, round) order. */
static int compare_position(const struct race_attempt *a, const struct race_attempt *b)
{
    if (a->level != b->level)
        return a->level < b->level ? -1 : 1;
    if (a->round != b->round)
        return a->round < b->round ? -1 : 1;
    return 0;
}

static void report(size_t *violations, const char *what, const struct race_attempt *a,
                   const struct race_attempt *b)
{
    if (++*violations > VIOLATIONS_SHOWN)
        return;
    printf("VIOLATION: %s: key %d %s signer %d level %" PRId32 " round %" PRId32, what, a->key,
           kind_name(a->kind), a->signer, a->level, a->round);
    if (b != NULL)
        printf(" / signer %d level %" PRId32 " round %" PRId32, b->signer, b->level, b->round);
    else
        printf(" (0x%lx)", a->rv);
    printf("\n");
}

/* Two signatures of one key and kind over different bytes. */
static void check_pair(const struct race_attempt *a, const struct race_attempt *b,
                       size_t *violations)
{
    int order = compare_position(a, b);

    if (order == 0)
        report(violations, "two different requests signed at one level and round", a, b);
    else if (before(&a->end, &b->start) && order > 0)
        report(violations, "signed at or below a level and round signed before", a, b);
    else if (before(&b->end, &a->start) && order < 0)
        report(violations, "signed at or below a level and round signed before", b, a);
}

size_t race_check(const struct race_attempt *attempts, size_t count, struct race_tally *tally)
{
    size_t violations = 0;

    memset(tally, 0, sizeof *tally);
    for (size_t i = 0; i < count; i++) {
        const struct race_attempt *a = &attempts[i];

        if (a->rv == CKR_OK) {
            tally->signed_count++;
            if (!a->verified)
                report(&violations, "the signature does not verify", a, NULL);
        } else if (a->rv == CKR_FUNCTION_REJECTED) {
            tally->refused++;
        } else if (a->rv == CKR_FUNCTION_FAILED) {
            tally->failed++;
        } else {
            tally->other++;
            report(&violations, "an unexpected return code", a, NULL);
        }
    }
    for (size_t i = 0; i < count; i++) {
        if (attempts[i].rv != CKR_OK)
            continue;
        for (size_t j = i + 1; j < count; j++) {
            const struct race_attempt *a = &attempts[i], *b = &attempts[j];

            if (b->rv == CKR_OK && a->key == b->key && a->kind == b->kind &&
                memcmp(a->digest, b->digest, sizeof a->digest) != 0)
                check_pair(a, b, &violations);
        }
    }
    if (violations > VIOLATIONS_SHOWN)
        printf("… and %zu more violations\n", violations - VIOLATIONS_SHOWN);
    printf("attempts %zu: signed %zu, refused (CKR_FUNCTION_REJECTED) %zu, failed "
           "(CKR_FUNCTION_FAILED) %zu, other %zu\n",
           count, tally->signed_count, tally->refused, tally->failed, tally->other);
    return violations;
}
