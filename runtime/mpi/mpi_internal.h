/*
 * mpi_internal.h: what libsoa_mpi's MPI files share: the soa_mpi struct (a
 * shard, shard.h, and what moving its bytes takes) and the step protocol
 * every collective call starts with (step.c).
 */
#ifndef SOA_MPI_INTERNAL_H
#define SOA_MPI_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "soa/mpi.h"
#include "shard.h"

/* The collective calls, as the step header names them. */
enum {
    SOA__OP_CREATE = 1,
    SOA__OP_SUBSCRIBE,
    SOA__OP_FRAME,
    SOA__OP_COUNT,
    SOA__OP_REDUCE,
    SOA__OP_GATHER,
    SOA__OP_DESTROY,
    SOA__OP_LOCATE
};

/* One step header, sent to every other rank at the start of a call. */
typedef struct soa__step_hdr {
    uint32_t magic, op;
    uint64_t seq, frame, hash, value;
    int32_t status; /* the sender's errno when it failed before the step */
    uint32_t pad;
} soa__step_hdr;

struct soa_mpi {
    soa__shard s;   /* this rank's world, components, handles, rules */
    MPI_Comm comm;  /* the caller's, duplicated */
    double timeout; /* seconds */
    uint64_t hash;  /* of the agreed component list, checked in every step */
    uint64_t seq;   /* collective calls made so far */
    uint64_t frame; /* frames ended so far */
    soa__departures leaving;
    soa__wbuf send, recv;
    int *scount, *sdispl, *rcount, *rdispl;
    uint64_t *vals, *got; /* step values to / from each rank */
    soa__step_hdr *hdr_out, *hdr_in;
    MPI_Request *reqs;
};

/* Sets m's message (printf format); returns -1 with errno = e. */
int soa__mpi_fail(soa_mpi *m, int e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * The step: tells every other rank that this one is at call `op` (its
 * seq-th collective call) and has `status` (0, or the errno it failed
 * with, its message already in m->s.err), sending value vals[r] to each
 * rank r (NULL: zeros), and waits up to m->timeout for theirs, stored in
 * m->got[r] (m->got[rank] = vals[rank]).  0 when every rank is at the
 * same call with status 0; else -1 naming the first rank that is not
 * (errno ETIMEDOUT, EPROTO or ECANCELED), or this rank's own failure.
 * `check_hash`: whether ranks must agree on m->hash (not yet at create).
 */
int soa__mpi_step(soa_mpi *m, uint32_t op, int status, const uint64_t *vals,
                  bool check_hash);

/* Waits for n requests until m->timeout passes: true when all completed. */
bool soa__mpi_wait(soa_mpi *m, int n, MPI_Request *reqs);

/* The name of a collective call ("soa_mpi_end_frame"). */
const char *soa__mpi_op_name(uint32_t op);

#endif /* SOA_MPI_INTERNAL_H */
