/*
 * main.c: the soac benchmark driver (`make bench`, `make bench QUICK=1`).
 *
 *   bench_ecs [--quick] [--threads N] [--only SCENARIO] [--out DIR]
 *
 * Runs the scenarios move, sparse, heavy and scale, each in seven variants
 * (baseline, openmp, soac-local, soac-offload, soac-reused, soac-blocked,
 * soac-process: see soac.c), checks that every variant computes the
 * baseline's positions exactly, then the structural and memory figures
 * (structural.c), prints a table, and writes DIR/results.json and
 * DIR/results.svg.  --only runs one scenario, for profiling.  Exit 0, or 1
 * when a variant failed or computed something else (the numbers would mean
 * nothing), 2 on a usage error.
 */
#define _POSIX_C_SOURCE 200809L /* sysconf */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"

enum {
    V_BASE, V_OMP, V_LOCAL, V_OFFLOAD, V_REUSED, V_BLOCKED, V_PROCESS,
    NVARIANTS
};

static const char *const variant_name[NVARIANTS] = {
    "baseline",     "openmp",      "soac-local",  "soac-offload",
    "soac-reused",  "soac-blocked", "soac-process"};

/* Variants that copy rows back (a snapshot, a worker's written columns)
 * and so count what they committed; the others run in place. */
static int commits(int v)
{
    return v == V_OFFLOAD || v == V_PROCESS;
}

#define MAX_RESULTS 128

/* The variants to run (bit v: variant v), from --variants. */
static unsigned enabled = (1u << NVARIANTS) - 1u;

/* What a frame function needs; `failed` latches the first error. */
typedef struct runner {
    bench_plain plain;
    bench_soac *soac;
    bench_kind kind;
    unsigned threads;
    size_t expect; /* rows an offload must commit each frame */
    int failed;
} runner;

static void frame_base(void *ctx, bench_phases *ph)
{
    runner *r = ctx;
    (void)ph;
    bench_plain_frame(&r->plain, r->kind);
}

static void frame_omp(void *ctx, bench_phases *ph)
{
    runner *r = ctx;
    (void)ph;
    bench_omp_frame(&r->plain, r->kind, r->threads);
}

static void frame_local(void *ctx, bench_phases *ph)
{
    runner *r = ctx;
    if (bench_soac_local(r->soac, r->kind, ph) != 0)
        r->failed = 1;
}

/* Offload frames also check that they committed every changed row. */
static void frame_offload(void *ctx, bench_phases *ph)
{
    runner *r = ctx;
    if (bench_soac_offload(r->soac, r->kind, ph) != 0 ||
        ph->committed != r->expect)
        r->failed = 1;
}

/* In place: the kernel ran over every row. */
static void frame_reused(void *ctx, bench_phases *ph)
{
    runner *r = ctx;
    if (bench_soac_reused(r->soac, r->kind, ph) != 0 ||
        ph->rows != r->plain.n)
        r->failed = 1;
}

static void frame_blocked(void *ctx, bench_phases *ph)
{
    runner *r = ctx;
    if (bench_soac_blocked(r->soac, r->kind, ph) != 0 ||
        ph->rows != r->plain.n)
        r->failed = 1;
}

static void frame_process(void *ctx, bench_phases *ph)
{
    runner *r = ctx;
    if (bench_soac_process(r->soac, r->kind, ph) != 0 ||
        ph->committed != r->expect)
        r->failed = 1;
}

static const bench_frame_fn frame_of[NVARIANTS] = {
    frame_base,    frame_omp,     frame_local,  frame_offload,
    frame_reused,  frame_blocked, frame_process};

/* errno's message, or what a failure without one means. */
static const char *why(void)
{
    return errno ? strerror(errno) : "failed without an errno";
}

static const char *kind_name(bench_kind k)
{
    return k == BENCH_MOVE ? "move" : k == BENCH_SPARSE ? "sparse" : "heavy";
}

/* Rows a frame of kind k changes among n. */
static size_t changed_rows(bench_kind k, size_t n)
{
    return k == BENCH_SPARSE ? (n + BENCH_SPARSE_STRIDE - 1) /
                                   BENCH_SPARSE_STRIDE
                             : n;
}

/*
 * One frame of variant v from the starting values, compared with the
 * baseline's frame: the variants must agree exactly (same float operations
 * in the same order), and an offload must commit exactly the changed rows.
 * 0, or -1 after printing what differs.
 */
static int check_variant(runner *r, int v, const bench_plain *want)
{
    bench_phases ph = {0};
    size_t n = want->n;
    if (v == V_OMP) {
        bench_plain got = {0};
        if (bench_plain_init(&got, n) != 0)
            return -1;
        bench_omp_frame(&got, r->kind, r->threads);
        int same = memcmp(got.pos, want->pos, n * sizeof *got.pos) == 0;
        bench_plain_free(&got);
        if (!same)
            fprintf(stderr, "bench: openmp %s differs from baseline\n",
                    kind_name(r->kind));
        return same ? 0 : -1;
    }
    bench_soac_reset(r->soac);
    frame_of[v](r, &ph);
    if (r->failed) {
        fprintf(stderr, "bench: %s %s failed: %s\n", variant_name[v],
                kind_name(r->kind), why());
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        Position p = bench_soac_pos(r->soac, i);
        if (memcmp(&p, &want->pos[i], sizeof p) != 0) {
            fprintf(stderr,
                    "bench: %s %s: entity %zu at (%g, %g), baseline has "
                    "(%g, %g)\n",
                    variant_name[v], kind_name(r->kind), i, (double)p.x,
                    (double)p.y, (double)want->pos[i].x,
                    (double)want->pos[i].y);
            return -1;
        }
    }
    if (commits(v) && ph.committed != changed_rows(r->kind, n)) {
        fprintf(stderr, "bench: %s %s committed %zu rows, expected %zu\n",
                variant_name[v], kind_name(r->kind), ph.committed,
                changed_rows(r->kind, n));
        return -1;
    }
    bench_soac_reset(r->soac);
    return 0;
}

/* Checks variants var[0 .. nv) (the baseline is the reference). */
static int check_all(runner *r, const int *var, int nv)
{
    bench_plain want = {0};
    if (bench_plain_init(&want, r->plain.n) != 0)
        return -1;
    bench_plain_frame(&want, r->kind);
    int rc = 0;
    for (int k = 0; k < nv && rc == 0; k++)
        if (var[k] != V_BASE)
            rc = check_variant(r, var[k], &want);
    bench_plain_free(&want);
    return rc;
}

/* Checks and times variants var[0 .. nv) into out: 0 or -1. */
static int measure_group(const bench_cfg *cfg, runner *r, const int *var,
                         int nv, bench_result *out)
{
    bench_frame_fn frames[NVARIANTS];
    for (int k = 0; k < nv; k++)
        frames[k] = frame_of[var[k]];
    if (check_all(r, var, nv) != 0)
        return -1;
    bench_measure(cfg, r->plain.n, frames, r, out, nv);
    return r->failed ? -1 : 0;
}

/* Runs every enabled variant of one scenario at size n into out[0 ..):
 * how many results (the baseline always runs), or -1. */
static int run_scenario(const bench_cfg *cfg, const char *scenario,
                        bench_kind kind, size_t n, bench_result *out)
{
    /* Two groups, timed one after the other: a worker process, once
     * forked, slows this process's baseline loop (measured here: 0.8 ->
     * 1.9 ns per entity, the worker idle), so it is spawned after the
     * other variants are measured, and its ratio is against the baseline
     * of the first group. */
    int var[NVARIANTS], nv = 0, nfirst;
    for (int v = 0; v < NVARIANTS; v++)
        if (v != V_PROCESS && (v == V_BASE || (enabled >> v & 1u)))
            var[nv++] = v;
    nfirst = nv;
    if (enabled >> V_PROCESS & 1u)
        var[nv++] = V_PROCESS;
    runner r = {0};
    r.kind = kind;
    r.threads = cfg->threads;
    r.expect = changed_rows(kind, n);
    if (bench_plain_init(&r.plain, n) != 0) {
        fprintf(stderr, "bench: %s n=%zu: %s\n", scenario, n,
                why());
        return -1;
    }
    r.soac = bench_soac_create(n, cfg->threads);
    if (!r.soac) {
        fprintf(stderr, "bench: %s n=%zu: cannot set up the world: %s\n",
                scenario, n, why());
        bench_plain_free(&r.plain);
        return -1;
    }
    for (int k = 0; k < nv; k++) {
        int v = var[k];
        bench_result *res = &out[k];
        memset(res, 0, sizeof *res);
        res->scenario = scenario;
        res->variant = variant_name[v];
        /* A lone local system runs on the calling thread; the others use
         * every thread of the pool (or of OpenMP's team). */
        res->threads = v == V_BASE || v == V_LOCAL ? 1 : cfg->threads;
        res->has_phases = v >= V_OFFLOAD;
        res->copies = commits(v);
    }
    int rc = measure_group(cfg, &r, var, nfirst, out);
    if (rc == 0 && nv > nfirst)
        rc = measure_group(cfg, &r, var + nfirst, nv - nfirst, out + nfirst);
    if (rc != 0)
        fprintf(stderr,
                "bench: %s n=%zu: a soac variant failed or committed "
                "other than %zu rows: %s\n",
                scenario, n, r.expect, why());
    for (int k = 0; k < nv && rc == 0; k++) {
        int v = var[k];
        bench_result *res = &out[k];
        res->ratio = res->ns_per_entity / out[0].ns_per_entity;
        if (res->copies) {
            /* Every timed frame committed exactly this many (checked). */
            res->committed = r.expect;
            res->bytes_build = v == V_PROCESS ? bench_soac_process_bytes(n)
                                              : bench_soac_build_bytes(n);
            res->bytes_commit = bench_soac_commit_bytes(n, res->committed);
        }
    }
    bench_soac_destroy(r.soac);
    bench_plain_free(&r.plain);
    if (rc == 0)
        fprintf(stderr, "bench: %-6s n=%-8zu done\n", scenario, n);
    return rc == 0 ? nv : -1;
}

/* --variants a,b,...: only those (and the baseline). 0, or -1. */
static int parse_variants(const char *list)
{
    enabled = 0;
    while (*list) {
        size_t len = strcspn(list, ",");
        int v = 0;
        while (v < NVARIANTS && (strlen(variant_name[v]) != len ||
                                 strncmp(list, variant_name[v], len) != 0))
            v++;
        if (v == NVARIANTS)
            return -1;
        enabled |= 1u << v;
        list += len + (list[len] == ',');
    }
    return 0;
}

static int wanted(const char *only, const char *scenario)
{
    return !only || strcmp(only, scenario) == 0;
}

static int usage(void)
{
    fprintf(stderr, "usage: bench_ecs [--quick] [--threads N] "
                    "[--only move|sparse|heavy|scale|structural] "
                    "[--variants NAME,...] [--out DIR]\n");
    return 2;
}

static int parse_args(int argc, char **argv, bench_cfg *cfg,
                      const char **out, const char **only)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            cfg->quick = 1;
        } else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
            char *end;
            long t = strtol(argv[++i], &end, 10);
            if (*end || t < 1 || t > 256)
                return -1;
            cfg->threads = (unsigned)t;
        } else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
            *only = argv[++i];
            if (strcmp(*only, "move") && strcmp(*only, "sparse") &&
                strcmp(*only, "heavy") && strcmp(*only, "scale") &&
                strcmp(*only, "structural"))
                return -1;
        } else if (strcmp(argv[i], "--variants") == 0 && i + 1 < argc) {
            if (parse_variants(argv[++i]) != 0)
                return -1;
        } else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc) {
            *out = argv[++i];
        } else {
            return -1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    bench_cfg cfg = {0};
    const char *outdir = "build/bench", *only = NULL;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    cfg.threads = cpus > 0 ? (unsigned)cpus : 1;
    if (parse_args(argc, argv, &cfg, &outdir, &only) != 0)
        return usage();
    cfg.samples = cfg.quick ? 7 : 11;
    cfg.sample_ns = cfg.quick ? 2000000u : 20000000u;
    cfg.settle_ns = cfg.quick ? 10000000u : 20000000u;

    const size_t big = (size_t)1 << 20;
    const size_t heavy_n = cfg.quick ? (size_t)1 << 16 : (size_t)1 << 18;
    const size_t scale_max = cfg.quick ? (size_t)1 << 20 : (size_t)1 << 22;
    static bench_result res[MAX_RESULTS];
    size_t nr = 0;
    int rc;

    double bw = bench_memcpy_bw(&cfg);
    int got = 0;
    if (wanted(only, "move") &&
        (got = run_scenario(&cfg, "move", BENCH_MOVE, big, &res[nr])) > 0)
        nr += (size_t)got;
    if (wanted(only, "sparse") && got >= 0 &&
        (got = run_scenario(&cfg, "sparse", BENCH_SPARSE, big, &res[nr])) > 0)
        nr += (size_t)got;
    if (wanted(only, "heavy") && got >= 0 &&
        (got = run_scenario(&cfg, "heavy", BENCH_HEAVY, heavy_n, &res[nr])) > 0)
        nr += (size_t)got;
    for (size_t n = 1024; wanted(only, "scale") && n <= scale_max && got >= 0;
         n *= 4)
        if ((got = run_scenario(&cfg, "scale", BENCH_MOVE, n, &res[nr])) > 0)
            nr += (size_t)got;
    rc = got < 0;
    if (wanted(only, "structural") && rc == 0) {
        size_t sn = cfg.quick ? (size_t)1 << 18 : (size_t)1 << 20;
        size_t got = bench_structural(&cfg, sn, &res[nr], MAX_RESULTS - nr);
        rc |= got == 0;
        nr += got;
    }
    if (rc != 0)
        return 1;

    bench_print_table(res, nr, bw);
    char path[4096];
    mkdir(outdir, 0777); /* may exist; a real failure shows at fopen */
    snprintf(path, sizeof path, "%s/results.json", outdir);
    if (bench_write_json(path, res, nr, bw) != 0) {
        fprintf(stderr, "bench: cannot write %s: %s\n", path, why());
        return 1;
    }
    printf("wrote %s\n", path);
    snprintf(path, sizeof path, "%s/results.svg", outdir);
    if (bench_write_svg(path, res, nr) != 0) {
        fprintf(stderr, "bench: cannot write %s: %s\n", path, why());
        return 1;
    }
    printf("wrote %s\n", path);
    return 0;
}
