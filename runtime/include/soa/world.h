/*
 * soa/world.h: the reference ECS world, the "embedded default" for
 * programs without an ECS of their own.  It stores components natively as
 * struct-of-arrays, so systems run in place on its columns.
 *
 * Entities with the same set of components share a table (an archetype).
 * A table keeps, per component with fields, its SoA columns: one array per
 * scalar field and one per element of an array field, exactly as C_cols
 * lays them out, plus a changed bitset; tags only select the table.  Rows
 * live in blocks of SOA_BLOCK_ROWS rows allocated from the world's
 * soa_alloc; every column of a block is 64-byte aligned and a block never
 * moves, so column pointers stay valid while the table grows, and pool
 * chunks (multiples of 64 rows) never share a bitset word.  Adding or
 * removing a component moves the entity's row to another table (the old
 * table's last row fills the hole).
 *
 * Entities are 64-bit handles: slot index in the low 32 bits, generation in
 * the high 32.  A despawned slot is reused with the next generation, so a
 * stale handle is never alive, never read and never written (a slot whose
 * generation would wrap around is retired instead of reused).
 *
 * Change tracking lives with the data: each row has a changed bit per
 * component with fields.  A bit is set when the value is written: by a
 * kernel that marks it (soa_bitset_set(v->C.changed, i)), by
 * soa_world_set, by adding the component, and by a commit (a snapshot's or
 * a worker process's).  Bits travel with their row when the entity changes
 * tables and disappear with the entity.  Nothing clears them but
 * soa_world_clear_changed: "changed" means "written since the program last
 * cleared", whatever ran in between.
 *
 * Errors: functions that can fail return -1 (or NULL, SOA_ENTITY_NULL,
 * SOA_CID_INVALID) and set errno: EINVAL (a bad argument or an unknown
 * cid), ESRCH (a dead or stale entity), ENOENT (the entity lacks the
 * component), ENOMEM.
 *
 * Threading: any number of threads may call the read-only functions and
 * write *different* components' columns at once (a kernel, a local system);
 * everything that changes structure (register, spawn, despawn, add, set,
 * remove, clear_changed) needs exclusive access.
 */
#ifndef SOA_WORLD_H
#define SOA_WORLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cast.h"

#include "alloc.h"
#include "desc.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef uint64_t soa_entity;
typedef uint32_t soa_cid;

/* No entity: never alive.  Generations start at 1. */
#define SOA_ENTITY_NULL SOA_CAST(soa_entity, 0)
#define SOA_CID_INVALID SOA_CAST(soa_cid, UINT32_MAX)

/* Rows per block of a table: a multiple of 64 (and of SOA_POOL_GRAIN). */
#define SOA_BLOCK_ROWS 4096u

static inline uint32_t soa_entity_index(soa_entity e)
{
    return SOA_CAST(uint32_t, e & 0xffffffffu);
}

static inline uint32_t soa_entity_generation(soa_entity e)
{
    return SOA_CAST(uint32_t, e >> 32);
}

/* An empty world whose storage comes from `alloc` (NULL: the heap; a
 * shared region's allocator puts the whole world in shared memory, see
 * soa/region.h).  NULL with errno ENOMEM on failure. */
soa_world *soa_world_create(soa_alloc *alloc);

/* Frees the world and everything in it.  NULL is a no-op. */
void soa_world_destroy(soa_world *w);

/* The allocator the world's storage comes from (NULL for a NULL world). */
soa_alloc *soa_world_allocator(const soa_world *w);

/*
 * Registers a component type.  Idempotent: registering the same name again
 * returns the same cid (the descriptor pointer may differ, as each
 * translation unit has its own copy).  The same name with another layout
 * hash or size, or a NULL/unnamed/inconsistent descriptor, returns
 * SOA_CID_INVALID with errno EINVAL; ENOMEM when storage runs out.  The
 * descriptor must outlive the world.  O(1) expected.
 */
soa_cid soa_world_register(soa_world *w, const soa_component_desc *desc);

/* Why the last soa_world_register was refused, naming the component and
 * both layouts ("component 'Velocity' has another layout here (hash ...)
 * than in this world (hash ...)"); "" when none was.  Owned by w. */
const char *soa_world_error(const soa_world *w);

/* The cid registered under a C name, or SOA_CID_INVALID.  O(1) expected. */
soa_cid soa_world_lookup(const soa_world *w, const char *name);

/* The cid of a component registered with the same name and layout hash
 * as `desc`, or SOA_CID_INVALID (not registered, or with another layout).
 * What the generated typed accessors use.  O(1) expected. */
soa_cid soa_world_cid(const soa_world *w, const soa_component_desc *desc);

/* The descriptor of a registered cid, or NULL. */
const soa_component_desc *soa_world_desc(const soa_world *w, soa_cid cid);

/* A new entity with no components, or SOA_ENTITY_NULL (errno ENOMEM). */
soa_entity soa_world_spawn(soa_world *w);

/*
 * Spawns n entities that have components cids[0 .. ncids) with their
 * defaults, all in one table with no moves, and stores their handles in
 * out[0 .. n) when out is not NULL.  0, or -1 with errno (EINVAL: an
 * unknown or repeated cid; ENOMEM) and nothing spawned.  O(n + ncids).
 */
int soa_world_spawn_n(soa_world *w, const soa_cid *cids, uint32_t ncids,
                      size_t n, soa_entity *out);

/* Removes every component of `e` and frees its slot for reuse with a new
 * generation.  A dead or stale handle is a no-op. */
void soa_world_despawn(soa_world *w, soa_entity e);

bool soa_world_alive(const soa_world *w, soa_entity e);

/* Live entities. */
size_t soa_world_entities(const soa_world *w);

/*
 * Adds component `cid` to `e` with its default value (a no-op when `e`
 * has it already) and marks it changed.  0, or -1 with errno ESRCH (dead
 * entity), EINVAL (unknown cid), ENOMEM.  Moves e's row to another table.
 */
int soa_world_add(soa_world *w, soa_entity e, soa_cid cid);

/* Copies `value` (a C, NULL for a tag) into e's component, adding it when
 * absent, and marks it changed.  0, or -1 with errno as soa_world_add. */
int soa_world_set(soa_world *w, soa_entity e, soa_cid cid, const void *value);

/* Copies e's component out into *out (sizeof(C) bytes; nothing for a
 * tag).  0, or -1 with errno ESRCH (dead or stale handle), ENOENT (e lacks
 * the component), EINVAL (unknown cid, NULL out).  O(1). */
int soa_world_read(const soa_world *w, soa_entity e, soa_cid cid, void *out);

bool soa_world_has(const soa_world *w, soa_entity e, soa_cid cid);

/* Removes e's component: 0, or -1 with errno ESRCH (dead), ENOENT (absent)
 * or EINVAL (unknown cid).  Moves e's row to another table. */
int soa_world_remove(soa_world *w, soa_entity e, soa_cid cid);

/* Entities that have component `cid` (0 for an unknown cid).  O(tables). */
size_t soa_world_count(const soa_world *w, soa_cid cid);

/* ---- change tracking ------------------------------------------------ */

/* Whether e's component is marked changed (false when absent or dead). */
bool soa_world_is_changed(const soa_world *w, soa_entity e, soa_cid cid);

/* Entities whose component `cid` is marked changed.  O(rows / 64). */
size_t soa_world_count_changed(const soa_world *w, soa_cid cid);

/* Calls fn(ctx, e) for each entity whose component `cid` is marked
 * changed, table by table in row order; returns how many.  fn must not
 * change the world's structure. */
size_t soa_world_each_changed(const soa_world *w, soa_cid cid,
                              void (*fn)(void *ctx, soa_entity e), void *ctx);

/* Clears component cid's changed bits in every table (SOA_CID_INVALID:
 * every component's).  O(rows / 64). */
void soa_world_clear_changed(soa_world *w, soa_cid cid);

/* ---- queries -------------------------------------------------------- */

/*
 * Queries: entities that have every `all` component and none of the `none`
 * components.  A query walks the matching tables block by block: each
 * chunk is a row range of one block with its column pointers.  A query
 * with no `all` term matches every table without a `none` component.  The
 * world must not change structure while an iterator is in use (values may
 * be written).
 */
typedef struct soa_query {
    const soa_cid *all;
    uint32_t nall;
    const soa_cid *none;
    uint32_t nnone;
} soa_query;

/* Rows [begin, end) of one block of one table: eids[i] and each column's
 * element [i] are row i's. */
typedef struct soa_chunk {
    size_t begin, end;
    const soa_entity *eids;
    /* Private to the world. */
    const struct soa_table *table;
    size_t block;
    const soa_query *q;
} soa_chunk;

typedef struct soa_query_iter {
    /* Private to the world. */
    const soa_world *w;
    soa_query q;
    size_t table, block;
    const soa_entity *eids; /* the last chunk's, for soa_query_next */
    size_t n, row;
} soa_query_iter;

/* Starts `it` over `q` (which must outlive it) and returns how many
 * entities it will yield.  Unknown cids yield nothing.  O(tables). */
size_t soa_query_begin(const soa_world *w, const soa_query *q,
                       soa_query_iter *it);

/* The next chunk into *c (begin 0, end the block's rows): true, or false
 * at the end.  Chunks come table by table, block by block. */
bool soa_query_next_chunk(soa_query_iter *it, soa_chunk *c);

/* The next matching entity into *e: true, or false at the end.  (A walk
 * entity by entity over the same chunks.) */
bool soa_query_next(soa_query_iter *it, soa_entity *e);

/* Column `col` (the component's columns in C_cols order) of the query's
 * all[term] in chunk c, or NULL (a tag, or out of range).  Element [i]
 * is row i's.  The generated C_chunk() types it. */
void *soa_chunk_column(const soa_chunk *c, uint32_t term, uint32_t col);

/* The changed bitset of all[term] in chunk c (bit i: row i), or NULL for
 * a tag.  Set bits with soa_bitset_set: chunks never share a word. */
uint64_t *soa_chunk_changed(const soa_chunk *c, uint32_t term);

/* Despawns every entity the query matches; returns how many.  Whole
 * tables are emptied at once (no moves).  O(matching rows). */
size_t soa_world_despawn_query(soa_world *w, const soa_query *q);

#ifdef __cplusplus
}
#endif

#endif /* SOA_WORLD_H */
