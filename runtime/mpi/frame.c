/*
 * frame.c: the end of a frame over MPI.  The shard (shard.c) packs what
 * leaves, one message per destination; the step tells every rank how many
 * bytes to expect from each; one MPI_Ialltoallv moves them; the shard
 * checks every message, then applies them all.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mpi_internal.h"

_Static_assert(SOA_MPI_ALL == SOA__ALL && SOA_MPI_NONE == SOA__NONE,
               "shard.h and soa/mpi.h name subscriptions alike");

/* Lays the messages out in m->send, sizes them for MPI (int counts). */
static int layout_send(soa_mpi *m)
{
    size_t total = 0;
    for (int r = 0; r < m->s.size; r++) {
        if (m->s.out[r].len > (size_t)INT32_MAX - total)
            return soa__mpi_fail(m, EOVERFLOW, "rank %d: more than 2 GiB to "
                                 "send in one frame", m->s.rank);
        m->sdispl[r] = (int)total;
        m->scount[r] = (int)m->s.out[r].len;
        m->vals[r] = m->s.out[r].len;
        total += m->s.out[r].len;
    }
    soa__wbuf_reset(&m->send);
    for (int r = 0; r < m->s.size; r++)
        soa__wbuf_bytes(&m->send, m->s.out[r].p, m->s.out[r].len);
    if (m->send.failed)
        return soa__mpi_fail(m, ENOMEM, "rank %d: out of memory", m->s.rank);
    return 0;
}

static int layout_recv(soa_mpi *m)
{
    size_t total = 0;
    for (int r = 0; r < m->s.size; r++) {
        if (m->got[r] > (uint64_t)INT32_MAX - total)
            return soa__mpi_fail(m, EOVERFLOW, "rank %d: more than 2 GiB to "
                                 "receive in frame %llu (from rank %d)",
                                 m->s.rank, (unsigned long long)m->frame, r);
        m->rdispl[r] = (int)total;
        m->rcount[r] = (int)m->got[r];
        total += (size_t)m->got[r];
    }
    soa__wbuf_reset(&m->recv);
    if (total && !soa__wbuf_put(&m->recv, total))
        return soa__mpi_fail(m, ENOMEM, "rank %d: out of memory", m->s.rank);
    return 0;
}

static int exchange(soa_mpi *m)
{
    if (layout_recv(m) != 0)
        return -1;
    MPI_Request req;
    MPI_Ialltoallv(m->send.p, m->scount, m->sdispl, MPI_BYTE, m->recv.p,
                   m->rcount, m->rdispl, MPI_BYTE, m->comm, &req);
    if (!soa__mpi_wait(m, 1, &req))
        return soa__mpi_fail(m, ETIMEDOUT, "rank %d: the exchange of frame "
                             "%llu did not complete within %g s (a rank died "
                             "during it)", m->s.rank,
                             (unsigned long long)m->frame, m->timeout);
    return 0;
}

/* Checks every message received, then applies them all. */
static int receive_all(soa_mpi *m, soa__counts *c)
{
    soa__shard_reset_replicas(&m->s);
    for (int pass = 0; pass < 2; pass++)
        for (int r = 0; r < m->s.size; r++)
            if (soa__shard_receive(&m->s, r, m->recv.p + m->rdispl[r],
                                   (size_t)m->rcount[r], pass == 1, c) != 0)
                return -1;
    return 0;
}

static double since_ns(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) * 1e9 +
           (double)(t1.tv_nsec - t0->tv_nsec);
}

int soa_mpi_end_frame(soa_mpi *m, soa_mpi_stats *st)
{
    soa_mpi_stats local;
    soa__counts c = {0};
    if (!m) {
        errno = EINVAL;
        return -1;
    }
    st = st ? st : &local;
    memset(st, 0, sizeof *st);
    int status = 0;
    if (soa__shard_pack(&m->s, &m->leaving, &c) != 0 || layout_send(m) != 0)
        status = errno;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = soa__mpi_step(m, SOA__OP_FRAME, status, m->vals, true);
    if (rc == 0)
        rc = exchange(m);
    st->exchange_ns = since_ns(&t0);
    if (rc == 0) {
        soa__shard_depart(&m->s, &m->leaving);
        rc = receive_all(m, &c);
    }
    st->migrated_out = rc == 0 ? c.migrated_out : 0;
    st->migrated_in = c.migrated_in;
    st->replicated_out = c.replicated_out;
    st->replicated_in = c.replicated_in;
    st->migration_bytes = c.migration_bytes;
    st->replication_bytes = c.replication_bytes;
    st->header_bytes = (size_t)(m->s.size - 1) * sizeof(soa__step_hdr);
    st->frame = ++m->frame;
    return rc;
}

int soa_mpi_run_frame(soa_mpi *m, soa_sched *s, double dt, double time,
                      soa_mpi_stats *st)
{
    if (!m || !s) {
        errno = EINVAL;
        return -1;
    }
    if (soa_sched_run_frame(s, dt, time) != 0) {
        int e = errno;
        soa__mpi_fail(m, e, "rank %d: the scheduler's frame failed: %s",
                      m->s.rank, soa_sched_error(s));
        /* the others must not wait for a frame that will not come */
        soa__mpi_step(m, SOA__OP_FRAME, e, NULL, true);
        m->frame++;
        errno = e;
        return -1;
    }
    return soa_mpi_end_frame(m, st);
}
