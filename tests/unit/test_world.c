/* test_world: the reference world: handles, components, queries, and a
 * model test against a plain table of per-entity values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "soa/soa.h"
#include "../../runtime/src/internal.h"
#include "counting_alloc.h"

/* Hand-written descriptors, as soac would emit them. */
typedef struct Pos { float x, y; } Pos;
typedef struct Health { int32_t hp; } Health;

static const Pos pos_defaults = {1.5f, -2.0f};
static const Health health_defaults = {100};
static const soa_field_desc pos_fields[] = {
    {"x", SOA_F32, NULL, 1, offsetof(Pos, x)},
    {"y", SOA_F32, NULL, 1, offsetof(Pos, y)},
};
static const soa_field_desc health_fields[] = {
    {"hp", SOA_I32, NULL, 1, offsetof(Health, hp)},
};
static const soa_component_desc pos_desc = {
    "Pos", 0x1111, sizeof(Pos), _Alignof(Pos), &pos_defaults, 2, pos_fields};
static const soa_component_desc health_desc = {
    "Health", 0x2222, sizeof(Health), _Alignof(Health), &health_defaults, 1,
    health_fields};
static const soa_component_desc frozen_desc = {
    "Frozen", 0x3333, 0, 0, NULL, 0, NULL};

static counting_alloc ca;

static soa_world *new_world(void)
{
    counting_alloc_init(&ca);
    soa_world *w = soa_world_create(&ca.base);
    assert_non_null(w);
    return w;
}

/* Destroys w and checks every byte came back with the size it was
 * allocated with. */
static void end_world(soa_world *w)
{
    soa_world_destroy(w);
    assert_int_equal(ca.live_bytes, 0);
    assert_int_equal(ca.live_blocks, 0);
    assert_int_equal(ca.bad_frees, 0);
}

static void handles_are_generational(void **state)
{
    (void)state;
    soa_world *w = new_world();
    assert_false(soa_world_alive(w, SOA_ENTITY_NULL));
    soa_entity a = soa_world_spawn(w), b = soa_world_spawn(w);
    assert_int_not_equal(a, SOA_ENTITY_NULL);
    assert_int_equal(soa_entity_generation(a), 1);
    assert_int_not_equal(soa_entity_index(a), soa_entity_index(b));
    assert_true(soa_world_alive(w, a));
    assert_int_equal(soa_world_entities(w), 2);

    soa_world_despawn(w, a);
    assert_false(soa_world_alive(w, a));
    soa_world_despawn(w, a); /* stale: no-op */
    assert_int_equal(soa_world_entities(w), 1);

    soa_entity c = soa_world_spawn(w); /* reuses a's slot */
    assert_int_equal(soa_entity_index(c), soa_entity_index(a));
    assert_int_equal(soa_entity_generation(c), 2);
    assert_false(soa_world_alive(w, a));
    assert_true(soa_world_alive(w, c));
    /* Handles that never existed. */
    assert_false(soa_world_alive(w, (soa_entity)1 << 32 | 999));
    assert_false(soa_world_alive(w, (soa_entity)7 << 32 | soa_entity_index(b)));
    end_world(w);
}

static void register_is_idempotent_by_name(void **state)
{
    (void)state;
    soa_world *w = new_world();
    soa_cid p = soa_world_register(w, &pos_desc);
    soa_cid h = soa_world_register(w, &health_desc);
    assert_int_not_equal(p, SOA_CID_INVALID);
    assert_int_not_equal(p, h);
    /* Another translation unit's copy of the same descriptor. */
    soa_component_desc copy = pos_desc;
    assert_int_equal(soa_world_register(w, &copy), p);
    assert_int_equal(soa_world_lookup(w, "Pos"), p);
    assert_int_equal(soa_world_lookup(w, "Nope"), SOA_CID_INVALID);
    assert_ptr_equal(soa_world_desc(w, p), &pos_desc);
    assert_null(soa_world_desc(w, 77));

    /* Same name, another layout or size: refused. */
    copy.layout_hash = 0x9999;
    errno = 0;
    assert_int_equal(soa_world_register(w, &copy), SOA_CID_INVALID);
    assert_int_equal(errno, EINVAL);
    copy = pos_desc;
    copy.size = 12;
    assert_int_equal(soa_world_register(w, &copy), SOA_CID_INVALID);

    /* Malformed descriptors. */
    soa_component_desc bad = pos_desc;
    bad.name = "";
    assert_int_equal(soa_world_register(w, &bad), SOA_CID_INVALID);
    bad.name = NULL;
    assert_int_equal(soa_world_register(w, &bad), SOA_CID_INVALID);
    bad = health_desc;
    bad.name = "Odd";
    bad.align = 3;
    assert_int_equal(soa_world_register(w, &bad), SOA_CID_INVALID);
    assert_int_equal(soa_world_register(w, NULL), SOA_CID_INVALID);
    assert_int_equal(soa_world_register(NULL, &pos_desc), SOA_CID_INVALID);
    end_world(w);
}

static void values_start_as_defaults(void **state)
{
    (void)state;
    soa_world *w = new_world();
    soa_cid p = soa_world_register(w, &pos_desc);
    soa_cid h = soa_world_register(w, &health_desc);
    soa_entity e = soa_world_spawn(w);

    assert_null(soa_world_get(w, e, p));
    Pos *v = soa_world_add(w, e, p);
    assert_non_null(v);
    assert_true(v->x == 1.5f && v->y == -2.0f);
    v->x = 3.0f;
    assert_ptr_equal(soa_world_add(w, e, p), v); /* present: same value */
    assert_true(((Pos *)soa_world_get(w, e, p))->x == 3.0f);

    Health hv = {7};
    assert_int_equal(soa_world_set(w, e, h, &hv), 0);
    assert_int_equal(((const Health *)soa_world_get_const(w, e, h))->hp, 7);
    hv.hp = 8;
    assert_int_equal(soa_world_set(w, e, h, &hv), 0);
    assert_int_equal(((Health *)soa_world_get(w, e, h))->hp, 8);
    assert_int_equal(soa_world_count(w, h), 1);
    assert_true(soa_world_has(w, e, h));

    /* Copying one entity's value to many others: each add may move the
     * storage the source points into. */
    soa_entity src = soa_world_spawn(w);
    Health big = {424242};
    soa_world_set(w, src, h, &big);
    for (int i = 0; i < 100; i++) {
        soa_entity d = soa_world_spawn(w);
        assert_int_equal(soa_world_set(w, d, h, soa_world_get(w, src, h)), 0);
        assert_int_equal(((Health *)soa_world_get(w, d, h))->hp, 424242);
    }
    assert_int_equal(soa_world_count(w, h), 102);

    assert_int_equal(soa_world_remove(w, e, h), 0);
    assert_false(soa_world_has(w, e, h));
    errno = 0;
    assert_int_equal(soa_world_remove(w, e, h), -1);
    assert_int_equal(errno, ENOENT);
    assert_int_equal(soa_world_count(w, h), 101);
    end_world(w);
}

static void stale_handles_are_never_read_or_written(void **state)
{
    (void)state;
    soa_world *w = new_world();
    soa_cid p = soa_world_register(w, &pos_desc);
    soa_entity old = soa_world_spawn(w);
    Pos a = {10, 20};
    assert_int_equal(soa_world_set(w, old, p, &a), 0);
    soa_world_despawn(w, old);
    assert_int_equal(soa_world_count(w, p), 0);

    soa_entity fresh = soa_world_spawn(w); /* same slot */
    assert_int_equal(soa_entity_index(fresh), soa_entity_index(old));
    assert_null(soa_world_get(w, fresh, p)); /* components did not survive */
    Pos b = {1, 2};
    assert_int_equal(soa_world_set(w, fresh, p, &b), 0);

    assert_null(soa_world_get(w, old, p));
    assert_false(soa_world_has(w, old, p));
    errno = 0;
    assert_null(soa_world_add(w, old, p));
    assert_int_equal(errno, ESRCH);
    assert_int_equal(soa_world_set(w, old, p, &a), -1);
    assert_int_equal(soa_world_remove(w, old, p), -1);
    assert_int_equal(errno, ESRCH);
    assert_true(((Pos *)soa_world_get(w, fresh, p))->x == 1.0f);

    /* Unknown cids and NULLs. */
    errno = 0;
    assert_null(soa_world_add(w, fresh, 42));
    assert_int_equal(errno, EINVAL);
    assert_null(soa_world_get(w, fresh, 42));
    assert_int_equal(soa_world_remove(w, fresh, 42), -1);
    assert_int_equal(soa_world_count(w, 42), 0);
    assert_int_equal(soa_world_set(w, fresh, p, NULL), -1);
    assert_null(soa_world_get(NULL, fresh, p));
    assert_int_equal(soa_world_spawn(NULL), SOA_ENTITY_NULL);
    soa_world_despawn(NULL, fresh);
    soa_world_destroy(NULL);
    end_world(w);
}

static void tags_have_no_value(void **state)
{
    (void)state;
    soa_world *w = new_world();
    soa_cid f = soa_world_register(w, &frozen_desc);
    assert_int_not_equal(f, SOA_CID_INVALID);
    soa_entity e = soa_world_spawn(w);
    assert_non_null(soa_world_add(w, e, f));
    assert_int_equal(soa_world_set(w, e, f, NULL), 0);
    assert_true(soa_world_has(w, e, f));
    assert_int_equal(soa_world_count(w, f), 1);
    soa_world_despawn(w, e);
    assert_int_equal(soa_world_count(w, f), 0);
    end_world(w);
}

/* Collects a query's entities (at most cap) and returns how many. */
static size_t run_query(soa_world *w, const soa_query *q, soa_entity *out,
                        size_t cap, size_t *bound)
{
    soa_query_iter it;
    *bound = soa_query_begin(w, q, &it);
    size_t n = 0;
    soa_entity e;
    while (soa_query_next(&it, &e)) {
        assert_true(n < cap);
        out[n++] = e;
    }
    return n;
}

static void queries_walk_the_smallest_set(void **state)
{
    (void)state;
    soa_world *w = new_world();
    soa_cid p = soa_world_register(w, &pos_desc);
    soa_cid h = soa_world_register(w, &health_desc);
    soa_cid f = soa_world_register(w, &frozen_desc);
    soa_entity e[10];
    for (int i = 0; i < 10; i++) {
        e[i] = soa_world_spawn(w);
        soa_world_add(w, e[i], p);
        if (i % 2 == 0)
            soa_world_add(w, e[i], h);
        if (i % 4 == 0)
            soa_world_add(w, e[i], f);
    }
    soa_entity out[16];
    size_t bound;
    soa_cid all[2] = {p, h}, none[1] = {f};
    soa_query q = {all, 2, none, 1};
    size_t n = run_query(w, &q, out, 16, &bound);
    assert_int_equal(bound, 5); /* Health's set is the smaller one */
    assert_int_equal(n, 2);     /* 2 and 6: even, not a multiple of 4 */
    assert_true((out[0] == e[2] && out[1] == e[6]) ||
                (out[0] == e[6] && out[1] == e[2]));

    /* next_values hands out the same pointers soa_world_get does. */
    soa_query_iter it;
    soa_query_begin(w, &q, &it);
    void *vals[2];
    soa_entity x;
    size_t seen = 0;
    while (soa_query_next_values(&it, &x, vals)) {
        assert_ptr_equal(vals[0], soa_world_get(w, x, p));
        assert_ptr_equal(vals[1], soa_world_get(w, x, h));
        seen++;
    }
    assert_int_equal(seen, 2);

    /* fetch: the same matches in batches, whatever the batch size. */
    for (size_t max = 1; max <= 3; max++) {
        soa_query_begin(w, &q, &it);
        soa_entity got[4];
        void *gv[3 * 2];
        size_t total = 0, k;
        while ((k = soa_query_fetch(&it, got, gv, max)) != 0) {
            assert_true(k <= max);
            for (size_t j = 0; j < k; j++) {
                assert_true(got[j] == e[2] || got[j] == e[6]);
                assert_ptr_equal(gv[j * 2], soa_world_get(w, got[j], p));
                assert_ptr_equal(gv[j * 2 + 1], soa_world_get(w, got[j], h));
            }
            total += k;
        }
        assert_int_equal(total, 2);
    }

    soa_query every = {NULL, 0, none, 1};
    n = run_query(w, &every, out, 16, &bound);
    assert_int_equal(bound, 10);
    assert_int_equal(n, 7);
    soa_query_begin(w, &every, &it);
    assert_int_equal(soa_query_fetch(&it, out, NULL, 16), 7);
    assert_int_equal(soa_query_fetch(&it, out, NULL, 16), 0);

    soa_cid unknown[1] = {99};
    soa_query bad = {unknown, 1, NULL, 0};
    n = run_query(w, &bad, out, 16, &bound);
    assert_int_equal(bound, 0);
    assert_int_equal(n, 0);
    soa_query bad_none = {all, 1, unknown, 1};
    assert_int_equal(run_query(w, &bad_none, out, 16, &bound), 0);
    end_world(w);
}

/* fetch_rows: every match of a random world, in full batches, with the
 * dense rows soa_world_get would use, and the run bits exactly when a
 * batch's rows are consecutive. */
static void fetch_rows_reports_dense_rows_and_runs(void **state)
{
    (void)state;
    soa_world *w = new_world();
    soa_cid p = soa_world_register(w, &pos_desc);
    soa_cid h = soa_world_register(w, &health_desc);
    soa_cid f = soa_world_register(w, &frozen_desc);
    enum { N = 700 };
    soa_entity e[N];
    for (int i = 0; i < N; i++) {
        e[i] = soa_world_spawn(w);
        soa_world_add(w, e[i], h); /* Health first: the larger set */
    }
    /* Pos on all but every 9th; from 300 on in reverse order, so later
     * batches are not consecutive in Pos.  Frozen on every 13th. */
    for (int i = 0; i < 300; i++)
        if (i % 9 != 8)
            soa_world_add(w, e[i], p);
    for (int i = N - 1; i >= 300; i--)
        if (i % 9 != 8)
            soa_world_add(w, e[i], p);
    for (int i = 0; i < N; i += 13)
        soa_world_add(w, e[i], f);
    soa_cid all[3] = {h, p, f};
    const size_t maxes[] = {1, 7, 64};
    for (size_t mi = 0; mi < 3; mi++) {
        size_t max = maxes[mi];
        for (uint32_t nall = 2; nall <= 3; nall++) {
            soa_cid none[1] = {f};
            soa_query q = {all, nall, none, nall == 2 ? 1u : 0u};
            soa_query_iter it;
            size_t bound = soa_query_begin(w, &q, &it);
            soa_entity got[64];
            uint32_t rows[3 * 64];
            uint64_t runs;
            size_t total = 0, k, want = 0;
            for (int i = 0; i < N; i++)
                want += i % 9 != 8 && ((i % 13 == 0) == (nall == 3));
            while ((k = soa__query_fetch_rows(&it, got, rows, max, &runs))) {
                total += k;
                assert_true(k == max || total == want);
                for (uint32_t t = 0; t < nall; t++) {
                    const unsigned char *vals = soa__world_values(w, all[t]);
                    size_t sz = soa_world_desc(w, all[t])->size;
                    bool run = true;
                    for (size_t j = 0; j < k; j++) {
                        uint32_t r = rows[t * max + j];
                        run = run && r == rows[t * max] + j;
                        if (sz)
                            assert_ptr_equal(vals + r * sz,
                                             soa_world_get(w, got[j], all[t]));
                    }
                    assert_int_equal((runs >> t) & 1u, run);
                }
                for (size_t j = 0; j < k; j++) {
                    int i = (int)soa_entity_index(got[j]);
                    assert_int_equal(got[j], e[i]);
                    assert_true(i % 9 != 8);
                    assert_int_equal(i % 13 == 0, nall == 3);
                }
            }
            assert_int_equal(total, want);
            assert_true(bound >= want);
        }
    }
    /* Pos, the smaller set, leads: its rows always run here (no term
     * filters); Health's run in the first batch, not in the reversed part */
    soa_query q2 = {all, 2, NULL, 0};
    soa_query_iter it;
    soa_entity got[64];
    uint32_t rows[2 * 64];
    uint64_t runs;
    soa_query_begin(w, &q2, &it);
    assert_int_equal(soa__query_fetch_rows(&it, got, rows, 5, &runs), 5);
    assert_int_equal(runs, 3u); /* e[0..4]: both in order */
    for (int b = 0; b < 6; b++)
        soa__query_fetch_rows(&it, got, rows, 64, &runs);
    assert_int_equal(runs, 2u); /* past 300: Health rows run backwards */
    assert_int_equal(soa__query_fetch_rows(NULL, got, rows, 64, &runs), 0);
    assert_int_equal(runs, 0u);
    soa_query every = {NULL, 0, NULL, 0};
    soa_query_begin(w, &every, &it);
    assert_int_equal(soa__query_fetch_rows(&it, got, NULL, 64, &runs), 64);
    end_world(w);
}

/* A stamp holds across value writes, additions and storage growth, and
 * breaks when any row loses its entity, or in another world. */
static void stamps_follow_row_ownership(void **state)
{
    (void)state;
    soa_world *w = new_world();
    soa_cid p = soa_world_register(w, &pos_desc);
    soa_cid h = soa_world_register(w, &health_desc);
    soa_entity e[40];
    for (int i = 0; i < 20; i++) {
        e[i] = soa_world_spawn(w);
        soa_world_add(w, e[i], p);
    }
    soa__stamp st, zero, other;
    memset(&zero, 0, sizeof zero);
    assert_null(soa__world_values_stamped(w, &zero));
    soa__world_stamp(w, p, &st);
    assert_ptr_equal(soa__world_values_stamped(w, &st), soa__world_values(w, p));
    Pos v = {7, 8};
    soa_world_set(w, e[3], p, &v); /* a value write */
    for (int i = 20; i < 40; i++) { /* rows appended, storage grows */
        e[i] = soa_world_spawn(w);
        soa_world_add(w, e[i], p);
    }
    assert_ptr_equal(soa__world_values_stamped(w, &st), soa__world_values(w, p));
    assert_ptr_equal(soa_world_get(w, e[3], p),
                     (Pos *)soa__world_values_stamped(w, &st) + 3);
    soa_world_add(w, e[5], h); /* another component's change */
    soa_world_remove(w, e[5], h);
    assert_non_null(soa__world_values_stamped(w, &st));
    soa_world_remove(w, e[39], p); /* the last row: nothing moves, still */
    assert_null(soa__world_values_stamped(w, &st));
    soa__world_stamp(w, p, &st);
    soa_world_despawn(w, e[0]);
    assert_null(soa__world_values_stamped(w, &st));
    soa__world_stamp(w, p, &st);
    soa_world *w2 = soa_world_create(NULL);
    assert_int_equal(soa_world_register(w2, &pos_desc), p);
    soa__world_stamp(w2, p, &other);
    assert_null(soa__world_values_stamped(w2, &st)); /* another world */
    assert_null(soa__world_values_stamped(w, &other));
    soa_world_destroy(w2);
    soa__world_stamp(w, 99, &other); /* unknown cid */
    assert_null(soa__world_values_stamped(w, &other));
    assert_null(soa__world_values(w, 99));
    assert_null(soa__world_values_stamped(NULL, &st));
    assert_non_null(soa__world_values_stamped(w, &st));
    end_world(w);
}

static void out_of_memory_leaves_the_world_intact(void **state)
{
    (void)state;
    for (long budget = 0; budget < 12; budget++) {
        counting_alloc_init(&ca);
        ca.fail_after = budget;
        soa_world *w = soa_world_create(&ca.base);
        if (!w) {
            assert_int_equal(budget, 0);
            continue;
        }
        soa_cid p = soa_world_register(w, &pos_desc);
        size_t made = 0;
        for (int i = 0; i < 100; i++) {
            soa_entity e = soa_world_spawn(w);
            if (e == SOA_ENTITY_NULL)
                break;
            Pos v = {(float)i, 0};
            if (p != SOA_CID_INVALID && soa_world_set(w, e, p, &v) == 0) {
                made++;
                assert_true(((Pos *)soa_world_get(w, e, p))->x == (float)i);
            }
        }
        if (p != SOA_CID_INVALID)
            assert_int_equal(soa_world_count(w, p), made);
        end_world(w);
    }
}

/* ---- model test ---------------------------------------------------- */

#define MODEL_SLOTS 256
#define MODEL_OPS 40000

/* The model: a table of entities by handle, each with optional values. */
typedef struct model_ent {
    soa_entity e;
    bool alive;
    bool has_pos, has_health, has_frozen;
    Pos pos;
    Health health;
} model_ent;

static uint64_t rng_state = 0x9E3779B97F4A7C15u;
static uint32_t rnd(uint32_t n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state % n);
}

static void check_model(soa_world *w, const model_ent *m, size_t nm,
                        const soa_cid cid[3])
{
    size_t live = 0, npos = 0, nhealth = 0, nfrozen = 0;
    for (size_t i = 0; i < nm; i++) {
        const model_ent *x = &m[i];
        assert_int_equal(soa_world_alive(w, x->e), x->alive);
        const Pos *p = soa_world_get_const(w, x->e, cid[0]);
        const Health *h = soa_world_get_const(w, x->e, cid[1]);
        assert_int_equal(p != NULL, x->alive && x->has_pos);
        assert_int_equal(h != NULL, x->alive && x->has_health);
        assert_int_equal(soa_world_has(w, x->e, cid[2]),
                         x->alive && x->has_frozen);
        if (p)
            assert_memory_equal(p, &x->pos, sizeof *p);
        if (h)
            assert_int_equal(h->hp, x->health.hp);
        if (x->alive) {
            live++;
            npos += x->has_pos;
            nhealth += x->has_health;
            nfrozen += x->has_frozen;
        }
    }
    assert_int_equal(soa_world_entities(w), live);
    assert_int_equal(soa_world_count(w, cid[0]), npos);
    assert_int_equal(soa_world_count(w, cid[1]), nhealth);
    assert_int_equal(soa_world_count(w, cid[2]), nfrozen);

    /* Query Pos & Health without Frozen: exactly the model's matches. */
    soa_cid all[2] = {cid[0], cid[1]}, none[1] = {cid[2]};
    soa_query q = {all, 2, none, 1};
    soa_query_iter it;
    size_t bound = soa_query_begin(w, &q, &it), found = 0;
    soa_entity e;
    while (soa_query_next(&it, &e)) {
        found++;
        size_t i = 0;
        while (i < nm && m[i].e != e)
            i++;
        assert_true(i < nm);
        assert_true(m[i].alive && m[i].has_pos && m[i].has_health &&
                    !m[i].has_frozen);
    }
    size_t want = 0;
    for (size_t i = 0; i < nm; i++)
        want += m[i].alive && m[i].has_pos && m[i].has_health &&
                !m[i].has_frozen;
    assert_int_equal(found, want);
    assert_true(bound >= found);
    /* The batch walk agrees with the one-by-one walk. */
    soa_query_begin(w, &q, &it);
    soa_entity batch[5];
    void *vals[5 * 2];
    size_t k, fetched = 0;
    while ((k = soa_query_fetch(&it, batch, vals, 5)) != 0)
        for (size_t j = 0; j < k; j++, fetched++)
            assert_ptr_equal(vals[j * 2], soa_world_get(w, batch[j], cid[0]));
    assert_int_equal(fetched, found);
    assert_true(bound == (npos < nhealth ? npos : nhealth));
}

static void random_ops_match_a_model(void **state)
{
    (void)state;
    static model_ent m[MODEL_OPS];
    size_t nm = 0;
    soa_world *w = new_world();
    soa_cid cid[3] = {soa_world_register(w, &pos_desc),
                      soa_world_register(w, &health_desc),
                      soa_world_register(w, &frozen_desc)};
    for (int op = 0; op < MODEL_OPS; op++) {
        /* Pick any entity ever made, dead ones included: stale handles get
         * exercised as often as live ones. */
        model_ent *x = nm ? &m[rnd((uint32_t)nm)] : NULL;
        uint32_t kind = x ? rnd(9) : 0;
        if (kind == 0 && soa_world_entities(w) < MODEL_SLOTS) {
            soa_entity e = soa_world_spawn(w);
            assert_int_not_equal(e, SOA_ENTITY_NULL);
            for (size_t i = 0; i < nm; i++)
                assert_int_not_equal(m[i].e, e); /* never a handle reused */
            memset(&m[nm], 0, sizeof m[nm]);
            m[nm].e = e;
            m[nm].alive = true;
            nm++;
        } else if (kind == 1 && x) {
            soa_world_despawn(w, x->e);
            x->alive = false;
        } else if (kind == 2 && x) {
            Pos v = {(float)rnd(1000), (float)op};
            int rc = soa_world_set(w, x->e, cid[0], &v);
            assert_int_equal(rc, x->alive ? 0 : -1);
            if (x->alive) {
                x->has_pos = true;
                x->pos = v;
            }
        } else if (kind == 3 && x) {
            Health *h = soa_world_add(w, x->e, cid[1]);
            assert_int_equal(h != NULL, x->alive);
            if (h) {
                if (!x->has_health)
                    x->health = health_defaults;
                x->has_health = true;
                h->hp += 1;
                x->health.hp += 1;
            }
        } else if (kind == 4 && x) {
            int rc = soa_world_remove(w, x->e, cid[0]);
            assert_int_equal(rc == 0, x->alive && x->has_pos);
            if (x->alive)
                x->has_pos = false;
        } else if (kind == 5 && x) {
            int rc = soa_world_remove(w, x->e, cid[1]);
            assert_int_equal(rc == 0, x->alive && x->has_health);
            if (x->alive)
                x->has_health = false;
        } else if (kind == 6 && x) {
            void *t = soa_world_add(w, x->e, cid[2]);
            assert_int_equal(t != NULL, x->alive);
            if (x->alive)
                x->has_frozen = true;
        } else if (kind == 7 && x) {
            soa_world_remove(w, x->e, cid[2]);
            if (x->alive)
                x->has_frozen = false;
        } else if (x) {
            Pos *p = soa_world_get(w, x->e, cid[0]);
            assert_int_equal(p != NULL, x->alive && x->has_pos);
            if (p) {
                p->y += 1.0f;
                x->pos.y += 1.0f;
            }
        }
        if (op % 997 == 0)
            check_model(w, m, nm, cid);
    }
    check_model(w, m, nm, cid);
    end_world(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(handles_are_generational),
        cmocka_unit_test(register_is_idempotent_by_name),
        cmocka_unit_test(values_start_as_defaults),
        cmocka_unit_test(stale_handles_are_never_read_or_written),
        cmocka_unit_test(tags_have_no_value),
        cmocka_unit_test(queries_walk_the_smallest_set),
        cmocka_unit_test(fetch_rows_reports_dense_rows_and_runs),
        cmocka_unit_test(stamps_follow_row_ownership),
        cmocka_unit_test(out_of_memory_leaves_the_world_intact),
        cmocka_unit_test(random_ops_match_a_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
