/*
 * test_debug_unmarked: with SOA_DEBUG=1, a kernel that writes rows without
 * marking them changed is named on stderr, once per system, on every way
 * a system runs: the snapshot API (S_build / S_run / S_commit, whose
 * commit drops such writes) and a worker process reading a shared world in
 * place.  A kernel that marks what it writes is never named.  (The
 * scheduler's in-place check is in test_sched.)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "worker_common.h"
#include "../../runtime/src/plan.h"

/* Writes every row, marks only the even ones. */
static void forgetful(const Integrate_view *v, const soa_frame *f, void *ctx)
{
    (void)ctx;
    for (size_t i = v->begin; i < v->end; i++) {
        v->Position.x[i] += 1.0f + (float)f->index;
        if (i % 2 == 0)
            soa_bitset_set(v->Position.changed, i);
    }
}

/* stderr into a file while `fn` runs; what was written, in buf. */
static void capture(void (*fn)(void *), void *arg, char *buf, size_t size)
{
    char path[] = "/tmp/soa-debug-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    fflush(stderr);
    int saved = dup(2);
    assert_true(saved >= 0);
    assert_int_equal(dup2(fd, 2), 2);
    fn(arg);
    fflush(stderr);
    assert_int_equal(dup2(saved, 2), 2);
    close(saved);
    ssize_t n = pread(fd, buf, size - 1, 0);
    buf[n > 0 ? (size_t)n : 0] = '\0';
    close(fd);
    unlink(path);
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

/* ---- the snapshot API ------------------------------------------------ */

typedef struct snap_run {
    test_world *t;
    Integrate_kernel kernel;
} snap_run;

static void three_snapshot_frames(void *arg)
{
    snap_run *r = arg;
    Integrate_snap s;
    Integrate_snap_init(&s, NULL);
    for (uint64_t k = 0; k < 3; k++) {
        soa_frame f = frame_at(k);
        assert_int_equal(Integrate_build(&s, r->t->w), 0);
        Integrate_run(&s, NULL, r->kernel, &f, NULL);
        Integrate_commit(&s, r->t->w);
    }
    Integrate_snap_release(&s);
}

static void test_snapshot_commit_names_unmarked_rows(void **state)
{
    (void)state;
    world_in_region = 0;
    test_world t;
    world_make(&t, 1000);
    char out[4096];
    snap_run r = {&t, forgetful};
    capture(three_snapshot_frames, &r, out, sizeof out);
    /* once for the three frames; 1000 - 1000/7 rows match, half unmarked */
    assert_int_equal(count(out, "soa: system 'Integrate' changed"), 1);
    assert_non_null(strstr(out, "rows of 'Position' without marking them"));
    assert_non_null(strstr(out, "soa_bitset_set(v->Position.changed, i)"));
    r.kernel = integrate; /* marks everything */
    capture(three_snapshot_frames, &r, out, sizeof out);
    assert_string_equal(out, "");
    world_free(&t);
}

/* ---- a worker process, in place -------------------------------------- */

typedef struct worker_run {
    test_world *t;
    soa_worker_system *ws;
} worker_run;

/* SOA_DEBUG's text: off, every frame, or every Nth; and the sampling. */
static void test_debug_period(void **state)
{
    (void)state;
    static const struct { const char *text; unsigned every; } cases[] = {
        {NULL, 0}, {"", 0}, {"0", 0}, {"00", 0}, {"1", 1}, {"on", 1},
        {"yes", 1}, {"3", 3}, {"100", 100}, {"4294967295", 4294967295u},
        {"4294967296", 1}, {"99999999999999999999999", 1}, {"3x", 1},
        {"-2", 1}, {" 2", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (soa__debug_parse(cases[i].text) != cases[i].every)
            fail_msg("SOA_DEBUG='%s': %u, not %u", cases[i].text ? cases[i].text : "(unset)",
                     soa__debug_parse(cases[i].text), cases[i].every);
    assert_int_equal(soa__debug_every(), 1); /* this program's SOA_DEBUG=1 */
    uint64_t runs = 0;
    char seen[10];
    for (int k = 0; k < 9; k++)
        seen[k] = soa__debug_due(4, &runs) ? 'x' : '.';
    seen[9] = '\0';
    assert_string_equal(seen, "x...x...x");
    runs = 0;
    for (int k = 0; k < 3; k++)
        assert_false(soa__debug_due(0, &runs));
    assert_int_equal(runs, 0);
}

static void two_worker_frames(void *arg)
{
    worker_run *r = arg;
    for (uint64_t k = 0; k < 2; k++) {
        soa_frame f = frame_at(k);
        assert_int_equal(soa_worker_system_frame(r->ws, r->t->w, &f, 1), 0);
    }
}

static void test_worker_names_unmarked_rows(void **state)
{
    (void)state;
    if (!soa_shm_available())
        skip();
    world_in_region = 1;
    test_world t;
    world_make(&t, 1000);
    soa_worker_task task = {&Integrate_shm, (soa_fn)forgetful, NULL};
    soa_worker *w = spawn_one(&task, &t, 0);
    assert_non_null(w);
    worker_run r = {&t, soa_worker_system_create(w, 0)};
    assert_non_null(r.ws);
    char out[4096];
    capture(two_worker_frames, &r, out, sizeof out);
    assert_int_equal(count(out, "soa: system 'Integrate' changed"), 1);
    assert_non_null(strstr(out, "rows of 'Position' without marking them"));
    soa_worker_system_destroy(r.ws);
    soa_worker_destroy(w);
    world_free(&t);
}

int main(void)
{
    setenv("SOA_DEBUG", "1", 1); /* read once, at the first check */
    unsetenv("SOA_WORKER_THREADS");
    (void)reference_checksum;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_debug_period),
        cmocka_unit_test(test_snapshot_commit_names_unmarked_rows),
        cmocka_unit_test(test_worker_names_unmarked_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
