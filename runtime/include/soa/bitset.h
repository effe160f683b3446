/*
 * soa/bitset.h: bitsets of 64-bit words, bit `i` in word i/64 at position i%64.
 *
 * Header-only so that a kernel's soa_bitset_set() inlines to one OR.  Plain
 * set/clear are not atomic: two threads may write the same word only through
 * soa_bitset_set_atomic().  The pool and generated S_run hand out row ranges
 * whose boundaries are multiples of 64, so kernels can use the plain form.
 */
#ifndef SOA_BITSET_H
#define SOA_BITSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cast.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Words needed for `nbits` bits.  Never overflows. */
static inline size_t soa_bitset_words(size_t nbits)
{
    return nbits / 64u + (nbits % 64u != 0u ? 1u : 0u);
}

static inline void soa_bitset_set(uint64_t *words, size_t bit)
{
    words[bit / 64u] |= UINT64_C(1) << (bit % 64u);
}

static inline void soa_bitset_clear(uint64_t *words, size_t bit)
{
    words[bit / 64u] &= ~(UINT64_C(1) << (bit % 64u));
}

static inline bool soa_bitset_test(const uint64_t *words, size_t bit)
{
    return (words[bit / 64u] >> (bit % 64u)) & 1u;
}

/* Sets bits [begin, end): whole words at once, the partial words at the
 * ends bit-masked (so a kernel marks a chunk changed in end/64 stores).  Not
 * atomic: the caller owns every word the range touches, as a pool chunk
 * does.  begin >= end sets nothing. */
static inline void soa_bitset_set_range(uint64_t *words, size_t begin,
                                        size_t end)
{
    if (begin >= end)
        return;
    size_t w = begin / 64u, last = (end - 1u) / 64u;
    uint64_t head = ~UINT64_C(0) << (begin % 64u);
    uint64_t tail = ~UINT64_C(0) >> (63u - (end - 1u) % 64u);
    if (w == last) {
        words[w] |= head & tail;
        return;
    }
    words[w] |= head;
    for (w++; w < last; w++)
        words[w] = ~UINT64_C(0);
    words[last] |= tail;
}

/* Sets a bit with a relaxed atomic OR: safe when threads share a word.  The
 * bits are published by whatever synchronises the threads afterwards (the
 * pool's join is a release/acquire pair). */
static inline void soa_bitset_set_atomic(uint64_t *words, size_t bit)
{
    __atomic_fetch_or(&words[bit / 64u], UINT64_C(1) << (bit % 64u),
                      __ATOMIC_RELAXED);
}

/* Clears bits [0, nbits): every word that holds one of them is zeroed. */
static inline void soa_bitset_clear_all(uint64_t *words, size_t nbits)
{
    size_t n = soa_bitset_words(nbits);
    for (size_t i = 0; i < n; i++)
        words[i] = 0;
}

static inline unsigned soa__popcount64(uint64_t x)
{
    return SOA_CAST(unsigned, __builtin_popcountll(x));
}

static inline unsigned soa__ctz64(uint64_t x)
{
    return SOA_CAST(unsigned, __builtin_ctzll(x));
}

/* Number of set bits among bits [0, nbits).  Bits past nbits in the last
 * word are ignored. */
static inline size_t soa_bitset_count(const uint64_t *words, size_t nbits)
{
    size_t full = nbits / 64u, total = 0;
    for (size_t i = 0; i < full; i++)
        total += soa__popcount64(words[i]);
    if (nbits % 64u)
        total += soa__popcount64(words[full] &
                                 ((UINT64_C(1) << (nbits % 64u)) - 1u));
    return total;
}

/* The first set bit at or after `from` and below `nbits`, or `nbits` when
 * there is none (also when from >= nbits).  Skips zero words, so a scan of a
 * sparse bitset costs one load per 64 rows. */
static inline size_t soa_bitset_next(const uint64_t *words, size_t nbits,
                                     size_t from)
{
    if (from >= nbits)
        return nbits;
    size_t w = from / 64u, nw = soa_bitset_words(nbits);
    uint64_t cur = words[w] & (~UINT64_C(0) << (from % 64u));
    for (;;) {
        if (cur) {
            size_t bit = w * 64u + soa__ctz64(cur);
            return bit < nbits ? bit : nbits;
        }
        if (++w >= nw)
            return nbits;
        cur = words[w];
    }
}

/* for each set bit `var` (a size_t lvalue) in [0, nbits), ascending:
 *     size_t i;
 *     SOA_BITSET_FOREACH(changed, rows, i) { ... }
 * The body may set or clear bits at or below `var`.  `words` and `nbits`
 * are evaluated once per set bit: pass plain expressions. */
#define SOA_BITSET_FOREACH(words, nbits, var)                                 \
    for ((var) = soa_bitset_next((words), (nbits), 0); (var) < (nbits);       \
         (var) = soa_bitset_next((words), (nbits), (var) + 1u))

#ifdef __cplusplus
}
#endif

#endif /* SOA_BITSET_H */
