/*
 * report.c: the benchmark's table, its target checks and results.json.
 */
#define _POSIX_C_SOURCE 200809L /* sysconf */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
    printf("%-10s %9s  %-15s %7s %11s %12s  %s\n", "scenario", "n", "variant",
           "threads", "ns/entity", "vs baseline", "");
    for (size_t i = 0; i < nr; i++) {
        if (i && strcmp(r[i].variant, "baseline") == 0)
            printf("\n");
        if (strcmp(r[i].scenario, "memory") == 0) {
            printf("\n%-10s %9zu  %-15s %7s %8.1f B/entity, %.2fx the "
                   "components' bytes\n", r[i].scenario, r[i].n,
                   r[i].variant, "", r[i].bytes_per_entity, r[i].ratio);
            continue;
        }
        char words[32];
        printf("%-10s %9zu  %-15s %7u %11.3f %11.2fx  %s\n", r[i].scenario,
               r[i].n, r[i].variant, r[i].threads, r[i].ns_per_entity,
               r[i].ratio, i && strcmp(r[i].variant, "baseline")
                               ? bench_speed(r[i].ratio, words, sizeof words)
                               : "");
    }
}

static void print_phases(const bench_result *r, size_t nr, double bw)
{
    printf("\nsystem phases, per frame (ms): build (in place: finding the "
           "tables), run, commit; for the variants that copy, the bytes "
           "moved (MB) and build+commit against a memcpy of them\n");
    printf("%-8s %9s  %-13s %8s %8s %8s %9s %9s %9s %10s\n", "scenario", "n",
           "variant", "build", "run", "commit", "build MB", "commit MB",
           "memcpy", "(b+c)/cpy");
    for (size_t i = 0; i < nr; i++) {
        if (!r[i].has_phases)
            continue;
        if (!r[i].copies) {
            printf("%-8s %9zu  %-13s %8.3f %8.3f %8.3f %9s\n", r[i].scenario,
                   r[i].n, r[i].variant, r[i].build_ns / 1e6,
                   r[i].run_ns / 1e6, r[i].commit_ns / 1e6, "in place");
            continue;
        }
        double cpy = memcpy_ns(&r[i], bw);
        printf("%-8s %9zu  %-13s %8.3f %8.3f %8.3f %9.2f %9.2f %9.3f "
               "%9.2fx\n",
               r[i].scenario, r[i].n, r[i].variant, r[i].build_ns / 1e6,
               r[i].run_ns / 1e6, r[i].commit_ns / 1e6, r[i].bytes_build / 1e6,
               r[i].bytes_commit / 1e6, cpy / 1e6,
               cpy > 0 ? (r[i].build_ns + r[i].commit_ns) / cpy : 0.0);
    }
}

const char *bench_speed(double ratio, char *buf, size_t size)
{
    if (!(ratio > 0))
        snprintf(buf, size, "no measure");
    else if (fabs(ratio - 1.0) < 0.005)
        snprintf(buf, size, "as fast");
    else if (ratio < 1.0)
        snprintf(buf, size, "%.2fx faster", 1.0 / ratio);
    else
        snprintf(buf, size, "%.2fx slower", ratio);
    return buf;
}

/* The first line of `path` that starts with `key`, its value after ": ". */
static int proc_value(const char *path, const char *key, char *out, size_t size)
{
    FILE *f = fopen(path, "r");
    char line[512];
    int found = 0;
    while (f && !found && fgets(line, sizeof line, f)) {
        char *colon = strchr(line, ':');
        if (strncmp(line, key, strlen(key)) == 0 && colon) {
            snprintf(out, size, "%s", colon + 2);
            out[strcspn(out, "\n")] = '\0';
            found = 1;
        }
    }
    if (f)
        fclose(f);
    return found;
}

const char *bench_machine(char *buf, size_t size)
{
    char cpu[256] = "unknown machine";
    double l1 = -1;
    proc_value("/proc/cpuinfo", "model name", cpu, sizeof cpu);
    FILE *f = fopen("/proc/loadavg", "r");
    if (f && fscanf(f, "%lf", &l1) != 1)
        l1 = -1;
    if (f)
        fclose(f);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    if (l1 >= 0)
        snprintf(buf, size, "%s, %ld CPUs, load %.2f", cpu, cpus, l1);
    else
        snprintf(buf, size, "%s, %ld CPUs", cpu, cpus);
    return buf;
}

static void target(const char *what, int ok, const char *value)
{
    printf("  [%s] %-52s %s\n", ok ? "met " : "MISS", what, value);
}

/* A ratio as the targets print it ("0.63x"). */
static const char *times(double ratio, char *buf, size_t size)
{
    snprintf(buf, size, "%.2fx", ratio);
    return buf;
}

/* The targets of the native-storage issue, each judged on this run's
 * numbers. */
static void print_targets(const bench_result *r, size_t nr, double bw)
{
    const bench_result *mr = find(r, nr, "move", "soac-reused");
    const bench_result *sr = find(r, nr, "sparse", "soac-reused");
    const bench_result *hr = find(r, nr, "heavy", "soac-reused");
    const bench_result *hb = find(r, nr, "heavy", "soac-blocked");
    const bench_result *mp = find(r, nr, "move", "soac-process");
    const bench_result *mem = find(r, nr, "memory", "soac-world");
    (void)bw;
    if (!mr || !sr || !hr || !hb || !mp)
        return;
    char words[32];
    printf("\ntargets (threads: %u)\n", mr->threads);
    target("move, scheduled system (per-row kernel) <= 0.40x baseline",
           mr->ratio <= 0.40, times(mr->ratio, words, sizeof words));
    target("sparse, scheduled system <= 3x baseline's sparse loop",
           sr->ratio <= 3.0, times(sr->ratio, words, sizeof words));
    target("heavy, per-row kernel >= 1.9x faster than baseline",
           hr->ratio <= 1.0 / 1.9, bench_speed(hr->ratio, words, sizeof words));
    target("heavy, block kernel >= 1.9x faster than baseline",
           hb->ratio <= 1.0 / 1.9, bench_speed(hb->ratio, words, sizeof words));
    target("move, worker process <= 1.0x baseline", mp->ratio <= 1.0,
           times(mp->ratio, words, sizeof words));
    double worst = 0;
    size_t worst_n = 0;
    for (size_t i = 0; i < nr; i++) {
        if (strcmp(r[i].scenario, "scale") || strcmp(r[i].variant, "openmp") ||
            r[i].n < 16384)
            continue;
        const bench_result *s = NULL;
        for (size_t j = 0; j < nr; j++)
            if (!strcmp(r[j].scenario, "scale") && r[j].n == r[i].n &&
                !strcmp(r[j].variant, "soac-reused"))
                s = &r[j];
        if (s && s->ns_per_entity / r[i].ns_per_entity > worst) {
            worst = s->ns_per_entity / r[i].ns_per_entity;
            worst_n = r[i].n;
        }
    }
    if (worst_n)
        printf("  [%s] %-52s %.2fx openmp at n=%zu\n",
               worst <= 1.10 ? "met " : "MISS",
               "scale 16k..4M, scheduled system <= 1.10x openmp", worst,
               worst_n);
    if (mem) {
        snprintf(words, sizeof words, "%.1f B", mem->bytes_per_entity);
        target("memory, 1M entities of Position+Velocity <= 24 B/entity",
               mem->bytes_per_entity <= 24.0, words);
    }
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
    char machine[320];
    printf("machine: %s\n", bench_machine(machine, sizeof machine));
    printf("memcpy of 64 MiB: %.2f GB/s (median)\n", bw);
    const char *omp = getenv("OMP_WAIT_POLICY");
    printf("OpenMP wait policy: %s\n", omp && *omp ? omp : "libgomp's default");
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
        if (r[i].bytes_per_entity > 0)
            json_num(f, "bytes_per_entity", r[i].bytes_per_entity, 2);
        if (r[i].has_phases) {
            json_num(f, "build_ns", r[i].build_ns, 0);
            json_num(f, "run_ns", r[i].run_ns, 0);
            json_num(f, "commit_ns", r[i].commit_ns, 0);
            fprintf(f, ", \"in_place\": %s", r[i].copies ? "false" : "true");
        }
        if (r[i].copies) {
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
