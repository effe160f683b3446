/*
 * test_worker: physics' Integrate in a forked worker process, every test
 * twice: the world on the heap (the worker runs a snapshot) and the world
 * in a shared region the worker maps read-only (it reads the world in
 * place and writes a copy of the written columns only).
 *
 *   - frames through the worker give the same world as frames in-process;
 *   - one request of 8 ticks equals 8 frames, with progress published;
 *   - kill -9 in the middle of a tick: noticed well within the timeout, the
 *     frame is not committed (the world's checksum is the last committed
 *     frame's), and after a respawn the run ends where an undisturbed one
 *     does;
 *   - a worker hung in a tick: the timeout fires, the worker is killed,
 *     nothing is committed, respawn recovers;
 *   - a request the worker cannot attach to is refused with a message;
 *   - the system registered with the scheduler as a local system;
 *   - fork+exec of the example's worker binary: it runs frames, and one
 *     whose task table differs from ours is refused at spawn.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "worker_common.h"

#define N 5000u

static const soa_worker_task tasks[] = {
    {&Integrate_shm, (soa_fn)integrate, NULL},
};

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The region of the world the next worker shares (in-place runs). */
static soa_region *share;

static soa_worker *spawn(int64_t timeout_ns)
{
    soa_worker_opts o;
    memset(&o, 0, sizeof o);
    o.tasks = tasks;
    o.ntasks = 1;
    o.arena_bytes = 8u << 20;
    o.timeout_ns = timeout_ns;
    o.share = share;
    soa_worker *w = soa_worker_spawn(&o);
    assert_non_null(w);
    assert_true(soa_worker_is_process(w));
    assert_true(soa_worker_pid(w) > 0);
    assert_int_equal(soa_worker_status(w), SOA_WORKER_OK);
    return w;
}

static int skip_without_shm(void **state)
{
    (void)state;
    unsetenv("SOA_WORKER_THREADS");
    hang_at = UINT64_MAX;
    world_in_region = 0;
    share = NULL;
    return soa_shm_available() ? 0 : -1;
}

/* Worlds in a region the worker shares: the in-place way. */
static int in_place(void **state)
{
    int rc = skip_without_shm(state);
    world_in_region = 1;
    return rc;
}

static void make(test_world *t, size_t n)
{
    world_make(t, n);
    share = t->region;
}

static void test_frames_match_in_process(void **state)
{
    (void)state;
    test_world t;
    make(&t, N);
    soa_worker *w = spawn(0);
    soa_worker_system *ws = soa_worker_system_create(w, 0);
    assert_non_null(ws);
    for (uint64_t k = 0; k < 10; k++) {
        soa_frame f = frame_at(k);
        assert_int_equal(soa_worker_system_frame(ws, t.w, &f, 1), 0);
        assert_int_equal(soa_worker_system_committed(ws), N - N / 7);
    }
    assert_int_equal(soa_worker_progress(w), 10);
    assert_true(world_checksum(&t) == reference_checksum(N, 10));
    assert_true(world_checksum(&t) != reference_checksum(N, 9));
    soa_worker_system_destroy(ws);
    soa_worker_destroy(w);
    world_free(&t);
}

static void test_many_ticks_per_request(void **state)
{
    (void)state;
    test_world t;
    make(&t, N);
    soa_worker *w = spawn(0);
    soa_worker_system *ws = soa_worker_system_create(w, 0);
    soa_frame f = frame_at(0);
    assert_int_equal(soa_worker_system_begin(ws, t.w, &f, 8), 0);
    /* Meanwhile the main process is free; progress only goes up. */
    uint64_t last = 0;
    while (soa_worker_progress(w) < 8) {
        uint64_t p = soa_worker_progress(w);
        assert_true(p >= last);
        last = p;
    }
    assert_int_equal(soa_worker_system_end(ws, t.w), 0);
    assert_true(world_checksum(&t) == reference_checksum(N, 8));
    soa_worker_system_destroy(ws);
    soa_worker_destroy(w);
    world_free(&t);
}

static void test_kill_9_mid_tick_then_respawn(void **state)
{
    (void)state;
    test_world t;
    make(&t, N);
    hang_at = 5; /* tick 5 writes its rows, then stays in the kernel */
    soa_worker *w = spawn(INT64_C(5000000000));
    soa_worker_system *ws = soa_worker_system_create(w, 0);
    for (uint64_t k = 0; k < 5; k++) {
        soa_frame f = frame_at(k);
        assert_int_equal(soa_worker_system_frame(ws, t.w, &f, 1), 0);
    }
    uint64_t committed = world_checksum(&t);
    assert_true(committed == reference_checksum(N, 5));

    soa_frame f5 = frame_at(5);
    assert_int_equal(soa_worker_system_begin(ws, t.w, &f5, 1), 0);
    while (soa_worker_progress(w) < 5)
        ;
    usleep(20000); /* it is inside tick 5 now, its rows written */
    long pid = soa_worker_pid(w);
    assert_int_equal(kill((pid_t)pid, SIGKILL), 0);
    int64_t t0 = mono_ns();
    errno = 0;
    assert_int_equal(soa_worker_system_end(ws, t.w), -1);
    int64_t noticed = mono_ns() - t0;
    assert_int_equal(errno, ECHILD);
    assert_true(noticed < INT64_C(1000000000)); /* far below the 5 s timeout */
    assert_int_equal(soa_worker_status(w), SOA_WORKER_EDIED);
    assert_non_null(strstr(soa_worker_error(w), "signal 9"));
    assert_int_equal(soa_worker_pid(w), -1);
    /* Nothing of the half-done tick reached the world. */
    assert_true(world_checksum(&t) == committed);
    /* A failed worker refuses work until it is respawned. */
    assert_int_equal(soa_worker_system_frame(ws, t.w, &f5, 1), -1);
    assert_int_equal(errno, ECHILD);
    assert_true(world_checksum(&t) == committed);

    hang_at = UINT64_MAX;
    assert_int_equal(soa_worker_respawn(w), 0);
    assert_int_equal(soa_worker_status(w), SOA_WORKER_OK);
    assert_true(soa_worker_pid(w) > 0 && soa_worker_pid(w) != pid);
    for (uint64_t k = 5; k < 8; k++) {
        soa_frame f = frame_at(k);
        assert_int_equal(soa_worker_system_frame(ws, t.w, &f, 1), 0);
    }
    assert_true(world_checksum(&t) == reference_checksum(N, 8));
    soa_worker_system_destroy(ws);
    soa_worker_destroy(w);
    world_free(&t);
}

static void test_hung_worker_times_out(void **state)
{
    (void)state;
    test_world t;
    make(&t, N);
    hang_at = 2;
    soa_worker *w = spawn(INT64_C(200000000)); /* 200 ms */
    soa_worker_system *ws = soa_worker_system_create(w, 0);
    for (uint64_t k = 0; k < 2; k++) {
        soa_frame f = frame_at(k);
        assert_int_equal(soa_worker_system_frame(ws, t.w, &f, 1), 0);
    }
    uint64_t committed = world_checksum(&t);
    long pid = soa_worker_pid(w);
    soa_frame f2 = frame_at(2);
    int64_t t0 = mono_ns();
    errno = 0;
    assert_int_equal(soa_worker_system_frame(ws, t.w, &f2, 1), -1);
    int64_t took = mono_ns() - t0;
    assert_int_equal(errno, ETIMEDOUT);
    assert_true(took >= INT64_C(200000000));
    assert_true(took < INT64_C(2000000000));
    assert_int_equal(soa_worker_status(w), SOA_WORKER_ETIMEDOUT);
    assert_non_null(strstr(soa_worker_error(w), "killed"));
    /* The hung process is gone (killed and reaped), not left running. */
    assert_int_equal(kill((pid_t)pid, 0), -1);
    assert_true(world_checksum(&t) == committed);

    hang_at = UINT64_MAX;
    assert_int_equal(soa_worker_respawn(w), 0);
    for (uint64_t k = 2; k < 4; k++) {
        soa_frame f = frame_at(k);
        assert_int_equal(soa_worker_system_frame(ws, t.w, &f, 1), 0);
    }
    assert_true(world_checksum(&t) == reference_checksum(N, 4));
    soa_worker_system_destroy(ws);
    soa_worker_destroy(w);
    world_free(&t);
}

static void test_refused_request(void **state)
{
    (void)state;
    soa_worker *w = spawn(0);
    soa_frame f = frame_at(0);
    /* No snapshot header at offset 0 (the worker's root is there). */
    assert_true(soa_worker_post(w, 0, 0, &f, 1) != 0);
    errno = 0;
    assert_int_equal(soa_worker_wait(w, 0), -1);
    assert_int_equal(errno, EPROTO);
    assert_int_equal(soa_worker_status(w), SOA_WORKER_EREFUSED);
    assert_non_null(strstr(soa_worker_error(w), "no snapshot header"));
    /* An unknown task. */
    assert_int_equal(soa_worker_respawn(w), 0);
    assert_true(soa_worker_post(w, 7, 0, &f, 1) != 0);
    assert_int_equal(soa_worker_wait(w, 0), -1);
    assert_non_null(strstr(soa_worker_error(w), "refused"));
    /* Bad arguments. */
    assert_null(soa_worker_system_create(w, 1));
    assert_int_equal(errno, EINVAL);
    soa_worker_opts o;
    memset(&o, 0, sizeof o);
    assert_null(soa_worker_spawn(&o)); /* no exe, no tasks */
    assert_int_equal(errno, EINVAL);
    soa_worker_destroy(w);
}

static void test_through_the_scheduler(void **state)
{
    (void)state;
    test_world t;
    make(&t, N);
    soa_worker *w = spawn(0);
    soa_worker_system *ws = soa_worker_system_create(w, 0);
    soa_sched *s = soa_sched_create(t.w, NULL);
    soa_sched_spec spec;
    assert_int_equal(soa_worker_sched_spec(ws, t.w, &spec), 0);
    assert_true(soa_sched_add(s, &spec) >= 0);
    for (uint64_t k = 0; k < 6; k++) {
        assert_int_equal(soa_sched_run_frame(s, DT, (double)k * DT), 0);
        assert_int_equal(soa_worker_system_last_error(ws), 0);
    }
    assert_true(world_checksum(&t) == reference_checksum(N, 6));
    /* A dead worker: the frame runs, reports, and commits nothing. */
    uint64_t before = world_checksum(&t);
    kill((pid_t)soa_worker_pid(w), SIGKILL);
    soa_sched_run_frame(s, DT, 6 * DT);
    assert_int_equal(soa_worker_system_last_error(ws), ECHILD);
    assert_true(world_checksum(&t) == before);
    soa_sched_destroy(s);
    soa_worker_system_destroy(ws);
    soa_worker_destroy(w);
    world_free(&t);
}

/* The example's worker binary, built before the tests run. */
static const char *worker_binary(void)
{
    const char *b = getenv("BUILD");
    static char path[512];
    snprintf(path, sizeof path, "%s/bin/worker-process-worker", b ? b : "build");
    return access(path, X_OK) == 0 ? path : NULL;
}

static void test_fork_exec_worker_binary(void **state)
{
    (void)state;
    const char *exe = worker_binary();
    if (!exe)
        skip();
    test_world t;
    make(&t, N);
    soa_worker_opts o;
    memset(&o, 0, sizeof o);
    o.exe = exe;
    o.tasks = tasks;
    o.ntasks = 1;
    soa_worker *w = soa_worker_spawn(&o);
    assert_non_null(w);
    assert_non_null(strstr(soa_worker_mode(w), "fork+exec"));
    soa_worker_system *ws = soa_worker_system_create(w, 0);
    for (uint64_t k = 0; k < 4; k++) {
        soa_frame f = frame_at(k);
        assert_int_equal(soa_worker_system_frame(ws, t.w, &f, 1), 0);
    }
    /* The binary's kernel is the same Integrate: same world. */
    assert_true(world_checksum(&t) == reference_checksum(N, 4));
    soa_worker_system_destroy(ws);
    soa_worker_destroy(w);
    world_free(&t);

    /* We say two tasks, the binary serves one: it refuses to start. */
    const soa_worker_task two[] = {tasks[0], tasks[0]};
    char why[256] = "";
    o.tasks = two;
    o.ntasks = 2;
    o.error = why;
    o.error_size = sizeof why;
    errno = 0;
    assert_null(soa_worker_spawn(&o));
    assert_int_equal(errno, ECHILD);
    assert_non_null(strstr(why, "task table does not match"));
    /* A binary that does not exist. */
    o.exe = "/nonexistent/worker";
    o.ntasks = 1;
    assert_null(soa_worker_spawn(&o));
    assert_int_equal(errno, ECHILD);
    assert_non_null(strstr(why, "could not run the worker binary"));
}

/* In place, the arena holds a copy of Position only (8 bytes a row), not
 * of Velocity or the ids; frames equal in-process frames; a structural
 * change between begin and end commits nothing. */
static void test_in_place_copies_only_written_columns(void **state)
{
    (void)state;
    test_world t;
    make(&t, N);
    soa_worker *w = spawn(0);
    soa_worker_system *ws = soa_worker_system_create(w, 0);
    size_t before = soa_arena_used(soa_worker_arena(w));
    soa_frame f = frame_at(0);
    assert_int_equal(soa_worker_system_frame(ws, t.w, &f, 1), 0);
    size_t used = soa_arena_used(soa_worker_arena(w)) - before;
    size_t rows = N - N / 7;
    /* the copies (at least doubled) and the plan: well under a snapshot's
     * 8 + 8 + 8 bytes a row */
    assert_true(used < rows * 8u * 2u + ((size_t)64 << 10));
    assert_true(used >= rows * 8u);
    assert_true(world_checksum(&t) == reference_checksum(N, 1));
    /* Rows that moved under a frame: nothing is committed. */
    soa_frame f1 = frame_at(1);
    uint64_t kept = world_checksum(&t);
    assert_int_equal(soa_worker_system_begin(ws, t.w, &f1, 1), 0);
    soa_world_despawn(t.w, t.ents[0]);
    errno = 0;
    assert_int_equal(soa_worker_system_end(ws, t.w), -1);
    assert_int_equal(errno, ESTALE);
    assert_int_equal(soa_worker_system_committed(ws), 0);
    Position p;
    for (size_t i = 1; i < N; i += 97)
        assert_int_equal(soa_world_read(t.w, t.ents[i], t.pos, &p), 0);
    (void)kept;
    soa_worker_system_destroy(ws);
    soa_worker_destroy(w);
    world_free(&t);
}

/* A kernel that writes a column it only reads (through a cast): in place
 * the world is mapped read-only in the worker, so the write kills it
 * (SIGSEGV) and the world is untouched. */
static void scribble(const Integrate_view *v, const soa_frame *f, void *ctx)
{
    (void)f, (void)ctx;
    float *vx = (float *)(uintptr_t)v->Velocity.x;
    vx[v->begin] = 12345.0f;
}

static const soa_worker_task scribbler[] = {
    {&Integrate_shm, (soa_fn)scribble, NULL},
};

static void test_worker_cannot_write_the_world(void **state)
{
    (void)state;
    test_world t;
    make(&t, N);
    soa_worker *w = spawn_one(scribbler, &t, 0);
    assert_non_null(w);
    soa_worker_system *ws = soa_worker_system_create(w, 0);
    uint64_t before = world_checksum(&t);
    soa_frame f = frame_at(0);
    errno = 0;
    assert_int_equal(soa_worker_system_frame(ws, t.w, &f, 1), -1);
    assert_int_equal(errno, ECHILD);
    assert_non_null(strstr(soa_worker_error(w), "signal 11"));
    assert_true(world_checksum(&t) == before);
    Velocity v;
    assert_int_equal(soa_world_read(t.w, t.ents[0], t.vel, &v), 0);
    assert_true(v.x != 12345.0f);
    soa_worker_system_destroy(ws);
    soa_worker_destroy(w);
    world_free(&t);
}

int main(void)
{
    if (!soa_shm_available())
        return 0; /* processes need shared memory: see test_worker_threads */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_frames_match_in_process, skip_without_shm),
        cmocka_unit_test_setup(test_many_ticks_per_request, skip_without_shm),
        cmocka_unit_test_setup(test_kill_9_mid_tick_then_respawn,
                               skip_without_shm),
        cmocka_unit_test_setup(test_hung_worker_times_out, skip_without_shm),
        cmocka_unit_test_setup(test_refused_request, skip_without_shm),
        cmocka_unit_test_setup(test_through_the_scheduler, skip_without_shm),
        cmocka_unit_test_setup(test_fork_exec_worker_binary, skip_without_shm),
        cmocka_unit_test_setup(test_frames_match_in_process, in_place),
        cmocka_unit_test_setup(test_many_ticks_per_request, in_place),
        cmocka_unit_test_setup(test_kill_9_mid_tick_then_respawn, in_place),
        cmocka_unit_test_setup(test_hung_worker_times_out, in_place),
        cmocka_unit_test_setup(test_through_the_scheduler, in_place),
        cmocka_unit_test_setup(test_fork_exec_worker_binary, in_place),
        cmocka_unit_test_setup(test_in_place_copies_only_written_columns,
                               in_place),
        cmocka_unit_test_setup(test_worker_cannot_write_the_world, in_place),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
