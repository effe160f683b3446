/*
 * bench/pool.c: soa_pool against OpenMP (libgomp), in the same run.
 *
 *   dispatch  the round trip of an empty parallel loop over every thread:
 *             soa_pool_for(n = threads * 64, grain 64) against
 *             `#pragma omp parallel for` over `threads` iterations;
 *             median and p99 of many timed dispatches, in microseconds.
 *             The pool hands out chunks dynamically, so with empty work the
 *             caller may run them all before a worker arrives; the
 *             "barrier" variant makes every iteration wait until all
 *             `threads` started, so every thread must wake and take part
 *             (a true fork-join on both sides); the "idle" variant sleeps
 *             2 ms before each sample, so it includes waking the threads.
 *   loop      pos += vel * dt over 1M rows of SoA float columns (x, y, z):
 *             soa_pool_for with the default grain against
 *             `#pragma omp parallel for schedule(static)`; median ms
 *
 * Both sides use the same number of threads (one per online CPU unless
 * `-t N`) and the same kernel function.  Blocks of samples alternate between
 * the two, each after a warm-up, and the medians of the blocks are reported
 * with their ratio (pool / OpenMP: below 1 means the pool is faster).  The
 * machine is shared and noisy: read ratios, not absolute numbers.
 *
 *   bench_pool [--quick] [-t threads]
 */
#define _GNU_SOURCE
#include <omp.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "soa/alloc.h"
#include "soa/pool.h"

#define ROWS (1u << 20)

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec * 1e-3;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The q-quantile of v[0..n) (sorts v). */
static double quantile(double *v, size_t n, double q)
{
    qsort(v, n, sizeof *v, cmp_double);
    size_t i = (size_t)(q * (double)(n - 1) + 0.5);
    return v[i];
}

/* Lets the other side's idle threads stop spinning and fall asleep before
 * a block is timed (libgomp spins far longer than the pool), so neither
 * side measures the other's spinning. */
static void cool_down(void)
{
    usleep(50000);
}

/* ---- dispatch ------------------------------------------------------- */

/* Something the compiler cannot remove, as cheap as possible. */
static void touch(size_t i)
{
    __asm__ __volatile__("" : : "r"(i) : "memory");
}

static void empty_range(void *ctx, size_t b, size_t e, unsigned worker)
{
    (void)ctx;
    (void)e;
    (void)worker;
    touch(b);
}

/* The barrier variant: each iteration arrives, then waits for all. */
static _Atomic unsigned arrived;
static unsigned barrier_threads;

static void arrive_and_wait(void)
{
    atomic_fetch_add_explicit(&arrived, 1, memory_order_acq_rel);
    while (atomic_load_explicit(&arrived, memory_order_acquire) <
           barrier_threads) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
    }
}

static void barrier_range(void *ctx, size_t b, size_t e, unsigned worker)
{
    (void)ctx;
    (void)b;
    (void)e;
    (void)worker;
    arrive_and_wait();
}

static void pool_dispatch(soa_pool *p, unsigned threads, int barrier)
{
    atomic_store(&arrived, 0);
    soa_pool_for(p, (size_t)threads * 64u, 64,
                 barrier ? barrier_range : empty_range, NULL);
}

static void omp_dispatch(unsigned threads, int barrier)
{
    atomic_store(&arrived, 0);
#pragma omp parallel for schedule(static)
    for (unsigned i = 0; i < threads; i++) {
        if (barrier)
            arrive_and_wait();
        else
            touch(i);
    }
}

/* Times `samples` dispatches of one kind after a 20 ms warm-up; their
 * median and p99 into med/p99.  Modes: 0 empty, 1 barrier, 2 barrier after
 * 2 ms of idleness (what the first dispatch of a frame sees: the pool's
 * workers have gone to sleep). */
static void dispatch_block(soa_pool *p, unsigned threads, int use_omp,
                           int mode, double *buf, size_t samples,
                           double *med, double *p99)
{
    int barrier = mode != 0;
    cool_down();
    double end = now_us() + 20000.0;
    while (now_us() < end)
        use_omp ? omp_dispatch(threads, barrier)
                : pool_dispatch(p, threads, barrier);
    for (size_t i = 0; i < samples; i++) {
        if (mode == 2)
            usleep(2000);
        double t0 = now_us();
        use_omp ? omp_dispatch(threads, barrier)
                : pool_dispatch(p, threads, barrier);
        buf[i] = now_us() - t0;
    }
    *med = quantile(buf, samples, 0.5);
    *p99 = quantile(buf, samples, 0.99);
}

/* ---- the SoA loop --------------------------------------------------- */

typedef struct cols {
    float *px, *py, *pz, *vx, *vy, *vz;
    float dt;
} cols;

static void integrate(cols *c, size_t b, size_t e)
{
    float *restrict px = c->px, *restrict py = c->py, *restrict pz = c->pz;
    const float *restrict vx = c->vx, *restrict vy = c->vy,
                          *restrict vz = c->vz;
    float dt = c->dt;
    for (size_t i = b; i < e; i++) {
        px[i] += vx[i] * dt;
        py[i] += vy[i] * dt;
        pz[i] += vz[i] * dt;
    }
}

static void integrate_range(void *ctx, size_t b, size_t e, unsigned worker)
{
    (void)worker;
    integrate(ctx, b, e);
}

static void omp_integrate(cols *c, unsigned threads)
{
    /* The same static split libgomp would make, one range per thread, so
     * the kernel is the same function on both sides. */
#pragma omp parallel for schedule(static)
    for (unsigned t = 0; t < threads; t++) {
        size_t b = (size_t)ROWS * t / threads;
        size_t e = (size_t)ROWS * (t + 1) / threads;
        integrate(c, b, e);
    }
}

static void omp_integrate_rows(cols *c)
{
    float *restrict px = c->px, *restrict py = c->py, *restrict pz = c->pz;
    const float *restrict vx = c->vx, *restrict vy = c->vy,
                          *restrict vz = c->vz;
    float dt = c->dt;
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < ROWS; i++) {
        px[i] += vx[i] * dt;
        py[i] += vy[i] * dt;
        pz[i] += vz[i] * dt;
    }
}

/* Median time of `samples` passes of one kind (0 pool, 1 OpenMP with the
 * shared kernel, 2 OpenMP over rows), after two warm-up passes. */
static double loop_block(soa_pool *p, unsigned threads, cols *c, int kind,
                         double *buf, size_t samples)
{
    cool_down();
    for (size_t i = 0; i < samples + 2; i++) {
        double t0 = now_us();
        if (kind == 0)
            soa_pool_for(p, ROWS, 0, integrate_range, c);
        else if (kind == 1)
            omp_integrate(c, threads);
        else
            omp_integrate_rows(c);
        if (i >= 2)
            buf[i - 2] = now_us() - t0;
    }
    return quantile(buf, samples, 0.5);
}

static float *column(float init)
{
    float *f = soa_alloc_heap()->alloc(soa_alloc_heap(),
                                       ROWS * sizeof(float), SOA_ALIGN);
    if (!f) {
        perror("bench_pool: column");
        exit(1);
    }
    for (size_t i = 0; i < ROWS; i++)
        f[i] = init + (float)(i % 97u);
    return f;
}

static double median_of(double *v, size_t n)
{
    return quantile(v, n, 0.5);
}

int main(int argc, char **argv)
{
    int quick = 0;
    unsigned threads = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0)
            quick = 1;
        else if (strcmp(argv[i], "-t") == 0 && i + 1 < argc)
            threads = (unsigned)strtoul(argv[++i], NULL, 10);
        else {
            fprintf(stderr, "usage: bench_pool [--quick] [-t threads]\n");
            return 2;
        }
    }
    soa_pool *p = soa_pool_create(threads);
    if (!p) {
        perror("bench_pool: soa_pool_create");
        return 1;
    }
    threads = soa_pool_size(p);
    omp_set_num_threads((int)threads);

    enum { BLOCKS = 7 };
    size_t blocks = quick ? 3 : BLOCKS;
    size_t dsamples = quick ? 2000 : 20000, lsamples = quick ? 10 : 30;
    double *buf = malloc(dsamples * sizeof *buf);
    double med[2][BLOCKS], p99[2][BLOCKS], loop[3][BLOCKS];
    if (!buf)
        return 1;

    printf("bench_pool: %u threads, %zu blocks (medians of blocks)\n",
           threads, blocks);
    barrier_threads = threads;
    static const char *const names[3] = {
        "empty", "barrier (every thread takes part)",
        "barrier after 2 ms idle (workers asleep)"};
    for (int mode = 0; mode < 3; mode++) {
        size_t n = mode == 2 ? (quick ? 50 : 200) : dsamples;
        for (size_t b = 0; b < blocks; b++)
            for (int k = 0; k < 2; k++) /* alternate pool, OpenMP */
                dispatch_block(p, threads, k, mode, buf, n, &med[k][b],
                               &p99[k][b]);
        double dm[2], dp[2];
        for (int k = 0; k < 2; k++) {
            dm[k] = median_of(med[k], blocks);
            dp[k] = median_of(p99[k], blocks);
        }
        printf("dispatch, %s (%zu samples x %zu)\n", names[mode], n,
               blocks);
        printf("  soa_pool_for   median %7.2f us   p99 %7.2f us\n", dm[0],
               dp[0]);
        printf("  omp parallel   median %7.2f us   p99 %7.2f us\n", dm[1],
               dp[1]);
        printf("  ratio pool/omp median %7.2f      p99 %7.2f\n",
               dm[0] / dm[1], dp[0] / dp[1]);
    }

    cols c = {column(0), column(1), column(2), column(3), column(4),
              column(5), 1.0f / 60.0f};
    for (size_t b = 0; b < blocks; b++)
        for (int k = 0; k < 3; k++)
            loop[k][b] = loop_block(p, threads, &c, k, buf, lsamples);
    double lm[3];
    for (int k = 0; k < 3; k++)
        lm[k] = median_of(loop[k], blocks);
    printf("loop (pos += vel*dt, %u rows of SoA floats, %zu passes x %zu)\n",
           ROWS, lsamples, blocks);
    printf("  soa_pool_for (grain %u)        %7.3f ms\n", SOA_POOL_GRAIN,
           lm[0] / 1000.0);
    printf("  omp parallel for, same kernel  %7.3f ms\n", lm[1] / 1000.0);
    printf("  omp parallel for over rows     %7.3f ms\n", lm[2] / 1000.0);
    printf("  ratio pool/omp                 %7.3f (rows: %.3f)\n",
           lm[0] / lm[1], lm[0] / lm[2]);

    soa_alloc *h = soa_alloc_heap();
    float *all[6] = {c.px, c.py, c.pz, c.vx, c.vy, c.vz};
    for (int k = 0; k < 6; k++)
        h->free(h, all[k], ROWS * sizeof(float));
    free(buf);
    soa_pool_destroy(p);
    return 0;
}
