/* test_web: examples/browser/soa_web.c natively (under ASan and UBSan,
 * which wasm does not have), with this process playing both the page and
 * the worker and memcpy standing in for the transfer: systems Spin (two
 * written components, an array and an enum) and Integrate (a `without`
 * term) give the same world and values written as the same systems run
 * through their snapshots; replies that do not fit the page's snapshot
 * and worker calls out of range are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "systems.h"
#include "soa_web.h"
#include "world_get.h"

#define N 700

/* Spin: on rows where (row + frame) % 3 == 0 the body turns and is
 * marked; on rows where row % 4 == 1 the counter counts and is marked;
 * axes[2] is written on every row but marked on none of those others. */
static void spin_kernel(const Spin_view *v, const soa_frame *f, void *ctx)
{
    (void)ctx;
    for (size_t i = v->begin; i < v->end; i++) {
        v->Body.axes[2][i] = -1.0f;
        if ((i + f->index) % 3u == 0) {
            v->Body.mass[i] += f->dt + v->Velocity.y[i];
            v->Body.axes[0][i] += (float)f->time;
            v->Body.kind[i] = (Kind)(v->Body.kind[i] == Kind_probe ? Kind_rock : Kind_probe);
            soa_bitset_set(v->Body.changed, i);
        }
        if (i % 4u == 1u) {
            v->Counter.n[i] += 1u + (uint32_t)f->index;
            soa_bitset_set(v->Counter.changed, i);
        }
    }
}

static void integrate_kernel(const Integrate_view *v, const soa_frame *f,
                             void *ctx)
{
    (void)ctx;
    for (size_t i = v->begin; i < v->end; i++) {
        v->Position.x[i] += v->Velocity.x[i] * (float)f->dt;
        v->Position.y[i] += v->Velocity.y[i] * (float)f->dt;
        soa_bitset_set(v->Position.changed, i);
    }
}

int soa_web_setup(void)
{
    if (soa_web_register(&Spin_system, Spin_kernel_fn(spin_kernel), NULL) != 0 ||
        soa_web_register(&Integrate_system,
                         Integrate_kernel_fn(integrate_kernel), NULL) != 1)
        return -1;
    /* A name taken, and no system or kernel: refused. */
    if (soa_web_register(&Spin_system, Spin_kernel_fn(spin_kernel), NULL) != -1 ||
        soa_web_register(NULL, Spin_kernel_fn(spin_kernel), NULL) != -1 ||
        soa_web_register(&Observe_system, NULL, NULL) != -1)
        return -1;
    return 0;
}

typedef struct fixture {
    soa_world *w;
    soa_entity e[N];
    soa_cid pos, vel, body, counter, frozen;
} fixture;

/* The same world every time: several tables (with and without Velocity,
 * Counter, Frozen). */
static void fixture_init(fixture *f)
{
    f->w = soa_world_create(NULL);
    assert_non_null(f->w);
    f->pos = soa_world_register(f->w, &Position_desc);
    f->vel = soa_world_register(f->w, &Velocity_desc);
    f->body = soa_world_register(f->w, &Body_desc);
    f->counter = soa_world_register(f->w, &Counter_desc);
    f->frozen = soa_world_register(f->w, &Frozen_desc);
    for (int i = 0; i < N; i++) {
        soa_entity e = f->e[i] = soa_world_spawn(f->w);
        Position p = {(float)i, (float)-i};
        Velocity v = {1.0f, (float)(i % 9)};
        Body b = {i % 2 ? Kind_rock : Kind_ship, 0.25 * i, {1.0f, 2.0f, 3.0f}};
        Counter c = {(uint32_t)i};
        assert_int_equal(soa_world_set(f->w, e, f->pos, &p), 0);
        if (i % 5 != 4)
            assert_int_equal(soa_world_set(f->w, e, f->vel, &v), 0);
        assert_int_equal(soa_world_set(f->w, e, f->body, &b), 0);
        if (i % 3 != 2)
            assert_int_equal(soa_world_set(f->w, e, f->counter, &c), 0);
        if (i % 7 == 6)
            assert_int_equal(soa_world_add(f->w, e, f->frozen), 0);
    }
}

/* Every field of every entity equal in both worlds. */
static void assert_same_world(const fixture *a, const fixture *b)
{
    for (int i = 0; i < N; i++) {
        const Position *pa = world_get(a->w, a->e[i], a->pos);
        const Position *pb = world_get(b->w, b->e[i], b->pos);
        assert_true((pa == NULL) == (pb == NULL));
        if (pa)
            assert_true(pa->x == pb->x && pa->y == pb->y);
        const Body *ba = world_get(a->w, a->e[i], a->body);
        const Body *bb = world_get(b->w, b->e[i], b->body);
        assert_true((ba == NULL) == (bb == NULL));
        if (ba)
            assert_true(ba->kind == bb->kind && ba->mass == bb->mass &&
                        memcmp(ba->axes, bb->axes, sizeof ba->axes) == 0);
        const Counter *ca = world_get(a->w, a->e[i], a->counter);
        const Counter *cb = world_get(b->w, b->e[i], b->counter);
        assert_true((ca == NULL) == (cb == NULL));
        if (ca)
            assert_int_equal(ca->n, cb->n);
    }
}

/* One frame of system `id` through soa_web.h: the page builds, the
 * "worker" gets the columns by memcpy, runs and packs, the page commits
 * the reply.  The commit's count. */
static int web_frame(int id, soa_world *w, const soa_frame *f)
{
    int rows = soa_web_build(id, w);
    assert_true(rows >= 0);
    assert_int_equal(soa_web_rows(id), rows);
    assert_int_equal(soa_web_kernel_reserve(id, rows), 0);
    for (int k = 0; k < soa_web_ncols(id); k++)
        memcpy(soa_web_kernel_col(id, k), soa_web_col(id, k),
               (size_t)rows * (size_t)soa_web_col_size(id, k));
    int bytes = soa_web_kernel_run(id, rows, f->dt, f->time, (double)f->index);
    assert_true(bytes >= 0 && bytes % 8 == 0);
    void *in = soa_web_inbox(id, bytes);
    assert_non_null(in);
    memcpy(in, soa_web_kernel_out(id), (size_t)bytes);
    return soa_web_commit(id, w, bytes);
}

static void same_as_the_snapshot_path(void **state)
{
    (void)state;
    fixture web, ref;
    fixture_init(&web);
    fixture_init(&ref);
    int spin = soa_web_find("Spin"), integ = soa_web_find("Integrate");
    assert_int_equal(spin, 0);
    assert_int_equal(integ, 1);
    /* Spin: Velocity x, y read; Body kind, mass, axes[3], Counter n
     * written. */
    assert_int_equal(soa_web_ncols(spin), 8);
    int sizes[8] = {4, 4, 1, 8, 4, 4, 4, 4};
    for (int k = 0; k < 8; k++) {
        assert_int_equal(soa_web_col_size(spin, k), sizes[k]);
        assert_int_equal(soa_web_col_written(spin, k), k >= 2);
    }
    Spin_snap ss;
    Integrate_snap is;
    assert_int_equal(Spin_snap_init(&ss, NULL), 0);
    assert_int_equal(Integrate_snap_init(&is, NULL), 0);
    size_t want = 0, got = 0;
    for (uint64_t fr = 0; fr < 6; fr++) {
        soa_frame f = {1.0 / 60.0, (double)fr / 60.0, fr};
        if (fr == 3) { /* the worlds change between frames, alike */
            for (int i = 10; i < N; i += 37) {
                soa_world_despawn(web.w, web.e[i]);
                soa_world_despawn(ref.w, ref.e[i]);
            }
        }
        assert_int_equal(Spin_build(&ss, ref.w), 0);
        assert_int_equal(Spin_run(&ss, NULL, spin_kernel, &f, NULL), 0);
        want += Spin_commit(&ss, ref.w);
        assert_int_equal(Integrate_build(&is, ref.w), 0);
        assert_int_equal(Integrate_run(&is, NULL, integrate_kernel, &f, NULL), 0);
        want += Integrate_commit(&is, ref.w);
        int a = web_frame(spin, web.w, &f), b = web_frame(integ, web.w, &f);
        assert_true(a > 0 && b > 0);
        got += (size_t)a + (size_t)b;
    }
    assert_int_equal(got, want);
    assert_same_world(&web, &ref);
    Spin_snap_release(&ss);
    Integrate_snap_release(&is);
    soa_world_destroy(web.w);
    soa_world_destroy(ref.w);
}

/* Commits `bytes` bytes of `reply` as system id's reply. */
static int commit_bytes(int id, soa_world *w, const void *reply, int bytes)
{
    void *in = soa_web_inbox(id, bytes);
    assert_non_null(in);
    memcpy(in, reply, (size_t)bytes);
    return soa_web_commit(id, w, bytes);
}

static void refuses_what_does_not_fit(void **state)
{
    (void)state;
    fixture a, ref;
    fixture_init(&a);
    fixture_init(&ref);
    int id = soa_web_find("Spin");
    soa_frame f = {0.5, 1.0, 1};
    int rows = soa_web_build(id, a.w);
    assert_true(rows > 64 && rows % 64 != 0);
    assert_int_equal(soa_web_kernel_reserve(id, rows), 0);
    for (int k = 0; k < soa_web_ncols(id); k++)
        memcpy(soa_web_kernel_col(id, k), soa_web_col(id, k),
               (size_t)rows * (size_t)soa_web_col_size(id, k));
    int bytes = soa_web_kernel_run(id, rows, f.dt, f.time, 1.0);
    assert_true(bytes > 16);
    static unsigned char good[1 << 16], bad[(1 << 16) + 8];
    assert_true((size_t)bytes <= sizeof good);
    memcpy(good, soa_web_kernel_out(id), (size_t)bytes);

    assert_int_equal(commit_bytes(id, a.w, good, 0), -1);
    assert_int_equal(commit_bytes(id, a.w, good, bytes - 8), -1);
    assert_int_equal(commit_bytes(id, a.w, good, bytes - 1), -1);
    memcpy(bad, good, (size_t)bytes);
    memset(bad + bytes, 0, 8);
    assert_int_equal(commit_bytes(id, a.w, bad, bytes + 8), -1);
    /* A bitset naming every row, with the values of only the marked ones. */
    memcpy(bad, good, (size_t)bytes);
    memset(bad, 0xff, (size_t)(rows / 64) * 8u);
    assert_int_equal(commit_bytes(id, a.w, bad, bytes), -1);
    /* More than the inbox holds, and no inbox for a negative size. */
    assert_int_equal(soa_web_commit(id, a.w, 1 << 30), -1);
    assert_null(soa_web_inbox(id, -1));
    assert_same_world(&a, &ref); /* nothing was written */

    /* Bits past the last row are the worker's to set, never the page's to
     * use: masked, and the reply still fits. */
    memcpy(bad, good, (size_t)bytes);
    uint64_t last;
    memcpy(&last, bad + (size_t)(rows / 64) * 8u, 8);
    last |= ~(uint64_t)0 << (rows % 64);
    memcpy(bad + (size_t)(rows / 64) * 8u, &last, 8);
    int n = commit_bytes(id, a.w, bad, bytes);
    assert_true(n > 0);
    soa_web_build(id, ref.w); /* the same rows, committed from `good` */
    assert_int_equal(commit_bytes(id, ref.w, good, bytes), n);
    assert_same_world(&a, &ref);

    /* The worker's calls out of range. */
    assert_int_equal(soa_web_kernel_run(id, rows + 1000000, 0, 0, 0), -1);
    assert_int_equal(soa_web_kernel_run(id, -1, 0, 0, 0), -1);
    assert_int_equal(soa_web_kernel_run(id, 0, 0, 0, -1.0), -1);
    assert_int_equal(soa_web_kernel_reserve(id, -1), -1);
    assert_null(soa_web_kernel_col(id, soa_web_ncols(id)));
    assert_null(soa_web_kernel_col(id, -1));
    /* Ids and columns that do not exist. */
    assert_int_equal(soa_web_find("Observe"), -1);
    assert_int_equal(soa_web_find(NULL), -1);
    assert_int_equal(soa_web_build(7, a.w), -1);
    assert_int_equal(soa_web_ncols(-1), -1);
    assert_int_equal(soa_web_col_size(id, 8), 0);
    assert_int_equal(soa_web_col_written(id, -1), -1);
    assert_null(soa_web_col(id, 8));
    assert_null(soa_web_kernel_out(5));
    assert_int_equal(soa_web_commit(id, NULL, 0), -1);
    soa_world_destroy(a.w);
    soa_world_destroy(ref.w);
}

/* No matching entity: an empty reply, and nothing to commit. */
static void empty_world(void **state)
{
    (void)state;
    soa_world *w = soa_world_create(NULL);
    soa_frame f = {1.0, 0.0, 0};
    assert_int_equal(web_frame(soa_web_find("Integrate"), w, &f), 0);
    assert_int_equal(soa_web_kernel_run(soa_web_find("Integrate"), 0, 1, 0, 0), 0);
    soa_world_destroy(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(same_as_the_snapshot_path),
        cmocka_unit_test(refuses_what_does_not_fit),
        cmocka_unit_test(empty_world),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
