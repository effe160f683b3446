/*
 * bench/mailbox.c: what a tick costs through the mailbox.
 *
 *   1. Round trip of one tick (Integrate over 64 rows in a shared
 *      snapshot) through the worker's mailbox, against the same tick driven
 *      through a pair of pipes, in the same run: median and p99.  A bare
 *      ring echo (no kernel) shows the mailbox alone.
 *   2. Ticks per second with m = 1, 8, 64 ticks per request (4096 rows),
 *      against the kernel run in-process with no worker at all.
 *
 *   bench_mailbox [--quick]
 *
 * Numbers on a shared machine are noisy: compare the ratios within a run.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "physics.h"

static void kernel(const Integrate_view *v, const soa_frame *f, void *ctx)
{
    (void)ctx;
    float dt = (float)f->dt;
    for (size_t i = v->begin; i < v->end; i++) {
        v->Position.x[i] += v->Velocity.x[i] * dt;
        v->Position.y[i] += v->Velocity.y[i] * dt;
        soa_bitset_set(v->Position.changed, i);
    }
}

static const soa_worker_task tasks[] = {
    {&Integrate_shm, (soa_fn)kernel, NULL},
};

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

typedef struct stats {
    double median_us, p99_us;
} stats;

static stats summarize(int64_t *ns, size_t n)
{
    qsort(ns, n, sizeof *ns, cmp_i64);
    stats s = {(double)ns[n / 2] / 1e3, (double)ns[n * 99 / 100] / 1e3};
    return s;
}

/* A world of `rows` moving entities and a snapshot of it published in the
 * worker's arena; the header offset into *hdr. */
typedef struct setup {
    soa_world *world;
    Integrate_snap snap;
    size_t hdr;
} setup;

static int make_setup(setup *s, soa_worker *w, size_t rows)
{
    s->world = soa_world_create(NULL);
    soa_cid pos = soa_world_register(s->world, &Position_desc);
    soa_cid vel = soa_world_register(s->world, &Velocity_desc);
    for (size_t i = 0; i < rows; i++) {
        soa_entity e = soa_world_spawn(s->world);
        Position p = {(float)i, 0};
        Velocity v = {1, 2};
        soa_world_set(s->world, e, pos, &p);
        soa_world_set(s->world, e, vel, &v);
    }
    soa_alloc *a = soa_worker_allocator(w);
    void *h = a->alloc(a, soa_snap_shm_bytes(&Integrate_layout), 64);
    if (!h || Integrate_snap_init(&s->snap, a) != 0 ||
        Integrate_build(&s->snap, s->world) != 0)
        return -1;
    s->hdr = soa_arena_offset(soa_worker_arena(w), h);
    return Integrate_snap_publish(&s->snap, soa_worker_arena(w), s->hdr);
}

static void free_setup(setup *s)
{
    Integrate_snap_release(&s->snap);
    soa_world_destroy(s->world);
}

static soa_worker *spawn(void)
{
    soa_worker_opts o;
    memset(&o, 0, sizeof o);
    o.tasks = tasks;
    o.ntasks = 1;
    o.arena_bytes = 16u << 20;
    soa_worker *w = soa_worker_spawn(&o);
    if (!w)
        fprintf(stderr, "bench_mailbox: spawn: %s\n", strerror(errno));
    return w;
}

/* ---- 1. round trips -------------------------------------------------------- */

static int mailbox_round_trips(soa_worker *w, size_t hdr, int64_t *ns,
                               size_t n)
{
    soa_frame f = {1.0 / 60, 0, 0};
    for (size_t i = 0; i < n; i++) {
        int64_t t0 = now_ns();
        if (!soa_worker_post(w, 0, hdr, &f, 1) || soa_worker_wait(w, 0) != 0) {
            fprintf(stderr, "bench_mailbox: %s\n", soa_worker_error(w));
            return -1;
        }
        ns[i] = now_ns() - t0;
    }
    return 0;
}

/* The same tick driven through pipes: the child attaches the same
 * snapshot, reads a 64-byte request, runs one tick, writes a reply. */
static void pipe_child(int in, int out, soa_arena *a, size_t hdr)
{
    Integrate_snap s;
    soa_msg m;
    if (Integrate_snap_attach(&s, a, hdr) != SOA_SHM_OK)
        _exit(3);
    while (read(in, &m, sizeof m) == (ssize_t)sizeof m) {
        soa_frame f = {m.d[0], m.d[1], m.u[2]};
        Integrate_run(&s, NULL, kernel, &f, NULL);
        if (write(out, &m, sizeof m) != (ssize_t)sizeof m)
            _exit(4);
    }
    _exit(0);
}

static int pipe_round_trips(soa_arena *a, size_t hdr, int64_t *ns, size_t n)
{
    int req[2], rep[2];
    if (pipe(req) != 0 || pipe(rep) != 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        close(req[1]);
        close(rep[0]);
        pipe_child(req[0], rep[1], a, hdr);
    }
    close(req[0]);
    close(rep[1]);
    soa_msg m;
    memset(&m, 0, sizeof m);
    m.d[0] = 1.0 / 60;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        int64_t t0 = now_ns();
        if (write(req[1], &m, sizeof m) != (ssize_t)sizeof m ||
            read(rep[0], &m, sizeof m) != (ssize_t)sizeof m)
            rc = -1;
        ns[i] = now_ns() - t0;
    }
    close(req[1]);
    close(rep[0]);
    waitpid(pid, NULL, 0);
    return rc;
}

/* The bare mailbox: a forked child echoes messages on a ring pair. */
static int ring_round_trips(int64_t *ns, size_t n)
{
    size_t bytes = soa_mailbox_bytes(64);
    soa_arena *a = soa_arena_create(bytes + 4096, SOA_ARENA_SHARED);
    void *mem = a ? soa_arena_alloc(a, bytes, 64) : NULL;
    soa_mailbox mb;
    if (!mem || soa_mailbox_init(&mb, mem, bytes, 64) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        soa_msg m;
        while (soa_ring_recv(&mb.req, &m, SOA_WAIT_FOREVER) == 0 &&
               m.kind != 3)
            soa_ring_send(&mb.rep, &m, SOA_WAIT_FOREVER);
        _exit(0);
    }
    soa_msg m;
    memset(&m, 0, sizeof m);
    for (size_t i = 0; i < n; i++) {
        int64_t t0 = now_ns();
        m.kind = 4;
        soa_ring_send(&mb.req, &m, SOA_WAIT_FOREVER);
        soa_ring_recv(&mb.rep, &m, SOA_WAIT_FOREVER);
        ns[i] = now_ns() - t0;
    }
    m.kind = 3;
    soa_ring_send(&mb.req, &m, SOA_WAIT_FOREVER);
    waitpid(pid, NULL, 0);
    soa_arena_destroy(a);
    return 0;
}

static int bench_round_trips(size_t n)
{
    int64_t *ns = malloc(n * sizeof *ns);
    soa_worker *w = spawn();
    setup s;
    if (!ns || !w || make_setup(&s, w, 64) != 0)
        return -1;
    stats ring, mbox, pipes;
    /* warm up, then measure */
    if (mailbox_round_trips(w, s.hdr, ns, n / 10 + 1) != 0 ||
        mailbox_round_trips(w, s.hdr, ns, n) != 0)
        return -1;
    mbox = summarize(ns, n);
    if (pipe_round_trips(soa_worker_arena(w), s.hdr, ns, n) != 0)
        return -1;
    pipes = summarize(ns, n);
    if (ring_round_trips(ns, n) != 0)
        return -1;
    ring = summarize(ns, n);
    printf("round trip of one tick (64 rows), %zu samples\n", n);
    printf("  %-28s median %7.2f us   p99 %8.2f us\n", "mailbox ring echo (no tick)",
           ring.median_us, ring.p99_us);
    printf("  %-28s median %7.2f us   p99 %8.2f us\n", "worker mailbox, 1 tick",
           mbox.median_us, mbox.p99_us);
    printf("  %-28s median %7.2f us   p99 %8.2f us\n", "pipe pair, 1 tick",
           pipes.median_us, pipes.p99_us);
    printf("  mailbox is %.1fx faster than the pipe (median)\n\n",
           pipes.median_us / mbox.median_us);
    free_setup(&s);
    soa_worker_destroy(w);
    free(ns);
    return 0;
}

/* ---- 2. ticks per second ---------------------------------------------------- */

#define REPS 3

static double median3(double *v)
{
    double a = v[0], b = v[1], c = v[2];
    if (a > b) { double t = a; a = b; b = t; }
    if (b > c) { double t = b; b = c; c = t; }
    return a > b ? a : b;
}

/* Ticks per second of `total` ticks, m per request (m = 0: the kernel in
 * this process, no worker): the median of REPS runs. */
static double ticks_per_s(soa_worker *w, setup *s, uint64_t total, uint64_t m)
{
    soa_frame f = {1.0 / 60, 0, 0};
    double v[REPS];
    for (int r = 0; r < REPS; r++) {
        int64_t t0 = now_ns();
        uint64_t done = 0;
        if (m == 0) {
            for (; done < total; done++)
                Integrate_run(&s->snap, NULL, kernel, &f, NULL);
        } else {
            for (; done + m <= total; done += m)
                if (!soa_worker_post(w, 0, s->hdr, &f, m) ||
                    soa_worker_wait(w, 0) != 0) {
                    fprintf(stderr, "bench_mailbox: %s\n", soa_worker_error(w));
                    return -1;
                }
        }
        v[r] = (double)done / ((double)(now_ns() - t0) / 1e9);
    }
    return median3(v);
}

static int bench_ticks(uint64_t total)
{
    const size_t rows = 4096;
    soa_worker *w = spawn();
    setup s;
    if (!w || make_setup(&s, w, rows) != 0)
        return -1;
    double base = ticks_per_s(w, &s, total, 0);
    printf("ticks per second, %zu rows, %llu ticks, median of %d runs\n",
           rows, (unsigned long long)total, REPS);
    printf("  %-28s %10.0f ticks/s\n", "in-process (no worker)", base);
    const uint64_t ms[] = {1, 8, 64};
    for (size_t i = 0; i < 3; i++) {
        double tps = ticks_per_s(w, &s, total, ms[i]);
        if (tps < 0)
            return -1;
        char label[40];
        snprintf(label, sizeof label, "worker, m = %llu",
                 (unsigned long long)ms[i]);
        printf("  %-28s %10.0f ticks/s  (%.2f of in-process)\n", label, tps,
               tps / base);
    }
    free_setup(&s);
    soa_worker_destroy(w);
    return 0;
}

int main(int argc, char **argv)
{
    int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    if (!soa_shm_available()) {
        printf("bench_mailbox: shared memory is unavailable here: nothing to "
               "measure\n");
        return 0;
    }
    printf("bench_mailbox%s\n", quick ? " (quick)" : "");
    if (bench_round_trips(quick ? 2000 : 20000) != 0 ||
        bench_ticks(quick ? 1280 : 12800) != 0) {
        fprintf(stderr, "bench_mailbox: failed\n");
        return 1;
    }
    return 0;
}
