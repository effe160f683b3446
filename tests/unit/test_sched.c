/* test_sched: the scheduler: registration errors, stages and waves, real
 * overlap of independent systems, no allocation per frame, and the
 * equivalence test: random systems run through a pool give exactly the
 * world that running them one by one in registration order gives. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "sched_systems.h"
#include "counting_alloc.h"

static const soa_component_desc *const COMPS[4] = {&A_desc, &B_desc, &C_desc,
                                                    &D_desc};

/* ---- helpers ------------------------------------------------------- */

static void nop_local(soa_world *w, const soa_frame *f, void *ctx)
{
    (void)w, (void)f, (void)ctx;
}

static void nop_kernel(const AtoB_view *v, const soa_frame *f, void *ctx)
{
    (void)v, (void)f, (void)ctx;
}

static soa_sched_spec local_spec(const soa_component_desc *const *r,
                                 uint32_t nr,
                                 const soa_component_desc *const *w,
                                 uint32_t nw, soa_local_fn fn, void *ctx)
{
    soa_sched_spec s;
    memset(&s, 0, sizeof s);
    s.reads = r;
    s.nreads = nr;
    s.writes = w;
    s.nwrites = nw;
    s.run = fn;
    s.ctx = ctx;
    return s;
}

static soa_world *world_with_comps(soa_alloc *a)
{
    soa_world *w = soa_world_create(a);
    assert_non_null(w);
    for (int i = 0; i < 4; i++)
        assert_int_not_equal(soa_world_register(w, COMPS[i]), SOA_CID_INVALID);
    return w;
}

/* ---- registration -------------------------------------------------- */

static void bad_registrations_fail_cleanly(void **state)
{
    (void)state;
    soa_world *w = world_with_comps(NULL);
    soa_sched *s = soa_sched_create(w, NULL);
    assert_non_null(s);
    const soa_component_desc *ra[] = {&A_desc}, *wb[] = {&B_desc};

    assert_int_equal(soa_sched_add(s, NULL), SOA_SCHED_EINVAL);
    assert_int_equal(soa_sched_add(NULL, NULL), SOA_SCHED_EINVAL);
    soa_sched_spec sp;
    memset(&sp, 0, sizeof sp);
    assert_int_equal(soa_sched_add(s, &sp), SOA_SCHED_EINVAL); /* neither */
    sp = local_spec(ra, 1, wb, 1, nop_local, NULL);
    sp.system = &AtoB_system;
    sp.kernel = AtoB_kernel_fn(nop_kernel);
    assert_int_equal(soa_sched_add(s, &sp), SOA_SCHED_EINVAL); /* both */
    memset(&sp, 0, sizeof sp);
    sp.system = &AtoB_system; /* no kernel */
    assert_int_equal(soa_sched_add(s, &sp), SOA_SCHED_EINVAL);
    sp = local_spec(NULL, 1, NULL, 0, nop_local, NULL); /* count, no array */
    assert_int_equal(soa_sched_add(s, &sp), SOA_SCHED_EINVAL);

    sp = local_spec(ra, 1, wb, 1, nop_local, NULL);
    sp.stage = "render";
    assert_int_equal(soa_sched_add(s, &sp), SOA_SCHED_ESTAGE);

    /* Local systems need their components registered, with that layout. */
    soa_component_desc other = D_desc;
    other.name = "Unregistered";
    const soa_component_desc *ro[] = {&other};
    sp = local_spec(ro, 1, NULL, 0, nop_local, NULL);
    assert_int_equal(soa_sched_add(s, &sp), SOA_SCHED_ECOMPONENT);
    other = A_desc;
    other.layout_hash ^= 1;
    sp = local_spec(NULL, 0, ro, 1, nop_local, NULL);
    assert_int_equal(soa_sched_add(s, &sp), SOA_SCHED_ECOMPONENT);
    const soa_component_desc *rnull[] = {NULL};
    sp = local_spec(rnull, 1, NULL, 0, nop_local, NULL);
    assert_int_equal(soa_sched_add(s, &sp), SOA_SCHED_ECOMPONENT);

    /* An offloaded system whose component the world refuses. */
    soa_world *w2 = soa_world_create(NULL);
    soa_component_desc fake_b = B_desc;
    fake_b.layout_hash ^= 1;
    assert_int_not_equal(soa_world_register(w2, &fake_b), SOA_CID_INVALID);
    soa_sched *s2 = soa_sched_create(w2, NULL);
    memset(&sp, 0, sizeof sp);
    sp.system = &AtoB_system;
    sp.kernel = AtoB_kernel_fn(nop_kernel);
    assert_int_equal(soa_sched_add(s2, &sp), SOA_SCHED_ECOMPONENT);
    soa_sched_destroy(s2);
    soa_world_destroy(w2);

    /* An incomplete descriptor. */
    soa_system_desc broken = AtoB_system;
    broken.build = NULL;
    sp.system = &broken;
    assert_int_equal(soa_sched_add(s, &sp), SOA_SCHED_EINVAL);

    /* Stages: duplicates and empty names are refused. */
    assert_int_equal(soa_sched_stage(s, "update"), SOA_SCHED_EINVAL);
    assert_int_equal(soa_sched_stage(s, ""), SOA_SCHED_EINVAL);
    assert_int_equal(soa_sched_stage(s, NULL), SOA_SCHED_EINVAL);
    assert_int_equal(soa_sched_stage(s, "render"), SOA_SCHED_OK);

    /* Nothing was registered by any failure; the good ones get 0, 1. */
    assert_int_equal(soa_sched_count(s), 0);
    sp = local_spec(ra, 1, wb, 1, nop_local, NULL);
    sp.stage = "render";
    assert_int_equal(soa_sched_add(s, &sp), 0);
    memset(&sp, 0, sizeof sp);
    sp.system = &AtoB_system;
    sp.kernel = AtoB_kernel_fn(nop_kernel);
    assert_int_equal(soa_sched_add(s, &sp), 1);
    assert_int_equal(soa_sched_run_frame(s, 0.1, 0.0), 0);

    const int codes[] = {SOA_SCHED_OK, SOA_SCHED_EINVAL, SOA_SCHED_ESTAGE,
                         SOA_SCHED_ECOMPONENT, SOA_SCHED_ENOMEM};
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < i; j++)
            assert_string_not_equal(soa_sched_strerror(codes[i]),
                                    soa_sched_strerror(codes[j]));
    assert_non_null(soa_sched_strerror(12345));
    assert_int_equal(soa_sched_run_frame(NULL, 0, 0), -1);
    soa_sched_destroy(s);
    soa_sched_destroy(NULL);
    soa_world_destroy(w);
}

/* ---- order --------------------------------------------------------- */

typedef struct order_log {
    char seen[16];
    int n;
} order_log;

typedef struct order_ctx {
    order_log *log;
    char tag;
} order_ctx;

/* Exclusive systems only: the log is not synchronised. */
static void log_local(soa_world *w, const soa_frame *f, void *ctx)
{
    (void)w, (void)f;
    order_ctx *c = ctx;
    c->log->seen[c->log->n++] = c->tag;
}

static void stages_run_in_order_and_conflicts_in_waves(void **state)
{
    (void)state;
    soa_world *w = world_with_comps(NULL);
    soa_sched *s = soa_sched_create(w, NULL);
    assert_int_equal(soa_sched_stage(s, "late"), SOA_SCHED_OK);
    order_log log = {{0}, 0};
    order_ctx c1 = {&log, 'L'}, c2 = {&log, 'u'}, c3 = {&log, 'v'};
    soa_sched_spec sp = local_spec(NULL, 0, NULL, 0, log_local, &c1);
    sp.flags = SOA_SCHED_EXCLUSIVE;
    sp.stage = "late";
    assert_int_equal(soa_sched_add(s, &sp), 0);
    sp.stage = NULL;
    sp.ctx = &c2;
    assert_int_equal(soa_sched_add(s, &sp), 1);
    sp.ctx = &c3;
    assert_int_equal(soa_sched_add(s, &sp), 2);
    assert_int_equal(soa_sched_run_frame(s, 0.1, 0.0), 0);
    assert_int_equal(log.n, 3);
    assert_memory_equal(log.seen, "uvL", 3);

    /* Waves: A->B and C->D-ish systems overlap; a conflicting one waits. */
    const soa_component_desc *ra[] = {&A_desc}, *wb[] = {&B_desc},
                             *rc[] = {&C_desc}, *wd[] = {&D_desc},
                             *rb[] = {&B_desc};
    soa_sched_spec p = local_spec(ra, 1, wb, 1, nop_local, NULL);
    int i0 = soa_sched_add(s, &p);
    p = local_spec(rc, 1, wd, 1, nop_local, NULL);
    int i1 = soa_sched_add(s, &p);
    p = local_spec(rb, 1, NULL, 0, nop_local, NULL); /* reads B: after i0 */
    int i2 = soa_sched_add(s, &p);
    p = local_spec(ra, 1, NULL, 0, nop_local, NULL); /* reads A only */
    int i3 = soa_sched_add(s, &p);
    soa_sched_stats st[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(soa_sched_get_stats(s, i0 + i, &st[i]), 0);
    /* After the two exclusive "update" systems (waves 0, 1). */
    assert_int_equal(st[0].wave, 2);
    assert_int_equal(st[1].wave, 2);
    assert_int_equal(st[2].wave, 3);
    assert_int_equal(st[3].wave, 2);
    assert_string_equal(st[0].stage, "update");
    (void)i1, (void)i2, (void)i3;
    soa_sched_stats bad;
    assert_int_equal(soa_sched_get_stats(s, 99, &bad), SOA_SCHED_EINVAL);
    assert_int_equal(soa_sched_get_stats(s, -1, &bad), SOA_SCHED_EINVAL);
    soa_sched_destroy(s);
    soa_world_destroy(w);
}

/* ---- real overlap -------------------------------------------------- */

/* Two systems that each wait until the other has started: they finish only
 * if the scheduler really runs them at the same time. */
typedef struct meet {
    int arrived; /* atomic */
    int met;     /* atomic: systems that saw both arrive */
} meet;

static void meet_local(soa_world *w, const soa_frame *f, void *ctx)
{
    (void)w, (void)f;
    meet *m = ctx;
    __atomic_add_fetch(&m->arrived, 1, __ATOMIC_SEQ_CST);
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        if (__atomic_load_n(&m->arrived, __ATOMIC_SEQ_CST) >= 2) {
            __atomic_add_fetch(&m->met, 1, __ATOMIC_SEQ_CST);
            return;
        }
        clock_gettime(CLOCK_MONOTONIC, &t);
        if (t.tv_sec - t0.tv_sec > 10)
            return; /* never met: the test fails below */
    }
}

static void independent_systems_overlap(void **state)
{
    (void)state;
    soa_world *w = world_with_comps(NULL);
    soa_pool *pool = soa_pool_create(2);
    assert_non_null(pool);
    soa_sched *s = soa_sched_create(w, pool);
    meet m = {0, 0};
    const soa_component_desc *wa[] = {&A_desc}, *wb[] = {&B_desc};
    soa_sched_spec sp = local_spec(NULL, 0, wa, 1, meet_local, &m);
    assert_int_equal(soa_sched_add(s, &sp), 0);
    sp = local_spec(NULL, 0, wb, 1, meet_local, &m);
    assert_int_equal(soa_sched_add(s, &sp), 1);
    assert_int_equal(soa_sched_run_frame(s, 0.1, 0.0), 0);
    assert_int_equal(__atomic_load_n(&m.met, __ATOMIC_SEQ_CST), 2);
    soa_sched_destroy(s);
    soa_pool_destroy(pool);
    soa_world_destroy(w);
}

/* ---- equivalence --------------------------------------------------- */

static uint64_t rng = 0x2545F4914F6CDD1Du;
static uint32_t rnd(uint32_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng % n);
}

/* A random local system: w.v = w.v * 31 + sum of reads + salt for every
 * entity having all its components; exclusive ones also spawn and
 * despawn.  Order-sensitive, so a misordered pair changes the world. */
typedef struct rand_local {
    uint32_t reads, writes; /* bit i: component i */
    uint32_t salt;
    bool exclusive;
    soa_cid cid[4];
} rand_local;

static void rand_local_run(soa_world *w, const soa_frame *f, void *ctx)
{
    const rand_local *r = ctx;
    soa_cid all[4];
    uint32_t n = 0;
    for (int i = 0; i < 4; i++)
        if ((r->reads | r->writes) >> i & 1)
            all[n++] = r->cid[i];
    soa_query q = {all, n, NULL, 0};
    soa_query_iter it;
    soa_entity e, victim = SOA_ENTITY_NULL;
    soa_query_begin(w, &q, &it);
    while (soa_query_next(&it, &e)) {
        uint32_t sum = r->salt + (uint32_t)f->index;
        for (int i = 0; i < 4; i++)
            if (r->reads >> i & 1)
                sum += *(const uint32_t *)soa_world_get_const(w, e, r->cid[i]);
        for (int i = 0; i < 4; i++)
            if (r->writes >> i & 1) {
                uint32_t *v = soa_world_get(w, e, r->cid[i]);
                *v = *v * 31u + sum;
            }
        if (victim == SOA_ENTITY_NULL)
            victim = e;
    }
    if (r->exclusive) {
        soa_world_despawn(w, victim);
        soa_entity ne = soa_world_spawn(w);
        for (int i = 0; i < 4; i++)
            if ((r->salt >> i) & 1)
                soa_world_add(w, ne, r->cid[i]);
    }
}

/* Offloaded kernels: the same rule on the snapshot's columns; rows whose
 * new value is odd are marked changed, so commits are partial. */
#define KERNEL_BODY(VIEW, SUM, W)                                             \
    const uint32_t salt = *(const uint32_t *)ctx;                             \
    for (size_t i = v->begin; i < v->end; i++) {                              \
        uint32_t sum = salt + (uint32_t)f->index + (SUM);                     \
        uint32_t nv = v->W.v[i] * 31u + sum;                                  \
        if (nv & 1u) {                                                        \
            v->W.v[i] = nv;                                                   \
            soa_bitset_set(v->W.changed, i);                                  \
        }                                                                     \
    }

static void k_atob(const AtoB_view *v, const soa_frame *f, void *ctx)
{
    KERNEL_BODY(AtoB_view, v->A.v[i], B)
}
static void k_btoc(const BtoC_view *v, const soa_frame *f, void *ctx)
{
    KERNEL_BODY(BtoC_view, v->B.v[i], C)
}
static void k_ctoa(const CtoA_view *v, const soa_frame *f, void *ctx)
{
    KERNEL_BODY(CtoA_view, v->C.v[i], A)
}
static void k_abtod(const ABtoD_view *v, const soa_frame *f, void *ctx)
{
    KERNEL_BODY(ABtoD_view, v->A.v[i] + v->B.v[i], D)
}
static void k_bumpa(const BumpA_view *v, const soa_frame *f, void *ctx)
{
    KERNEL_BODY(BumpA_view, 7u, A)
}
static void k_bc(const BC_view *v, const soa_frame *f, void *ctx)
{
    const uint32_t salt = *(const uint32_t *)ctx;
    for (size_t i = v->begin; i < v->end; i++) {
        v->B.v[i] += v->D.v[i] + salt;
        soa_bitset_set(v->B.changed, i);
        if (i % 3 == 0) {
            v->C.v[i] ^= salt;
            soa_bitset_set(v->C.changed, i);
        }
    }
    (void)f;
}

typedef struct offload_kind {
    const soa_system_desc *desc;
    soa_fn kernel;
} offload_kind;

#define MAX_SYS 14

typedef struct plan {
    int n;
    bool offloaded[MAX_SYS];
    int stage[MAX_SYS]; /* 0 update, 1 late */
    rand_local local[MAX_SYS];
    offload_kind off[MAX_SYS];
    uint32_t salt[MAX_SYS];
} plan;

static void make_plan(plan *p)
{
    const offload_kind kinds[] = {
        {&AtoB_system, AtoB_kernel_fn(k_atob)},
        {&BtoC_system, BtoC_kernel_fn(k_btoc)},
        {&CtoA_system, CtoA_kernel_fn(k_ctoa)},
        {&ABtoD_system, ABtoD_kernel_fn(k_abtod)},
        {&BumpA_system, BumpA_kernel_fn(k_bumpa)},
        {&BC_system, BC_kernel_fn(k_bc)},
    };
    memset(p, 0, sizeof *p);
    p->n = 2 + (int)rnd(MAX_SYS - 1);
    for (int i = 0; i < p->n; i++) {
        p->stage[i] = (int)rnd(4) == 0;
        p->salt[i] = rnd(1000) + 1;
        p->offloaded[i] = rnd(2);
        if (p->offloaded[i]) {
            /* Descriptors from before run_range existed (NULL) take the
             * scheduler's fallback path: the kernel runs inline. */
            static soa_system_desc legacy[6];
            uint32_t k = rnd(6);
            p->off[i] = kinds[k];
            if (rnd(4) == 0) {
                legacy[k] = *kinds[k].desc;
                legacy[k].run_range = NULL;
                p->off[i].desc = &legacy[k];
            }
            continue;
        }
        rand_local *r = &p->local[i];
        r->writes = rnd(16);
        r->reads = rnd(16) & ~r->writes;
        r->salt = p->salt[i];
        r->exclusive = rnd(8) == 0;
    }
}

/* A world with `n` entities, each with a random subset of A-D. */
static soa_world *make_world(uint64_t seed, int n, soa_alloc *a)
{
    uint64_t keep = rng;
    rng = seed;
    soa_world *w = world_with_comps(a);
    for (int i = 0; i < n; i++) {
        soa_entity e = soa_world_spawn(w);
        for (soa_cid c = 0; c < 4; c++)
            if (rnd(3)) {
                uint32_t v = rnd(1u << 20);
                soa_world_set(w, e, c, &v);
            }
        if (rnd(10) == 0)
            soa_world_despawn(w, e);
    }
    rng = keep;
    return w;
}

static void fill_cids(plan *p, soa_world *w)
{
    for (int i = 0; i < p->n; i++)
        for (int c = 0; c < 4; c++)
            p->local[i].cid[c] = soa_world_lookup(w, COMPS[c]->name);
}

/* Registers the plan in a scheduler. */
static void add_plan(soa_sched *s, plan *p)
{
    assert_int_equal(soa_sched_stage(s, "late"), SOA_SCHED_OK);
    for (int i = 0; i < p->n; i++) {
        soa_sched_spec sp;
        memset(&sp, 0, sizeof sp);
        sp.stage = p->stage[i] ? "late" : "update";
        if (p->offloaded[i]) {
            sp.system = p->off[i].desc;
            sp.kernel = p->off[i].kernel;
            sp.ctx = &p->salt[i];
        } else {
            const rand_local *r = &p->local[i];
            static const soa_component_desc *rs[MAX_SYS][4], *ws[MAX_SYS][4];
            uint32_t nr = 0, nw = 0;
            for (int c = 0; c < 4; c++) {
                if (r->reads >> c & 1)
                    rs[i][nr++] = COMPS[c];
                if (r->writes >> c & 1)
                    ws[i][nw++] = COMPS[c];
            }
            sp.reads = rs[i];
            sp.nreads = nr;
            sp.writes = ws[i];
            sp.nwrites = nw;
            sp.run = rand_local_run;
            sp.ctx = &p->local[i];
            sp.flags = r->exclusive ? SOA_SCHED_EXCLUSIVE : 0;
        }
        assert_int_equal(soa_sched_add(s, &sp), i);
    }
}

/* The reference: every system of stage 0, then of stage 1, each one by one
 * in registration order, offloaded ones built, run and committed alone. */
static void run_reference(plan *p, soa_world *w, uint64_t frame)
{
    soa_frame f = {0.1, 0.0, frame};
    for (int stage = 0; stage < 2; stage++)
        for (int i = 0; i < p->n; i++) {
            if (p->stage[i] != stage)
                continue;
            if (!p->offloaded[i]) {
                rand_local_run(w, &f, &p->local[i]);
                continue;
            }
            const soa_system_desc *d = p->off[i].desc;
            _Alignas(64) unsigned char snap[1024];
            assert_true(d->snap_size <= sizeof snap);
            assert_int_equal(d->snap_init(snap, NULL), 0);
            assert_int_equal(d->build(snap, w), 0);
            assert_int_equal(d->run(snap, NULL, p->off[i].kernel, &f,
                                    &p->salt[i]), 0);
            d->commit(snap, w);
            d->snap_release(snap);
        }
}

static void assert_same_world(soa_world *a, soa_world *b)
{
    assert_int_equal(soa_world_entities(a), soa_world_entities(b));
    soa_query all = {NULL, 0, NULL, 0};
    soa_query_iter ia, ib;
    soa_query_begin(a, &all, &ia);
    soa_query_begin(b, &all, &ib);
    soa_entity ea, eb;
    while (soa_query_next(&ia, &ea)) {
        assert_true(soa_query_next(&ib, &eb));
        assert_int_equal(ea, eb);
        for (soa_cid c = 0; c < 4; c++) {
            const uint32_t *va = soa_world_get_const(a, ea, c);
            const uint32_t *vb = soa_world_get_const(b, eb, c);
            assert_int_equal(va != NULL, vb != NULL);
            if (va)
                assert_int_equal(*va, *vb);
        }
    }
    assert_false(soa_query_next(&ib, &eb));
}

static void pool_run_equals_one_by_one(void **state)
{
    (void)state;
    soa_pool *pool = soa_pool_create(4);
    assert_non_null(pool);
    for (int trial = 0; trial < 40; trial++) {
        plan p;
        make_plan(&p);
        uint64_t seed = 0x1234567u + (uint64_t)trial * 7919u;
        /* A few worlds big enough that builds and commits run as chunks
         * on the pool (most systems match about a third of them). */
        int n = trial < 3 ? 3 * (int)SOA_SNAP_PARALLEL_ROWS + (int)rnd(20000)
                          : 50 + (int)rnd(3000);
        soa_world *ref = make_world(seed, n, NULL);
        soa_world *got = make_world(seed, n, NULL);
        soa_sched *s = soa_sched_create(got, pool);
        fill_cids(&p, got);
        add_plan(s, &p);
        for (uint64_t frame = 0; frame < 4; frame++) {
            assert_int_equal(soa_sched_run_frame(s, 0.1, 0.0), 0);
            run_reference(&p, ref, frame);
            assert_same_world(ref, got);
        }
        soa_sched_destroy(s);
        soa_world_destroy(ref);
        soa_world_destroy(got);
    }
    soa_pool_destroy(pool);
}

/* ---- allocation ---------------------------------------------------- */

static counting_alloc ca;

static void no_allocation_per_frame_after_warmup(void **state)
{
    (void)state;
    counting_alloc_init(&ca);
    soa_pool *pool = soa_pool_create(2);
    soa_world *w = make_world(99, 2000, &ca.base);
    soa_sched *s = soa_sched_create(w, pool);
    plan p;
    do
        make_plan(&p);
    while (p.n < 6);
    for (int i = 0; i < p.n; i++)
        p.local[i].exclusive = false; /* spawning would grow the world */
    fill_cids(&p, w);
    add_plan(s, &p);
    for (int f = 0; f < 3; f++)
        assert_int_equal(soa_sched_run_frame(s, 0.1, 0.0), 0);
    size_t before = ca.allocs;
    for (int f = 0; f < 30; f++)
        assert_int_equal(soa_sched_run_frame(s, 0.1, 0.0), 0);
    assert_int_equal(ca.allocs, before);
    soa_sched_destroy(s);
    soa_world_destroy(w);
    soa_pool_destroy(pool);
    assert_int_equal(ca.live_bytes, 0);
    assert_int_equal(ca.bad_frees, 0);
}

/* A snapshot that cannot grow fails its frame; the rest still runs. */
static void failed_build_is_reported(void **state)
{
    (void)state;
    counting_alloc_init(&ca);
    soa_world *w = make_world(5, 500, NULL);
    soa_sched *s = soa_sched_create(w, NULL);
    soa_sched_spec sp;
    memset(&sp, 0, sizeof sp);
    sp.system = &AtoB_system;
    sp.kernel = AtoB_kernel_fn(k_atob);
    uint32_t salt = 3;
    sp.ctx = &salt;
    ca.fail_after = 0; /* the snapshot's columns can never be allocated */
    sp.alloc = &ca.base;
    assert_int_equal(soa_sched_add(s, &sp), 0);
    int runs = 0;
    const soa_component_desc *wc[] = {&C_desc};
    soa_sched_spec lp = local_spec(NULL, 0, wc, 1, nop_local, NULL);
    assert_int_equal(soa_sched_add(s, &lp), 1);
    errno = 0;
    assert_int_equal(soa_sched_run_frame(s, 0.1, 0.0), -1);
    assert_int_equal(errno, ENOMEM);
    soa_sched_stats st;
    assert_int_equal(soa_sched_get_stats(s, 0, &st), 0);
    assert_int_equal(st.failed, 1);
    assert_int_equal(st.committed, 0);
    assert_int_equal(soa_sched_frames(s), 1);
    (void)runs;
    soa_sched_destroy(s);
    soa_world_destroy(w);
    assert_int_equal(ca.live_bytes, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bad_registrations_fail_cleanly),
        cmocka_unit_test(stages_run_in_order_and_conflicts_in_waves),
        cmocka_unit_test(independent_systems_overlap),
        cmocka_unit_test(pool_run_equals_one_by_one),
        cmocka_unit_test(no_allocation_per_frame_after_warmup),
        cmocka_unit_test(failed_build_is_reported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
