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
 * calling worker, so it can never deadlock.
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

/*
 * A pool of `threads` threads in all, the calling thread being one of them
 * (threads - 1 are started); 0 means one per online CPU.  Returns NULL with
 * errno set when a thread cannot be started (the others are joined).
 */
soa_pool *soa_pool_create(unsigned threads);

/* Joins every thread and frees the pool.  No job may be pending.  NULL is a
 * no-op. */
void soa_pool_destroy(soa_pool *p);

/* Threads that run work, the caller included (1 for a NULL pool). */
unsigned soa_pool_size(const soa_pool *p);

/*
 * Calls fn over [0, n) split into chunks, in parallel, and returns when every
 * chunk ran.  Chunk boundaries are multiples of `grain` rounded up to a
 * multiple of 64 (grain 0 means SOA_POOL_GRAIN), so rows given to different
 * threads never share a 64-bit bitset word.  A NULL pool, n <= one chunk, or
 * a call from inside a pool task runs fn(ctx, 0, n, worker) inline.
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
    /* Private to the pool. */
    soa_range_fn fn;
    void *ctx;
    size_t n, grain;
    size_t next;              /* next chunk start to claim */
    size_t done;              /* rows finished */
    struct soa_job *link;     /* pending-list link */
    unsigned state;
} soa_job;

/* Starts `job`; returns 0, or -1 with errno EINVAL for a NULL fn/job. */
int soa_pool_submit(soa_pool *p, soa_job *job, size_t n, size_t grain,
                    soa_range_fn fn, void *ctx);

/* Blocks until `job` completed, helping with pending work meanwhile. */
void soa_pool_wait(soa_pool *p, soa_job *job);

#ifdef __cplusplus
}
#endif

#endif /* SOA_POOL_H */
