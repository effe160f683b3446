/*
 * test_worker_threads: the fallback, where the worker is a thread of this
 * process (as when soa_shm_available() is false), forced by the flag and by
 * the environment variable.  Same API, same results, a message that says
 * so; a hung worker thread times out and cannot be respawned until it
 * finishes.  Also runs under ThreadSanitizer.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "worker_common.h"

#define N 3000u

static const soa_worker_task tasks[] = {
    {&Integrate_shm, (soa_fn)integrate, NULL},
};

static soa_worker *spawn_threads(unsigned flags, int64_t timeout_ns)
{
    soa_worker_opts o;
    memset(&o, 0, sizeof o);
    o.tasks = tasks;
    o.ntasks = 1;
    o.arena_bytes = 4u << 20;
    o.timeout_ns = timeout_ns;
    o.flags = flags;
    return soa_worker_spawn(&o);
}

static int reset(void **state)
{
    (void)state;
    unsetenv("SOA_WORKER_THREADS");
    atomic_store(&hang_at, UINT64_MAX);
    return 0;
}

static void run_frames(soa_worker_system *ws, test_world *t, uint64_t from,
                       uint64_t to)
{
    for (uint64_t k = from; k < to; k++) {
        soa_frame f = frame_at(k);
        assert_int_equal(soa_worker_system_frame(ws, t->w, &f, 1), 0);
    }
}

/* A thread runs only the tasks it is given: a worker binary alone cannot
 * become a thread. */
static void test_thread_without_tasks_refused(void **state)
{
    (void)state;
    soa_worker_opts o;
    memset(&o, 0, sizeof o);
    o.exe = "/bin/true";
    o.flags = SOA_WORKER_THREADS;
    errno = 0;
    assert_null(soa_worker_spawn(&o));
    assert_int_equal(errno, EINVAL);
}

static void test_flag_forces_threads(void **state)
{
    (void)state;
    test_world t;
    world_make(&t, N);
    soa_worker *w = spawn_threads(SOA_WORKER_THREADS, 0);
    assert_non_null(w);
    assert_false(soa_worker_is_process(w));
    assert_int_equal(soa_worker_pid(w), -1);
    assert_non_null(strstr(soa_worker_mode(w), "thread in this process"));
    assert_int_equal(soa_arena_kind(soa_worker_arena(w)), SOA_ARENA_PRIVATE);
    soa_worker_system *ws = soa_worker_system_create(w, 0);
    assert_non_null(ws);
    run_frames(ws, &t, 0, 6);
    /* Several ticks per request work the same way. */
    soa_frame f = frame_at(6);
    assert_int_equal(soa_worker_system_frame(ws, t.w, &f, 4), 0);
    assert_int_equal(soa_worker_progress(w), 10);
    assert_true(world_checksum(&t) == reference_checksum(N, 10));
    soa_worker_system_destroy(ws);
    soa_worker_destroy(w);
    world_free(&t);
}

static void test_environment_forces_threads(void **state)
{
    (void)state;
    setenv("SOA_WORKER_THREADS", "1", 1);
    soa_worker *w = spawn_threads(0, 0);
    assert_non_null(w);
    assert_false(soa_worker_is_process(w));
    assert_non_null(strstr(soa_worker_mode(w), "SOA_WORKER_THREADS=1"));
    soa_worker_destroy(w);
    unsetenv("SOA_WORKER_THREADS");
}

static void test_hung_thread(void **state)
{
    (void)state;
    test_world t;
    world_make(&t, N);
    atomic_store(&hang_at, 1);
    soa_worker *w = spawn_threads(SOA_WORKER_THREADS, INT64_C(100000000));
    soa_worker_system *ws = soa_worker_system_create(w, 0);
    run_frames(ws, &t, 0, 1);
    uint64_t committed = world_checksum(&t);
    soa_frame f = frame_at(1);
    errno = 0;
    assert_int_equal(soa_worker_system_frame(ws, t.w, &f, 1), -1);
    assert_int_equal(errno, ETIMEDOUT);
    assert_int_equal(soa_worker_status(w), SOA_WORKER_ETIMEDOUT);
    assert_true(world_checksum(&t) == committed);
    /* A thread cannot be killed: no respawn while it still runs. */
    assert_int_equal(soa_worker_respawn(w), -1);
    assert_int_equal(errno, EBUSY);
    assert_int_equal(soa_worker_status(w), SOA_WORKER_EBUSY);
    atomic_store(&hang_at, UINT64_MAX); /* it finishes its tick */
    assert_int_equal(soa_worker_respawn(w), 0);
    run_frames(ws, &t, 1, 3);
    assert_true(world_checksum(&t) == reference_checksum(N, 3));
    soa_worker_system_destroy(ws);
    soa_worker_destroy(w);
    world_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_flag_forces_threads, reset),
        cmocka_unit_test_setup(test_thread_without_tasks_refused, reset),
        cmocka_unit_test_setup(test_environment_forces_threads, reset),
        cmocka_unit_test_setup(test_hung_thread, reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
