/*
 * test_wasm_platform: what platform_emscripten.c promises, run under Node
 * in both wasm builds.  There is no shared memory between processes and
 * there are no processes, so everything that needs them fails with ENOSYS
 * (or EINVAL for options that can only mean a process), and says so; what
 * does not need them works: private arenas, the clock, and (with threads)
 * a pool of Web Workers and worker threads.
 */
#define _DEFAULT_SOURCE /* usleep, in worker_common.h */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "soa/soa.h"
#include "../unit/worker_common.h"

/* Internal (platform.h), linked from libsoa.a. */
int64_t soa__now_ns(void);
void soa__sleep_ns(int64_t ns);

static void test_no_shared_memory(void **state)
{
    (void)state;
    errno = 1234;
    assert_false(soa_shm_available());
    assert_int_equal(errno, 1234); /* the answer leaves errno alone */
    int kinds[] = {SOA_ARENA_SHARED, SOA_ARENA_NAMED};
    for (int k = 0; k < 2; k++) {
        errno = 0;
        assert_null(soa_arena_create(4096, kinds[k]));
        assert_int_equal(errno, ENOSYS);
    }
    errno = 0;
    assert_null(soa_arena_attach(-1));
    assert_int_equal(errno, EBADF);
    errno = 0;
    assert_null(soa_arena_attach(0)); /* stdin: no arena behind it here */
    assert_int_equal(errno, ENOSYS);
    errno = 0;
    assert_null(soa_region_create(1u << 20));
    assert_int_equal(errno, ENOSYS);
}

static void test_private_arena_works(void **state)
{
    (void)state;
    soa_arena *a = soa_arena_create(100000, SOA_ARENA_PRIVATE);
    assert_non_null(a);
    assert_int_equal(soa_arena_fd(a), -1);
    assert_true(soa_arena_capacity(a) >= 100000);
    unsigned char *p = soa_arena_alloc(a, 1000, 64);
    assert_non_null(p);
    assert_int_equal((uintptr_t)p % 64, 0);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(p[i], 0); /* zeroed */
    memset(p, 7, 1000);
    assert_ptr_equal(soa_arena_ptr(a, soa_arena_offset(a, p)), p);
    soa_arena_destroy(a);
}

/* 64-bit nanoseconds (long is 32 bits here), monotonic, and a sleep that
 * lasts about as long as asked. */
static void test_clock_and_sleep(void **state)
{
    (void)state;
    assert_int_equal(sizeof(long), 4);
    int64_t t0 = soa__now_ns();
    soa__sleep_ns(20000000); /* 20 ms */
    int64_t t1 = soa__now_ns();
    assert_true(t1 - t0 >= 19000000);
    assert_true(t1 - t0 < 2000000000);
    for (int i = 0; i < 1000; i++) {
        int64_t t = soa__now_ns();
        assert_true(t >= t1);
        t1 = t;
    }
}

/* A worker with its own binary can only be a process: refused. */
static void test_worker_process_refused(void **state)
{
    (void)state;
    soa_worker_opts o;
    memset(&o, 0, sizeof o);
    o.exe = "/bin/true";
    errno = 0;
    assert_null(soa_worker_spawn(&o));
    assert_int_equal(errno, EINVAL);
}

static const soa_worker_task tasks[] = {
    {&Integrate_shm, (soa_fn)integrate, NULL},
};

/* With tasks, the worker falls back to a thread (pthreads build) and says
 * why; without threads it cannot start and says that. */
static void test_worker_falls_back_to_a_thread(void **state)
{
    (void)state;
    soa_worker_opts o;
    char error[256] = "";
    memset(&o, 0, sizeof o);
    o.tasks = tasks;
    o.ntasks = 1;
    o.arena_bytes = 1u << 20;
    o.error = error;
    o.error_size = sizeof error;
    errno = 0;
    soa_worker *w = soa_worker_spawn(&o);
#ifdef __EMSCRIPTEN_PTHREADS__
    assert_non_null(w);
    assert_int_equal(soa_worker_pid(w), -1);
    assert_non_null(strstr(soa_worker_mode(w),
                           "shared memory is unavailable here"));
    test_world t;
    world_make(&t, 3000);
    soa_worker_system *ws = soa_worker_system_create(w, 0);
    assert_non_null(ws);
    for (uint64_t k = 0; k < 5; k++) {
        soa_frame f = frame_at(k);
        assert_int_equal(soa_worker_system_frame(ws, t.w, &f, 1), 0);
    }
    assert_int_equal(world_checksum(&t), reference_checksum(3000, 5));
    soa_worker_system_destroy(ws);
    world_free(&t);
    soa_worker_destroy(w);
#else
    (void)reference_checksum; /* worker_common.h's, for the thread half */
    (void)frame_at;
    assert_null(w);
    assert_int_not_equal(errno, 0);
    assert_non_null(strstr(error, "pthread_create"));
#endif
}

/* The pool: one thread per core with threads; one thread, and no more to
 * be had, without. */
static void test_pool_threads(void **state)
{
    (void)state;
    soa_pool *p = soa_pool_create(0);
    assert_non_null(p);
#ifdef __EMSCRIPTEN_PTHREADS__
    assert_true(soa_pool_size(p) >= 1);
    soa_pool_destroy(p);
    p = soa_pool_create(3);
    assert_non_null(p);
    assert_int_equal(soa_pool_size(p), 3);
#else
    assert_int_equal(soa_pool_size(p), 1);
    errno = 0;
    assert_null(soa_pool_create(2));
    assert_int_not_equal(errno, 0);
#endif
    soa_pool_destroy(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_shared_memory),
        cmocka_unit_test(test_private_arena_works),
        cmocka_unit_test(test_clock_and_sleep),
        cmocka_unit_test(test_worker_process_refused),
        cmocka_unit_test(test_worker_falls_back_to_a_thread),
        cmocka_unit_test(test_pool_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
