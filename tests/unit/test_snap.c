/* test_snap: the system machinery of soa/system.h, driven by hand-written
 * layout tables (no generated code): layouts the runtime refuses; build,
 * run and commit of scalar, enum-sized, f64 and array columns, tags and
 * `without` terms, checked against a plain model of the world through
 * despawns, removals and recycled slots; parallel build/commit equal to
 * serial; chunking; storage reuse; out of memory; the shared-memory
 * header round trip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "soa/soa.h"
#include "../../runtime/src/internal.h"
#include "counting_alloc.h"
#include "world_get.h"

/* ---- three components, written by hand as soac would ---------------- */

typedef struct Pos {
    float x, y;
} Pos;

typedef struct Body {
    uint8_t kind;
    double mass;
    float axes[3];
    int16_t spin;
} Body;

static const Pos pos_default = {0.0f, 0.0f};
static const Body body_default = {3, 1.5, {0.0f, 0.0f, 0.0f}, -1};

static const soa_field_desc pos_fields[] = {
    {"x", SOA_F32, NULL, 1, offsetof(Pos, x)},
    {"y", SOA_F32, NULL, 1, offsetof(Pos, y)},
};
static const soa_field_desc body_fields[] = {
    {"kind", SOA_U8, "Kind", 1, offsetof(Body, kind)},
    {"mass", SOA_F64, NULL, 1, offsetof(Body, mass)},
    {"axes", SOA_F32, NULL, 3, offsetof(Body, axes)},
    {"spin", SOA_I16, NULL, 1, offsetof(Body, spin)},
};
static const soa_component_desc Pos_desc = {
    "Pos", 0x1111, sizeof(Pos), _Alignof(Pos), &pos_default, 2, pos_fields};
static const soa_component_desc Body_desc = {
    "Body", 0x2222, sizeof(Body), _Alignof(Body), &body_default, 4,
    body_fields};
static const soa_component_desc Tag_desc = {"Tag", 0x3333, 0, 0, NULL, 0,
                                            NULL};

/* ---- system Mix { read Pos; write Body; without Tag; } --------------- */

typedef struct Pos_cols {
    float *x, *y;
    uint64_t *changed;
    size_t cap;
} Pos_cols;

typedef struct Body_cols {
    uint8_t *kind;
    double *mass;
    float *axes[3];
    int16_t *spin;
    uint64_t *changed;
    size_t cap;
} Body_cols;

typedef struct Mix_snap {
    size_t rows, cap;
    soa_entity *eids;
    soa_snap_core soa;
    Pos_cols Pos;
    Body_cols Body;
} Mix_snap;

typedef struct Mix_view {
    size_t begin, end;
    const soa_entity *eids;
    struct {
        const float *x, *y;
    } Pos;
    struct {
        uint8_t *kind;
        double *mass;
        float *axes[3];
        int16_t *spin;
        uint64_t *changed;
    } Body;
} Mix_view;

typedef void (*Mix_kernel)(const Mix_view *, const soa_frame *, void *);

static void Mix_call(const soa_view_src *src, soa_fn k, const soa_frame *f,
                     void *ctx)
{
    Mix_view v;
    soa_view_fill(src, &v, sizeof v);
    ((Mix_kernel)k)(&v, f, ctx);
}

#define COL(C, f, k, T, S, V)                                                  \
    {offsetof(C, f) + (k) * sizeof(T), sizeof(T),                             \
     offsetof(S, C.f) + (k) * sizeof(T *), offsetof(V, C.f) + (k) * sizeof(T *)}

static const soa_sys_col mix_cols[] = {
    COL(Pos, x, 0, float, Mix_snap, Mix_view),
    COL(Pos, y, 0, float, Mix_snap, Mix_view),
    COL(Body, kind, 0, uint8_t, Mix_snap, Mix_view),
    COL(Body, mass, 0, double, Mix_snap, Mix_view),
    COL(Body, axes, 0, float, Mix_snap, Mix_view),
    COL(Body, axes, 1, float, Mix_snap, Mix_view),
    COL(Body, axes, 2, float, Mix_snap, Mix_view),
    COL(Body, spin, 0, int16_t, Mix_snap, Mix_view),
};

static const soa_sys_term mix_terms[] = {
    {&Pos_desc, SOA_ACCESS_READ, 0, 2, offsetof(Mix_snap, Pos.changed),
     offsetof(Mix_snap, Pos.cap), 0},
    {&Body_desc, SOA_ACCESS_WRITE, 2, 6, offsetof(Mix_snap, Body.changed),
     offsetof(Mix_snap, Body.cap), offsetof(Mix_view, Body.changed)},
    {&Tag_desc, SOA_ACCESS_WITHOUT, 0, 0, 0, 0, 0},
};

static const soa_sys_layout mix_layout = {
    "Mix", 0xabcd, 3, mix_terms, 8, mix_cols,
    sizeof(Mix_snap), _Alignof(Mix_snap), offsetof(Mix_snap, soa),
    sizeof(Mix_view), Mix_call};

/* ---- system Tagged { read Tag; } : no columns at all ---------------- */

typedef struct Tagged_snap {
    size_t rows, cap;
    soa_entity *eids;
    soa_snap_core soa;
} Tagged_snap;

typedef struct Tagged_view {
    size_t begin, end;
    const soa_entity *eids;
} Tagged_view;

typedef void (*Tagged_kernel)(const Tagged_view *, const soa_frame *, void *);

static void Tagged_call(const soa_view_src *src, soa_fn k, const soa_frame *f,
                        void *ctx)
{
    Tagged_view v;
    soa_view_fill(src, &v, sizeof v);
    ((Tagged_kernel)k)(&v, f, ctx);
}

static const soa_sys_term tagged_terms[] = {
    {&Tag_desc, SOA_ACCESS_READ, 0, 0, 0, 0, 0},
};

static const soa_sys_layout tagged_layout = {
    "Tagged", 0xbeef, 1, tagged_terms, 0, NULL,
    sizeof(Tagged_snap), _Alignof(Tagged_snap), offsetof(Tagged_snap, soa),
    sizeof(Tagged_view), Tagged_call};

/* ---- a model of the world ------------------------------------------- */

/* Entity i of a fixture: has Pos unless i % 5 == 4, Body unless
 * i % 3 == 2, Tag when i % 7 == 6.  Values are derived from i. */
typedef struct fixture {
    soa_world *w;
    soa_cid pos, body, tag;
    size_t n;
    soa_entity *e;
} fixture;

static Pos pos_of(size_t i)
{
    Pos p = {(float)i, -(float)i};
    return p;
}

static Body body_of(size_t i)
{
    Body b = body_default;
    b.kind = (uint8_t)(i % 251);
    b.mass = (double)i * 0.5;
    b.axes[0] = (float)i;
    b.axes[1] = (float)(i * 2);
    b.axes[2] = (float)(i * 3);
    b.spin = (int16_t)(i % 30000);
    return b;
}

static void fixture_init(fixture *f, size_t n, soa_alloc *a)
{
    f->w = soa_world_create(a);
    assert_non_null(f->w);
    f->pos = soa_world_register(f->w, &Pos_desc);
    f->body = soa_world_register(f->w, &Body_desc);
    f->tag = soa_world_register(f->w, &Tag_desc);
    f->n = n;
    f->e = calloc(n ? n : 1, sizeof *f->e);
    assert_non_null(f->e);
    for (size_t i = 0; i < n; i++) {
        f->e[i] = soa_world_spawn(f->w);
        Pos p = pos_of(i);
        Body b = body_of(i);
        if (i % 5 != 4)
            assert_int_equal(soa_world_set(f->w, f->e[i], f->pos, &p), 0);
        if (i % 3 != 2)
            assert_int_equal(soa_world_set(f->w, f->e[i], f->body, &b), 0);
        if (i % 7 == 6)
            assert_int_equal(soa_world_add(f->w, f->e[i], f->tag), 0);
    }
}

static void fixture_free(fixture *f)
{
    soa_world_destroy(f->w);
    free(f->e);
}

static bool mix_matches(const soa_world *w, const fixture *f, soa_entity e)
{
    return soa_world_has(w, e, f->pos) && soa_world_has(w, e, f->body) &&
           !soa_world_has(w, e, f->tag);
}

/* Every row of a built Mix snapshot holds its entity's values, every
 * matching entity has exactly one row, and no bit is marked. */
static void check_snapshot(const fixture *f, const Mix_snap *s)
{
    size_t want = 0;
    for (size_t i = 0; i < f->n; i++)
        want += mix_matches(f->w, f, f->e[i]);
    assert_int_equal(s->rows, want);
    for (size_t r = 0; r < s->rows; r++) {
        soa_entity e = s->eids[r];
        assert_true(mix_matches(f->w, f, e));
        for (size_t q = 0; q < r && r < 300; q++)
            assert_true(s->eids[q] != e);
        const Pos *p = world_get(f->w, e, f->pos);
        const Body *b = world_get(f->w, e, f->body);
        assert_true(s->Pos.x[r] == p->x && s->Pos.y[r] == p->y);
        assert_int_equal(s->Body.kind[r], b->kind);
        assert_true(s->Body.mass[r] == b->mass);
        for (int k = 0; k < 3; k++)
            assert_true(s->Body.axes[k][r] == b->axes[k]);
        assert_int_equal(s->Body.spin[r], b->spin);
        assert_false(soa_bitset_test(s->Body.changed, r));
    }
}

/* ---- kernels -------------------------------------------------------- */

typedef struct seen {
    size_t rows;          /* rows every chunk saw, summed */
    int bad;              /* a chunk boundary was not a multiple of 64 */
} seen;

/* Adds Pos.x to mass and Pos.y to axes[1] on rows whose entity index is
 * odd, marks them; counts rows. */
static void mix_kernel(const Mix_view *v, const soa_frame *f, void *ctx)
{
    seen *s = ctx;
    if (v->begin % 64u)
        __atomic_store_n(&s->bad, 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&s->rows, v->end - v->begin, __ATOMIC_RELAXED);
    for (size_t i = v->begin; i < v->end; i++) {
        if (soa_entity_index(v->eids[i]) % 2 == 0)
            continue;
        v->Body.mass[i] += (double)v->Pos.x[i] * f->dt;
        v->Body.axes[1][i] += v->Pos.y[i];
        v->Body.kind[i] = (uint8_t)(v->Body.kind[i] + 1);
        v->Body.spin[i] = (int16_t)-v->Body.spin[i];
        soa_bitset_set(v->Body.changed, i);
    }
}

/* What mix_kernel does to one value. */
static Body mix_apply(Body b, Pos p, double dt)
{
    b.mass += (double)p.x * dt;
    b.axes[1] += p.y;
    b.kind = (uint8_t)(b.kind + 1);
    b.spin = (int16_t)-b.spin;
    return b;
}

static bool body_equal(const Body *a, const Body *b)
{
    return a->kind == b->kind && a->mass == b->mass &&
           a->axes[0] == b->axes[0] && a->axes[1] == b->axes[1] &&
           a->axes[2] == b->axes[2] && a->spin == b->spin;
}

/* ---- tests ---------------------------------------------------------- */

static void bad_layouts_are_refused(void **state)
{
    (void)state;
    Mix_snap s;
    soa_sys_layout L = mix_layout;
    soa_sys_col cols[8];
    soa_sys_term terms[3];
    assert_int_equal(soa_snap_init(&s, &L, NULL), 0);
    soa_snap_release(&s);
    errno = 0;
    assert_int_equal(soa_snap_init(NULL, &L, NULL), -1);
    assert_int_equal(errno, EINVAL);
    assert_int_equal(soa_snap_init(&s, NULL, NULL), -1);

    L.snap_core += 8; /* a header whose S_snap starts otherwise */
    assert_int_equal(soa_snap_init(&s, &L, NULL), -1);
    L = mix_layout;
    L.call = NULL;
    assert_int_equal(soa_snap_init(&s, &L, NULL), -1);
    L = mix_layout;
    L.view_size = sizeof(soa_view_head) - 1;
    assert_int_equal(soa_snap_init(&s, &L, NULL), -1);

    memcpy(cols, mix_cols, sizeof cols);
    L = mix_layout;
    L.cols = cols;
    cols[3].size = 3; /* not 1, 2, 4, 8 */
    assert_int_equal(soa_snap_init(&s, &L, NULL), -1);
    memcpy(cols, mix_cols, sizeof cols);
    cols[0].offset = sizeof(Pos) - 2; /* past the value */
    assert_int_equal(soa_snap_init(&s, &L, NULL), -1);
    memcpy(cols, mix_cols, sizeof cols);
    cols[5].snap = sizeof(Mix_snap); /* past the snapshot */
    assert_int_equal(soa_snap_init(&s, &L, NULL), -1);
    memcpy(cols, mix_cols, sizeof cols);
    cols[5].view = 0; /* over the view's head */
    assert_int_equal(soa_snap_init(&s, &L, NULL), -1);

    memcpy(terms, mix_terms, sizeof terms);
    L = mix_layout;
    L.terms = terms;
    terms[1].col0 = 3; /* columns must follow each other */
    assert_int_equal(soa_snap_init(&s, &L, NULL), -1);
    memcpy(terms, mix_terms, sizeof terms);
    terms[0] = mix_terms[2]; /* a `without` before an `all` term */
    terms[2] = mix_terms[0];
    assert_int_equal(soa_snap_init(&s, &L, NULL), -1);
    memcpy(terms, mix_terms, sizeof terms);
    terms[1].access = (soa_access)7;
    assert_int_equal(soa_snap_init(&s, &L, NULL), -1);
    memcpy(terms, mix_terms, sizeof terms);
    terms[1].ncols = 5; /* leaves a column to nobody */
    assert_int_equal(soa_snap_init(&s, &L, NULL), -1);
    L = mix_layout;
    L.ncols = SOA_SYS_MAX_COLS + 1;
    assert_int_equal(soa_snap_init(&s, &L, NULL), -1);
}

static void build_gathers_exactly_the_matching_entities(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f, 1000, NULL);
    Mix_snap s;
    assert_int_equal(soa_snap_init(&s, &mix_layout, NULL), 0);
    assert_null(s.eids); /* nothing allocated before the first build */
    assert_int_equal(soa_snap_build(&s, f.w), 0);
    assert_true(s.cap >= s.rows && s.cap % 64 == 0);
    assert_int_equal(s.Pos.cap, s.cap);
    assert_int_equal(s.Body.cap, s.cap);
    check_snapshot(&f, &s);
    soa_snap_release(&s);
    assert_int_equal(s.rows, 0);
    assert_null(s.eids);
    assert_null(s.Body.axes[2]);
    soa_snap_release(&s); /* twice is fine */
    fixture_free(&f);
}

/* Runs mix_kernel and commits, frame after frame, against a model of the
 * Body values, with entities dying, losing Body, gaining Tag and being
 * spawned into recycled slots between build and commit. */
static void run_and_commit_follow_a_model(void **state)
{
    (void)state;
    enum { N = 3000, FRAMES = 8 };
    fixture f;
    fixture_init(&f, N, NULL);
    Body *model = calloc(N, sizeof *model);
    assert_non_null(model);
    for (size_t i = 0; i < N; i++)
        model[i] = body_of(i);
    soa_pool *pool = soa_pool_create(3);
    assert_non_null(pool);
    Mix_snap s;
    assert_int_equal(soa_snap_init(&s, &mix_layout, NULL), 0);
    for (int frame = 0; frame < FRAMES; frame++) {
        soa_frame fr = {0.25, frame * 0.25, (uint64_t)frame};
        assert_int_equal(soa_snap_build(&s, f.w), 0);
        check_snapshot(&f, &s);
        seen sn = {0, 0};
        assert_int_equal(soa_snap_run(&s, frame % 2 ? pool : NULL,
                                      (soa_fn)mix_kernel, &fr, &sn), 0);
        assert_int_equal(sn.rows, s.rows);
        assert_int_equal(sn.bad, 0);
        /* Between run and commit the world changes under the snapshot. */
        size_t victim = (size_t)(frame * 37 + 1) % N;
        soa_world_despawn(f.w, f.e[victim]);
        soa_entity reborn = soa_world_spawn(f.w); /* reuses the slot */
        assert_int_equal(soa_entity_index(reborn),
                         soa_entity_index(f.e[victim]));
        Body other = body_of(7);
        soa_world_set(f.w, reborn, f.body, &other);
        size_t loser = (size_t)(frame * 53 + 3) % N;
        soa_world_remove(f.w, f.e[loser], f.body);
        size_t want = 0;
        for (size_t r = 0; r < s.rows; r++)
            if (soa_bitset_test(s.Body.changed, r) &&
                soa_world_alive(f.w, s.eids[r]) &&
                soa_world_has(f.w, s.eids[r], f.body))
                want++;
        size_t got = soa_snap_commit(&s, f.w);
        assert_int_equal(got, want);
        for (size_t i = 0; i < N; i++) {
            soa_entity e = f.e[i];
            bool ran = false;
            for (size_t r = 0; r < s.rows && !ran; r++)
                ran = s.eids[r] == e && soa_bitset_test(s.Body.changed, r);
            if (ran && soa_world_alive(f.w, e) && soa_world_has(f.w, e, f.body))
                model[i] = mix_apply(model[i], pos_of(i), fr.dt);
            if (i == victim) {
                f.e[i] = reborn;
                model[i] = other;
            }
            const Body *b = world_get(f.w, f.e[i], f.body);
            if (b)
                assert_true(body_equal(b, &model[i]));
        }
        /* The reborn entity never had a row: its value is untouched. */
        assert_true(body_equal(world_get(f.w, reborn, f.body),
                               &other));
    }
    soa_snap_release(&s);
    soa_pool_destroy(pool);
    free(model);
    fixture_free(&f);
}

/* Build and commit on pools of 1 to 4 threads give the serial result,
 * with and without gaps in the walk (entities missing a component). */
static void parallel_equals_serial(void **state)
{
    (void)state;
    enum { N = 3 * SOA_SNAP_PARALLEL_ROWS + 777 };
    for (unsigned threads = 1; threads <= 4; threads++) {
        for (int gaps = 0; gaps < 2; gaps++) {
            fixture a, b;
            fixture_init(&a, gaps ? N : 0, NULL);
            fixture_init(&b, gaps ? N : 0, NULL);
            if (!gaps) {
                /* Every entity matches: the walk runs on the pool. */
                fixture *fs[2] = {&a, &b};
                for (int k = 0; k < 2; k++) {
                    fixture *f = fs[k];
                    free(f->e);
                    f->e = calloc(N, sizeof *f->e);
                    f->n = N;
                    for (size_t i = 0; i < N; i++) {
                        Pos p = pos_of(i);
                        Body bd = body_of(i);
                        f->e[i] = soa_world_spawn(f->w);
                        soa_world_set(f->w, f->e[i], f->pos, &p);
                        soa_world_set(f->w, f->e[i], f->body, &bd);
                    }
                }
            }
            soa_pool *pool = soa_pool_create(threads);
            Mix_snap sa, sb;
            soa_snap_init(&sa, &mix_layout, NULL);
            soa_snap_init(&sb, &mix_layout, NULL);
            for (int frame = 0; frame < 3; frame++) {
                soa_frame fr = {0.5, 0, 0};
                seen x = {0, 0}, y = {0, 0};
                assert_int_equal(soa_snap_build(&sa, a.w), 0);
                assert_int_equal(soa_snap_build_on(&sb, b.w, pool), 0);
                assert_int_equal(sa.rows, sb.rows);
                assert_memory_equal(sa.eids, sb.eids,
                                    sa.rows * sizeof(soa_entity));
                assert_memory_equal(sa.Body.mass, sb.Body.mass,
                                    sa.rows * sizeof(double));
                assert_memory_equal(sa.Body.axes[2], sb.Body.axes[2],
                                    sa.rows * sizeof(float));
                soa_snap_run(&sa, NULL, (soa_fn)mix_kernel, &fr, &x);
                soa_snap_run(&sb, pool, (soa_fn)mix_kernel, &fr, &y);
                assert_int_equal(soa_snap_commit(&sa, a.w),
                                 soa_snap_commit_on(&sb, b.w, pool));
                if (frame == 1) {
                    /* A hole in the middle of both worlds. */
                    soa_world_despawn(a.w, a.e[N / 2]);
                    soa_world_despawn(b.w, b.e[N / 2]);
                }
            }
            for (size_t i = 0; i < N; i += 97) {
                const Body *ba = world_get(a.w, a.e[i], a.body);
                const Body *bb = world_get(b.w, b.e[i], b.body);
                assert_true((ba == NULL) == (bb == NULL));
                if (ba)
                    assert_true(body_equal(ba, bb));
            }
            soa_snap_release(&sa);
            soa_snap_release(&sb);
            soa_pool_destroy(pool);
            fixture_free(&a);
            fixture_free(&b);
        }
    }
}

/* A build of an unchanged world allocates nothing and copies the values
 * again (a commit's new values come back in). */
static counting_alloc ca;

static void storage_is_reused(void **state)
{
    (void)state;
    counting_alloc_init(&ca);
    fixture f;
    fixture_init(&f, 500, NULL);
    Mix_snap s;
    soa_snap_init(&s, &mix_layout, &ca.base);
    assert_int_equal(soa_snap_build(&s, f.w), 0);
    size_t allocs = ca.allocs;
    soa_frame fr = {1.0, 0, 0};
    seen sn = {0, 0};
    soa_snap_run(&s, NULL, (soa_fn)mix_kernel, &fr, &sn);
    assert_true(soa_snap_commit(&s, f.w) > 0);
    assert_int_equal(soa_snap_build(&s, f.w), 0);
    assert_int_equal(ca.allocs, allocs);
    check_snapshot(&f, &s);
    soa_snap_release(&s);
    assert_int_equal(ca.live_bytes, 0);
    assert_int_equal(ca.bad_frees, 0);
    fixture_free(&f);
}

static void out_of_memory_leaves_the_snapshot_empty(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f, 200, NULL);
    for (long budget = 0; budget < 12; budget++) {
        counting_alloc_init(&ca);
        ca.fail_after = budget;
        Mix_snap s;
        soa_snap_init(&s, &mix_layout, &ca.base);
        errno = 0;
        int rc = soa_snap_build(&s, f.w);
        if (rc == 0) {
            assert_true(budget >= 10); /* eids, 8 columns, 1 bitset */
        } else {
            assert_int_equal(errno, ENOMEM);
            assert_int_equal(s.rows, 0);
            assert_int_equal(ca.live_bytes, 0);
        }
        ca.fail_after = -1;
        assert_int_equal(soa_snap_build(&s, f.w), 0); /* recovers */
        check_snapshot(&f, &s);
        soa_snap_release(&s);
        assert_int_equal(ca.live_bytes, 0);
        assert_int_equal(ca.bad_frees, 0);
    }
    Mix_snap s;
    soa_snap_init(&s, &mix_layout, NULL);
    errno = 0;
    assert_int_equal(soa_snap_build(&s, NULL), -1);
    assert_int_equal(errno, EINVAL);
    assert_int_equal(soa_snap_run(&s, NULL, NULL, NULL, NULL), -1);
    assert_int_equal(soa_snap_run(NULL, NULL, (soa_fn)mix_kernel, NULL, NULL),
                     -1);
    assert_int_equal(soa_snap_commit(NULL, f.w), 0);
    assert_int_equal(soa_snap_commit(&s, f.w), 0); /* never built */
    /* A world where Body has another layout refuses the build. */
    soa_world *w2 = soa_world_create(NULL);
    soa_component_desc fake = Body_desc;
    fake.layout_hash ^= 1;
    soa_world_register(w2, &fake);
    errno = 0;
    assert_int_equal(soa_snap_build(&s, w2), -1);
    assert_int_equal(errno, EINVAL);
    soa_world_destroy(w2);
    soa_snap_release(&s);
    fixture_free(&f);
}

static void count_tagged(const Tagged_view *v, const soa_frame *f, void *ctx)
{
    (void)f;
    seen *s = ctx;
    __atomic_fetch_add(&s->rows, v->end - v->begin, __ATOMIC_RELAXED);
}

static void a_system_without_columns(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f, 700, NULL);
    Tagged_snap s;
    assert_int_equal(soa_snap_init(&s, &tagged_layout, NULL), 0);
    assert_int_equal(soa_snap_build(&s, f.w), 0);
    assert_int_equal(s.rows, 100); /* i % 7 == 6 below 700 */
    for (size_t r = 0; r < s.rows; r++)
        assert_true(soa_world_has(f.w, s.eids[r], f.tag));
    seen sn = {0, 0};
    assert_int_equal(soa_snap_run(&s, NULL, (soa_fn)count_tagged, NULL, &sn),
                     0);
    assert_int_equal(sn.rows, 100);
    assert_int_equal(soa_snap_commit(&s, f.w), 0);
    soa_snap_release(&s);
    fixture_free(&f);
}

/* Chunks of soa__snap_for: each row seen once, boundaries multiples of
 * 64, sums added up; small jobs stay on the caller. */
typedef struct rows_seen {
    unsigned char *hit;
    size_t rows;
    int bad;
} rows_seen;

static size_t see_rows(void *p, size_t begin, size_t end)
{
    rows_seen *r = p;
    if (begin % 64u || (end % 64u && end != r->rows))
        r->bad = 1;
    for (size_t i = begin; i < end; i++)
        r->hit[i]++;
    return end - begin;
}

static void snap_for_covers_every_row_once(void **state)
{
    (void)state;
    static const size_t sizes[] = {1, 64, 4097, SOA_SNAP_PARALLEL_ROWS - 1,
                                   SOA_SNAP_PARALLEL_ROWS,
                                   SOA_SNAP_PARALLEL_ROWS + 65, 50001};
    soa_pool *pool = soa_pool_create(4);
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        rows_seen r = {calloc(sizes[k], 1), sizes[k], 0};
        assert_int_equal(soa__snap_for(pool, r.rows, see_rows, &r), r.rows);
        assert_int_equal(r.bad, 0);
        for (size_t i = 0; i < r.rows; i++)
            assert_int_equal(r.hit[i], 1);
        free(r.hit);
    }
    assert_int_equal(soa__snap_for(NULL, 0, see_rows, NULL), 0);
    assert_int_equal(soa__snap_for(NULL, 100, NULL, NULL), 0);
    soa_pool_destroy(pool);
}

/* A snapshot published into an arena attaches into another snapshot
 * (the worker's view of it) with the same rows and columns, and the
 * header refuses other layouts and bad offsets. */
static void publish_and_attach_round_trip(void **state)
{
    (void)state;
    soa_arena *ar = soa_arena_create(4 << 20, SOA_ARENA_PRIVATE);
    assert_non_null(ar);
    fixture f;
    fixture_init(&f, 800, NULL);
    Mix_snap s, t;
    soa_snap_init(&s, &mix_layout, soa_arena_allocator(ar));
    assert_int_equal(soa_snap_build(&s, f.w), 0);
    size_t bytes = soa_snap_shm_bytes(&mix_layout);
    assert_true(bytes > 0);
    void *hdr = soa_arena_alloc(ar, bytes, 64);
    size_t off = soa_arena_offset(ar, hdr);
    assert_int_equal(soa_snap_publish(&s, ar, off), SOA_SHM_OK);
    assert_int_equal(soa_snap_attach(&t, &mix_layout, ar, off), SOA_SHM_OK);
    assert_int_equal(t.rows, s.rows);
    assert_int_equal(t.cap, s.cap);
    assert_ptr_equal(t.eids, s.eids);
    assert_ptr_equal(t.Body.axes[1], s.Body.axes[1]);
    assert_ptr_equal(t.Body.changed, s.Body.changed);
    assert_ptr_equal(t.Pos.y, s.Pos.y);
    /* The attached snapshot runs; the owner commits what it marked. */
    soa_frame fr = {1.0, 0, 0};
    seen sn = {0, 0};
    assert_int_equal(soa_snap_run(&t, NULL, (soa_fn)mix_kernel, &fr, &sn), 0);
    assert_int_equal(sn.rows, s.rows);
    assert_true(soa_snap_commit(&s, f.w) > 0);
    soa_snap_release(&t); /* an attached snapshot: nothing to free */
    /* Refusals leave the target untouched. */
    Mix_snap u;
    memset(&u, 0x5a, sizeof u);
    Mix_snap before = u;
    soa_sys_layout other = mix_layout;
    other.hash ^= 1;
    assert_int_equal(soa_snap_attach(&u, &other, ar, off), SOA_SHM_ELAYOUT);
    assert_int_equal(soa_snap_attach(&u, &mix_layout, ar, off + 8),
                     SOA_SHM_EMAGIC);
    assert_int_equal(soa_snap_attach(&u, &mix_layout, ar, 3), SOA_SHM_EBOUNDS);
    assert_int_equal(soa_snap_attach(&u, &tagged_layout, ar, off),
                     SOA_SHM_ELAYOUT);
    assert_memory_equal(&u, &before, sizeof u);
    /* Columns outside the arena cannot be published. */
    Mix_snap h;
    soa_snap_init(&h, &mix_layout, NULL);
    assert_int_equal(soa_snap_build(&h, f.w), 0);
    assert_int_equal(soa_snap_publish(&h, ar, off), SOA_SHM_ENOTARENA);
    soa_snap_release(&h);
    soa_snap_release(&s);
    soa_arena_destroy(ar);
    fixture_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bad_layouts_are_refused),
        cmocka_unit_test(build_gathers_exactly_the_matching_entities),
        cmocka_unit_test(run_and_commit_follow_a_model),
        cmocka_unit_test(parallel_equals_serial),
        cmocka_unit_test(storage_is_reused),
        cmocka_unit_test(out_of_memory_leaves_the_snapshot_empty),
        cmocka_unit_test(a_system_without_columns),
        cmocka_unit_test(snap_for_covers_every_row_once),
        cmocka_unit_test(publish_and_attach_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
