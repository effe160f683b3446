/*
 * soa/shmsnap.h: a system snapshot that another process can attach to.
 *
 * When a snapshot's columns come from an arena (S_snap_init with
 * soa_arena_allocator), the data already lives in memory a worker process
 * maps.  What the worker lacks is where: S_snap_publish writes a header at
 * an offset the caller chose, describing the snapshot by offsets only:
 *
 *   magic, format version, the system's layout hash, the C_LAYOUT_HASH of
 *   every component with columns, rows, capacity, and per column (entity
 *   ids first, then each component's fields, arrays element by element,
 *   then its changed bitset) the element size and the column's offset.
 *
 * S_snap_attach, in the worker, reads that header back into an S_snap of
 * its own whose pointers point into its own mapping.  It refuses a header
 * written by a program compiled against another schema (any layout hash
 * differs), another format version, and any offset or size that would reach
 * outside the arena: nothing read from shared memory is trusted before it
 * is checked against the arena's capacity.
 *
 * soac generates, per system S, S_snap_publish and S_snap_attach (typed
 * wrappers of soa_snap_publish / soa_snap_attach, soa/system.h) and S_shm
 * (a soa_shm_system for soa/worker.h).  The functions here read and write
 * the header from a soa_shm_layout; programs rarely call them directly.
 */
#ifndef SOA_SHMSNAP_H
#define SOA_SHMSNAP_H

#include <stddef.h>
#include <stdint.h>

#include "alloc.h"
#include "desc.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The header format; bumped when it changes. */
#define SOA_SHM_SNAP_VERSION 1u

/* Results (0 or negative); errno is set too (in parentheses). */
enum {
    SOA_SHM_OK = 0,
    SOA_SHM_EINVAL = -1,  /* a NULL argument, a misaligned offset (EINVAL) */
    SOA_SHM_EMAGIC = -2,  /* no snapshot header at that offset (EINVAL) */
    SOA_SHM_EVERSION = -3, /* another header format version (EPROTO) */
    SOA_SHM_ELAYOUT = -4, /* another system or component layout: the two
                             programs were compiled from different schemas
                             (EPROTO) */
    SOA_SHM_EBOUNDS = -5, /* an offset or size reaches outside the arena,
                             or rows > capacity (ERANGE) */
    SOA_SHM_ENOTARENA = -6 /* publish: a column is not in the arena
                              (EFAULT) */
};

/* What generated code tells the runtime about one system's snapshot. */
typedef struct soa_shm_layout {
    const char *system;           /* the system's C name */
    uint64_t system_hash;         /* S_system.layout_hash */
    uint32_t ncomps;              /* components with columns */
    const uint64_t *comp_hashes;  /* their C_LAYOUT_HASH, in S_snap order */
    uint32_t ncols;               /* eids + every column + every bitset */
    const uint32_t *col_sizes;    /* bytes per row; 0 = a changed bitset */
} soa_shm_layout;

/* Bytes the header of `layout` takes in the arena (0 for NULL, or when
 * it would overflow).  Allocate that much (8-byte aligned) for publish. */
size_t soa_shm_snap_bytes(const soa_shm_layout *layout);

/*
 * Writes the header for a snapshot of `rows` rows and capacity `cap` at
 * `offset` in `a`; cols[i] is column i (layout order), which must lie in
 * `a` (NULL is allowed when cap is 0).  SOA_SHM_OK or a negative code above
 * (EINVAL, EBOUNDS: the header does not fit; ENOTARENA).  O(ncols).
 * Every write happens before the caller hands the offset to a worker
 * through the mailbox, whose release/acquire pair publishes it.
 */
int soa_shm_snap_write(soa_arena *a, size_t offset,
                       const soa_shm_layout *layout, const void *const *cols,
                       size_t rows, size_t cap);

/*
 * Reads and validates the header at `offset` in `a` against `layout` (the
 * reader's own, compiled in): SOA_SHM_OK with off[0 .. ncols) the column
 * offsets and *rows, *cap filled, each column checked to lie inside the
 * arena for `cap` rows; or a negative code above, with nothing filled.
 * O(ncols + ncomps).
 */
int soa_shm_snap_read(const soa_arena *a, size_t offset,
                      const soa_shm_layout *layout, size_t *off,
                      size_t *rows, size_t *cap);

/* A message for a result code ("layout hashes differ: ..."). */
const char *soa_shm_strerror(int code);

/*
 * A system a worker process can run: the generated S_shm.  The worker host
 * (soa/worker.h) publishes and attaches its snapshots with
 * soa_snap_publish / soa_snap_attach (soa/system.h) from the system's
 * layout, and runs it with the layout's kernel trampoline.
 */
typedef struct soa_shm_system {
    const soa_system_desc *system;
} soa_shm_system;

#ifdef __cplusplus
}
#endif

#endif /* SOA_SHMSNAP_H */
