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

/* ---- what the system machinery reads of the world (world.c) -------- */

/* A row number no component has: "not found" / "no block". */
#define SOA__ROW_NONE UINT32_MAX

/* Matches per soa__query_fetch_rows batch in a snapshot build: one word of
 * a changed bitset, so batch b is snapshot rows [64 b, 64 b + 64). */
#define SOA__FETCH_BATCH 64u

/*
 * Like soa_query_fetch, but reports dense rows instead of pointers: for
 * match j, ents[j] is the entity and rows[k * max + j] its row in the
 * dense values of all[k] (the value is at soa__world_values(w, all[k]) +
 * row * size).  Returns how many, always `max` unless the walk reached the
 * end (0 at the end), so callers can rely on batch boundaries.  *runs
 * (when not NULL) gets bit k (k < 64) set when all[k]'s rows of this
 * batch are consecutive (rows[k * max + j] == rows[k * max] + j), so the
 * batch can be copied as one block.  `ents` needs room for `max` entities
 * or for all the walk can still yield, whichever is less; `rows` for
 * nall * max.  A query with no `all` term walks live entities like
 * soa_query_fetch (rows untouched, *runs 0); a NULL argument yields 0.
 * Cost: O(candidates * (nall + nnone)) in tight loops, one column at a
 * time.
 */
SOA__HIDDEN size_t soa__query_fetch_rows(soa_query_iter *it, soa_entity *ents,
                                         uint32_t *rows, size_t max,
                                         uint64_t *runs);

/* The dense values of component `cid`: row r (as soa__query_fetch_rows
 * reports it) is at byte r * size.  NULL for an unknown cid, a tag or a
 * component that never had a row.  Valid until the next structural change
 * of the component.  O(1). */
SOA__HIDDEN void *soa__world_values(soa_world *w, soa_cid cid);

/*
 * A stamp of one component's rows: which world, which component, and a
 * version the world bumps whenever any row of the component loses its
 * entity (remove, despawn).  While a stamp holds, every row still belongs
 * to the entity it had when the stamp was taken, and that entity is alive
 * and still has the component; adding rows, setting values and growing the
 * storage keep it.  A zeroed stamp matches nothing.
 */
typedef struct soa__stamp {
    uint64_t world;   /* the world's serial, unique in the process */
    uint64_t version; /* bumped when a row loses its entity */
    uint64_t shape;   /* bumped when a row is added or removed */
    soa_cid cid;
} soa__stamp;

/* Takes the stamp of `cid` now into *st (an unknown cid: a stamp that
 * matches nothing).  O(1). */
SOA__HIDDEN void soa__world_stamp(const soa_world *w, soa_cid cid,
                                  soa__stamp *st);

/* Whether no row was added to or removed from any of the n stamped
 * components since their stamps were taken in `w`: a query over exactly
 * those components then yields the same entities in the same order, at the
 * same rows.  False for n == 0, a NULL argument or another world.  O(n). */
SOA__HIDDEN bool soa__world_same_shape(const soa_world *w,
                                       const soa__stamp *st, size_t n);

/* soa__world_values of the stamped component when the stamp still holds
 * in `w` (same world, no row lost its entity since), else NULL: the caller
 * must then look each entity up (soa_world_get).  O(1). */
SOA__HIDDEN void *soa__world_values_stamped(soa_world *w,
                                            const soa__stamp *st);

/* ---- snapshot chunks on a pool (system.c) -------------------------- */

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

/* ---- shared-memory snapshot headers (shmsnap.c) -------------------- */

/* Bytes of a header with ncomps component hashes and ncols columns (0 on
 * overflow). */
SOA__HIDDEN size_t soa__shm_snap_bytes(size_t ncomps, size_t ncols);

#endif /* SOA_INTERNAL_H */
