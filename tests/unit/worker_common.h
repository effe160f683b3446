/*
 * worker_common.h: the world, kernel and checksum the worker tests share
 * (physics' Integrate: position += velocity * dt).  Header-only, static.
 */
#ifndef TEST_WORKER_COMMON_H
#define TEST_WORKER_COMMON_H

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "physics.h"

#define DT (1.0 / 60.0)

/* The kernel hangs (in the worker) on the tick with this index. */
static _Atomic uint64_t hang_at = UINT64_MAX;

static void integrate(const Integrate_view *v, const soa_frame *f, void *ctx)
{
    (void)ctx;
    float dt = (float)f->dt;
    for (size_t i = v->begin; i < v->end; i++) {
        v->Position.x[i] += v->Velocity.x[i] * dt;
        v->Position.y[i] += v->Velocity.y[i] * dt;
        soa_bitset_set(v->Position.changed, i);
    }
    while (f->index == atomic_load_explicit(&hang_at, memory_order_relaxed))
        /* after writing its rows: a half-done frame */
        usleep(1000);
}

typedef struct test_world {
    soa_world *w;
    soa_entity *ents;
    size_t n;
    soa_cid pos, vel;
    soa_region *region; /* where the world lives, or NULL: the heap */
} test_world;

/* Worlds made while this is set live in a shared region (the in-place
 * way of worker systems); otherwise on the heap (the snapshot way). */
static int world_in_region;

/* n entities; every 7th has no Velocity (not in the system). */
static void world_make(test_world *t, size_t n)
{
    t->region = world_in_region ? soa_region_create((size_t)256 << 20) : NULL;
    t->w = soa_world_create(t->region ? soa_region_allocator(t->region) : NULL);
    t->ents = (soa_entity *)calloc(n, sizeof *t->ents);
    t->n = n;
    t->pos = soa_world_register(t->w, &Position_desc);
    t->vel = soa_world_register(t->w, &Velocity_desc);
    for (size_t i = 0; i < n; i++) {
        Position p = {(float)i, (float)(n - i)};
        Velocity v = {(float)(i % 13) - 6.0f, 0.25f * (float)(i % 5)};
        t->ents[i] = soa_world_spawn(t->w);
        soa_world_set(t->w, t->ents[i], t->pos, &p);
        if (i % 7 != 6)
            soa_world_set(t->w, t->ents[i], t->vel, &v);
    }
}

static void world_free(test_world *t)
{
    soa_world_destroy(t->w);
    soa_region_destroy(t->region);
    free(t->ents);
}

/* FNV-1a over every position's bits, in entity order. */
static uint64_t world_checksum(const test_world *t)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    for (size_t i = 0; i < t->n; i++) {
        Position p;
        unsigned char b[sizeof p];
        if (soa_world_read(t->w, t->ents[i], t->pos, &p) != 0)
            memset(&p, 0, sizeof p);
        memcpy(b, &p, sizeof b);
        for (size_t k = 0; k < sizeof b; k++)
            h = (h ^ b[k]) * UINT64_C(0x100000001b3);
    }
    return h;
}

/* The reference: `frames` frames in this process on the heap. */
static uint64_t reference_checksum(size_t n, uint64_t frames)
{
    test_world t;
    Integrate_snap s;
    world_make(&t, n);
    Integrate_snap_init(&s, NULL);
    for (uint64_t k = 0; k < frames; k++) {
        soa_frame f = {DT, (double)k * DT, k};
        Integrate_build(&s, t.w);
        Integrate_run(&s, NULL, integrate, &f, NULL);
        Integrate_commit(&s, t.w);
    }
    uint64_t sum = world_checksum(&t);
    Integrate_snap_release(&s);
    world_free(&t);
    return sum;
}

/* A forked worker with the one task `task`, sharing t's region when the
 * world lives in one: NULL with errno when it does not start. */
static inline soa_worker *spawn_one(const soa_worker_task *task,
                                    const test_world *t, int64_t timeout_ns)
{
    soa_worker_opts o;
    memset(&o, 0, sizeof o);
    o.tasks = task;
    o.ntasks = 1;
    o.arena_bytes = 1u << 20;
    o.timeout_ns = timeout_ns;
    o.share = t->region;
    return soa_worker_spawn(&o);
}

static soa_frame frame_at(uint64_t k)
{
    soa_frame f = {DT, (double)k * DT, k};
    return f;
}

#endif
