/*
 * report.c: the benchmark's table, its target checks and results.json.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"

static const bench_result *find(const bench_result *r, size_t nr,
                                const char *scenario, const char *variant)
{
    for (size_t i = 0; i < nr; i++)
        if (strcmp(r[i].scenario, scenario) == 0 &&
            strcmp(r[i].variant, variant) == 0)
            return &r[i];
    return NULL;
}

/* Time a memcpy of the phases' bytes would take, in ns. */
static double memcpy_ns(const bench_result *r, double bw)
{
    return bw > 0 ? (r->bytes_build + r->bytes_commit) / bw : 0.0;
}

static void print_results(const bench_result *r, size_t nr)
{
    printf("%-8s %9s  %-13s %7s %11s %12s\n", "scenario", "n", "variant",
           "threads", "ns/entity", "vs baseline");
    for (size_t i = 0; i < nr; i++) {
        if (i && strcmp(r[i].variant, "baseline") == 0)
            printf("\n");
        printf("%-8s %9zu  %-13s %7u %11.3f %11.2fx\n", r[i].scenario,
               r[i].n, r[i].variant, r[i].threads, r[i].ns_per_entity,
               r[i].ratio);
    }
}

static void print_phases(const bench_result *r, size_t nr, double bw)
{
    printf("\noffload phases, per frame (ms); bytes moved (MB); build+commit "
           "against a memcpy of the same bytes\n");
    printf("%-8s %9s  %-13s %8s %8s %8s %9s %9s %9s %10s\n", "scenario", "n",
           "variant", "build", "run", "commit", "build MB", "commit MB",
           "memcpy", "(b+c)/cpy");
    for (size_t i = 0; i < nr; i++) {
        if (!r[i].has_phases)
            continue;
        double cpy = memcpy_ns(&r[i], bw);
        printf("%-8s %9zu  %-13s %8.3f %8.3f %8.3f %9.2f %9.2f %9.3f "
               "%9.2fx\n",
               r[i].scenario, r[i].n, r[i].variant, r[i].build_ns / 1e6,
               r[i].run_ns / 1e6, r[i].commit_ns / 1e6, r[i].bytes_build / 1e6,
               r[i].bytes_commit / 1e6, cpy / 1e6,
               cpy > 0 ? (r[i].build_ns + r[i].commit_ns) / cpy : 0.0);
    }
}

static void target(const char *what, int ok, const char *fmt, double value)
{
    printf("  [%s] %-52s ", ok ? "met " : "MISS", what);
    printf(fmt, value);
    printf("\n");
}

/* The targets, each judged on this run's numbers. */
static void print_targets(const bench_result *r, size_t nr, double bw)
{
    const bench_result *mo = find(r, nr, "move", "soac-offload");
    const bench_result *mr = find(r, nr, "move", "soac-reused");
    const bench_result *ml = find(r, nr, "move", "soac-local");
    const bench_result *sr = find(r, nr, "sparse", "soac-reused");
    const bench_result *ho = find(r, nr, "heavy", "soac-offload");
    const bench_result *hr = find(r, nr, "heavy", "soac-reused");
    const bench_result *hb = find(r, nr, "heavy", "soac-blocked");
    const bench_result *hp = find(r, nr, "heavy", "openmp");
    if (!mo || !mr || !ml || !sr || !ho || !hr || !hb || !hp)
        return;
    printf("\ntargets (threads: %u)\n", mr->threads);
    target("move, offload reused end to end <= 3x baseline", mr->ratio <= 3.0,
           "%.2fx", mr->ratio);
    target("move, offload fresh snapshot end to end <= 3x baseline",
           mo->ratio <= 3.0, "%.2fx", mo->ratio);
    double sc = mr->commit_ns > 0 ? sr->commit_ns / mr->commit_ns : 0.0;
    target("sparse commit <= 5% of the full (move) commit", sc <= 0.05,
           "%.1f%%", sc * 100.0);
    target("heavy, offload reused >= 1.8x faster than baseline",
           hr->ratio <= 1.0 / 1.8, "%.2fx faster", 1.0 / hr->ratio);
    target("heavy, offload fresh >= 1.8x faster than baseline",
           ho->ratio <= 1.0 / 1.8, "%.2fx faster", 1.0 / ho->ratio);
    target("heavy, offload reused no slower than openmp",
           hr->ns_per_entity <= hp->ns_per_entity, "%.2fx openmp",
           hr->ns_per_entity / hp->ns_per_entity);
    target("heavy, blocked kernel >= 1.8x faster than baseline",
           hb->ratio <= 1.0 / 1.8, "%.2fx faster", 1.0 / hb->ratio);
    target("heavy, blocked kernel no slower than openmp",
           hb->ns_per_entity <= hp->ns_per_entity, "%.2fx openmp",
           hb->ns_per_entity / hp->ns_per_entity);
    target("move, soac local within 10% of baseline", ml->ratio <= 1.10,
           "%.2fx", ml->ratio);
    double cpy = memcpy_ns(mr, bw);
    double bc = cpy > 0 ? (mr->build_ns + mr->commit_ns) / cpy : 0.0;
    target("move, reused build+commit <= 1.5x memcpy of its bytes",
           bc <= 1.5, "%.2fx", bc);
}

/* The 1-minute load average, so a reader can tell a busy machine's numbers
 * (other processes steal the threads the parallel variants wait for). */
static void print_load(void)
{
    FILE *f = fopen("/proc/loadavg", "r");
    double l1;
    if (f && fscanf(f, "%lf", &l1) == 1)
        printf("load average (1 min) at the end: %.2f\n", l1);
    if (f)
        fclose(f);
}

void bench_print_table(const bench_result *r, size_t nr, double bw)
{
    printf("\nsoac benchmark: ns per entity per frame, median of samples; "
           "ratios against the baseline of the same run\n");
    printf("memcpy of 64 MiB: %.2f GB/s (median)\n", bw);
    print_load();
    printf("\n");
    print_results(r, nr);
    print_phases(r, nr, bw);
    print_targets(r, nr, bw);
    printf("\n");
}

/* A JSON number, or null for what JSON cannot hold (inf, nan). */
static void json_num(FILE *f, const char *key, double v, int decimals)
{
    if (isfinite(v))
        fprintf(f, ", \"%s\": %.*f", key, decimals, v);
    else
        fprintf(f, ", \"%s\": null", key);
}

int bench_write_json(const char *path, const bench_result *r, size_t nr,
                     double bw)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f, "[\n");
    for (size_t i = 0; i < nr; i++) {
        fprintf(f,
                "  {\"scenario\": \"%s\", \"variant\": \"%s\", \"n\": %zu, "
                "\"threads\": %u",
                r[i].scenario, r[i].variant, r[i].n, r[i].threads);
        json_num(f, "ns_per_entity", r[i].ns_per_entity, 4);
        json_num(f, "ratio_vs_baseline", r[i].ratio, 4);
        if (r[i].has_phases) {
            json_num(f, "build_ns", r[i].build_ns, 0);
            json_num(f, "run_ns", r[i].run_ns, 0);
            json_num(f, "commit_ns", r[i].commit_ns, 0);
            json_num(f, "build_bytes", r[i].bytes_build, 0);
            json_num(f, "commit_bytes", r[i].bytes_commit, 0);
            fprintf(f, ", \"committed_rows\": %zu", r[i].committed);
            json_num(f, "memcpy_bytes_per_ns", bw, 3);
        }
        fprintf(f, "}%s\n", i + 1 < nr ? "," : "");
    }
    fprintf(f, "]\n");
    int err = ferror(f);
    if (fclose(f) != 0 || err) {
        if (!errno)
            errno = EIO;
        return -1;
    }
    return 0;
}
