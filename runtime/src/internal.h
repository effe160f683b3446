/*
 * internal.h: helpers libsoa's source files share.  Not installed, not
 * part of the API; hidden from the shared library's exports.
 */
#ifndef SOA_INTERNAL_H
#define SOA_INTERNAL_H

#include <stddef.h>

#include "soa/alloc.h"

#define SOA__HIDDEN __attribute__((visibility("hidden")))

/* A new block of new_n elements of `elem` bytes holding the first old_n of
 * `old`, the rest zeroed; `old` is left alone.  NULL (errno ENOMEM) on
 * overflow or exhaustion. */
SOA__HIDDEN void *soa__copy_grown(soa_alloc *a, const void *old, size_t elem,
                                  size_t align, size_t old_n, size_t new_n);

/* Grows *p from old_n to new_n elements in place of the old block.
 * 0, or -1 (errno ENOMEM) with *p untouched. */
SOA__HIDDEN int soa__grow_array(soa_alloc *a, void **p, size_t elem,
                                size_t align, size_t old_n, size_t new_n);

#endif /* SOA_INTERNAL_H */
