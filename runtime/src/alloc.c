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
 * A NAMED arena is a memfd sealed with F_SEAL_SHRINK | F_SEAL_SEAL, so no
 * peer can truncate it under our mapping (which would SIGBUS us) or change
 * its seals.  Its mapping starts with a header:
 *
 *   offset 0   magic        "SOAARENA" (8 bytes)
 *          8   version      u32 (ARENA_VERSION)
 *         12   header size  u32 (HEADER_SIZE)
 *         16   capacity     u64: usable bytes after the header
 *   then zeros up to HEADER_SIZE (64: the usable region is cache-aligned)
 *
 * soa_arena_attach checks the seals, then the header against fstat's size,
 * and copies what it needs into its private struct, so later writes to the
 * header by a peer change nothing.  Offsets are relative to the usable
 * region, hence the same in every process.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "soa/alloc.h"
#include "internal.h"
#include "platform.h"

#define ARENA_MAGIC "SOAARENA"
#define ARENA_VERSION 1u
#define HEADER_SIZE 64u
#define REQUIRED_SEALS (F_SEAL_SHRINK | F_SEAL_SEAL)

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

/* Creates, seals and maps a one-page memfd, and maps anonymous shared
 * memory: everything SHARED and NAMED arenas need. */
static void shm_probe(void)
{
    size_t len = soa__page_size();
    void *anon = mmap(NULL, len, PROT_READ | PROT_WRITE,
                      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (anon == MAP_FAILED)
        return;
    munmap(anon, len);
    int fd = memfd_create("soa-probe", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0)
        return;
    void *m = MAP_FAILED;
    if (ftruncate(fd, (off_t)len) == 0 &&
        fcntl(fd, F_ADD_SEALS, REQUIRED_SEALS) == 0)
        m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (m != MAP_FAILED) {
        munmap(m, len);
        shm_ok = true;
    }
    close(fd);
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

/* A sealed memfd of `size` bytes, or -1 with errno set. */
static int named_fd(size_t size)
{
    int fd = memfd_create("soa-arena", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0)
        return -1;
    if (ftruncate(fd, (off_t)size) != 0 ||
        fcntl(fd, F_ADD_SEALS, REQUIRED_SEALS) != 0) {
        int err = errno;
        close(fd);
        errno = err == EFBIG ? ENOMEM : err;
        return -1;
    }
    return fd;
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
 * memfd behind a NAMED one (else -1); NULL with errno on failure. */
static unsigned char *map_region(int kind, size_t size, int *fd)
{
    int flags = MAP_SHARED;
    *fd = -1;
    if (kind == SOA_ARENA_NAMED) {
        if ((*fd = named_fd(size)) < 0)
            return NULL;
    } else {
        flags = (kind == SOA_ARENA_SHARED ? MAP_SHARED : MAP_PRIVATE) |
                MAP_ANONYMOUS;
    }
    void *map = mmap(NULL, size, PROT_READ | PROT_WRITE, flags, *fd, 0);
    if (map != MAP_FAILED)
        return map;
    int err = errno;
    if (*fd >= 0)
        close(*fd);
    errno = err;
    return NULL;
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
        munmap(map, size);
        if (fd >= 0)
            close(fd);
        errno = ENOMEM;
    }
    return a;
}

/* Checks that fd is a sealed memfd of at least HEADER_SIZE bytes; its size
 * into *size, or -1 with errno. */
static int check_fd(int fd, size_t *size)
{
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        errno = EBADF;
        return -1;
    }
    /* Only memfds (and other shmem files) take seals: a regular file on
     * disk, a pipe or a socket fails here. */
    int seals = S_ISREG(st.st_mode) ? fcntl(fd, F_GET_SEALS) : -1;
    if (seals < 0 || (seals & REQUIRED_SEALS) != REQUIRED_SEALS ||
        st.st_size < (off_t)HEADER_SIZE ||
        (uint64_t)st.st_size > (uint64_t)PTRDIFF_MAX) {
        errno = EINVAL;
        return -1;
    }
    *size = (size_t)st.st_size;
    return 0;
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
    if (check_fd(fd, &size) != 0)
        return NULL;
    /* Sealed against shrinking, so all `size` bytes stay backed. */
    unsigned char *map =
        mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED)
        return NULL;
    int own = -1;
    soa_arena *a = NULL;
    if (check_header(map, size, &capacity) == 0 &&
        (own = fcntl(fd, F_DUPFD_CLOEXEC, 0)) >= 0)
        a = arena_new(map, size, HEADER_SIZE, capacity, own,
                      SOA_ARENA_NAMED);
    if (!a) {
        int err = errno;
        if (own >= 0)
            close(own);
        munmap(map, size);
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
    munmap(a->map, a->map_size);
    if (a->fd >= 0)
        close(a->fd);
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
