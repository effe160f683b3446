/*
 * counting_alloc.h: a soa_alloc for tests that counts calls, checks every
 * free against its allocation (pointer and size), and can be told to fail.
 *
 *   counting_alloc ca;
 *   counting_alloc_init(&ca);
 *   soa_world *w = soa_world_create(&ca.base);
 *   ...
 *   assert_int_equal(ca.live_bytes, 0);   (everything was freed)
 *
 * Up to COUNTING_ALLOC_MAX blocks may be live at once.  Single-threaded: the
 * runtime only allocates from the thread that drives it.
 */
#ifndef COUNTING_ALLOC_H
#define COUNTING_ALLOC_H

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "soa/alloc.h"

#define COUNTING_ALLOC_MAX 4096

typedef struct counting_alloc {
    soa_alloc base;       /* first: a soa_alloc * points here */
    size_t allocs, frees; /* successful calls */
    size_t live_bytes, live_blocks;
    long fail_after;      /* < 0: never fail; else fail once this reaches 0 */
    size_t bad_frees;     /* frees of unknown pointers or with a wrong size */
    struct { void *p; size_t n; } blocks[COUNTING_ALLOC_MAX];
} counting_alloc;

static void *counting_alloc_alloc(soa_alloc *self, size_t bytes, size_t align)
{
    counting_alloc *ca = (counting_alloc *)self;
    if (ca->fail_after == 0 || ca->live_blocks == COUNTING_ALLOC_MAX) {
        errno = ENOMEM;
        return NULL;
    }
    if (ca->fail_after > 0)
        ca->fail_after--;
    if (align < sizeof(void *))
        align = sizeof(void *);
    size_t rounded = (bytes + align - 1) / align * align;
    void *p = aligned_alloc(align, rounded ? rounded : align);
    if (!p)
        return NULL;
    ca->blocks[ca->live_blocks].p = p;
    ca->blocks[ca->live_blocks].n = bytes;
    ca->live_blocks++;
    ca->live_bytes += bytes;
    ca->allocs++;
    return p;
}

static void counting_alloc_free(soa_alloc *self, void *ptr, size_t bytes)
{
    counting_alloc *ca = (counting_alloc *)self;
    if (!ptr)
        return;
    for (size_t i = 0; i < ca->live_blocks; i++) {
        if (ca->blocks[i].p != ptr)
            continue;
        if (ca->blocks[i].n != bytes)
            ca->bad_frees++;
        ca->live_bytes -= ca->blocks[i].n;
        ca->blocks[i] = ca->blocks[--ca->live_blocks];
        ca->frees++;
        free(ptr);
        return;
    }
    ca->bad_frees++;
}

static inline void counting_alloc_init(counting_alloc *ca)
{
    memset(ca, 0, sizeof *ca);
    ca->base.alloc = counting_alloc_alloc;
    ca->base.free = counting_alloc_free;
    ca->fail_after = -1;
}

#endif /* COUNTING_ALLOC_H */
