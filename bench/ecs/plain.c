/*
 * plain.c: the variants a user would write without soac: a single-threaded
 * loop over AoS arrays of the generated structs (baseline), and the same
 * loop split by OpenMP.  Only this file is compiled with -fopenmp.
 */
#include <errno.h>
#include <stdlib.h>

#include "bench.h"

int bench_plain_init(bench_plain *p, size_t n)
{
    size_t bytes = (n * sizeof(Position) + 63u) / 64u * 64u;
    p->n = n;
    p->pos = aligned_alloc(64, bytes);
    p->vel = aligned_alloc(64, bytes);
    if (!p->pos || !p->vel) {
        bench_plain_free(p);
        errno = ENOMEM;
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        p->pos[i] = bench_pos0(i);
        p->vel[i] = bench_vel0(i);
    }
    return 0;
}

void bench_plain_free(bench_plain *p)
{
    free(p->pos);
    free(p->vel);
    p->pos = NULL;
    p->vel = NULL;
}

void bench_plain_frame(bench_plain *p, bench_kind k)
{
    Position *pos = p->pos;
    const Velocity *vel = p->vel;
    size_t n = p->n;
    switch (k) {
    case BENCH_MOVE:
        for (size_t i = 0; i < n; i++)
            bench_move_row(&pos[i].x, &pos[i].y, vel[i].x, vel[i].y);
        break;
    case BENCH_SPARSE:
        for (size_t i = 0; i < n; i += BENCH_SPARSE_STRIDE)
            bench_move_row(&pos[i].x, &pos[i].y, vel[i].x, vel[i].y);
        break;
    case BENCH_HEAVY:
        for (size_t i = 0; i < n; i++)
            bench_heavy_row(&pos[i].x, &pos[i].y, vel[i].x, vel[i].y);
        break;
    }
}

/* The loops are the baseline's, with a signed index as OpenMP 3 wants. */
void bench_omp_frame(bench_plain *p, bench_kind k, unsigned threads)
{
    Position *pos = p->pos;
    const Velocity *vel = p->vel;
    long n = (long)p->n, stride = BENCH_SPARSE_STRIDE;
    int t = (int)threads;
    switch (k) {
    case BENCH_MOVE:
#pragma omp parallel for num_threads(t) schedule(static)
        for (long i = 0; i < n; i++)
            bench_move_row(&pos[i].x, &pos[i].y, vel[i].x, vel[i].y);
        break;
    case BENCH_SPARSE:
#pragma omp parallel for num_threads(t) schedule(static)
        for (long j = 0; j < (n + stride - 1) / stride; j++) {
            long i = j * stride;
            bench_move_row(&pos[i].x, &pos[i].y, vel[i].x, vel[i].y);
        }
        break;
    case BENCH_HEAVY:
#pragma omp parallel for num_threads(t) schedule(static)
        for (long i = 0; i < n; i++)
            bench_heavy_row(&pos[i].x, &pos[i].y, vel[i].x, vel[i].y);
        break;
    }
}
