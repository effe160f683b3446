/*
 * alloc.c: the heap allocator and arenas.
 *
 * An arena is one mapping and a bump offset.  The bookkeeping (base, used,
 * capacity, fd, kind, the embedded soa_alloc) lives in a private heap struct
 * in each process, never in the mapping: a peer that writes garbage into
 * shared memory can corrupt data but not our pointers.  In particular the
 * bump offset `used` is per process: one process allocates (the one that
 * lays the columns out) and tells the others offsets.
 *
 * A NAMED arena is shared memory from soa__shm_create_named (on Linux a
 * memfd sealed against shrinking: no peer can truncate it under our
 * mapping, which would SIGBUS us).  Its mapping starts with a header:
 *
 *   offset 0   magic        "SOAARENA" (8 bytes)
 *          8   version      u32 (ARENA_VERSION)
 *         12   header size  u32 (HEADER_SIZE)
 *         16   capacity     u64: usable bytes after the header
 *   then zeros up to HEADER_SIZE (64: the usable region is cache-aligned)
 *
 * soa_arena_attach checks the seals (soa__shm_map_named), then the header
 * against the mapping's size,
 * and copies what it needs into its private struct, so later writes to the
 * header by a peer change nothing.  Offsets are relative to the usable
 * region, hence the same in every process.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "soa/alloc.h"
#include "internal.h"
#include "platform.h"

#define ARENA_MAGIC "SOAARENA"
#define ARENA_VERSION 1u
#define HEADER_SIZE 64u

typedef struct arena_header {
    char magic[8];
    uint32_t version;
    uint32_t header_size;
    uint64_t capacity;
} arena_header;

struct soa_arena {
    soa_alloc base;        /* first: soa_arena_allocator returns &base */
    unsigned char *map;    /* the whole mapping */
    size_t map_size;
    unsigned char *start;  /* the usable region: map + header */
    size_t capacity, used; /* usable bytes; bytes handed out (per process) */
    int fd, kind;
};

/* ---- the heap allocator -------------------------------------------- */

static bool is_pow2(size_t x)
{
    return x != 0 && (x & (x - 1u)) == 0;
}

/* aligned_alloc wants a size that is a multiple of the alignment: round up
 * (checked); 0 bytes gets one unit, a pointer only ever freed. */
static void *heap_alloc(soa_alloc *self, size_t bytes, size_t align)
{
    (void)self;
    if (!is_pow2(align)) {
        errno = EINVAL;
        return NULL;
    }
    if (align < sizeof(void *))
        align = sizeof(void *);
    size_t size;
    if (!soa_add_ok(bytes, align - 1u, &size)) {
        errno = ENOMEM;
        return NULL;
    }
    size &= ~(align - 1u);
    if (size == 0)
        size = align;
    void *p = aligned_alloc(align, size);
    if (!p)
        errno = ENOMEM;
    return p;
}

static void heap_free(soa_alloc *self, void *ptr, size_t bytes)
{
    (void)self;
    (void)bytes;
    free(ptr);
}

static soa_alloc heap = {heap_alloc, heap_free};

soa_alloc *soa_alloc_heap(void)
{
    return &heap;
}

/* ---- shared-memory probe ------------------------------------------- */

static pthread_once_t shm_once = PTHREAD_ONCE_INIT;
static bool shm_ok;

/* Everything SHARED and NAMED arenas need, tried once. */
static void shm_probe(void)
{
    shm_ok = soa__shm_probe();
}

bool soa_shm_available(void)
{
    int saved = errno; /* the probe's failures are not the caller's */
    pthread_once(&shm_once, shm_probe);
    errno = saved;
    return shm_ok;
}

/* ---- arenas -------------------------------------------------------- */

/* Contract in internal.h. */
bool soa__map_size(size_t header, size_t capacity, size_t *out)
{
    size_t page = soa__page_size(), total;
    if (!soa_add_ok(header, capacity, &total) ||
        !soa_add_ok(total, page - 1u, &total))
        return false;
    total &= ~(page - 1u);
    if (total > (size_t)PTRDIFF_MAX || (uint64_t)total > (uint64_t)INT64_MAX)
        return false;
    *out = total;
    return true;
}

static void *arena_alloc_fn(soa_alloc *self, size_t bytes, size_t align)
{
    return soa_arena_alloc((soa_arena *)self, bytes, align);
}

static void arena_free_fn(soa_alloc *self, void *ptr, size_t bytes)
{
    (void)self;
    (void)ptr;
    (void)bytes;
}

static soa_arena *arena_new(unsigned char *map, size_t map_size,
                            size_t header, size_t capacity, int fd, int kind)
{
    soa_arena *a = malloc(sizeof *a);
    if (!a)
        return NULL;
    a->base.alloc = arena_alloc_fn;
    a->base.free = arena_free_fn;
    a->map = map;
    a->map_size = map_size;
    a->start = map + header;
    a->capacity = capacity;
    a->used = 0;
    a->fd = fd;
    a->kind = kind;
    return a;
}

static void write_header(unsigned char *map, size_t capacity)
{
    arena_header h;
    memcpy(h.magic, ARENA_MAGIC, sizeof h.magic);
    h.version = ARENA_VERSION;
    h.header_size = HEADER_SIZE;
    h.capacity = (uint64_t)capacity;
    memcpy(map, &h, sizeof h);
}

/* Maps `size` bytes for an arena of `kind`: the mapping, and in *fd the
 * handle of a NAMED one (else -1); NULL with errno on failure. */
static unsigned char *map_region(int kind, size_t size, int *fd)
{
    *fd = -1;
    if (kind == SOA_ARENA_NAMED)
        return soa__shm_create_named(size, fd);
    return kind == SOA_ARENA_SHARED ? soa__map_shared(size)
                                    : soa__map_private(size);
}

soa_arena *soa_arena_create(size_t capacity, int kind)
{
    if (capacity == 0 || kind < SOA_ARENA_PRIVATE || kind > SOA_ARENA_NAMED) {
        errno = EINVAL;
        return NULL;
    }
    if (kind != SOA_ARENA_PRIVATE && !soa_shm_available()) {
        errno = ENOSYS;
        return NULL;
    }
    size_t header = kind == SOA_ARENA_NAMED ? HEADER_SIZE : 0u, size;
    if (!soa__map_size(header, capacity, &size)) {
        errno = EOVERFLOW;
        return NULL;
    }
    int fd;
    unsigned char *map = map_region(kind, size, &fd);
    if (!map)
        return NULL;
    if (kind == SOA_ARENA_NAMED)
        write_header(map, size - header);
    soa_arena *a = arena_new(map, size, header, size - header, fd, kind);
    if (!a) {
        soa__unmap(map, size);
        soa__fd_close(fd);
        errno = ENOMEM;
    }
    return a;
}

/* Validates a mapped header against the mapping's size: the capacity into
 * *capacity, or -1 with errno (EINVAL foreign or truncated, EPROTO another
 * version). */
static int check_header(const unsigned char *map, size_t size,
                        size_t *capacity)
{
    arena_header h;
    memcpy(&h, map, sizeof h);
    if (memcmp(h.magic, ARENA_MAGIC, sizeof h.magic) != 0) {
        errno = EINVAL;
        return -1;
    }
    if (h.version != ARENA_VERSION || h.header_size != HEADER_SIZE) {
        errno = EPROTO;
        return -1;
    }
    if (h.capacity > (uint64_t)(size - HEADER_SIZE)) {
        errno = EINVAL; /* truncated, or the header lies */
        return -1;
    }
    *capacity = (size_t)h.capacity;
    return 0;
}

soa_arena *soa_arena_attach(int fd)
{
    size_t size, capacity;
    unsigned char *map = soa__shm_map_named(fd, HEADER_SIZE, &size);
    if (!map)
        return NULL;
    int own = -1;
    soa_arena *a = NULL;
    if (check_header(map, size, &capacity) == 0 &&
        (own = soa__fd_dup(fd)) >= 0)
        a = arena_new(map, size, HEADER_SIZE, capacity, own,
                      SOA_ARENA_NAMED);
    if (!a) {
        int err = errno;
        soa__fd_close(own);
        soa__unmap(map, size);
        errno = err;
    }
    return a;
}

int soa_arena_fd(const soa_arena *a)
{
    return a ? a->fd : -1;
}

int soa_arena_kind(const soa_arena *a)
{
    return a ? a->kind : -1;
}

void *soa_arena_alloc(soa_arena *a, size_t bytes, size_t align)
{
    if (!a || (align != 0 && !is_pow2(align))) {
        errno = EINVAL;
        return NULL;
    }
    if (align < SOA_ALIGN)
        align = SOA_ALIGN;
    /* Align the address (the mapping is page-aligned in every process, so
     * up to the page size the offset is aligned alike everywhere). */
    uintptr_t at = (uintptr_t)(a->start + a->used);
    size_t pad = (size_t)(-at & (uintptr_t)(align - 1u)), off;
    if (!soa_add_ok(a->used, pad, &off)) {
        errno = EOVERFLOW;
        return NULL;
    }
    if (off > a->capacity || bytes > a->capacity - off) {
        errno = ENOMEM;
        return NULL;
    }
    a->used = off + bytes;
    return a->start + off;
}

void soa_arena_reset(soa_arena *a)
{
    if (a)
        a->used = 0;
}

void soa_arena_destroy(soa_arena *a)
{
    if (!a)
        return;
    int saved = errno;
    soa__unmap(a->map, a->map_size);
    soa__fd_close(a->fd);
    free(a);
    errno = saved;
}

size_t soa_arena_capacity(const soa_arena *a)
{
    return a ? a->capacity : 0;
}

size_t soa_arena_used(const soa_arena *a)
{
    return a ? a->used : 0;
}

soa_alloc *soa_arena_allocator(soa_arena *a)
{
    return a ? &a->base : NULL;
}

size_t soa_arena_offset(const soa_arena *a, const void *p)
{
    return a ? soa__offset_in(a->start, a->capacity, p)
             : SOA_ARENA_BAD_OFFSET;
}

void *soa_arena_ptr(const soa_arena *a, size_t offset)
{
    return a ? soa__ptr_in(a->start, a->capacity, offset) : NULL;
}

/* ---- growing arrays (shared by world.c and sched.c) ----------------- */

/* Contracts in internal.h. */
void *soa__copy_grown(soa_alloc *a, const void *old, size_t elem,
                      size_t align, size_t old_n, size_t new_n)
{
    size_t old_bytes = old_n * elem, new_bytes;
    if (!soa_mul_ok(new_n, elem, &new_bytes) || new_bytes == 0) {
        errno = ENOMEM;
        return NULL;
    }
    unsigned char *q = a->alloc(a, new_bytes, align);
    if (!q) {
        errno = ENOMEM;
        return NULL;
    }
    if (old_bytes)
        memcpy(q, old, old_bytes);
    memset(q + old_bytes, 0, new_bytes - old_bytes);
    return q;
}

int soa__grow_array(soa_alloc *a, void **p, size_t elem, size_t align,
                    size_t old_n, size_t new_n)
{
    void *q = soa__copy_grown(a, *p, elem, align, old_n, new_n);
    if (!q)
        return -1;
    a->free(a, *p, old_n * elem);
    *p = q;
    return 0;
}
