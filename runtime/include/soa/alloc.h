/*
 * soa/alloc.h: where columns live.
 *
 * soa_alloc is a two-function interface so snapshot columns can come from the
 * heap, from a private arena, or from shared memory that another process maps.
 * soa_arena is a fixed-capacity bump region over mmap, 64-byte aligned, in
 * three kinds:
 *
 *   SOA_ARENA_PRIVATE  anonymous private mapping: this process only
 *   SOA_ARENA_SHARED   anonymous shared mapping: seen by fork() children
 *   SOA_ARENA_NAMED    a memfd sealed against shrinking: its fd can be passed
 *                      to another process, which maps it with soa_arena_attach
 *
 * Processes map a region at different addresses, so anything that is shared
 * refers to memory by offset (soa_arena_offset / soa_arena_ptr), never by
 * pointer.  The bookkeeping (including the bump offset) is private to each
 * process: one process allocates and tells the others offsets.
 */
#ifndef SOA_ALLOC_H
#define SOA_ALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The cache line every column starts on. */
#define SOA_ALIGN 64u

typedef struct soa_alloc soa_alloc;

/*
 * An allocator.  `alloc` returns `bytes` bytes aligned to `align` (a power of
 * two), or NULL with errno set; `bytes` may be 0, and then the result is
 * either NULL or a pointer that is only ever passed back to `free`.  `free`
 * takes the pointer and the size it was allocated with; NULL is a no-op.
 * Implementations put their own state after this struct (or point to it).
 */
struct soa_alloc {
    void *(*alloc)(soa_alloc *self, size_t bytes, size_t align);
    void (*free)(soa_alloc *self, void *ptr, size_t bytes);
};

/* The default allocator: aligned_alloc/free.  Thread-safe; never NULL. */
soa_alloc *soa_alloc_heap(void);

/* a ? a : soa_alloc_heap(): every API that takes a soa_alloc * accepts NULL. */
static inline soa_alloc *soa_alloc_or_heap(soa_alloc *a)
{
    return a ? a : soa_alloc_heap();
}

/* a * b into *out; false (and *out untouched) when it would overflow. */
static inline bool soa_mul_ok(size_t a, size_t b, size_t *out)
{
#if defined(__GNUC__) || defined(__clang__)
    size_t r;
    if (__builtin_mul_overflow(a, b, &r))
        return false;
    *out = r;
    return true;
#else
    if (b != 0 && a > (size_t)-1 / b)
        return false;
    *out = a * b;
    return true;
#endif
}

/* a + b into *out; false when it would overflow. */
static inline bool soa_add_ok(size_t a, size_t b, size_t *out)
{
    if (a > SIZE_MAX - b)
        return false;
    *out = a + b;
    return true;
}

enum {
    SOA_ARENA_PRIVATE = 0,
    SOA_ARENA_SHARED = 1,
    SOA_ARENA_NAMED = 2
};

typedef struct soa_arena soa_arena;

/*
 * Maps a region of at least `capacity` usable bytes of the given kind (the
 * size is rounded up to whole pages; soa_arena_capacity says how much).
 * Returns NULL with errno set: EINVAL for a bad kind or a zero capacity,
 * EOVERFLOW when the size cannot be represented, ENOMEM, ENOSYS when the kind
 * needs shared memory that this system lacks (see soa_shm_available).  The
 * memory starts zeroed.  Costs an mmap (and, for NAMED, a memfd); pages are
 * only backed when touched.  Destroy with soa_arena_destroy.
 */
soa_arena *soa_arena_create(size_t capacity, int kind);

/*
 * Maps the NAMED arena behind `fd` (received from another process).  The fd
 * must be a memfd sealed against shrinking, and the region's header (magic,
 * version, capacity) is validated against the fd's size before anything in
 * it is trusted.  Returns NULL with errno EBADF (not an open fd), EINVAL
 * (not an arena: a pipe, a file, an unsealed memfd, a wrong magic, a size
 * too small for the header or for the capacity it claims), EPROTO (an arena
 * of another version), or mmap's error.  The fd is duplicated (close on
 * exec): the caller keeps ownership of `fd`.  The new arena has its own
 * bump offset, starting at 0: it reads what the creator allocated by offset.
 */
soa_arena *soa_arena_attach(int fd);

/* The memfd of a NAMED arena (created or attached), or -1 for other kinds.
 * Owned by the arena: closed by soa_arena_destroy. */
int soa_arena_fd(const soa_arena *a);

/* The arena's kind (SOA_ARENA_*). */
int soa_arena_kind(const soa_arena *a);

/*
 * Bump-allocates `bytes` aligned to `align` (a power of two; 0 means
 * SOA_ALIGN; at least SOA_ALIGN is used), or NULL when full or on overflow
 * (errno ENOMEM / EOVERFLOW / EINVAL for an align that is not a power of
 * two).  A failure takes nothing.  O(1).  Not thread-safe: one thread
 * allocates from an arena at a time.  Alignments up to the page size hold
 * in every process that maps the arena; larger ones only in this one.
 */
void *soa_arena_alloc(soa_arena *a, size_t bytes, size_t align);

/* Forgets every allocation: the next alloc starts at the beginning again.
 * The memory is not cleared. */
void soa_arena_reset(soa_arena *a);

/* Unmaps (and closes the fd of) an arena.  NULL is a no-op.  Other
 * processes that attached keep their own mappings. */
void soa_arena_destroy(soa_arena *a);

/* Usable bytes, and bytes handed out so far. */
size_t soa_arena_capacity(const soa_arena *a);
size_t soa_arena_used(const soa_arena *a);

/* The arena as a soa_alloc (free is a no-op; reset reclaims).  Owned by the
 * arena, valid until it is destroyed. */
soa_alloc *soa_arena_allocator(soa_arena *a);

/*
 * Offsets into the usable region and back.  soa_arena_offset(a, p) for a
 * pointer outside the region returns SOA_ARENA_BAD_OFFSET.
 * soa_arena_ptr(a, off) for off > capacity returns NULL (off == capacity is
 * the one-past-the-end pointer).
 */
#define SOA_ARENA_BAD_OFFSET SIZE_MAX
size_t soa_arena_offset(const soa_arena *a, const void *p);
void *soa_arena_ptr(const soa_arena *a, size_t offset);

/* Whether SHARED and NAMED arenas work here (the seed's canUseSAB).  Probes
 * once (creates and maps a tiny memfd) and caches the answer; thread-safe. */
bool soa_shm_available(void);

#ifdef __cplusplus
}
#endif

#endif /* SOA_ALLOC_H */
