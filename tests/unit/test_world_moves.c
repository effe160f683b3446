/* test_world_moves: the world's cached moves between tables (an edge per
 * table and component added or removed, each with its plan of column
 * copies).  A model test over many tables, with columns of every element
 * size, tags, and components registered while edges already exist; and
 * plans made while tables are small, used after they grew by many
 * blocks.  Every value, changed bit, count and chunk is compared against
 * a trivially correct model. */
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

/* Hand-written descriptors, as soac would emit them: columns of 1, 2, 4
 * and 8 bytes, arrays, padding, no defaults, and tags. */
typedef struct Byte { uint8_t v; } Byte;
typedef struct Short3 { int16_t a[3]; } Short3;
typedef struct Pos { float x, y; } Pos;
typedef struct Wide { uint8_t tag; double mass; int16_t axes[3]; } Wide;
typedef struct Big { uint64_t v; } Big;
typedef struct Hp { int32_t hp; } Hp;

static const Byte byte_defaults = {9};
static const Short3 short3_defaults = {{1, -2, 3}};
static const Pos pos_defaults = {1.5f, -2.0f};
static const Wide wide_defaults = {7, 0.25, {1, 2, 3}};
static const Hp hp_defaults = {100};

static const soa_field_desc byte_fields[] = {{"v", SOA_U8, NULL, 1, 0}};
static const soa_field_desc short3_fields[] = {{"a", SOA_I16, NULL, 3, 0}};
static const soa_field_desc pos_fields[] = {
    {"x", SOA_F32, NULL, 1, offsetof(Pos, x)},
    {"y", SOA_F32, NULL, 1, offsetof(Pos, y)},
};
static const soa_field_desc wide_fields[] = {
    {"tag", SOA_U8, NULL, 1, offsetof(Wide, tag)},
    {"mass", SOA_F64, NULL, 1, offsetof(Wide, mass)},
    {"axes", SOA_I16, NULL, 3, offsetof(Wide, axes)},
};
static const soa_field_desc big_fields[] = {{"v", SOA_U64, NULL, 1, 0}};
static const soa_field_desc hp_fields[] = {{"hp", SOA_I32, NULL, 1, 0}};

#define DESC(name, hash, T, defs, fields)                                    \
    {name, hash, sizeof(T), _Alignof(T), defs,                               \
     sizeof fields / sizeof fields[0], fields}

/* The model's components, in registration order: the first FIRST at the
 * start, the rest only after edges exist (and after the fillers, so their
 * cids are past the first edge arrays' capacity). */
enum { NC = 8, FIRST = 4, FILLERS = 12, MAXV = 32 };
static const soa_component_desc comps[NC] = {
    DESC("Byte", 0x101, Byte, &byte_defaults, byte_fields),
    DESC("Short3", 0x102, Short3, &short3_defaults, short3_fields),
    {"Tag1", 0x103, 0, 0, NULL, 0, NULL},
    DESC("Wide", 0x104, Wide, &wide_defaults, wide_fields),
    DESC("Big", 0x105, Big, NULL, big_fields), /* no defaults: zeros */
    {"Tag2", 0x106, 0, 0, NULL, 0, NULL},
    DESC("Pos", 0x107, Pos, &pos_defaults, pos_fields),
    DESC("Hp", 0x108, Hp, &hp_defaults, hp_fields),
};

/* Registers FILLERS tags nobody uses, so what is registered next gets
 * cids past the edge arrays made so far (idempotent: same names). */
static void register_fillers(soa_world *w)
{
    static char names[FILLERS][24];
    static soa_component_desc fillers[FILLERS];
    for (int f = 0; f < FILLERS; f++) {
        snprintf(names[f], sizeof names[f], "Filler%d", f);
        fillers[f] = (soa_component_desc){names[f], 0x900u + (unsigned)f, 0,
                                          0, NULL, 0, NULL};
        assert_int_not_equal(soa_world_register(w, &fillers[f]),
                             SOA_CID_INVALID);
    }
}

/* ---- the model ------------------------------------------------------ */

enum { OPS = 30000, MAXE = 4000, LIVE = 500 };

typedef struct ment {
    soa_entity e;
    bool alive;
    bool has[NC], changed[NC];
    unsigned char v[NC][MAXV]; /* the C value, padding zero */
} ment;

static uint64_t rng = 0x243F6A8885A308D3u;
static uint32_t rnd(uint32_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng % n);
}

/* The fields of a value of d copied from src into dst (padding stays as
 * dst has it); src NULL: zeros. */
static void copy_fields(const soa_component_desc *d, unsigned char *dst,
                        const void *src)
{
    for (uint32_t f = 0; f < d->nfields; f++) {
        const soa_field_desc *fd = &d->fields[f];
        size_t n = soa_scalar_size(fd->type) * fd->count;
        if (src)
            memcpy(dst + fd->offset, (const unsigned char *)src + fd->offset, n);
        else
            memset(dst + fd->offset, 0, n);
    }
}

/* A random value of d, padding zero (floats from small integers, so every
 * bit pattern compares equal to itself). */
static void random_value(const soa_component_desc *d, unsigned char *out)
{
    memset(out, 0, MAXV);
    for (uint32_t f = 0; f < d->nfields; f++) {
        const soa_field_desc *fd = &d->fields[f];
        size_t size = soa_scalar_size(fd->type);
        for (uint32_t k = 0; k < fd->count; k++) {
            unsigned char *p = out + fd->offset + k * size;
            int32_t x = (int32_t)rnd(2000) - 1000;
            if (fd->type == SOA_F32) {
                float v = (float)x;
                memcpy(p, &v, 4);
            } else if (fd->type == SOA_F64) {
                double v = (double)x / 4;
                memcpy(p, &v, 8);
            } else {
                uint64_t v = (uint64_t)(int64_t)x * 0x10001u;
                memcpy(p, &v, size);
            }
        }
    }
}

typedef struct model {
    soa_world *w;
    soa_cid cid[NC];
    uint32_t registered;
    ment *m;
    size_t nm, live;
} model;

static void check_model(const model *md)
{
    size_t count[NC] = {0};
    for (size_t i = 0; i < md->nm; i++) {
        const ment *x = &md->m[i];
        assert_int_equal(soa_world_alive(md->w, x->e), x->alive);
        for (uint32_t k = 0; x->alive && k < md->registered; k++) {
            soa_cid c = md->cid[k];
            assert_int_equal(soa_world_has(md->w, x->e, c), x->has[k]);
            assert_int_equal(soa_world_is_changed(md->w, x->e, c),
                             x->has[k] && x->changed[k]);
            count[k] += x->has[k];
            if (!x->has[k] || !comps[k].size)
                continue;
            unsigned char got[MAXV];
            memset(got, 0xAB, sizeof got);
            assert_int_equal(soa_world_read(md->w, x->e, c, got), 0);
            assert_memory_equal(got, x->v[k], comps[k].size);
        }
    }
    for (uint32_t k = 0; k < md->registered; k++)
        assert_int_equal(soa_world_count(md->w, md->cid[k]), count[k]);
    assert_int_equal(soa_world_entities(md->w), md->live);
}

static ment *model_find(const model *md, soa_entity e)
{
    for (size_t i = 0; i < md->nm; i++)
        if (md->m[i].e == e)
            return &md->m[i];
    return NULL;
}

/* Every chunk of "all k" holds the model's entities with k, each column
 * element equal to the model's field. */
static void check_chunks(const model *md, uint32_t k)
{
    const soa_component_desc *d = &comps[k];
    soa_query q = {&md->cid[k], 1, NULL, 0};
    soa_query_iter it;
    soa_chunk ch;
    size_t seen = 0;
    soa_query_begin(md->w, &q, &it);
    while (soa_query_next_chunk(&it, &ch)) {
        for (size_t i = ch.begin; i < ch.end; i++) {
            const ment *x = model_find(md, ch.eids[i]);
            assert_non_null(x);
            assert_true(x->alive && x->has[k]);
            uint32_t col = 0;
            for (uint32_t f = 0; f < d->nfields; f++) {
                const soa_field_desc *fd = &d->fields[f];
                size_t size = soa_scalar_size(fd->type);
                for (uint32_t a = 0; a < fd->count; a++, col++) {
                    const unsigned char *c = soa_chunk_column(&ch, 0, col);
                    assert_non_null(c);
                    assert_memory_equal(c + i * size,
                                        x->v[k] + fd->offset + a * size, size);
                }
            }
            seen++;
        }
    }
    assert_int_equal(seen, soa_world_count(md->w, md->cid[k]));
}

static void model_add(model *md, ment *x, uint32_t k)
{
    int rc = soa_world_add(md->w, x->e, md->cid[k]);
    assert_int_equal(rc, x->alive ? 0 : -1);
    if (!x->alive || x->has[k])
        return;
    x->has[k] = true;
    x->changed[k] = comps[k].size != 0;
    memset(x->v[k], 0, MAXV);
    copy_fields(&comps[k], x->v[k], comps[k].defaults);
}

static void model_spawn_n(model *md)
{
    soa_cid set[3];
    uint32_t ks[3], n = 0;
    for (uint32_t tries = 0; tries < 3; tries++) {
        uint32_t k = rnd(md->registered);
        bool dup = false;
        for (uint32_t j = 0; j < n; j++)
            dup |= ks[j] == k;
        if (!dup) {
            ks[n] = k;
            set[n++] = md->cid[k];
        }
    }
    soa_entity e[64];
    size_t count = 1 + rnd(64);
    assert_int_equal(soa_world_spawn_n(md->w, set, n, count, e), 0);
    for (size_t j = 0; j < count; j++) {
        ment *y = &md->m[md->nm++];
        memset(y, 0, sizeof *y);
        y->e = e[j];
        y->alive = true;
        for (uint32_t i = 0; i < n; i++) {
            uint32_t k = ks[i];
            y->has[k] = true;
            y->changed[k] = comps[k].size != 0;
            copy_fields(&comps[k], y->v[k], comps[k].defaults);
        }
    }
    md->live += count;
}

/* One random operation on a random entity (dead ones too). */
static void model_step(model *md)
{
    ment *x = md->nm ? &md->m[rnd((uint32_t)md->nm)] : NULL;
    uint32_t op = x ? rnd(10) : 0, k = rnd(md->registered);
    if (op == 0 && md->live < LIVE && md->nm < MAXE) {
        ment *y = &md->m[md->nm++];
        memset(y, 0, sizeof *y);
        y->e = soa_world_spawn(md->w);
        assert_int_not_equal(y->e, SOA_ENTITY_NULL);
        y->alive = true;
        md->live++;
    } else if (op == 1 && x) {
        soa_world_despawn(md->w, x->e);
        md->live -= x->alive;
        x->alive = false;
    } else if ((op == 2 || op == 3) && x) {
        model_add(md, x, k);
    } else if (op == 4 && x && comps[k].size) {
        unsigned char v[MAXV];
        random_value(&comps[k], v);
        assert_int_equal(soa_world_set(md->w, x->e, md->cid[k], v),
                         x->alive ? 0 : -1);
        if (x->alive) {
            x->has[k] = x->changed[k] = true;
            memcpy(x->v[k], v, MAXV);
        }
    } else if ((op == 5 || op == 6 || op == 7) && x) {
        int rc = soa_world_remove(md->w, x->e, md->cid[k]);
        assert_int_equal(rc == 0, x->alive && x->has[k]);
        if (x->alive)
            x->has[k] = x->changed[k] = false;
    } else if (op == 8 && md->nm + 64 <= MAXE && md->live + 64 <= LIVE) {
        model_spawn_n(md);
    } else if (op == 9 && rnd(40) == 0) {
        bool all = rnd(2);
        soa_world_clear_changed(md->w, all ? SOA_CID_INVALID : md->cid[k]);
        for (size_t i = 0; i < md->nm; i++)
            for (uint32_t j = 0; j < NC; j++)
                if (all || j == k)
                    md->m[i].changed[j] = false;
    }
}

/* Components registered after tables and edges exist (with fillers in
 * between, so the new cids lie past every edge array made so far) get
 * edges of their own, and the old edges still lead where they did. */
static void many_tables_match_a_model(void **state)
{
    (void)state;
    static ment m[MAXE];
    /* The heap: hundreds of tables, each with its edges, outnumber what
     * the counting allocator tracks (LeakSanitizer checks the frees). */
    model md = {soa_world_create(NULL), {0}, 0, m, 0, 0};
    assert_non_null(md.w);
    for (; md.registered < FIRST; md.registered++)
        md.cid[md.registered] = soa_world_register(md.w, &comps[md.registered]);
    for (int op = 0; op < OPS; op++) {
        if (op == OPS / 3) {
            register_fillers(md.w);
            for (; md.registered < NC; md.registered++) {
                md.cid[md.registered] =
                    soa_world_register(md.w, &comps[md.registered]);
                assert_true(md.cid[md.registered] >= 8);
            }
            check_model(&md);
        }
        model_step(&md);
        if (op % 1499 == 0)
            check_model(&md);
    }
    check_model(&md);
    for (uint32_t k = 0; k < NC; k++)
        if (comps[k].size)
            check_chunks(&md, k);
    soa_world_destroy(md.w);
}

/* ---- plans after growth --------------------------------------------- */

static Pos pos_at(size_t i)
{
    Pos p = {(float)i, -(float)i};
    return p;
}

/* An edge's plan is made while both tables have one block; then both grow
 * by several blocks and rows move between their later blocks, both ways:
 * values and changed bits land where the model says. */
static void plans_survive_table_growth(void **state)
{
    (void)state;
    soa_world *w = new_world();
    soa_cid p = soa_world_register(w, &comps[6]);
    soa_cid t = soa_world_register(w, &comps[2]);
    soa_cid b = soa_world_register(w, &comps[0]);
    soa_entity first = soa_world_spawn(w);
    assert_int_equal(soa_world_add(w, first, p), 0);
    assert_int_equal(soa_world_add(w, first, t), 0);   /* the edges, made */
    assert_int_equal(soa_world_remove(w, first, t), 0); /* while small */
    const size_t n = 3 * SOA_BLOCK_ROWS + 77;
    soa_entity *e = malloc(n * sizeof *e);
    assert_non_null(e);
    soa_cid pb[2] = {p, b};
    assert_int_equal(soa_world_spawn_n(w, pb, 2, n / 2, e), 0);
    assert_int_equal(soa_world_spawn_n(w, &p, 1, n - n / 2, e + n / 2), 0);
    for (size_t i = 0; i < n; i++) {
        Pos v = pos_at(i);
        assert_int_equal(soa_world_set(w, e[i], p, &v), 0);
    }
    soa_world_clear_changed(w, SOA_CID_INVALID);
    for (size_t i = 0; i < n; i += 3) {
        Pos v = pos_at(i);
        assert_int_equal(soa_world_set(w, e[i], p, &v), 0);
    }
    for (size_t i = 0; i < n; i += 2)
        assert_int_equal(soa_world_add(w, e[i], t), 0);
    for (size_t i = n; i-- > 0;)
        if (i % 4 == 0)
            assert_int_equal(soa_world_remove(w, e[i], t), 0);
    size_t tagged = 0;
    for (size_t i = 0; i < n; i++) {
        bool want = i % 2 == 0 && i % 4 != 0;
        tagged += want;
        assert_int_equal(soa_world_has(w, e[i], t), want);
        assert_int_equal(soa_world_has(w, e[i], b), i < n / 2);
        Pos got;
        assert_int_equal(soa_world_read(w, e[i], p, &got), 0);
        assert_true(got.x == pos_at(i).x && got.y == pos_at(i).y);
        assert_int_equal(soa_world_is_changed(w, e[i], p), i % 3 == 0);
        if (i < n / 2) { /* Byte came along untouched, still unmarked */
            Byte bv;
            assert_int_equal(soa_world_read(w, e[i], b, &bv), 0);
            assert_int_equal(bv.v, byte_defaults.v);
            assert_false(soa_world_is_changed(w, e[i], b));
        }
    }
    assert_int_equal(soa_world_count(w, t), tagged);
    assert_int_equal(soa_world_count(w, p), n + 1);
    /* Despawning fills holes from the last rows, across blocks. */
    for (size_t i = 0; i < n; i += 5)
        soa_world_despawn(w, e[i]);
    for (size_t i = 1; i < n; i += 5) {
        Pos got;
        assert_int_equal(soa_world_read(w, e[i], p, &got), 0);
        assert_true(got.x == pos_at(i).x && got.y == pos_at(i).y);
        assert_int_equal(soa_world_is_changed(w, e[i], p), i % 3 == 0);
    }
    free(e);
    end_world(w);
}

/* Once its edges are known, a move allocates nothing, also for a
 * component registered after them (whose cid lies past the edge arrays
 * first made), and registering more does not disturb the known edges. */
static void known_edges_allocate_nothing(void **state)
{
    (void)state;
    soa_world *w = new_world();
    soa_cid p = soa_world_register(w, &comps[6]);
    soa_entity e = soa_world_spawn(w);
    Pos v = {3, 4};
    assert_int_equal(soa_world_set(w, e, p, &v), 0);
    register_fillers(w);
    soa_cid t = soa_world_register(w, &comps[2]);
    assert_true(t >= 8);
    assert_int_equal(soa_world_add(w, e, t), 0);
    assert_int_equal(soa_world_remove(w, e, t), 0);
    size_t allocs = ca.allocs;
    for (int k = 0; k < 100; k++) {
        assert_int_equal(soa_world_add(w, e, t), 0);
        assert_int_equal(soa_world_remove(w, e, t), 0);
    }
    assert_int_equal(ca.allocs, allocs);
    soa_cid h = soa_world_register(w, &comps[7]); /* one more, later */
    assert_int_equal(soa_world_add(w, e, h), 0);
    assert_int_equal(soa_world_add(w, e, t), 0);
    assert_int_equal(soa_world_remove(w, e, h), 0);
    allocs = ca.allocs;
    for (int k = 0; k < 100; k++) {
        assert_int_equal(soa_world_remove(w, e, t), 0);
        assert_int_equal(soa_world_add(w, e, t), 0);
    }
    assert_int_equal(ca.allocs, allocs);
    assert_true(soa_world_has(w, e, t) && !soa_world_has(w, e, h));
    Pos got;
    assert_int_equal(soa_world_read(w, e, p, &got), 0);
    assert_true(got.x == 3 && got.y == 4 && soa_world_is_changed(w, e, p));
    end_world(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(many_tables_match_a_model),
        cmocka_unit_test(plans_survive_table_growth),
        cmocka_unit_test(known_edges_allocate_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
