/*
 * worker_system.c: a worker's task as a system of the main process.  A
 * frame has the worker run the kernel and commits the changed rows only
 * when the worker answered in time and in turn, so a worker that dies or
 * hangs leaves the world at its last committed frame.  Two ways:
 *
 *   in place   the world lives in the region the worker maps read-only
 *              (soa_worker_opts.share): the frame plan (worker_proto.h)
 *              points the worker at the world's own read columns and
 *              ids, and at a copy of only the written columns that this
 *              file makes in the arena and commits from;
 *   snapshot   any other world: a snapshot in the arena (soa/system.h),
 *              built, published, run there and committed.
 *
 * The rule of worker processes: the main process never trusts a byte the
 * worker can write.  What the commit reads of the arena (the written
 * columns' values and their changed bits) it takes as data only: bits are
 * masked to the chunk's rows and values are copied, never followed; every
 * place it writes comes from its own plan, in its own memory.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "soa/bitset.h"
#include "soa/system.h"
#include "soa/worker.h"
#include "plan.h"
#include "worker_proto.h"

#define BLOCK ((size_t)SOA_BLOCK_ROWS)

struct soa_worker_system {
    soa_worker *w;
    uint32_t task;
    const soa_shm_system *sys;
    void *snap;
    size_t hdr;
    bool locked;      /* between begin and end */
    bool in_place;    /* this frame's way */
    size_t committed;
    int last_error;
    const soa_component_desc **reads; /* reads + without, for the spec */
    /* In place: */
    soa__plan plan;           /* the world's tables, rows numbered */
    unsigned char **scol;     /* [ncols]: written columns' copies, or NULL */
    uint64_t **sbits;         /* [nterms]: their changed bitsets, or NULL */
    size_t scap;              /* rows the copies hold */
    unsigned char *pbuf;      /* the frame plan, in the arena */
    size_t pbytes, poff;
    uint64_t shape;           /* the world's, when the frame was planned */
    soa_pool *pool;           /* commits are spread over it (NULL: caller) */
    bool warned;              /* the debug check named this system once */
    uint64_t debug_runs;      /* frames seen by the debug check's sampling */
};

soa_worker_system *soa_worker_system_create(soa_worker *w, uint32_t task)
{
    const soa_worker_task *t = w ? soa__worker_task(w, task) : NULL;
    if (!t) {
        errno = EINVAL;
        return NULL;
    }
    const soa_shm_system *sys = t->sys;
    soa_alloc *mem = soa_worker_allocator(w);
    soa_worker_system *ws = calloc(1, sizeof *ws);
    const soa_sys_layout *L = sys->system->layout;
    size_t align = L->snap_align > 64 ? L->snap_align : 64;
    size_t size = (L->snap_size + align - 1) & ~(align - 1);
    void *hdr = ws ? mem->alloc(mem, soa_snap_shm_bytes(L), 64) : NULL;
    if (!ws || !hdr || !(ws->snap = aligned_alloc(align, size))) {
        int err = errno ? errno : ENOMEM;
        free(ws);
        errno = err;
        return NULL;
    }
    ws->w = w;
    ws->task = task;
    ws->sys = sys;
    ws->hdr = soa_arena_offset(soa_worker_arena(w), hdr);
    soa__plan_init(&ws->plan, L, NULL);
    if (soa_snap_init(ws->snap, L, mem) != 0) {
        int err = errno;
        free(ws->snap);
        free(ws);
        errno = err;
        return NULL;
    }
    return ws;
}

void soa_worker_system_destroy(soa_worker_system *ws)
{
    if (!ws)
        return;
    soa_snap_release(ws->snap);
    soa__plan_free(&ws->plan);
    free(ws->scol);
    free(ws->sbits);
    free(ws->snap);
    free(ws->reads);
    free(ws);
}

/* ---- in place ------------------------------------------------------- */

static const soa_sys_layout *layout_of(const soa_worker_system *ws)
{
    return ws->sys->system->layout;
}

/* Whether column j belongs to a written term. */
static bool col_written(const soa_sys_layout *L, uint32_t j)
{
    for (uint32_t k = 0; k < L->nterms; k++)
        if (j >= L->terms[k].col0 && j < L->terms[k].col0 + L->terms[k].ncols)
            return L->terms[k].access == SOA_ACCESS_WRITE;
    return false;
}

static bool term_written(const soa_sys_term *t)
{
    return t->ncols && t->access == SOA_ACCESS_WRITE;
}

/* Room in the arena for written copies of `rows` rows (at least doubling):
 * 0 or -1 (ENOMEM; the arena is full). */
static int copies_ready(soa_worker_system *ws, size_t rows)
{
    const soa_sys_layout *L = layout_of(ws);
    soa_alloc *a = soa_worker_allocator(ws->w);
    if (rows <= ws->scap && ws->scol)
        return 0;
    size_t cap = ws->scap * 2 > rows ? ws->scap * 2 : rows;
    cap = (cap + 63u) & ~(size_t)63u;
    if ((!ws->scol && !(ws->scol = calloc(L->ncols + 1u, sizeof *ws->scol))) ||
        (!ws->sbits && !(ws->sbits = calloc(L->nterms + 1u, sizeof *ws->sbits))))
        return -1;
    /* The old copies stay in the arena (it frees nothing): size the arena
     * for the written columns of a few times the rows. */
    for (uint32_t j = 0; j < L->ncols; j++) {
        size_t bytes;
        if (!col_written(L, j))
            continue;
        if (!soa_mul_ok(cap, L->cols[j].size, &bytes) ||
            !(ws->scol[j] = a->alloc(a, bytes, SOA_ALIGN)))
            return -1;
    }
    for (uint32_t k = 0; k < L->nterms; k++)
        if (term_written(&L->terms[k]) &&
            !(ws->sbits[k] = a->alloc(a, soa_bitset_words(cap) * 8u, SOA_ALIGN)))
            return -1;
    ws->scap = cap;
    return 0;
}

/* The number of chunks (blocks) of the laid-out plan. */
static size_t plan_chunks(const soa__plan *p)
{
    size_t n = 0;
    for (uint32_t i = 0; i < p->nm; i++)
        n += (p->m[i].rows + BLOCK - 1) / BLOCK;
    return n;
}

/* Room in the arena for a frame plan of `bytes`: 0 or -1. */
static int plan_room(soa_worker_system *ws, size_t bytes)
{
    soa_alloc *a = soa_worker_allocator(ws->w);
    if (bytes <= ws->pbytes)
        return 0;
    size_t want = bytes * 2;
    unsigned char *p = a->alloc(a, want, SOA_ALIGN);
    if (!p)
        return -1;
    ws->pbuf = p;
    ws->pbytes = want;
    ws->poff = soa_arena_offset(soa_worker_arena(ws->w), p);
    return 0;
}

static void put_word(unsigned char *rec, size_t k, uint64_t v)
{
    memcpy(rec + k * sizeof v, &v, sizeof v);
}

/* Writes the frame plan: per block, where the worker finds the world's
 * ids and read columns, and where it copies the written ones to and from
 * (it does the copying itself, before its first tick). */
static void lay_out_frame(soa_worker_system *ws, uint32_t task)
{
    const soa_sys_layout *L = layout_of(ws);
    const soa_region *r = soa__worker_share(ws->w);
    const soa_arena *ar = soa_worker_arena(ws->w);
    size_t nrefs = 1 + 2 * (size_t)L->ncols + L->nterms;
    size_t srcs = 2 + (size_t)L->ncols + L->nterms;
    size_t rec = (nrefs + 1) * sizeof(uint64_t), c = 0;
    plan_hdr h = {PLAN_MAGIC, L->hash, task, 0, (uint32_t)nrefs, 0};
    for (uint32_t i = 0; i < ws->plan.nm; i++) {
        const soa__match *m = &ws->plan.m[i];
        for (size_t b = 0; b * BLOCK < m->rows; b++, c++) {
            const unsigned char *block = soa__table_block(m->t, b);
            size_t n = m->rows - b * BLOCK < BLOCK ? m->rows - b * BLOCK : BLOCK;
            size_t row = m->base + b * BLOCK; /* a multiple of 64 */
            unsigned char *p = ws->pbuf + sizeof h + c * rec;
            put_word(p, 0, n);
            put_word(p, 1, soa_region_offset(r, block));
            for (uint32_t j = 0; j < L->ncols; j++) {
                size_t size = L->cols[j].size;
                uint64_t world = soa_region_offset(r, block + m->off[j]);
                if (!col_written(L, j)) {
                    put_word(p, 2 + j, world);
                    put_word(p, srcs + j, REF_NONE);
                    continue;
                }
                put_word(p, 2 + j, REF_ARENA |
                         soa_arena_offset(ar, ws->scol[j] + row * size));
                put_word(p, srcs + j, world);
            }
            for (uint32_t k = 0; k < L->nterms; k++)
                put_word(p, 2 + L->ncols + k,
                         term_written(&L->terms[k])
                             ? REF_ARENA | soa_arena_offset(ar, ws->sbits[k] +
                                                                row / 64u)
                             : REF_NONE);
        }
    }
    h.nchunks = (uint32_t)c;
    memcpy(ws->pbuf, &h, sizeof h);
}

/* Plans the frame and posts it: 0 or -1 with errno. */
static int begin_in_place(soa_worker_system *ws, soa_world *world,
                          const soa_frame *frame, uint64_t ticks)
{
    const soa_sys_layout *L = layout_of(ws);
    if (soa__plan_match(&ws->plan, world) != 0)
        return -1;
    size_t rows = soa__plan_layout(&ws->plan, 64);
    size_t chunks = plan_chunks(&ws->plan);
    size_t bytes = plan_bytes(chunks, 1 + 2 * (size_t)L->ncols + L->nterms);
    if (!bytes || chunks > UINT32_MAX || copies_ready(ws, rows) != 0 ||
        plan_room(ws, bytes) != 0) {
        errno = ENOMEM;
        return -1;
    }
    lay_out_frame(ws, ws->task);
    ws->shape = soa__world_shape(world);
    if (soa__worker_post(ws->w, MSG_RUN_PLAN, ws->task, ws->poff, frame,
                         ticks) == 0)
        return -1;
    return 0;
}

/* Copies rows of term k's columns from the arena's copy (rows from `row`
 * on) into a block (rows from i on): n rows. */
static void copy_back(const soa_worker_system *ws, const soa__match *m,
                      unsigned char *block, uint32_t k, size_t row, size_t i,
                      size_t n)
{
    const soa_sys_layout *L = layout_of(ws);
    const soa_sys_term *t = &L->terms[k];
    for (uint32_t j = t->col0; j < t->col0 + t->ncols; j++) {
        size_t size = L->cols[j].size;
        memcpy(block + m->off[j] + i * size, ws->scol[j] + (row + i) * size,
               n * size);
    }
}

/* Block b of match m, term k: the rows the worker marked, copied back
 * from the arena into the world and marked there.  How many.  Scratch
 * row `row` + i is block row i, and row is a multiple of 64: word w of
 * the arena's bits is word w of the block's. */
static size_t commit_block(const soa_worker_system *ws, const soa__match *m,
                           size_t b, uint32_t k)
{
    const soa_sys_layout *L = layout_of(ws);
    unsigned char *block = soa__table_block(m->t, b);
    uint64_t *wbits = (uint64_t *)(void *)(block + m->off[L->ncols + k]);
    size_t n = m->rows - b * BLOCK < BLOCK ? m->rows - b * BLOCK : BLOCK;
    size_t row = m->base + b * BLOCK, done = 0;
    for (size_t w = 0; w < soa_bitset_words(n); w++) {
        /* Read once: the word is the worker's to write, even now. */
        uint64_t bits = __atomic_load_n(&ws->sbits[k][row / 64u + w],
                                        __ATOMIC_RELAXED);
        if (n - w * 64u < 64u)
            bits &= ((uint64_t)1 << (n - w * 64u)) - 1u;
        if (!bits)
            continue;
        wbits[w] |= bits;
        if (bits == ~(uint64_t)0) {
            copy_back(ws, m, block, k, row, w * 64u, 64u);
            done += 64u;
            continue;
        }
        for (; bits; bits &= bits - 1u, done++)
            copy_back(ws, m, block, k, row, w * 64u + soa__ctz64(bits), 1);
    }
    return done;
}

typedef struct commit_job {
    const soa_worker_system *ws;
    atomic_size_t done;
} commit_job;

/* Blocks [begin / 64, end / 64) of the plan, counted across its matches
 * (the pool hands out ranges in multiples of 64: a block is 64 units):
 * each commits alone (its rows, its words of the world's bits). */
static void commit_blocks(void *ctx, size_t begin, size_t end, unsigned worker)
{
    commit_job *j = ctx;
    const soa_worker_system *ws = j->ws;
    const soa_sys_layout *L = layout_of(ws);
    size_t c = 0, n = 0;
    (void)worker;
    begin /= 64u;
    end = (end + 63u) / 64u;
    for (uint32_t i = 0; i < ws->plan.nm && c < end; i++)
        for (size_t b = 0; b * BLOCK < ws->plan.m[i].rows && c < end; b++, c++)
            for (uint32_t k = 0; c >= begin && k < L->nterms; k++)
                if (term_written(&L->terms[k]))
                    n += commit_block(ws, &ws->plan.m[i], b, k);
    atomic_fetch_add_explicit(&j->done, n, memory_order_relaxed);
}

/* Commits every written term's marked rows, block by block over the pool:
 * how many values. */
static size_t end_in_place(soa_worker_system *ws)
{
    commit_job j;
    j.ws = ws;
    atomic_init(&j.done, 0);
    soa_pool_for(ws->pool, plan_chunks(&ws->plan) * 64u, 64, commit_blocks, &j);
    return atomic_load(&j.done);
}

void soa_worker_system_set_pool(soa_worker_system *ws, soa_pool *pool)
{
    if (ws)
        ws->pool = pool;
}

int soa_worker_system_begin(soa_worker_system *ws, soa_world *world,
                            const soa_frame *frame, uint64_t ticks)
{
    if (!ws || !world || !frame || ws->locked) {
        errno = EINVAL;
        return -1;
    }
    soa_worker *w = ws->w;
    if (soa_worker_status(w) != SOA_WORKER_OK) {
        /* The failure's errno, without building for a dead worker. */
        soa_worker_post(w, ws->task, ws->hdr, frame, ticks);
        return -1;
    }
    soa_region *share = soa__worker_share(w);
    ws->in_place = share && soa_region_of(soa_world_allocator(world)) == share;
    if (!ws->in_place &&
        (soa_snap_build(ws->snap, world) != 0 ||
         soa_snap_publish(ws->snap, soa_worker_arena(w), ws->hdr) != SOA_SHM_OK))
        return -1;
    soa__worker_lock(w);
    int rc = ws->in_place ? begin_in_place(ws, world, frame, ticks)
             : soa_worker_post(w, ws->task, ws->hdr, frame, ticks) == 0 ? -1
                                                                       : 0;
    if (rc != 0) {
        int err = errno;
        soa__worker_unlock(w);
        errno = err;
        return -1;
    }
    ws->locked = true;
    return 0;
}

int soa_worker_system_end(soa_worker_system *ws, soa_world *world)
{
    if (!ws || !world || !ws->locked) {
        errno = EINVAL;
        return -1;
    }
    int rc = soa_worker_wait(ws->w, 0);
    int err = errno;
    ws->locked = false;
    soa__worker_unlock(ws->w);
    if (rc != 0) {
        errno = err;
        return -1;
    }
    if (ws->in_place ? soa__world_shape(world) != ws->shape
                     : !soa__snap_current(ws->snap, world)) {
        /* Rows moved since the plan or the build: its rows are not the
         * entities' any more, and the only other record of them, the
         * snapshot's entity ids, is in the arena, where the worker writes.
         * Nothing is committed. */
        ws->committed = 0;
        errno = ESTALE;
        return -1;
    }
    if (ws->in_place && soa__debug_due(soa__debug_every(), &ws->debug_runs)) {
        /* Rows the worker wrote into its copy without marking them: the
         * commit drops them.  (A debug aid: it reads the arena's copy as
         * data only, like the commit.) */
        soa_entity first;
        const char *comp;
        size_t n = soa__plan_unmarked(&ws->plan, ws->scol,
                                      (const uint64_t *const *)ws->sbits,
                                      &first, &comp);
        soa__debug_report(&ws->warned, layout_of(ws)->name, n, comp, first,
                          UINT64_MAX);
    }
    ws->committed = ws->in_place ? end_in_place(ws)
                                 : soa_snap_commit(ws->snap, world);
    return 0;
}

int soa_worker_system_frame(soa_worker_system *ws, soa_world *world,
                            const soa_frame *frame, uint64_t ticks)
{
    if (soa_worker_system_begin(ws, world, frame, ticks) != 0)
        return -1;
    return soa_worker_system_end(ws, world);
}

size_t soa_worker_system_committed(const soa_worker_system *ws)
{
    return ws ? ws->committed : 0;
}

int soa_worker_system_last_error(const soa_worker_system *ws)
{
    return ws ? ws->last_error : EINVAL;
}

static void run_local(soa_world *world, const soa_frame *frame, void *ctx)
{
    soa_worker_system *ws = ctx;
    ws->last_error =
        soa_worker_system_frame(ws, world, frame, 1) == 0 ? 0 : errno;
}

static int register_all(soa_world *world, const soa_component_desc *const *d,
                        uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (soa_world_register(world, d[i]) == SOA_CID_INVALID)
            return -1;
    return 0;
}

int soa_worker_sched_spec(soa_worker_system *ws, soa_world *world,
                          soa_sched_spec *spec)
{
    if (!ws || !world || !spec) {
        errno = EINVAL;
        return -1;
    }
    const soa_system_desc *d = ws->sys->system;
    if (register_all(world, d->reads, d->nreads) != 0 ||
        register_all(world, d->writes, d->nwrites) != 0 ||
        register_all(world, d->without, d->nwithout) != 0)
        return -1;
    uint32_t n = d->nreads + d->nwithout;
    free(ws->reads);
    ws->reads = n ? malloc(n * sizeof *ws->reads) : NULL;
    if (n && !ws->reads) {
        errno = ENOMEM;
        return -1;
    }
    for (uint32_t i = 0; i < d->nreads; i++)
        ws->reads[i] = d->reads[i];
    for (uint32_t i = 0; i < d->nwithout; i++)
        ws->reads[d->nreads + i] = d->without[i];
    memset(spec, 0, sizeof *spec);
    spec->name = d->name;
    spec->reads = ws->reads;
    spec->nreads = n;
    spec->writes = d->writes;
    spec->nwrites = d->nwrites;
    spec->run = run_local;
    spec->ctx = ws;
    return 0;
}
