/*
 * soac.c: the ways soac runs the benchmark's system over a soa_world.
 *
 *   soac-local    a local system in the scheduler: it walks the world's
 *                 chunks (soa_query_next_chunk) and updates the Position
 *                 columns in place, row by row;
 *   soac-offload  the snapshot API by hand, as a program that wants a copy
 *                 would call it: Move_snap_init, Move_build_on, Move_run
 *                 and Move_commit_on on the pool, Move_snap_release, every
 *                 frame (so each frame allocates its snapshot);
 *   soac-reused   the system offloaded through the scheduler: the kernel
 *                 runs in place on the world's tables, on the pool, with
 *                 the per-row loop the README shows;
 *   soac-blocked  soac-reused with the kernel written for columns: blocks
 *                 of BENCH_BLOCK rows that GCC vectorises at -O2;
 *   soac-process  the system in a worker process (fork): the world lives in
 *                 a shared region the worker maps read-only, so it reads
 *                 Velocity in place; it copies Position into its arena,
 *                 and the rows it marks are committed after its reply.
 *
 * All run the same row math, chosen per frame by s->kind; all but
 * soac-blocked loop row by row, exactly like the baseline.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

struct bench_soac {
    size_t n;
    soa_world *w;
    soa_pool *pool;
    soa_cid cid[2]; /* Position, Velocity */
    soa_entity *ents;
    soa_sched *local, *offload;
    bench_kind kind; /* what the kernels do this frame */
    int blocked;     /* the kernel runs blocks of rows, not row by row */
    unsigned threads;
    soa_region *region;       /* where the world lives (NULL: the heap) */
    soa_worker *worker;       /* soac-process: made at its first frame */
    soa_worker_system *wsys;
    bench_kind worker_kind;   /* what the worker's copy of s says */
    uint64_t frames;
};

/* ---- the kernels --------------------------------------------------- */

/* Rows [begin, end) the plain way, one row at a time, as the baseline. */
static void kernel_rows(const Move_view *v, bench_kind kind)
{
    float *px = v->Position.x, *py = v->Position.y;
    const float *vx = v->Velocity.x, *vy = v->Velocity.y;
    for (size_t i = v->begin; i < v->end; i++) {
        if (kind == BENCH_HEAVY)
            bench_heavy_row(&px[i], &py[i], vx[i], vy[i]);
        else
            bench_move_row(&px[i], &py[i], vx[i], vy[i]);
    }
}

/* Rows [begin, end) in blocks of BENCH_BLOCK rows (begin is a multiple of
 * 64, so blocks stay within the chunk), the tail row by row. */
static void kernel_blocks(const Move_view *v, bench_kind kind)
{
    float *px = v->Position.x, *py = v->Position.y;
    const float *vx = v->Velocity.x, *vy = v->Velocity.y;
    size_t i = v->begin;
    for (; i + BENCH_BLOCK <= v->end; i += BENCH_BLOCK) {
        if (kind == BENCH_HEAVY)
            bench_heavy_block(px + i, py + i, vx + i, vy + i);
        else
            bench_move_block(px + i, py + i, vx + i, vy + i);
    }
    for (; i < v->end; i++) {
        if (kind == BENCH_HEAVY)
            bench_heavy_row(&px[i], &py[i], vx[i], vy[i]);
        else
            bench_move_row(&px[i], &py[i], vx[i], vy[i]);
    }
}

static void move_kernel(const Move_view *v, const soa_frame *f, void *ctx)
{
    const bench_soac *s = ctx;
    (void)f; /* the row math uses BENCH_DT, as the baseline does */
    if (s->kind == BENCH_SPARSE) {
        float *px = v->Position.x, *py = v->Position.y;
        const float *vx = v->Velocity.x, *vy = v->Velocity.y;
        for (size_t i = bench_sparse_first(v->begin); i < v->end;
             i += BENCH_SPARSE_STRIDE) {
            bench_move_row(&px[i], &py[i], vx[i], vy[i]);
            soa_bitset_set(v->Position.changed, i);
        }
        return;
    }
    if (s->blocked)
        kernel_blocks(v, s->kind);
    else
        kernel_rows(v, s->kind);
    soa_bitset_set_range(v->Position.changed, v->begin, v->end);
}

/*
 * The local system: it walks the query chunk by chunk (a block of a table,
 * soa_query_next_chunk) and updates the world's columns in place, with the
 * baseline's row math.  For sparse it updates every BENCH_SPARSE_STRIDE-th
 * row (the same rows as the baseline: a block holds a multiple of the
 * stride).
 */
static void local_run(soa_world *w, const soa_frame *f, void *ctx)
{
    bench_soac *s = ctx;
    soa_query q = {s->cid, 2, NULL, 0}; /* Position, Velocity */
    soa_query_iter it;
    soa_chunk ch;
    (void)f;
    soa_query_begin(w, &q, &it);
    while (soa_query_next_chunk(&it, &ch)) {
        float *px = soa_chunk_column(&ch, 0, 0), *py = soa_chunk_column(&ch, 0, 1);
        const float *vx = soa_chunk_column(&ch, 1, 0);
        const float *vy = soa_chunk_column(&ch, 1, 1);
        size_t step = s->kind == BENCH_SPARSE ? BENCH_SPARSE_STRIDE : 1;
        for (size_t i = ch.begin; i < ch.end; i += step) {
            if (s->kind == BENCH_HEAVY)
                bench_heavy_row(&px[i], &py[i], vx[i], vy[i]);
            else
                bench_move_row(&px[i], &py[i], vx[i], vy[i]);
        }
    }
}

/* ---- setup --------------------------------------------------------- */

static int add_systems(bench_soac *s)
{
    static const soa_component_desc *const reads[] = {&Velocity_desc};
    static const soa_component_desc *const writes[] = {&Position_desc};
    soa_sched_spec local = {0}, off = {0};
    local.name = "move-local";
    local.reads = reads;
    local.nreads = 1;
    local.writes = writes;
    local.nwrites = 1;
    local.run = local_run;
    local.ctx = s;
    off.system = &Move_system;
    off.kernel = (soa_fn)move_kernel;
    off.ctx = s;
    if (soa_sched_add(s->local, &local) < 0 ||
        soa_sched_add(s->offload, &off) < 0) {
        errno = EINVAL;
        return -1;
    }
    return 0;
}

bench_soac *bench_soac_create(size_t n, unsigned threads)
{
    bench_soac *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->n = n;
    s->threads = threads;
    s->ents = malloc(n * sizeof *s->ents);
    /* A region sized for the world (tables of 40 bytes a row, and room to
     * move) when shared memory works; the heap otherwise. */
    if (soa_shm_available())
        s->region = soa_region_create(n * 64u + ((size_t)64 << 20));
    s->w = soa_world_create(s->region ? soa_region_allocator(s->region) : NULL);
    s->pool = soa_pool_create(threads);
    if (!s->ents || !s->w || !s->pool)
        goto fail;
    s->cid[0] = soa_world_register(s->w, &Position_desc);
    s->cid[1] = soa_world_register(s->w, &Velocity_desc);
    if (s->cid[0] == SOA_CID_INVALID || s->cid[1] == SOA_CID_INVALID)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        s->ents[i] = soa_world_spawn(s->w);
        if (s->ents[i] == SOA_ENTITY_NULL ||
            soa_world_add(s->w, s->ents[i], s->cid[0]) != 0 ||
            soa_world_add(s->w, s->ents[i], s->cid[1]) != 0)
            goto fail;
    }
    bench_soac_reset(s);
    s->local = soa_sched_create(s->w, s->pool);
    s->offload = soa_sched_create(s->w, s->pool);
    if (!s->local || !s->offload || add_systems(s) != 0)
        goto fail;
    return s;
fail:
    bench_soac_destroy(s);
    return NULL;
}

void bench_soac_destroy(bench_soac *s)
{
    if (!s)
        return;
    soa_worker_system_destroy(s->wsys);
    soa_worker_destroy(s->worker);
    soa_sched_destroy(s->local);
    soa_sched_destroy(s->offload);
    soa_pool_destroy(s->pool);
    soa_world_destroy(s->w);
    soa_region_destroy(s->region);
    free(s->ents);
    free(s);
}

void bench_soac_reset(bench_soac *s)
{
    for (size_t i = 0; i < s->n; i++) {
        Position p = bench_pos0(i);
        Velocity v = bench_vel0(i);
        soa_world_set(s->w, s->ents[i], s->cid[0], &p);
        soa_world_set(s->w, s->ents[i], s->cid[1], &v);
    }
}

Position bench_soac_pos(bench_soac *s, size_t i)
{
    Position p = {0};
    soa_world_read(s->w, s->ents[i], s->cid[0], &p);
    return p;
}

/* ---- one frame of each variant ------------------------------------- */

static soa_frame next_frame(bench_soac *s)
{
    soa_frame f;
    f.dt = BENCH_DT;
    f.time = (double)s->frames * BENCH_DT;
    f.index = s->frames++;
    return f;
}

int bench_soac_local(bench_soac *s, bench_kind k, bench_phases *ph)
{
    soa_frame f = next_frame(s);
    s->kind = k;
    s->blocked = 0;
    (void)ph;
    return soa_sched_run_frame(s->local, f.dt, f.time);
}

int bench_soac_offload(bench_soac *s, bench_kind k, bench_phases *ph)
{
    soa_frame f = next_frame(s);
    Move_snap snap;
    int rc = -1;
    s->kind = k;
    s->blocked = 0;
    if (Move_snap_init(&snap, NULL) != 0)
        return -1;
    uint64_t t0 = bench_now_ns();
    if (Move_build_on(&snap, s->w, s->pool) != 0)
        goto out;
    uint64_t t1 = bench_now_ns();
    if (Move_run(&snap, s->pool, move_kernel, &f, s) != 0)
        goto out;
    uint64_t t2 = bench_now_ns();
    ph->committed = Move_commit_on(&snap, s->w, s->pool);
    uint64_t t3 = bench_now_ns();
    ph->build_ns += t1 - t0;
    ph->run_ns += t2 - t1;
    ph->commit_ns += t3 - t2;
    ph->rows = snap.rows;
    rc = 0;
out:
    Move_snap_release(&snap);
    return rc;
}

/* One scheduler frame of the offloaded system with the given kernel form. */
static int sched_frame(bench_soac *s, bench_kind k, int blocked,
                       bench_phases *ph)
{
    soa_frame f = next_frame(s);
    soa_sched_stats st;
    s->kind = k;
    s->blocked = blocked;
    if (soa_sched_run_frame(s->offload, f.dt, f.time) != 0 ||
        soa_sched_get_stats(s->offload, 0, &st) != 0 || st.failed)
        return -1;
    ph->build_ns += st.build_ns;
    ph->run_ns += st.run_ns;
    ph->commit_ns += st.commit_ns;
    ph->committed = st.committed;
    ph->rows = st.rows;
    return 0;
}

/* soac-process's worker: a fork of this program with the kernel and this
 * bench_soac (its copy, whose kind is fixed at the fork: a bench_soac runs
 * one scenario). */
static int start_worker(bench_soac *s)
{
    static soa_worker_task task;
    task.sys = &Move_shm;
    task.kernel = (soa_fn)move_kernel;
    task.ctx = s;
    soa_worker_opts o;
    memset(&o, 0, sizeof o);
    o.tasks = &task;
    o.ntasks = 1;
    o.threads = s->threads;
    o.arena_bytes = s->n * 64u + ((size_t)16 << 20);
    o.share = s->region;
    s->worker = soa_worker_spawn(&o);
    s->wsys = s->worker ? soa_worker_system_create(s->worker, 0) : NULL;
    soa_worker_system_set_pool(s->wsys, s->pool);
    s->worker_kind = s->kind;
    return s->wsys ? 0 : -1;
}

int bench_soac_process(bench_soac *s, bench_kind k, bench_phases *ph)
{
    soa_frame f = next_frame(s);
    s->kind = k;
    s->blocked = 0;
    if (!s->worker && start_worker(s) != 0)
        return -1;
    if (s->worker_kind != k) {
        errno = EINVAL; /* the worker runs the scenario it was forked for */
        return -1;
    }
    uint64_t t0 = bench_now_ns();
    if (soa_worker_system_begin(s->wsys, s->w, &f, 1) != 0)
        return -1;
    uint64_t t1 = bench_now_ns();
    if (soa_worker_wait(s->worker, 0) != 0) {
        soa_worker_system_end(s->wsys, s->w);
        return -1;
    }
    uint64_t t2 = bench_now_ns();
    if (soa_worker_system_end(s->wsys, s->w) != 0)
        return -1;
    uint64_t t3 = bench_now_ns();
    ph->build_ns += t1 - t0;
    ph->run_ns += t2 - t1;
    ph->commit_ns += t3 - t2;
    ph->committed = soa_worker_system_committed(s->wsys);
    ph->rows = s->n;
    return 0;
}

int bench_soac_reused(bench_soac *s, bench_kind k, bench_phases *ph)
{
    return sched_frame(s, k, 0, ph);
}

int bench_soac_blocked(bench_soac *s, bench_kind k, bench_phases *ph)
{
    return sched_frame(s, k, 1, ph);
}

/* ---- bytes --------------------------------------------------------- */

double bench_soac_build_bytes(size_t rows)
{
    /* Each row's Position, Velocity and entity id into the snapshot, and
     * the changed bitset cleared. */
    return (double)rows *
               (double)(sizeof(Position) + sizeof(Velocity) +
                        sizeof(soa_entity)) +
           (double)soa_bitset_words(rows) * 8.0;
}

double bench_soac_process_bytes(size_t rows)
{
    /* In place: only Position is copied out (and its bits cleared). */
    return (double)rows * (double)sizeof(Position) +
           (double)soa_bitset_words(rows) * 8.0;
}

double bench_soac_commit_bytes(size_t rows, size_t committed)
{
    /* The changed bitset scanned, and each changed row's Position back. */
    return (double)soa_bitset_words(rows) * 8.0 +
           (double)committed * (double)sizeof(Position);
}
