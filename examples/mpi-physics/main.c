/*
 * mpi-physics: examples/physics on MPI ranks.
 *
 * The 2-D domain [0, 1000) in x is cut into strips, one per rank; the
 * partition rule puts each entity on the strip its Position is in (beyond
 * the edges: the first or last strip).  Rank 0 spawns every entity exactly
 * as examples/physics does (same generator, same seed), the first end of
 * frame hands them to their strips, and then every rank runs the same
 * Integrate system with the scheduler on its own rows.  Entities near the
 * strip borders cross every frame and migrate with all their components.
 * At the end every Position is gathered to rank 0 and checksummed in spawn
 * order (global handles are handed out in spawn order): the checksum is
 * examples/physics's for the same entities and frames, on any number of
 * ranks.
 *
 *   mpirun -np 4 mpi-physics [-n ENTITIES] [-f FRAMES] [-t THREADS] [-e EVERY]
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "soa/mpi.h"
#include "strips.h"

#define HZ 60.0

typedef struct options {
    size_t entities, frames, every;
    unsigned threads;
} options;

static int parse_options(int argc, char **argv, options *o)
{
    size_t t = 1;
    int c;
    *o = (options){200000, 120, 10, 1};
    while ((c = getopt(argc, argv, "n:f:t:e:h")) != -1) {
        switch (c) {
        case 'n': if (physics_parse_size(optarg, 1, UINT32_MAX - 3u, &o->entities)) return -1; break;
        case 'f': if (physics_parse_size(optarg, 1, 100000000, &o->frames)) return -1; break;
        case 'e': if (physics_parse_size(optarg, 1, 100000000, &o->every)) return -1; break;
        case 't':
            if (physics_parse_size(optarg, 0, 1024, &t))
                return -1;
            o->threads = (unsigned)t;
            break;
        default: return -1;
        }
    }
    return optind == argc ? 0 : -1;
}

/* examples/physics's starting values, on rank 0. */
static int populate(soa_mpi *m, size_t n, soa_cid pos, soa_cid vel)
{
    soa_world *w = soa_mpi_world(m);
    soa_cid both[2] = {pos, vel};
    uint32_t seed = PHYSICS_SEED;
    for (size_t i = 0; i < n; i++) {
        soa_gid g;
        Position p;
        Velocity v;
        bool moving = physics_start(i, &seed, &p, &v);
        if (soa_mpi_spawn(m, both, moving ? 2 : 1, 1, &g) != 0)
            return -1;
        soa_entity e = soa_mpi_local(m, g);
        if (soa_world_set(w, e, pos, &p) != 0 ||
            (moving && soa_world_set(w, e, vel, &v) != 0))
            return -1;
    }
    return 0;
}

typedef struct row {
    soa_gid g;
    Position p;
} row;

static int by_gid(const void *a, const void *b)
{
    soa_gid x = ((const row *)a)->g, y = ((const row *)b)->g;
    return (x > y) - (x < y);
}

/* Rank 0: FNV-1a over the exact bits of every Position in spawn order, as
 * examples/physics computes it.  -1 when entities were lost or doubled. */
static int checksum(soa_mpi *m, soa_cid pos, size_t n, uint64_t *out)
{
    soa_gid *gids;
    void *values;
    size_t got;
    if (soa_mpi_gather(m, pos, 0, &gids, &values, &got) != 0)
        return -1;
    if (soa_mpi_rank(m) != 0)
        return 0;
    row *rows = malloc((got ? got : 1) * sizeof *rows);
    int rc = rows && got == n ? 0 : -1;
    for (size_t i = 0; rows && i < got; i++) {
        rows[i].g = gids[i];
        memcpy(&rows[i].p, (const Position *)values + i, sizeof rows[i].p);
    }
    if (rc == 0) {
        qsort(rows, got, sizeof *rows, by_gid);
        uint64_t h = PHYSICS_HASH_START;
        for (size_t i = 0; i < got; i++) {
            if (i && rows[i].g == rows[i - 1].g)
                rc = -1;
            h = physics_hash(h, &rows[i].p);
        }
        *out = h;
    }
    if (rc != 0)
        fprintf(stderr, "mpi-physics: %zu entities gathered, %zu spawned\n",
                got, n);
    free(rows);
    free(gids);
    free(values);
    return rc;
}

/* Rank 0 gets the sums over every rank of a frame's numbers. */
static void totals(const soa_mpi_stats *st, unsigned long long out[3])
{
    unsigned long long mine[3] = {
        st->migrated_out,
        st->migration_bytes + st->replication_bytes + st->header_bytes,
        (unsigned long long)st->exchange_ns};
    MPI_Reduce(mine, out, 3, MPI_UNSIGNED_LONG_LONG, MPI_SUM, 0,
               MPI_COMM_WORLD);
}

static int simulate(const options *o, soa_mpi *m, soa_sched *s)
{
    int rank = soa_mpi_rank(m);
    unsigned long long sum[3] = {0, 0, 0}, t[3];
    for (size_t f = 0; f < o->frames; f++) {
        soa_mpi_stats st;
        if (soa_mpi_run_frame(m, s, 1.0 / HZ, (double)f / HZ, &st) != 0)
            return -1;
        totals(&st, t);
        for (int k = 0; k < 3; k++)
            sum[k] += t[k];
        if (rank == 0 && ((f + 1) % o->every == 0 || f == 0))
            printf("frame %zu: %llu migrated, %llu bytes sent\n", f + 1,
                   t[0], t[1]);
    }
    if (rank == 0)
        printf("mean per frame: %.1f migrated, %.0f bytes sent, exchange "
               "%.1f us per rank\n",
               (double)sum[0] / (double)o->frames,
               (double)sum[1] / (double)o->frames,
               (double)sum[2] / (double)o->frames / 1e3 /
                   (double)soa_mpi_size(m));
    return 0;
}

/* Spawns on rank 0 and hands the entities to their strips. */
static int start(const options *o, soa_mpi *m, soa_cid pos, soa_cid vel)
{
    int status = 0;
    if (soa_mpi_rank(m) == 0 && populate(m, o->entities, pos, vel) != 0) {
        fprintf(stderr, "mpi-physics: spawning: %s\n", strerror(errno));
        status = 1;
    }
    MPI_Allreduce(MPI_IN_PLACE, &status, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    if (status)
        return -1;
    soa_mpi_stats st;
    unsigned long long t[3];
    if (soa_mpi_end_frame(m, &st) != 0)
        return -1;
    totals(&st, t);
    if (soa_mpi_rank(m) == 0)
        printf("start: %llu entities handed out to their strips, %llu "
               "bytes sent\n", t[0], t[1]);
    return 0;
}

static int run(const options *o, soa_mpi *m)
{
    soa_world *w = soa_mpi_world(m);
    soa_cid pos = soa_world_cid(w, &Position_desc);
    soa_cid vel = soa_world_cid(w, &Velocity_desc);
    int ranks = soa_mpi_size(m);
    if (soa_mpi_partition(m, pos, strip_of, &ranks) != 0 ||
        start(o, m, pos, vel) != 0)
        return -1;
    soa_pool *pool = soa_pool_create(o->threads);
    soa_sched *s = pool ? soa_sched_create(w, pool) : NULL;
    soa_sched_spec spec = {0};
    spec.system = &Integrate_system;
    spec.kernel = Integrate_kernel_fn(physics_integrate);
    int rc = s && soa_sched_add(s, &spec) >= 0 ? simulate(o, m, s) : -1;
    uint64_t sum = 0;
    if (rc == 0 && (rc = checksum(m, pos, o->entities, &sum)) == 0 &&
        soa_mpi_rank(m) == 0)
        printf("checksum %016llx\n", (unsigned long long)sum);
    soa_sched_destroy(s);
    soa_pool_destroy(pool);
    return rc;
}

int main(int argc, char **argv)
{
    options o;
    int provided; /* the pool's threads run kernels, never MPI calls */
    MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
    int rank;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    if (parse_options(argc, argv, &o) != 0) {
        if (rank == 0)
            fprintf(stderr, "usage: mpirun -np RANKS %s [-n ENTITIES] "
                    "[-f FRAMES] [-t THREADS] [-e EVERY]\n", argv[0]);
        MPI_Finalize();
        return 2;
    }
    const soa_component_desc *comps[] = {&Position_desc, &Velocity_desc};
    soa_mpi_config cfg = {MPI_COMM_WORLD, comps, 2, 0};
    char why[SOA_MPI_ERRLEN];
    soa_mpi *m = soa_mpi_create(&cfg, why, sizeof why);
    if (!m) {
        fprintf(stderr, "mpi-physics: rank %d: %s\n", rank, why);
        MPI_Finalize(); /* every rank failed alike: no one waits */
        return 1;
    }
    if (rank == 0)
        printf("mpi-physics: %zu entities, %zu frames at %.0f Hz, %d ranks "
               "(strips of x), %u threads each\n", o.entities, o.frames, HZ,
               soa_mpi_size(m), o.threads);
    if (run(&o, m) != 0) {
        fprintf(stderr, "mpi-physics: rank %d: %s\n", rank,
                soa_mpi_error(m)[0] ? soa_mpi_error(m) : strerror(errno));
        soa_mpi_abort(m, 1);
    }
    soa_mpi_destroy(m);
    MPI_Finalize();
    return 0;
}
