/* test_world: the reference world stored as SoA tables: handles, components
 * and their moves between tables, blocks, bulk spawn and despawn, queries
 * by chunk, change tracking, out of memory, and a model test that runs
 * random operations against a trivially correct reference world and
 * compares every value, every changed bit and every query result. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "soa/soa.h"
#include "counting_world.h"

/* Hand-written descriptors, as soac would emit them. */
typedef struct Pos { float x, y; } Pos;
typedef struct Health { int32_t hp; } Health;
typedef struct Wide { uint8_t tag; double mass; int16_t axes[3]; } Wide;

static const Pos pos_defaults = {1.5f, -2.0f};
static const Health health_defaults = {100};
static const Wide wide_defaults = {7, 0.25, {1, 2, 3}};
static const soa_field_desc pos_fields[] = {
    {"x", SOA_F32, NULL, 1, offsetof(Pos, x)},
    {"y", SOA_F32, NULL, 1, offsetof(Pos, y)},
};
static const soa_field_desc health_fields[] = {
    {"hp", SOA_I32, NULL, 1, offsetof(Health, hp)},
};
static const soa_field_desc wide_fields[] = {
    {"tag", SOA_U8, NULL, 1, offsetof(Wide, tag)},
    {"mass", SOA_F64, NULL, 1, offsetof(Wide, mass)},
    {"axes", SOA_I16, NULL, 3, offsetof(Wide, axes)},
};
static const soa_component_desc pos_desc = {
    "Pos", 0x1111, sizeof(Pos), _Alignof(Pos), &pos_defaults, 2, pos_fields};
static const soa_component_desc health_desc = {
    "Health", 0x2222, sizeof(Health), _Alignof(Health), &health_defaults, 1,
    health_fields};
static const soa_component_desc wide_desc = {
    "Wide", 0x4444, sizeof(Wide), _Alignof(Wide), &wide_defaults, 3,
    wide_fields};
static const soa_component_desc frozen_desc = {
    "Frozen", 0x3333, 0, 0, NULL, 0, NULL};

static Pos pos_of(const soa_world *w, soa_entity e, soa_cid c)
{
    Pos p;
    assert_int_equal(soa_world_read(w, e, c, &p), 0);
    return p;
}

static void handles_are_generational(void **state)
{
    (void)state;
    soa_world *w = new_world();
    assert_false(soa_world_alive(w, SOA_ENTITY_NULL));
    soa_entity a = soa_world_spawn(w), b = soa_world_spawn(w);
    assert_true(soa_world_alive(w, a) && soa_world_alive(w, b));
    assert_int_not_equal(a, b);
    assert_int_equal(soa_entity_generation(a), 1);
    assert_int_equal(soa_world_entities(w), 2);
    soa_world_despawn(w, a);
    assert_false(soa_world_alive(w, a));
    soa_world_despawn(w, a); /* stale: a no-op */
    soa_entity c = soa_world_spawn(w);
    assert_int_equal(soa_entity_index(c), soa_entity_index(a)); /* reused */
    assert_int_equal(soa_entity_generation(c), 2);
    assert_false(soa_world_alive(w, a));
    assert_true(soa_world_alive(w, b) && soa_world_alive(w, c));
    assert_int_equal(soa_world_entities(w), 2);
    /* A handle that never existed, one past the slots, a forged one. */
    assert_false(soa_world_alive(w, (soa_entity)3 << 32 | 77));
    assert_false(soa_world_alive(w, c + ((soa_entity)1 << 32)));
    assert_false(soa_world_alive(NULL, c));
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
    soa_component_desc copy = pos_desc; /* another translation unit's */
    assert_int_equal(soa_world_register(w, &copy), p);
    assert_int_equal(soa_world_lookup(w, "Pos"), p);
    assert_int_equal(soa_world_lookup(w, "Nope"), SOA_CID_INVALID);
    assert_int_equal(soa_world_cid(w, &copy), p);
    assert_ptr_equal(soa_world_desc(w, p), &pos_desc);
    /* Same name, another layout: refused, by register and by cid. */
    soa_component_desc other = pos_desc;
    other.layout_hash ^= 1;
    errno = 0;
    assert_string_equal(soa_world_error(w), "");
    assert_int_equal(soa_world_register(w, &other), SOA_CID_INVALID);
    assert_int_equal(errno, EINVAL);
    assert_non_null(strstr(soa_world_error(w), "component 'Pos' has another "
                                               "layout here (hash 0x"));
    assert_int_equal(soa_world_cid(w, &other), SOA_CID_INVALID);
    assert_int_equal(soa_world_cid(w, &wide_desc), SOA_CID_INVALID);
    /* Descriptors that do not describe their value. */
    soa_component_desc bad = pos_desc;
    bad.name = "Bad";
    bad.fields = NULL;
    assert_int_equal(soa_world_register(w, &bad), SOA_CID_INVALID);
    assert_string_equal(soa_world_error(w), "component 'Bad': an incomplete "
                                            "or inconsistent descriptor");
    soa_field_desc past[] = {{"x", SOA_F64, NULL, 1, 4}}; /* 4 + 8 > 8 */
    bad.fields = past;
    bad.nfields = 1;
    assert_int_equal(soa_world_register(w, &bad), SOA_CID_INVALID);
    bad = pos_desc;
    bad.name = "";
    assert_int_equal(soa_world_register(w, &bad), SOA_CID_INVALID);
    assert_int_equal(soa_world_register(w, NULL), SOA_CID_INVALID);
    assert_int_equal(soa_world_register(NULL, &pos_desc), SOA_CID_INVALID);
    /* Many components: the name and hash maps grow. */
    static soa_component_desc many[100];
    static char names[100][16];
    for (int i = 0; i < 100; i++) {
        snprintf(names[i], sizeof names[i], "C%d", i);
        many[i] = health_desc;
        many[i].name = names[i];
        many[i].layout_hash = 0x9000u + (uint64_t)i;
        assert_int_equal(soa_world_register(w, &many[i]), (soa_cid)(2 + i));
    }
    for (int i = 0; i < 100; i++) {
        assert_int_equal(soa_world_lookup(w, names[i]), (soa_cid)(2 + i));
        assert_int_equal(soa_world_cid(w, &many[i]), (soa_cid)(2 + i));
    }
    end_world(w);
}

static void values_move_with_their_entity(void **state)
{
    (void)state;
    soa_world *w = new_world();
    soa_cid p = soa_world_register(w, &pos_desc);
    soa_cid h = soa_world_register(w, &health_desc);
    soa_cid wd = soa_world_register(w, &wide_desc);
    soa_cid fr = soa_world_register(w, &frozen_desc);
    soa_entity e[10];
    for (int i = 0; i < 10; i++) {
        e[i] = soa_world_spawn(w);
        Pos v = {(float)i, (float)-i};
        assert_int_equal(soa_world_set(w, e[i], p, &v), 0);
    }
    /* Defaults on add; add again is a no-op that keeps the value. */
    assert_int_equal(soa_world_add(w, e[3], h), 0);
    Health hv;
    assert_int_equal(soa_world_read(w, e[3], h, &hv), 0);
    assert_int_equal(hv.hp, 100);
    hv.hp = 8;
    assert_int_equal(soa_world_set(w, e[3], h, &hv), 0);
    assert_int_equal(soa_world_add(w, e[3], h), 0);
    assert_int_equal(soa_world_read(w, e[3], h, &hv), 0);
    assert_int_equal(hv.hp, 8);
    /* Arrays, odd sizes and padding survive every move. */
    Wide wv;
    memset(&wv, 0, sizeof wv); /* padding too: read zeroes it */
    wv.tag = 200;
    wv.mass = 3.5;
    wv.axes[0] = -1;
    wv.axes[1] = -2;
    wv.axes[2] = -3;
    assert_int_equal(soa_world_set(w, e[3], wd, &wv), 0);
    assert_int_equal(soa_world_add(w, e[3], fr), 0);
    assert_int_equal(soa_world_remove(w, e[0], p), 0); /* another row moves */
    Wide got;
    memset(&got, 0x5a, sizeof got);
    assert_int_equal(soa_world_read(w, e[3], wd, &got), 0);
    assert_memory_equal(&got, &wv, sizeof got); /* padding zeroed too */
    assert_true(pos_of(w, e[3], p).x == 3.0f);
    assert_true(pos_of(w, e[9], p).y == -9.0f);
    assert_int_equal(soa_world_remove(w, e[3], fr), 0);
    assert_int_equal(soa_world_read(w, e[3], h, &hv), 0);
    assert_int_equal(hv.hp, 8);
    /* Errors name the case. */
    errno = 0;
    assert_int_equal(soa_world_read(w, e[0], p, &got), -1);
    assert_int_equal(errno, ENOENT);
    assert_int_equal(soa_world_remove(w, e[0], p), -1);
    assert_int_equal(errno, ENOENT);
    assert_int_equal(soa_world_read(w, e[1], 999, &got), -1);
    assert_int_equal(errno, EINVAL);
    soa_world_despawn(w, e[1]);
    assert_int_equal(soa_world_read(w, e[1], p, &got), -1);
    assert_int_equal(errno, ESRCH);
    assert_int_equal(soa_world_set(w, e[1], p, &got), -1);
    assert_int_equal(errno, ESRCH);
    assert_int_equal(soa_world_add(w, e[1], h), -1);
    assert_int_equal(errno, ESRCH);
    assert_int_equal(soa_world_set(w, e[2], p, NULL), -1);
    assert_int_equal(errno, EINVAL);
    assert_int_equal(soa_world_set(w, e[2], fr, NULL), 0); /* a tag */
    assert_true(soa_world_has(w, e[2], fr));
    assert_false(soa_world_has(w, e[1], p));
    assert_int_equal(soa_world_count(w, p), 8);
    assert_int_equal(soa_world_count(w, fr), 1);
    end_world(w);
}

/* Tables past one block: chunks split at block bounds, columns are
 * 64-byte aligned and never move while the table grows. */
static void blocks_hold_their_columns_in_place(void **state)
{
    (void)state;
    enum { N = 2 * SOA_BLOCK_ROWS + 100 };
    soa_world *w = new_world();
    soa_cid c[2] = {soa_world_register(w, &pos_desc),
                    soa_world_register(w, &health_desc)};
    soa_entity *e = malloc(N * sizeof *e);
    assert_int_equal(soa_world_spawn_n(w, c, 2, 10, e), 0);
    soa_query q = {c, 2, NULL, 0};
    soa_query_iter it;
    soa_chunk ch;
    soa_query_begin(w, &q, &it);
    assert_true(soa_query_next_chunk(&it, &ch));
    const float *x0 = soa_chunk_column(&ch, 0, 0);
    assert_int_equal((uintptr_t)x0 % 64, 0);
    assert_int_equal((uintptr_t)soa_chunk_column(&ch, 0, 1) % 64, 0);
    assert_int_equal((uintptr_t)soa_chunk_column(&ch, 1, 0) % 64, 0);
    assert_int_equal((uintptr_t)soa_chunk_changed(&ch, 1) % 8, 0);
    assert_null(soa_chunk_column(&ch, 0, 2)); /* Pos has two */
    assert_null(soa_chunk_column(&ch, 2, 0)); /* no third term */
    assert_int_equal(soa_world_spawn_n(w, c, 2, N - 10, e + 10), 0);
    assert_int_equal(soa_query_begin(w, &q, &it), N);
    size_t rows = 0, chunks = 0;
    while (soa_query_next_chunk(&it, &ch)) {
        if (chunks == 0)
            assert_ptr_equal(soa_chunk_column(&ch, 0, 0), x0); /* in place */
        assert_true(ch.end - ch.begin <= SOA_BLOCK_ROWS);
        float *x = soa_chunk_column(&ch, 0, 0);
        for (size_t i = ch.begin; i < ch.end; i++) {
            assert_int_equal(ch.eids[i], e[rows + i]);
            x[i] = (float)(rows + i); /* written in place */
        }
        rows += ch.end;
        chunks++;
    }
    assert_int_equal(rows, N);
    assert_int_equal(chunks, 3);
    for (size_t i = 0; i < N; i += 997)
        assert_true(pos_of(w, e[i], c[0]).x == (float)i);
    /* The entity walk yields the same entities in the same order. */
    soa_entity x;
    size_t k = 0;
    soa_query_begin(w, &q, &it);
    while (soa_query_next(&it, &x))
        assert_int_equal(x, e[k++]);
    assert_int_equal(k, N);
    /* Removing from the middle: the last row moves into the hole. */
    soa_world_despawn(w, e[5]);
    assert_true(pos_of(w, e[N - 1], c[0]).x == (float)(N - 1));
    free(e);
    end_world(w);
}

static void bulk_spawn_and_despawn(void **state)
{
    (void)state;
    soa_world *w = new_world();
    soa_cid p = soa_world_register(w, &pos_desc);
    soa_cid h = soa_world_register(w, &health_desc);
    soa_cid fr = soa_world_register(w, &frozen_desc);
    soa_entity e[300];
    soa_cid set[3] = {fr, h, p}; /* any order */
    assert_int_equal(soa_world_spawn_n(w, set, 3, 300, e), 0);
    assert_int_equal(soa_world_entities(w), 300);
    for (int i = 0; i < 300; i++) {
        assert_true(soa_world_alive(w, e[i]));
        Pos v = pos_of(w, e[i], p);
        assert_memory_equal(&v, &pos_defaults, sizeof v);
        assert_true(soa_world_has(w, e[i], fr));
        assert_true(soa_world_is_changed(w, e[i], p)); /* new values */
    }
    assert_int_equal(soa_world_spawn_n(w, NULL, 0, 5, NULL), 0); /* bare */
    assert_int_equal(soa_world_entities(w), 305);
    soa_cid twice[2] = {p, p}, unknown[1] = {42};
    errno = 0;
    assert_int_equal(soa_world_spawn_n(w, twice, 2, 5, NULL), -1);
    assert_int_equal(errno, EINVAL);
    assert_int_equal(soa_world_spawn_n(w, unknown, 1, 5, NULL), -1);
    assert_int_equal(soa_world_entities(w), 305);
    /* Despawn by query: every Frozen entity, whole tables at once. */
    assert_int_equal(soa_world_remove(w, e[7], fr), 0);
    soa_query q = {&fr, 1, NULL, 0};
    assert_int_equal(soa_world_despawn_query(w, &q), 299);
    assert_int_equal(soa_world_entities(w), 6);
    assert_false(soa_world_alive(w, e[0]));
    assert_true(soa_world_alive(w, e[7]));
    soa_entity again = soa_world_spawn(w); /* slots come back, newer */
    assert_int_equal(soa_entity_generation(again), 2);
    end_world(w);
}

/* Spawning in many small batches grows the entity index geometrically,
 * as spawning one by one does: 100000 batches of one entity allocate a
 * few dozen times, not once per batch (which copied the whole index
 * each time: quadratic, minutes for 1M entities). */
static void small_batches_grow_geometrically(void **state)
{
    (void)state;
    soa_world *w = new_world();
    soa_cid p = soa_world_register(w, &pos_desc);
    size_t before = ca.allocs;
    soa_entity last = SOA_ENTITY_NULL;
    for (int i = 0; i < 100000; i++)
        assert_int_equal(soa_world_spawn_n(w, &p, 1, 1, &last), 0);
    assert_int_equal(soa_world_entities(w), 100000);
    assert_int_equal(soa_entity_index(last), 99999);
    /* 25 blocks of rows, ~14 doublings of the index, a few for tables */
    assert_true(ca.allocs - before < 64);
    end_world(w);
}

static size_t count_calls;
static void count_entity(void *ctx, soa_entity e)
{
    soa_world *w = ctx;
    assert_true(soa_world_alive(w, e));
    count_calls++;
}

static void changed_bits_live_with_the_data(void **state)
{
    (void)state;
    soa_world *w = new_world();
    soa_cid p = soa_world_register(w, &pos_desc);
    soa_cid h = soa_world_register(w, &health_desc);
    soa_cid fr = soa_world_register(w, &frozen_desc);
    soa_entity e[100];
    soa_cid set[1] = {p};
    assert_int_equal(soa_world_spawn_n(w, set, 1, 100, e), 0);
    assert_int_equal(soa_world_count_changed(w, p), 100);
    soa_world_clear_changed(w, p);
    assert_int_equal(soa_world_count_changed(w, p), 0);
    Pos v = {1, 2};
    soa_world_set(w, e[10], p, &v);
    soa_world_set(w, e[20], p, &v);
    assert_true(soa_world_is_changed(w, e[10], p));
    assert_false(soa_world_is_changed(w, e[11], p));
    /* Bits travel with their row into other tables. */
    soa_world_add(w, e[10], fr);
    soa_world_add(w, e[11], h); /* adding Health marks Health, not Pos */
    assert_true(soa_world_is_changed(w, e[10], p));
    assert_false(soa_world_is_changed(w, e[11], p));
    assert_true(soa_world_is_changed(w, e[11], h));
    count_calls = 0;
    assert_int_equal(soa_world_each_changed(w, p, count_entity, w), 2);
    assert_int_equal(count_calls, 2);
    /* A kernel's mark through a chunk counts like a set. */
    soa_query q = {&p, 1, NULL, 0};
    soa_query_iter it;
    soa_chunk ch;
    soa_query_begin(w, &q, &it);
    while (soa_query_next_chunk(&it, &ch))
        for (size_t i = ch.begin; i < ch.end; i++)
            if (ch.eids[i] == e[50])
                soa_bitset_set(soa_chunk_changed(&ch, 0), i);
    assert_true(soa_world_is_changed(w, e[50], p));
    assert_int_equal(soa_world_count_changed(w, p), 3);
    soa_world_despawn(w, e[20]); /* gone with its entity */
    assert_int_equal(soa_world_count_changed(w, p), 2);
    soa_world_clear_changed(w, SOA_CID_INVALID); /* every component */
    assert_int_equal(soa_world_count_changed(w, p), 0);
    assert_int_equal(soa_world_count_changed(w, h), 0);
    assert_false(soa_world_is_changed(w, e[11], fr)); /* a tag: never */
    end_world(w);
}

/* Every allocation that can fail does fail, one after another: each
 * failing call returns ENOMEM and leaves the world as it was. */
static void out_of_memory_leaves_the_world_intact(void **state)
{
    (void)state;
    for (long budget = 0; budget < 40; budget++) {
        soa_world *w = new_world();
        soa_cid p = soa_world_register(w, &pos_desc);
        soa_cid h = soa_world_register(w, &health_desc);
        soa_entity keep = soa_world_spawn(w);
        Pos v = {4, 5};
        assert_int_equal(soa_world_set(w, keep, p, &v), 0);
        ca.fail_after = budget;
        soa_entity e = soa_world_spawn(w);
        int rc = e == SOA_ENTITY_NULL ? -1 : soa_world_add(w, e, h);
        if (rc == 0)
            rc = soa_world_add(w, e, p);
        soa_cid set[2] = {p, h};
        if (rc == 0)
            rc = soa_world_spawn_n(w, set, 2, SOA_BLOCK_ROWS + 5, NULL);
        if (rc != 0)
            assert_int_equal(errno, ENOMEM);
        ca.fail_after = -1;
        /* Whatever failed, the rest of the world is intact and usable. */
        assert_true(soa_world_alive(w, keep));
        assert_true(pos_of(w, keep, p).y == 5.0f);
        size_t live = soa_world_entities(w);
        soa_query q = {NULL, 0, NULL, 0};
        soa_query_iter it;
        soa_query_begin(w, &q, &it);
        soa_entity x;
        size_t walked = 0;
        while (soa_query_next(&it, &x))
            walked++;
        assert_int_equal(walked, live);
        assert_int_equal(soa_world_spawn_n(w, set, 2, 10, NULL), 0);
        end_world(w);
    }
}

/* ---- the model ------------------------------------------------------ */

enum { MODEL_OPS = 40000, MODEL_SLOTS = 3000 };

typedef struct model_ent {
    soa_entity e;
    bool alive;
    bool has[3];      /* Pos, Health, Frozen */
    bool changed[2];  /* Pos, Health */
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

static model_ent *model_find(model_ent *m, size_t nm, soa_entity e)
{
    for (size_t i = 0; i < nm; i++)
        if (m[i].e == e)
            return &m[i];
    return NULL;
}

static bool model_match(const model_ent *x, const soa_query *q,
                        const soa_cid cid[3])
{
    if (!x->alive)
        return false;
    for (uint32_t k = 0; k < q->nall; k++)
        for (int c = 0; c < 3; c++)
            if (q->all[k] == cid[c] && !x->has[c])
                return false;
    for (uint32_t k = 0; k < q->nnone; k++)
        for (int c = 0; c < 3; c++)
            if (q->none[k] == cid[c] && x->has[c])
                return false;
    return true;
}

/* Every chunk of q holds exactly the model's matches, each once, with the
 * model's values in every column. */
static void check_query(soa_world *w, model_ent *m, size_t nm,
                        const soa_query *q, const soa_cid cid[3])
{
    size_t want = 0, found = 0;
    for (size_t i = 0; i < nm; i++)
        want += model_match(&m[i], q, cid);
    soa_query_iter it;
    assert_int_equal(soa_query_begin(w, q, &it), want);
    soa_chunk ch;
    static unsigned char seen[MODEL_OPS];
    memset(seen, 0, sizeof seen);
    while (soa_query_next_chunk(&it, &ch)) {
        for (size_t i = ch.begin; i < ch.end; i++) {
            model_ent *x = model_find(m, nm, ch.eids[i]);
            assert_non_null(x);
            assert_true(model_match(x, q, cid));
            assert_int_equal(seen[x - m]++, 0);
            for (uint32_t k = 0; k < q->nall; k++) {
                if (q->all[k] == cid[0]) {
                    const float *xs = soa_chunk_column(&ch, k, 0);
                    const float *ys = soa_chunk_column(&ch, k, 1);
                    assert_true(xs[i] == x->pos.x && ys[i] == x->pos.y);
                    assert_int_equal(
                        soa_bitset_test(soa_chunk_changed(&ch, k), i),
                        x->changed[0]);
                } else if (q->all[k] == cid[1]) {
                    const int32_t *hp = soa_chunk_column(&ch, k, 0);
                    assert_int_equal(hp[i], x->health.hp);
                }
            }
            found++;
        }
    }
    assert_int_equal(found, want);
}

static void check_model(soa_world *w, model_ent *m, size_t nm,
                        const soa_cid cid[3])
{
    size_t live = 0, n[3] = {0, 0, 0}, nch[2] = {0, 0};
    for (size_t i = 0; i < nm; i++) {
        const model_ent *x = &m[i];
        assert_int_equal(soa_world_alive(w, x->e), x->alive);
        for (int c = 0; c < 3; c++)
            assert_int_equal(soa_world_has(w, x->e, cid[c]),
                             x->alive && x->has[c]);
        if (!x->alive)
            continue;
        live++;
        for (int c = 0; c < 3; c++)
            n[c] += x->has[c];
        Pos p;
        Health h;
        if (x->has[0]) {
            assert_int_equal(soa_world_read(w, x->e, cid[0], &p), 0);
            assert_memory_equal(&p, &x->pos, sizeof p);
            assert_int_equal(soa_world_is_changed(w, x->e, cid[0]),
                             x->changed[0]);
            nch[0] += x->changed[0];
        }
        if (x->has[1]) {
            assert_int_equal(soa_world_read(w, x->e, cid[1], &h), 0);
            assert_int_equal(h.hp, x->health.hp);
            nch[1] += x->changed[1];
        }
    }
    assert_int_equal(soa_world_entities(w), live);
    for (int c = 0; c < 3; c++)
        assert_int_equal(soa_world_count(w, cid[c]), n[c]);
    assert_int_equal(soa_world_count_changed(w, cid[0]), nch[0]);
    assert_int_equal(soa_world_count_changed(w, cid[1]), nch[1]);
    soa_cid ph[2] = {cid[0], cid[1]}, hp[2] = {cid[1], cid[0]};
    soa_query qs[] = {
        {ph, 2, &cid[2], 1}, /* Pos & Health without Frozen */
        {hp, 2, NULL, 0},    /* the same terms the other way round */
        {&cid[2], 1, NULL, 0},
        {NULL, 0, &cid[0], 1}, /* everything without Pos */
        {NULL, 0, NULL, 0},    /* everything */
    };
    for (size_t k = 0; k < sizeof qs / sizeof qs[0]; k++)
        check_query(w, m, nm, &qs[k], cid);
}

/* One random operation on a random entity (dead ones included: stale
 * handles get exercised as often as live ones). */
static void model_step(soa_world *w, model_ent *m, size_t *nm,
                       const soa_cid cid[3], int op)
{
    model_ent *x = *nm ? &m[rnd((uint32_t)*nm)] : NULL;
    uint32_t kind = x ? rnd(12) : 0;
    if (kind == 0 && soa_world_entities(w) < MODEL_SLOTS) {
        soa_entity e = soa_world_spawn(w);
        assert_int_not_equal(e, SOA_ENTITY_NULL);
        assert_null(model_find(m, *nm, e)); /* never a handle reused */
        memset(&m[*nm], 0, sizeof m[*nm]);
        m[*nm].e = e;
        m[*nm].alive = true;
        (*nm)++;
    } else if (kind == 1 && x) {
        soa_world_despawn(w, x->e);
        x->alive = false;
    } else if (kind == 2 && x) {
        Pos v = {(float)rnd(1000), (float)op};
        assert_int_equal(soa_world_set(w, x->e, cid[0], &v), x->alive ? 0 : -1);
        if (x->alive) {
            x->has[0] = x->changed[0] = true;
            x->pos = v;
        }
    } else if ((kind == 3 || kind == 4) && x) {
        int c = kind - 3; /* add Pos or Health: defaults, marked, or as is */
        assert_int_equal(soa_world_add(w, x->e, cid[c]), x->alive ? 0 : -1);
        if (x->alive && !x->has[c]) {
            x->has[c] = x->changed[c] = true;
            if (c == 0)
                x->pos = pos_defaults;
            else
                x->health = health_defaults;
        }
    } else if (kind >= 5 && kind <= 7 && x) {
        int c = kind - 5;
        int rc = soa_world_remove(w, x->e, cid[c]);
        assert_int_equal(rc == 0, x->alive && x->has[c]);
        if (x->alive) {
            x->has[c] = false;
            if (c < 2)
                x->changed[c] = false;
        }
    } else if (kind == 8 && x) {
        assert_int_equal(soa_world_add(w, x->e, cid[2]), x->alive ? 0 : -1);
        if (x->alive)
            x->has[2] = true;
    } else if (kind == 9 && *nm + 40 < MODEL_OPS &&
               soa_world_entities(w) + 40 < MODEL_SLOTS) {
        soa_cid set[2] = {cid[rnd(2)], cid[2]};
        uint32_t nset = 1 + rnd(2);
        soa_entity e[40];
        size_t n = 1 + rnd(40);
        assert_int_equal(soa_world_spawn_n(w, set, nset, n, e), 0);
        for (size_t j = 0; j < n; j++) {
            model_ent *y = &m[(*nm)++];
            memset(y, 0, sizeof *y);
            y->e = e[j];
            y->alive = true;
            for (uint32_t k = 0; k < nset; k++) {
                int c = set[k] == cid[0] ? 0 : set[k] == cid[1] ? 1 : 2;
                y->has[c] = true;
                if (c < 2)
                    y->changed[c] = true;
            }
            y->pos = pos_defaults;
            y->health = health_defaults;
        }
    } else if (kind == 10 && rnd(50) == 0) {
        int c = (int)rnd(3); /* Pos, Health, or every component */
        soa_world_clear_changed(w, c < 2 ? cid[c] : SOA_CID_INVALID);
        for (size_t i = 0; i < *nm; i++)
            for (int k = 0; k < 2; k++)
                if (c == 2 || c == k)
                    m[i].changed[k] = false;
    } else if (kind == 11 && rnd(200) == 0) {
        /* Despawn everything with Health and Frozen. */
        soa_cid all[2] = {cid[1], cid[2]};
        soa_query q = {all, 2, NULL, 0};
        size_t want = 0;
        for (size_t i = 0; i < *nm; i++)
            if (model_match(&m[i], &q, cid)) {
                m[i].alive = false;
                want++;
            }
        assert_int_equal(soa_world_despawn_query(w, &q), want);
    } else if (x && x->alive && x->has[0]) {
        /* A write through a chunk, marked: what a kernel does. */
        soa_query q = {&cid[0], 1, NULL, 0};
        soa_query_iter it;
        soa_chunk ch;
        soa_query_begin(w, &q, &it);
        while (soa_query_next_chunk(&it, &ch))
            for (size_t i = ch.begin; i < ch.end; i++)
                if (ch.eids[i] == x->e) {
                    float *ys = soa_chunk_column(&ch, 0, 1);
                    ys[i] += 1.0f;
                    soa_bitset_set(soa_chunk_changed(&ch, 0), i);
                }
        x->pos.y += 1.0f;
        x->changed[0] = true;
    }
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
    for (int op = 0; op < MODEL_OPS && nm < MODEL_OPS - 45; op++) {
        model_step(w, m, &nm, cid, op);
        if (op % 1999 == 0)
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
        cmocka_unit_test(values_move_with_their_entity),
        cmocka_unit_test(blocks_hold_their_columns_in_place),
        cmocka_unit_test(bulk_spawn_and_despawn),
        cmocka_unit_test(small_batches_grow_geometrically),
        cmocka_unit_test(changed_bits_live_with_the_data),
        cmocka_unit_test(out_of_memory_leaves_the_world_intact),
        cmocka_unit_test(random_ops_match_a_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
