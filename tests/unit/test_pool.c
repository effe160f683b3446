/*
 * test_pool.c: the worker pool.  Runs under ASan+UBSan and ThreadSanitizer.
 *
 * Chunks write plain (non-atomic) memory that the caller reads after
 * soa_pool_for/soa_pool_wait returns, so TSan checks the pool's
 * happens-before edges, and a chunk run twice at once is a reported race.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "soa/pool.h"

/* ---- helpers -------------------------------------------------------- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Spins until *v >= want or 10 s passed; false on timeout (so a broken pool
 * fails the test instead of hanging it). */
static bool await_count(_Atomic unsigned *v, unsigned want)
{
    double end = now_s() + 10.0;
    while (atomic_load(v) < want)
        if (now_s() > end)
            return false;
    return true;
}

/* Records how [0, n) was covered. */
typedef struct cover {
    unsigned char *hits;     /* plain writes: TSan checks the joins */
    size_t n, chunk;
    unsigned threads;
    _Atomic unsigned bad;    /* ranges that broke a rule */
    _Atomic unsigned calls;
} cover;

static void cover_fn(void *ctx, size_t b, size_t e, unsigned worker)
{
    cover *c = ctx;
    atomic_fetch_add(&c->calls, 1);
    /* Starts on a chunk boundary; ends on the next one or at n. */
    bool ok = b < e && e <= c->n && worker < c->threads &&
              b % c->chunk == 0 && (e == c->n || e - b == c->chunk);
    if (!ok)
        atomic_fetch_add(&c->bad, 1);
    for (size_t i = b; i < e && i < c->n; i++)
        c->hits[i]++;
}

static void cover_init(cover *c, size_t n, size_t chunk, unsigned threads)
{
    c->hits = calloc(n ? n : 1, 1);
    assert_non_null(c->hits);
    c->n = n;
    c->chunk = chunk;
    c->threads = threads;
    atomic_init(&c->bad, 0);
    atomic_init(&c->calls, 0);
}

/* Every index exactly once, no bad range; frees the record. */
static void cover_check(cover *c)
{
    assert_int_equal(atomic_load(&c->bad), 0);
    for (size_t i = 0; i < c->n; i++)
        if (c->hits[i] != 1)
            fail_msg("index %zu of %zu ran %u times", i, c->n, c->hits[i]);
    if (c->n == 0)
        assert_int_equal(atomic_load(&c->calls), 0);
    free(c->hits);
}

static size_t rounded_chunk(size_t grain)
{
    return grain == 0 ? SOA_POOL_GRAIN : (grain + 63u) / 64u * 64u;
}

/* ---- soa_pool_for ---------------------------------------------------- */

static void test_for_covers_every_index_once(void **state)
{
    (void)state;
    static const size_t ns[] = {0, 1, 63, 64, 65, 127, 511, 512, 513,
                                1000, 4096, 4097, 33333, 100000};
    static const size_t grains[] = {0, 1, 63, 64, 65, 100, 512, 1000};
    for (unsigned t = 1; t <= 8; t++) {
        soa_pool *p = soa_pool_create(t);
        assert_non_null(p);
        assert_int_equal(soa_pool_size(p), t);
        for (size_t a = 0; a < sizeof ns / sizeof ns[0]; a++)
            for (size_t g = 0; g < sizeof grains / sizeof grains[0]; g++) {
                cover c;
                cover_init(&c, ns[a], rounded_chunk(grains[g]), t);
                soa_pool_for(p, ns[a], grains[g], cover_fn, &c);
                cover_check(&c);
            }
        soa_pool_destroy(p);
    }
}

static void test_for_huge_grain_runs_inline(void **state)
{
    (void)state;
    soa_pool *p = soa_pool_create(3);
    assert_non_null(p);
    cover c;
    cover_init(&c, 5000, 5000, 1); /* one range, on the caller (worker 0) */
    soa_pool_for(p, 5000, SIZE_MAX, cover_fn, &c);
    assert_int_equal(atomic_load(&c.calls), 1);
    cover_check(&c);
    soa_pool_destroy(p);
}

/* Ranges near SIZE_MAX: chunk arithmetic must not wrap. */
typedef struct span {
    _Atomic size_t rows, calls, max_end, bad;
} span;

static void span_fn(void *ctx, size_t b, size_t e, unsigned worker)
{
    span *s = ctx;
    (void)worker;
    if (b >= e || b % 64u)
        atomic_fetch_add(&s->bad, 1);
    atomic_fetch_add(&s->rows, e - b);
    atomic_fetch_add(&s->calls, 1);
    size_t m = atomic_load(&s->max_end);
    while (e > m && !atomic_compare_exchange_weak(&s->max_end, &m, e))
        ;
}

static void test_for_near_size_max(void **state)
{
    (void)state;
    soa_pool *p = soa_pool_create(3);
    assert_non_null(p);
    static const size_t grains[] = {SIZE_MAX / 4u, SIZE_MAX / 7u,
                                    SIZE_MAX - 100u};
    for (int g = 0; g < 3; g++) {
        span s = {0};
        soa_pool_for(p, SIZE_MAX, grains[g], span_fn, &s);
        assert_int_equal(atomic_load(&s.bad), 0);
        assert_true(atomic_load(&s.rows) == SIZE_MAX);
        assert_true(atomic_load(&s.max_end) == SIZE_MAX);
        assert_true(atomic_load(&s.calls) >= (g == 2 ? 2u : 4u));
    }
    soa_pool_destroy(p);
}

static void test_for_null_pool_runs_inline(void **state)
{
    (void)state;
    assert_int_equal(soa_pool_size(NULL), 1);
    cover c;
    cover_init(&c, 10000, 10000, 1);
    soa_pool_for(NULL, 10000, 64, cover_fn, &c);
    assert_int_equal(atomic_load(&c.calls), 1);
    cover_check(&c);
    soa_pool_for(NULL, 10, 0, NULL, NULL); /* NULL fn: nothing, no crash */
}

/* Two chunks that each wait for the other to start: only finishes when the
 * caller and a worker run at the same time. */
typedef struct rendezvous {
    _Atomic unsigned arrived;
    _Atomic unsigned seen[2];
    _Atomic unsigned timeouts;
} rendezvous;

static void rendezvous_fn(void *ctx, size_t b, size_t e, unsigned worker)
{
    rendezvous *r = ctx;
    (void)b;
    (void)e;
    if (worker < 2)
        atomic_fetch_add(&r->seen[worker], 1);
    atomic_fetch_add(&r->arrived, 1);
    if (!await_count(&r->arrived, 2))
        atomic_fetch_add(&r->timeouts, 1);
}

static void test_for_caller_and_worker_run_together(void **state)
{
    (void)state;
    soa_pool *p = soa_pool_create(2);
    assert_non_null(p);
    for (int round = 0; round < 20; round++) {
        if (round % 4 == 3)
            usleep(5000); /* the worker sleeps: the dispatch must wake it */
        rendezvous r = {0};
        soa_pool_for(p, 128, 64, rendezvous_fn, &r);
        assert_int_equal(atomic_load(&r.timeouts), 0);
        assert_int_equal(atomic_load(&r.arrived), 2);
        /* one chunk each: the caller is worker 0, the thread worker 1 */
        assert_int_equal(atomic_load(&r.seen[0]), 1);
        assert_int_equal(atomic_load(&r.seen[1]), 1);
    }
    soa_pool_destroy(p);
}

static void sum_fn(void *ctx, size_t b, size_t e, unsigned worker)
{
    (void)worker;
    _Atomic size_t *sum = ctx;
    size_t s = 0;
    for (size_t i = b; i < e; i++)
        s += i;
    atomic_fetch_add_explicit(sum, s, memory_order_relaxed);
}

static void test_for_many_small_dispatches(void **state)
{
    (void)state;
    soa_pool *p = soa_pool_create(4);
    assert_non_null(p);
    for (int i = 0; i < 20000; i++) {
        _Atomic size_t sum = 0;
        soa_pool_for(p, 256, 64, sum_fn, &sum);
        if (atomic_load(&sum) != 255u * 256u / 2u)
            fail_msg("dispatch %d summed %zu", i, (size_t)atomic_load(&sum));
    }
    soa_pool_destroy(p);
}

/* Dispatches spaced out so that the workers fall asleep in between: the
 * wake-up path (futex) must not lose a dispatch. */
static void test_for_after_workers_sleep(void **state)
{
    (void)state;
    soa_pool *p = soa_pool_create(3);
    assert_non_null(p);
    for (int i = 0; i < 20; i++) {
        usleep(i % 2 ? 300 : 3000);
        cover c;
        cover_init(&c, 3000, 64, 3);
        soa_pool_for(p, 3000, 64, cover_fn, &c);
        cover_check(&c);
    }
    soa_pool_destroy(p);
}

/* With no spinning, every dispatch goes through the futex sleep/wake path;
 * with a long spin, none does.  Both stay correct. */
static void test_spin_settings(void **state)
{
    (void)state;
    soa_pool_set_spin(NULL, 0);
    soa_pool *p = soa_pool_create(3);
    assert_non_null(p);
    static const unsigned long spins[] = {0, 1000, 20000000, ~0ul};
    for (int k = 0; k < 4; k++) {
        soa_pool_set_spin(p, spins[k]);
        for (int i = 0; i < 60; i++) {
            rendezvous r = {0};
            soa_pool_for(p, 128, 64, rendezvous_fn, &r);
            assert_int_equal(atomic_load(&r.timeouts), 0);
            cover c;
            cover_init(&c, 2000, 64, 3);
            soa_pool_for(p, 2000, 64, cover_fn, &c);
            cover_check(&c);
        }
    }
    soa_pool_set_spin(p, 0); /* so destroy's wake-up path is the futex */
    usleep(1000);
    soa_pool_destroy(p);
}

/* ---- lifetime --------------------------------------------------------- */

static void test_destroy_idle_and_loop(void **state)
{
    (void)state;
    soa_pool_destroy(NULL);
    soa_pool *p = soa_pool_create(4);
    assert_non_null(p);
    soa_pool_destroy(p); /* never used */
    p = soa_pool_create(4);
    assert_non_null(p);
    _Atomic size_t sum = 0;
    soa_pool_for(p, 10000, 0, sum_fn, &sum);
    usleep(20000); /* workers spin out and sleep on the futex */
    soa_pool_destroy(p);
    /* Leaks and unjoined threads are reported by LSan / TSan at exit. */
    for (unsigned i = 0; i < 200; i++) {
        p = soa_pool_create(1u + i % 5u);
        assert_non_null(p);
        if (i % 2) {
            sum = 0;
            soa_pool_for(p, 1000, 64, sum_fn, &sum);
            assert_int_equal(atomic_load(&sum), 999u * 1000u / 2u);
        }
        soa_pool_destroy(p);
    }
}

static void test_create_limits(void **state)
{
    (void)state;
    errno = 0;
    assert_null(soa_pool_create(SOA_POOL_MAX_THREADS + 1u));
    assert_int_equal(errno, EINVAL);
    soa_pool *p = soa_pool_create(0);
    assert_non_null(p);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    assert_int_equal(soa_pool_size(p), cpus > 0 ? (unsigned)cpus : 1u);
    soa_pool_destroy(p);
}

/* ---- submit / wait ----------------------------------------------------- */

static void test_submit_wait_several_pending(void **state)
{
    (void)state;
    for (unsigned t = 1; t <= 4; t++) {
        soa_pool *p = soa_pool_create(t);
        assert_non_null(p);
        enum { JOBS = 8 };
        soa_job jobs[JOBS];
        cover c[JOBS];
        for (unsigned j = 0; j < JOBS; j++) {
            size_t n = 100u + j * 3001u, grain = j * 100u;
            cover_init(&c[j], n, rounded_chunk(grain), t);
            assert_int_equal(
                soa_pool_submit(p, &jobs[j], n, grain, cover_fn, &c[j]), 0);
        }
        for (unsigned j = JOBS; j-- > 0;) { /* in reverse, and twice */
            soa_pool_wait(p, &jobs[j]);
            soa_pool_wait(p, &jobs[j]);
            cover_check(&c[j]);
        }
        soa_pool_destroy(p);
    }
}

/* More jobs than the pool has slots, waited for long after their slots were
 * reused. */
static void test_submit_more_than_slots(void **state)
{
    (void)state;
    soa_pool *p = soa_pool_create(3);
    assert_non_null(p);
    enum { JOBS = 200 };
    soa_job *jobs = calloc(JOBS, sizeof *jobs);
    cover *c = calloc(JOBS, sizeof *c);
    assert_non_null(jobs);
    assert_non_null(c);
    for (unsigned j = 0; j < JOBS; j++) {
        cover_init(&c[j], 64u * (j % 7u + 1u), 64, 3);
        assert_int_equal(soa_pool_submit(p, &jobs[j], c[j].n, 64, cover_fn,
                                         &c[j]), 0);
    }
    for (unsigned j = 0; j < JOBS; j++) {
        soa_pool_wait(p, &jobs[j]);
        cover_check(&c[j]);
    }
    free(jobs);
    free(c);
    soa_pool_destroy(p);
}

/* A one-chunk job runs on a worker before anyone waits for it. */
static void flag_fn(void *ctx, size_t b, size_t e, unsigned worker)
{
    (void)b;
    (void)e;
    _Atomic unsigned *flag = ctx;
    atomic_store(flag, worker == 0 ? 100u : 1u);
}

static void test_submit_runs_without_wait(void **state)
{
    (void)state;
    soa_pool *p = soa_pool_create(2);
    assert_non_null(p);
    for (int round = 0; round < 6; round++) {
        if (round % 2)
            usleep(5000); /* the worker sleeps: submit must wake it */
        _Atomic unsigned flag = 0;
        soa_job job;
        assert_int_equal(soa_pool_submit(p, &job, 1, 1, flag_fn, &flag), 0);
        assert_true(await_count(&flag, 1));
        assert_int_equal(atomic_load(&flag), 1); /* a worker, not the caller */
        soa_pool_wait(p, &job);
    }
    soa_pool_destroy(p);
}

/* Two single-chunk jobs that only finish if they run at the same time. */
static void test_submitted_jobs_overlap(void **state)
{
    (void)state;
    soa_pool *p = soa_pool_create(3);
    assert_non_null(p);
    rendezvous r = {0};
    soa_job a, b;
    assert_int_equal(soa_pool_submit(p, &a, 1, 0, rendezvous_fn, &r), 0);
    assert_int_equal(soa_pool_submit(p, &b, 1, 0, rendezvous_fn, &r), 0);
    soa_pool_wait(p, &a);
    soa_pool_wait(p, &b);
    assert_int_equal(atomic_load(&r.timeouts), 0);
    assert_int_equal(atomic_load(&r.arrived), 2);
    soa_pool_destroy(p);
}

static void test_submit_errors_and_inline(void **state)
{
    (void)state;
    soa_job job;
    _Atomic size_t sum = 0;
    errno = 0;
    assert_int_equal(soa_pool_submit(NULL, NULL, 10, 0, sum_fn, &sum), -1);
    assert_int_equal(errno, EINVAL);
    errno = 0;
    assert_int_equal(soa_pool_submit(NULL, &job, 10, 0, NULL, &sum), -1);
    assert_int_equal(errno, EINVAL);
    /* NULL pool: runs at once; wait returns. */
    assert_int_equal(soa_pool_submit(NULL, &job, 10, 0, sum_fn, &sum), 0);
    assert_int_equal(atomic_load(&sum), 45);
    soa_pool_wait(NULL, &job);
    /* A zeroed, never submitted job: wait returns at once. */
    soa_job idle;
    memset(&idle, 0, sizeof idle);
    soa_pool *p = soa_pool_create(2);
    assert_non_null(p);
    soa_pool_wait(p, &idle);
    soa_pool_wait(p, NULL);
    /* n == 0: nothing runs. */
    cover c;
    cover_init(&c, 0, 64, 2);
    assert_int_equal(soa_pool_submit(p, &job, 0, 0, cover_fn, &c), 0);
    soa_pool_wait(p, &job);
    cover_check(&c);
    soa_pool_destroy(p);
}

/* A random mix of for, submit and wait (in any order, up to 100 jobs in
 * flight, more than the pool's slots): every job covers its rows once. */
static void test_random_mix(void **state)
{
    (void)state;
    enum { MAXJOBS = 100 };
    uint64_t r = 12345;
    soa_pool *p = soa_pool_create(3);
    assert_non_null(p);
    soa_job *jobs = calloc(MAXJOBS, sizeof *jobs);
    cover *c = calloc(MAXJOBS, sizeof *c);
    bool *live = calloc(MAXJOBS, sizeof *live);
    assert_non_null(jobs);
    assert_non_null(c);
    assert_non_null(live);
    for (int op = 0; op < 3000; op++) {
        r = r * 6364136223846793005u + 1442695040888963407u;
        unsigned j = (unsigned)(r >> 33) % MAXJOBS;
        size_t n = (size_t)(r >> 20) % 3000u, grain = (size_t)(r >> 45) % 300u;
        switch ((r >> 60) % 3) {
        case 0:
            if (live[j]) {
                soa_pool_wait(p, &jobs[j]);
                cover_check(&c[j]);
            }
            cover_init(&c[j], n, rounded_chunk(grain), 3);
            assert_int_equal(
                soa_pool_submit(p, &jobs[j], n, grain, cover_fn, &c[j]), 0);
            live[j] = true;
            break;
        case 1:
            if (live[j]) {
                soa_pool_wait(p, &jobs[j]);
                cover_check(&c[j]);
                live[j] = false;
            }
            break;
        default: {
            cover f;
            cover_init(&f, n, rounded_chunk(grain), 3);
            soa_pool_for(p, n, grain, cover_fn, &f);
            cover_check(&f);
        }
        }
    }
    for (unsigned j = 0; j < MAXJOBS; j++)
        if (live[j]) {
            soa_pool_wait(p, &jobs[j]);
            cover_check(&c[j]);
        }
    free(jobs);
    free(c);
    free(live);
    soa_pool_destroy(p);
}

/* Two application threads call into one pool at once (breaking the
 * one-driver rule): the guard turns that into inline runs and waits, so
 * every job still covers its rows once and nothing races. */
typedef struct driver_arg {
    soa_pool *pool;
    int use_jobs;
    _Atomic unsigned *failures;
} driver_arg;

static void *driver_thread(void *arg)
{
    driver_arg *d = arg;
    for (int i = 0; i < 300; i++) {
        size_t n = 1000u + (size_t)i * 7u;
        cover c;
        c.hits = calloc(n, 1);
        if (!c.hits)
            return NULL;
        c.n = n;
        c.chunk = 64;
        c.threads = soa_pool_size(d->pool);
        atomic_init(&c.bad, 0);
        atomic_init(&c.calls, 0);
        if (d->use_jobs && i % 2) {
            soa_job job;
            if (soa_pool_submit(d->pool, &job, n, 64, cover_fn, &c) != 0)
                atomic_fetch_add(d->failures, 1);
            soa_pool_wait(d->pool, &job);
        } else {
            soa_pool_for(d->pool, n, 64, cover_fn, &c);
        }
        /* inline runs are one range [0, n): allowed, not a bad chunk */
        unsigned bad = atomic_load(&c.bad);
        if (bad && !(atomic_load(&c.calls) == 1 && c.hits[0] == 1))
            atomic_fetch_add(d->failures, 1);
        for (size_t k = 0; k < n; k++)
            if (c.hits[k] != 1) {
                atomic_fetch_add(d->failures, 1);
                break;
            }
        free(c.hits);
    }
    return NULL;
}

static void test_two_threads_drive_one_pool(void **state)
{
    (void)state;
    soa_pool *p = soa_pool_create(3);
    assert_non_null(p);
    _Atomic unsigned failures = 0;
    driver_arg a = {p, 0, &failures}, b = {p, 1, &failures};
    pthread_t t1, t2;
    assert_int_equal(pthread_create(&t1, NULL, driver_thread, &a), 0);
    assert_int_equal(pthread_create(&t2, NULL, driver_thread, &b), 0);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    assert_int_equal(atomic_load(&failures), 0);
    soa_pool_destroy(p);
}

/* ---- nested use --------------------------------------------------------- */

typedef struct nest {
    soa_pool *pool;
    cover inner[64];          /* one per outer chunk */
    _Atomic unsigned bad;
    bool use_submit;
} nest;

typedef struct inner_ctx {
    cover *c;
    unsigned outer_worker;
    _Atomic unsigned *bad;
} inner_ctx;

static void inner_fn(void *ctx, size_t b, size_t e, unsigned worker)
{
    inner_ctx *ic = ctx;
    if (worker != ic->outer_worker || b != 0 || e != ic->c->n)
        atomic_fetch_add(ic->bad, 1); /* not inline on the same thread */
    for (size_t i = b; i < e; i++)
        ic->c->hits[i]++;
}

static void outer_fn(void *ctx, size_t b, size_t e, unsigned worker)
{
    nest *ns = ctx;
    (void)e;
    inner_ctx ic = {&ns->inner[b / 64u], worker, &ns->bad};
    if (ns->use_submit) {
        soa_job job;
        if (soa_pool_submit(ns->pool, &job, ic.c->n, 64, inner_fn, &ic) != 0)
            atomic_fetch_add(&ns->bad, 1);
        soa_pool_wait(ns->pool, &job);
    } else {
        soa_pool_for(ns->pool, ic.c->n, 64, inner_fn, &ic);
    }
}

static void test_nested_calls_run_inline(void **state)
{
    (void)state;
    for (int mode = 0; mode < 4; mode++) {
        soa_pool *p = soa_pool_create(4);
        assert_non_null(p);
        nest *ns = calloc(1, sizeof *ns);
        assert_non_null(ns);
        ns->pool = p;
        ns->use_submit = mode & 1;
        for (unsigned i = 0; i < 64; i++)
            cover_init(&ns->inner[i], 1000u + i, 1000u + i, 4);
        if (mode & 2) {
            soa_job job;
            assert_int_equal(
                soa_pool_submit(p, &job, 64u * 64u, 64, outer_fn, ns), 0);
            soa_pool_wait(p, &job);
        } else {
            soa_pool_for(p, 64u * 64u, 64, outer_fn, ns);
        }
        assert_int_equal(atomic_load(&ns->bad), 0);
        for (unsigned i = 0; i < 64; i++)
            cover_check(&ns->inner[i]);
        free(ns);
        soa_pool_destroy(p);
    }
}

/* destroy with a job still pending runs it rather than losing it. */
static void test_destroy_finishes_pending(void **state)
{
    (void)state;
    soa_pool *p = soa_pool_create(2);
    assert_non_null(p);
    cover c;
    cover_init(&c, 50000, 64, 2);
    soa_job job;
    assert_int_equal(soa_pool_submit(p, &job, 50000, 64, cover_fn, &c), 0);
    soa_pool_destroy(p);
    cover_check(&c);
}

/* ---- pinning ---- */

#if defined(__linux__) /* pinning: Linux's CPU affinity */
/* Worker 1 records how many CPUs it may run on.  The caller's chunk waits
 * until worker 1 arrived, so worker 1 provably runs the other chunk. */
static _Atomic int pin_arrived;
static _Atomic int pin_worker_cpus;

static void pin_probe(void *ctx, size_t b, size_t e, unsigned worker)
{
    (void)ctx;
    (void)b;
    (void)e;
    if (worker != 0) {
        cpu_set_t set;
        int n = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : -1;
        atomic_store(&pin_worker_cpus, n);
    }
    atomic_fetch_add(&pin_arrived, 1);
    while (atomic_load(&pin_arrived) < 2)
        sched_yield();
}

static int worker_cpu_count(unsigned threads)
{
    soa_pool *p = soa_pool_create(threads);
    assert_non_null(p);
    atomic_store(&pin_arrived, 0);
    atomic_store(&pin_worker_cpus, 0);
    /* Two chunks: each of the two threads that meet takes one. */
    soa_pool_for(p, 128, 64, pin_probe, NULL);
    soa_pool_destroy(p);
    return atomic_load(&pin_worker_cpus);
}

/* A worker woken after an idle gap must not share the caller's CPU: with
 * no more threads than CPUs each worker is pinned to one CPU, unless
 * SOA_POOL_PIN=0; an oversubscribed pool is left to the kernel. */
static void test_workers_pinned_when_cpus_suffice(void **state)
{
    (void)state;
    cpu_set_t allowed;
    assert_int_equal(sched_getaffinity(0, sizeof allowed, &allowed), 0);
    int ncpu = CPU_COUNT(&allowed);
    if (ncpu < 2)
        skip();
    assert_int_equal(worker_cpu_count(2), 1);
    setenv("SOA_POOL_PIN", "0", 1);
    assert_int_equal(worker_cpu_count(2), ncpu);
    unsetenv("SOA_POOL_PIN");
    assert_int_equal(worker_cpu_count((unsigned)ncpu + 1u), ncpu);
}
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_for_covers_every_index_once),
        cmocka_unit_test(test_for_huge_grain_runs_inline),
        cmocka_unit_test(test_for_near_size_max),
        cmocka_unit_test(test_for_null_pool_runs_inline),
        cmocka_unit_test(test_for_caller_and_worker_run_together),
        cmocka_unit_test(test_for_many_small_dispatches),
        cmocka_unit_test(test_for_after_workers_sleep),
        cmocka_unit_test(test_spin_settings),
        cmocka_unit_test(test_destroy_idle_and_loop),
        cmocka_unit_test(test_create_limits),
        cmocka_unit_test(test_submit_wait_several_pending),
        cmocka_unit_test(test_submit_more_than_slots),
        cmocka_unit_test(test_submit_runs_without_wait),
        cmocka_unit_test(test_submitted_jobs_overlap),
        cmocka_unit_test(test_submit_errors_and_inline),
        cmocka_unit_test(test_random_mix),
        cmocka_unit_test(test_two_threads_drive_one_pool),
        cmocka_unit_test(test_nested_calls_run_inline),
        cmocka_unit_test(test_destroy_finishes_pending),
#if defined(__linux__)
        cmocka_unit_test(test_workers_pinned_when_cpus_suffice),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
