/*
 * soa/world.h: a reference ECS world, the "embedded default" for programs
 * without an ECS of their own.
 *
 * Entities are 64-bit handles: slot index in the low 32 bits, generation in
 * the high 32.  A despawned slot is reused with the next generation, so a
 * stale handle is never alive, never read and never written (a slot whose
 * generation would wrap around is retired instead of reused).  Each component
 * is a sparse set: a dense array of AoS values plus the dense list of their
 * entities, so get is O(1) and iteration is linear.
 *
 * Threading: any number of threads may call the read-only functions (alive,
 * get, has, count, queries) and write through pointers to *different*
 * components at once; everything that changes structure (spawn, despawn, add,
 * set of an absent component, remove, register) needs exclusive access.
 */
#ifndef SOA_WORLD_H
#define SOA_WORLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alloc.h"
#include "desc.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef uint64_t soa_entity;
typedef uint32_t soa_cid;

/* No entity: never alive.  Generations start at 1. */
#define SOA_ENTITY_NULL ((soa_entity)0)
#define SOA_CID_INVALID ((soa_cid)UINT32_MAX)

static inline uint32_t soa_entity_index(soa_entity e)
{
    return (uint32_t)(e & 0xffffffffu);
}

static inline uint32_t soa_entity_generation(soa_entity e)
{
    return (uint32_t)(e >> 32);
}

/* An empty world whose storage comes from `alloc` (NULL: the heap).
 * NULL with errno ENOMEM on failure. */
soa_world *soa_world_create(soa_alloc *alloc);

/* Frees the world and everything in it.  NULL is a no-op. */
void soa_world_destroy(soa_world *w);

/* The allocator the world's storage comes from (never NULL for a world;
 * NULL for a NULL world).  The scheduler allocates from it too. */
soa_alloc *soa_world_allocator(const soa_world *w);

/*
 * Registers a component type.  Idempotent: registering the same name again
 * returns the same cid (the descriptor pointer may differ, as each
 * translation unit has its own copy).  The same name with another layout
 * hash or size, or a NULL/unnamed descriptor, returns SOA_CID_INVALID with
 * errno EINVAL; ENOMEM when storage runs out.  The descriptor must outlive
 * the world.
 */
soa_cid soa_world_register(soa_world *w, const soa_component_desc *desc);

/* The cid registered under a C name, or SOA_CID_INVALID. */
soa_cid soa_world_lookup(const soa_world *w, const char *name);

/* The descriptor of a registered cid, or NULL. */
const soa_component_desc *soa_world_desc(const soa_world *w, soa_cid cid);

/* A new entity with no components, or SOA_ENTITY_NULL (errno ENOMEM). */
soa_entity soa_world_spawn(soa_world *w);

/* Removes every component of `e` and frees its slot for reuse with a new
 * generation.  A dead or stale handle is a no-op. */
void soa_world_despawn(soa_world *w, soa_entity e);

bool soa_world_alive(const soa_world *w, soa_entity e);

/* Live entities. */
size_t soa_world_entities(const soa_world *w);

/*
 * Adds component `cid` to `e` with the default value and returns a pointer
 * to it (or to the existing value when `e` already has it).  NULL when `e` is
 * dead (errno ESRCH), `cid` unknown (EINVAL) or memory runs out (ENOMEM).
 * The pointer is valid until the next structural change of this component.
 * Tags (size 0) return a non-NULL pointer that must not be dereferenced.
 */
void *soa_world_add(soa_world *w, soa_entity e, soa_cid cid);

/* Copies `value` into e's component, adding it when absent.  0, or -1 with
 * errno as for soa_world_add. */
int soa_world_set(soa_world *w, soa_entity e, soa_cid cid, const void *value);

/* e's component, or NULL when absent, dead or unknown.  O(1). */
void *soa_world_get(soa_world *w, soa_entity e, soa_cid cid);
const void *soa_world_get_const(const soa_world *w, soa_entity e,
                                soa_cid cid);

bool soa_world_has(const soa_world *w, soa_entity e, soa_cid cid);

/* Removes e's component: 0, or -1 with errno ESRCH (dead), ENOENT (absent)
 * or EINVAL (unknown cid).  O(1): the last value moves into the hole. */
int soa_world_remove(soa_world *w, soa_entity e, soa_cid cid);

/* Entities that have component `cid` (0 for an unknown cid). */
size_t soa_world_count(const soa_world *w, soa_cid cid);

/*
 * Queries: entities that have every `all` component and none of the `none`
 * components.  The iterator walks the dense entity list of the smallest
 * `all` set and checks the other terms per entity.  A query with no `all`
 * term walks every live entity.  The world must not change structure while
 * an iterator is in use.
 */
typedef struct soa_query {
    const soa_cid *all;
    uint32_t nall;
    const soa_cid *none;
    uint32_t nnone;
} soa_query;

typedef struct soa_query_iter {
    /* Private to the world. */
    const soa_world *w;
    soa_query q;
    size_t pos, end;
    soa_cid lead;
} soa_query_iter;

/* Starts `it` over `q` (which must outlive it) and returns an upper bound on
 * the entities it will yield (the smallest `all` set's size), so a caller can
 * size storage before the walk.  Unknown cids yield nothing. */
size_t soa_query_begin(const soa_world *w, const soa_query *q,
                       soa_query_iter *it);

/* Like soa_query_begin, but the walk covers only positions [begin, end)
 * of the lead term's dense list (the smallest `all` set), so threads can
 * walk parts of one query at once, each with its own iterator.  Returns
 * how many positions that is (end clamped to the lead's size): the walk
 * yields exactly that many entities when every one of them matches.  A
 * query with no `all` term yields nothing here.  O(nall). */
size_t soa_query_begin_at(const soa_world *w, const soa_query *q,
                          soa_query_iter *it, size_t begin, size_t end);

/* The next matching entity into *e: true, or false at the end. */
bool soa_query_next(soa_query_iter *it, soa_entity *e);

/* Like soa_query_next, and also stores into values[k] (nall entries) a
 * pointer to the entity's value of the query's all[k] component, as
 * soa_world_get would return it, without looking each one up again. */
bool soa_query_next_values(soa_query_iter *it, soa_entity *e, void **values);

/* Up to `max` next matches at once: ents[j] and, when values is not NULL,
 * values[j * nall + k] = the value of all[k] for ents[j].  Returns how many
 * (0 at the end).  One call per batch instead of one per entity. */
size_t soa_query_fetch(soa_query_iter *it, soa_entity *ents, void **values,
                       size_t max);

/* A good batch for soa_query_fetch. */
#define SOA_QUERY_BATCH 32u

#ifdef __cplusplus
}
#endif

#endif /* SOA_WORLD_H */
