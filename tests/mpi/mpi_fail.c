/*
 * mpi_fail MODE: how a job with a broken rank ends (tests/mpi_fail.sh runs
 * it under mpirun and checks what it prints, its exit status and how long
 * it took).
 *
 *   mismatch  rank 2 (the last rank with fewer) has another layout of
 *             Extra: every rank's soa_mpi_create fails with the same
 *             message naming rank 2, and the job ends cleanly (exit 0 when
 *             every rank saw it)
 *   diverge   rank 1 calls soa_mpi_count where the others end a frame:
 *             every rank fails with EPROTO naming both calls (exit 0)
 *   badrule   rank 1's partition rule answers rank 99: rank 1 fails with
 *             EINVAL naming the rule, every other rank with ECANCELED
 *             naming rank 1, and the job ends cleanly (exit 0)
 *   hang      the last rank stops answering at frame 3 (it sleeps): the
 *             others time out after 2 s naming it, and abort the job
 *   kill      rank 1 dies of SIGKILL at frame 3: mpirun ends the job
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "mpi_test.h"
#include "soa/mpi.h"

static int rank, size;

static int mismatch(void)
{
    int odd = size > 2 ? 2 : size - 1;
    soa_component_desc other = Extra_desc;
    other.layout_hash ^= 0x10; /* another version of the schema */
    const soa_component_desc *comps[] = {&Cell_desc,
                                         rank == odd ? &other : &Extra_desc};
    soa_mpi_config cfg = {MPI_COMM_WORLD, comps, 2, 10};
    char why[SOA_MPI_ERRLEN], want[64];
    soa_mpi *m = soa_mpi_create(&cfg, why, sizeof why);
    int e = errno;
    snprintf(want, sizeof want, "rank %d: component 'Extra' has layout hash",
             odd);
    int ok = !m && e == EPROTO && strstr(why, want) != NULL;
    fprintf(stderr, "rank %d: soa_mpi_create: %s\n", rank, m ? "ok" : why);
    MPI_Allreduce(MPI_IN_PLACE, &ok, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    soa_mpi_destroy(m);
    return ok ? 0 : 1;
}

static soa_mpi *make(double timeout)
{
    const soa_component_desc *comps[] = {&Cell_desc, &Extra_desc};
    soa_mpi_config cfg = {MPI_COMM_WORLD, comps, 2, timeout};
    char why[SOA_MPI_ERRLEN];
    soa_mpi *m = soa_mpi_create(&cfg, why, sizeof why);
    if (!m) {
        fprintf(stderr, "rank %d: %s\n", rank, why);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    soa_cid x = soa_world_cid(soa_mpi_world(m), &Extra_desc);
    soa_mpi_spawn(m, &x, 1, 100, NULL);
    return m;
}

static int diverge(void)
{
    soa_mpi *m = make(10);
    soa_cid x = soa_world_cid(soa_mpi_world(m), &Extra_desc);
    uint64_t n;
    int rc = rank == 1 ? soa_mpi_count(m, x, &n) : soa_mpi_end_frame(m, NULL);
    int ok = rc == -1 && errno == EPROTO &&
             strstr(soa_mpi_error(m), "soa_mpi_count") &&
             strstr(soa_mpi_error(m), "soa_mpi_end_frame");
    fprintf(stderr, "rank %d: %s\n", rank, soa_mpi_error(m));
    MPI_Allreduce(MPI_IN_PLACE, &ok, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    return ok ? 0 : 1;
}

static int bad_rule(const void *value, void *ctx)
{
    (void)ctx;
    return rank == 1 ? 99 : ((const Cell *)value)->dest;
}

static int badrule(void)
{
    soa_mpi *m = make(10);
    soa_cid cell = soa_world_cid(soa_mpi_world(m), &Cell_desc);
    soa_gid g;
    soa_mpi_spawn(m, &cell, 1, 1, &g);
    Cell c = {rank, 0, {0, 0, 0}, false};
    soa_world_set(soa_mpi_world(m), soa_mpi_local(m, g), cell, &c);
    soa_mpi_partition(m, cell, bad_rule, NULL);
    int rc = soa_mpi_end_frame(m, NULL), e = errno;
    const char *why = soa_mpi_error(m);
    fprintf(stderr, "rank %d: %s\n", rank, why);
    int ok = rc == -1 &&
             (rank == 1 ? e == EINVAL && strstr(why, "rule gave rank 99")
                        : e == ECANCELED &&
                              strstr(why, "rank 1 failed in soa_mpi_end_frame"));
    MPI_Allreduce(MPI_IN_PLACE, &ok, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    return ok ? 0 : 1;
}

/* Frames until the broken rank breaks; the others report and abort. */
static int broken(int bad, int how)
{
    soa_mpi *m = make(2);
    for (int f = 0; f < 10; f++) {
        if (rank == bad && f == 3) {
            if (how == SIGKILL)
                raise(SIGKILL);
            sleep(60); /* hung: never reaches the end of frame 3 */
        }
        if (soa_mpi_end_frame(m, NULL) != 0) {
            fprintf(stderr, "rank %d: %s\n", rank, soa_mpi_error(m));
            soa_mpi_abort(m, 3);
        }
    }
    fprintf(stderr, "rank %d: no failure seen\n", rank);
    return 1;
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    const char *mode = argc > 1 ? argv[1] : "";
    int rc = 2;
    if (strcmp(mode, "mismatch") == 0)
        rc = mismatch();
    else if (strcmp(mode, "diverge") == 0 && size > 1)
        rc = diverge();
    else if (strcmp(mode, "badrule") == 0 && size > 1)
        rc = badrule();
    else if (strcmp(mode, "hang") == 0 && size > 1)
        rc = broken(size - 1, 0);
    else if (strcmp(mode, "kill") == 0 && size > 1)
        rc = broken(1, SIGKILL);
    MPI_Finalize();
    return rc;
}
