/*
 * soa/worker.h: worker processes that run offloaded systems.
 *
 * A soa_worker is another process (fork, or fork+exec of a separate worker
 * binary that receives the arena's fd) sharing one NAMED arena with the
 * main process.  The arena holds a mailbox (soa/mailbox.h) and the
 * snapshots (soa/shmsnap.h) of the systems the worker runs, so a system's
 * columns are never copied or serialised: the main process builds a
 * snapshot into the arena, posts "run ticks k..k+m with dt" to the worker,
 * the worker runs the kernel m times back to back on the same memory and
 * publishes its progress after every tick, and the main process commits
 * the changed rows when the request is done.
 *
 * Faults: a worker that dies (even by kill -9 in the middle of a tick) or
 * does not answer within the timeout is noticed within that timeout (a hung
 * one is then killed); the frame is not committed, so the world keeps its
 * last committed state; soa_worker_status/soa_worker_error say what
 * happened, and soa_worker_respawn starts a fresh worker on the same arena.
 * Exit reasons are reported as they are: exit status N, signal N, timeout,
 * a broken protocol.
 *
 * Trust: neither side trusts what the other can write.  The main process
 * keeps everything it needs to read the arena in its own memory, never
 * reads back the control blocks it wrote there, and takes from the arena
 * only checked messages, masked changed bits and the bytes of written
 * values; a worker that overwrites its whole arena can at most write any
 * value into rows of components its system writes.  The worker validates
 * and bounds-checks every header and offset it reads.  (The rules are at
 * the top of runtime/src/worker.c.)
 *
 * Fallback: when shared memory is unavailable (soa_shm_available() false),
 * or when asked (SOA_WORKER_THREADS, or the environment variable
 * SOA_WORKER_THREADS=1), the same API runs the worker as a thread of this
 * process over a private arena: the seed's fallback.  soa_worker_mode()
 * says which one runs and why, for the program to print.
 *
 * Threading: one thread at a time drives a soa_worker (post/wait/respawn);
 * soa_worker_system_frame may be called from any one thread at a time per
 * worker (a lock serialises systems that share a worker).  Spawn from a
 * long-lived thread: a forked worker is killed when the thread that spawned
 * it exits (PR_SET_PDEATHSIG), so workers never outlive their program.
 */
#ifndef SOA_WORKER_H
#define SOA_WORKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alloc.h"
#include "desc.h"
#include "mailbox.h"
#include "region.h"
#include "sched.h"
#include "shmsnap.h"
#include "world.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct soa_worker soa_worker;

/* Something a worker can run: a generated S_shm, its kernel (erased with
 * S_kernel_fn) and the kernel's ctx (in the worker's address space). */
typedef struct soa_worker_task {
    const soa_shm_system *sys;
    soa_fn kernel;
    void *ctx;
} soa_worker_task;

/* soa_worker_opts.flags */
#define SOA_WORKER_THREADS 1u /* run the worker as a thread, never a process */

typedef struct soa_worker_opts {
    /* The worker binary to fork+exec (it calls soa_worker_main), or NULL to
     * fork this program and run `tasks` in the child. */
    const char *exe;
    /* Tasks by index (request task ids).  Needed without `exe`, and for the
     * thread fallback (EINVAL where the worker would be a thread and there
     * are none); with `exe` the worker binary has its own table,
     * which must list systems with the same layout hashes in the same
     * order (checked at spawn when given here). */
    const soa_worker_task *tasks;
    uint32_t ntasks;
    unsigned threads;      /* kernel threads inside the worker (0: 1) */
    size_t arena_bytes;    /* the shared arena's capacity (0: 64 MiB) */
    int64_t timeout_ns;    /* per request (0: 1 s); SOA_WAIT_FOREVER */
    unsigned flags;        /* SOA_WORKER_THREADS */
    /* Optional: a region the worker maps read-only (soa/region.h).  When
     * a world lives in it (soa_world_create(soa_region_allocator(r))),
     * worker systems read that world's columns in place and copy only
     * their written columns (soa_worker_system_frame). */
    soa_region *share;
    char *error;           /* optional: why spawn failed, for people */
    size_t error_size;     /* bytes at `error` */
} soa_worker_opts;

/* Status codes (0 or negative), with the errno the failing call set. */
enum {
    SOA_WORKER_OK = 0,
    SOA_WORKER_EDIED = -1,     /* the worker exited or was killed (ECHILD) */
    SOA_WORKER_ETIMEDOUT = -2, /* no answer within the timeout; a process
                                  was killed (ETIMEDOUT) */
    SOA_WORKER_EREFUSED = -3,  /* the worker refused a request: unknown
                                  task, snapshot that does not attach
                                  (EPROTO) */
    SOA_WORKER_ESPAWN = -4,    /* could not start, or it never answered
                                  (errno of the cause) */
    SOA_WORKER_EBUSY = -5      /* a timed-out worker thread is still
                                  running and cannot be killed (EBUSY) */
};

/*
 * Creates the arena (NAMED, or PRIVATE in the fallback) and the mailbox,
 * starts the worker and waits (up to the timeout) for its hello, which
 * also checks its task table.  Returns NULL with errno (EINVAL: bad
 * options; ENOMEM; ECHILD: the worker died or refused at start; ETIMEDOUT;
 * fork/exec errors), and then a message in opts->error when given.
 * Destroy with soa_worker_destroy.  Costs a fork (and exec) and one round
 * trip.
 */
soa_worker *soa_worker_spawn(const soa_worker_opts *opts);

/* Asks the worker to quit (waits up to its timeout, then kills a process),
 * reaps it and frees everything, the arena included.  NULL is a no-op.
 * Systems created on it must be destroyed first. */
void soa_worker_destroy(soa_worker *w);

/* Kills what is left of the worker (a live one too), reformats the
 * mailbox in the same arena and starts a fresh worker as soa_worker_spawn
 * did.  Snapshots in the arena stay where they are; the next frame
 * rebuilds them.  0, or -1 with errno (EBUSY: a hung thread in the fallback
 * cannot be stopped; spawn errors). */
int soa_worker_respawn(soa_worker *w);

/* SOA_WORKER_OK, or the code of the last failure (sticky until respawn). */
int soa_worker_status(const soa_worker *w);

/* What the last failure was, for people ("worker 4242 was killed by signal
 * 9 (Killed) during request 17"); "" when there was none.  Owned by the
 * worker, valid until the next call on it. */
const char *soa_worker_error(const soa_worker *w);

/* How the worker runs, for people: "worker process 4242 (fork+exec
 * ./worker)" or "shared memory is unavailable here: the worker runs as a
 * thread in this process".  Owned by the worker. */
const char *soa_worker_mode(const soa_worker *w);

/* Whether the worker is a separate process (false in the fallback). */
bool soa_worker_is_process(const soa_worker *w);

/* The worker's process id, or -1 (fallback, or none running). */
long soa_worker_pid(const soa_worker *w);

/* The shared arena (for snapshots of your own).  Owned by the worker. */
soa_arena *soa_worker_arena(soa_worker *w);

/* The arena as an allocator that is safe to use from several threads (a
 * lock around soa_arena_alloc).  Snapshot columns come from here. */
soa_alloc *soa_worker_allocator(soa_worker *w);

/*
 * Posts "run task `task` on the snapshot whose header is at `snap_offset`,
 * `ticks` times, the first with *first (the next with time += dt, index +
 * 1)", and returns without waiting: the request's sequence number (>= 1),
 * or 0 with errno (EINVAL; the worker's failure errno when it already
 * failed; EAGAIN when the request ring is full).  O(1), no syscall unless
 * the worker sleeps.
 */
uint64_t soa_worker_post(soa_worker *w, uint32_t task, size_t snap_offset,
                         const soa_frame *first, uint64_t ticks);

/* Ticks the worker has completed since it was spawned (monotonic).  Never
 * blocks: a main loop can watch a long request progress. */
uint64_t soa_worker_progress(const soa_worker *w);

/*
 * Waits until every posted request is done, at most `timeout_ns` (0: the
 * worker's timeout).  0, or -1 with errno and the worker's status set:
 * ECHILD (it died: noticed within a few milliseconds), ETIMEDOUT (it was
 * killed), EPROTO (it refused a request or broke the protocol).  After a
 * failure nothing the worker wrote may be trusted: don't commit.
 */
int soa_worker_wait(soa_worker *w, int64_t timeout_ns);

/* ---- the worker side ---------------------------------------------------- */

/*
 * The worker binary's main: parses the arguments soa_worker_spawn passes
 * (--soa-worker-fd N --soa-worker-root OFFSET), attaches the arena, checks
 * it and the mailbox, and serves requests with `tasks` until told to quit.
 * Returns the process's exit status: 0 after a quit, 2 for bad arguments,
 * 3 when the arena or mailbox does not validate, 4 when `tasks` does not
 * match the main program's.  Never prints.
 */
int soa_worker_main(int argc, char **argv, const soa_worker_task *tasks,
                    uint32_t ntasks);

/* ---- offloaded systems ---------------------------------------------------- */

typedef struct soa_worker_system soa_worker_system;

/*
 * Task `task` of worker `w` as a system of the main process: owns a
 * snapshot whose columns live in the worker's arena and a header for it.
 * NULL with errno (EINVAL: no such task, ENOMEM: the arena is full).
 * Destroy before the worker.
 */
soa_worker_system *soa_worker_system_create(soa_worker *w, uint32_t task);

/* Frees the snapshot's descriptor (its arena memory is reclaimed with the
 * arena).  NULL is a no-op. */
void soa_worker_system_destroy(soa_worker_system *ws);

/*
 * One offloaded step: have the worker run `ticks` ticks starting with
 * *frame, wait (the worker's timeout), and commit the changed rows.
 *   - In place, when `world` lives in the region the worker shares
 *     (soa_worker_opts.share): the worker reads the world's columns where
 *     they are, read-only; only the written columns are copied into the
 *     arena for it, and the rows it marks are copied back and marked
 *     changed in the world.
 *   - Otherwise through a snapshot in the arena: every column is copied
 *     out (build, publish) and the marked rows back.
 * 0, or -1 with errno, and then nothing was committed: the world is as it
 * was (ENOMEM: the arena is full; the worker's failure, see
 * soa_worker_wait; ECHILD at once while the worker is failed and not
 * respawned; ESTALE: the world's structure changed between begin and
 * end).  Costs the copies, one round trip, a commit.
 */
int soa_worker_system_frame(soa_worker_system *ws, soa_world *world,
                            const soa_frame *frame, uint64_t ticks);

/* The same in two halves, so the main process can work meanwhile: begin
 * copies and posts (0 or -1); end waits and commits (0 or -1, as above).
 * Between the two the world may be read and its values written, but its
 * structure must not change (no spawn, despawn, add or remove). */
int soa_worker_system_begin(soa_worker_system *ws, soa_world *world,
                            const soa_frame *frame, uint64_t ticks);
int soa_worker_system_end(soa_worker_system *ws, soa_world *world);

/* Spreads the commits of in-place frames over `pool` (NULL, the default:
 * the calling thread alone), in whole blocks of the world's tables.  Call
 * begin/end/frame from the thread that drives the pool. */
void soa_worker_system_set_pool(soa_worker_system *ws, soa_pool *pool);

/* Rows the last successful frame committed. */
size_t soa_worker_system_committed(const soa_worker_system *ws);

/* The result of the last frame run through the scheduler: 0, or the errno
 * of its failure (the frame was not committed). */
int soa_worker_system_last_error(const soa_worker_system *ws);

/*
 * Fills *spec so that soa_sched_add registers `ws` as a local system of
 * the scheduler: it declares the system's reads (and `without` terms) and
 * writes, and its run function calls soa_worker_system_frame with one tick.
 * Registers those components in `world` first, so the run only reads the
 * world's structure.  0, or -1 with errno (EINVAL, ENOMEM).  A failed frame
 * is not committed; check soa_worker_system_last_error or soa_worker_status
 * after soa_sched_run_frame.
 */
int soa_worker_sched_spec(soa_worker_system *ws, soa_world *world,
                          soa_sched_spec *spec);

#ifdef __cplusplus
}
#endif

#endif /* SOA_WORKER_H */
