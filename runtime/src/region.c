/*
 * region.c: a heap in shared memory that only its creator writes.
 *
 * The mapping and the kernel's guarantees come from the platform layer
 * (soa__shm_create_sealed, soa__shm_map_sealed); this file is the
 * allocator on top.  A block of class c holds 2^c bytes (MIN_CLASS up to
 * the largest power of two within the capacity) and starts at a multiple
 * of min(2^c, SOA_REGION_MAX_ALIGN): its natural alignment, the same in
 * every process because mappings are page-aligned.  A block comes from,
 * in order:
 *   1. the free list of its class (LIFO: the block freed last is the one
 *      most likely still in cache);
 *   2. the smallest larger free block, halved down to the class (the
 *      upper halves go to their free lists): memory already paid for
 *      before fresh pages;
 *   3. the bump pointer, after aligning it: the gap that aligning skips is
 *      cut into smaller naturally aligned blocks for their free lists.
 * Blocks are never merged: the price of O(1) without boundary tags.
 *
 * Bookkeeping.  A free block holds the offset of the next free block of
 * its class in its first bytes: offsets, not pointers, because readers
 * see freed blocks and our addresses are none of their business.  The
 * class of each live block is in a private table, `live`, one byte per
 * 64-byte granule (the class of the live block starting there, 0 when
 * none): free is not told the alignment, so its size does not always name
 * the class, and the table is what catches double and mismatched frees.
 * Readers cannot write the region, so the links are as safe as the table.
 */
#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "soa/region.h"
#include "internal.h"
#include "platform.h"

#define MIN_CLASS 6u   /* SOA_REGION_MIN_BLOCK == 1 << MIN_CLASS */
#define PAGE_CLASS 12u /* SOA_REGION_MAX_ALIGN == 1 << PAGE_CLASS */
#define NCLASS 64u
#define GRANULE ((size_t)1 << MIN_CLASS)
#define NONE SOA_ARENA_BAD_OFFSET /* "no block": ends a free list */

struct soa_region {
    soa_alloc base;       /* first: soa_region_allocator returns &base */
    unsigned char *map;   /* offset 0; writable only for the creator */
    size_t capacity;      /* bytes mapped */
    unsigned max_class;   /* the largest block that fits */
    bool writer;          /* created here (else attached read-only) */
    long pid;             /* the process that mapped `map` */
    int fd;               /* the creator's sealed memfd; -1 for a reader */
    unsigned char *live;  /* creator: capacity / GRANULE class bytes */
    /* The allocator's state.  `lock` guards what follows and the `live`
     * table; it is a leaf: nothing else is locked or called under it. */
    pthread_mutex_t lock;
    size_t bump;              /* offsets from here on were never used */
    size_t free_head[NCLASS]; /* per class: the first free block, or NONE */
    uint64_t nonempty;        /* bit c: free_head[c] != NONE */
};

static bool is_pow2(size_t x)
{
    return x != 0 && (x & (x - 1u)) == 0;
}

static size_t block_bytes(unsigned c)
{
    return (size_t)1 << c;
}

/* Where a block of class c may start: a multiple of this. */
static size_t block_align(unsigned c)
{
    return block_bytes(c < PAGE_CLASS ? c : PAGE_CLASS);
}

/* The class of the block alloc(bytes, align) takes: the smallest power of
 * two >= bytes, align and 64 (NCLASS when bytes needs all 64 bits). */
static unsigned class_for(size_t bytes, size_t align)
{
    size_t n = bytes > align ? bytes : align;
    if (n <= GRANULE)
        return MIN_CLASS;
    return 64u - (unsigned)__builtin_clzll((unsigned long long)(n - 1u));
}

/* Whether a live block of class c can be what alloc(bytes, align) gave for
 * some align <= SOA_REGION_MAX_ALIGN: free is not told the alignment. */
static bool class_fits(unsigned c, size_t bytes)
{
    unsigned want = class_for(bytes, 1);
    return c == want || (c > want && c <= PAGE_CLASS);
}

/* ---- free lists and fresh space (under the lock) -------------------- */

static void push(soa_region *r, size_t off, unsigned c)
{
    memcpy(r->map + off, &r->free_head[c], sizeof(size_t));
    r->free_head[c] = off;
    r->nonempty |= (uint64_t)1 << c;
}

/* The first free block of class c, or NONE. */
static size_t pop(soa_region *r, unsigned c)
{
    size_t off = r->free_head[c];
    if (off != NONE) {
        memcpy(&r->free_head[c], r->map + off, sizeof(size_t));
        assert(r->free_head[c] == NONE || r->free_head[c] < r->capacity);
        if (r->free_head[c] == NONE)
            r->nonempty &= ~((uint64_t)1 << c);
    }
    return off;
}

/* Frees [from, to) (multiples of GRANULE, less than a page apart) as the
 * largest naturally aligned blocks that tile it. */
static void free_gap(soa_region *r, size_t from, size_t to)
{
    while (from < to) {
        unsigned c = MIN_CLASS;
        while (from % block_bytes(c + 1u) == 0 && to - from >= block_bytes(c + 1u))
            c++;
        push(r, from, c);
        from += block_bytes(c);
    }
}

/* Fresh space for a block of class c, or NONE (nothing changed) when the
 * rest of the capacity is too small. */
static size_t bump(soa_region *r, unsigned c)
{
    size_t a = block_align(c), size = block_bytes(c);
    size_t at = (r->bump + a - 1u) & ~(a - 1u); /* bump <= capacity: no wrap */
    if (at > r->capacity || size > r->capacity - at)
        return NONE;
    free_gap(r, r->bump, at);
    r->bump = at + size;
    return at;
}

/* The smallest free block of a class above c, halved down to class c (the
 * upper halves, naturally aligned, go to their free lists), or NONE. */
static size_t split(soa_region *r, unsigned c)
{
    uint64_t above = r->nonempty & ~(((uint64_t)2 << c) - 1u); /* c < 63 */
    if (!above)
        return NONE;
    unsigned d = (unsigned)__builtin_ctzll(above);
    size_t off = pop(r, d);
    while (d-- > c)
        push(r, off + block_bytes(d), d);
    return off;
}

/* A block of class c, recorded as live, or NONE. */
static size_t take(soa_region *r, unsigned c)
{
    size_t off = pop(r, c);
    if (off == NONE)
        off = split(r, c);
    if (off == NONE)
        off = bump(r, c);
    if (off != NONE)
        r->live[off / GRANULE] = (unsigned char)c;
    return off;
}

/* ---- the soa_alloc --------------------------------------------------- */

static void *region_alloc(soa_alloc *self, size_t bytes, size_t align)
{
    soa_region *r = (soa_region *)self;
    if (!r->writer) {
        errno = EPERM;
        return NULL;
    }
    if (!is_pow2(align) || align > SOA_REGION_MAX_ALIGN) {
        errno = EINVAL;
        return NULL;
    }
    unsigned c = class_for(bytes, align);
    if (c > r->max_class) {
        errno = ENOMEM;
        return NULL;
    }
    pthread_mutex_lock(&r->lock);
    size_t off = take(r, c);
    pthread_mutex_unlock(&r->lock);
    if (off == NONE) {
        errno = ENOMEM;
        return NULL;
    }
    return r->map + off;
}

static void region_free(soa_alloc *self, void *ptr, size_t bytes)
{
    soa_region *r = (soa_region *)self;
    if (!ptr || !r->writer)
        return;
    size_t off = soa_region_offset(r, ptr);
    bool ok = off < r->capacity && off % GRANULE == 0;
    pthread_mutex_lock(&r->lock);
    unsigned c = ok ? r->live[off / GRANULE] : 0u;
    ok = c != 0 && class_fits(c, bytes);
    if (ok) {
        r->live[off / GRANULE] = 0;
        push(r, off, c);
    }
    pthread_mutex_unlock(&r->lock);
    /* Not a live block of that size: a double free, a wrong size or a
     * foreign pointer.  Ignoring it (without assertions) keeps the free
     * lists sound. */
    assert(ok && "soa_region: free of something that is not a live block");
}

/* ---- regions --------------------------------------------------------- */

/* Bookkeeping for a region of `capacity` bytes (map not set yet), or NULL
 * with errno ENOMEM. */
static soa_region *region_new(size_t capacity, bool writer)
{
    soa_region *r = calloc(1, sizeof *r);
    if (!r || pthread_mutex_init(&r->lock, NULL) != 0) {
        free(r);
        errno = ENOMEM;
        return NULL;
    }
    r->base.alloc = region_alloc;
    r->base.free = region_free;
    r->capacity = capacity;
    r->max_class = 63u - (unsigned)__builtin_clzll((unsigned long long)capacity);
    r->writer = writer;
    r->pid = soa__process_id();
    r->fd = -1;
    for (unsigned c = 0; c < NCLASS; c++)
        r->free_head[c] = NONE;
    if (writer && !(r->live = soa__map_private(capacity / GRANULE))) {
        soa_region_destroy(r);
        errno = ENOMEM;
        return NULL;
    }
    return r;
}

soa_region *soa_region_create(size_t max_bytes)
{
    if (!soa_shm_available()) {
        errno = ENOSYS;
        return NULL;
    }
    size_t cap;
    if (!soa__map_size(0, max_bytes ? max_bytes : SOA_REGION_DEFAULT_BYTES,
                       &cap)) {
        errno = EINVAL;
        return NULL;
    }
    soa_region *r = region_new(cap, true);
    if (r && !(r->map = soa__shm_create_sealed(cap, &r->fd))) {
        int err = errno;
        soa_region_destroy(r);
        errno = err;
        return NULL;
    }
    return r;
}

soa_region *soa_region_attach_readonly(int fd)
{
    size_t size;
    unsigned char *map = soa__shm_map_sealed(fd, &size);
    if (!map)
        return NULL;
    soa_region *r = region_new(size, false);
    if (!r) {
        soa__unmap(map, size);
        errno = ENOMEM;
        return NULL;
    }
    r->map = map;
    return r;
}

void soa_region_destroy(soa_region *r)
{
    if (!r)
        return;
    int saved = errno;
    /* In a fork() child of the creator the writable mapping is gone
     * (platform.h): whatever the child has mapped there since is not
     * ours to unmap. */
    if (!r->writer || soa__process_id() == r->pid)
        soa__unmap(r->map, r->capacity);
    soa__fd_close(r->fd);
    soa__unmap(r->live, r->capacity / GRANULE);
    pthread_mutex_destroy(&r->lock);
    free(r);
    errno = saved;
}

int soa_region_fd(const soa_region *r)
{
    return r ? r->fd : -1;
}

size_t soa_region_capacity(const soa_region *r)
{
    return r ? r->capacity : 0;
}

size_t soa_region_used(const soa_region *r)
{
    if (!r)
        return 0;
    /* The lock is bookkeeping, not part of the region's value. */
    pthread_mutex_t *lock = (pthread_mutex_t *)&r->lock;
    pthread_mutex_lock(lock);
    size_t used = r->bump;
    pthread_mutex_unlock(lock);
    return used;
}

size_t soa_region_offset(const soa_region *r, const void *p)
{
    return r ? soa__offset_in(r->map, r->capacity, p) : SOA_ARENA_BAD_OFFSET;
}

void *soa_region_ptr(const soa_region *r, size_t offset)
{
    return r ? soa__ptr_in(r->map, r->capacity, offset) : NULL;
}

soa_alloc *soa_region_allocator(soa_region *r)
{
    return r ? &r->base : NULL;
}

soa_region *soa_region_of(soa_alloc *a)
{
    return a && a->alloc == region_alloc ? (soa_region *)a : NULL;
}
