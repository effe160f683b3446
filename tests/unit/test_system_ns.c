/* test_system_ns: generated systems of a namespaced schema that includes
 * another (generated/game.h: game_Move reads game_Motion and writes
 * common_Transform, without game_Frozen), run through the scheduler. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "game.h"

static void move_kernel(const game_Move_view *v, const soa_frame *f,
                        void *ctx)
{
    (void)ctx;
    float dt = (float)f->dt;
    for (size_t i = v->begin; i < v->end; i++) {
        for (int k = 0; k < 3; k++)
            v->Transform.pos[k][i] += v->Motion.v[k][i] * dt;
        soa_bitset_set(v->Transform.changed, i);
    }
}

static void namespaced_system_runs_through_the_scheduler(void **state)
{
    (void)state;
    soa_world *w = soa_world_create(NULL);
    soa_pool *pool = soa_pool_create(2);
    soa_sched *s = soa_sched_create(w, pool);
    assert_non_null(s);
    soa_sched_spec sp;
    memset(&sp, 0, sizeof sp);
    sp.system = &game_Move_system;
    sp.kernel = game_Move_kernel_fn(move_kernel);
    assert_int_equal(soa_sched_add(s, &sp), 0);

    soa_cid tr = soa_world_lookup(w, "common_Transform");
    soa_cid mo = soa_world_lookup(w, "game_Motion");
    soa_cid fr = soa_world_lookup(w, "game_Frozen");
    assert_int_not_equal(tr, SOA_CID_INVALID);
    assert_int_not_equal(mo, SOA_CID_INVALID);
    assert_int_not_equal(fr, SOA_CID_INVALID); /* `without` registers too */

    enum { N = 1000 };
    soa_entity e[N];
    for (int i = 0; i < N; i++) {
        e[i] = soa_world_spawn(w);
        common_Transform t = common_Transform_default();
        t.pos[0] = (float)i;
        assert_int_equal(soa_world_set(w, e[i], tr, &t), 0);
        game_Motion m = game_Motion_default(); /* v = [0, 0, -9.81] */
        m.v[0] = 2.0f;
        assert_int_equal(soa_world_set(w, e[i], mo, &m), 0);
        if (i % 3 == 0)
            soa_world_add(w, e[i], fr);
    }
    for (int f = 0; f < 4; f++)
        assert_int_equal(soa_sched_run_frame(s, 0.5, f * 0.5), 0);
    soa_sched_stats st;
    soa_sched_get_stats(s, 0, &st);
    assert_int_equal(st.rows, N - (N + 2) / 3);
    assert_int_equal(st.committed, 0); /* in place: nothing to copy back */
    assert_int_equal(soa_world_count_changed(w, tr), st.rows + (N + 2) / 3);
    float z = 0.0f; /* what four frames make of the default v[2] */
    for (int f = 0; f < 4; f++)
        z += -9.81f * 0.5f;
    for (int i = 0; i < N; i++) {
        common_Transform t;
        assert_int_equal(soa_world_read(w, e[i], tr, &t), 0);
        bool frozen = i % 3 == 0;
        assert_true(t.pos[0] == (float)i + (frozen ? 0.0f : 4.0f));
        assert_true(t.pos[2] == (frozen ? 0.0f : z));
        assert_true(t.rot[3] == 1.0f && t.scale == 1.0f); /* defaults */
    }
    soa_sched_destroy(s);
    soa_pool_destroy(pool);
    soa_world_destroy(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(namespaced_system_runs_through_the_scheduler),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
