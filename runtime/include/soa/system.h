/*
 * soa/system.h: the system machinery, once: builds, runs and commits any
 * system from its layout table (soa_sys_layout, generated as S_layout).
 *
 * A snapshot (the generated S_snap) holds the rows a system works on as
 * SoA columns: build gathers every matching entity of a world into rows
 * [0, rows) and clears the changed bits; run calls the kernel over chunks
 * of rows whose boundaries are multiples of 64 (so kernels set changed bits
 * with plain writes); commit writes the rows marked changed back to the
 * entities they came from.  Generated code is only types, the layout table
 * and one-line typed wrappers around the functions below (S_build calls
 * soa_snap_build, ...), so every optimisation lives here.
 *
 * Every function takes the snapshot as void *: a generated S_snap whose
 * first members are those of soa_snap_head, initialised with soa_snap_init
 * (or attached with soa_snap_attach).  The runtime finds the layout in the
 * snapshot's private `soa` member.
 *
 * Threading: one thread at a time calls these on one snapshot; the _on
 * variants and run spread their work over a pool that the calling thread
 * drives.  Build reads the world and registers components (a structural
 * change); commit writes values of existing entities only.
 */
#ifndef SOA_SYSTEM_H
#define SOA_SYSTEM_H

#include <stddef.h>
#include <stdint.h>

#include "alloc.h"
#include "desc.h"
#include "pool.h"
#include "world.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct soa_snap_state soa_snap_state;

/* The private member `soa` of every S_snap.  Only the runtime touches it. */
typedef struct soa_snap_core {
    const soa_sys_layout *layout; /* NULL: not initialised */
    soa_alloc *mem;               /* the columns' allocator; NULL when
                                     attached to memory someone else owns */
    soa_snap_state *state;        /* row maps etc., from the first build */
} soa_snap_core;

/* The members every generated S_snap starts with, in this order. */
typedef struct soa_snap_head {
    size_t rows, cap;
    soa_entity *eids;
    soa_snap_core soa;
} soa_snap_head;

/* The members every generated S_view starts with, in this order. */
typedef struct soa_view_head {
    size_t begin, end;
    const soa_entity *eids;
} soa_view_head;

/* The most columns a system may have: its S_view (a pointer per column)
 * lives on the stack of every thread that runs a chunk. */
#define SOA_SYS_MAX_COLS 8192u

/* Rows per chunk when build_on / commit_on spread a snapshot over a pool:
 * 4096 rows (a multiple of 64, so chunks never share a changed-bitset
 * word), enough work to hide the cost of a claim. */
#define SOA_SNAP_GRAIN 4096u

/* Fewer rows than this are built and committed on the caller alone: waking
 * sleeping workers costs tens of microseconds, about what copying this
 * many rows takes. */
#define SOA_SNAP_PARALLEL_ROWS 32768u

/*
 * An empty snapshot of system `layout` at `snap` (layout->snap_size bytes),
 * whose columns will come from `alloc` (NULL: the heap).  Allocates nothing
 * until the first build.  0, or -1 with errno EINVAL (a NULL argument, or a
 * layout this runtime cannot use: a generated header of another version,
 * more than SOA_SYS_MAX_COLS columns, a column size other than 1, 2, 4, 8).
 */
int soa_snap_init(void *snap, const soa_sys_layout *layout, soa_alloc *alloc);

/* Frees every column and the private state; the snapshot stays usable
 * (empty).  NULL, a zeroed and an attached snapshot are no-ops. */
void soa_snap_release(void *snap);

/*
 * Gathers every entity of `w` that matches the system into rows [0, rows)
 * and clears the changed bits (soa_snap_build_on with no pool).  Registers
 * the system's components in `w` (idempotent).  Rows come in the world's
 * order, in batches of 64; a batch whose values lie in consecutive rows of
 * the world is copied as a block.  When no term's rows were added or
 * removed since the last build, the walk is skipped and the same rows are
 * copied again.  Allocates only when the matching entities outgrow the
 * capacity (then at least doubling it; the old columns are freed first).
 * 0, or -1 with errno: EINVAL (a NULL argument, an uninitialised or
 * attached snapshot, a component the world refuses), ENOMEM, EOVERFLOW;
 * the snapshot is then empty.
 */
int soa_snap_build(void *snap, soa_world *w);

/* soa_snap_build with the copying spread over `pool` (NULL: the caller) in
 * chunks of whole 64-row blocks; the query walk runs on the pool too while
 * every candidate matches, else on the caller.  Same rows and values as
 * soa_snap_build for any pool size.  Call from the thread that drives
 * `pool`. */
int soa_snap_build_on(void *snap, soa_world *w, soa_pool *pool);

/*
 * Calls `kernel` (an S_kernel erased with S_kernel_fn) over every row of a
 * built snapshot, in chunks whose boundaries are multiples of 64 rows, on
 * `pool` (NULL: the caller alone).  A NULL frame reads as all zeros.
 * Returns when every chunk ran: 0, or -1 with errno EINVAL (a NULL
 * snapshot or kernel, an uninitialised snapshot).
 */
int soa_snap_run(void *snap, soa_pool *pool, soa_fn kernel,
                 const soa_frame *frame, void *ctx);

/* Calls `kernel` on rows [begin, end) of a built snapshot, on this thread.
 * begin, and end unless it is rows, are multiples of 64. */
void soa_snap_run_range(void *snap, soa_fn kernel, const soa_frame *frame,
                        void *ctx, size_t begin, size_t end);

/*
 * Writes every changed row of each written component back to its entity,
 * only to entities still alive with the component (soa_snap_commit_on with
 * no pool).  While no row of the component lost its entity since the
 * build, rows go straight to where the build found them; otherwise each
 * entity is looked up (a generation check), skipping those that died, were
 * recycled or lost the component.  Returns the values written (a row
 * changed in two components counts twice).  O(rows / 64 + changed rows).
 */
size_t soa_snap_commit(const void *snap, soa_world *w);

/* soa_snap_commit spread over `pool` (NULL: the caller) in chunks of whole
 * 64-row blocks, each writing other entities' values.  Same values and
 * count for any pool size.  Call from the thread that drives `pool`. */
size_t soa_snap_commit_on(const void *snap, soa_world *w, soa_pool *pool);

/*
 * Fills the S_view at `view` (view_size bytes: the generated S_call's
 * sizeof) for one kernel call.  Called only by the generated S_call, which
 * the runtime calls with `src`.
 */
void soa_view_fill(const soa_view_src *src, void *view, size_t view_size);

/* Bytes the shared-memory header of a snapshot of `layout` takes (what
 * soa_snap_publish writes at its offset, 8-byte aligned); 0 for NULL. */
size_t soa_snap_shm_bytes(const soa_sys_layout *layout);

/*
 * Describes a built snapshot, whose columns must come from arena `a`
 * (soa_snap_init with soa_arena_allocator(a) or a worker's allocator), in
 * a header at `offset` in `a` (soa_snap_shm_bytes bytes, 8-byte aligned),
 * for a worker process to attach to (format: soa/shmsnap.h).  Publish
 * again after every build: a build may move the columns.  SOA_SHM_OK, or a
 * negative SOA_SHM_* code with errno set.
 */
int soa_snap_publish(const void *snap, soa_arena *a, size_t offset);

/*
 * Points the snapshot at `snap` (storage for layout->snap_size bytes,
 * initialised or not) at the one whose header soa_snap_publish wrote at
 * `offset` in `a`, typically in another process.  Refuses, with `snap`
 * untouched, a header of another format version or another schema (any
 * layout hash differs) and any offset or size that reaches outside `a`.
 * The result can be run but not built; releasing it is a no-op (its memory
 * belongs to the arena).  Do not attach over a snapshot that owns columns
 * (release it first).  SOA_SHM_OK, or a negative SOA_SHM_* code with errno.
 */
int soa_snap_attach(void *snap, const soa_sys_layout *layout,
                    const soa_arena *a, size_t offset);

#ifdef __cplusplus
}
#endif

#endif /* SOA_SYSTEM_H */
