/* test_system: generated system code (tests/schemas/systems.soa): build,
 * run and commit against the world, with entities dying and slots being
 * reused in between; identical results on 1, 2 and 4 threads; build and
 * commit spread over a pool equal to the serial ones; storage reused
 * without allocation; snapshots in an arena. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "systems.h"
#include "counting_alloc.h"
#include "world_get.h"

typedef struct fixture {
    soa_world *w;
    soa_cid pos, vel, body, counter, frozen;
} fixture;

static void fixture_init(fixture *f, soa_alloc *a)
{
    f->w = soa_world_create(a);
    assert_non_null(f->w);
    f->pos = soa_world_register(f->w, &Position_desc);
    f->vel = soa_world_register(f->w, &Velocity_desc);
    f->body = soa_world_register(f->w, &Body_desc);
    f->counter = soa_world_register(f->w, &Counter_desc);
    f->frozen = soa_world_register(f->w, &Frozen_desc);
    assert_int_not_equal(f->frozen, SOA_CID_INVALID);
}

/* Entity i: Position (i, -i); Velocity (1, i) unless i % 5 == 4; Frozen
 * when i % 7 == 6. */
static soa_entity spawn_mover(fixture *f, int i)
{
    soa_entity e = soa_world_spawn(f->w);
    Position p = {(float)i, (float)-i};
    Velocity v = {1.0f, (float)i};
    assert_int_equal(soa_world_set(f->w, e, f->pos, &p), 0);
    if (i % 5 != 4)
        assert_int_equal(soa_world_set(f->w, e, f->vel, &v), 0);
    if (i % 7 == 6)
        assert_int_equal(soa_world_add(f->w, e, f->frozen), 0);
    return e;
}

static bool integrate_matches(int i)
{
    return i % 5 != 4 && i % 7 != 6;
}

/* Moves every row by velocity * dt; rows with an even entity index are
 * left alone (not marked), so commits are partial. */
static void integrate_kernel(const Integrate_view *v, const soa_frame *f,
                             void *ctx)
{
    (void)ctx;
    float dt = (float)f->dt;
    for (size_t i = v->begin; i < v->end; i++) {
        if (soa_entity_index(v->eids[i]) % 2 == 0)
            continue;
        v->Position.x[i] += v->Velocity.x[i] * dt;
        v->Position.y[i] += v->Velocity.y[i] * dt;
        soa_bitset_set(v->Position.changed, i);
    }
}

static void build_gathers_exactly_the_matching_entities(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f, NULL);
    soa_entity e[100];
    for (int i = 0; i < 100; i++)
        e[i] = spawn_mover(&f, i);
    Integrate_snap s;
    assert_int_equal(Integrate_snap_init(&s, NULL), 0);
    assert_int_equal(Integrate_build(&s, f.w), 0);
    size_t want = 0;
    for (int i = 0; i < 100; i++)
        want += integrate_matches(i);
    assert_int_equal(s.rows, want);
    assert_true(s.cap >= s.rows && s.cap % 64 == 0);
    for (size_t r = 0; r < s.rows; r++) {
        int i = (int)soa_entity_index(s.eids[r]);
        assert_int_equal(s.eids[r], e[i]);
        assert_true(integrate_matches(i));
        assert_true(s.Position.x[r] == (float)i);
        assert_true(s.Position.y[r] == (float)-i);
        assert_true(s.Velocity.y[r] == (float)i);
        assert_false(Position_is_changed(&s.Position, r));
    }
    for (size_t a = 0; a < s.rows; a++)
        for (size_t b = a + 1; b < s.rows; b++)
            assert_int_not_equal(s.eids[a], s.eids[b]);
    Integrate_snap_release(&s);
    Integrate_snap_release(&s); /* twice: a no-op */
    soa_world_destroy(f.w);
}

static void commit_writes_only_changed_rows_of_live_entities(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f, NULL);
    soa_entity e[64];
    for (int i = 0; i < 64; i++)
        e[i] = spawn_mover(&f, i);
    Integrate_snap s;
    Integrate_snap_init(&s, NULL);
    assert_int_equal(Integrate_build(&s, f.w), 0);
    soa_frame fr = {0.5, 0.0, 0};
    assert_int_equal(Integrate_run(&s, NULL, integrate_kernel, &fr, NULL), 0);

    /* Between build and commit: entity 1 dies and its slot is reused by a
     * new entity with a Position; entity 3 loses its Position; entity 2
     * (even: not marked) is moved by someone else. */
    soa_world_despawn(f.w, e[1]);
    soa_entity reuse = soa_world_spawn(f.w);
    assert_int_equal(soa_entity_index(reuse), soa_entity_index(e[1]));
    Position marker = {1234.0f, 5678.0f};
    soa_world_set(f.w, reuse, f.pos, &marker);
    assert_int_equal(soa_world_remove(f.w, e[3], f.pos), 0);
    Position moved = {-1.0f, -1.0f};
    soa_world_set(f.w, e[2], f.pos, &moved);

    size_t marked = Position_count_changed(&s.Position, s.rows);
    size_t n = Integrate_commit(&s, f.w);
    assert_int_equal(n, marked - 2); /* entities 1 and 3 were skipped */

    const Position *p = world_get(f.w, reuse, f.pos);
    assert_true(p->x == 1234.0f && p->y == 5678.0f);
    assert_false(soa_world_has(f.w, e[3], f.pos));
    p = world_get(f.w, e[2], f.pos);
    assert_true(p->x == -1.0f); /* unchanged rows are not written */
    for (int i = 5; i < 64; i += 2) {
        p = world_get(f.w, e[i], f.pos);
        if (integrate_matches(i))
            assert_true(p->x == (float)i + 0.5f &&
                        p->y == (float)-i + (float)i * 0.5f);
        else
            assert_true(p->x == (float)i); /* not in the snapshot */
    }
    assert_int_equal(Integrate_commit(&s, NULL), 0);
    Integrate_snap_release(&s);
    soa_world_destroy(f.w);
}

/* Moves and marks every row: whole changed words, commit's block path. */
static void integrate_all_kernel(const Integrate_view *v, const soa_frame *f,
                                 void *ctx)
{
    (void)ctx;
    float dt = (float)f->dt;
    for (size_t i = v->begin; i < v->end; i++) {
        v->Position.x[i] += v->Velocity.x[i] * dt;
        v->Position.y[i] += v->Velocity.y[i] * dt;
        soa_bitset_set(v->Position.changed, i);
    }
}

/* Spawns n movers; Velocity is added in reverse order when `reversed`, so
 * Position's rows run backwards against the Velocity lead. */
static void spawn_movers(fixture *f, soa_entity *e, int n, bool reversed)
{
    for (int i = 0; i < n; i++) {
        e[i] = soa_world_spawn(f->w);
        Position p = {(float)i, (float)-i};
        assert_int_equal(soa_world_set(f->w, e[i], f->pos, &p), 0);
        if (i % 7 == 6)
            assert_int_equal(soa_world_add(f->w, e[i], f->frozen), 0);
    }
    for (int k = 0; k < n; k++) {
        int i = reversed ? n - 1 - k : k;
        Velocity v = {1.0f, (float)i};
        if (i % 5 != 4)
            assert_int_equal(soa_world_set(f->w, e[i], f->vel, &v), 0);
    }
}

/* Every mover of e[0 .. n) that still has a Position moved by dt exactly
 * when it matched. */
static void check_moved(fixture *f, const soa_entity *e, int n, float dt)
{
    for (int i = 0; i < n; i++) {
        const Position *p = world_get(f->w, e[i], f->pos);
        if (!p)
            continue;
        if (integrate_matches(i)) {
            assert_true(p->x == (float)i + dt);
            assert_true(p->y == (float)-i + (float)i * dt);
        } else {
            assert_true(p->x == (float)i && p->y == (float)-i);
        }
    }
}

/* Commit's direct path (the world's rows unchanged since the build) and
 * its lookup path (a row lost its entity, or the rows never ran in order)
 * write the same values to the same entities. */
static void commit_fast_and_slow_paths_agree(void **state)
{
    (void)state;
    enum { N = 1000 };
    static soa_entity e[N], more[300];
    soa_frame fr = {0.25, 0.0, 0};
    for (int mode = 0; mode < 4; mode++) {
        fixture f;
        fixture_init(&f, NULL);
        spawn_movers(&f, e, N, mode == 3);
        Integrate_snap s;
        Integrate_snap_init(&s, NULL);
        assert_int_equal(Integrate_build(&s, f.w), 0);
        Integrate_run(&s, NULL, mode == 2 ? integrate_kernel
                                          : integrate_all_kernel, &fr, NULL);
        size_t marked = Position_count_changed(&s.Position, s.rows);
        if (mode == 0) {
            /* Storage grows (Position's values move) but no row changes
             * hands. */
            spawn_movers(&f, more, 300, false);
        } else if (mode == 1) {
            /* A Frozen entity (not in the snapshot) loses its Position: the
             * last row moves into its hole; rows must be looked up. */
            assert_int_equal(soa_world_remove(f.w, e[6], f.pos), 0);
        } else if (mode == 2) {
            /* A despawned snapshot entity whose slot is reused: skipped. */
            soa_world_despawn(f.w, e[1]);
            soa_entity r = soa_world_spawn(f.w);
            Position mark = {-7.0f, -7.0f};
            soa_world_set(f.w, r, f.pos, &mark);
            assert_int_equal(Integrate_commit(&s, f.w), marked - 1);
            assert_true(((const Position *)world_get(f.w, r, f.pos))
                            ->x == -7.0f);
            Integrate_snap_release(&s);
            soa_world_destroy(f.w);
            continue;
        }
        assert_int_equal(Integrate_commit(&s, f.w), marked);
        check_moved(&f, e, N, 0.25f);
        if (mode == 0)
            check_moved(&f, more, 300, 0.0f); /* new: untouched */
        Integrate_snap_release(&s);
        soa_world_destroy(f.w);
    }
}

/* The snapshot holds exactly the matching entities with their current
 * values, as a fresh snapshot would. */
static void check_snapshot(fixture *f, const Integrate_snap *s)
{
    Integrate_snap fresh;
    Integrate_snap_init(&fresh, NULL);
    assert_int_equal(Integrate_build(&fresh, f->w), 0);
    assert_int_equal(s->rows, fresh.rows);
    for (size_t r = 0; r < s->rows; r++) {
        soa_entity e = s->eids[r];
        const Position *p = world_get(f->w, e, f->pos);
        const Velocity *v = world_get(f->w, e, f->vel);
        assert_non_null(p);
        assert_non_null(v);
        assert_false(soa_world_has(f->w, e, f->frozen));
        assert_true(s->Position.x[r] == p->x && s->Position.y[r] == p->y);
        assert_true(s->Velocity.x[r] == v->x && s->Velocity.y[r] == v->y);
        assert_int_equal(s->eids[r], fresh.eids[r]);
        assert_false(Position_is_changed(&s->Position, r));
    }
    Integrate_snap_release(&fresh);
}

/* A rebuild with no row added or removed copies the same rows again (the
 * values are new); any structural change of a term, including the
 * `without` tag, walks the query again. */
static void rebuild_follows_the_world(void **state)
{
    (void)state;
    enum { N = 500 };
    static soa_entity e[N], more[10];
    soa_frame fr = {1.0, 0.0, 0};
    /* 0: every entity matches, rows in order: every block runs; 1: movers
     * with gaps; 2: Velocity's rows reversed (rebuilds go row by row). */
    for (int mode = 0; mode < 3; mode++) {
        fixture f;
        fixture_init(&f, NULL);
        if (mode == 0) {
            for (int i = 0; i < N; i++) {
                Position p = {(float)i, 1.0f};
                Velocity v = {1.0f, (float)-i};
                e[i] = soa_world_spawn(f.w);
                soa_world_set(f.w, e[i], f.pos, &p);
                soa_world_set(f.w, e[i], f.vel, &v);
            }
        } else {
            spawn_movers(&f, e, N, mode == 2);
        }
        Integrate_snap s;
        Integrate_snap_init(&s, NULL);
        assert_int_equal(Integrate_build(&s, f.w), 0);
        for (int step = 0; step < 7; step++) {
            Integrate_run(&s, NULL, integrate_all_kernel, &fr, NULL);
            Integrate_commit(&s, f.w);
            Velocity v = {2.0f, (float)step};
            Position p = {(float)step, 3.0f};
            switch (step) {
            case 0: /* values only */
                soa_world_set(f.w, e[10], f.vel, &v);
                soa_world_set(f.w, e[11], f.pos, &p);
                break;
            case 1: soa_world_add(f.w, e[12], f.frozen); break;
            case 2: soa_world_remove(f.w, e[20], f.vel); break;
            case 3: spawn_movers(&f, more, 10, false); break;
            case 4: soa_world_despawn(f.w, e[30]); break;
            case 5: soa_world_remove(f.w, e[12], f.frozen); break;
            default: soa_world_spawn(f.w); break; /* no component */
            }
            assert_int_equal(Integrate_build(&s, f.w), 0);
            check_snapshot(&f, &s);
        }
        Integrate_snap_release(&s);
        soa_world_destroy(f.w);
    }
}

/* Writes an array element, an enum and a counter of every row. */
static void spin_kernel(const Spin_view *v, const soa_frame *f, void *ctx)
{
    (void)f, (void)ctx;
    for (size_t i = v->begin; i < v->end; i++) {
        v->Body.axes[0][i] = v->Velocity.x[i] * 10.0f;
        v->Body.kind[i] = Kind_probe;
        soa_bitset_set(v->Body.changed, i);
        v->Counter.n[i] = 41;
        soa_bitset_set(v->Counter.changed, i);
    }
}

static void two_written_components_and_arrays_round_trip(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f, NULL);
    soa_entity e = soa_world_spawn(f.w);
    Velocity v = {2.0f, 3.0f};
    soa_world_set(f.w, e, f.vel, &v);
    assert_int_equal(soa_world_add(f.w, e, f.body), 0);
    Body b;
    assert_int_equal(soa_world_read(f.w, e, f.body, &b), 0);
    assert_int_equal(b.kind, Kind_ship); /* defaults from the schema */
    assert_true(b.mass == 1.5);
    b.axes[2] = 9.0f;
    assert_int_equal(soa_world_set(f.w, e, f.body, &b), 0);
    soa_world_add(f.w, e, f.counter);
    soa_entity other = soa_world_spawn(f.w); /* no Counter: not a match */
    soa_world_set(f.w, other, f.vel, &v);
    soa_world_add(f.w, other, f.body);

    Spin_snap s;
    Spin_snap_init(&s, NULL);
    assert_int_equal(Spin_build(&s, f.w), 0);
    assert_int_equal(s.rows, 1);
    assert_true(s.Body.axes[2][0] == 9.0f);
    assert_int_equal(Spin_run(&s, NULL, spin_kernel, NULL, NULL), 0);
    assert_int_equal(Spin_commit(&s, f.w), 2);
    assert_int_equal(soa_world_read(f.w, e, f.body, &b), 0);
    assert_true(b.axes[0] == 20.0f && b.axes[2] == 9.0f);
    assert_int_equal(b.kind, Kind_probe);
    assert_int_equal(((const Counter *)world_get(f.w, e, f.counter))->n, 41);
    /* A rebuild of the world copies the committed values in, arrays and
     * enums included. */
    b.axes[1] = -4.0f;
    assert_int_equal(soa_world_set(f.w, e, f.body, &b), 0);
    assert_int_equal(Spin_build(&s, f.w), 0);
    assert_int_equal(s.rows, 1);
    assert_true(s.Body.axes[0][0] == 20.0f && s.Body.axes[1][0] == -4.0f);
    assert_int_equal(s.Body.kind[0], Kind_probe);
    assert_int_equal(s.Counter.n[0], 41);
    assert_false(Body_is_changed(&s.Body, 0));
    /* The pool-taking commit writes both components too. */
    assert_int_equal(Spin_run(&s, NULL, spin_kernel, NULL, NULL), 0);
    assert_int_equal(Spin_commit_on(&s, f.w, NULL), 2);
    assert_int_equal(((const Counter *)world_get(f.w, e, f.counter))->n,
                     s.Counter.n[0]);
    Spin_snap_release(&s);

    /* A read-only system commits nothing. */
    Observe_snap o;
    Observe_snap_init(&o, NULL);
    assert_int_equal(Observe_build(&o, f.w), 0);
    assert_int_equal(Observe_commit(&o, f.w), 0);
    assert_int_equal(Observe_build_on(&o, f.w, NULL), 0);
    assert_int_equal(Observe_commit_on(&o, f.w, NULL), 0);
    Observe_snap_release(&o);
    soa_world_destroy(f.w);
}

/* Adds position to velocity: Velocity is read and written. */
static void accelerate_kernel(const Accelerate_view *v, const soa_frame *f,
                              void *ctx)
{
    (void)f, (void)ctx;
    for (size_t i = v->begin; i < v->end; i++) {
        v->Velocity.x[i] += v->Position.x[i];
        soa_bitset_set(v->Velocity.changed, i);
    }
}

/* A component both in read and in write is written (write implies read):
 * one written term, writable columns holding the world's values, and the
 * kernel's changes committed. */
static void read_and_write_of_one_component_is_a_write(void **state)
{
    (void)state;
    assert_int_equal(Accelerate_system.nreads, 1);
    assert_ptr_equal(Accelerate_system.reads[0], &Position_desc);
    assert_int_equal(Accelerate_system.nwrites, 1);
    assert_ptr_equal(Accelerate_system.writes[0], &Velocity_desc);
    assert_int_equal(Accelerate_layout.nterms, 2);
    fixture f;
    fixture_init(&f, NULL);
    soa_entity e = spawn_mover(&f, 3); /* Position (3, -3), Velocity (1, 3) */
    Accelerate_snap s;
    assert_int_equal(Accelerate_snap_init(&s, NULL), 0);
    assert_int_equal(Accelerate_build(&s, f.w), 0);
    assert_int_equal(s.rows, 1);
    assert_true(s.Velocity.x[0] == 1.0f);
    assert_int_equal(Accelerate_run(&s, NULL, accelerate_kernel, NULL, NULL), 0);
    assert_int_equal(Accelerate_commit(&s, f.w), 1);
    Velocity v;
    assert_int_equal(Velocity_get(f.w, e, &v), 0);
    assert_true(v.x == 4.0f && v.y == 3.0f);
    Accelerate_snap_release(&s);
    soa_world_destroy(f.w);
}

/* Runs Integrate for `frames` frames on `threads` threads over the same
 * world and returns a hash of every Position's bits. */
static uint64_t run_threads(unsigned threads, int entities, int frames)
{
    fixture f;
    fixture_init(&f, NULL);
    soa_entity *e = malloc(sizeof *e * (size_t)entities);
    for (int i = 0; i < entities; i++)
        e[i] = spawn_mover(&f, i);
    soa_pool *pool = soa_pool_create(threads);
    assert_non_null(pool);
    Integrate_snap s;
    Integrate_snap_init(&s, NULL);
    for (int fr = 0; fr < frames; fr++) {
        soa_frame frame = {1.0 / 60.0, fr / 60.0, (uint64_t)fr};
        assert_int_equal(Integrate_build(&s, f.w), 0);
        assert_int_equal(Integrate_run(&s, pool, integrate_kernel, &frame,
                                       NULL), 0);
        Integrate_commit(&s, f.w);
        /* some churn: entities die and new ones take their slots */
        soa_world_despawn(f.w, e[(fr * 37) % entities]);
        e[(fr * 37) % entities] = spawn_mover(&f, fr);
    }
    uint64_t h = 0xcbf29ce484222325u;
    for (int i = 0; i < entities; i++) {
        const Position *p = world_get(f.w, e[i], f.pos);
        unsigned char bytes[sizeof *p];
        memcpy(bytes, p, sizeof bytes);
        for (size_t k = 0; k < sizeof bytes; k++)
            h = (h ^ bytes[k]) * 0x100000001b3u;
    }
    Integrate_snap_release(&s);
    soa_pool_destroy(pool);
    soa_world_destroy(f.w);
    free(e);
    return h;
}

static void same_result_on_1_2_and_4_threads(void **state)
{
    (void)state;
    uint64_t h1 = run_threads(1, 5000, 12);
    assert_true(h1 == run_threads(2, 5000, 12));
    assert_true(h1 == run_threads(4, 5000, 12));
    assert_true(h1 != run_threads(1, 5000, 11)); /* the hash does see frames */
}

/* ---- build and commit spread over a pool ---------------------------- */

/* Two identical worlds: `ser` built and committed serially, `par` with
 * Integrate_build_on / Integrate_commit_on on a pool. */
typedef struct twin {
    fixture ser, par;
    soa_entity *e;
    int n;
} twin;

static void twin_spawn(twin *t, int i)
{
    t->e[i] = spawn_mover(&t->ser, i);
    assert_int_equal(spawn_mover(&t->par, i), t->e[i]);
}

/* The same change to both worlds. */
static void twin_change(twin *t, int what, int fr)
{
    fixture *w[2] = {&t->ser, &t->par};
    int i = (fr * 7919 + 13) % t->n;
    int frozen = (i / 7) * 7 + 6 < t->n ? (i / 7) * 7 + 6 : (i / 7) * 7 - 1;
    for (int k = 0; k < 2; k++) {
        Velocity v = {2.0f, (float)fr};
        switch (what) {
        case 0: /* a value only: the next build copies the same rows */
            soa_world_set(w[k]->w, t->e[i], w[k]->vel, &v);
            break;
        case 1: /* a snapshot entity dies, its slot is reused */
            soa_world_despawn(w[k]->w, t->e[i]);
            break;
        case 2: /* a row leaves Position: the rows must be looked up */
            soa_world_remove(w[k]->w, t->e[frozen], w[k]->pos);
            break;
        default: /* storage grows; no row changes hands */
            break;
        }
    }
    if (what == 1)
        twin_spawn(t, i);
    if (what == 3)
        for (int k = 0; k < 100; k++) {
            soa_entity e = spawn_mover(&t->ser, k);
            assert_int_equal(spawn_mover(&t->par, k), e);
        }
}

static void assert_same_snap(const Integrate_snap *a, const Integrate_snap *b)
{
    assert_int_equal(a->rows, b->rows);
    assert_memory_equal(a->eids, b->eids, a->rows * sizeof *a->eids);
    assert_memory_equal(a->Position.x, b->Position.x, a->rows * sizeof(float));
    assert_memory_equal(a->Position.y, b->Position.y, a->rows * sizeof(float));
    assert_memory_equal(a->Velocity.x, b->Velocity.x, a->rows * sizeof(float));
    assert_memory_equal(a->Velocity.y, b->Velocity.y, a->rows * sizeof(float));
    assert_int_equal(Position_count_changed(&b->Position, b->rows), 0);
}

static void assert_same_positions(twin *t)
{
    for (int i = 0; i < t->n; i++) {
        const Position *a = world_get(t->ser.w, t->e[i], t->ser.pos);
        const Position *b = world_get(t->par.w, t->e[i], t->par.pos);
        assert_int_equal(a != NULL, b != NULL);
        if (a)
            assert_memory_equal(a, b, sizeof *a);
    }
}

/* Build_on and commit_on on 1, 2 and 4 threads (and no pool) give the
 * snapshot and the world the serial functions give, through fresh walks,
 * same-shape rebuilds, and commits on the direct and the lookup paths,
 * over several chunks of rows. */
static void build_on_and_commit_on_match_serial(void **state)
{
    (void)state;
    enum { N = 2 * SOA_SNAP_PARALLEL_ROWS + 777, FRAMES = 12 };
    for (unsigned threads = 0; threads <= 4; threads = threads ? threads * 2 : 1) {
        twin t;
        t.n = N;
        t.e = malloc(sizeof *t.e * N);
        assert_non_null(t.e);
        fixture_init(&t.ser, NULL);
        fixture_init(&t.par, NULL);
        for (int i = 0; i < N; i++)
            twin_spawn(&t, i);
        soa_pool *pool = threads ? soa_pool_create(threads) : NULL;
        assert_true(!threads || pool);
        Integrate_snap a, b;
        Integrate_snap_init(&a, NULL);
        Integrate_snap_init(&b, NULL);
        for (int fr = 0; fr < FRAMES; fr++) {
            soa_frame frame = {0.5, 0.0, (uint64_t)fr};
            assert_int_equal(Integrate_build(&a, t.ser.w), 0);
            assert_int_equal(Integrate_build_on(&b, t.par.w, pool), 0);
            assert_same_snap(&a, &b);
            /* enough rows for several chunks on the pool */
            assert_true(b.rows >= SOA_SNAP_PARALLEL_ROWS + 2 * SOA_SNAP_GRAIN);
            Integrate_run(&a, NULL, integrate_kernel, &frame, NULL);
            Integrate_run(&b, pool, integrate_kernel, &frame, NULL);
            /* between build and commit: each path of the commit */
            twin_change(&t, fr % 4, fr);
            size_t na = Integrate_commit(&a, t.ser.w);
            assert_true(na > 0);
            assert_int_equal(Integrate_commit_on(&b, t.par.w, pool), na);
            assert_same_positions(&t);
            /* after the commit: a value (the next build re-copies) or a
             * structural change (the next build walks) */
            twin_change(&t, fr % 3 == 2 ? 1 : 0, fr + 1000);
        }
        Integrate_snap_release(&a);
        Integrate_snap_release(&b);
        soa_pool_destroy(pool);
        soa_world_destroy(t.ser.w);
        soa_world_destroy(t.par.w);
        free(t.e);
    }
}

/* Entity i with Position (i, -i) and Velocity (1, i), not Frozen: in a
 * world of only these every candidate of Integrate's walk matches. */
static soa_entity spawn_full(fixture *f, int i)
{
    soa_entity e = soa_world_spawn(f->w);
    Position p = {(float)i, (float)-i};
    Velocity v = {1.0f, (float)i};
    assert_int_equal(soa_world_set(f->w, e, f->pos, &p), 0);
    assert_int_equal(soa_world_set(f->w, e, f->vel, &v), 0);
    return e;
}

/* The parallel walk (every candidate matches: lead positions are rows)
 * gives the serial walk's snapshot, and a walk that meets a gap (a Frozen
 * entity) falls back to the serial walk, until a walk finds none again. */
static void parallel_walk_matches_serial(void **state)
{
    (void)state;
    enum { N = 2 * SOA_SNAP_PARALLEL_ROWS + 333, FRAMES = 11 };
    static soa_entity e[N];
    for (unsigned threads = 2; threads <= 4; threads *= 2) {
        fixture ser, par;
        fixture_init(&ser, NULL);
        fixture_init(&par, NULL);
        for (int i = 0; i < N; i++) {
            e[i] = spawn_full(&ser, i);
            assert_int_equal(spawn_full(&par, i), e[i]);
        }
        soa_pool *pool = soa_pool_create(threads);
        assert_non_null(pool);
        Integrate_snap a, b;
        Integrate_snap_init(&a, NULL);
        Integrate_snap_init(&b, NULL);
        for (int fr = 0; fr < FRAMES; fr++) {
            fixture *w[2] = {&ser, &par};
            int i = (fr * 7919 + 5) % N;
            for (int k = 0; k < 2; k++) {
                switch (fr % 5) {
                case 0: /* swap-remove: the lead's order changes */
                    soa_world_despawn(w[k]->w, e[i]);
                    break;
                case 1: /* a gap: this walk and the next are serial */
                    assert_int_equal(soa_world_add(w[k]->w, e[i], w[k]->frozen), 0);
                    break;
                case 2: /* no gap any more */
                    soa_world_remove(w[k]->w, e[(((fr - 1) * 7919) + 5) % N],
                                     w[k]->frozen);
                    break;
                case 3: /* Velocity leaves and comes back: rows move */
                    soa_world_remove(w[k]->w, e[i], w[k]->vel);
                    soa_world_add(w[k]->w, e[i], w[k]->vel);
                    break;
                default:
                    break;
                }
            }
            if (fr % 5 == 0) {
                e[i] = spawn_full(&ser, i);
                assert_int_equal(spawn_full(&par, i), e[i]);
            }
            soa_frame frame = {0.5, 0.0, (uint64_t)fr};
            assert_int_equal(Integrate_build(&a, ser.w), 0);
            assert_int_equal(Integrate_build_on(&b, par.w, pool), 0);
            assert_same_snap(&a, &b);
            Integrate_run(&a, NULL, integrate_all_kernel, &frame, NULL);
            Integrate_run(&b, pool, integrate_all_kernel, &frame, NULL);
            assert_int_equal(Integrate_commit_on(&b, par.w, pool),
                             Integrate_commit(&a, ser.w));
            for (int k = 0; k < N; k++) {
                const Position *pa = world_get(ser.w, e[k], ser.pos);
                const Position *pb = world_get(par.w, e[k], par.pos);
                assert_non_null(pa);
                assert_non_null(pb);
                assert_memory_equal(pa, pb, sizeof *pa);
            }
        }
        Integrate_snap_release(&a);
        Integrate_snap_release(&b);
        soa_pool_destroy(pool);
        soa_world_destroy(ser.w);
        soa_world_destroy(par.w);
    }
}

static counting_alloc ca;

static void storage_is_reused_once_big_enough(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f, NULL);
    for (int i = 0; i < 300; i++)
        spawn_mover(&f, i);
    counting_alloc_init(&ca);
    Integrate_snap s;
    assert_int_equal(Integrate_snap_init(&s, &ca.base), 0);
    assert_int_equal(ca.allocs, 0); /* nothing until the first build */
    assert_int_equal(Integrate_build(&s, f.w), 0);
    size_t after_first = ca.allocs;
    assert_true(after_first > 0);
    for (int k = 0; k < 10; k++) {
        assert_int_equal(Integrate_build(&s, f.w), 0);
        Integrate_run(&s, NULL, integrate_kernel, NULL, NULL);
        Integrate_commit(&s, f.w);
    }
    assert_int_equal(ca.allocs, after_first);
    /* Fewer entities: still no allocation. */
    soa_world_despawn(f.w, s.eids[0]);
    assert_int_equal(Integrate_build(&s, f.w), 0);
    assert_int_equal(ca.allocs, after_first);
    /* Outgrowing the capacity allocates, and only then. */
    size_t cap = s.cap;
    for (int i = 0; i < (int)cap; i++)
        spawn_mover(&f, i);
    assert_int_equal(Integrate_build(&s, f.w), 0);
    assert_true(ca.allocs > after_first);
    assert_true(s.cap >= s.rows);
    Integrate_snap_release(&s);
    assert_int_equal(ca.live_bytes, 0);
    assert_int_equal(ca.bad_frees, 0);
    soa_world_destroy(f.w);
}

static void out_of_memory_and_bad_arguments(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f, NULL);
    for (int i = 0; i < 100; i++)
        spawn_mover(&f, i);
    for (long budget = 0; budget < 4; budget++) {
        counting_alloc_init(&ca);
        ca.fail_after = budget;
        Integrate_snap s;
        Integrate_snap_init(&s, &ca.base);
        errno = 0;
        assert_int_equal(Integrate_build(&s, f.w), -1);
        assert_int_equal(errno, ENOMEM);
        assert_int_equal(s.rows, 0);
        assert_int_equal(ca.live_bytes, 0); /* nothing half-allocated */
        ca.fail_after = -1;
        assert_int_equal(Integrate_build(&s, f.w), 0); /* recovers */
        assert_true(s.rows > 0);
        Integrate_snap_release(&s);
    }
    Integrate_snap s;
    errno = 0;
    assert_int_equal(Integrate_snap_init(NULL, NULL), -1);
    assert_int_equal(errno, EINVAL);
    Integrate_snap_init(&s, NULL);
    assert_int_equal(Integrate_build(&s, NULL), -1);
    assert_int_equal(Integrate_build(NULL, f.w), -1);
    assert_int_equal(Integrate_run(&s, NULL, NULL, NULL, NULL), -1);
    assert_int_equal(Integrate_run(NULL, NULL, integrate_kernel, NULL, NULL),
                     -1);
    /* A world where Position means something else refuses the build. */
    soa_world *w2 = soa_world_create(NULL);
    soa_component_desc fake = Position_desc;
    fake.layout_hash ^= 1;
    soa_world_register(w2, &fake);
    errno = 0;
    assert_int_equal(Integrate_build(&s, w2), -1);
    assert_int_equal(errno, EINVAL);
    soa_world_destroy(w2);
    Integrate_snap_release(&s);
    soa_world_destroy(f.w);
}

static void snapshot_lives_in_an_arena(void **state)
{
    (void)state;
    int kind = soa_shm_available() ? SOA_ARENA_SHARED : SOA_ARENA_PRIVATE;
    soa_arena *ar = soa_arena_create(1 << 20, kind);
    assert_non_null(ar);
    fixture f;
    fixture_init(&f, NULL);
    for (int i = 0; i < 1000; i++)
        spawn_mover(&f, i);
    Integrate_snap s;
    Integrate_snap_init(&s, soa_arena_allocator(ar));
    assert_int_equal(Integrate_build(&s, f.w), 0);
    assert_int_not_equal(soa_arena_offset(ar, s.eids), SOA_ARENA_BAD_OFFSET);
    assert_int_not_equal(soa_arena_offset(ar, s.Position.x),
                         SOA_ARENA_BAD_OFFSET);
    size_t used = soa_arena_used(ar);
    soa_frame fr = {1.0, 0.0, 0};
    Integrate_run(&s, NULL, integrate_kernel, &fr, NULL);
    assert_true(Integrate_commit(&s, f.w) > 0);
    assert_int_equal(Integrate_build(&s, f.w), 0);
    assert_int_equal(soa_arena_used(ar), used); /* reused, not re-allocated */
    Integrate_snap_release(&s);
    soa_arena_destroy(ar);
    soa_world_destroy(f.w);
}

static void the_system_descriptor_describes_the_system(void **state)
{
    (void)state;
    assert_string_equal(Integrate_system.name, "Integrate");
    assert_int_equal(Integrate_system.nreads, 1);
    assert_ptr_equal(Integrate_system.reads[0], &Velocity_desc);
    assert_int_equal(Integrate_system.nwrites, 1);
    assert_ptr_equal(Integrate_system.writes[0], &Position_desc);
    assert_int_equal(Integrate_system.nwithout, 1);
    assert_ptr_equal(Integrate_system.without[0], &Frozen_desc);
    assert_int_equal(Integrate_system.snap_size, sizeof(Integrate_snap));
    assert_int_equal(Spin_system.nwrites, 2);
    assert_int_equal(Observe_system.nwrites, 0);

    /* Through the erased functions, as the scheduler calls them. */
    fixture f;
    fixture_init(&f, NULL);
    for (int i = 0; i < 10; i++)
        spawn_mover(&f, i);
    _Alignas(64) unsigned char snap[sizeof(Integrate_snap)];
    const soa_system_desc *d = &Integrate_system;
    assert_int_equal(d->snap_init(snap, NULL), 0);
    assert_int_equal(d->build(snap, f.w), 0);
    assert_int_equal(soa_snap_rows(snap), ((Integrate_snap *)snap)->rows);
    soa_frame fr = {1.0, 0.0, 0};
    assert_int_equal(d->run(snap, NULL, Integrate_kernel_fn(integrate_kernel),
                            &fr, NULL), 0);
    size_t n = d->commit(snap, f.w);
    assert_true(n > 0);
    d->run_range(snap, Integrate_kernel_fn(integrate_kernel), &fr, NULL, 0,
                 soa_snap_rows(snap));
    /* The pool-taking pair, here with no pool: the same rows again. */
    assert_non_null(d->build_on);
    assert_non_null(d->commit_on);
    assert_int_equal(d->build_on(snap, f.w, NULL), 0);
    assert_int_equal(d->commit_on(snap, f.w, NULL), 0); /* nothing changed */
    assert_int_equal(d->run(snap, NULL, Integrate_kernel_fn(integrate_kernel),
                            &fr, NULL), 0);
    assert_int_equal(d->commit_on(snap, f.w, NULL), n);
    d->snap_release(snap);
    soa_world_destroy(f.w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(build_gathers_exactly_the_matching_entities),
        cmocka_unit_test(commit_writes_only_changed_rows_of_live_entities),
        cmocka_unit_test(commit_fast_and_slow_paths_agree),
        cmocka_unit_test(rebuild_follows_the_world),
        cmocka_unit_test(two_written_components_and_arrays_round_trip),
        cmocka_unit_test(read_and_write_of_one_component_is_a_write),
        cmocka_unit_test(same_result_on_1_2_and_4_threads),
        cmocka_unit_test(build_on_and_commit_on_match_serial),
        cmocka_unit_test(parallel_walk_matches_serial),
        cmocka_unit_test(storage_is_reused_once_big_enough),
        cmocka_unit_test(out_of_memory_and_bad_arguments),
        cmocka_unit_test(snapshot_lives_in_an_arena),
        cmocka_unit_test(the_system_descriptor_describes_the_system),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
