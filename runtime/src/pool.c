/*
 * pool.c: the worker pool.
 *
 * Work is published in slots that the pool owns (SLOTS of them, one bit each
 * in `active`).  A slot holds a range function and a chunk counter; any
 * thread claims batches of chunk indices from it with an atomic add
 * (guided: large batches first, single chunks at the end), so uneven chunks
 * balance themselves.  A soa_pool_for is a slot that the caller works
 * on and waits for; a soa_job names a slot by index and generation, so the
 * caller-owned soa_job is never touched by a worker and may die as soon as
 * soa_pool_wait returns.
 *
 * One thread at a time, the driver, calls for/submit/wait/destroy (pool.h;
 * the `driving` guard enforces it).  Only the driver publishes, retires and
 * reuses slots, so slot fields other than the atomics are written by the
 * driver alone, before the slot is published.
 *
 * The protocols, and which atomic operation pairs with which:
 *
 * - Publishing: the driver writes a free slot's fields, stores state ACTIVE
 *   (release), sets the slot's bit in `active` (release) and bumps `epoch`.
 *   A worker loads `active` (acquire) and the slot's state (seq_cst, which
 *   acquires), so it sees the fields.
 *
 * - Visiting and reuse (why a worker never runs a stale job): a worker
 *   increments the slot's `users` and then loads `state`; the driver, to
 *   retire a slot, stores state FREE and only reuses it after it loads
 *   `users` == 0.  Both pairs are seq_cst, so either the worker sees FREE or
 *   the driver sees the worker (store-load ordering, as in Dekker's
 *   algorithm).  The worker's decrement of `users` is a release that the
 *   driver's load acquires, so every read the worker made of the old fields
 *   happens before the driver rewrites them.
 *
 * - Completion: each finished batch adds its chunk count to `done`
 *   (acq_rel: release publishes the batch's writes, acquire collects those
 *   of the batches that finished earlier); the thread that finishes the last chunk stores `fin`
 *   = 1, which the waiter loads (acquire).  So everything every chunk wrote
 *   happens before soa_pool_for/soa_pool_wait returns.
 *
 * - Sleeping without lost wake-ups: a worker reads `epoch`, looks for work,
 *   spins a bounded time for `epoch` to change, then increments `sleepers`,
 *   re-reads `epoch` and sleeps on it with FUTEX_WAIT, which returns at once
 *   when the value is no longer the one it read.  The driver bumps `epoch`
 *   and then reads `sleepers` to decide whether FUTEX_WAKE is needed.  Both
 *   sides are seq_cst: either the worker sees the new epoch or the driver
 *   sees the sleeper.  The same pattern, with `fin` and `waiting`, puts the
 *   driver to sleep while workers finish the last chunks.  The futex calls
 *   are only for sleeping: every happens-before edge goes through the C11
 *   atomics above, which is also what ThreadSanitizer checks.
 *
 * `epoch` is 32 bits: a worker that read it would have to be descheduled for
 * exactly 2^32 dispatches to miss one, and even then the next dispatch wakes
 * it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "soa/pool.h"
#include "platform.h"

#define SLOTS 64u            /* jobs in flight at once (bits of `active`) */
#define CACHE_LINE 64u

/* How long an idle thread spins before it sleeps.  Back-to-back dispatches
 * (the systems of one frame) then cost no system call.  When there are more
 * threads than CPUs, spinning only steals time from the thread that holds
 * the work, so the spin is short. */
#define SPIN_NS 100000L
#define SPIN_NS_OVERSUBSCRIBED 2000L
#define MAX_SPIN_NS 1000000000L     /* soa_pool_set_spin's ceiling: 1 s */

enum { SLOT_FREE = 0, SLOT_ACTIVE = 1 };
enum { JOB_IDLE = 0, JOB_PENDING = 1 };

typedef struct slot {
    /* Shared between threads: see the protocols at the top. */
    alignas(CACHE_LINE) _Atomic uint32_t state;
    _Atomic uint32_t users;     /* workers inside visit() */
    _Atomic uint32_t fin;       /* 1 when every chunk ran (futex word) */
    _Atomic uint32_t waiting;   /* the driver sleeps on fin */
    _Atomic size_t next;        /* next chunk index to claim */
    _Atomic size_t done;        /* chunks finished */

    /* Written by the driver before it publishes; read-only while ACTIVE. */
    alignas(CACHE_LINE) soa_range_fn fn;
    void *ctx;
    size_t n, chunk, nchunks;

    /* Driver-only. */
    size_t gen;                 /* bumped on every publish */
    bool inuse;                 /* published and not yet retired */
} slot;

typedef struct worker {
    alignas(CACHE_LINE) struct soa_pool *pool;
    pthread_t thread;
    unsigned index;
} worker;

struct soa_pool {
    unsigned nthreads;
    _Atomic long spin_ns;                          /* relaxed: a hint */
    alignas(CACHE_LINE) _Atomic uint32_t epoch;   /* futex word */
    _Atomic uint32_t sleepers;
    _Atomic uint32_t stop;
    alignas(CACHE_LINE) _Atomic uint64_t active;  /* bit i: slot i in use */
    alignas(CACHE_LINE) _Atomic uint32_t driving; /* a thread is the driver */
    slot slots[SLOTS];
    worker workers[];                              /* [0] is the driver */
};

/* The pool whose task this thread is running (NULL outside tasks) and its
 * worker index there: how nested calls know to run inline. */
static _Thread_local soa_pool *tl_pool;
static _Thread_local unsigned tl_worker;

/* ---- waiting primitives -------------------------------------------- */

/* Spins up to `budget` ns for *word to differ from `val`; true if it did.
 * The clock is read once per 64 pauses, so a check costs little.  The load
 * acquires (free on x86), pairing with the store that changed the word. */
static bool spin_until_change(_Atomic uint32_t *word, uint32_t val,
                              long budget)
{
    int64_t start = soa__now_ns();
    for (;;) {
        for (int i = 0; i < 64; i++) {
            if (atomic_load_explicit(word, memory_order_acquire) != val)
                return true;
            soa__cpu_relax();
        }
        if (soa__now_ns() - start > budget)
            return false;
    }
}

/* Blocks until *word != val.  The seq_cst store to *flag and load of *word
 * pair with the waker's seq_cst store to *word and load of *flag (see the
 * top of the file); the final load also acquires. */
static void sleep_while(soa_pool *p, _Atomic uint32_t *word, uint32_t val,
                        _Atomic uint32_t *flag, bool counting)
{
    long budget = atomic_load_explicit(&p->spin_ns, memory_order_relaxed);
    if (budget > 0 && spin_until_change(word, val, budget))
        return;
    if (counting)
        atomic_fetch_add_explicit(flag, 1, memory_order_seq_cst);
    else
        atomic_store_explicit(flag, 1, memory_order_seq_cst);
    while (atomic_load_explicit(word, memory_order_seq_cst) == val)
        soa__futex_wait(word, val, -1, false);
    if (counting)
        atomic_fetch_sub_explicit(flag, 1, memory_order_relaxed);
}

/* Tells idle workers that a slot was published (or that they must stop). */
static void wake_workers(soa_pool *p)
{
    atomic_fetch_add_explicit(&p->epoch, 1, memory_order_seq_cst);
    if (atomic_load_explicit(&p->sleepers, memory_order_seq_cst))
        soa__futex_wake(&p->epoch, INT_MAX, false);
}

/* ---- chunks -------------------------------------------------------- */

/* The chunk size for `grain`: a multiple of 64, never 0, never wrapping. */
static size_t chunk_size(size_t grain)
{
    if (grain == 0)
        return SOA_POOL_GRAIN;
    if (grain > SIZE_MAX - 63u)
        return SIZE_MAX & ~(size_t)63u;
    return (grain + 63u) & ~(size_t)63u;
}

/* Largest batch one claim takes, in chunks: with at most
 * SOA_POOL_MAX_THREADS + 1 claims overshooting the end by a batch each,
 * `next` stays far from wrapping even for n near SIZE_MAX. */
#define MAX_BATCH (SIZE_MAX >> 14)

/* Claims a batch of at most `max` chunks, [*first, *first + *count), of s;
 * false when none is left.  Guided: a batch is the remaining chunks over twice the thread
 * count (at least one), so early claims are large and contiguous (a thread
 * streams through its columns, and few atomics are needed) while the last
 * ones are single chunks that balance uneven work.  The estimate may be
 * stale; the fetch_add decides.  Relaxed: the fields the chunks need were
 * acquired with the slot's state. */
static bool claim(const soa_pool *p, slot *s, size_t max, size_t *first,
                  size_t *count)
{
    size_t total = s->nchunks;
    size_t cur = atomic_load_explicit(&s->next, memory_order_relaxed);
    if (cur >= total)
        return false;
    size_t k = (total - cur) / (2u * (size_t)p->nthreads);
    k = k == 0 ? 1 : k > max ? max : k;
    size_t i = atomic_fetch_add_explicit(&s->next, k, memory_order_relaxed);
    if (i >= total)
        return false;
    *first = i;
    *count = total - i < k ? total - i : k;
    return true;
}

/* Runs chunks [first, first + count) of s as `worker`, one fn call per
 * chunk, then counts them done. */
static void run_chunks(soa_pool *p, slot *s, size_t first, size_t count,
                       unsigned worker)
{
    soa_pool *saved_pool = tl_pool;
    unsigned saved_worker = tl_worker;
    tl_pool = p;
    tl_worker = worker;
    for (size_t c = first; c < first + count; c++) {
        size_t begin = c * s->chunk;
        size_t end = s->n - begin > s->chunk ? begin + s->chunk : s->n;
        s->fn(s->ctx, begin, end, worker);
    }
    tl_pool = saved_pool;
    tl_worker = saved_worker;

    size_t total = s->nchunks;
    if (atomic_fetch_add_explicit(&s->done, count, memory_order_acq_rel) +
            count != total)
        return;
    atomic_store_explicit(&s->fin, 1, memory_order_seq_cst);
    if (atomic_load_explicit(&s->waiting, memory_order_seq_cst))
        soa__futex_wake(&s->fin, 1, false);
}

/* Claims and runs batches of s until none is left; true if any ran. */
static bool run_claimed(soa_pool *p, slot *s, unsigned worker)
{
    size_t first, count;
    bool ran = false;
    while (claim(p, s, MAX_BATCH, &first, &count)) {
        run_chunks(p, s, first, count, worker);
        ran = true;
    }
    return ran;
}

/* Runs fn over [0, n) on this thread, as part of the task it is in. */
static void run_inline(soa_pool *p, size_t n, soa_range_fn fn, void *ctx)
{
    if (n == 0)
        return;
    unsigned worker = (tl_pool && tl_pool == p) ? tl_worker : 0u;
    soa_pool *saved_pool = tl_pool;
    unsigned saved_worker = tl_worker;
    if (p && !tl_pool) {
        tl_pool = p; /* calls fn makes are nested: they run inline too */
        tl_worker = 0;
    }
    fn(ctx, 0, n, worker);
    tl_pool = saved_pool;
    tl_worker = saved_worker;
}

/* ---- worker side --------------------------------------------------- */

/* Runs every chunk a worker can claim from slot s; true if it ran one. */
static bool visit(soa_pool *p, slot *s, unsigned worker)
{
    bool ran = false;
    atomic_fetch_add_explicit(&s->users, 1, memory_order_seq_cst);
    if (atomic_load_explicit(&s->state, memory_order_seq_cst) == SLOT_ACTIVE)
        ran = run_claimed(p, s, worker);
    /* Release: pairs with the driver's acquire load of users in
     * find_free_slot(), before it rewrites the fields read above. */
    atomic_fetch_sub_explicit(&s->users, 1, memory_order_release);
    return ran;
}

/* One pass over the published slots; true if any chunk ran. */
static bool work_once(soa_pool *p, unsigned worker)
{
    uint64_t mask = atomic_load_explicit(&p->active, memory_order_acquire);
    bool ran = false;
    while (mask) {
        unsigned i = (unsigned)__builtin_ctzll(mask);
        mask &= mask - 1u;
        ran |= visit(p, &p->slots[i], worker);
    }
    return ran;
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    soa_pool *p = w->pool;
    for (;;) {
        /* Read epoch before looking for work: anything published later
         * changes it, so the sleep below cannot miss it. */
        uint32_t e = atomic_load_explicit(&p->epoch, memory_order_acquire);
        if (atomic_load_explicit(&p->stop, memory_order_acquire))
            return NULL;
        if (work_once(p, w->index))
            continue;
        sleep_while(p, &p->epoch, e, &p->sleepers, true);
    }
}

/* ---- driver side --------------------------------------------------- */

/* Takes slot i out of circulation: workers that look at it from now on see
 * FREE.  The seq_cst store pairs with visit()'s users increment and state
 * load.  The caller has seen fin == 1. */
static void retire(soa_pool *p, unsigned i)
{
    slot *s = &p->slots[i];
    atomic_fetch_and_explicit(&p->active, ~((uint64_t)1 << i),
                              memory_order_relaxed);
    atomic_store_explicit(&s->state, SLOT_FREE, memory_order_seq_cst);
    s->inuse = false;
}

/* Runs one chunk of any published slot on the driver; false if none is
 * left to claim.  One chunk, not a batch, so that a driver waiting for its
 * own job notices soon that it finished.  The driver owns every slot, so
 * it needs no `users`. */
static bool help_one(soa_pool *p)
{
    for (unsigned i = 0; i < SLOTS; i++) {
        slot *s = &p->slots[i];
        size_t first, count;
        if (s->inuse && claim(p, s, 1, &first, &count)) {
            run_chunks(p, s, first, count, 0);
            return true;
        }
    }
    return false;
}

/* A slot no worker can still be reading, or SLOTS if there is none.  Slots
 * whose job finished but was not waited for yet are retired on the way
 * (their soa_job sees the generation change). */
static unsigned find_free_slot(soa_pool *p)
{
    for (unsigned i = 0; i < SLOTS; i++) {
        slot *s = &p->slots[i];
        if (s->inuse && atomic_load_explicit(&s->fin, memory_order_acquire))
            retire(p, i);
        if (!s->inuse &&
            atomic_load_explicit(&s->users, memory_order_seq_cst) == 0)
            return i;
    }
    return SLOTS;
}

static void await_slot(soa_pool *p, slot *s);

/* A free slot.  While every slot is busy, the driver runs pending chunks;
 * when none is left to claim, it sleeps until a job finishes. */
static unsigned acquire_slot(soa_pool *p)
{
    for (;;) {
        unsigned i = find_free_slot(p);
        if (i < SLOTS)
            return i;
        if (help_one(p))
            continue;
        for (i = 0; i < SLOTS && !p->slots[i].inuse; i++)
            ;
        if (i < SLOTS)
            await_slot(p, &p->slots[i]);
        else
            sched_yield(); /* workers are leaving retired slots */
    }
}

/* Fills slot i with a job and wakes the workers. */
static void publish(soa_pool *p, unsigned i, size_t n, size_t chunk,
                    soa_range_fn fn, void *ctx)
{
    slot *s = &p->slots[i];
    s->fn = fn;
    s->ctx = ctx;
    s->n = n;
    s->chunk = chunk;
    s->nchunks = n / chunk + (size_t)(n % chunk != 0);
    s->gen++;
    s->inuse = true;
    atomic_store_explicit(&s->next, 0, memory_order_relaxed);
    atomic_store_explicit(&s->done, 0, memory_order_relaxed);
    atomic_store_explicit(&s->fin, 0, memory_order_relaxed);
    atomic_store_explicit(&s->waiting, 0, memory_order_relaxed);
    /* Release: pairs with visit()'s load of state. */
    atomic_store_explicit(&s->state, SLOT_ACTIVE, memory_order_release);
    /* Release: pairs with work_once()'s acquire load of active. */
    atomic_fetch_or_explicit(&p->active, (uint64_t)1 << i,
                             memory_order_release);
    wake_workers(p);
}

/* Blocks until every chunk of slot s ran (the driver's own claims are
 * over, so only workers are left to finish). */
static void await_slot(soa_pool *p, slot *s)
{
    if (atomic_load_explicit(&s->fin, memory_order_acquire))
        return;
    sleep_while(p, &s->fin, 0, &s->waiting, false);
}

/* ---- the public functions ------------------------------------------ */

static bool runs_inline(const soa_pool *p)
{
    return !p || p->nthreads == 1 || tl_pool != NULL;
}

/* The driver guard.  Only one thread may drive at a time (pool.h); a second
 * thread that calls in meanwhile gets inline execution (for/submit) or
 * waits its turn (wait/destroy) instead of corrupting the slots.  The
 * exchange acquires what the previous driver released in drive_end, so
 * driver-only fields pass safely from one driving thread to the next. */
static bool drive_try(soa_pool *p)
{
    return atomic_exchange_explicit(&p->driving, 1, memory_order_acquire) ==
           0;
}

static void drive_wait(soa_pool *p)
{
    while (!drive_try(p))
        sched_yield();
}

static void drive_end(soa_pool *p)
{
    atomic_store_explicit(&p->driving, 0, memory_order_release);
}

/* Stops and joins workers [1, started), then frees the pool. */
static void shut_down(soa_pool *p, unsigned started)
{
    atomic_store_explicit(&p->stop, 1, memory_order_release);
    wake_workers(p);
    for (unsigned i = 1; i < started; i++)
        pthread_join(p->workers[i].thread, NULL);
    free(p);
}

/* A zeroed pool for `threads` threads, its atomics initialised; NULL with
 * errno ENOMEM. */
static soa_pool *pool_alloc(unsigned threads, unsigned cpus)
{
    /* threads <= SOA_POOL_MAX_THREADS, so this cannot overflow. */
    size_t size = sizeof(soa_pool) + (size_t)threads * sizeof(worker);
    size = (size + CACHE_LINE - 1u) & ~(size_t)(CACHE_LINE - 1u);
    soa_pool *p = aligned_alloc(CACHE_LINE, size);
    if (!p) {
        errno = ENOMEM;
        return NULL;
    }
    memset(p, 0, size);
    p->nthreads = threads;
    atomic_init(&p->spin_ns,
                threads <= cpus ? SPIN_NS : SPIN_NS_OVERSUBSCRIBED);
    atomic_init(&p->epoch, 0);
    atomic_init(&p->sleepers, 0);
    atomic_init(&p->stop, 0);
    atomic_init(&p->active, 0);
    atomic_init(&p->driving, 0);
    for (unsigned i = 0; i < SLOTS; i++) {
        slot *s = &p->slots[i];
        atomic_init(&s->state, SLOT_FREE);
        atomic_init(&s->users, 0);
        atomic_init(&s->fin, 1);
        atomic_init(&s->waiting, 0);
        atomic_init(&s->next, 0);
        atomic_init(&s->done, 0);
    }
    return p;
}

/*
 * Whether to pin workers to CPUs (soa__pin_thread).  Without pinning, the
 * kernel tends to queue a worker woken after an idle gap (the first dispatch
 * of every frame) on the waking caller's CPU, where the two take turns for
 * about a millisecond: measured here, a 1 ms dispatch after 2 ms idle took
 * 1.02 ms unpinned and 0.55 ms pinned.  Worker i gets the i-th CPU the
 * process may run on; the caller (worker 0) stays free and the kernel moves
 * it off the pinned CPUs.  No pinning when the pool has more threads than
 * the process has CPUs (pinning cannot help then), or when the environment
 * says SOA_POOL_PIN=0.
 */
static bool want_pinning(void)
{
    const char *env = getenv("SOA_POOL_PIN");
    return !(env && strcmp(env, "0") == 0);
}

/* Starts workers 1..threads-1 with every signal blocked (signals belong to
 * the application's own threads); the count started, which is all of them
 * unless pthread_create failed with *err. */
static unsigned start_workers(soa_pool *p, int *err)
{
    bool pin = want_pinning();
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    unsigned started = 1;
    *err = 0;
    for (; started < p->nthreads; started++) {
        worker *w = &p->workers[started];
        w->pool = p;
        w->index = started;
        *err = pthread_create(&w->thread, NULL, worker_main, w);
        if (*err)
            break;
        if (pin)
            soa__pin_thread(w->thread, started, p->nthreads);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return started;
}

soa_pool *soa_pool_create(unsigned threads)
{
    unsigned cpus = soa__cpu_count();
    if (threads == 0)
        threads = cpus > SOA_POOL_MAX_THREADS ? SOA_POOL_MAX_THREADS
                                              : (unsigned)cpus;
    if (threads > SOA_POOL_MAX_THREADS) {
        errno = EINVAL;
        return NULL;
    }
    soa_pool *p = pool_alloc(threads, cpus);
    if (!p)
        return NULL;
    int err;
    unsigned started = start_workers(p, &err);
    if (err) {
        shut_down(p, started);
        errno = err;
        return NULL;
    }
    return p;
}

void soa_pool_destroy(soa_pool *p)
{
    if (!p)
        return;
    drive_wait(p);
    /* Defensive: jobs still pending are finished, not lost. */
    for (unsigned i = 0; i < SLOTS; i++) {
        slot *s = &p->slots[i];
        if (!s->inuse)
            continue;
        run_claimed(p, s, 0);
        await_slot(p, s);
        retire(p, i);
    }
    shut_down(p, p->nthreads);
}

void soa_pool_set_spin(soa_pool *p, unsigned long ns)
{
    if (p)
        atomic_store_explicit(&p->spin_ns,
                              ns > (unsigned long)MAX_SPIN_NS ? MAX_SPIN_NS
                                                              : (long)ns,
                              memory_order_relaxed);
}

unsigned soa_pool_size(const soa_pool *p)
{
    return p ? p->nthreads : 1u;
}

void soa_pool_for(soa_pool *p, size_t n, size_t grain, soa_range_fn fn,
                  void *ctx)
{
    if (!fn || n == 0)
        return;
    size_t chunk = chunk_size(grain);
    if (runs_inline(p) || n <= chunk || !drive_try(p)) {
        run_inline(p, n, fn, ctx);
        return;
    }
    unsigned i = acquire_slot(p);
    slot *s = &p->slots[i];
    publish(p, i, n, chunk, fn, ctx);
    run_claimed(p, s, 0);
    await_slot(p, s);
    retire(p, i);
    drive_end(p);
}

int soa_pool_submit(soa_pool *p, soa_job *job, size_t n, size_t grain,
                    soa_range_fn fn, void *ctx)
{
    if (!job || !fn) {
        errno = EINVAL;
        return -1;
    }
    job->pool = p;
    job->state = JOB_IDLE;
    job->slot = 0;
    job->gen = 0;
    if (n == 0)
        return 0;
    if (runs_inline(p) || !drive_try(p)) {
        run_inline(p, n, fn, ctx);
        return 0;
    }
    unsigned i = acquire_slot(p);
    publish(p, i, n, chunk_size(grain), fn, ctx);
    job->slot = i;
    job->gen = p->slots[i].gen;
    job->state = JOB_PENDING;
    drive_end(p);
    return 0;
}

void soa_pool_wait(soa_pool *p, soa_job *job)
{
    (void)p; /* the job knows its pool */
    if (!job || job->state != JOB_PENDING || tl_pool)
        return;
    soa_pool *jp = job->pool;
    slot *s = &jp->slots[job->slot];
    drive_wait(jp);
    job->state = JOB_IDLE;
    /* A slot that moved on to another generation finished this job and
     * was retired by find_free_slot(). */
    if (s->inuse && s->gen == job->gen) {
        run_claimed(jp, s, 0);
        /* Help other pending jobs while the workers finish this one. */
        while (!atomic_load_explicit(&s->fin, memory_order_acquire)) {
            if (!help_one(jp)) {
                await_slot(jp, s);
                break;
            }
        }
        retire(jp, job->slot);
    }
    drive_end(jp);
}
