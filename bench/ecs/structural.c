/*
 * structural.c: what structure costs in the world, and what it weighs.
 *
 *   spawn-one    n entities spawned one by one, Position and Velocity added
 *                to each (each add moves the row to another table);
 *   spawn-bulk   the same n entities in one soa_world_spawn_n call;
 *   tag-add      a tag added to every tenth entity (a move each);
 *   tag-remove   ... and removed again;
 *   despawn      every entity despawned one by one.
 *
 * Each against the baseline of the same run: appending n {Position,
 * Velocity} pairs to a growing AoS array (what a program without an ECS
 * pays to create its data).  Medians of several runs, each on a fresh
 * world.  The memory figure counts every byte the world's allocator hands
 * out for n entities with Position and Velocity, against the 16 bytes of
 * their components.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

#define RUNS 7

/* An allocator that counts the bytes live. */
typedef struct counting {
    soa_alloc base;
    size_t live, peak;
} counting;

static void *count_alloc(soa_alloc *self, size_t bytes, size_t align)
{
    counting *c = (counting *)(void *)self;
    soa_alloc *h = soa_alloc_heap();
    void *p = h->alloc(h, bytes, align);
    if (p) {
        c->live += bytes;
        if (c->live > c->peak)
            c->peak = c->live;
    }
    return p;
}

static void count_free(soa_alloc *self, void *p, size_t bytes)
{
    counting *c = (counting *)(void *)self;
    soa_alloc *h = soa_alloc_heap();
    if (p)
        c->live -= bytes;
    h->free(h, p, bytes);
}

typedef struct times {
    double append, one, bulk, tag_add, tag_remove, despawn;
} times;

/* The baseline: n pairs appended to an array that doubles. */
static double append_ns(size_t n)
{
    typedef struct pair { Position p; Velocity v; } pair;
    uint64_t t0 = bench_now_ns();
    pair *a = NULL;
    size_t cap = 0;
    for (size_t i = 0; i < n; i++) {
        if (i == cap) {
            cap = cap ? cap * 2 : 16;
            pair *g = realloc(a, cap * sizeof *a);
            if (!g) {
                free(a);
                return -1.0;
            }
            a = g;
        }
        a[i].p = bench_pos0(i);
        a[i].v = bench_vel0(i);
    }
    volatile float sink = a[n / 2].p.x; /* keep the stores */
    (void)sink;
    double t = (double)(bench_now_ns() - t0);
    free(a);
    return t;
}

/* One run of every structural operation on a fresh world: 0 or -1. */
static int run_once(size_t n, times *t, size_t *bytes)
{
    counting ca = {{count_alloc, count_free}, 0, 0};
    soa_world *w = soa_world_create(&ca.base);
    soa_world *wb = soa_world_create(NULL);
    soa_entity *e = malloc(n * sizeof *e);
    int rc = -1;
    if (!w || !wb || !e)
        goto out;
    soa_cid c[2] = {soa_world_register(w, &Position_desc),
                    soa_world_register(w, &Velocity_desc)};
    soa_cid tag = soa_world_register(w, &Marked_desc);
    soa_cid cb[2] = {soa_world_register(wb, &Position_desc),
                     soa_world_register(wb, &Velocity_desc)};
    uint64_t t0 = bench_now_ns();
    for (size_t i = 0; i < n; i++) {
        e[i] = soa_world_spawn(w);
        if (soa_world_add(w, e[i], c[0]) || soa_world_add(w, e[i], c[1]))
            goto out;
    }
    uint64_t t1 = bench_now_ns();
    *bytes = ca.live;
    for (size_t i = 0; i < n; i += 10)
        if (soa_world_add(w, e[i], tag))
            goto out;
    uint64_t t2 = bench_now_ns();
    for (size_t i = 0; i < n; i += 10)
        if (soa_world_remove(w, e[i], tag))
            goto out;
    uint64_t t3 = bench_now_ns();
    for (size_t i = 0; i < n; i++)
        soa_world_despawn(w, e[i]);
    uint64_t t4 = bench_now_ns();
    if (soa_world_spawn_n(wb, cb, 2, n, e) != 0)
        goto out;
    uint64_t t5 = bench_now_ns();
    t->one = (double)(t1 - t0);
    t->tag_add = (double)(t2 - t1);
    t->tag_remove = (double)(t3 - t2);
    t->despawn = (double)(t4 - t3);
    t->bulk = (double)(t5 - t4);
    t->append = append_ns(n);
    rc = t->append < 0 ? -1 : 0;
out:
    free(e);
    soa_world_destroy(w);
    soa_world_destroy(wb);
    return rc;
}

/* A result over a world of n entities, `moved` of which the operation
 * touched (ns per entity touched; the baseline per entity appended). */
static void put(bench_result *r, const char *variant, size_t n, size_t moved,
                double ns, double base_ns)
{
    memset(r, 0, sizeof *r);
    r->scenario = "structural";
    r->variant = variant;
    r->n = n;
    r->threads = 1;
    r->ns_per_entity = ns / (double)moved;
    r->ratio = r->ns_per_entity / (base_ns / (double)n);
}

size_t bench_structural(const bench_cfg *cfg, size_t n, bench_result *r,
                        size_t max)
{
    double v[6][RUNS];
    size_t bytes = 0;
    (void)cfg;
    if (max < 7)
        return 0;
    for (int k = 0; k < RUNS; k++) {
        times t;
        if (run_once(n, &t, &bytes) != 0) {
            fprintf(stderr, "bench: structural n=%zu: %s\n", n,
                    errno ? strerror(errno) : "failed");
            return 0;
        }
        v[0][k] = t.append;
        v[1][k] = t.one;
        v[2][k] = t.bulk;
        v[3][k] = t.tag_add;
        v[4][k] = t.tag_remove;
        v[5][k] = t.despawn;
    }
    double m[6];
    for (int i = 0; i < 6; i++)
        m[i] = bench_median(v[i], RUNS);
    size_t tagged = (n + 9) / 10;
    put(&r[0], "baseline", n, n, m[0], m[0]);
    put(&r[1], "soac-spawn-one", n, n, m[1], m[0]);
    put(&r[2], "soac-spawn-bulk", n, n, m[2], m[0]);
    put(&r[3], "soac-tag-add", n, tagged, m[3], m[0]); /* a tenth move */
    put(&r[4], "soac-tag-remove", n, tagged, m[4], m[0]);
    put(&r[5], "soac-despawn", n, n, m[5], m[0]);
    memset(&r[6], 0, sizeof r[6]);
    r[6].scenario = "memory";
    r[6].variant = "soac-world";
    r[6].n = n;
    r[6].threads = 1;
    r[6].bytes_per_entity = (double)bytes / (double)n;
    r[6].ratio = r[6].bytes_per_entity /
                 (double)(sizeof(Position) + sizeof(Velocity));
    fprintf(stderr, "bench: structural n=%-8zu done\n", n);
    return 7;
}
