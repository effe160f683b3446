/*
 * The generated typed accessors of the world (C_get ... C_reset_changed),
 * exercised on build/gen/gen_test.h against the table world of soa/world.h:
 * errno for each failure, values through get/set, every column of
 * C_chunk against C_get (so the column numbers agree with the world's), the
 * `term` argument, and changed bits (C_reset_changed of a component that is
 * not registered must not clear the others').
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "gen_test.h"

/* A Body that differs in every field from row to row. */
static gt_Body body(uint32_t i)
{
    gt_Body b = gt_Body_default();
    for (int k = 0; k < 3; k++) {
        b.pos[k] = (float)(i * 10 + (uint32_t)k);
        b.vel[k] = -(float)(i * 10 + (uint32_t)k);
    }
    b.mass = 0.5 * i;
    b.id = 1000 + i;
    b.team = i % 2 ? gt_Team_green : gt_Team_red;
    b.alive = i % 3 != 0;
    b.sign = i % 2 ? gt_Sign_pos : gt_Sign_neg;
    return b;
}

static void assert_body_equal(const gt_Body *a, const gt_Body *b)
{
    for (int k = 0; k < 3; k++) {
        assert_true(a->pos[k] == b->pos[k]);
        assert_true(a->vel[k] == b->vel[k]);
    }
    assert_true(a->mass == b->mass);
    assert_int_equal(a->id, b->id);
    assert_int_equal(a->team, b->team);
    assert_int_equal(a->alive, b->alive);
    assert_int_equal(a->sign, b->sign);
}

/* `expr` returns -1 with errno `err`. */
#define assert_fails(expr, err)                                             \
    do {                                                                    \
        errno = 0;                                                          \
        assert_int_equal((expr), -1);                                       \
        assert_int_equal(errno, (err));                                     \
    } while (0)

static void count(void *ctx, soa_entity e)
{
    (void)e;
    ++*(size_t *)ctx;
}

/* ---- get, set, add, has, remove ------------------------------------ */

static void unregistered(void **state)
{
    (void)state;
    soa_world *w = soa_world_create(NULL);
    soa_entity e = soa_world_spawn(w);
    gt_Body b;
    size_t n = 0;
    assert_false(gt_Body_has(w, e));
    assert_fails(gt_Body_get(w, e, &b), EINVAL);
    assert_fails(gt_Body_remove(w, e), EINVAL);
    assert_int_equal(gt_Body_each_changed(w, count, &n), 0);
    assert_false(gt_Marker_has(w, e));

    /* resetting an unregistered component leaves the others' bits alone */
    assert_int_equal(gt_Mixed_add(w, e), 0);
    gt_Body_reset_changed(w);
    assert_int_equal(gt_Mixed_each_changed(w, count, &n), 1);
    assert_int_equal(n, 1);
    soa_world_destroy(w);
}

static void values(void **state)
{
    (void)state;
    soa_world *w = soa_world_create(NULL);
    soa_entity e = soa_world_spawn(w);
    gt_Body b = body(7), got;
    gt_Body def = gt_Body_default();

    assert_int_equal(gt_Body_add(w, e), 0);
    assert_true(gt_Body_has(w, e));
    assert_int_equal(gt_Body_get(w, e, &got), 0);
    assert_body_equal(&got, &def);
    assert_int_equal(gt_Body_add(w, e), 0); /* present: keeps the value */
    assert_int_equal(gt_Body_set(w, e, &b), 0);
    assert_int_equal(gt_Body_add(w, e), 0);
    assert_int_equal(gt_Body_get(w, e, &got), 0);
    assert_body_equal(&got, &b);

    assert_int_equal(gt_Body_remove(w, e), 0);
    assert_false(gt_Body_has(w, e));
    assert_fails(gt_Body_get(w, e, &got), ENOENT);
    assert_fails(gt_Body_remove(w, e), ENOENT);

    /* set adds (and registers) */
    soa_entity f = soa_world_spawn(w);
    assert_int_equal(gt_Mixed_has(w, f), false);
    gt_Mixed m = gt_Mixed_default();
    m.e = -5;
    assert_int_equal(gt_Mixed_set(w, f, &m), 0);
    gt_Mixed mo;
    assert_int_equal(gt_Mixed_get(w, f, &mo), 0);
    assert_int_equal(mo.e, -5);

    /* a tag */
    assert_int_equal(gt_Marker_add(w, f), 0);
    assert_true(gt_Marker_has(w, f));
    assert_int_equal(gt_Marker_remove(w, f), 0);
    assert_false(gt_Marker_has(w, f));
    assert_fails(gt_Marker_remove(w, f), ENOENT);

    soa_world_despawn(w, f);
    assert_fails(gt_Mixed_get(w, f, &mo), ESRCH);
    assert_false(gt_Mixed_has(w, f));
    soa_world_destroy(w);
}

/* ---- chunks -------------------------------------------------------- */

#define ROWS 300u

/* Entities 0 .. ROWS-1 with body(i); every third also has Mixed, every
 * fifth Marker, so the query spans several tables. */
static soa_world *populate(soa_entity *es)
{
    soa_world *w = soa_world_create(NULL);
    for (uint32_t i = 0; i < ROWS; i++) {
        gt_Body b = body(i);
        es[i] = soa_world_spawn(w);
        assert_int_equal(gt_Body_set(w, es[i], &b), 0);
        if (i % 3 == 0)
            assert_int_equal(gt_Mixed_add(w, es[i]), 0);
        if (i % 5 == 0)
            assert_int_equal(gt_Marker_add(w, es[i]), 0);
    }
    return w;
}

/* Every column of gt_Body_chunk(c, term), row by row, equals gt_Body_get. */
static size_t check_chunk(const soa_world *w, const soa_chunk *c, uint32_t term)
{
    gt_Body_cols v = gt_Body_chunk(c, term);
    assert_int_equal(v.cap, c->end);
    assert_non_null(v.changed);
    for (size_t i = c->begin; i < c->end; i++) {
        gt_Body b, r;
        assert_int_equal(gt_Body_get(w, c->eids[i], &b), 0);
        for (int k = 0; k < 3; k++) {
            r.pos[k] = v.pos[k][i];
            r.vel[k] = v.vel[k][i];
        }
        r.mass = v.mass[i];
        r.id = v.id[i];
        r.team = v.team[i];
        r.alive = v.alive[i];
        r.sign = v.sign[i];
        assert_body_equal(&r, &b);
    }
    return c->end - c->begin;
}

static void chunk_columns(void **state)
{
    (void)state;
    soa_entity es[ROWS];
    soa_world *w = populate(es);
    soa_cid cids[3] = {soa_world_cid(w, &gt_Body_desc),
                       soa_world_cid(w, &gt_Mixed_desc),
                       soa_world_cid(w, &gt_Marker_desc)};
    assert_int_not_equal(cids[0], SOA_CID_INVALID);

    /* Body alone: term 0 */
    soa_query q = {cids, 1, NULL, 0};
    soa_query_iter it;
    soa_chunk c;
    size_t n = 0;
    assert_int_equal(soa_query_begin(w, &q, &it), ROWS);
    while (soa_query_next_chunk(&it, &c))
        n += check_chunk(w, &c, 0);
    assert_int_equal(n, ROWS);

    /* Mixed then Body, without Marker: Body is term 1 */
    soa_cid all[2] = {cids[1], cids[0]};
    soa_query q2 = {all, 2, &cids[2], 1};
    size_t want = 0;
    for (uint32_t i = 0; i < ROWS; i++)
        want += i % 3 == 0 && i % 5 != 0;
    n = 0;
    assert_int_equal(soa_query_begin(w, &q2, &it), want);
    while (soa_query_next_chunk(&it, &c))
        n += check_chunk(w, &c, 1);
    assert_int_equal(n, want);
    soa_world_destroy(w);
}

/* ---- changed bits --------------------------------------------------- */

static void changed(void **state)
{
    (void)state;
    soa_entity es[ROWS];
    soa_world *w = populate(es);
    size_t n = 0;
    assert_int_equal(gt_Body_each_changed(w, count, &n), ROWS); /* set marks */
    assert_int_equal(n, ROWS);
    gt_Body_reset_changed(w);
    n = 0;
    assert_int_equal(gt_Body_each_changed(w, count, &n), 0);
    assert_int_equal(gt_Mixed_each_changed(w, count, &n), ROWS / 3); /* untouched */

    /* a write through a chunk, marked, is the world's and is changed */
    soa_cid cid = soa_world_cid(w, &gt_Body_desc);
    soa_query q = {&cid, 1, NULL, 0};
    soa_query_iter it;
    soa_chunk c;
    size_t marked = 0;
    soa_query_begin(w, &q, &it);
    while (soa_query_next_chunk(&it, &c)) {
        gt_Body_cols v = gt_Body_chunk(&c, 0);
        for (size_t i = c.begin; i < c.end; i += 2) {
            v.mass[i] = -1.0;
            soa_bitset_set(v.changed, i);
            marked++;
        }
    }
    n = 0;
    assert_int_equal(gt_Body_each_changed(w, count, &n), marked);
    for (uint32_t i = 0; i < ROWS; i++) {
        gt_Body b;
        assert_int_equal(gt_Body_get(w, es[i], &b), 0);
        assert_true(b.mass == -1.0 || b.mass == 0.5 * i);
        assert_int_equal(b.mass == -1.0,
                         soa_world_is_changed(w, es[i], cid));
    }
    soa_world_destroy(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(unregistered),
        cmocka_unit_test(values),
        cmocka_unit_test(chunk_columns),
        cmocka_unit_test(changed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
