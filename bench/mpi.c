/*
 * bench_mpi: what libsoa_mpi costs, one run per rank count (bench/mpi.sh
 * runs it under mpirun on 1, 2 and 4 ranks and makes the table).
 *
 *   scale      N entities in total, Position/Velocity in a 2-D domain cut
 *              into strips (one per rank), the Integrate kernel through the
 *              scheduler (one thread per rank) and the end of frame with
 *              its migrations; prints the median over R repeats of the wall
 *              time per frame (the slowest rank's, all ranks start
 *              together) per entity, with the partition rule by value and
 *              then by columns, and migrations and bytes per frame
 *   replicate  rank 0 subscribes to every rank's Position; bytes on the
 *              wire for a frame with 100% and one with 1% of the rows
 *              changed, against a full copy of the column
 *   migrate    1%, then 100%, of every rank's entities move to the next
 *              rank's strip: bytes and time of that end of frame
 *
 *   mpirun -np R bench_mpi [-n ENTITIES] [-f FRAMES] [-r REPEATS] [-s]
 *   (-s: scale only)
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "soa/mpi.h"
#include "strips.h"

static int rank, size;

static float rnd(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return (float)(*s >> 8) / (float)(1u << 24);
}

static void die(soa_mpi *m, const char *what)
{
    fprintf(stderr, "bench_mpi: rank %d: %s: %s\n", rank, what,
            m ? soa_mpi_error(m) : strerror(errno));
    if (m)
        soa_mpi_abort(m, 1);
    MPI_Abort(MPI_COMM_WORLD, 1);
}

static soa_mpi *make(void)
{
    const soa_component_desc *comps[] = {&Position_desc, &Velocity_desc};
    soa_mpi_config cfg = {MPI_COMM_WORLD, comps, 2, 60};
    char why[SOA_MPI_ERRLEN];
    soa_mpi *m = soa_mpi_create(&cfg, why, sizeof why);
    if (!m) {
        fprintf(stderr, "bench_mpi: %s\n", why);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    return m;
}

/* n entities of this rank's strip, moving at up to 10 units/s. */
static soa_gid *spawn_strip(soa_mpi *m, size_t n)
{
    soa_world *w = soa_mpi_world(m);
    soa_cid pos = soa_world_cid(w, &Position_desc);
    soa_cid vel = soa_world_cid(w, &Velocity_desc);
    soa_cid both[2] = {pos, vel};
    soa_gid *g = malloc((n ? n : 1) * sizeof *g);
    uint32_t seed = 777u + (uint32_t)rank;
    if (!g || soa_mpi_spawn(m, both, 2, n, g) != 0)
        die(m, "spawn");
    for (size_t i = 0; i < n; i++) {
        soa_entity e = soa_mpi_local(m, g[i]);
        Position p = {((float)rank + rnd(&seed)) * STRIPS_WIDTH / (float)size,
                      rnd(&seed) * STRIPS_WIDTH};
        Velocity v = {(rnd(&seed) * 2 - 1) * 10, (rnd(&seed) * 2 - 1) * 10};
        soa_world_set(w, e, pos, &p);
        soa_world_set(w, e, vel, &v);
    }
    return g;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int ranks;

/* A control: the slowest rank's time (ms) for a fixed loop that every rank
 * runs at once.  Against 1 rank's, it says how many cores the ranks
 * really got (other processes share the machine). */
static double spin_ms(void)
{
    volatile double x = 0;
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime();
    for (long i = 0; i < 40000000; i++)
        x = x + (double)i * 1e-9;
    double t = (MPI_Wtime() - t0) * 1e3;
    MPI_Allreduce(MPI_IN_PLACE, &t, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    return t;
}

/* This rank's share of `total` entities in its strip, partitioned by
 * strips (the rule by value). */
static soa_mpi *strips(size_t total)
{
    soa_mpi *m = make();
    size_t n = total / (size_t)size + ((size_t)rank < total % (size_t)size);
    free(spawn_strip(m, n));
    ranks = size;
    soa_mpi_partition(m, soa_world_cid(soa_mpi_world(m), &Position_desc),
                      strip_of, &ranks);
    return m;
}

/* The median over `repeats` of the slowest rank's ns per entity per
 * frame; migrations and bytes added to sums[0], sums[1]. */
static double timed(soa_mpi *m, soa_sched *s, size_t total, int frames,
                    int repeats, unsigned long long *sums)
{
    double *per = malloc((size_t)repeats * sizeof *per);
    for (int r = 0; r < repeats; r++) {
        MPI_Barrier(MPI_COMM_WORLD);
        double t0 = MPI_Wtime();
        for (int f = 0; f < frames; f++) {
            soa_mpi_stats st;
            if (soa_mpi_run_frame(m, s, 1.0 / 60, f / 60.0, &st) != 0)
                die(m, "frame");
            sums[0] += st.migrated_out;
            sums[1] += st.migration_bytes + st.header_bytes;
        }
        double t = MPI_Wtime() - t0;
        MPI_Allreduce(MPI_IN_PLACE, &t, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
        per[r] = t / frames / (double)total * 1e9;
    }
    qsort(per, (size_t)repeats, sizeof *per, cmp_double);
    double med = per[repeats / 2];
    free(per);
    return med;
}

static void scale(size_t total, int frames, int repeats)
{
    soa_mpi *m = strips(total);
    soa_pool *pool = soa_pool_create(1);
    soa_sched *s = soa_sched_create(soa_mpi_world(m), pool);
    soa_sched_spec spec = {0};
    spec.system = &Integrate_system;
    spec.kernel = Integrate_kernel_fn(physics_integrate);
    if (!s || soa_sched_add(s, &spec) < 0)
        die(NULL, "scheduler");
    if (soa_mpi_end_frame(m, NULL) != 0) /* settle the first frame */
        die(m, "end_frame");
    unsigned long long sums[2] = {0, 0};
    double spin = spin_ms();
    double by_value = timed(m, s, total, frames, repeats, sums);
    soa_mpi_partition_cols(m, soa_world_cid(soa_mpi_world(m), &Position_desc),
                           strips_of_cols, &ranks);
    double by_cols = timed(m, s, total, frames, repeats, sums);
    MPI_Allreduce(MPI_IN_PLACE, sums, 2, MPI_UNSIGNED_LONG_LONG, MPI_SUM,
                  MPI_COMM_WORLD);
    double fr = 2.0 * frames * repeats;
    if (rank == 0)
        printf("scale ranks %d entities %zu frames %d repeats %d "
               "ns_per_entity_frame %.3f ns_cols %.3f "
               "migrated_per_frame %.1f bytes_per_frame %.0f spin_ms %.1f\n",
               size, total, frames, repeats, by_value, by_cols,
               (double)sums[0] / fr, (double)sums[1] / fr, spin);
    soa_sched_destroy(s);
    soa_pool_destroy(pool);
    soa_mpi_destroy(m);
}

/* Bytes of one end of frame summed over the ranks. */
static unsigned long long frame_bytes(soa_mpi *m, size_t *rows)
{
    soa_mpi_stats st;
    if (soa_mpi_end_frame(m, &st) != 0)
        die(m, "end_frame");
    unsigned long long b[2] = {st.replication_bytes, st.replicated_out};
    MPI_Allreduce(MPI_IN_PLACE, b, 2, MPI_UNSIGNED_LONG_LONG, MPI_SUM,
                  MPI_COMM_WORLD);
    *rows = (size_t)b[1];
    return b[0];
}

static void replicate(size_t total)
{
    soa_mpi *m = make();
    size_t n = total / (size_t)size + ((size_t)rank < total % (size_t)size);
    soa_gid *g = spawn_strip(m, n);
    soa_world *w = soa_mpi_world(m);
    soa_cid pos = soa_world_cid(w, &Position_desc);
    if (soa_mpi_subscribe(m, pos, rank == 0 ? SOA_MPI_ALL : SOA_MPI_NONE))
        die(m, "subscribe");
    size_t rows_all, rows_one;
    unsigned long long all = frame_bytes(m, &rows_all); /* all spawned */
    for (size_t i = 0; i < n; i += 100) { /* 1% */
        Position p = {1, 2};
        soa_world_set(w, soa_mpi_local(m, g[i]), pos, &p);
    }
    unsigned long long one = frame_bytes(m, &rows_one);
    /* a full copy: every other rank's rows, handle + value */
    unsigned long long full = (unsigned long long)(total - total / (size_t)size) *
                              (sizeof(soa_gid) + sizeof(Position));
    if (rank == 0)
        printf("replicate ranks %d entities %zu bytes_100 %llu rows_100 %zu "
               "bytes_1 %llu rows_1 %zu full_copy %llu\n",
               size, total, all, rows_all, one, rows_one, full);
    free(g);
    soa_mpi_destroy(m);
}

/* Moves every `every`-th row of this rank to the next rank's strip. */
static void shift(soa_mpi *m, size_t every)
{
    soa_world *w = soa_mpi_world(m);
    soa_cid pos = soa_world_cid(w, &Position_desc);
    soa_query q = {&pos, 1, NULL, 0};
    soa_query_iter it;
    soa_chunk c;
    float x = ((float)((rank + 1) % size) + 0.5f) * STRIPS_WIDTH / (float)size;
    size_t k = 0;
    soa_query_begin(w, &q, &it);
    while (soa_query_next_chunk(&it, &c)) {
        float *px = soa_chunk_column(&c, 0, 0);
        uint64_t *changed = soa_chunk_changed(&c, 0);
        for (size_t i = c.begin; i < c.end; i++, k++)
            if (k % every == 0) {
                px[i] = x;
                soa_bitset_set(changed, i);
            }
    }
}

static void migrate(size_t total)
{
    soa_mpi *m = strips(total);
    if (soa_mpi_end_frame(m, NULL) != 0) /* settle */
        die(m, "end_frame");
    soa_world_clear_changed(soa_mpi_world(m), SOA_CID_INVALID);
    for (size_t every = 100;; every = 1) {
        shift(m, every);
        soa_mpi_stats st;
        MPI_Barrier(MPI_COMM_WORLD);
        double t0 = MPI_Wtime();
        if (soa_mpi_end_frame(m, &st) != 0)
            die(m, "end_frame");
        double t = MPI_Wtime() - t0;
        unsigned long long b[2] = {st.migration_bytes + st.header_bytes,
                                   st.migrated_out};
        MPI_Allreduce(MPI_IN_PLACE, b, 2, MPI_UNSIGNED_LONG_LONG, MPI_SUM,
                      MPI_COMM_WORLD);
        MPI_Allreduce(MPI_IN_PLACE, &t, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
        if (rank == 0)
            printf("migrate ranks %d entities %zu percent %d moved %llu "
                   "bytes %llu ms %.3f\n", size, total, every == 1 ? 100 : 1,
                   b[1], b[0], t * 1e3);
        soa_world_clear_changed(soa_mpi_world(m), SOA_CID_INVALID);
        if (every == 1)
            break;
    }
    soa_mpi_destroy(m);
}

int main(int argc, char **argv)
{
    int provided; /* the pool's threads run kernels, never MPI calls */
    MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    long n = 1000000, frames = 20, repeats = 5;
    int c, only_scale = 0;
    while ((c = getopt(argc, argv, "n:f:r:s")) != -1) {
        if (c == 's') {
            only_scale = 1;
            continue;
        }
        long *v = c == 'n' ? &n : c == 'f' ? &frames : c == 'r' ? &repeats : NULL;
        if (!v || (*v = strtol(optarg, NULL, 10)) < 1) {
            if (rank == 0)
                fprintf(stderr, "usage: bench_mpi [-n ENTITIES] [-f FRAMES] "
                        "[-r REPEATS] [-s]\n");
            MPI_Finalize();
            return 2;
        }
    }
    scale((size_t)n, (int)frames, (int)repeats);
    if (!only_scale) {
        replicate((size_t)n);
        if (size > 1)
            migrate((size_t)n);
    }
    MPI_Finalize();
    return 0;
}
