/*
 * soa/mpi.h: one world sharded over MPI ranks (libsoa_mpi, built by
 * `make mpi`; not part of soa/soa.h, and the rest of libsoa never needs
 * MPI).  Link with libsoa_mpi.a, libsoa.a and your MPI (build with mpicc).
 *
 * Every rank runs the same program and holds a world of its own, made
 * collectively by soa_mpi_create over a communicator.  An entity lives on
 * exactly one rank and has a global handle, a soa_gid, unique across ranks
 * and valid for its whole life wherever it moves; soa_mpi_local gives its
 * handle in this rank's world when it lives here, soa_mpi_locate (a
 * collective) the rank it lives on.
 *
 * Ownership: the program names a partition component and a rule, a
 * function of that component's value that says which rank owns the entity
 * (a cell of Position, say).  At the end of each frame, soa_mpi_end_frame
 * evaluates the rule for every row whose partition component is marked
 * changed, and every entity whose rank changed migrates with all its
 * components and their changed bits, packed from the tables by their
 * layout descriptors.  Entities without the partition component move only
 * when soa_mpi_move says so.  One MPI_Ialltoallv carries a frame's
 * migrations and replicated rows together.
 *
 * Replication: soa_mpi_subscribe (collective) lets a rank receive, after
 * each frame, the rows of a component that another rank (or every rank)
 * has marked changed: the global handle and the value of each, nothing
 * else.  The publisher clears those changed bits once it has sent them.
 *
 * Collective calls (create, destroy, subscribe, end_frame, locate, count,
 * reduce, gather) must be made by every rank in the same order.  Each starts by
 * telling every other rank which call and which step it is at; a rank
 * that does not arrive within the timeout (config.timeout, or the
 * environment's SOA_MPI_TIMEOUT in seconds, else 60 s) is named in the
 * error, so a dead, hung or diverged rank never hangs the others.
 *
 * Errors follow soa/soa.h: NULL or -1 and errno (EINVAL: a bad argument;
 * ENOMEM; ETIMEDOUT: a rank did not arrive; EPROTO: ranks disagree (layout
 * hashes, call order, frame) or a rank sent bytes that do not parse;
 * ECANCELED: another rank failed in the same call).  soa_mpi_error names
 * the rank and the cause.  After a collective call fails the ranks no
 * longer agree on the world: print the message and end the job with
 * soa_mpi_abort.
 *
 * Threading: one thread per rank calls these functions (MPI_THREAD_FUNNELED
 * is enough); the scheduler's worker pool runs kernels in between.
 */
#ifndef SOA_MPI_H
#define SOA_MPI_H

#include <stddef.h>
#include <stdint.h>

#include <mpi.h>

#include "cast.h"

#include "desc.h"
#include "sched.h"
#include "world.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A global handle: the creating rank + 1 in bits 40..63, a serial number
 * of that rank in bits 0..39.  Never 0. */
typedef uint64_t soa_gid;
#define SOA_GID_NULL SOA_CAST(soa_gid, 0)

/* soa_mpi_subscribe's `from`: every rank, or none. */
#define SOA_MPI_ALL (-1)
#define SOA_MPI_NONE (-2)

/* Room for any soa_mpi_create message. */
#define SOA_MPI_ERRLEN 512

typedef struct soa_mpi soa_mpi;

typedef struct soa_mpi_config {
    MPI_Comm comm; /* duplicated: the caller's stays the caller's */
    /* Every component an entity may have, the same list on every rank: the
     * handshake compares names and layout hashes across ranks. */
    const soa_component_desc *const *comps;
    uint32_t ncomps;
    double timeout; /* seconds a rank waits for the others; 0: default */
} soa_mpi_config;

/*
 * Collective over cfg->comm: makes this rank's world, registers the
 * components in it, and checks that every rank has the same list (names,
 * layout hashes, sizes, byte order).  NULL with errno on failure (EINVAL,
 * ENOMEM, EPROTO: ranks disagree, ETIMEDOUT) and, when `why` is not NULL,
 * a message of at most whylen bytes naming the rank and the cause, e.g.
 * "rank 2: component 'Velocity' has layout hash 0x... there but 0x... on
 * rank 0".  Every rank gets the same verdict.  MPI must be initialised.
 */
soa_mpi *soa_mpi_create(const soa_mpi_config *cfg, char *why, size_t whylen);

/* Collective: frees the world and the duplicated communicator.  NULL is a
 * no-op. */
void soa_mpi_destroy(soa_mpi *m);

/* This rank's world (owned by m): run any scheduler on it, read and write
 * its values, add and remove components; but register nothing else in it,
 * and spawn and despawn through soa_mpi_spawn/soa_mpi_despawn (an entity
 * spawned by soa_world_spawn has no gid: it never migrates, is never
 * replicated or gathered).  NULL for a NULL m. */
soa_world *soa_mpi_world(const soa_mpi *m);
/* This rank and the number of ranks in m's communicator (-1 and 0 for a
 * NULL m). */
int soa_mpi_rank(const soa_mpi *m);
int soa_mpi_size(const soa_mpi *m);

/* Why the last call failed, naming the rank and the cause; "" when none
 * did.  Owned by m. */
const char *soa_mpi_error(const soa_mpi *m);

/* Ends the whole job (MPI_Abort on m's communicator) with exit code
 * `code`: what a program does after a collective call fails.  Never
 * returns. */
void soa_mpi_abort(const soa_mpi *m, int code);

/* ---- entities ------------------------------------------------------- */

/*
 * Spawns n entities on this rank with components cids[0 .. ncids) at
 * their defaults (as soa_world_spawn_n) and stores their global handles
 * in out[0 .. n) when out is not NULL.  0, or -1 with errno (EINVAL: an
 * unknown or repeated cid, or one not given to soa_mpi_create; ENOMEM).
 * Not collective.  O(n + ncids).
 */
int soa_mpi_spawn(soa_mpi *m, const soa_cid *cids, uint32_t ncids, size_t n,
                  soa_gid *out);

/* Despawns the entity if it lives here: 0, or -1 with errno ESRCH. */
int soa_mpi_despawn(soa_mpi *m, soa_gid g);

/* This rank's handle of entity g, or SOA_ENTITY_NULL when g does not live
 * here (now).  Local handles change when an entity migrates; gids never
 * do.  O(1) expected. */
soa_entity soa_mpi_local(const soa_mpi *m, soa_gid g);

/* The global handle of a local entity, or SOA_GID_NULL. */
soa_gid soa_mpi_gid(const soa_mpi *m, soa_entity e);

/* Live entities on this rank. */
size_t soa_mpi_entities(const soa_mpi *m);

/* Collective: where entities gids[0 .. n) live now, the same n gids on
 * every rank: their ranks into ranks[0 .. n) on every rank (-1: none, a
 * despawned or unknown gid).  0, or -1 with errno (EINVAL: n differs
 * between ranks or exceeds INT_MAX).  O(n) per rank. */
int soa_mpi_locate(soa_mpi *m, const soa_gid *gids, size_t n, int *ranks);

/* ---- ownership ------------------------------------------------------ */

/* The rank that owns an entity whose partition component has `value` (a
 * C); a result outside [0, size) fails the frame with EINVAL. */
typedef int (*soa_mpi_rule)(const void *value, void *ctx);

/* Sets the partition component and rule (the same on every rank; not
 * collective): 0, or -1 with errno EINVAL (a tag, or a component not
 * given to soa_mpi_create). */
int soa_mpi_partition(soa_mpi *m, soa_cid cid, soa_mpi_rule rule, void *ctx);

/* The rule over rows [begin, end) of one block at once: into ranks[i] the
 * rank of row begin + i, from the partition component's columns (cols in
 * C_cols order; element r of cols[k] is row r's).  A loop over columns
 * the compiler can vectorise, instead of a call per row.  Results outside
 * [0, size) fail the frame with EINVAL (for rows it asks about). */
typedef void (*soa_mpi_rule_cols)(void *const *cols, size_t begin,
                                  size_t end, int *ranks, void *ctx);

/* soa_mpi_partition with a rule over columns; replaces any rule set
 * before (as soa_mpi_partition replaces this one).  0, or -1 with errno
 * EINVAL. */
int soa_mpi_partition_cols(soa_mpi *m, soa_cid cid, soa_mpi_rule_cols rule,
                           void *ctx);

/* At the next end of frame, runs the rule over every row with the
 * partition component, marked changed or not: after the rule itself
 * changed (new strip borders, say).  Not collective; each rank whose rule
 * changed calls it.  0, or -1 with errno EINVAL (no rule). */
int soa_mpi_repartition(soa_mpi *m);

/* Moves entity g (which lives here and has no partition component) to
 * `rank` at the end of this frame: 0, or -1 with errno ESRCH (not here) or
 * EINVAL (a bad rank). */
int soa_mpi_move(soa_mpi *m, soa_gid g, int rank);

/* ---- frames --------------------------------------------------------- */

typedef struct soa_mpi_stats {
    uint64_t frame;            /* frames ended so far, this one included */
    size_t migrated_out;       /* entities that left this rank */
    size_t migrated_in;        /* entities that arrived */
    size_t replicated_out;     /* rows sent to subscribers (per subscriber) */
    size_t replicated_in;      /* rows received */
    size_t migration_bytes;    /* bytes of migrations sent to other ranks */
    size_t replication_bytes;  /* bytes of replicated rows sent to others */
    size_t header_bytes;       /* the step headers sent to other ranks */
    double exchange_ns;        /* time in the exchange, waiting included */
} soa_mpi_stats;

/*
 * Collective: ends the frame.  Packs the entities whose rank changed and
 * the changed rows of subscribed components, exchanges them with one
 * MPI_Ialltoallv, removes what left, adds what arrived (checking every
 * byte: counts, lengths, component indexes, bool values, duplicate
 * handles), and keeps the replicated rows for soa_mpi_replicated.
 * Returns when every rank has done the same.  0, or -1 with errno (see the
 * top of this file) and soa_mpi_error.  `st` (may be NULL) gets this
 * rank's numbers.  O(changed rows + moved bytes).
 */
int soa_mpi_end_frame(soa_mpi *m, soa_mpi_stats *st);

/* Runs one frame of `s` (a scheduler over soa_mpi_world(m)) on this rank,
 * then soa_mpi_end_frame.  0, or -1 with errno as either. */
int soa_mpi_run_frame(soa_mpi *m, soa_sched *s, double dt, double time,
                      soa_mpi_stats *st);

/* ---- replication ---------------------------------------------------- */

/* Collective: from the next frame on, this rank receives the changed rows
 * of component cid of rank `from` (SOA_MPI_ALL: every rank, itself
 * included; SOA_MPI_NONE: stops).  Every rank calls it for the same cid;
 * each passes its own `from`.  0, or -1 with errno. */
int soa_mpi_subscribe(soa_mpi *m, soa_cid cid, int from);

/* The rows of cid received at the last end of frame: n handles in
 * (*gids)[i], values (sizeof(C) each, padding zeroed) in *values, the
 * sending rank in (*ranks)[i].  Owned by m until the next end of frame.
 * 0 rows for a cid this rank does not subscribe to. */
size_t soa_mpi_replicated(const soa_mpi *m, soa_cid cid, const soa_gid **gids,
                          const void **values, const int **ranks);

/* ---- collectives over a component ----------------------------------- */

typedef enum soa_mpi_op {
    SOA_MPI_SUM = 1,
    SOA_MPI_MIN,
    SOA_MPI_MAX
} soa_mpi_op;

/* Collective: entities with component cid on every rank, into *out on
 * every rank.  0, or -1 with errno. */
int soa_mpi_count(soa_mpi *m, soa_cid cid, uint64_t *out);

/*
 * Collective: the sum, minimum or maximum of element `elem` of field
 * `field` of component cid over every entity on every rank, as a double
 * (integers exact up to 2^53), into *out on every rank; a min over no
 * entity is +inf, a max -inf, a sum 0.  The sum's rounding depends on how
 * the entities are spread.  0, or -1 with errno (EINVAL: no such field or
 * element).  O(entities here).
 */
int soa_mpi_reduce(soa_mpi *m, soa_cid cid, const char *field, uint32_t elem,
                   soa_mpi_op op, double *out);

/*
 * Collective: every entity's component cid, from every rank, to rank
 * `root`: there *n rows, their handles in *gids and values (sizeof(C)
 * each) in *values, in rank order then table order, both malloc'd and the
 * caller's to free; elsewhere *n = 0 and NULLs.  0, or -1 with errno.
 */
int soa_mpi_gather(soa_mpi *m, soa_cid cid, int root, soa_gid **gids,
                   void **values, size_t *n);

#ifdef __cplusplus
}
#endif

#endif /* SOA_MPI_H */
