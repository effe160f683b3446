/*
 * mpi_internal.h: what libsoa_mpi's files share: the soa_mpi struct and
 * the step protocol every collective call starts with (step.c).
 */
#ifndef SOA_MPI_INTERNAL_H
#define SOA_MPI_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include "soa/mpi.h"
#include "wire.h"

/* The collective calls, as the step header names them. */
enum {
    SOA__OP_CREATE = 1,
    SOA__OP_SUBSCRIBE,
    SOA__OP_FRAME,
    SOA__OP_COUNT,
    SOA__OP_REDUCE,
    SOA__OP_GATHER,
    SOA__OP_DESTROY
};

/* Rows of one component received by replication at the last frame. */
typedef struct soa__replica {
    size_t n, cap;
    soa_gid *gids;
    int *ranks;
    unsigned char *values; /* n values of the component's sizeof(C) */
} soa__replica;

/* One step header, sent to every other rank at the start of a call. */
typedef struct soa__step_hdr {
    uint32_t magic, op;
    uint64_t seq, frame, hash, value;
    int32_t status; /* the sender's errno when it failed before the step */
    uint32_t pad;
} soa__step_hdr;

struct soa_mpi {
    MPI_Comm comm;
    int rank, size;
    double timeout;
    soa_world *w;
    /* The components every rank agreed on, by index ("idx", what the wire
     * names), with their cids here, wire sizes and column counts. */
    uint32_t ncomps;
    const soa_component_desc **descs;
    soa_cid *cids;
    size_t *wsize;
    uint32_t *ncols;
    uint32_t *idx_of; /* cid -> idx (UINT32_MAX: not one of them) */
    uint32_t ncids;   /* entries of idx_of */
    soa_cid gid_cid;  /* the hidden component holding each entity's gid */
    uint64_t hash;    /* of the agreed list, checked in every step */
    uint64_t serial, seq, frame;
    soa__idmap ids;   /* gid -> local entity */
    soa__idmap moves; /* gid -> rank + 1 for soa_mpi_move */
    /* partition */
    soa_cid part_cid;
    soa_mpi_rule rule;
    void *rule_ctx;
    /* subscriptions: sub[s * ncomps + idx] is rank s's `from` for idx */
    int *sub;
    soa__replica *rep; /* per idx, what this rank received */
    /* scratch */
    void **cols;          /* the widest component's column pointers */
    unsigned char *value; /* the largest sizeof(C) */
    soa__wbuf *out;       /* per destination rank */
    soa__wbuf send, recv, tmp;
    int *scount, *sdispl, *rcount, *rdispl;
    uint64_t *vals, *got; /* step values to / from each rank */
    soa__step_hdr *hdr_out, *hdr_in;
    MPI_Request *reqs;
    char err[SOA_MPI_ERRLEN];
};

/* Sets m's message (printf format); returns -1 with errno = e. */
int soa__mpi_fail(soa_mpi *m, int e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * The step: tells every other rank that this one is at call `op` (its
 * seq-th collective call) and has `status` (0, or the errno it failed
 * with, its message already in m->err), sending value vals[r] to each rank
 * r (NULL: zeros), and waits up to m->timeout for theirs, stored in
 * m->got[r] (m->got[rank] = vals[rank]).  0 when every rank is at the same
 * call with status 0; else -1 naming the first rank that is not (errno
 * ETIMEDOUT, EPROTO or ECANCELED), or this rank's own failure.
 * `check_hash`: whether ranks must agree on m->hash (not yet at create).
 */
int soa__mpi_step(soa_mpi *m, uint32_t op, int status, const uint64_t *vals,
                  bool check_hash);

/* Waits for n requests until m->timeout passes: true when all completed. */
bool soa__mpi_wait(soa_mpi *m, int n, MPI_Request *reqs);

/* A walk over the rows of component idx, chunk by chunk (every entity
 * libsoa_mpi knows has a gid).  soa__walk_next loads the chunk's columns
 * of idx into m->cols, its gids and idx's changed bits; false at the end.
 * The walk must not move while in use (its query points into it). */
typedef struct soa__walk {
    soa_cid all[2];
    soa_query q;
    soa_query_iter it;
    soa_chunk c;
    const uint64_t *gids, *changed;
} soa__walk;
void soa__walk_begin(soa_mpi *m, uint32_t idx, soa__walk *w);
bool soa__walk_next(soa_mpi *m, uint32_t idx, soa__walk *w);

/* The name of a collective call ("soa_mpi_end_frame"). */
const char *soa__mpi_op_name(uint32_t op);

#endif /* SOA_MPI_INTERNAL_H */
