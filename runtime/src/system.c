/*
 * system.c: builds, runs and commits any system from its layout table.
 *
 * The snapshot is a generated S_snap the runtime does not know the type
 * of.  It reaches each member through the layout's byte offsets with the
 * member's own type: rows, cap and eids at the offsets of soa_snap_head,
 * the private core likewise, and every column pointer through memcpy at
 * soa_sys_col.snap (a column's pointer type is the field's; copying its
 * representation is how a void * reaches it without a cast of the struct).
 *
 * The world stores components as SoA tables, so a snapshot is a copy of
 * the matching tables' columns, table after table (plan.h numbers the
 * rows): build copies each block's piece of each column with one memcpy,
 * in chunks of whole 64-row words on the pool.  Commit reads the changed
 * bitsets of written terms word by word; while the world's shape holds
 * (no row added, removed or moved since the build) each changed row goes
 * straight back to the table row it came from, a whole word of a block in
 * one memcpy per column; otherwise each entity is looked up (generation
 * checked) and skipped when it died or lost the component.  Commits mark
 * the rows changed in the world too.
 *
 * Nothing here allocates during a frame once the snapshot is big enough:
 * the columns grow in build only, the plan when tables are made.
 */
#include "soa/system.h"

#include <assert.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "soa/bitset.h"
#include "soa/shmsnap.h"
#include "internal.h"
#include "plan.h"

#define BLOCK ((size_t)SOA_BLOCK_ROWS)

/* What a snapshot keeps besides its columns, made at the first build from
 * the heap, never from the snapshot's allocator: the columns may live in
 * an arena a worker process writes, and nothing the main process trusts
 * may live there. */
struct soa_snap_state {
    size_t bytes;          /* of this block */
    soa__plan plan;        /* the tables of the last build, packed rows */
    uint64_t shape;        /* the world's shape at the last build */
    unsigned char **colp;  /* [ncols], the columns (set by reserve) */
    unsigned char *view;   /* an S_view of every row (begin, end 0), made
                              by each build */
    bool warned;           /* the debug check named this system once */
    uint64_t debug_runs;   /* commits seen by the debug check's sampling */
};

/* ---- reaching into a generated snapshot ----------------------------- */

/* The members every S_snap starts with, each by its own type. */
typedef struct head {
    size_t *rows, *cap;
    soa_entity **eids;
    soa_snap_core *core;
} head;

static head head_of(const void *snap)
{
    unsigned char *p = (unsigned char *)(uintptr_t)snap;
    head h;
    h.rows = (size_t *)(void *)(p + offsetof(soa_snap_head, rows));
    h.cap = (size_t *)(void *)(p + offsetof(soa_snap_head, cap));
    h.eids = (soa_entity **)(void *)(p + offsetof(soa_snap_head, eids));
    h.core = (soa_snap_core *)(void *)(p + offsetof(soa_snap_head, soa));
    return h;
}

static void *get_ptr(const void *base, size_t off)
{
    void *p;
    memcpy(&p, (const unsigned char *)base + off, sizeof p);
    return p;
}

static void set_ptr(void *base, size_t off, const void *p)
{
    memcpy((unsigned char *)base + off, &p, sizeof p);
}

static void set_size(void *base, size_t off, size_t v)
{
    memcpy((unsigned char *)base + off, &v, sizeof v);
}

static uint64_t *changed_of(const void *snap, const soa_sys_term *t)
{
    return (uint64_t *)get_ptr(snap, t->snap_changed);
}

/* ---- layouts -------------------------------------------------------- */

static bool col_ok(const soa_sys_layout *L, const soa_sys_term *t,
                   const soa_sys_col *c)
{
    size_t end;
    bool size_ok = c->size == 1 || c->size == 2 || c->size == 4 || c->size == 8;
    return size_ok && soa_add_ok(c->offset, c->size, &end) &&
           end <= t->comp->size &&
           c->snap + sizeof(void *) <= L->snap_size &&
           c->view + sizeof(void *) <= L->view_size &&
           c->snap >= sizeof(soa_snap_head) &&
           c->view >= sizeof(soa_view_head);
}

static bool term_ok(const soa_sys_layout *L, const soa_sys_term *t,
                    uint32_t col0)
{
    if (!t->comp)
        return false;
    if (t->access != SOA_ACCESS_READ && t->access != SOA_ACCESS_WRITE &&
        t->access != SOA_ACCESS_WITHOUT)
        return false;
    if (t->ncols == 0) /* col0 means nothing then (generated as 0) */
        return true;
    if (t->col0 != col0 || t->ncols > L->ncols - col0)
        return false;
    if (t->access == SOA_ACCESS_WITHOUT || t->comp->size == 0 ||
        t->snap_changed + sizeof(void *) > L->snap_size ||
        t->snap_cap + sizeof(size_t) > L->snap_size ||
        (t->access == SOA_ACCESS_WRITE &&
         t->view_changed + sizeof(void *) > L->view_size))
        return false;
    for (uint32_t c = 0; c < t->ncols; c++)
        if (!col_ok(L, t, &L->cols[col0 + c]))
            return false;
    return true;
}

/* Whether the runtime can use `L`: a layout from a generated header of
 * this ABI.  Checked once, at init and attach, so nothing later needs to
 * doubt it (the rest of this file asserts). */
bool soa__layout_ok(const soa_sys_layout *L)
{
    if (!L || !L->call || L->snap_core != offsetof(soa_snap_head, soa) ||
        L->snap_size < sizeof(soa_snap_head) ||
        L->view_size < sizeof(soa_view_head) ||
        L->ncols > SOA_SYS_MAX_COLS || (L->ncols && !L->cols) ||
        (L->nterms && !L->terms) || L->nterms > SOA_SYS_MAX_COLS)
        return false;
    uint32_t col0 = 0;
    bool without = false;
    for (uint32_t i = 0; i < L->nterms; i++) {
        const soa_sys_term *t = &L->terms[i];
        /* `all` terms first, then `without` ones. */
        if (without && t->access != SOA_ACCESS_WITHOUT)
            return false;
        without = t->access == SOA_ACCESS_WITHOUT;
        if (!term_ok(L, t, col0))
            return false;
        col0 += t->ncols;
    }
    return col0 == L->ncols;
}

/* ---- storage -------------------------------------------------------- */

/* Frees the columns, bitsets and eids; rows and cap become 0. */
static void free_columns(void *snap)
{
    head h = head_of(snap);
    const soa_sys_layout *L = h.core->layout;
    soa_alloc *a = h.core->mem;
    size_t cap = *h.cap;
    for (uint32_t i = 0; i < L->nterms; i++) {
        const soa_sys_term *t = &L->terms[i];
        for (uint32_t c = t->col0; c < t->col0 + t->ncols; c++) {
            a->free(a, get_ptr(snap, L->cols[c].snap), cap * L->cols[c].size);
            set_ptr(snap, L->cols[c].snap, NULL);
            if (h.core->state)
                h.core->state->colp[c] = NULL;
        }
        if (t->ncols) {
            a->free(a, changed_of(snap, t),
                    soa_bitset_words(cap) * sizeof(uint64_t));
            set_ptr(snap, t->snap_changed, NULL);
            set_size(snap, t->snap_cap, 0);
        }
    }
    a->free(a, *h.eids, cap * sizeof(soa_entity));
    *h.eids = NULL;
    *h.rows = *h.cap = 0;
}

/* A column of `cap` elements of `size` bytes, or NULL (errno set). */
static void *alloc_column(soa_alloc *a, size_t cap, size_t size)
{
    size_t bytes;
    if (!soa_mul_ok(cap, size, &bytes)) {
        errno = EOVERFLOW;
        return NULL;
    }
    void *p = a->alloc(a, bytes ? bytes : 1, SOA_ALIGN);
    if (!p && !errno)
        errno = ENOMEM;
    return p;
}

static int alloc_term(void *snap, const soa_sys_term *t, size_t cap)
{
    const soa_sys_layout *L = head_of(snap).core->layout;
    soa_alloc *a = head_of(snap).core->mem;
    for (uint32_t c = t->col0; c < t->col0 + t->ncols; c++) {
        void *p = alloc_column(a, cap, L->cols[c].size);
        if (!p)
            return -1;
        set_ptr(snap, L->cols[c].snap, p);
        head_of(snap).core->state->colp[c] = p;
    }
    if (t->ncols) {
        uint64_t *bits = alloc_column(a, soa_bitset_words(cap), 8);
        if (!bits)
            return -1;
        soa_bitset_clear_all(bits, cap);
        set_ptr(snap, t->snap_changed, bits);
        set_size(snap, t->snap_cap, cap);
    }
    return 0;
}

/*
 * Room for at least `rows` rows: the old columns are freed (a build
 * refills them), the new capacity is at least twice the old one, rounded up
 * to 64 rows.  0, or -1 (EOVERFLOW, ENOMEM) with the snapshot empty.
 */
static int reserve(void *snap, size_t rows)
{
    head h = head_of(snap);
    const soa_sys_layout *L = h.core->layout;
    size_t cap = *h.cap;
    free_columns(snap);
    if (cap > SIZE_MAX / 4u || rows > SIZE_MAX / 4u) {
        errno = EOVERFLOW;
        return -1;
    }
    cap = cap * 2u > rows ? cap * 2u : rows;
    cap = (cap + 63u) & ~(size_t)63u;
    /* Free with the capacity everything was allocated with. */
    *h.cap = cap;
    int rc = (*h.eids = alloc_column(h.core->mem, cap, sizeof(soa_entity)))
                 ? 0 : -1;
    for (uint32_t i = 0; rc == 0 && i < L->nterms; i++)
        rc = alloc_term(snap, &L->terms[i], cap);
    if (rc != 0) {
        int err = errno;
        free_columns(snap);
        errno = err;
    }
    return rc;
}

/* The private state, made at the first build. */
static int state_ready(soa_snap_core *core)
{
    if (core->state)
        return 0;
    const soa_sys_layout *L = core->layout;
    /* ncols is at most SOA_SYS_MAX_COLS: no overflow. */
    size_t bytes = sizeof(soa_snap_state) + (size_t)L->ncols * sizeof(void *) +
                   L->view_size + 3 * 16u;
    soa_alloc *heap = soa_alloc_heap();
    unsigned char *p = heap->alloc(heap, bytes, 16);
    if (!p) {
        errno = ENOMEM;
        return -1;
    }
    memset(p, 0, bytes);
    soa_snap_state *st = (soa_snap_state *)(void *)p;
    size_t at = (sizeof *st + 15u) & ~(size_t)15u;
    st->bytes = bytes;
    soa__plan_init(&st->plan, L, NULL);
    st->colp = (unsigned char **)(void *)(p + at);
    at = (at + L->ncols * sizeof(void *) + 15u) & ~(size_t)15u;
    st->view = p + at;
    core->state = st;
    return 0;
}

int soa_snap_init(void *snap, const soa_sys_layout *layout, soa_alloc *alloc)
{
    if (!snap || !soa__layout_ok(layout)) {
        errno = EINVAL;
        return -1;
    }
    memset(snap, 0, layout->snap_size);
    head h = head_of(snap);
    h.core->layout = layout;
    h.core->mem = soa_alloc_or_heap(alloc);
    return 0;
}

void soa_snap_release(void *snap)
{
    if (!snap)
        return;
    head h = head_of(snap);
    if (!h.core->layout || !h.core->mem)
        return;
    free_columns(snap);
    soa_snap_state *st = h.core->state;
    if (st) {
        soa_alloc *heap = soa_alloc_heap();
        soa__plan_free(&st->plan);
        heap->free(heap, st, st->bytes);
    }
    h.core->state = NULL;
}

/* ---- build ---------------------------------------------------------- */

static void view_of(const soa_sys_layout *L, const void *snap, void *view);

typedef struct build_ctx {
    void *snap;
    const soa_sys_layout *L;
    const soa_snap_state *st;
} build_ctx;

/* Copies snapshot rows [row, row + n) from rows [r, r + n) of match m,
 * which lie in one block. */
static void copy_piece(const build_ctx *c, const soa__match *m, size_t r,
                       size_t row, size_t n)
{
    const soa_sys_layout *L = c->L;
    const unsigned char *block = soa__table_block(m->t, r / BLOCK);
    size_t in = r % BLOCK;
    memcpy(*head_of(c->snap).eids + row,
           (const soa_entity *)(const void *)block + in, n * sizeof(soa_entity));
    for (uint32_t j = 0; j < L->ncols; j++) {
        size_t size = L->cols[j].size;
        memcpy(c->st->colp[j] + row * size, block + m->off[j] + in * size,
               n * size);
    }
}

/* Copies snapshot rows [begin, end) (begin a multiple of 64) from the
 * tables and clears their changed bits. */
static size_t copy_rows(void *p, size_t begin, size_t end)
{
    const build_ctx *c = p;
    const soa__plan *pl = &c->st->plan;
    size_t row = begin;
    for (uint32_t i = soa__plan_find(pl, begin); row < end; i++) {
        const soa__match *m = &pl->m[i];
        while (row < end && row < m->base + m->rows) {
            size_t r = row - m->base, left = BLOCK - r % BLOCK;
            size_t n = end - row < left ? end - row : left;
            if (n > m->base + m->rows - row)
                n = m->base + m->rows - row;
            copy_piece(c, m, r, row, n);
            row += n;
        }
    }
    for (uint32_t k = 0; k < c->L->nterms; k++)
        if (c->L->terms[k].ncols)
            soa_bitset_clear_all(changed_of(c->snap, &c->L->terms[k]) +
                                     begin / 64u, end - begin);
    return 0;
}

int soa_snap_build_on(void *snap, soa_world *w, soa_pool *pool)
{
    if (!snap || !w) {
        errno = EINVAL;
        return -1;
    }
    head h = head_of(snap);
    const soa_sys_layout *L = h.core->layout;
    if (!L || !h.core->mem) {
        errno = EINVAL;
        return -1;
    }
    if (state_ready(h.core) != 0)
        return -1;
    soa_snap_state *st = h.core->state;
    *h.rows = 0;
    if (soa__plan_match(&st->plan, w) != 0)
        return -1;
    size_t rows = soa__plan_layout(&st->plan, 1);
    if (rows > *h.cap && reserve(snap, rows) != 0)
        return -1;
    build_ctx c = {snap, L, st};
    *h.rows = rows;
    soa__snap_for(pool, rows, copy_rows, &c);
    st->shape = soa__world_shape(w);
    view_of(L, snap, st->view);
    return 0;
}

int soa_snap_build(void *snap, soa_world *w)
{
    return soa_snap_build_on(snap, w, NULL);
}

/* ---- run ------------------------------------------------------------ */

/* The view of a snapshot's columns (begin and end 0) into `view`. */
static void view_of(const soa_sys_layout *L, const void *snap, void *view)
{
    soa_view_head vh;
    vh.begin = vh.end = 0;
    vh.eids = *head_of(snap).eids;
    memcpy(view, &vh, sizeof vh);
    for (uint32_t j = 0; j < L->ncols; j++)
        set_ptr(view, L->cols[j].view, get_ptr(snap, L->cols[j].snap));
    for (uint32_t k = 0; k < L->nterms; k++) {
        const soa_sys_term *t = &L->terms[k];
        if (t->ncols && t->access == SOA_ACCESS_WRITE)
            set_ptr(view, t->view_changed, changed_of(snap, t));
    }
}

/* The view of a table block's columns (begin and end 0) into `view`. */
static void view_of_block(const soa_sys_layout *L, const unsigned char *block,
                          const size_t *off, void *view)
{
    soa_view_head vh;
    vh.begin = vh.end = 0;
    vh.eids = (const soa_entity *)(const void *)block;
    memcpy(view, &vh, sizeof vh);
    for (uint32_t j = 0; j < L->ncols; j++)
        set_ptr(view, L->cols[j].view, block + off[j]);
    for (uint32_t k = 0; k < L->nterms; k++) {
        const soa_sys_term *t = &L->terms[k];
        if (t->ncols && t->access == SOA_ACCESS_WRITE)
            set_ptr(view, t->view_changed, block + off[L->ncols + k]);
    }
}

/* The view of a chunk given as pointers (begin and end 0) into `view`. */
static void view_of_ptrs(const soa_sys_layout *L,
                         const unsigned char *const *ptrs, void *view)
{
    soa_view_head vh;
    vh.begin = vh.end = 0;
    vh.eids = (const soa_entity *)(const void *)ptrs[0];
    memcpy(view, &vh, sizeof vh);
    for (uint32_t j = 0; j < L->ncols; j++)
        set_ptr(view, L->cols[j].view, ptrs[1 + j]);
    for (uint32_t k = 0; k < L->nterms; k++) {
        const soa_sys_term *t = &L->terms[k];
        if (t->ncols && t->access == SOA_ACCESS_WRITE)
            set_ptr(view, t->view_changed, ptrs[1 + L->ncols + k]);
    }
}

void soa_view_fill(const soa_view_src *src, void *view, size_t view_size)
{
    const soa_sys_layout *L = src->layout;
    assert(view_size == L->view_size);
    if (src->tmpl)
        memcpy(view, src->tmpl, view_size);
    else if (src->block)
        view_of_block(L, src->block, src->off, view);
    else if (src->ptrs)
        view_of_ptrs(L, src->ptrs, view);
    else
        view_of(L, src->snap, view);
    memcpy((unsigned char *)view + offsetof(soa_view_head, begin), &src->begin,
           sizeof src->begin);
    memcpy((unsigned char *)view + offsetof(soa_view_head, end), &src->end,
           sizeof src->end);
}

typedef struct run_ctx {
    void *snap;
    soa_fn kernel;
    const soa_frame *frame;
    void *ctx;
} run_ctx;

void soa_snap_run_range(void *snap, soa_fn kernel, const soa_frame *frame,
                        void *ctx, size_t begin, size_t end)
{
    const soa_snap_core *core = head_of(snap).core;
    const soa_sys_layout *L = core->layout;
    soa_view_src src = {L, snap, core->state ? core->state->view : NULL,
                        NULL, NULL, NULL, begin, end};
    assert(L && begin <= end && end <= *head_of(snap).rows);
    L->call(&src, kernel, frame, ctx);
}

static void run_chunk(void *p, size_t begin, size_t end, unsigned worker)
{
    const run_ctx *c = p;
    (void)worker;
    soa_snap_run_range(c->snap, c->kernel, c->frame, c->ctx, begin, end);
}

int soa_snap_run(void *snap, soa_pool *pool, soa_fn kernel,
                 const soa_frame *frame, void *ctx)
{
    if (!snap || !kernel || !head_of(snap).core->layout) {
        errno = EINVAL;
        return -1;
    }
    soa_frame zero;
    if (!frame) {
        memset(&zero, 0, sizeof zero);
        frame = &zero;
    }
    run_ctx c = {snap, kernel, frame, ctx};
    soa_pool_for(pool, *head_of(snap).rows, SOA_POOL_GRAIN, run_chunk, &c);
    return 0;
}

/* ---- commit --------------------------------------------------------- */

typedef struct commit_ctx {
    const void *snap;
    const soa_sys_layout *L;
    const soa_snap_state *st;
    soa_world *w;
    bool direct; /* the world's rows are where the build found them */
} commit_ctx;

/* Marks rows [in, in + n) of a table block changed.  Atomically: a commit's
 * chunks are whole words of the snapshot, but a table's rows start
 * anywhere in it, so two chunks may mark rows of one word of the world. */
static void mark_rows(uint64_t *bits, size_t in, size_t n)
{
    while (n) {
        size_t k = in % 64u, take = 64u - k < n ? 64u - k : n;
        uint64_t mask = take == 64u ? ~(uint64_t)0
                                    : (((uint64_t)1 << take) - 1u) << k;
        __atomic_fetch_or(&bits[in / 64u], mask, __ATOMIC_RELAXED);
        in += take;
        n -= take;
    }
}

/* Copies snapshot rows [row, row + n) of term k into rows [in, in + n) of
 * a block whose column offsets are `off`, and marks them changed there. */
static void put_rows(const commit_ctx *c, uint32_t k, unsigned char *block,
                     const size_t *off, size_t in, size_t row, size_t n)
{
    const soa_sys_term *t = &c->L->terms[k];
    for (uint32_t j = t->col0; j < t->col0 + t->ncols; j++) {
        size_t size = c->L->cols[j].size;
        memcpy(block + off[j] + in * size, c->st->colp[j] + row * size,
               n * size);
    }
    mark_rows((uint64_t *)(void *)(block + off[c->L->ncols + k]), in, n);
}

/* Row `row` of term k to the entity it came from, looked up: whether it
 * was written (the entity lives and has the component). */
static bool put_looked_up(const commit_ctx *c, uint32_t k, size_t row)
{
    const soa_sys_term *t = &c->L->terms[k];
    const soa_table *tab;
    size_t r;
    soa_cid cid = c->st->plan.cids[k];
    if (!soa__world_locate(c->w, (*head_of(c->snap).eids)[row], &tab, &r) ||
        soa__table_bit_offset(tab, cid) == SIZE_MAX)
        return false;
    unsigned char *block = soa__table_block(tab, r / BLOCK);
    size_t in = r % BLOCK;
    for (uint32_t j = 0; j < t->ncols; j++) {
        size_t size = c->L->cols[t->col0 + j].size;
        memcpy(block + soa__table_col_offset(tab, cid, j) + in * size,
               c->st->colp[t->col0 + j] + row * size, size);
    }
    mark_rows((uint64_t *)(void *)(block + soa__table_bit_offset(tab, cid)), in,
              1);
    return true;
}

/* Snapshot rows [row, row + n) of term k back to where they came from
 * (direct commits), in pieces that lie in one block. */
static void put_direct(const commit_ctx *c, uint32_t k, size_t row, size_t n)
{
    const soa__plan *pl = &c->st->plan;
    uint32_t i = soa__plan_find(pl, row);
    while (n) {
        assert(i < pl->nm);
        const soa__match *m = &pl->m[i];
        if (row >= m->base + m->rows) { /* past this table (or empty) */
            i++;
            continue;
        }
        size_t r = row - m->base, in = r % BLOCK, piece = n;
        if (piece > BLOCK - in)
            piece = BLOCK - in;
        if (piece > m->base + m->rows - row)
            piece = m->base + m->rows - row;
        put_rows(c, k, soa__table_block(m->t, r / BLOCK), m->off, in, row,
                 piece);
        row += piece;
        n -= piece;
    }
}

/* Term k's changed rows in [begin, end): how many were written. */
static size_t commit_term(const commit_ctx *c, uint32_t k, size_t begin,
                          size_t end)
{
    const uint64_t *changed = changed_of(c->snap, &c->L->terms[k]);
    size_t rows = *head_of(c->snap).rows, n = 0;
    for (size_t b = begin / 64u; b < soa_bitset_words(end); b++) {
        /* Read once: in a worker's arena the word is the worker's to
         * write, even now; only the rows of this word are ever used. */
        uint64_t bits = __atomic_load_n(&changed[b], __ATOMIC_RELAXED);
        if (!bits)
            continue;
        if (rows - b * 64u < 64u)
            bits &= ((uint64_t)1 << (rows - b * 64u)) - 1u;
        if (c->direct && bits == ~(uint64_t)0) {
            put_direct(c, k, b * 64u, 64u);
            n += 64u;
            continue;
        }
        for (; bits; bits &= bits - 1u) {
            size_t row = b * 64u + soa__ctz64(bits);
            if (c->direct)
                put_direct(c, k, row, 1);
            else if (!put_looked_up(c, k, row))
                continue;
            n++;
        }
    }
    return n;
}

static size_t commit_rows(void *p, size_t begin, size_t end)
{
    const commit_ctx *c = p;
    size_t n = 0;
    for (uint32_t k = 0; k < c->st->plan.nall; k++) {
        const soa_sys_term *t = &c->L->terms[k];
        if (t->access == SOA_ACCESS_WRITE && t->ncols)
            n += commit_term(c, k, begin, end);
    }
    return n;
}

/* SOA_DEBUG: the rows the kernel changed in the snapshot but did not mark
 * (they differ from the world's, which the commit will not touch). */
static void debug_check(const void *snap, soa_snap_state *st)
{
    const soa_sys_layout *L = head_of(snap).core->layout;
    const uint64_t **bits = malloc(L->nterms * sizeof *bits + 1);
    if (!bits)
        return; /* a debug aid: skipped when out of memory */
    for (uint32_t k = 0; k < L->nterms; k++)
        bits[k] = L->terms[k].ncols ? changed_of(snap, &L->terms[k]) : NULL;
    soa_entity first;
    const char *comp;
    size_t n = soa__plan_unmarked(&st->plan, st->colp, bits, &first, &comp);
    soa__debug_report(&st->warned, L->name, n, comp, first, UINT64_MAX);
    free(bits);
}

size_t soa_snap_commit_on(const void *snap, soa_world *w, soa_pool *pool)
{
    if (!snap || !w)
        return 0;
    head h = head_of(snap);
    const soa_snap_state *st = h.core->state;
    if (!h.core->layout || !st || !*h.rows || st->plan.w != w)
        return 0;
    commit_ctx c = {snap, h.core->layout, st, w,
                    soa__world_shape(w) == st->shape};
    /* the state is ours, never const */
    soa_snap_state *mine = (soa_snap_state *)(uintptr_t)st;
    if (c.direct && soa__debug_due(soa__debug_every(), &mine->debug_runs))
        debug_check(snap, mine);
    return soa__snap_for(pool, *h.rows, commit_rows, &c);
}

bool soa__snap_current(const void *snap, const soa_world *w)
{
    const soa_snap_state *st = snap ? head_of(snap).core->state : NULL;
    return st && st->plan.w == w && soa__world_shape(w) == st->shape;
}

size_t soa_snap_commit(const void *snap, soa_world *w)
{
    return soa_snap_commit_on(snap, w, NULL);
}

/* ---- chunks on a pool ----------------------------------------------- */

typedef struct snap_for_ctx {
    soa__rows_fn fn;
    void *ctx;
    atomic_size_t sum;
} snap_for_ctx;

static void snap_for_chunk(void *p, size_t begin, size_t end, unsigned worker)
{
    snap_for_ctx *c = p;
    (void)worker;
    size_t got = c->fn(c->ctx, begin, end);
    if (got)
        atomic_fetch_add_explicit(&c->sum, got, memory_order_relaxed);
}

size_t soa__snap_for(soa_pool *pool, size_t rows, soa__rows_fn fn, void *ctx)
{
    if (!fn || !rows)
        return 0;
    if (!pool || soa_pool_size(pool) < 2 || rows < SOA_SNAP_PARALLEL_ROWS)
        return fn(ctx, 0, rows);
    snap_for_ctx c;
    c.fn = fn;
    c.ctx = ctx;
    atomic_init(&c.sum, 0);
    soa_pool_for(pool, rows, SOA_SNAP_GRAIN, snap_for_chunk, &c);
    return atomic_load_explicit(&c.sum, memory_order_relaxed);
}

/* ---- shared memory -------------------------------------------------- */

/* The shm header's shape: component hashes of the terms with columns,
 * then column sizes: eids, each such term's columns, its bitset (0). */
static uint32_t shm_comps(const soa_sys_layout *L)
{
    uint32_t n = 0;
    for (uint32_t k = 0; k < L->nterms; k++)
        n += L->terms[k].ncols != 0;
    return n;
}

size_t soa_snap_shm_bytes(const soa_sys_layout *layout)
{
    if (!layout)
        return 0;
    size_t nc = shm_comps(layout);
    return soa__shm_snap_bytes(nc, 1u + layout->ncols + nc);
}

/* A soa_shm_layout for L with its arrays in one heap block, plus room for
 * ncols + 1 + ncomps pointers or offsets; NULL (ENOMEM).  Free with
 * free_shm_layout. */
typedef struct shm_scratch {
    soa_shm_layout layout;
    uint64_t *hashes;
    uint32_t *sizes;
    union { const void **cols; size_t *offs; } u;
    size_t bytes;
} shm_scratch;

static int shm_scratch_make(shm_scratch *s, const soa_sys_layout *L)
{
    uint32_t nc = shm_comps(L), ncols = 1u + L->ncols + nc;
    size_t bytes = nc * sizeof(uint64_t) + (size_t)ncols * sizeof(uint32_t) +
                   (size_t)ncols * sizeof(size_t) + 16u;
    soa_alloc *heap = soa_alloc_heap();
    unsigned char *p = heap->alloc(heap, bytes, 16);
    if (!p) {
        errno = ENOMEM;
        return -1;
    }
    s->bytes = bytes;
    s->hashes = (uint64_t *)(void *)p;
    s->u.offs = (size_t *)(void *)(p + nc * sizeof(uint64_t));
    s->sizes = (uint32_t *)(void *)(p + nc * sizeof(uint64_t) +
                                    (size_t)ncols * sizeof(size_t));
    uint32_t h = 0, col = 0;
    s->sizes[col++] = sizeof(soa_entity);
    for (uint32_t k = 0; k < L->nterms; k++) {
        const soa_sys_term *t = &L->terms[k];
        if (!t->ncols)
            continue;
        s->hashes[h++] = t->comp->layout_hash;
        for (uint32_t j = t->col0; j < t->col0 + t->ncols; j++)
            s->sizes[col++] = (uint32_t)L->cols[j].size;
        s->sizes[col++] = 0;
    }
    s->layout.system = L->name;
    s->layout.system_hash = L->hash;
    s->layout.ncomps = nc;
    s->layout.comp_hashes = s->hashes;
    s->layout.ncols = ncols;
    s->layout.col_sizes = s->sizes;
    return 0;
}

static void shm_scratch_free(shm_scratch *s)
{
    soa_alloc *heap = soa_alloc_heap();
    heap->free(heap, s->hashes, s->bytes);
}

int soa_snap_publish(const void *snap, soa_arena *a, size_t offset)
{
    if (!snap || !head_of(snap).core->layout) {
        errno = EINVAL;
        return SOA_SHM_EINVAL;
    }
    head h = head_of(snap);
    const soa_sys_layout *L = h.core->layout;
    shm_scratch s;
    if (shm_scratch_make(&s, L) != 0)
        return SOA_SHM_EINVAL;
    uint32_t col = 0;
    s.u.cols[col++] = *h.eids;
    for (uint32_t k = 0; k < L->nterms; k++) {
        const soa_sys_term *t = &L->terms[k];
        if (!t->ncols)
            continue;
        for (uint32_t j = t->col0; j < t->col0 + t->ncols; j++)
            s.u.cols[col++] = get_ptr(snap, L->cols[j].snap);
        s.u.cols[col++] = changed_of(snap, t);
    }
    int rc = soa_shm_snap_write(a, offset, &s.layout, s.u.cols, *h.rows, *h.cap);
    int err = errno;
    shm_scratch_free(&s);
    errno = err;
    return rc;
}

int soa_snap_attach(void *snap, const soa_sys_layout *layout,
                    const soa_arena *a, size_t offset)
{
    if (!snap || !soa__layout_ok(layout)) {
        errno = EINVAL;
        return SOA_SHM_EINVAL;
    }
    shm_scratch s;
    size_t rows, cap;
    if (shm_scratch_make(&s, layout) != 0)
        return SOA_SHM_EINVAL;
    int rc = soa_shm_snap_read(a, offset, &s.layout, s.u.offs, &rows, &cap);
    if (rc == SOA_SHM_OK) {
        memset(snap, 0, layout->snap_size);
        head h = head_of(snap);
        h.core->layout = layout;
        *h.rows = rows;
        *h.cap = cap;
        *h.eids = soa_arena_ptr(a, s.u.offs[0]);
        uint32_t col = 1;
        for (uint32_t k = 0; k < layout->nterms; k++) {
            const soa_sys_term *t = &layout->terms[k];
            if (!t->ncols)
                continue;
            for (uint32_t j = t->col0; j < t->col0 + t->ncols; j++)
                set_ptr(snap, layout->cols[j].snap,
                        soa_arena_ptr(a, s.u.offs[col++]));
            set_ptr(snap, t->snap_changed, soa_arena_ptr(a, s.u.offs[col++]));
            set_size(snap, t->snap_cap, cap);
        }
    }
    int err = errno;
    shm_scratch_free(&s);
    errno = err;
    return rc;
}
