/*
 * physics_sim.h: what every build of the physics example shares, so each prints
 * the same checksum for the same entity count and frames: the starting
 * world, Integrate's kernel and the checksum.  Used by examples/physics
 * (native and wasm), examples/worker-process and examples/browser.
 */
#ifndef PHYSICS_SIM_H
#define PHYSICS_SIM_H

#include "physics.h"

/* The simulated frame rate: each frame advances 1/PHYSICS_HZ seconds. */
#define PHYSICS_HZ 60.0

/* The starting values of entity i (in spawn order), drawing from *seed
 * (start it at PHYSICS_SEED): its Position, and its Velocity unless it is
 * one of the static ones (every 10th), which have none.  Returns whether
 * it moves. */
#define PHYSICS_SEED 12345u
bool physics_start(size_t i, uint32_t *seed, Position *p, Velocity *v);

/* The checksum: FNV-1a from PHYSICS_HASH_START over the exact bits of
 * each Position in spawn order. */
#define PHYSICS_HASH_START 0xcbf29ce484222325u
uint64_t physics_hash(uint64_t h, const Position *p);

/* A command-line count: a decimal in [min, max] into *out, or -1. */
int physics_parse_size(const char *s, size_t min, size_t max, size_t *out);

/*
 * Spawns n entities with a Position each; every 10th has no Velocity (it
 * stays put and is not in Integrate's query), the others a deterministic
 * pseudo-random one.  Returns the handles in spawn order (free() them), or
 * NULL when the world or malloc fails.
 */
soa_entity *physics_populate(soa_world *w, size_t n, soa_cid pos,
                             soa_cid vel);

/* Integrate's kernel: position += velocity * dt over one chunk of rows,
 * columns in place, every row marked changed. */
void physics_integrate(const Integrate_view *v, const soa_frame *f,
                       void *ctx);

/* FNV-1a over the exact bits of every Position, in spawn order (a dead or
 * Position-less entity counts as zeros). */
uint64_t physics_checksum(const soa_world *w, const soa_entity *ents,
                          size_t n, soa_cid pos);

#endif
