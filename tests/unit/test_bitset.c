/*
 * test_bitset.c: soa/bitset.h at its edges, against a model (a plain bool
 * array, as SQLite checks its bitvec), and from threads (also under TSan).
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "soa/bitset.h"
#include "soa/pool.h"

/* Sizes around every word edge. */
static const size_t edge_sizes[] = {0, 1, 2, 63, 64, 65, 127, 128, 129, 1000};

static void test_words(void **state)
{
    (void)state;
    assert_int_equal(soa_bitset_words(0), 0);
    assert_int_equal(soa_bitset_words(1), 1);
    assert_int_equal(soa_bitset_words(63), 1);
    assert_int_equal(soa_bitset_words(64), 1);
    assert_int_equal(soa_bitset_words(65), 2);
    assert_int_equal(soa_bitset_words(128), 2);
    assert_int_equal(soa_bitset_words(129), 3);
    assert_int_equal(soa_bitset_words(SIZE_MAX), SIZE_MAX / 64u + 1u);
}

static void test_set_clear_test_each_bit(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof edge_sizes / sizeof edge_sizes[0]; k++) {
        size_t n = edge_sizes[k], nw = soa_bitset_words(n);
        uint64_t words[16];
        for (size_t b = 0; b < n; b++) {
            memset(words, 0, sizeof words);
            soa_bitset_set(words, b);
            for (size_t i = 0; i < n; i++)
                assert_int_equal(soa_bitset_test(words, i), i == b);
            assert_int_equal(words[b / 64] , (uint64_t)1 << (b % 64));
            assert_int_equal(soa_bitset_count(words, n), 1);
            assert_int_equal(soa_bitset_next(words, n, 0), b);
            assert_int_equal(soa_bitset_next(words, n, b), b);
            assert_int_equal(soa_bitset_next(words, n, b + 1), n);
            soa_bitset_clear(words, b);
            for (size_t w = 0; w < nw; w++)
                assert_int_equal(words[w], 0);
        }
        /* all set, then clear_all */
        memset(words, 0, sizeof words);
        for (size_t b = 0; b < n; b++)
            soa_bitset_set(words, b);
        assert_int_equal(soa_bitset_count(words, n), n);
        soa_bitset_clear_all(words, n);
        for (size_t w = 0; w < 16; w++)
            assert_int_equal(words[w], 0);
    }
}

/* Bits past nbits (garbage in the last word, or the next word) are never
 * counted nor returned. */
static void test_bits_past_the_end_ignored(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof edge_sizes / sizeof edge_sizes[0]; k++) {
        size_t n = edge_sizes[k];
        uint64_t words[17];
        memset(words, 0xff, sizeof words);
        soa_bitset_clear_all(words, n);
        /* clear_all zeroes the words that hold [0, n) and no further */
        assert_int_equal(words[soa_bitset_words(n)], UINT64_MAX);
        for (size_t i = soa_bitset_words(n) * 64; i > n; i--)
            soa_bitset_set(words, i - 1); /* garbage after the last bit */
        assert_int_equal(soa_bitset_count(words, n), 0);
        assert_int_equal(soa_bitset_next(words, n, 0), n);
        size_t i, seen = 0;
        SOA_BITSET_FOREACH(words, n, i)
            seen++;
        assert_int_equal(seen, 0);
    }
}

static void test_next_edges(void **state)
{
    (void)state;
    uint64_t w[3] = {0, 0, 0};
    assert_int_equal(soa_bitset_next(w, 0, 0), 0);
    assert_int_equal(soa_bitset_next(w, 0, 5), 0);
    assert_int_equal(soa_bitset_next(w, 130, 0), 130);
    assert_int_equal(soa_bitset_next(w, 130, 129), 130);
    assert_int_equal(soa_bitset_next(w, 130, 130), 130);
    assert_int_equal(soa_bitset_next(w, 130, SIZE_MAX), 130);
    soa_bitset_set(w, 129); /* the last bit: found across two zero words */
    assert_int_equal(soa_bitset_next(w, 130, 0), 129);
    assert_int_equal(soa_bitset_next(w, 130, 129), 129);
    assert_int_equal(soa_bitset_next(w, 129, 0), 129); /* past nbits */
    soa_bitset_set(w, 63);
    soa_bitset_set(w, 64);
    assert_int_equal(soa_bitset_next(w, 130, 0), 63);
    assert_int_equal(soa_bitset_next(w, 130, 64), 64);
    assert_int_equal(soa_bitset_next(w, 130, 65), 129);
    assert_int_equal(soa_bitset_count(w, 130), 3);
    assert_int_equal(soa_bitset_count(w, 64), 1);
    assert_int_equal(soa_bitset_count(w, 65), 2);
    assert_int_equal(soa_bitset_count(w, 63), 0);
}

/* The foreach body may clear the current bit and set earlier ones. */
/* set_range against setting each bit: every begin and end within three
 * words (every head/tail mask, a range inside one word, whole words
 * between), over words that already hold a pattern that must survive. */
static void test_set_range(void **state)
{
    (void)state;
    enum { NBITS = 192 };
    for (size_t b = 0; b <= NBITS; b++) {
        for (size_t e = 0; e <= NBITS; e++) {
            uint64_t got[3], want[3];
            for (size_t k = 0; k < 3; k++)
                got[k] = want[k] = 0x8421084210842108ull >> k;
            soa_bitset_set_range(got, b, e);
            for (size_t i = b; i < e; i++)
                soa_bitset_set(want, i);
            assert_memory_equal(got, want, sizeof got);
        }
    }
}

static void test_foreach_with_body_edits(void **state)
{
    (void)state;
    uint64_t w[4] = {0};
    size_t want[] = {0, 5, 63, 64, 100, 191, 255};
    for (size_t k = 0; k < 7; k++)
        soa_bitset_set(w, want[k]);
    size_t i, got = 0;
    SOA_BITSET_FOREACH(w, 256, i) {
        assert_true(got < 7);
        assert_int_equal(i, want[got]);
        got++;
        soa_bitset_clear(w, i);
        if (i > 0)
            soa_bitset_set(w, i - 1); /* below: not visited again */
    }
    assert_int_equal(got, 7);
}

/* ---- the model test -------------------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Random set/clear/atomic-set/clear_all on a bitset and on a bool array;
 * after every op, test/count/next/foreach must agree with the model. */
static void test_model(void **state)
{
    (void)state;
    for (int round = 0; round < 300; round++) {
        size_t n = (size_t)(rng() % 300u);
        size_t nw = soa_bitset_words(n);
        uint64_t *w = calloc(nw + 1, sizeof *w);
        bool *m = calloc(n + 1, 1);
        assert_non_null(w);
        assert_non_null(m);
        w[nw] = UINT64_MAX; /* a guard word: must never change */
        for (int op = 0; op < 200 && n; op++) {
            size_t b = (size_t)(rng() % n);
            switch (rng() % 8) {
            case 0: case 1: case 2: soa_bitset_set(w, b); m[b] = true; break;
            case 3: soa_bitset_set_atomic(w, b); m[b] = true; break;
            case 4: case 5: case 6: soa_bitset_clear(w, b); m[b] = false; break;
            default:
                if (rng() % 8 == 0) {
                    soa_bitset_clear_all(w, n);
                    memset(m, 0, n);
                }
            }
            size_t count = 0;
            for (size_t i = 0; i < n; i++) {
                assert_int_equal(soa_bitset_test(w, i), m[i]);
                count += m[i];
            }
            assert_int_equal(soa_bitset_count(w, n), count);
            size_t from = (size_t)(rng() % (n + 2)), expect = n;
            for (size_t i = from; i < n; i++)
                if (m[i]) {
                    expect = i;
                    break;
                }
            assert_int_equal(soa_bitset_next(w, n, from), expect);
            size_t i, prev = 0, seen = 0;
            SOA_BITSET_FOREACH(w, n, i) {
                assert_true(m[i]);
                assert_true(seen == 0 || i > prev);
                prev = i;
                seen++;
            }
            assert_int_equal(seen, count);
        }
        assert_int_equal(w[nw], UINT64_MAX);
        free(w);
        free(m);
    }
}

/* ---- threads ----------------------------------------------------------- */

#define THREADS 4
#define ATOMIC_BITS 4096

typedef struct atomic_arg {
    uint64_t *words;
    unsigned t;
} atomic_arg;

/* Thread t sets every bit i with i % THREADS == t: all threads write every
 * word at once. */
static void *set_interleaved(void *arg)
{
    atomic_arg *a = arg;
    for (size_t i = a->t; i < ATOMIC_BITS; i += THREADS)
        soa_bitset_set_atomic(a->words, i);
    return NULL;
}

static void test_atomic_set_from_threads(void **state)
{
    (void)state;
    for (int round = 0; round < 20; round++) {
        uint64_t words[ATOMIC_BITS / 64] = {0};
        pthread_t th[THREADS];
        atomic_arg args[THREADS];
        for (unsigned t = 0; t < THREADS; t++) {
            args[t].words = words;
            args[t].t = t;
            assert_int_equal(
                pthread_create(&th[t], NULL, set_interleaved, &args[t]), 0);
        }
        for (unsigned t = 0; t < THREADS; t++)
            pthread_join(th[t], NULL);
        assert_int_equal(soa_bitset_count(words, ATOMIC_BITS), ATOMIC_BITS);
    }
}

/* Plain (non-atomic) sets from pool chunks: safe because chunk boundaries
 * are multiples of 64, so no two threads write one word (TSan would report
 * a race otherwise). */
static void set_every_third(void *ctx, size_t b, size_t e, unsigned worker)
{
    (void)worker;
    uint64_t *words = ctx;
    for (size_t i = b; i < e; i++)
        if (i % 3 == 0)
            soa_bitset_set(words, i);
}

static void test_plain_set_from_pool_chunks(void **state)
{
    (void)state;
    soa_pool *p = soa_pool_create(4);
    assert_non_null(p);
    static const size_t grains[] = {1, 64, 65, 100, 0};
    for (size_t g = 0; g < 5; g++) {
        size_t n = 10007;
        uint64_t *w = calloc(soa_bitset_words(n), sizeof *w);
        assert_non_null(w);
        soa_pool_for(p, n, grains[g], set_every_third, w);
        assert_int_equal(soa_bitset_count(w, n), (n + 2) / 3);
        size_t i, k = 0;
        SOA_BITSET_FOREACH(w, n, i) {
            assert_int_equal(i, 3 * k);
            k++;
        }
        free(w);
    }
    soa_pool_destroy(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_words),
        cmocka_unit_test(test_set_clear_test_each_bit),
        cmocka_unit_test(test_bits_past_the_end_ignored),
        cmocka_unit_test(test_next_edges),
        cmocka_unit_test(test_set_range),
        cmocka_unit_test(test_foreach_with_body_edits),
        cmocka_unit_test(test_model),
        cmocka_unit_test(test_atomic_set_from_threads),
        cmocka_unit_test(test_plain_set_from_pool_chunks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
