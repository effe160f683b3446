/*
 * step.c: the step every collective call of libsoa_mpi starts with, and
 * waiting on MPI requests with a deadline.
 *
 * Why a step: MPI's collectives have no timeout, and a rank that died,
 * hung or took another branch leaves the others blocked forever.  Before
 * any collective, every rank sends a small header to every other rank
 * (point to point, so a missing one is known by name) saying which call it
 * is at, its sequence number, the component list's hash and its status,
 * and waits for theirs with a deadline.  Messages between two ranks on one
 * tag are never reordered, so headers of successive calls cannot mix.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "mpi_internal.h"

#define STEP_TAG 0x50a
#define STEP_MAGIC 0x534f414du /* "SOAM" */

int soa__mpi_fail(soa_mpi *m, int e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->s.err, sizeof m->s.err, fmt, ap);
    va_end(ap);
    errno = e;
    return -1;
}

const char *soa__mpi_op_name(uint32_t op)
{
    switch (op) {
    case SOA__OP_CREATE: return "soa_mpi_create";
    case SOA__OP_SUBSCRIBE: return "soa_mpi_subscribe";
    case SOA__OP_FRAME: return "soa_mpi_end_frame";
    case SOA__OP_COUNT: return "soa_mpi_count";
    case SOA__OP_REDUCE: return "soa_mpi_reduce";
    case SOA__OP_GATHER: return "soa_mpi_gather";
    case SOA__OP_DESTROY: return "soa_mpi_destroy";
    case SOA__OP_LOCATE: return "soa_mpi_locate";
    default: return "an unknown call";
    }
}

/* Polls tightly at first (a step between live ranks takes microseconds),
 * then yields the CPU (oversubscribed ranks share cores), then sleeps
 * (a rank that waits seconds should not burn one). */
bool soa__mpi_wait(soa_mpi *m, int n, MPI_Request *reqs)
{
    double start = MPI_Wtime(), deadline = start + m->timeout;
    for (unsigned polls = 0;; polls++) {
        int done = 0;
        MPI_Testall(n, reqs, &done, MPI_STATUSES_IGNORE);
        if (done)
            return true;
        double now = MPI_Wtime();
        if (now > deadline)
            return false;
        if (now - start > 0.01) {
            struct timespec ts = {0, 100000};
            nanosleep(&ts, NULL);
        } else if (polls > 64) {
            sched_yield();
        }
    }
}

/* Names the ranks whose header has not arrived (their receive request in
 * reqs[r] still pending) in m->s.err. */
static int timed_out(soa_mpi *m, uint32_t op, MPI_Request *recvs)
{
    char ranks[256] = "";
    size_t at = 0;
    int missing = 0;
    for (int r = 0; r < m->s.size; r++) {
        int done = 1;
        if (r != m->s.rank)
            MPI_Test(&recvs[r], &done, MPI_STATUS_IGNORE);
        if (!done && at < sizeof ranks - 16) {
            int k = snprintf(ranks + at, sizeof ranks - at, "%s%d",
                             missing ? ", " : "", r);
            at += (size_t)k;
            missing++;
        }
    }
    if (!missing)
        return soa__mpi_fail(m, ETIMEDOUT,
                             "rank %d: %s (frame %llu): the other ranks did "
                             "not take its step within %g s",
                             m->s.rank, soa__mpi_op_name(op),
                             (unsigned long long)m->frame, m->timeout);
    return soa__mpi_fail(m, ETIMEDOUT,
                         "rank%s %s did not reach %s (frame %llu) within %g s: "
                         "dead, hung, or no longer making the same calls "
                         "(seen from rank %d)",
                         missing > 1 ? "s" : "", ranks, soa__mpi_op_name(op),
                         (unsigned long long)m->frame, m->timeout, m->s.rank);
}

/* What is wrong with rank r's header h, in m->s.err; 0 when nothing. */
static int judge(soa_mpi *m, int r, const soa__step_hdr *h, uint32_t op,
                 uint64_t seq, bool check_hash)
{
    if (h->magic != STEP_MAGIC)
        return soa__mpi_fail(m, EPROTO,
                             "rank %d sent a step header that is not "
                             "libsoa_mpi's (magic 0x%08x)", r, h->magic);
    if (h->op != op || h->seq != seq)
        return soa__mpi_fail(m, EPROTO,
                             "rank %d is at %s (call %llu, frame %llu) while "
                             "rank %d is at %s (call %llu, frame %llu): the "
                             "ranks no longer make the same calls",
                             r, soa__mpi_op_name(h->op),
                             (unsigned long long)h->seq,
                             (unsigned long long)h->frame, m->s.rank,
                             soa__mpi_op_name(op), (unsigned long long)seq,
                             (unsigned long long)m->frame);
    if (check_hash && h->hash != m->hash)
        return soa__mpi_fail(m, EPROTO,
                             "rank %d has component list hash 0x%016llx, rank "
                             "%d 0x%016llx", r, (unsigned long long)h->hash,
                             m->s.rank, (unsigned long long)m->hash);
    if (h->status != 0)
        return soa__mpi_fail(m, ECANCELED, "rank %d failed in %s: %s", r,
                             soa__mpi_op_name(op), strerror(h->status));
    return 0;
}

int soa__mpi_step(soa_mpi *m, uint32_t op, int status, const uint64_t *vals,
                  bool check_hash)
{
    int n = m->s.size;
    uint64_t seq = m->seq++;
    MPI_Request *recvs = m->reqs, *sends = m->reqs + n;
    for (int r = 0; r < n; r++) {
        recvs[r] = sends[r] = MPI_REQUEST_NULL;
        soa__step_hdr *h = &m->hdr_out[r];
        memset(h, 0, sizeof *h);
        h->magic = STEP_MAGIC;
        h->op = op;
        h->seq = seq;
        h->frame = m->frame;
        h->hash = m->hash;
        h->value = vals ? vals[r] : 0;
        h->status = status;
        m->got[r] = h->value;
    }
    for (int r = 0; r < n; r++) {
        if (r == m->s.rank)
            continue;
        MPI_Irecv(&m->hdr_in[r], (int)sizeof(soa__step_hdr), MPI_BYTE, r,
                  STEP_TAG, m->comm, &recvs[r]);
        MPI_Isend(&m->hdr_out[r], (int)sizeof(soa__step_hdr), MPI_BYTE, r,
                  STEP_TAG, m->comm, &sends[r]);
    }
    if (!soa__mpi_wait(m, 2 * n, m->reqs))
        return timed_out(m, op, recvs);
    if (status != 0) {
        errno = status; /* this rank's own message stays */
        return -1;
    }
    for (int r = 0; r < n; r++) {
        if (r == m->s.rank)
            continue;
        if (judge(m, r, &m->hdr_in[r], op, seq, check_hash) != 0)
            return -1;
        m->got[r] = m->hdr_in[r].value;
    }
    return 0;
}
