/*
 * soa/sched.h: runs systems frame by frame, in ordered stages, in parallel
 * where their accesses allow.  The seed's ParallelScheduler and ZCScheduler
 * in one.
 *
 * A system is either
 *   - local: a function that runs against the world in place, declaring
 *     which components it reads and writes (the seed's `run() {}`), or
 *   - offloaded: a generated S_system plus its kernel: each frame the
 *     kernel runs on the pool in place, over chunks of the world's tables
 *     (S_view's columns point into them; no copy, nothing to commit: the
 *     kernel's marks are the world's changed bits, soa/world.h).  This is
 *     the seed's `offload.zeroCopy` on a natively SoA ECS.
 *
 * Within a stage, systems whose accesses do not conflict (neither writes a
 * component the other reads or writes) run at the same time as pool jobs;
 * conflicting systems keep their registration order.  The result equals
 * running every system one by one in registration order.
 */
#ifndef SOA_SCHED_H
#define SOA_SCHED_H

#include <stddef.h>
#include <stdint.h>

#include "desc.h"
#include "pool.h"
#include "world.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct soa_sched soa_sched;

/* A local system's function: runs on some pool thread with the world. */
typedef void (*soa_local_fn)(soa_world *w, const soa_frame *frame,
                             void *ctx);

typedef struct soa_sched_spec {
    const char *name;   /* for errors and timings; defaults to system->name */
    const char *stage;  /* a stage added with soa_sched_stage; NULL: "update" */

    /* Local system: accesses and the function. */
    const soa_component_desc *const *reads;
    uint32_t nreads;
    const soa_component_desc *const *writes;
    uint32_t nwrites;
    soa_local_fn run;

    /* Offloaded system: the generated descriptor and the kernel, erased
     * with the generated S_kernel_fn() (or (soa_fn)kernel). */
    const soa_system_desc *system;
    soa_fn kernel;

    void *ctx;          /* passed to run or kernel */

    /* Optional (zero is the default). */
    unsigned flags;     /* SOA_SCHED_EXCLUSIVE */
    soa_alloc *alloc;   /* unused: offloaded systems run in place (kept
                           so programs that set it still compile) */
} soa_sched_spec;

/*
 * A local system that changes the world's structure (spawn, despawn, add,
 * remove, set of an absent component) must be EXCLUSIVE: it runs alone, on
 * the thread that calls soa_sched_run_frame, after every earlier system of
 * its stage and before every later one.  Other local systems may only read
 * and write the values of the components they declare, from any thread.
 */
#define SOA_SCHED_EXCLUSIVE 1u

/* Error codes of soa_sched_add and soa_sched_stage (negative); errno is
 * set as well: EINVAL, ENOENT (unknown stage), ENOMEM, EEXIST (EDUP). */
enum {
    SOA_SCHED_OK = 0,
    SOA_SCHED_EINVAL = -1,      /* NULL spec, neither or both kinds, NULL fn */
    SOA_SCHED_ESTAGE = -2,      /* unknown stage name */
    SOA_SCHED_ECOMPONENT = -3,  /* a component not registered / refused */
    SOA_SCHED_ENOMEM = -4,
    SOA_SCHED_EDUP = -5         /* the same system is already added */
};

/* A scheduler over `world`, running on `pool` (NULL: the caller alone).
 * Has one stage, "update".  NULL on ENOMEM. */
soa_sched *soa_sched_create(soa_world *world, soa_pool *pool);

/* Releases every snapshot and the scheduler.  NULL is a no-op. */
void soa_sched_destroy(soa_sched *s);

/* Appends a stage that runs after the existing ones: SOA_SCHED_OK, or an
 * error code (EINVAL for a duplicate or empty name). */
int soa_sched_stage(soa_sched *s, const char *name);

/* Registers a system at the end of its stage: its index (>= 0) or an error
 * code above, and then soa_sched_error says which system and what.
 * Nothing is registered on error.  A local system's components must
 * already be registered in the world, with the same layout hash (its
 * function uses their cids); an offloaded system's components (reads,
 * writes, without) are registered here: a refusal is
 * SOA_SCHED_ECOMPONENT.  Adding a system again to the same stage (an
 * offloaded one with the same S_system, kernel and ctx; a local one with
 * the same run function, flags, components and ctx) would run it twice a
 * frame: SOA_SCHED_EDUP. */
int soa_sched_add(soa_sched *s, const soa_sched_spec *spec);

/* What the last failed soa_sched_add or soa_sched_stage was refused for,
 * naming the system, stage or component ("system 'Integrate' is already
 * added (as system 0)"); "" when nothing failed yet.  Owned by s, valid
 * until the next call on it. */
const char *soa_sched_error(const soa_sched *s);

/* Runs one frame: every stage in order.  0, or -1 when an offloaded
 * system could not be planned (errno ENOMEM; that system did not run this
 * frame; the others did). */
int soa_sched_run_frame(soa_sched *s, double dt, double time);

/* What one system did in the last frame.  Times are wall-clock
 * nanoseconds; a local system's whole run counts as `run_ns`.  When several
 * systems share a wave, `run_ns` spans from the wave's start to the moment
 * this system's work was seen finished. */
typedef struct soa_sched_stats {
    const char *name;
    const char *stage;
    unsigned wave;        /* position within its stage: same wave = overlap */
    int offloaded;        /* 1 for an offloaded system */
    uint64_t build_ns;    /* offloaded: finding its tables */
    uint64_t run_ns;
    uint64_t commit_ns;   /* 0: offloaded systems run in place */
    size_t rows;          /* rows the kernel ran over (offloaded) */
    size_t committed;     /* 0: nothing is copied back (its changed rows
                             are marked in the world: soa/world.h) */
    int failed;           /* 1 when it could not be planned (not run) */
    size_t unmarked;      /* with the debug check on (soa_sched_set_debug):
                             rows the kernel changed without marking them */
} soa_sched_stats;

/* Systems registered so far (indices 0 .. count-1). */
int soa_sched_count(const soa_sched *s);

/* Copies system `index`'s stats from the last frame into *out: 0, or
 * SOA_SCHED_EINVAL for a bad index or NULL argument.  O(1). */
int soa_sched_get_stats(const soa_sched *s, int index, soa_sched_stats *out);

/* Frames run so far (the next frame's soa_frame.index). */
uint64_t soa_sched_frames(const soa_sched *s);

/*
 * The debug check for kernels that forget to mark what they change: before
 * each offloaded system runs, its written columns are copied aside; after,
 * every row whose values differ but whose changed bit is clear is counted
 * (soa_sched_stats.unmarked) and the first frame it happens, the system,
 * the component and an entity are named on stderr.  Such writes stay in
 * the world here (the kernel runs in place) but change tracking never
 * sees them, and a snapshot or worker process would drop them.  Costs a
 * copy and a compare of the written columns per frame: for development.
 * On from creation when the environment has SOA_DEBUG set (not "0");
 * SOA_DEBUG=N checks every Nth frame of each system only (the first, the
 * N+1st, ...), for long runs that want the check at a fraction of its cost.
 * Snapshot commits and worker-process frames read SOA_DEBUG the same way.
 */
void soa_sched_set_debug(soa_sched *s, bool on);
/* The same with a period: check the first of every `every` runs of each
 * system, counted from the next frame (1: every run, as
 * soa_sched_set_debug(s, true); 0: off). */
void soa_sched_set_debug_every(soa_sched *s, unsigned every);

/* A human-readable message for an error code. */
const char *soa_sched_strerror(int code);

#ifdef __cplusplus
}
#endif

#endif /* SOA_SCHED_H */
