/*
 * measure.c: clocks, medians, and the machine's copy bandwidth.
 *
 * A sample runs whole frames until it has lasted cfg->sample_ns, so short
 * frames (small N) are not lost in clock resolution, and reports the mean
 * frame of that sample; the result is the median over samples, which shrugs
 * off the odd sample another process on this shared machine disturbed.
 * Variants take their samples in turns (round robin).
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

#define MAX_SAMPLES 64

uint64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sorts v in place. */
double bench_median(double *v, int n)
{
    if (n <= 0)
        return 0.0;
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

/* Samples of one variant, per frame: total ns and each phase's ns. */
typedef struct series {
    uint64_t reps;
    double t[MAX_SAMPLES], b[MAX_SAMPLES], ru[MAX_SAMPLES], c[MAX_SAMPLES];
} series;

/* Runs `reps` frames as sample `s` of `out`. */
static void sample(bench_frame_fn frame, void *ctx, series *out, int s)
{
    bench_phases ph = {0};
    uint64_t t0 = bench_now_ns();
    for (uint64_t k = 0; k < out->reps; k++)
        frame(ctx, &ph);
    double reps = (double)out->reps;
    out->t[s] = (double)(bench_now_ns() - t0) / reps;
    out->b[s] = (double)ph.build_ns / reps;
    out->ru[s] = (double)ph.run_ns / reps;
    out->c[s] = (double)ph.commit_ns / reps;
}

/*
 * A pause after each sample.  Idle threads spin before they sleep: OpenMP's
 * (libgomp's default spin lasts milliseconds) and, briefly, the soac
 * pool's.  Spinning on the other CPU slows whatever runs next (the two
 * CPUs of a VM can share a physical core), so each sample starts once the
 * previous variant's threads are asleep.
 */
static void settle(const bench_cfg *cfg)
{
    struct timespec ts;
    ts.tv_sec = 0;
    ts.tv_nsec = (long)cfg->settle_ns;
    nanosleep(&ts, NULL);
}

/* Warm-up: page faults, caches, pool threads; its time sizes a sample. */
static uint64_t warm_up(const bench_cfg *cfg, bench_frame_fn frame, void *ctx)
{
    bench_phases ph = {0};
    uint64_t t0 = bench_now_ns();
    frame(ctx, &ph);
    uint64_t one = bench_now_ns() - t0;
    uint64_t reps = one ? cfg->sample_ns / one : cfg->sample_ns;
    return reps < 1 ? 1 : reps > 100000 ? 100000 : reps;
}

void bench_measure(const bench_cfg *cfg, size_t n, const bench_frame_fn *frame,
                   void *ctx, bench_result *r, int nv)
{
    static series ser[BENCH_MAX_VARIANTS];
    int samples = cfg->samples < MAX_SAMPLES ? cfg->samples : MAX_SAMPLES;
    if (nv > BENCH_MAX_VARIANTS)
        nv = BENCH_MAX_VARIANTS;
    for (int v = 0; v < nv; v++) {
        ser[v].reps = warm_up(cfg, frame[v], ctx);
        settle(cfg);
    }
    /* Round robin, so a disturbance from another process lands on every
     * variant alike rather than on whichever ran at that moment. */
    for (int s = 0; s < samples; s++)
        for (int v = 0; v < nv; v++) {
            sample(frame[v], ctx, &ser[v], s);
            settle(cfg);
        }
    for (int v = 0; v < nv; v++) {
        r[v].n = n;
        r[v].ns_per_entity = bench_median(ser[v].t, samples) / (double)n;
        r[v].build_ns = bench_median(ser[v].b, samples);
        r[v].run_ns = bench_median(ser[v].ru, samples);
        r[v].commit_ns = bench_median(ser[v].c, samples);
    }
}

double bench_memcpy_bw(const bench_cfg *cfg)
{
    const size_t bytes = (size_t)64 << 20;
    double bw[MAX_SAMPLES];
    int samples = cfg->samples < MAX_SAMPLES ? cfg->samples : MAX_SAMPLES;
    unsigned char *src = malloc(bytes), *dst = malloc(bytes);
    if (!src || !dst) {
        free(src);
        free(dst);
        return 0.0;
    }
    memset(src, 1, bytes);
    memset(dst, 2, bytes); /* fault every page in before timing */
    memcpy(dst, src, bytes);
    for (int s = 0; s < samples; s++) {
        uint64_t t0 = bench_now_ns();
        memcpy(dst, src, bytes);
        uint64_t dt = bench_now_ns() - t0;
        /* Read the copy so the compiler cannot drop it. */
        src[s % 64] = (unsigned char)(dst[(size_t)s * 4096u % bytes] + 1u);
        bw[s] = (double)bytes / (double)(dt ? dt : 1);
    }
    free(src);
    free(dst);
    return bench_median(bw, samples);
}
