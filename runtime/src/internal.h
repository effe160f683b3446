/*
 * internal.h: helpers libsoa's source files share.  Not installed, not
 * part of the API; hidden from the shared library's exports.  Unit tests
 * link the static library and may include it to reach these directly.
 */
#ifndef SOA_INTERNAL_H
#define SOA_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "soa/alloc.h"
#include "soa/pool.h"
#include "soa/world.h"

#define SOA__HIDDEN __attribute__((visibility("hidden")))

/* ---- memory (alloc.c) ---------------------------------------------- */

/* A new block of new_n elements of `elem` bytes holding the first old_n of
 * `old`, the rest zeroed; `old` is left alone.  NULL (errno ENOMEM) on
 * overflow or exhaustion. */
SOA__HIDDEN void *soa__copy_grown(soa_alloc *a, const void *old, size_t elem,
                                  size_t align, size_t old_n, size_t new_n);

/* Grows *p from old_n to new_n elements in place of the old block.
 * 0, or -1 (errno ENOMEM) with *p untouched. */
SOA__HIDDEN int soa__grow_array(soa_alloc *a, void **p, size_t elem,
                                size_t align, size_t old_n, size_t new_n);

/* header + capacity rounded up to whole pages into *out; false when that
 * cannot be represented (or exceeds what mmap and a file offset take). */
SOA__HIDDEN bool soa__map_size(size_t header, size_t capacity, size_t *out);

/* The offset of p in a mapping [base, base + capacity] (one past the end
 * included), or SOA_ARENA_BAD_OFFSET, also for a NULL p. */
static inline size_t soa__offset_in(const void *base, size_t capacity,
                                    const void *p)
{
    uintptr_t s = (uintptr_t)base, q = (uintptr_t)p;
    if (!p || q < s || q - s > capacity)
        return SOA_ARENA_BAD_OFFSET;
    return (size_t)(q - s);
}

/* base + offset for offset <= capacity, else NULL. */
static inline void *soa__ptr_in(void *base, size_t capacity, size_t offset)
{
    return offset <= capacity ? (unsigned char *)base + offset : NULL;
}

/* ---- what the system machinery reads of the world (world.c) -------- */

typedef struct soa_table soa_table;

/* A number that changes whenever any row of the world is added, removed
 * or moved, or a table is made, and differs between worlds: while it
 * holds, every entity is at the table and row it was at.  O(1). */
SOA__HIDDEN uint64_t soa__world_shape(const soa_world *w);

/* A number no other world of this process has (worlds may be made at the
 * address of a destroyed one). */
SOA__HIDDEN uint64_t soa__world_id(const soa_world *w);

/* The world's tables: 0 .. n-1, in creation order (tables are never
 * destroyed, so a table's index and pointer live as long as the world). */
SOA__HIDDEN uint32_t soa__world_ntables(const soa_world *w);
SOA__HIDDEN const soa_table *soa__world_table(const soa_world *w, uint32_t i);

/* Whether table t has every `all` and no `none` component of q. */
SOA__HIDDEN bool soa__table_matches(const soa_table *t, const soa_query *q);

/* Rows of t now; rows r live in block r / SOA_BLOCK_ROWS at r %
 * SOA_BLOCK_ROWS, whose base soa__table_block returns (b < blocks). */
SOA__HIDDEN size_t soa__table_rows(const soa_table *t);
SOA__HIDDEN unsigned char *soa__table_block(const soa_table *t, size_t b);

/* Byte offset in each block of t of column `col` of component cid
 * (columns in C_cols order), or of cid's changed bitset; SIZE_MAX when t
 * lacks it.  A block's entity column is at offset 0. */
SOA__HIDDEN size_t soa__table_col_offset(const soa_table *t, soa_cid cid,
                                         uint32_t col);
SOA__HIDDEN size_t soa__table_bit_offset(const soa_table *t, soa_cid cid);

/* The table and row of a live entity: true, or false for a dead or stale
 * handle.  O(1). */
SOA__HIDDEN bool soa__world_locate(const soa_world *w, soa_entity e,
                                   const soa_table **t, size_t *row);

/* ---- system layouts and snapshot chunks (system.c) ----------------- */

/* Whether the runtime can use layout L: generated for this ABI, its
 * columns inside its value, S_snap and S_view.  O(columns). */
SOA__HIDDEN bool soa__layout_ok(const soa_sys_layout *L);

/* A chunk of snapshot rows [begin, end): returns a count to add up. */
typedef size_t (*soa__rows_fn)(void *ctx, size_t begin, size_t end);

/*
 * Calls fn over rows [0, rows) in chunks of SOA_SNAP_GRAIN rows (boundaries
 * multiples of 64) on `pool`, the caller taking part, and returns the sum
 * of what the calls returned.  A NULL or one-thread pool, fewer than
 * SOA_SNAP_PARALLEL_ROWS rows or a call from inside a pool task runs
 * fn(ctx, 0, rows) on the caller.  Every write fn made happens before this
 * returns.  Same threading rule as soa_pool_for (one driving thread).  No
 * allocation.
 */
SOA__HIDDEN size_t soa__snap_for(soa_pool *pool, size_t rows, soa__rows_fn fn,
                                 void *ctx);

/* Whether snapshot `snap`'s rows are still where its last build found
 * them in w (the world's structure did not change since): its commit then
 * writes each row back by the build's own record, never by the entity
 * ids in the snapshot's columns. */
SOA__HIDDEN bool soa__snap_current(const void *snap, const soa_world *w);

/* ---- shared-memory snapshot headers (shmsnap.c) -------------------- */

/* Bytes of a header with ncomps component hashes and ncols columns (0 on
 * overflow). */
SOA__HIDDEN size_t soa__shm_snap_bytes(size_t ncomps, size_t ncols);

#endif /* SOA_INTERNAL_H */
