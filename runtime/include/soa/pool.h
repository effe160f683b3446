/*
 * soa/pool.h: a worker pool built for short, frequent dispatches.
 *
 * An ECS frame lasts ~16 ms and may dispatch a dozen systems, so a dispatch
 * has to cost about a microsecond: the calling thread takes part in the work,
 * workers spin briefly before they sleep on a futex, and nothing allocates
 * per dispatch.
 *
 * Threading rules: one thread at a time drives a pool (calls for/submit/wait),
 * except that a range function may itself call soa_pool_for or
 * soa_pool_submit on the same pool: such nested work runs inline on the
 * calling worker, so it can never deadlock.  The rule is enforced, not
 * assumed: while one thread drives, another thread's soa_pool_for or
 * soa_pool_submit runs inline on that thread, and its soa_pool_wait or
 * soa_pool_destroy waits until the driver's call returns.  (That inline run
 * is worker 0 as well, so per-worker state indexed by `worker` is only
 * private under the one-driver rule.)  A fork()ed child has none of
 * the parent's workers: it must neither use nor destroy the parent's pools
 * (create its own).
 */
#ifndef SOA_POOL_H
#define SOA_POOL_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct soa_pool soa_pool;

/* Runs rows [begin, end) on thread `worker` (0 <= worker < soa_pool_size;
 * the caller of soa_pool_for/soa_pool_wait is worker 0). */
typedef void (*soa_range_fn)(void *ctx, size_t begin, size_t end,
                             unsigned worker);

/* The chunk size soa_pool_for uses when grain is 0: 512 rows, so no cache
 * line of changed-bitset words is written by two threads. */
#define SOA_POOL_GRAIN 512u

/* The most threads a pool may have. */
#define SOA_POOL_MAX_THREADS 256u

/*
 * A pool of `threads` threads in all, the calling thread being one of them
 * (threads - 1 are started); 0 means one per online CPU (at most
 * SOA_POOL_MAX_THREADS).  Returns NULL with errno set: EINVAL for more than
 * SOA_POOL_MAX_THREADS, ENOMEM, or pthread_create's error when a thread
 * cannot be started (the others are joined first).  Workers block every
 * signal.  Idle workers spin about 0.1 ms (less when there are more threads
 * than CPUs), then sleep on a futex until the next dispatch.  When the
 * pool has no more threads than the process may use CPUs, worker i is
 * pinned to the i-th of them (best effort), so a worker woken after an idle
 * gap is not queued behind the caller on the caller's CPU; set the
 * environment variable SOA_POOL_PIN=0 to leave placement to the kernel.
 */
soa_pool *soa_pool_create(unsigned threads);

/* Joins every thread and frees the pool.  No job should be pending: any
 * that is gets run to completion first, so no work is lost.  NULL is a
 * no-op.  Call it from the thread that drives the pool, not from a task. */
void soa_pool_destroy(soa_pool *p);

/* How long idle threads (workers, and the caller waiting for the last
 * chunks) spin before they sleep on a futex, in nanoseconds (at most 1 s;
 * 0 sleeps at once).  Longer spins make the first dispatch after a pause
 * cheaper (waking a sleeping thread costs tens of microseconds) at the
 * price of burning CPU while idle.  Any thread may call it; NULL is a
 * no-op. */
void soa_pool_set_spin(soa_pool *p, unsigned long ns);

/* Threads that run work, the caller included (1 for a NULL pool). */
unsigned soa_pool_size(const soa_pool *p);

/*
 * Calls fn over [0, n) split into chunks, in parallel, and returns when every
 * chunk ran.  Chunk boundaries are multiples of `grain` rounded up to a
 * multiple of 64 (grain 0 means SOA_POOL_GRAIN), so rows given to different
 * threads never share a 64-bit bitset word.  Chunks are claimed one at a
 * time by whichever thread is free (the caller included), so uneven chunks
 * balance.  A NULL or one-thread pool, n <= one chunk, or a call from inside
 * a pool task runs fn(ctx, 0, n, worker) inline (worker: the calling task's
 * index in this pool, else 0).  n == 0 or a NULL fn calls nothing.  Every
 * write fn made happens before this returns.  No allocation; costs about a
 * microsecond beyond the work when the workers are awake.
 */
void soa_pool_for(soa_pool *p, size_t n, size_t grain, soa_range_fn fn,
                  void *ctx);

/*
 * Asynchronous jobs, so that independent systems overlap.  A job is a
 * soa_pool_for that returns at once; soa_pool_wait runs chunks of pending
 * jobs on the caller until `job` is done.  The caller owns the soa_job
 * storage (no allocation); it must stay valid until soa_pool_wait returns.
 * Several jobs may be pending at once.  With a NULL pool, or from inside a
 * pool task, submit runs the job inline and wait returns at once.
 */
typedef struct soa_job {
    /* Private to the pool: the pool holds the job's state in one of its own
     * slots, so workers never touch this struct and it may die as soon as
     * soa_pool_wait returns. */
    struct soa_pool *pool;
    size_t gen;               /* the slot's generation when submitted */
    unsigned slot;            /* the pool slot that runs it */
    unsigned state;           /* 0 idle/done, 1 pending */
} soa_job;

/* Starts `job` over [0, n) with chunks as in soa_pool_for (even a job of a
 * single chunk goes to a worker, so small jobs overlap); returns 0, or -1
 * with errno EINVAL for a NULL fn/job.  At most 64 jobs are in flight: past
 * that, submit runs pending chunks on the caller until a slot frees up. */
int soa_pool_submit(soa_pool *p, soa_job *job, size_t n, size_t grain,
                    soa_range_fn fn, void *ctx);

/* Blocks until `job` completed (every write its chunks made happens before
 * this returns), running its unclaimed chunks and then other pending jobs'
 * chunks meanwhile.  The job needs the pool it was submitted to (`p` is
 * not consulted).  A job that was never submitted, already waited for, or
 * ran inline returns at once; so does any wait from inside a pool task
 * (waiting there could wait on the task itself). */
void soa_pool_wait(soa_pool *p, soa_job *job);

#ifdef __cplusplus
}
#endif

#endif /* SOA_POOL_H */
