/*
 * test_worker_hostile: a worker process that does what it can to hurt the
 * main process, which must never trust a byte the worker can write.
 *
 *   - On random frames the kernel overwrites every byte of every shared
 *     mapping it can write (the arena: mailbox, root, plans, copies,
 *     bitsets) with random data, then returns, exits or hangs; on others
 *     it scribbles only its own written rows and changed bits, or behaves.
 *     The main process (under ASan) never crashes, refuses or commits each
 *     frame, keeps every read-only value and every row it did not mark
 *     changed bit-identical, never touches entities outside the system,
 *     and a respawn always works, after which an honest frame is exact.
 *     Both ways: the world on the heap (snapshot) and in a shared region
 *     (in place).
 *   - A kernel that tries to make the world's region writable (mprotect,
 *     a writable mmap of its fd or of /proc/self/fd/N, pwrite, ftruncate)
 *     is refused by the kernel every time.
 *   - Entity ids the worker rewrites in its snapshot never steer the
 *     commit: a frame whose rows moved fails with ESTALE.
 *   - Exit reasons are reported as they are: exit status N (even 3, which
 *     the worker itself uses at start), signal N, timeout.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "worker_common.h"

#define N 3000u
#define FRAMES 48u

/* ---- what the worker does ------------------------------------------- */

enum {
    HONEST,
    SCRIBBLE_ALL,       /* every writable shared byte, then return */
    SCRIBBLE_ROWS,      /* its written rows and bits only: its right */
    SCRIBBLE_ALL_EXIT,  /* then _exit(7) */
    SCRIBBLE_ALL_HANG,  /* then never answer */
    NKINDS
};

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= UINT64_C(0xff51afd7ed558ccd);
    x ^= x >> 33;
    x *= UINT64_C(0xc4ceb9fe1a85ec53);
    x ^= x >> 33;
    return x;
}

/* What the worker does on frame k: honest on every fourth, so that the
 * frames after a respawn are checked exactly. */
static int kind_of(uint64_t k)
{
    return k % 4u == 0 ? HONEST : (int)(mix(k + 1) % NKINDS);
}

/* Fills [p, p + n) with random bytes from seed. */
static void fill_random(unsigned char *p, size_t n, uint64_t seed)
{
    uint64_t x = seed | 1u;
    for (size_t i = 0; i < n; i++) {
        if (i % 8u == 0)
            x = mix(x + i);
        p[i] = (unsigned char)(x >> (8u * (i % 8u)));
    }
}

/* Every shared mapping this process may write (rw-s in /proc/self/maps),
 * overwritten with random bytes. */
static void scribble_shared(uint64_t seed)
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    if (!f)
        _exit(99);
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        char perms[8];
        if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) == 3 &&
            perms[1] == 'w' && perms[3] == 's')
            fill_random((unsigned char *)lo, hi - lo, seed ^ lo);
    }
    fclose(f);
}

static void hostile(const Integrate_view *v, const soa_frame *f, void *ctx)
{
    (void)ctx;
    switch (kind_of(f->index)) {
    case HONEST:
        integrate(v, f, NULL);
        return;
    case SCRIBBLE_ROWS: {
        size_t n = v->end - v->begin;
        fill_random((unsigned char *)(v->Position.x + v->begin), n * 4u,
                    f->index * 3u);
        fill_random((unsigned char *)(v->Position.y + v->begin), n * 4u,
                    f->index * 5u);
        /* whole words: chunk bounds are multiples of 64 */
        fill_random((unsigned char *)(v->Position.changed + v->begin / 64u),
                    soa_bitset_words(v->end) * 8u - v->begin / 64u * 8u,
                    f->index * 7u);
        return;
    }
    case SCRIBBLE_ALL:
        scribble_shared(f->index);
        return;
    case SCRIBBLE_ALL_EXIT:
        scribble_shared(f->index);
        _exit(7);
    default:
        scribble_shared(f->index);
        for (;;)
            pause();
    }
}

static const soa_worker_task hostile_tasks[] = {
    {&Integrate_shm, (soa_fn)hostile, NULL},
};

/* ---- the main process's view ---------------------------------------- */

typedef struct state {
    Position *pos;
    Velocity *vel;
    unsigned char *has_vel;
} state;

static void take(const test_world *t, state *s)
{
    for (size_t i = 0; i < t->n; i++) {
        assert_int_equal(soa_world_read(t->w, t->ents[i], t->pos, &s->pos[i]), 0);
        s->has_vel[i] = soa_world_has(t->w, t->ents[i], t->vel);
        if (s->has_vel[i])
            assert_int_equal(
                soa_world_read(t->w, t->ents[i], t->vel, &s->vel[i]), 0);
    }
}

static bool same_pos(const Position *a, const Position *b)
{
    return memcmp(a, b, sizeof *a) == 0;
}

/* After a frame: what a worker may never change.  `committed`: the frame
 * was committed (else nothing may have changed at all). */
static void check_invariants(const test_world *t, const state *before,
                             bool committed)
{
    assert_int_equal(soa_world_entities(t->w), t->n);
    for (size_t i = 0; i < t->n; i++) {
        Position p;
        Velocity v;
        assert_true(soa_world_alive(t->w, t->ents[i]));
        assert_int_equal(soa_world_read(t->w, t->ents[i], t->pos, &p), 0);
        assert_int_equal(soa_world_has(t->w, t->ents[i], t->vel),
                         before->has_vel[i]);
        if (before->has_vel[i]) {
            assert_int_equal(soa_world_read(t->w, t->ents[i], t->vel, &v), 0);
            assert_memory_equal(&v, &before->vel[i], sizeof v);
        }
        bool marked = soa_world_is_changed(t->w, t->ents[i], t->pos);
        if (!committed || !before->has_vel[i])
            assert_false(marked); /* outside the system, or refused */
        if (!marked)
            assert_true(same_pos(&p, &before->pos[i]));
    }
}

/* After an honest frame of a fresh worker: exactly pos += vel * dt for
 * the system's entities, marked; the others untouched. */
static void check_exact(const test_world *t, const state *before)
{
    float dt = (float)DT;
    for (size_t i = 0; i < t->n; i++) {
        Position p, want = before->pos[i];
        assert_int_equal(soa_world_read(t->w, t->ents[i], t->pos, &p), 0);
        if (before->has_vel[i]) {
            want.x += before->vel[i].x * dt;
            want.y += before->vel[i].y * dt;
        }
        assert_true(same_pos(&p, &want));
    }
}

static void run_hostile(void)
{
    test_world t;
    world_make(&t, N);
    state before = {calloc(N, sizeof(Position)), calloc(N, sizeof(Velocity)),
                    calloc(N, 1)};
    assert_non_null(before.pos);
    assert_non_null(before.vel);
    assert_non_null(before.has_vel);
    soa_worker *w = spawn_one(hostile_tasks, &t, 300000000);
    assert_non_null(w);
    soa_worker_system *ws = soa_worker_system_create(w, 0);
    assert_non_null(ws);
    bool fresh = true;
    unsigned refused = 0, committed = 0, respawns = 0;
    for (uint64_t k = 0; k < FRAMES; k++) {
        take(&t, &before);
        Position_reset_changed(t.w);
        soa_frame f = frame_at(k);
        int rc = soa_worker_system_frame(ws, t.w, &f, 1);
        check_invariants(&t, &before, rc == 0);
        if (kind_of(k) == HONEST && fresh) {
            assert_int_equal(rc, 0);
            check_exact(&t, &before);
        }
        fresh = false;
        if (rc == 0) {
            committed++;
            if (kind_of(k) == HONEST)
                continue;
            /* A worker that scribbled and lived on may be broken in ways
             * the next frame will find; a fresh one must not be. */
        } else {
            refused++;
            const char *why = soa_worker_error(w);
            assert_true(strstr(why, "killed by signal") ||
                        strstr(why, "exited with status") ||
                        strstr(why, "did not answer") ||
                        strstr(why, "corrupt") || strstr(why, "protocol") ||
                        strstr(why, "refused") || why[0] == '\0');
        }
        assert_int_equal(soa_worker_respawn(w), 0);
        assert_int_equal(soa_worker_status(w), SOA_WORKER_OK);
        respawns++;
        fresh = true;
    }
    /* Not luck: hostile frames happened, and honest ones committed. */
    assert_true(refused > 0);
    assert_true(committed > FRAMES / 4u);
    print_message("%u frames committed, %u refused, %u respawns\n", committed,
                  refused, respawns);
    soa_worker_system_destroy(ws);
    soa_worker_destroy(w);
    free(before.pos);
    free(before.vel);
    free(before.has_vel);
    world_free(&t);
}

static void test_hostile_snapshot(void **state)
{
    (void)state;
    world_in_region = 0;
    run_hostile();
}

static void test_hostile_in_place(void **state)
{
    (void)state;
    world_in_region = 1;
    run_hostile();
}

/* ---- making the world writable -------------------------------------- */

/* The region's fd in the worker (inherited through fork). */
static int region_fd = -1;

/* 1.0 in Position.x when every attempt was refused, else the number of
 * the first one that succeeded. */
static float try_to_write(const float *column)
{
    long page = sysconf(_SC_PAGESIZE);
    void *at = (void *)((uintptr_t)column & ~(uintptr_t)(page - 1));
    if (mprotect(at, (size_t)page, PROT_READ | PROT_WRITE) == 0)
        return 2.0f;
    void *m = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE, MAP_SHARED,
                   region_fd, 0);
    if (m != MAP_FAILED)
        return 3.0f;
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", region_fd);
    int again = open(path, O_RDWR);
    if (again >= 0) {
        m = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE, MAP_SHARED, again,
                 0);
        close(again);
        if (m != MAP_FAILED)
            return 4.0f;
    }
    char byte = 1;
    if (pwrite(region_fd, &byte, 1, 0) == 1)
        return 5.0f;
    if (ftruncate(region_fd, 0) == 0)
        return 6.0f;
    m = mmap(NULL, (size_t)page, PROT_READ, MAP_SHARED, region_fd, 0);
    if (m != MAP_FAILED) {
        int rc = mprotect(m, (size_t)page, PROT_READ | PROT_WRITE);
        munmap(m, (size_t)page);
        if (rc == 0)
            return 7.0f;
    }
    return 1.0f;
}

static void unseal(const Integrate_view *v, const soa_frame *f, void *ctx)
{
    (void)f, (void)ctx;
    float verdict = try_to_write(v->Velocity.x + v->begin);
    for (size_t i = v->begin; i < v->end; i++) {
        v->Position.x[i] = verdict;
        soa_bitset_set(v->Position.changed, i);
    }
}

static const soa_worker_task unseal_tasks[] = {
    {&Integrate_shm, (soa_fn)unseal, NULL},
};

static void test_region_stays_read_only(void **state)
{
    (void)state;
    world_in_region = 1;
    test_world t;
    world_make(&t, N);
    region_fd = soa_region_fd(t.region);
    soa_worker *w = spawn_one(unseal_tasks, &t, 0);
    assert_non_null(w);
    soa_worker_system *ws = soa_worker_system_create(w, 0);
    soa_frame f = frame_at(0);
    assert_int_equal(soa_worker_system_frame(ws, t.w, &f, 1), 0);
    for (size_t i = 0; i < t.n; i++) {
        Position p;
        assert_int_equal(soa_world_read(t.w, t.ents[i], t.pos, &p), 0);
        if (i % 7 != 6)
            assert_true(p.x == 1.0f); /* 2..7: that attempt succeeded */
    }
    soa_worker_system_destroy(ws);
    soa_worker_destroy(w);
    world_free(&t);
}

/* ---- redirecting the commit ----------------------------------------- */

/* The entity the kernel below points every snapshot row at (one without
 * Velocity, so outside the system). */
static soa_entity victim;

static void redirect(const Integrate_view *v, const soa_frame *f, void *ctx)
{
    (void)f, (void)ctx;
    soa_entity *eids = (soa_entity *)(uintptr_t)v->eids; /* in the arena */
    for (size_t i = v->begin; i < v->end; i++) {
        eids[i] = victim;
        v->Position.x[i] = 777.0f;
        soa_bitset_set(v->Position.changed, i);
    }
}

/* A snapshot's entity ids live in the arena, where the worker can write
 * them; the commit never follows them.  When the world's structure changed
 * under the frame (the rows moved), the frame fails with ESTALE instead of
 * looking entities up by those ids. */
static void test_commit_never_follows_worker_ids(void **state)
{
    (void)state;
    world_in_region = 0;
    test_world t;
    world_make(&t, 200);
    victim = t.ents[6];
    soa_worker_task task = {&Integrate_shm, (soa_fn)redirect, NULL};
    soa_worker *w = spawn_one(&task, &t, 0);
    assert_non_null(w);
    soa_worker_system *ws = soa_worker_system_create(w, 0);
    Position before;
    assert_int_equal(soa_world_read(t.w, victim, t.pos, &before), 0);
    soa_frame f = frame_at(0);
    assert_int_equal(soa_worker_system_begin(ws, t.w, &f, 1), 0);
    soa_world_despawn(t.w, t.ents[0]); /* rows move under the frame */
    errno = 0;
    assert_int_equal(soa_worker_system_end(ws, t.w), -1);
    assert_int_equal(errno, ESTALE);
    Position after;
    assert_int_equal(soa_world_read(t.w, victim, t.pos, &after), 0);
    assert_memory_equal(&after, &before, sizeof after);
    /* Without a structural change the rows are the plan's own: written
     * where they came from, whatever the ids say. */
    f = frame_at(1);
    assert_int_equal(soa_worker_system_frame(ws, t.w, &f, 1), 0);
    assert_int_equal(soa_world_read(t.w, victim, t.pos, &after), 0);
    assert_memory_equal(&after, &before, sizeof after);
    assert_int_equal(soa_world_read(t.w, t.ents[1], t.pos, &after), 0);
    assert_true(after.x == 777.0f);
    soa_worker_system_destroy(ws);
    soa_worker_destroy(w);
    world_free(&t);
}

/* ---- exit reasons --------------------------------------------------- */

static void exit3(const Integrate_view *v, const soa_frame *f, void *ctx)
{
    (void)v, (void)f, (void)ctx;
    _exit(3);
}

static void segv(const Integrate_view *v, const soa_frame *f, void *ctx)
{
    (void)v, (void)f, (void)ctx;
    raise(SIGSEGV);
}

static void one_reason(Integrate_kernel kernel, const char *want,
                       const char *not_want)
{
    world_in_region = 0;
    test_world t;
    world_make(&t, 100);
    soa_worker_task task = {&Integrate_shm, (soa_fn)kernel, NULL};
    soa_worker *w = spawn_one(&task, &t, 0);
    assert_non_null(w);
    soa_worker_system *ws = soa_worker_system_create(w, 0);
    soa_frame f = frame_at(0);
    assert_int_equal(soa_worker_system_frame(ws, t.w, &f, 1), -1);
    const char *why = soa_worker_error(w);
    if (!strstr(why, want) || (not_want && strstr(why, not_want)))
        fail_msg("reason \"%s\": want \"%s\"%s%s", why, want,
                 not_want ? ", not " : "", not_want ? not_want : "");
    assert_int_equal(soa_worker_respawn(w), 0);
    soa_worker_system_destroy(ws);
    soa_worker_destroy(w);
    world_free(&t);
}

static void test_exit_reasons_as_they_are(void **state)
{
    (void)state;
    one_reason(exit3, "exited with status 3 during", "shared memory");
    one_reason(segv, "killed by signal 11", NULL);
}

/* The shared fixture's reference, unused here. */
static uint64_t (*const unused_reference)(size_t, uint64_t) = reference_checksum;

static int need_shm(void **state)
{
    (void)state;
    unsetenv("SOA_WORKER_THREADS");
    return soa_shm_available() ? 0 : -1;
}

int main(void)
{
    (void)unused_reference;
    if (!soa_shm_available())
        return 0; /* processes need shared memory */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_hostile_snapshot, need_shm),
        cmocka_unit_test_setup(test_hostile_in_place, need_shm),
        cmocka_unit_test_setup(test_region_stays_read_only, need_shm),
        cmocka_unit_test_setup(test_commit_never_follows_worker_ids, need_shm),
        cmocka_unit_test_setup(test_exit_reasons_as_they_are, need_shm),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
