/*
 * An outside project's program: built against an installed soac (headers,
 * libsoa, a header generated from body.soa and shared/common.soa) by
 * tests/integration/run.sh, with CMake and with make + pkg-config.
 *
 * Five entities, the last one Frozen; system Move runs once on a two-thread
 * pool with dt = 0.5 and commits.  Prints what a user would check.
 */
#include <stdio.h>

#include "body.h"

static void move(const Move_view *v, const soa_frame *f, void *ctx)
{
    float dt = (float)f->dt;
    (void)ctx;
    for (size_t i = v->begin; i < v->end; i++) {
        v->Position.x[i] += v->Velocity.x[i] * dt;
        v->Position.y[i] += v->Velocity.y[i] * dt;
        soa_bitset_set(v->Position.changed, i);
    }
}

static int populate(soa_world *w, soa_entity *e, size_t n)
{
    soa_cid pos = soa_world_register(w, &Position_desc);
    soa_cid vel = soa_world_register(w, &Velocity_desc);
    soa_cid hp = soa_world_register(w, &Health_desc);
    soa_cid frozen = soa_world_register(w, &Frozen_desc);
    if (pos == SOA_CID_INVALID || vel == SOA_CID_INVALID ||
        hp == SOA_CID_INVALID || frozen == SOA_CID_INVALID)
        return -1;
    for (size_t i = 0; i < n; i++) {
        Position p = {(float)i, 0.0f};
        e[i] = soa_world_spawn(w);
        if (e[i] == SOA_ENTITY_NULL || soa_world_set(w, e[i], pos, &p) ||
            soa_world_add(w, e[i], vel) || soa_world_add(w, e[i], hp))
            return -1;
        if (i == n - 1 && soa_world_add(w, e[i], frozen))
            return -1;
    }
    return 0;
}

static int run(soa_world *w, soa_pool *pool, const soa_entity *e, size_t n)
{
    Move_snap snap;
    soa_frame frame = {0.5, 0.5, 1};
    soa_cid pos = soa_world_register(w, &Position_desc);
    soa_cid hp = soa_world_register(w, &Health_desc);
    if (Move_snap_init(&snap, soa_alloc_heap()) != 0)
        return -1;
    if (Move_build(&snap, w) != 0 || Move_run(&snap, pool, move, &frame, NULL) != 0) {
        Move_snap_release(&snap);
        return -1;
    }
    printf("moved %zu of %zu\n", Move_commit(&snap, w), n);
    Move_snap_release(&snap);
    for (size_t i = 0; i < n; i++) {
        Position p;
        if (soa_world_read(w, e[i], pos, &p) != 0)
            return -1;
        printf("%s(%g, %g)", i ? " " : "", (double)p.x, (double)p.y);
    }
    Health h;
    if (soa_world_read(w, e[0], hp, &h) != 0)
        return -1;
    printf("\nhp %d team %s\n", (int)h.hp, Team_str(h.team));
    return 0;
}

int main(void)
{
    enum { N = 5 };
    soa_entity e[N];
    soa_world *w = soa_world_create(soa_alloc_heap());
    soa_pool *pool = soa_pool_create(2);
    int rc = 1;
    if (w && pool && populate(w, e, N) == 0 && run(w, pool, e, N) == 0)
        rc = 0;
    else
        perror("outside project");
    printf("libsoa %s\n", soa_version());
    soa_pool_destroy(pool);
    soa_world_destroy(w);
    return rc;
}
