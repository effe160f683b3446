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
 * Build walks the query (every read and written term is an `all` term, in
 * layout order; `without` terms are `none` terms) in batches of 64 matches,
 * so batch b is snapshot rows [64 b, 64 b + 64).  The walk writes each
 * batch's world rows straight into the row map rows[b][k][0..64) of term
 * k, and base[b][k] is the first of them when they run on (the batch is
 * then copied as a block) or SOA__ROW_NONE.  The copying runs afterwards,
 * in chunks of whole blocks, on the pool.  While every term's stamp holds
 * its shape (no row added or removed), a rebuild reuses the maps and skips
 * the walk.
 *
 * Commit reads the changed bitsets of written terms word by word: a full
 * word of a block with a base goes back as a block, other bits row by row,
 * through the row map while the term's stamp holds its version (no row
 * lost its entity), else by looking the entity up.
 *
 * Nothing here allocates during a frame once the snapshot is big enough:
 * the columns and maps grow in build only.
 */
#include "soa/system.h"

#include <assert.h>
#include <errno.h>
#include <stdatomic.h>
#include <string.h>

#include "soa/bitset.h"
#include "soa/shmsnap.h"
#include "internal.h"

/* What a snapshot keeps besides its columns: one block made at the first
 * build, plus the row maps, sized by the capacity.  Both come from the
 * heap, never from the snapshot's allocator: the columns may live in an
 * arena a worker process writes, and nothing the main process trusts may
 * live there. */
struct soa_snap_state {
    size_t bytes;        /* of this block */
    uint32_t nall;       /* read and written terms: terms[0 .. nall) */
    uint32_t nterms;     /* ... then the `without` terms */
    soa_cid *cids;       /* [nterms] */
    soa__stamp *stamps;  /* [nterms], at the last walk */
    const unsigned char **values; /* [nall], this build's dense values */
    unsigned char **dest;         /* [nall], this commit's (NULL: look up) */
    unsigned char **colp;         /* [ncols], the columns (set by reserve) */
    size_t *packed;               /* [nterms], packed_size of each term */
    unsigned char *view;          /* an S_view of every row (begin, end 0),
                                     made by each build */
    size_t gaps;         /* the last walk skipped candidates */
    uint32_t *base;      /* [nblocks][nall]: SOA__ROW_NONE or a block base */
    uint32_t *rows;      /* [nblocks][nall][64]: world row of each row */
    size_t maps_bytes;   /* of base and rows together */
    uint32_t *scratch;   /* [nscratch][nall][64]: a batch per walker */
    size_t nscratch;
};

/* Where a kernel call's view comes from: rows [begin, end) of a snapshot,
 * and the view its build prepared (NULL: an attached snapshot, whose view
 * is filled from its members). */
struct soa_view_src {
    const soa_sys_layout *layout;
    const void *snap;
    const unsigned char *tmpl;
    size_t begin, end;
};

/* Bytes of `walkers` batches of row scratch (never 0; SOA_SYS_MAX_COLS
 * bounds nall, SOA_POOL_MAX_THREADS the walkers: no overflow). */
static size_t scratch_bytes(const soa_snap_state *st, size_t walkers)
{
    size_t n = walkers * st->nall * 64u * sizeof(uint32_t);
    return n ? n : 1;
}

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
static bool layout_ok(const soa_sys_layout *L)
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

static uint32_t n_all(const soa_sys_layout *L)
{
    uint32_t n = 0;
    while (n < L->nterms && L->terms[n].access != SOA_ACCESS_WITHOUT)
        n++;
    return n;
}

/*
 * A term is "packed" when its value is exactly its columns, all of one
 * size, in order (Position {x, y}: two 4-byte columns, stride 8).  Then a
 * batch is copied in one pass over the values with a constant stride,
 * which the compiler turns into shuffles; other terms go column by column.
 * Returns the common column size, or 0 when the term is not packed.
 */
static size_t packed_size(const soa_sys_layout *L, const soa_sys_term *t)
{
    size_t size = L->cols[t->col0].size;
    if (t->ncols > 4 || (size != 4 && size != 8) ||
        t->comp->size != t->ncols * size)
        return 0;
    for (uint32_t j = 0; j < t->ncols; j++)
        if (L->cols[t->col0 + j].size != size ||
            L->cols[t->col0 + j].offset != j * size)
            return 0;
    return size;
}

/* ---- storage -------------------------------------------------------- */

static void free_maps(soa_snap_state *st)
{
    if (!st || !st->base)
        return;
    soa_alloc *a = soa_alloc_heap();
    a->free(a, st->base, st->maps_bytes);
    st->base = st->rows = NULL;
    st->maps_bytes = 0;
}

/* Frees the columns, bitsets, eids and maps; rows and cap become 0. */
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
    free_maps(h.core->state);
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

/* The row maps for `cap` rows (a multiple of 64). */
static int alloc_maps(soa_snap_state *st, size_t cap)
{
    soa_alloc *a = soa_alloc_heap();
    size_t blocks = cap / 64u, nb, nr, bytes;
    if (!soa_mul_ok(blocks, st->nall, &nb) || !soa_mul_ok(nb, 65u, &nr) ||
        !soa_mul_ok(nr, sizeof(uint32_t), &bytes)) {
        errno = EOVERFLOW;
        return -1;
    }
    st->base = a->alloc(a, bytes ? bytes : 1, SOA_ALIGN);
    if (!st->base) {
        errno = errno ? errno : ENOMEM;
        return -1;
    }
    st->rows = st->base + nb;
    st->maps_bytes = bytes ? bytes : 1;
    return 0;
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
    if (rc == 0)
        rc = alloc_maps(h.core->state, cap);
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
    size_t n = L->nterms, bytes = sizeof(soa_snap_state);
    size_t per = sizeof(soa_cid) + sizeof(soa__stamp) + 2 * sizeof(void *) +
                 sizeof(size_t);
    /* nterms and ncols are at most SOA_SYS_MAX_COLS: no overflow. */
    bytes += n * per + (size_t)L->ncols * sizeof(void *) + L->view_size +
             7 * 16u;
    soa_alloc *heap = soa_alloc_heap();
    unsigned char *p = heap->alloc(heap, bytes, 16);
    if (!p) {
        errno = errno ? errno : ENOMEM;
        return -1;
    }
    memset(p, 0, bytes);
    soa_snap_state *st = (soa_snap_state *)(void *)p;
    size_t at = (sizeof *st + 15u) & ~(size_t)15u;
    st->bytes = bytes;
    st->nterms = L->nterms;
    st->nall = n_all(L);
    st->stamps = (soa__stamp *)(void *)(p + at);
    at = (at + n * sizeof(soa__stamp) + 15u) & ~(size_t)15u;
    st->values = (const unsigned char **)(void *)(p + at);
    at = (at + n * sizeof(void *) + 15u) & ~(size_t)15u;
    st->dest = (unsigned char **)(void *)(p + at);
    at = (at + n * sizeof(void *) + 15u) & ~(size_t)15u;
    st->packed = (size_t *)(void *)(p + at);
    at = (at + n * sizeof(size_t) + 15u) & ~(size_t)15u;
    st->colp = (unsigned char **)(void *)(p + at);
    at = (at + L->ncols * sizeof(void *) + 15u) & ~(size_t)15u;
    st->view = p + at;
    at = (at + L->view_size + 15u) & ~(size_t)15u;
    for (uint32_t k = 0; k < L->nterms; k++)
        st->packed[k] = L->terms[k].ncols ? packed_size(L, &L->terms[k]) : 0;
    st->cids = (soa_cid *)(void *)(p + at);
    core->state = st;
    return 0;
}

int soa_snap_init(void *snap, const soa_sys_layout *layout, soa_alloc *alloc)
{
    if (!snap || !layout_ok(layout)) {
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
        if (st->scratch)
            heap->free(heap, st->scratch, scratch_bytes(st, st->nscratch));
        heap->free(heap, st, st->bytes);
    }
    h.core->state = NULL;
}

/* ---- build ---------------------------------------------------------- */

static void view_of(const soa_sys_layout *L, const void *snap, void *view);

typedef struct build_ctx {
    void *snap;
    const soa_sys_layout *L;
    soa_snap_state *st;
    soa_world *w;
    const soa_query *q;
} build_ctx;

/* Copies n elements of `size` bytes, src[i * stride] to dst[i]. */
static void gather_run(unsigned char *dst, const unsigned char *src,
                       size_t stride, size_t n, size_t size)
{
    switch (size) {
    case 4:
        for (size_t i = 0; i < n; i++)
            memcpy(dst + i * 4u, src + i * stride, 4);
        break;
    case 8:
        for (size_t i = 0; i < n; i++)
            memcpy(dst + i * 8u, src + i * stride, 8);
        break;
    case 2:
        for (size_t i = 0; i < n; i++)
            memcpy(dst + i * 2u, src + i * stride, 2);
        break;
    default:
        assert(size == 1);
        for (size_t i = 0; i < n; i++)
            dst[i] = src[i * stride];
    }
}

/* Copies n elements, src[rows[i] * stride] to dst[i]. */
static void gather_rows(unsigned char *dst, const unsigned char *src,
                        size_t stride, const uint32_t *rows, size_t n,
                        size_t size)
{
    switch (size) {
    case 4:
        for (size_t i = 0; i < n; i++)
            memcpy(dst + i * 4u, src + (size_t)rows[i] * stride, 4);
        break;
    case 8:
        for (size_t i = 0; i < n; i++)
            memcpy(dst + i * 8u, src + (size_t)rows[i] * stride, 8);
        break;
    case 2:
        for (size_t i = 0; i < n; i++)
            memcpy(dst + i * 2u, src + (size_t)rows[i] * stride, 2);
        break;
    default:
        assert(size == 1);
        for (size_t i = 0; i < n; i++)
            dst[i] = src[(size_t)rows[i] * stride];
    }
}

/*
 * Packed values <-> columns, for values of nc (1 to 4) elements of `size`
 * (4 or 8) bytes.  Each column is its own restrict pointer and the size a
 * constant once inlined, so the compiler sees independent streams and
 * copies with vector shuffles.
 */
static inline void split(size_t size, uint32_t nc, const unsigned char *restrict s,
                         unsigned char *restrict d0, unsigned char *restrict d1,
                         unsigned char *restrict d2, unsigned char *restrict d3,
                         size_t n)
{
    size_t stride = size * nc;
    for (size_t i = 0; i < n; i++) {
        memcpy(d0 + i * size, s + i * stride, size);
        if (nc > 1)
            memcpy(d1 + i * size, s + i * stride + size, size);
        if (nc > 2)
            memcpy(d2 + i * size, s + i * stride + 2 * size, size);
        if (nc > 3)
            memcpy(d3 + i * size, s + i * stride + 3 * size, size);
    }
}

static inline void join(size_t size, uint32_t nc, unsigned char *restrict d,
                        const unsigned char *restrict s0,
                        const unsigned char *restrict s1,
                        const unsigned char *restrict s2,
                        const unsigned char *restrict s3, size_t n)
{
    size_t stride = size * nc;
    for (size_t i = 0; i < n; i++) {
        memcpy(d + i * stride, s0 + i * size, size);
        if (nc > 1)
            memcpy(d + i * stride + size, s1 + i * size, size);
        if (nc > 2)
            memcpy(d + i * stride + 2 * size, s2 + i * size, size);
        if (nc > 3)
            memcpy(d + i * stride + 3 * size, s3 + i * size, size);
    }
}

#define SIZES_AND_COUNTS(F, ...)                                              \
    switch (size * 8u + nc) {                                                 \
    case 33: F(4, 1, __VA_ARGS__); break;                                     \
    case 34: F(4, 2, __VA_ARGS__); break;                                     \
    case 35: F(4, 3, __VA_ARGS__); break;                                     \
    case 36: F(4, 4, __VA_ARGS__); break;                                     \
    case 65: F(8, 1, __VA_ARGS__); break;                                     \
    case 66: F(8, 2, __VA_ARGS__); break;                                     \
    case 67: F(8, 3, __VA_ARGS__); break;                                     \
    case 68: F(8, 4, __VA_ARGS__); break;                                     \
    default: assert(!"not a packed term");                                    \
    }

/* Splits n packed values at src into the columns dst[0 .. nc). */
static void deinterleave(unsigned char *const *dst, const unsigned char *src,
                         size_t n, size_t size, uint32_t nc)
{
#define SPLIT(S, C, ...) split(S, C, src, dst[0], C > 1 ? dst[1] : NULL,     \
                               C > 2 ? dst[2] : NULL, C > 3 ? dst[3] : NULL, n)
    SIZES_AND_COUNTS(SPLIT, 0)
#undef SPLIT
}

/* Joins n rows of the columns src[0 .. nc) into packed values at dst. */
static void interleave(unsigned char *dst, const unsigned char *const *src,
                       size_t n, size_t size, uint32_t nc)
{
#define JOIN(S, C, ...) join(S, C, dst, src[0], C > 1 ? src[1] : NULL,      \
                             C > 2 ? src[2] : NULL, C > 3 ? src[3] : NULL, n)
    SIZES_AND_COUNTS(JOIN, 0)
#undef JOIN
}

/* Copies one batch (block b, n rows) of term k's columns from the world. */
static void gather_block(const build_ctx *c, uint32_t k, size_t b, size_t n)
{
    const soa_sys_term *t = &c->L->terms[k];
    const soa_snap_state *st = c->st;
    size_t stride = t->comp->size, row = b * 64u;
    uint32_t base = st->base[b * st->nall + k];
    const uint32_t *rows = st->rows + (b * st->nall + k) * 64u;
    size_t packed = base != SOA__ROW_NONE ? st->packed[k] : 0;
    if (packed) {
        unsigned char *dst[4];
        for (uint32_t j = 0; j < t->ncols; j++)
            dst[j] = st->colp[t->col0 + j] + row * packed;
        deinterleave(dst, st->values[k] + (size_t)base * stride, n, packed,
                     t->ncols);
        return;
    }
    for (uint32_t j = t->col0; j < t->col0 + t->ncols; j++) {
        const soa_sys_col *col = &c->L->cols[j];
        unsigned char *dst = st->colp[j] + row * col->size;
        const unsigned char *src = st->values[k] + col->offset;
        if (base != SOA__ROW_NONE)
            gather_run(dst, src + (size_t)base * stride, stride, n, col->size);
        else
            gather_rows(dst, src, stride, rows, n, col->size);
    }
}

/* Copies rows [begin, end) (begin a multiple of 64) from the world and
 * clears their changed bits. */
static size_t copy_rows(void *p, size_t begin, size_t end)
{
    const build_ctx *c = p;
    for (size_t row = begin; row < end; row += 64u) {
        size_t n = end - row < 64u ? end - row : 64u;
        for (uint32_t k = 0; k < c->st->nall; k++)
            if (c->L->terms[k].ncols)
                gather_block(c, k, row / 64u, n);
    }
    for (uint32_t k = 0; k < c->st->nall; k++)
        if (c->L->terms[k].ncols)
            soa_bitset_clear_all(changed_of(c->snap, &c->L->terms[k]) +
                                     begin / 64u, end - begin);
    return 0;
}

/*
 * One batch of the walk into block b through `scratch` (nall * 64 rows):
 * a term whose rows run on gets a base; the others' rows are copied into
 * the row map (only those: a walk of a world whose rows run on touches
 * no map at all).  Returns how many matched.
 */
static size_t fetch_batch(const build_ctx *c, soa_query_iter *it, size_t b,
                          uint32_t *scratch)
{
    soa_snap_state *st = c->st;
    soa_entity *eids = *head_of(c->snap).eids;
    uint64_t runs;
    size_t n = soa__query_fetch_rows(it, eids + b * 64u, scratch,
                                     SOA__FETCH_BATCH, &runs);
    for (uint32_t k = 0; n && k < st->nall; k++) {
        uint32_t *base = &st->base[b * st->nall + k];
        if (k < 64 && ((runs >> k) & 1u)) {
            *base = scratch[k * 64u];
        } else {
            *base = SOA__ROW_NONE;
            memcpy(st->rows + (b * st->nall + k) * 64u, scratch + k * 64u,
                   n * sizeof *scratch);
        }
    }
    return n;
}

typedef struct walk_ctx {
    const build_ctx *c;
    atomic_size_t rows;
    atomic_int gap;
} walk_ctx;

/* A chunk of the parallel walk: the lead term's positions [begin, end) are
 * rows [begin, end) when every candidate matches.  Walks and copies them,
 * or at the first gap flags it (the caller then walks serially). */
static void walk_chunk(void *p, size_t begin, size_t end, unsigned worker)
{
    walk_ctx *wc = p;
    const build_ctx *c = wc->c;
    uint32_t *scratch = c->st->scratch + (size_t)worker * c->st->nall * 64u;
    soa_query_iter it;
    size_t row = begin, n;
    soa_query_begin_at(c->w, c->q, &it, begin, end);
    while ((n = fetch_batch(c, &it, row / 64u, scratch)) != 0) {
        if (n != (end - row < 64u ? end - row : 64u))
            break;
        row += n;
    }
    if (row != end) {
        atomic_store_explicit(&wc->gap, 1, memory_order_relaxed);
        return;
    }
    copy_rows((void *)(uintptr_t)c, begin, end);
    atomic_fetch_add_explicit(&wc->rows, end - begin, memory_order_relaxed);
}

/* The parallel walk over `bound` rows: whether it found every row. */
static bool walk_parallel(const build_ctx *c, soa_pool *pool, size_t bound)
{
    walk_ctx wc;
    wc.c = c;
    atomic_init(&wc.rows, 0);
    atomic_init(&wc.gap, 0);
    soa_pool_for(pool, bound, SOA_SNAP_GRAIN, walk_chunk, &wc);
    return !atomic_load(&wc.gap) && atomic_load(&wc.rows) == bound;
}

/* Room for `walkers` batches of row scratch: 0 or -1 (ENOMEM). */
static int scratch_ready(soa_snap_state *st, size_t walkers)
{
    if (walkers <= st->nscratch)
        return 0;
    soa_alloc *heap = soa_alloc_heap();
    uint32_t *p = heap->alloc(heap, scratch_bytes(st, walkers), 64);
    if (!p) {
        errno = ENOMEM;
        return -1;
    }
    if (st->scratch)
        heap->free(heap, st->scratch, scratch_bytes(st, st->nscratch));
    st->scratch = p;
    st->nscratch = walkers;
    return 0;
}

/* Registers every term's component: 0, or -1 (EINVAL). */
static int resolve_terms(const soa_sys_layout *L, soa_snap_state *st,
                         soa_world *w)
{
    for (uint32_t k = 0; k < L->nterms; k++) {
        st->cids[k] = soa_world_register(w, L->terms[k].comp);
        if (st->cids[k] == SOA_CID_INVALID) {
            errno = EINVAL;
            return -1;
        }
    }
    for (uint32_t k = 0; k < st->nall; k++)
        st->values[k] = soa__world_values(w, st->cids[k]);
    return 0;
}

/* The serial walk: rows found. */
static size_t walk_serial(const build_ctx *c, soa_query_iter *it,
                          size_t bound)
{
    size_t row = 0, n;
    while (row < bound &&
           (n = fetch_batch(c, it, row / 64u, c->st->scratch)) != 0)
        row += n;
    return row;
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
    if (state_ready(h.core) != 0 || resolve_terms(L, h.core->state, w) != 0)
        return -1;
    soa_snap_state *st = h.core->state;
    soa_query q = {st->cids, st->nall, st->cids + st->nall,
                   st->nterms - st->nall};
    build_ctx c = {snap, L, st, w, &q};
    if (soa__world_same_shape(w, st->stamps, st->nterms)) {
        soa__snap_for(pool, *h.rows, copy_rows, &c);
        return 0;
    }
    soa_query_iter it;
    *h.rows = 0;
    size_t bound = soa_query_begin(w, &q, &it), rows;
    if (bound > *h.cap && reserve(snap, bound) != 0)
        return -1;
    if (scratch_ready(st, soa_pool_size(pool)) != 0)
        return -1;
    bool walked = !st->gaps && bound >= SOA_SNAP_PARALLEL_ROWS &&
                  soa_pool_size(pool) > 1 && walk_parallel(&c, pool, bound);
    if (walked) {
        rows = bound;
    } else {
        rows = walk_serial(&c, &it, bound);
        st->gaps = rows != bound;
    }
    *h.rows = rows;
    for (uint32_t k = 0; k < st->nterms; k++)
        soa__world_stamp(w, st->cids[k], &st->stamps[k]);
    if (!walked)
        soa__snap_for(pool, rows, copy_rows, &c);
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

void soa_view_fill(const soa_view_src *src, void *view, size_t view_size)
{
    const soa_sys_layout *L = src->layout;
    assert(view_size == L->view_size);
    if (src->tmpl)
        memcpy(view, src->tmpl, view_size);
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
                        begin, end};
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
    unsigned char **dest; /* [nall]: the term's values, or NULL: look up */
} commit_ctx;

/* Copies one element from column `col` row `row` into value `d`. */
/* Copies row `row` of term k's columns into the value at d. */
static void put_row(const commit_ctx *c, uint32_t k, unsigned char *d,
                    size_t row)
{
    const soa_sys_term *t = &c->L->terms[k];
    unsigned char *const *colp = c->st->colp;
    switch (c->st->packed[k]) {
    case 4:
        for (uint32_t j = 0; j < t->ncols; j++)
            memcpy(d + j * 4u, colp[t->col0 + j] + row * 4u, 4);
        return;
    case 8:
        for (uint32_t j = 0; j < t->ncols; j++)
            memcpy(d + j * 8u, colp[t->col0 + j] + row * 8u, 8);
        return;
    }
    for (uint32_t j = t->col0; j < t->col0 + t->ncols; j++) {
        const soa_sys_col *col = &c->L->cols[j];
        switch (col->size) {
        case 4: memcpy(d + col->offset, colp[j] + row * 4u, 4); break;
        case 8: memcpy(d + col->offset, colp[j] + row * 8u, 8); break;
        case 2: memcpy(d + col->offset, colp[j] + row * 2u, 2); break;
        default: d[col->offset] = colp[j][row];
        }
    }
}

/* Rows [row, row + 64) of term k back to values d, d + 1, ... */
static void scatter_block(const commit_ctx *c, uint32_t k, size_t row,
                          unsigned char *d)
{
    const soa_sys_term *t = &c->L->terms[k];
    size_t stride = t->comp->size, packed = c->st->packed[k];
    if (packed) {
        const unsigned char *src[4];
        for (uint32_t j = 0; j < t->ncols; j++)
            src[j] = c->st->colp[t->col0 + j] + row * packed;
        interleave(d, src, 64u, packed, t->ncols);
        return;
    }
    for (size_t i = 0; i < 64u; i++)
        put_row(c, k, d + i * stride, row + i);
}

/* The value row `row` (bit j of block b) of term k goes to, or NULL. */
static unsigned char *dest_of(const commit_ctx *c, uint32_t k, size_t b,
                              uint32_t j, uint32_t base)
{
    const soa_snap_state *st = c->st;
    size_t stride = c->L->terms[k].comp->size;
    if (!c->dest[k]) {
        const soa_entity *eids = *head_of(c->snap).eids;
        return soa_world_get(c->w, eids[b * 64u + j], st->cids[k]);
    }
    uint32_t r = base != SOA__ROW_NONE ? base + j
                                       : st->rows[(b * st->nall + k) * 64u + j];
    return c->dest[k] + (size_t)r * stride;
}

/* Term k's changed rows in [begin, end): how many were written. */
static size_t commit_term(const commit_ctx *c, uint32_t k, size_t begin,
                          size_t end)
{
    const soa_sys_term *t = &c->L->terms[k];
    const uint64_t *changed = changed_of(c->snap, t);
    size_t rows = *head_of(c->snap).rows, n = 0;
    for (size_t b = begin / 64u; b < soa_bitset_words(end); b++) {
        uint64_t bits = changed[b];
        if (!bits)
            continue;
        if (rows - b * 64u < 64u)
            bits &= ((uint64_t)1 << (rows - b * 64u)) - 1u;
        uint32_t base = c->dest[k] ? c->st->base[b * c->st->nall + k]
                                   : SOA__ROW_NONE;
        if (base != SOA__ROW_NONE && bits == ~(uint64_t)0) {
            scatter_block(c, k, b * 64u, c->dest[k] + (size_t)base * t->comp->size);
            n += 64u;
            continue;
        }
        for (; bits; bits &= bits - 1u) {
            uint32_t j = soa__ctz64(bits);
            unsigned char *d = dest_of(c, k, b, j, base);
            if (!d)
                continue;
            put_row(c, k, d, b * 64u + j);
            n++;
        }
    }
    return n;
}

static size_t commit_rows(void *p, size_t begin, size_t end)
{
    const commit_ctx *c = p;
    size_t n = 0;
    for (uint32_t k = 0; k < c->st->nall; k++) {
        const soa_sys_term *t = &c->L->terms[k];
        if (t->access == SOA_ACCESS_WRITE && t->ncols)
            n += commit_term(c, k, begin, end);
    }
    return n;
}

size_t soa_snap_commit_on(const void *snap, soa_world *w, soa_pool *pool)
{
    if (!snap || !w)
        return 0;
    head h = head_of(snap);
    const soa_snap_state *st = h.core->state;
    if (!h.core->layout || !st || !*h.rows)
        return 0;
    for (uint32_t k = 0; k < st->nall; k++)
        st->dest[k] = soa__world_values_stamped(w, &st->stamps[k]);
    commit_ctx c = {snap, h.core->layout, st, w, st->dest};
    return soa__snap_for(pool, *h.rows, commit_rows, &c);
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
    if (!snap || !layout_ok(layout)) {
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
