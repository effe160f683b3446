/*
 * The generated component API, exercised on build/gen/gen_test.h (from
 * tests/compiler/schemas/gen_test.soa): defaults, reflection, column
 * allocation (alignment, overflow, allocator failure), row copies, and the
 * changed bitset with C_commit_changed.
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

/* ---- defaults ------------------------------------------------------ */

static void defaults(void **state)
{
    (void)state;
    gt_Body b = gt_Body_default();
    assert_true(b.pos[0] == 0.0f && b.pos[1] == 0.0f && b.pos[2] == 0.0f);
    assert_true(b.vel[0] == 1.0f && b.vel[1] == 2.0f && b.vel[2] == 3.0f);
    assert_true(b.mass == 2.5);
    assert_int_equal(b.id, 7);
    assert_int_equal(b.team, gt_Team_blue);
    assert_int_equal(b.team, 6);
    assert_true(b.alive);
    assert_int_equal(b.sign, -2);

    gt_Extremes e = gt_Extremes_default();
    assert_true(e.lo == INT64_MIN);
    assert_true(e.hi == UINT64_MAX);
    assert_true(e.big == 3.4e38f);
    assert_true(e.huge == 1e300);
    assert_int_equal(e.small, -128);
    assert_int_equal(e.hex, -16);

    gt_Mixed m = gt_Mixed_default();
    assert_int_equal(m.a + m.c + m.e + m.f[2], 0);
    assert_false(m.d);
}

static void enums(void **state)
{
    (void)state;
    assert_string_equal(gt_Team_str(gt_Team_red), "red");
    assert_string_equal(gt_Team_str(5), "green");
    assert_string_equal(gt_Team_str(gt_Team_blue), "blue");
    assert_string_equal(gt_Team_str(1), "?");
    assert_string_equal(gt_Sign_str(gt_Sign_neg), "neg");
    assert_string_equal(gt_Sign_str(-1), "?");
    assert_int_equal(sizeof(gt_Team), 1);
    assert_int_equal(sizeof(gt_Sign), 2);
}

/* ---- reflection ---------------------------------------------------- */

static void reflection(void **state)
{
    (void)state;
    const soa_component_desc *d = &gt_Body_desc;
    assert_string_equal(d->name, "gt_Body");
    assert_true(d->layout_hash == gt_Body_LAYOUT_HASH);
    assert_int_equal(d->size, sizeof(gt_Body));
    assert_int_equal(d->align, _Alignof(gt_Body));
    assert_int_equal(d->nfields, 7);
    assert_memory_equal(d->defaults, &gt_Body_default_value, sizeof(gt_Body));
    static const size_t offs[] = {
        offsetof(gt_Body, pos), offsetof(gt_Body, vel), offsetof(gt_Body, mass),
        offsetof(gt_Body, id), offsetof(gt_Body, team), offsetof(gt_Body, alive),
        offsetof(gt_Body, sign),
    };
    static const char *const names[] = { "pos", "vel", "mass", "id", "team", "alive", "sign" };
    static const soa_scalar types[] = { SOA_F32, SOA_F32, SOA_F64, SOA_U32, SOA_U8, SOA_BOOL, SOA_I16 };
    static const uint32_t counts[] = { 3, 3, 1, 1, 1, 1, 1 };
    for (uint32_t i = 0; i < d->nfields; i++) {
        assert_string_equal(d->fields[i].name, names[i]);
        assert_int_equal(d->fields[i].offset, offs[i]);
        assert_int_equal(d->fields[i].type, types[i]);
        assert_int_equal(d->fields[i].count, counts[i]);
    }
    assert_null(d->fields[0].enum_name);
    assert_string_equal(d->fields[4].enum_name, "gt_Team");
    assert_string_equal(d->fields[6].enum_name, "gt_Sign");

    const soa_component_desc *m = &gt_Mixed_desc;
    assert_int_equal(m->fields[1].offset, offsetof(gt_Mixed, b));
    assert_int_equal(m->fields[4].offset, offsetof(gt_Mixed, e));
    assert_int_equal(m->fields[5].offset, offsetof(gt_Mixed, f));
    assert_int_equal(m->fields[5].count, 3);
    assert_int_equal(m->align, _Alignof(gt_Mixed));

    const soa_component_desc *t = &gt_Marker_desc;
    assert_int_equal(t->size, 0);
    assert_null(t->defaults);
    assert_int_equal(t->nfields, 0);
    assert_true(t->layout_hash == gt_Marker_LAYOUT_HASH);
    /* every layout differs */
    assert_true(gt_Body_LAYOUT_HASH != gt_Mixed_LAYOUT_HASH);
    assert_true(gt_Marker_LAYOUT_HASH != gt_Extremes_LAYOUT_HASH);
}

/* ---- allocation ---------------------------------------------------- */

/* A heap allocator that counts, checks sizes, and can fail the Nth call. */
typedef struct test_alloc {
    soa_alloc base;
    int calls, fail_at, live;
    size_t live_bytes;
} test_alloc;

static void *ta_alloc(soa_alloc *self, size_t bytes, size_t align)
{
    test_alloc *t = (test_alloc *)self;
    if (++t->calls == t->fail_at) {
        errno = ENOMEM;
        return NULL;
    }
    void *p = aligned_alloc(align, bytes ? (bytes + align - 1) / align * align : align);
    if (p) {
        t->live++;
        t->live_bytes += bytes;
    }
    return p;
}

static void ta_free(soa_alloc *self, void *p, size_t bytes)
{
    test_alloc *t = (test_alloc *)self;
    if (!p)
        return;
    t->live--;
    t->live_bytes -= bytes;
    free(p);
}

static test_alloc make_alloc(int fail_at)
{
    test_alloc t = { { ta_alloc, ta_free }, 0, fail_at, 0, 0 };
    return t;
}

static void cols_alignment_and_release(void **state)
{
    (void)state;
    test_alloc ta = make_alloc(0);
    gt_Body_cols c;
    assert_int_equal(gt_Body_cols_init(&c, 1000, &ta.base), 0);
    assert_int_equal(c.cap, 1000);
    void *cols[] = { c.pos[0], c.pos[1], c.pos[2], c.vel[0], c.vel[1], c.vel[2],
                     c.mass, c.id, c.team, c.alive, c.sign, c.changed };
    for (size_t i = 0; i < sizeof cols / sizeof *cols; i++) {
        assert_non_null(cols[i]);
        assert_int_equal((uintptr_t)cols[i] % 64, 0);
    }
    assert_int_equal(ta.live, 12);
    assert_int_equal(gt_Body_count_changed(&c, 1000), 0);
    gt_Body_cols_release(&c, &ta.base);
    assert_int_equal(ta.live, 0);
    assert_int_equal(ta.live_bytes, 0);
    assert_null(c.changed);
    assert_int_equal(c.cap, 0);

    /* the heap (NULL allocator) and zero rows work too */
    assert_int_equal(gt_Body_cols_init(&c, 0, NULL), 0);
    assert_int_equal(gt_Body_count_changed(&c, 0), 0);
    gt_Body_cols_release(&c, NULL);
}

static void cols_failures(void **state)
{
    (void)state;
    gt_Mixed_cols c;
    /* every single allocation failing in turn leaves nothing behind */
    for (int n = 1; n <= 9; n++) {
        test_alloc ta = make_alloc(n);
        errno = 0;
        assert_int_equal(gt_Mixed_cols_init(&c, 100, &ta.base), -1);
        assert_int_equal(errno, ENOMEM);
        assert_int_equal(ta.live, 0);
        assert_null(c.a);
    }
    test_alloc ok = make_alloc(10);
    assert_int_equal(gt_Mixed_cols_init(&c, 100, &ok.base), 0);
    gt_Mixed_cols_release(&c, &ok.base);
    assert_int_equal(ok.live, 0);

    /* a capacity whose byte size overflows */
    test_alloc ta = make_alloc(0);
    errno = 0;
    assert_int_equal(gt_Mixed_cols_init(&c, SIZE_MAX / 4, &ta.base), -1);
    assert_int_equal(errno, EOVERFLOW);
    assert_int_equal(ta.calls, 0);
}

/* ---- rows ---------------------------------------------------------- */

static gt_Body body(int i)
{
    gt_Body b = gt_Body_default();
    for (int k = 0; k < 3; k++) {
        b.pos[k] = (float)(i * 10 + k);
        b.vel[k] = (float)(-i - k);
    }
    b.mass = i * 0.5;
    b.id = (uint32_t)i;
    b.team = i % 2 ? gt_Team_green : gt_Team_red;
    b.alive = i % 3 == 0;
    b.sign = (gt_Sign)(i % 2 ? gt_Sign_pos : gt_Sign_neg);
    return b;
}

static int same_body(const gt_Body *a, const gt_Body *b)
{
    return memcmp(a->pos, b->pos, sizeof a->pos) == 0 &&
           memcmp(a->vel, b->vel, sizeof a->vel) == 0 && a->mass == b->mass &&
           a->id == b->id && a->team == b->team && a->alive == b->alive &&
           a->sign == b->sign;
}

static void store_load_gather_scatter(void **state)
{
    (void)state;
    gt_Body_cols c;
    assert_int_equal(gt_Body_cols_init(&c, 300, NULL), 0);
    gt_Body v = body(42);
    gt_Body_cols_store(&c, 299, &v);
    assert_true(c.pos[1][299] == 421.0f);
    assert_true(c.vel[2][299] == -44.0f);
    gt_Body back = gt_Body_cols_load(&c, 299);
    assert_true(same_body(&v, &back));

    gt_Body in[200], out[200];
    for (int i = 0; i < 200; i++)
        in[i] = body(i);
    gt_Body_cols_gather(&c, 50, in, 200);
    for (int i = 0; i < 200; i++) {
        assert_int_equal(c.id[50 + i], i);
        assert_true(c.pos[0][50 + i] == (float)(i * 10));
    }
    gt_Body_cols_scatter(&c, 50, out, 200);
    for (int i = 0; i < 200; i++)
        assert_true(same_body(&in[i], &out[i]));
    /* gather did not touch rows outside [50, 250) */
    back = gt_Body_cols_load(&c, 299);
    assert_true(same_body(&v, &back));
    gt_Body_cols_release(&c, NULL);
}

/* ---- the changed bitset -------------------------------------------- */

typedef struct seen {
    size_t rows[64];
    uint32_t ids[64];
    size_t n;
} seen;

static void record(void *ctx, size_t row, const gt_Body *v)
{
    seen *s = ctx;
    s->rows[s->n] = row;
    s->ids[s->n] = v->id;
    s->n++;
}

static void changed_and_commit(void **state)
{
    (void)state;
    gt_Body_cols c;
    const size_t rows = 200;
    assert_int_equal(gt_Body_cols_init(&c, rows, NULL), 0);
    for (size_t i = 0; i < rows; i++) {
        gt_Body b = body((int)i);
        gt_Body_cols_store(&c, i, &b);
    }
    /* marked out of order, including word edges and the last row */
    const size_t marks[] = { 199, 0, 64, 63, 128, 5, 64 };
    for (size_t i = 0; i < sizeof marks / sizeof *marks; i++)
        gt_Body_mark_changed(&c, marks[i]);
    assert_true(gt_Body_is_changed(&c, 63));
    assert_false(gt_Body_is_changed(&c, 62));
    assert_int_equal(gt_Body_count_changed(&c, rows), 6);
    assert_int_equal(gt_Body_count_changed(&c, 64), 3); /* 0, 5, 63 */

    seen s = { { 0 }, { 0 }, 0 };
    assert_int_equal(gt_Body_commit_changed(&c, rows, record, &s), 6);
    const size_t want[] = { 0, 5, 63, 64, 128, 199 };
    assert_int_equal(s.n, 6);
    for (size_t i = 0; i < 6; i++) {
        assert_int_equal(s.rows[i], want[i]);
        assert_int_equal(s.ids[i], want[i]); /* the row's value, not another */
    }
    /* rows past `rows` are not reported */
    s.n = 0;
    assert_int_equal(gt_Body_commit_changed(&c, 100, record, &s), 4);

    gt_Body_clear_changed(&c, rows);
    assert_int_equal(gt_Body_count_changed(&c, rows), 0);
    s.n = 0;
    assert_int_equal(gt_Body_commit_changed(&c, rows, record, &s), 0);
    assert_int_equal(s.n, 0);
    gt_Body_cols_release(&c, NULL);

    /* a tag has the bitset too */
    gt_Marker_cols m;
    assert_int_equal(gt_Marker_cols_init(&m, 70, NULL), 0);
    gt_Marker_mark_changed(&m, 69);
    assert_true(gt_Marker_is_changed(&m, 69));
    assert_int_equal(gt_Marker_count_changed(&m, 70), 1);
    gt_Marker_cols_release(&m, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults),
        cmocka_unit_test(enums),
        cmocka_unit_test(reflection),
        cmocka_unit_test(cols_alignment_and_release),
        cmocka_unit_test(cols_failures),
        cmocka_unit_test(store_load_gather_scatter),
        cmocka_unit_test(changed_and_commit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
