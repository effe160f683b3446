/*
 * bring-your-own-ecs: you don't have to rewrite your ECS to use soac.
 *
 * "Your ECS" here is two plain arrays of structs.  soac's per-component API
 * is all it takes: gather the rows into SoA columns (C_cols_gather), run a
 * kernel over the columns on a pool, and take back only the rows the kernel
 * marked changed (C_commit_changed calls your function for each).
 *
 *   bring-your-own-ecs [ENTITIES [FRAMES]]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "physics.h"

/* Your ECS: any storage at all; here, arrays indexed by entity. */
typedef struct my_ecs {
    Position *pos;
    Velocity *vel;
    size_t n;
} my_ecs;

/* The columns the kernel works on. */
typedef struct columns {
    Position_cols pos;
    Velocity_cols vel;
    float dt;
} columns;

/* The kernel: a range of rows, straight on the columns.  Entities at rest
 * are left alone, so their rows stay unchanged and are not committed.
 * Ranges from soa_pool_for start on multiples of 64 rows, so the plain
 * soa_bitset_set never shares a word with another thread. */
static void integrate(void *ctx, size_t begin, size_t end, unsigned worker)
{
    columns *c = ctx;
    (void)worker;
    for (size_t i = begin; i < end; i++) {
        if (c->vel.x[i] == 0.0f && c->vel.y[i] == 0.0f)
            continue;
        c->pos.x[i] += c->vel.x[i] * c->dt;
        c->pos.y[i] += c->vel.y[i] * c->dt;
        Position_mark_changed(&c->pos, i);
    }
}

/* How your ECS takes a changed value back: row i is entity i here. */
static void apply_position(void *ctx, size_t row, const Position *v)
{
    my_ecs *ecs = ctx;
    ecs->pos[row] = *v;
}

static size_t arg(int argc, char **argv, int i, size_t def)
{
    if (argc <= i)
        return def;
    char *end;
    unsigned long long v = strtoull(argv[i], &end, 10);
    if (*end || end == argv[i] || argv[i][0] == '-' || v == 0 || v > 1u << 30) {
        fprintf(stderr, "usage: %s [ENTITIES [FRAMES]] (1 .. 2^30)\n",
                argv[0]);
        exit(2);
    }
    return (size_t)v;
}

int main(int argc, char **argv)
{
    size_t n = arg(argc, argv, 1, 100000), frames = arg(argc, argv, 2, 60);
    my_ecs ecs = {calloc(n, sizeof(Position)), calloc(n, sizeof(Velocity)), n};
    columns c;
    soa_pool *pool = soa_pool_create(0);
    if (!ecs.pos || !ecs.vel || !pool ||
        Position_cols_init(&c.pos, n, NULL) != 0 ||
        Velocity_cols_init(&c.vel, n, NULL) != 0) {
        fprintf(stderr, "bring-your-own-ecs: out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        ecs.pos[i] = (Position){(float)i, 0.0f};
        /* every third entity is at rest */
        ecs.vel[i] = i % 3 ? (Velocity){1.0f, -9.81f} : (Velocity){0, 0};
    }
    c.dt = 1.0f / 60.0f;
    size_t committed = 0;
    for (size_t f = 0; f < frames; f++) {
        Position_cols_gather(&c.pos, 0, ecs.pos, n);
        Velocity_cols_gather(&c.vel, 0, ecs.vel, n);
        Position_clear_changed(&c.pos, n);
        soa_pool_for(pool, n, 0, integrate, &c);
        committed += Position_commit_changed(&c.pos, n, apply_position, &ecs);
    }
    printf("%zu entities, %zu frames: %zu rows committed (%zu per frame; "
           "entities at rest are never written)\n",
           n, frames, committed, committed / frames);
    printf("entity 1 is at (%.4f, %.4f); entity 0 (at rest) at (%.1f, %.1f)\n",
           (double)ecs.pos[1].x, (double)ecs.pos[1].y, (double)ecs.pos[0].x,
           (double)ecs.pos[0].y);
    Position_cols_release(&c.pos, NULL);
    Velocity_cols_release(&c.vel, NULL);
    soa_pool_destroy(pool);
    free(ecs.pos);
    free(ecs.vel);
    return 0;
}
