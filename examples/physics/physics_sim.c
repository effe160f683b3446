/*
 * physics_sim.c: the physics example's world, kernel and checksum (physics_sim.h).
 */
#include "physics_sim.h"

#include <stdlib.h>
#include <string.h>

/* A small deterministic generator for starting values. */
static float rnd(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return (float)(*s >> 8) / (float)(1u << 24) * 2.0f - 1.0f;
}

soa_entity *physics_populate(soa_world *w, size_t n, soa_cid pos,
                             soa_cid vel)
{
    soa_entity *ents = malloc(n * sizeof *ents);
    uint32_t seed = 12345;
    if (!ents)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        Position p = {(float)(i % 1000), (float)(i / 1000)};
        ents[i] = soa_world_spawn(w);
        if (ents[i] == SOA_ENTITY_NULL || soa_world_set(w, ents[i], pos, &p))
            goto fail;
        if (i % 10 == 9)
            continue; /* static: no Velocity, not in the query */
        Velocity v = {rnd(&seed) * 10.0f, rnd(&seed) * 10.0f};
        if (soa_world_set(w, ents[i], vel, &v))
            goto fail;
    }
    return ents;
fail:
    free(ents);
    return NULL;
}

void physics_integrate(const Integrate_view *v, const soa_frame *f,
                       void *ctx)
{
    (void)ctx;
    float dt = (float)f->dt;
    for (size_t i = v->begin; i < v->end; i++) {
        v->Position.x[i] += v->Velocity.x[i] * dt;
        v->Position.y[i] += v->Velocity.y[i] * dt;
        soa_bitset_set(v->Position.changed, i);
    }
}

uint64_t physics_checksum(const soa_world *w, const soa_entity *ents,
                          size_t n, soa_cid pos)
{
    uint64_t h = 0xcbf29ce484222325u;
    for (size_t i = 0; i < n; i++) {
        Position p;
        unsigned char b[sizeof p];
        if (soa_world_read(w, ents[i], pos, &p) != 0)
            memset(&p, 0, sizeof p);
        memcpy(b, &p, sizeof b);
        for (size_t k = 0; k < sizeof b; k++)
            h = (h ^ b[k]) * 0x100000001b3u;
    }
    return h;
}
