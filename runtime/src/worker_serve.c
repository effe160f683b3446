/*
 * worker_serve.c: the worker side of a worker process (or of the worker
 * thread of the fallback): soa_worker_main and the serve loop.
 *
 * The worker trusts nothing it reads from shared memory: the root block,
 * the mailbox and every snapshot header are copied out, validated and
 * bounds-checked against the arena before use (worker_proto.h has the
 * layout and the protocol).
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <stdatomic.h>

#include "soa/bitset.h"
#include "soa/system.h"
#include "soa/worker.h"
#include "plan.h"
#include "platform.h"
#include "worker_proto.h"

typedef struct server {
    soa_arena *arena;
    const soa_region *share;  /* the world, read-only; NULL: none */
    const soa_worker_task *tasks;
    uint32_t ntasks;
    soa_mailbox mb;
    void *snap;
    soa_pool *pool;
    const unsigned char **ptrs; /* per pool thread: a chunk's pointers */
    size_t nptrs;             /* pointers per thread */
    uint64_t progress;
} server;

/* Opens the root and mailbox at root_off, trusting nothing unchecked:
 * 0 or an exit status. */
static int server_open(server *s, size_t root_off)
{
    worker_root r;
    size_t end, cap = soa_arena_capacity(s->arena);
    if (!soa_add_ok(root_off, sizeof r, &end) || end > cap)
        return EXIT_SHARED;
    memcpy(&r, soa_arena_ptr(s->arena, root_off), sizeof r);
    if (r.magic != ROOT_MAGIC || r.version != ROOT_VERSION ||
        r.mailbox_off > cap || r.mailbox_bytes > cap - r.mailbox_off)
        return EXIT_SHARED;
    if (r.ntasks != s->ntasks)
        return EXIT_MISMATCH;
    for (uint32_t i = 0; i < s->ntasks; i++)
        if (!s->tasks[i].sys ||
            s->tasks[i].sys->system->layout_hash != r.task_hash[i])
            return EXIT_MISMATCH;
    if (soa_mailbox_open(&s->mb, soa_arena_ptr(s->arena, r.mailbox_off),
                         (size_t)r.mailbox_bytes) != 0)
        return EXIT_SHARED;
    if (r.threads > 1 && r.threads <= 1024)
        s->pool = soa_pool_create(r.threads); /* NULL: run on this thread */
    return 0;
}

/* Room for the largest snapshot of the task table. */
static void *snap_storage(const soa_worker_task *tasks, uint32_t n)
{
    size_t size = 64;
    for (uint32_t i = 0; i < n; i++)
        if (tasks[i].sys->system->layout->snap_size > size)
            size = tasks[i].sys->system->layout->snap_size;
    return aligned_alloc(64, (size + 63) & ~(size_t)63);
}

/* Runs one RUN request: 0, or the errno of a refusal (*code: the attach
 * result, for the main process's message). */
static int serve_run(server *s, const run_msg *r, int64_t *code)
{
    if (r->task >= s->ntasks || r->snap_off > SIZE_MAX)
        return EINVAL;
    const soa_worker_task *t = &s->tasks[r->task];
    if (!t->kernel)
        return EINVAL;
    int rc = soa_snap_attach(s->snap, t->sys->system->layout, s->arena,
                             (size_t)r->snap_off);
    if (rc != SOA_SHM_OK) {
        *code = rc;
        return EPROTO;
    }
    for (uint64_t k = 0; k < r->ticks; k++) {
        soa_frame f = {r->dt, r->time + (double)k * r->dt, r->first_index + k};
        soa_snap_run(s->snap, s->pool, t->kernel, &f, t->ctx);
        soa_mailbox_set_progress(&s->mb, ++s->progress);
    }
    return 0;
}

/* ---- frame plans: reading a shared world in place ------------------ */

typedef struct plan_run {
    const server *s;
    const soa_sys_layout *L;
    const soa_worker_task *t;
    const unsigned char *chunks; /* in the arena: nchunks records */
    size_t rec;                  /* bytes per record */
    const soa_frame *frame;
    bool first;                  /* the request's first tick: copy in */
    atomic_int bad;              /* a record did not check out */
} plan_run;

/* Where ref points for `bytes` bytes aligned to `align`, in the mapping it
 * names, or NULL when it reaches outside it (or is REF_NONE). */
static const unsigned char *deref(const server *s, uint64_t ref, size_t bytes,
                                  size_t align)
{
    uint64_t off = ref & ~REF_ARENA;
    size_t cap = ref & REF_ARENA ? soa_arena_capacity(s->arena)
                                 : soa_region_capacity(s->share);
    size_t end;
    if (ref == REF_NONE || off > SIZE_MAX || off % align ||
        !soa_add_ok((size_t)off, bytes, &end) || end > cap)
        return NULL;
    return ref & REF_ARENA ? soa_arena_ptr(s->arena, (size_t)off)
                           : soa_region_ptr(s->share, (size_t)off);
}

/* Word k of chunk i's record, read once (the arena is shared: each value
 * is copied out once, then checked, then used). */
static uint64_t rec_word(const plan_run *p, size_t i, size_t k)
{
    uint64_t v;
    memcpy(&v, p->chunks + i * p->rec + k * sizeof v, sizeof v);
    return v;
}

/* Before the first tick: chunk i's written columns from the world into
 * their copies (ptrs already checked), its bits cleared.  0, or -1 when a
 * source ref is bad. */
static int copy_in(const plan_run *p, size_t i, const unsigned char **ptrs,
                   size_t n)
{
    const soa_sys_layout *L = p->L;
    size_t srcs = 2 + (size_t)L->ncols + L->nterms;
    for (uint32_t k = 0; k < L->nterms; k++) {
        const soa_sys_term *t = &L->terms[k];
        if (!t->ncols || t->access != SOA_ACCESS_WRITE)
            continue;
        memset((void *)(uintptr_t)ptrs[1 + L->ncols + k], 0,
               soa_bitset_words(n) * sizeof(uint64_t));
        for (uint32_t j = t->col0; j < t->col0 + t->ncols; j++) {
            size_t bytes = n * L->cols[j].size;
            const unsigned char *src = deref(p->s, rec_word(p, i, srcs + j),
                                             bytes, L->cols[j].size);
            if (!src || (rec_word(p, i, 2 + j) & REF_ARENA) == 0)
                return -1; /* written columns come from the world, into the arena */
            memcpy((void *)(uintptr_t)ptrs[1 + j], src, bytes);
        }
    }
    return 0;
}

/* Checks chunk i's record and fills ptrs: its row count, or 0 when a ref
 * is bad. */
static size_t chunk_ptrs(const plan_run *p, size_t i, const unsigned char **ptrs)
{
    const soa_sys_layout *L = p->L;
    uint64_t rows = rec_word(p, i, 0);
    if (rows == 0 || rows > SOA_BLOCK_ROWS)
        return 0;
    size_t n = (size_t)rows, bits = soa_bitset_words(n) * sizeof(uint64_t);
    if (!(ptrs[0] = deref(p->s, rec_word(p, i, 1), n * sizeof(soa_entity), 8)))
        return 0;
    for (uint32_t j = 0; j < L->ncols; j++)
        if (!(ptrs[1 + j] = deref(p->s, rec_word(p, i, 2 + j),
                                  n * L->cols[j].size, L->cols[j].size)))
            return 0;
    for (uint32_t k = 0; k < L->nterms; k++) {
        const soa_sys_term *t = &L->terms[k];
        const unsigned char **slot = &ptrs[1 + L->ncols + k];
        *slot = NULL;
        if (t->ncols && t->access == SOA_ACCESS_WRITE &&
            !(*slot = deref(p->s, rec_word(p, i, 2 + L->ncols + k), bits, 8)))
            return 0;
    }
    return n;
}

/* Chunks [begin / 64, end / 64) of the plan: the pool hands out ranges
 * in multiples of 64, so a chunk is 64 units of its range. */
static void plan_chunk(void *ctx, size_t begin, size_t end, unsigned worker)
{
    plan_run *p = ctx;
    const unsigned char **ptrs = p->s->ptrs + (size_t)worker * p->s->nptrs;
    for (size_t i = begin / 64u; i < (end + 63u) / 64u; i++) {
        size_t rows = chunk_ptrs(p, i, ptrs);
        if (!rows || (p->first && copy_in(p, i, ptrs, rows) != 0)) {
            atomic_store_explicit(&p->bad, 1, memory_order_relaxed);
            continue;
        }
        soa_view_src src = {p->L, NULL, NULL, NULL, NULL, ptrs, 0, rows};
        p->L->call(&src, p->t->kernel, p->frame, p->t->ctx);
    }
}

/* Runs one RUN_PLAN request: 0, or the errno of a refusal. */
static int serve_plan(server *s, const run_msg *r, int64_t *code)
{
    plan_hdr h;
    size_t end;
    if (r->task >= s->ntasks || !s->share || !s->tasks[r->task].kernel ||
        r->snap_off > SIZE_MAX ||
        !soa_add_ok((size_t)r->snap_off, sizeof h, &end) ||
        end > soa_arena_capacity(s->arena) || r->snap_off % 8)
        return EINVAL;
    const soa_worker_task *t = &s->tasks[r->task];
    const soa_sys_layout *L = t->sys->system->layout;
    memcpy(&h, soa_arena_ptr(s->arena, (size_t)r->snap_off), sizeof h);
    size_t nrefs = 1 + 2 * (size_t)L->ncols + L->nterms;
    size_t bytes = plan_bytes(h.nchunks, nrefs);
    if (h.magic != PLAN_MAGIC || h.system_hash != L->hash ||
        h.task != r->task || h.nrefs != nrefs || !bytes ||
        !soa_add_ok((size_t)r->snap_off, bytes, &end) ||
        end > soa_arena_capacity(s->arena)) {
        *code = SOA_SHM_ELAYOUT;
        return EPROTO;
    }
    plan_run p;
    p.s = s;
    p.L = L;
    p.t = t;
    p.chunks = (const unsigned char *)soa_arena_ptr(s->arena, (size_t)r->snap_off) +
               sizeof h;
    p.rec = (nrefs + 1) * sizeof(uint64_t);
    atomic_init(&p.bad, 0);
    for (uint64_t k = 0; k < r->ticks; k++) {
        soa_frame f = {r->dt, r->time + (double)k * r->dt, r->first_index + k};
        p.frame = &f;
        p.first = k == 0;
        soa_pool_for(s->pool, (size_t)h.nchunks * 64u, 64, plan_chunk, &p);
        soa_mailbox_set_progress(&s->mb, ++s->progress);
    }
    if (atomic_load(&p.bad)) {
        *code = SOA_SHM_EBOUNDS;
        return EPROTO;
    }
    return 0;
}

static int reply(server *s, uint32_t kind, const done_msg *d)
{
    soa_msg m = done_pack(kind, d);
    return soa_ring_send(&s->mb.rep, &m, SOA_WAIT_FOREVER);
}

static int serve_loop(server *s)
{
    done_msg hello = {0, 0, (uint64_t)soa__process_id(), 0};
    if (reply(s, MSG_PING, &hello) != 0)
        return EXIT_SHARED;
    for (;;) {
        soa_msg m;
        if (soa_ring_recv(&s->mb.req, &m, SOA_WAIT_FOREVER) != 0)
            return EXIT_SHARED;
        done_msg d = {m.seq, 0, 0, 0};
        switch (m.kind) {
        case MSG_QUIT:
            return EXIT_QUIT;
        case MSG_RUN:
        case MSG_RUN_PLAN: {
            run_msg r = run_unpack(&m);
            d.status = (uint32_t)(m.kind == MSG_RUN ? serve_run(s, &r, &d.code)
                                                    : serve_plan(s, &r, &d.code));
            d.ticks = d.status ? 0 : r.ticks;
            break;
        }
        default: /* PING, or a kind we do not know: answer, change nothing */
            d.status = m.kind == MSG_PING ? 0 : EINVAL;
        }
        if (reply(s, MSG_DONE, &d) != 0)
            return EXIT_SHARED;
    }
}

/* Per pool thread, room for a chunk's pointers of the widest task. */
static int ptrs_ready(server *s)
{
    size_t n = 1;
    for (uint32_t i = 0; i < s->ntasks; i++) {
        const soa_sys_layout *L = s->tasks[i].sys->system->layout;
        if (1 + (size_t)L->ncols + L->nterms > n)
            n = 1 + (size_t)L->ncols + L->nterms;
    }
    s->nptrs = n;
    s->ptrs = calloc(n * soa_pool_size(s->pool), sizeof *s->ptrs);
    return s->ptrs ? 0 : -1;
}

int soa__worker_serve(soa_arena *a, size_t root_off,
                      const soa_worker_task *tasks, uint32_t ntasks,
                      const soa_region *share)
{
    server s;
    memset(&s, 0, sizeof s);
    s.arena = a;
    s.share = share;
    s.tasks = tasks;
    s.ntasks = ntasks;
    if (ntasks > MAX_TASKS || (ntasks && !tasks))
        return EXIT_MISMATCH;
    int rc = server_open(&s, root_off);
    if (rc != 0)
        return rc;
    if (!(s.snap = snap_storage(tasks, ntasks)) || ptrs_ready(&s) != 0) {
        free(s.snap);
        soa_pool_destroy(s.pool);
        return EXIT_SHARED;
    }
    rc = serve_loop(&s);
    free(s.snap);
    free(s.ptrs);
    soa_pool_destroy(s.pool);
    return rc;
}

static int parse_num(const char *s, unsigned long long *out)
{
    char *end;
    if (!s || !*s || *s == '-')
        return -1;
    errno = 0;
    *out = strtoull(s, &end, 10);
    return errno || *end ? -1 : 0;
}

int soa_worker_main(int argc, char **argv, const soa_worker_task *tasks,
                    uint32_t ntasks)
{
    unsigned long long fd = ULLONG_MAX, root = ULLONG_MAX, share = ULLONG_MAX;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--soa-worker-fd") == 0) {
            if (parse_num(argv[i + 1], &fd) != 0 || fd > INT32_MAX)
                return EXIT_USAGE;
        } else if (strcmp(argv[i], "--soa-worker-share") == 0) {
            if (parse_num(argv[i + 1], &share) != 0 || share > INT32_MAX)
                return EXIT_USAGE;
        } else if (strcmp(argv[i], "--soa-worker-root") == 0) {
            if (parse_num(argv[i + 1], &root) != 0 || root > SIZE_MAX)
                return EXIT_USAGE;
        }
    }
    if (fd == ULLONG_MAX || root == ULLONG_MAX)
        return EXIT_USAGE;
    soa_arena *a = soa_arena_attach((int)fd);
    if (!a)
        return EXIT_SHARED;
    soa__fd_close((int)fd); /* the arena holds its own duplicate */
    soa_region *r = NULL;
    if (share != ULLONG_MAX) {
        /* Read-only, and the seals keep it so: see soa/region.h. */
        r = soa_region_attach_readonly((int)share);
        soa__fd_close((int)share);
        if (!r) {
            soa_arena_destroy(a);
            return EXIT_SHARED;
        }
    }
    int rc = soa__worker_serve(a, (size_t)root, tasks, ntasks, r);
    soa_region_destroy(r);
    soa_arena_destroy(a);
    return rc;
}
