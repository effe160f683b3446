/*
 * test_worker_snap: a system snapshot in a NAMED arena (generated
 * Drift_snap_publish / Drift_snap_attach, runtime soa/shmsnap.h).
 *
 *   - attach in this process and in a forked child that maps the arena
 *     through its fd at another address: the child's kernel writes land in
 *     the parent's snapshot, and a commit takes them into the world;
 *   - a program compiled from another schema (worker_snap_v2.soa) and a
 *     forged layout with one component hash changed are refused;
 *   - a corrupted header (magic, version, rows, a column offset, the header
 *     offset itself) is refused with the right code, never followed;
 *   - random mutations of a header never yield columns outside the arena.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "worker_snap.h"

int v2_drift_attach(const soa_arena *a, size_t offset);

#define ROWS 1000u

/* Offsets inside the header (the format of shmsnap.c, version 1). */
#define H_VERSION 8
#define H_ROWS 32
#define H_CAP 40
#define H_COLS(ncomps) (48 + 8 * (ncomps))

typedef struct fixture {
    soa_world *w;
    soa_arena *a;
    soa_cid body, spin, parked;
    Drift_snap snap;
    size_t hdr;
} fixture;

static void drift(const Drift_view *v, const soa_frame *f, void *ctx)
{
    (void)ctx;
    for (size_t i = v->begin; i < v->end; i++) {
        v->Body.pos[0][i] += v->Spin.rate[i] * (float)f->dt;
        v->Body.mass[i] += 1.0;
        soa_bitset_set(v->Body.changed, i);
    }
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->w = soa_world_create(NULL);
    f->a = soa_arena_create(1u << 20, SOA_ARENA_NAMED);
    assert_non_null(f->w);
    assert_non_null(f->a);
    f->body = soa_world_register(f->w, &Body_desc);
    f->spin = soa_world_register(f->w, &Spin_desc);
    f->parked = soa_world_register(f->w, &Parked_desc);
    for (uint32_t i = 0; i < ROWS + ROWS / 4; i++) {
        soa_entity e = soa_world_spawn(f->w);
        Body b = Body_default();
        Spin s = {(float)i};
        b.pos[0] = (float)i;
        b.pos[2] = -(float)i;
        b.mass = 0.5 * i;
        assert_int_equal(soa_world_set(f->w, e, f->body, &b), 0);
        assert_int_equal(soa_world_set(f->w, e, f->spin, &s), 0);
        if (i % 5 == 4) /* a quarter of ROWS: not in the system */
            assert_int_equal(soa_world_add(f->w, e, f->parked), 0);
    }
    assert_int_equal(Drift_snap_init(&f->snap, soa_arena_allocator(f->a)), 0);
    void *h = soa_arena_alloc(f->a, soa_snap_shm_bytes(&Drift_layout), 64);
    assert_non_null(h);
    f->hdr = soa_arena_offset(f->a, h);
    assert_int_equal(Drift_build(&f->snap, f->w), 0);
    assert_int_equal(f->snap.rows, ROWS);
    assert_int_equal(Drift_snap_publish(&f->snap, f->a, f->hdr), SOA_SHM_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    Drift_snap_release(&f->snap);
    soa_arena_destroy(f->a);
    soa_world_destroy(f->w);
    free(f);
    return 0;
}

static unsigned char *hdr_bytes(fixture *f)
{
    return soa_arena_ptr(f->a, f->hdr);
}

static void test_attach_same_process(void **state)
{
    fixture *f = *state;
    Drift_snap s;
    assert_int_equal(Drift_snap_attach(&s, f->a, f->hdr), SOA_SHM_OK);
    assert_int_equal(s.rows, ROWS);
    assert_int_equal(s.cap, f->snap.cap);
    assert_ptr_equal(s.eids, f->snap.eids);
    for (size_t i = 0; i < ROWS; i++) {
        assert_true(s.Body.pos[2][i] == f->snap.Body.pos[2][i]);
        assert_int_equal(s.Body.kind[i], Kind_ship);
        assert_true(s.Spin.rate[i] == f->snap.Spin.rate[i]);
    }
    /* An attached snapshot belongs to the arena: release is a no-op and a
     * build is refused rather than allocating elsewhere. */
    Drift_snap_release(&s);
    assert_int_equal(s.rows, ROWS);
    assert_int_equal(Drift_build(&s, f->w), -1);
}

/* The child maps the arena anew from its fd, attaches, runs the kernel:
 * exit 0, or the attach code negated. */
static int child_run(int fd, size_t hdr)
{
    soa_arena *mine = soa_arena_attach(fd);
    if (!mine)
        return 100;
    Drift_snap s;
    int rc = Drift_snap_attach(&s, mine, hdr);
    if (rc != SOA_SHM_OK)
        return -rc;
    soa_frame fr = {0.5, 0.0, 0};
    if (Drift_run(&s, NULL, drift, &fr, NULL) != 0)
        return 101;
    soa_arena_destroy(mine);
    return 0;
}

static void test_attach_other_process_and_commit(void **state)
{
    fixture *f = *state;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(child_run(soa_arena_fd(f->a), f->hdr));
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);

    assert_int_equal(Body_count_changed(&f->snap.Body, f->snap.rows), ROWS);
    assert_int_equal(Drift_commit(&f->snap, f->w), ROWS);
    for (size_t i = 0; i < ROWS; i++) {
        Body b;
        Spin sp;
        assert_int_equal(soa_world_read(f->w, f->snap.eids[i], f->body, &b), 0);
        assert_int_equal(soa_world_read(f->w, f->snap.eids[i], f->spin, &sp), 0);
        float start = sp.rate; /* rate == the starting x */
        assert_true(b.pos[0] == start + sp.rate * 0.5f);
        assert_true(b.mass == 0.5 * (double)start + 1.0);
    }
}

static void test_refuses_other_schema(void **state)
{
    fixture *f = *state;
    errno = 0;
    assert_int_equal(v2_drift_attach(f->a, f->hdr), SOA_SHM_ELAYOUT);
    assert_int_equal(errno, EPROTO);

    /* Same system hash and column sizes, one component hash changed: the
     * per-component check alone must catch it. */
    uint64_t hashes[2] = {Spin_LAYOUT_HASH, Body_LAYOUT_HASH ^ 1u};
    /* eids; Spin: rate, changed; Body: pos[3], mass, kind, changed */
    static const uint32_t sizes[9] = {sizeof(soa_entity), 4, 0, 4, 4, 4,
                                      8, 1, 0};
    soa_shm_layout forged = {"Drift", Drift_LAYOUT_HASH, 2, hashes, 9, sizes};
    size_t off[9], rows, cap;
    assert_int_equal(soa_shm_snap_read(f->a, f->hdr, &forged, off, &rows, &cap),
                     SOA_SHM_ELAYOUT);
    hashes[1] = Body_LAYOUT_HASH;
    assert_int_equal(soa_shm_snap_read(f->a, f->hdr, &forged, off, &rows, &cap),
                     SOA_SHM_OK);
    assert_non_null(strstr(soa_shm_strerror(SOA_SHM_ELAYOUT), "schema"));
}

static void test_refuses_corrupt_header(void **state)
{
    fixture *f = *state;
    Drift_snap s;
    memset(&s, 0x5a, sizeof s);
    Drift_snap before = s;
    unsigned char *h = hdr_bytes(f);
    unsigned char saved[512];
    size_t n = soa_snap_shm_bytes(&Drift_layout);
    assert_true(n <= sizeof saved);
    memcpy(saved, h, n);

    h[0] ^= 0xff; /* magic */
    assert_int_equal(Drift_snap_attach(&s, f->a, f->hdr), SOA_SHM_EMAGIC);
    memcpy(h, saved, n);

    uint32_t v = SOA_SHM_SNAP_VERSION + 1;
    memcpy(h + H_VERSION, &v, sizeof v);
    assert_int_equal(Drift_snap_attach(&s, f->a, f->hdr), SOA_SHM_EVERSION);
    assert_int_equal(errno, EPROTO);
    memcpy(h, saved, n);

    uint64_t big = f->snap.cap + 1; /* rows > cap */
    memcpy(h + H_ROWS, &big, sizeof big);
    assert_int_equal(Drift_snap_attach(&s, f->a, f->hdr), SOA_SHM_EBOUNDS);
    memcpy(h, saved, n);

    /* A capacity that makes a column reach past the arena. */
    big = soa_arena_capacity(f->a);
    memcpy(h + H_CAP, &big, sizeof big);
    assert_int_equal(Drift_snap_attach(&s, f->a, f->hdr), SOA_SHM_EBOUNDS);
    assert_int_equal(errno, ERANGE);
    memcpy(h, saved, n);

    /* Column 3's offset moved to the arena's last bytes. */
    uint64_t off = soa_arena_capacity(f->a) - 8;
    memcpy(h + H_COLS(2) + 3 * 16, &off, sizeof off);
    assert_int_equal(Drift_snap_attach(&s, f->a, f->hdr), SOA_SHM_EBOUNDS);
    /* ... and one that would wrap around on addition. */
    off = UINT64_MAX - 4;
    memcpy(h + H_COLS(2) + 3 * 16, &off, sizeof off);
    assert_int_equal(Drift_snap_attach(&s, f->a, f->hdr), SOA_SHM_EBOUNDS);
    memcpy(h, saved, n);

    /* The header offset itself: past the end, straddling it, misaligned. */
    size_t capa = soa_arena_capacity(f->a);
    assert_int_equal(Drift_snap_attach(&s, f->a, capa + 64), SOA_SHM_EBOUNDS);
    assert_int_equal(Drift_snap_attach(&s, f->a, capa - 16), SOA_SHM_EBOUNDS);
    assert_int_equal(Drift_snap_attach(&s, f->a, SIZE_MAX - 7), SOA_SHM_EBOUNDS);
    assert_int_equal(Drift_snap_attach(&s, f->a, f->hdr + 4), SOA_SHM_EBOUNDS);
    /* Every refusal left the caller's snapshot alone. */
    assert_memory_equal(&s, &before, sizeof s);
    assert_int_equal(Drift_snap_attach(&s, f->a, f->hdr), SOA_SHM_OK);
}

static void test_publish_refuses_foreign_columns(void **state)
{
    fixture *f = *state;
    Drift_snap heap;
    assert_int_equal(Drift_snap_init(&heap, NULL), 0);
    assert_int_equal(Drift_build(&heap, f->w), 0);
    errno = 0;
    assert_int_equal(Drift_snap_publish(&heap, f->a, f->hdr),
                     SOA_SHM_ENOTARENA);
    assert_int_equal(errno, EFAULT);
    /* A header that does not fit is refused too. */
    assert_int_equal(Drift_snap_publish(&f->snap, f->a,
                                        soa_arena_capacity(f->a) - 8),
                     SOA_SHM_EBOUNDS);
    Drift_snap_release(&heap);
    /* An empty snapshot publishes and attaches as empty. */
    Drift_snap empty, back;
    assert_int_equal(Drift_snap_init(&empty, soa_arena_allocator(f->a)), 0);
    assert_int_equal(Drift_snap_publish(&empty, f->a, f->hdr), SOA_SHM_OK);
    assert_int_equal(Drift_snap_attach(&back, f->a, f->hdr), SOA_SHM_OK);
    assert_int_equal(back.rows, 0);
    assert_int_equal(Drift_run(&back, NULL, drift, NULL, NULL), 0);
}

/* Whether [p, p + bytes) lies inside the arena. */
static bool inside(const soa_arena *a, const void *p, size_t bytes)
{
    size_t off = soa_arena_offset(a, p);
    return off != SOA_ARENA_BAD_OFFSET && off <= soa_arena_capacity(a) &&
           bytes <= soa_arena_capacity(a) - off;
}

/* A model check of the reader: random byte mutations of a valid header.
 * Whatever it accepts must describe columns that lie inside the arena for
 * the capacity it reports; everything else is refused (ASan would catch a
 * read outside the mapping). */
static void test_mutated_headers_never_escape(void **state)
{
    fixture *f = *state;
    unsigned char *h = hdr_bytes(f);
    unsigned char saved[512];
    size_t n = soa_snap_shm_bytes(&Drift_layout);
    memcpy(saved, h, n);
    uint64_t x = 0x9e3779b97f4a7c15u;
    size_t accepted = 0, refused = 0;
    for (int iter = 0; iter < 20000; iter++) {
        memcpy(h, saved, n);
        int flips = 1 + (int)(x % 3);
        for (int k = 0; k < flips; k++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            h[(x >> 8) % n] = (unsigned char)(x >> 40);
        }
        Drift_snap s;
        if (Drift_snap_attach(&s, f->a, f->hdr) != SOA_SHM_OK) {
            refused++;
            continue;
        }
        accepted++;
        size_t words = soa_bitset_words(s.cap) * sizeof(uint64_t);
        assert_true(s.rows <= s.cap);
        assert_true(inside(f->a, s.eids, s.cap * sizeof(soa_entity)));
        assert_true(inside(f->a, s.Spin.rate, s.cap * sizeof(float)));
        assert_true(inside(f->a, s.Spin.changed, words));
        for (int i = 0; i < 3; i++)
            assert_true(inside(f->a, s.Body.pos[i], s.cap * sizeof(float)));
        assert_true(inside(f->a, s.Body.mass, s.cap * sizeof(double)));
        assert_true(inside(f->a, s.Body.kind, s.cap * sizeof(Kind)));
        assert_true(inside(f->a, s.Body.changed, words));
    }
    memcpy(h, saved, n);
    /* Both outcomes happen: the mutations reach accepted fields (rows,
     * offsets within bounds) and checked ones. */
    assert_true(accepted > 0);
    assert_true(refused > 0);
}

int main(void)
{
    if (!soa_shm_available()) {
        /* Nothing to attach to: the fallback is tested in test_worker. */
        return 0;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_attach_same_process, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_attach_other_process_and_commit,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_refuses_other_schema, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_refuses_corrupt_header, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_publish_refuses_foreign_columns,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_mutated_headers_never_escape,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
