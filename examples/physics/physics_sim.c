/*
 * physics_sim.c: the physics example's world, kernel and checksum (physics_sim.h).
 */
#include "physics_sim.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* A small deterministic generator for starting values. */
static float rnd(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return (float)(*s >> 8) / (float)(1u << 24) * 2.0f - 1.0f;
}

bool physics_start(size_t i, uint32_t *seed, Position *p, Velocity *v)
{
    p->x = (float)(i % 1000);
    p->y = (float)(i / 1000);
    if (i % 10 == 9)
        return false; /* static: no Velocity, not in the query */
    v->x = rnd(seed) * 10.0f;
    v->y = rnd(seed) * 10.0f;
    return true;
}

uint64_t physics_hash(uint64_t h, const Position *p)
{
    unsigned char b[sizeof *p];
    memcpy(b, p, sizeof b);
    for (size_t k = 0; k < sizeof b; k++)
        h = (h ^ b[k]) * 0x100000001b3u;
    return h;
}

int physics_parse_size(const char *s, size_t min, size_t max, size_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || v < min || v > max)
        return -1;
    *out = (size_t)v;
    return 0;
}

soa_entity *physics_populate(soa_world *w, size_t n, soa_cid pos,
                             soa_cid vel)
{
    soa_entity *ents = malloc(n * sizeof *ents);
    uint32_t seed = PHYSICS_SEED;
    if (!ents)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        Position p;
        Velocity v;
        bool moving = physics_start(i, &seed, &p, &v);
        ents[i] = soa_world_spawn(w);
        if (ents[i] == SOA_ENTITY_NULL || soa_world_set(w, ents[i], pos, &p) ||
            (moving && soa_world_set(w, ents[i], vel, &v)))
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
    uint64_t h = PHYSICS_HASH_START;
    for (size_t i = 0; i < n; i++) {
        Position p;
        if (soa_world_read(w, ents[i], pos, &p) != 0)
            memset(&p, 0, sizeof p);
        h = physics_hash(h, &p);
    }
    return h;
}
