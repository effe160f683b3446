/*
 * bench_mpi_shard: what one migration costs per entity, in one process
 * and without MPI: shard 0 of 2 sends every one of N Position+Velocity
 * entities to shard 1 through the same code an end of frame runs
 * (runtime/mpi/shard.c), timed by phase:
 *
 *   pack    the rule over the changed rows and the records packed
 *   leave   the departures leave shard 0's world and gid map
 *   check   shard 1 parses the message whole without changing anything
 *   arrive  shard 1 applies it: new rows, values, changed bits, gids
 *
 * Prints the median of R runs of each phase in us per entity, after
 * checking that every entity arrived with its value.
 *
 *   bench_mpi_shard [-n ENTITIES] [-r REPEATS]
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "../runtime/mpi/shard.h"
#include "physics.h"

enum { PHASES = 4 };
static const char *const phase[PHASES] = {"pack", "leave", "check", "arrive"};

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int to_one(const void *value, void *ctx)
{
    (void)value;
    (void)ctx;
    return 1;
}

static void die(const char *what, const char *why)
{
    fprintf(stderr, "bench_mpi_shard: %s: %s\n", what, why);
    exit(1);
}

/* Shard `rank` of 2 with Position (the partition component) and Velocity. */
static void shard(soa__shard *s, int rank)
{
    static const soa_component_desc *const comps[] = {&Position_desc,
                                                      &Velocity_desc};
    if (soa__shard_init(s, rank, 2, comps, 2) != 0)
        die("init", s->err);
    s->part_cid = 0;
    s->rule = to_one;
}

/* One migration of n entities; the seconds of each phase into t[]. */
static void run(size_t n, double *t)
{
    soa__shard s[2];
    soa__departures d = {0};
    soa__counts c = {0};
    soa_cid cids[2] = {0, 1};
    uint64_t *g = malloc(n * sizeof *g);
    shard(&s[0], 0);
    shard(&s[1], 1);
    if (!g || soa__shard_spawn(&s[0], cids, 2, n, g) != 0)
        die("spawn", "out of memory");
    for (size_t i = 0; i < n; i++) {
        Position p = {(float)i, (float)(i % 7)};
        soa_world_set(s[0].w, soa__shard_local(&s[0], g[i]), 0, &p);
    }
    double t0 = now();
    if (soa__shard_pack(&s[0], &d, &c) != 0)
        die("pack", s[0].err);
    double t1 = now();
    soa__shard_depart(&s[0], &d);
    double t2 = now();
    const soa__wbuf *msg = &s[0].out[1];
    if (soa__shard_receive(&s[1], 0, msg->p, msg->len, false, &c) != 0)
        die("check", s[1].err);
    double t3 = now();
    if (soa__shard_receive(&s[1], 0, msg->p, msg->len, true, &c) != 0)
        die("arrive", s[1].err);
    double t4 = now();
    for (size_t i = 0; i < n; i++) {
        Position p;
        soa_entity e = soa__shard_local(&s[1], g[i]);
        if (!e || soa_world_read(s[1].w, e, 0, &p) != 0 || p.x != (float)i ||
            p.y != (float)(i % 7) || soa__shard_local(&s[0], g[i]))
            die("arrive", "an entity arrived wrong");
    }
    t[0] = t1 - t0;
    t[1] = t2 - t1;
    t[2] = t3 - t2;
    t[3] = t4 - t3;
    free(d.out);
    free(g);
    soa__shard_free(&s[0]);
    soa__shard_free(&s[1]);
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    long n = 1000000, repeats = 5;
    int opt;
    while ((opt = getopt(argc, argv, "n:r:")) != -1) {
        long *v = opt == 'n' ? &n : opt == 'r' ? &repeats : NULL;
        if (!v || (*v = strtol(optarg, NULL, 10)) < 1 || *v > 100000000) {
            fprintf(stderr, "usage: bench_mpi_shard [-n ENTITIES] "
                            "[-r REPEATS]\n");
            return 2;
        }
    }
    double *t = malloc((size_t)repeats * PHASES * sizeof *t);
    double *one = malloc((size_t)repeats * sizeof *one);
    if (!t || !one)
        die("bench", "out of memory");
    for (long r = 0; r < repeats; r++)
        run((size_t)n, t + r * PHASES);
    printf("shard %ld entities, median of %ld, us/entity:", n, repeats);
    double total = 0;
    for (int p = 0; p < PHASES; p++) {
        for (long r = 0; r < repeats; r++)
            one[r] = t[r * PHASES + p];
        qsort(one, (size_t)repeats, sizeof *one, by_value);
        double us = one[repeats / 2] * 1e6 / (double)n;
        total += us;
        printf(" %s %.3f", phase[p], us);
    }
    printf(" total %.3f\n", total);
    free(t);
    free(one);
    return 0;
}
