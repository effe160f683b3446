/*
 * soa/region.h: a heap in shared memory that other processes can read but
 * never write.
 *
 * A region is one shared mapping of fixed capacity (address space: pages
 * cost memory only once touched) with an allocator on top that really
 * reuses what is freed.  The process that creates a region is its only
 * writer.  It hands soa_region_fd to worker processes, which map the
 * region with soa_region_attach_readonly and read it in place.  The kernel
 * enforces the rule, not the readers' good manners: no holder of the fd can
 * map it writable, make a read-only mapping writable, write(2) to it,
 * resize it or punch holes in it, and the creator's writable mapping is not
 * inherited by fork() children (they attach like any other reader).
 *
 * Processes map a region at different addresses, so what is shared refers
 * to memory by offset (soa_region_offset / soa_region_ptr), never by
 * pointer; an offset means the same bytes in every process.
 *
 * The allocator: power-of-two blocks from 64 bytes up, each aligned to its
 * size up to 4096 (so alignments up to 4096 hold in every process), a free
 * list per size, fresh space from a bump pointer.  Freed memory is reused,
 * never given back to the system: the seals that keep readers from writing
 * also forbid punching holes, so what a region costs in memory only grows,
 * up to its `used`, until it is destroyed.
 */
#ifndef SOA_REGION_H
#define SOA_REGION_H

#include <stddef.h>
#include <stdint.h>

#include "alloc.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct soa_region soa_region;

/* The smallest block, and the largest alignment the allocator honours. */
#define SOA_REGION_MIN_BLOCK 64u
#define SOA_REGION_MAX_ALIGN 4096u

/*
 * Creates a region that can hold up to `max_bytes` (rounded up to whole
 * pages; 0 means SOA_REGION_DEFAULT_BYTES).  Returns NULL with errno:
 * ENOSYS when shared memory is unavailable (see soa_shm_available) or the
 * kernel cannot enforce read-only readers, EINVAL when max_bytes cannot be
 * mapped at all, ENOMEM.  Costs a memfd, a mapping of max_bytes and a
 * private table of max_bytes / 64 bytes, all backed only where touched.
 * Owned by the caller: soa_region_destroy.  A fork() child does not
 * inherit the writable mapping: there the region must not be used, only
 * destroyed; the child attaches to the fd like any other reader.
 */
soa_region *soa_region_create(size_t max_bytes);

/* 64 GiB of address space (1 GiB on 32-bit systems). */
#if SIZE_MAX > 0xffffffffu
#define SOA_REGION_DEFAULT_BYTES (UINT64_C(1) << 36)
#else
#define SOA_REGION_DEFAULT_BYTES (1u << 30)
#endif

/*
 * Maps, read-only, the region behind `fd` (from soa_region_fd in the
 * creating process, passed down by fork, exec or a unix socket), after
 * checking that the kernel keeps it read-only: `fd` must be a memfd with
 * the seals soa_region_create sets.  Returns NULL with errno EBADF (not an
 * open fd), EINVAL (a pipe, a file, a memfd without those seals) or
 * mmap's.  The fd stays the caller's.  Costs one mapping of the whole
 * region; pages are shared with the creator, so later writes by the
 * creator show through (no ordering: synchronise as for threads).
 *
 * The result's allocator refuses to allocate (EPERM) and ignores frees;
 * soa_region_ptr/offset/capacity work, soa_region_fd is -1 and
 * soa_region_used 0.  Writing through its pointers kills the process
 * (SIGSEGV).  A reader must check every offset it is told (and the size it
 * reads there) against soa_region_capacity before use: offsets come from
 * another process.  Reading a page the creator never touched makes the
 * kernel back it (a read fault on shared memory allocates): a reader that
 * sweeps the region costs up to its capacity in memory, charged to the
 * reader's cgroup.  Size regions to what they hold, or limit readers.
 */
soa_region *soa_region_attach_readonly(int fd);

/*
 * Unmaps a region and closes its fd.  NULL is a no-op.  Readers keep their
 * own mappings.  Not concurrent with any other use of the region.  In a
 * fork() child of the creator, where the writable mapping does not exist,
 * only frees the bookkeeping (and closes the child's copy of the fd).
 */
void soa_region_destroy(soa_region *r);

/* The sealed memfd to pass to readers (close on exec: a child that execs
 * must dup2 it).  Owned by the region.  -1 for a reader or NULL. */
int soa_region_fd(const soa_region *r);

/* Bytes the region can hold (0 for NULL). */
size_t soa_region_capacity(const soa_region *r);

/* Bytes the bump pointer has handed out: an upper bound of what the region
 * costs in memory.  Freed blocks stay counted (they are reused).  0 for a
 * reader or NULL.  Takes the allocator's lock. */
size_t soa_region_used(const soa_region *r);

/*
 * Offsets into the region and back.  soa_region_offset(r, p) for a pointer
 * outside the region returns SOA_ARENA_BAD_OFFSET; soa_region_ptr(r, off)
 * for off > capacity returns NULL (off == capacity is the one-past-the-end
 * pointer).  O(1), lock-free, any thread.  A reader's pointers are
 * read-only whatever their type says.
 */
size_t soa_region_offset(const soa_region *r, const void *p);
void *soa_region_ptr(const soa_region *r, size_t offset);

/*
 * The region as a soa_alloc, owned by the region (valid until it is
 * destroyed).  alloc(bytes, align) takes a block of the smallest power of
 * two >= max(bytes, align, 64): a free one of that size, else a larger
 * free one split in halves, else fresh space.  `align` must be a power of
 * two up to SOA_REGION_MAX_ALIGN (else EINVAL); 0 bytes take a 64-byte
 * block.  NULL with errno ENOMEM when none of the three is left (nothing
 * is taken), EPERM for a reader.  The memory is not cleared (fresh space
 * reads as zeros).  free(p, bytes) takes the size given to alloc; NULL is
 * a no-op; a pointer that is not a live block of that size (a double
 * free) is an assertion failure, or ignored when assertions are off.
 * Both O(1), but for a split: O(log capacity).
 *
 * Thread-safe: one mutex per region, held for a few list operations.  The
 * memory may be touched by any thread without it.  Physical memory
 * running out while a new page is touched is the kernel's to report (the
 * OOM killer), not a NULL from alloc.
 */
soa_alloc *soa_region_allocator(soa_region *r);

/* The region behind `a` when `a` came from soa_region_allocator, else NULL
 * (soa_alloc_heap(), an arena's allocator, NULL).  O(1). */
soa_region *soa_region_of(soa_alloc *a);

#ifdef __cplusplus
}
#endif

#endif /* SOA_REGION_H */
