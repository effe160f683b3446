/*
 * shard.h: one rank's part of a sharded world, without MPI: its world and
 * the components the ranks agreed on, global handles, what leaves at the
 * end of a frame and what a message from another rank does here.  mpi.c
 * and frame.c move the bytes with MPI; the unit tests move them between
 * two shards in one process, under ASan+UBSan, and feed the receiving
 * side damaged messages.
 *
 * A message from one rank to another in a frame (nothing at all when it
 * has nothing for it), integers in the host's byte order (the handshake
 * checks that all ranks share it):
 *
 *   u32 nsec, then nsec sections of replicated rows:
 *       u16 idx, u32 rows, then rows times: u64 gid, the value's bytes
 *   u32 nmig, then nmig migration records:
 *       u64 gid, u16 ncomp, then ncomp times (component indexes rising):
 *           u16 idx, u8 changed, soa__wire_size(idx) bytes of value
 *
 * Replicated sections come first because packing them clears the changed
 * bits they report: an entity that leaves in the same frame arrives
 * unchanged, as its change was sent already.
 */
#ifndef SOA_MPI_SHARD_H
#define SOA_MPI_SHARD_H

#include <stdbool.h>
#include <stdint.h>

#include "wire.h"

#define SOA__ERRLEN 512

/* soa_mpi_subscribe's `from` values, as soa/mpi.h defines them. */
#define SOA__ALL (-1)
#define SOA__NONE (-2)

/* Rows of one component received by replication at the last frame. */
typedef struct soa__replica {
    size_t n, cap;
    uint64_t *gids;
    int *ranks;
    unsigned char *values; /* n values of the component's sizeof(C) */
} soa__replica;

typedef int (*soa__rule)(const void *value, void *ctx);
typedef void (*soa__rule_cols)(void *const *cols, size_t begin, size_t end,
                               int *ranks, void *ctx);

typedef struct soa__shard {
    soa_world *w;
    int rank, size;
    /* The components the ranks agreed on, by index ("idx", what the wire
     * names), with their cids here, wire sizes and column counts. */
    uint32_t ncomps;
    const soa_component_desc **descs;
    soa_cid *cids;
    size_t *wsize;
    uint32_t *ncols;
    soa__col **plans; /* per idx: its columns in its value */
    uint32_t *idx_of; /* cid -> idx (UINT32_MAX: not one of them) */
    uint32_t ncids;   /* entries of idx_of */
    soa_cid gid_cid;  /* the hidden component holding each entity's gid */
    uint64_t serial;  /* gids handed out here */
    soa__idmap ids;   /* gid -> local entity */
    soa__idmap moves; /* gid -> rank + 1, requested by soa_mpi_move */
    soa_cid part_cid; /* SOA_CID_INVALID: no rule */
    soa__rule rule;   /* by value, or */
    soa__rule_cols rule_cols; /* by columns (at most one of the two) */
    void *rule_ctx;
    int *ranks;       /* SOA_BLOCK_ROWS: what rule_cols answered */
    bool every_row; /* the next pack runs the rule on unchanged rows too */
    int *sub;          /* sub[s * ncomps + idx]: rank s's `from` for idx */
    soa__replica *rep; /* per idx: what this rank received */
    soa__wbuf *out;    /* per destination rank: the message being packed */
    /* scratch */
    void **cols;          /* the widest component's column pointers */
    unsigned char *value; /* the largest sizeof(C) */
    soa__wbuf tmp;
    char err[SOA__ERRLEN];
} soa__shard;

/* What one end of frame did here. */
typedef struct soa__counts {
    size_t migrated_out, migrated_in, replicated_out, replicated_in;
    size_t migration_bytes, replication_bytes; /* to other ranks */
} soa__counts;

/* Sets s->err (printf format); returns -1 with errno = e. */
int soa__shard_fail(soa__shard *s, int e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Makes shard `rank` of `size` with a new world holding comps[0 .. n):
 * 0, or -1 with errno and s->err (a component the world refuses, one
 * listed twice, ENOMEM).  Free with soa__shard_free even on failure. */
int soa__shard_init(soa__shard *s, int rank, int size,
                    const soa_component_desc *const *comps, uint32_t n);
void soa__shard_free(soa__shard *s);

/* soa_mpi_spawn, soa_mpi_local, soa_mpi_gid (soa/mpi.h). */
int soa__shard_spawn(soa__shard *s, const soa_cid *cids, uint32_t ncids,
                     size_t n, uint64_t *out);
soa_entity soa__shard_local(const soa__shard *s, uint64_t gid);
uint64_t soa__shard_gid(const soa__shard *s, soa_entity e);

/* The idx of cid, or UINT32_MAX. */
static inline uint32_t soa__shard_idx(const soa__shard *s, soa_cid cid)
{
    return cid < s->ncids ? s->idx_of[cid] : UINT32_MAX;
}

/* A walk over the rows of component idx, chunk by chunk (every entity of
 * the shard has a gid).  soa__walk_next loads the chunk's columns of idx
 * into s->cols, its gids and idx's changed bits; false at the end.  The
 * walk must not move while in use (its query points into it). */
typedef struct soa__walk {
    soa_cid all[2];
    soa_query q;
    soa_query_iter it;
    soa_chunk c;
    const uint64_t *gids, *changed;
} soa__walk;
void soa__walk_begin(soa__shard *s, uint32_t idx, soa__walk *w);
bool soa__walk_next(soa__shard *s, uint32_t idx, soa__walk *w);

/* An entity leaving this rank. */
typedef struct soa__leaving {
    soa_entity e;
    uint64_t g;
    int to;
} soa__leaving;

typedef struct soa__departures {
    soa__leaving *out;
    size_t n, cap;
} soa__departures;

/*
 * The end of a frame, before the exchange: which entities leave (the rule
 * over rows whose partition component is marked changed, then the
 * requested moves of entities without it), and every destination's
 * message packed into s->out[r] (length 0: nothing for r).  0, or -1 with
 * errno and s->err (EINVAL: a component registered in the world but not
 * agreed, or a rule that answered a bad rank; ENOMEM).  Nothing leaves
 * the world yet.  O(changed rows + departures).
 */
int soa__shard_pack(soa__shard *s, soa__departures *d, soa__counts *c);

/* After the exchange: the departures leave the world. */
void soa__shard_depart(soa__shard *s, const soa__departures *d);

/*
 * Rank `from`'s message (len bytes at p): checked whole when !apply, and
 * then, once every message checked, applied (apply): the replicated rows
 * kept in s->rep, the migrating entities added to the world with their
 * values and changed bits.  Refuses (-1, errno EPROTO, s->err naming
 * `from`) anything that does not parse exactly: short or trailing bytes,
 * unknown or repeated component indexes, changed flags or bools other
 * than 0 and 1, a gid of 0 or one that lives here already, rows of a
 * component this rank did not subscribe to from `from`.  Call
 * soa__shard_reset_replicas before the first message of a frame.
 */
int soa__shard_receive(soa__shard *s, int from, const unsigned char *p,
                       size_t len, bool apply, soa__counts *c);
void soa__shard_reset_replicas(soa__shard *s);

/* Every row of component idx into s->tmp (gid + value each); how many. */
uint64_t soa__shard_pack_rows(soa__shard *s, uint32_t idx);

#endif /* SOA_MPI_SHARD_H */
