/*
 * world.c: the reference ECS world, stored as archetype tables of SoA
 * columns.
 *
 * Slots.  Entity index i is slot i, 8 bytes.  A live slot holds its
 * table and row; its generation lives in the table's entity column (the
 * handle stored there), so a handle is alive exactly when its slot is live
 * and the table's eids[row] equals it.  A free slot holds FREE_BIT | the
 * next free slot (a LIFO list) and the generation its next entity gets; a
 * retired one (generations used up) is FREE_BIT | RETIRED.
 *
 * Components.  Each registered component has its columns: one per scalar
 * field and one per element of an array field, in C_cols order, each with
 * its element size and its offset in the AoS value (what read and set
 * convert through).  Names and layout hashes are found through two small
 * open-addressing maps.
 *
 * Tables.  A table is a sorted set of cids, found through a map keyed by
 * the set and through edges cached on each table: per cid added or
 * removed, the destination table and a plan of (source offset, destination
 * offset) column copies grouped by element size, so a move is a few tight
 * copy loops (a table's own plan fills the hole a row leaves).  Its rows
 * live in blocks of BLOCK rows: one allocation per block
 * holding the entity column, every column (64-byte aligned) and a changed
 * bitset per component with fields, at offsets the table computes once.
 * Rows are packed: removing row r moves the last row into it.  The last
 * block is freed once two blocks' worth of rows are free, so a table that
 * breathes around a block boundary does not allocate every time.
 *
 * Every change of structure (a row added, removed or moved; a table made)
 * bumps w->shape, which snapshot builds use to know their rows still are
 * where they were.
 *
 * Sizes are checked for overflow before use; allocation failures leave the
 * world as it was.
 */
#include <assert.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "soa/bitset.h"
#include "soa/world.h"
#include "internal.h"

#define BLOCK ((size_t)SOA_BLOCK_ROWS)
#define FREE_BIT 0x80000000u
#define NO_NEXT 0x7fffffffu    /* end of the free list */
#define RETIRED 0x7ffffffeu    /* generations used up: never reused */
#define MAX_SLOTS ((size_t)RETIRED)
#define MAX_TABLES ((size_t)FREE_BIT - 1u)
#define NONE UINT32_MAX

typedef struct slot {
    uint32_t a; /* live: table; free: FREE_BIT | next (or RETIRED) */
    uint32_t b; /* live: row; free: the next generation */
} slot;

typedef struct col {
    uint32_t offset, size; /* in the AoS value; bytes per element */
} col;

typedef struct comp {
    const soa_component_desc *desc;
    uint32_t ncols;
    col *cols;
} comp;

/* An open-addressing map from a 64-bit key to a uint32_t value. */
typedef struct map {
    uint64_t *keys;
    uint32_t *vals; /* NONE: empty */
    size_t cap;     /* a power of two, or 0 */
    size_t len;
} map;

/* A column or bitset copied between blocks: its byte offsets in the
 * source block and in the destination block. */
typedef struct xcol {
    size_t src, dst;
} xcol;

/*
 * How a row's data goes from one table's block to another's, or within
 * one table: the columns both tables have, grouped by element size (8, 4,
 * 2, then 1 byte) so each group is a fixed-size copy, then the changed
 * bitsets both have.  Built once, so a move is a few tight loops with no
 * lookup, hashing or allocation.
 */
typedef struct xfer {
    uint32_t nsize[4]; /* columns of 8, 4, 2 and 1 bytes */
    uint32_t ncols, nbits;
    xcol *cols;        /* ncols columns, then nbits bitsets */
} xfer;

/* A column of an added component: its offset in the destination block,
 * its element size and its default value (the element's bytes first). */
typedef struct xfill {
    size_t dst;
    uint64_t value;
    uint32_t size;
} xfill;

struct soa_table;

/* A cached edge: the table a row goes to when a cid is added or removed,
 * and how its data goes there.  Tables and their layouts never change once
 * made, so an edge stays right for the world's lifetime. */
typedef struct edge {
    struct soa_table *to;
    xfer x;
    uint32_t nfill; /* columns of the added component (0: a tag, or removed) */
    xfill *fill;    /* its defaults */
    size_t mark;    /* with nfill: the offset of its changed bitset */
} edge;

struct soa_table {
    uint32_t id;
    uint32_t ncids;
    soa_cid *cids;       /* sorted */
    uint32_t nindex;     /* index has an entry for cids below this */
    uint32_t *index;     /* cid -> position in cids, or NONE */
    uint32_t *col0;      /* per position: first column, NONE for a tag */
    uint32_t *bit;       /* per position: its bitset, NONE for a tag */
    uint32_t *ncol_at;   /* per position: its columns */
    uint32_t ncols, nbits;
    col *cols;           /* per column: as the component's */
    size_t *col_off;     /* per column: offset in a block */
    size_t *bit_off;     /* per bitset: offset in a block */
    size_t block_bytes;
    size_t rows;
    unsigned char **blocks;
    size_t nblocks, blocks_cap;
    xfer self;           /* every column and bitset onto itself */
    edge **edge_add, **edge_del; /* per cid; NULL: not known yet */
    uint32_t nedges;
    uint64_t key;        /* hash of cids */
};

typedef struct soa_table table;

struct soa_world {
    soa_alloc *alloc;
    uint64_t serial;
    uint64_t shape;
    slot *slots;
    size_t nslots, slots_cap;
    uint32_t free_head;
    size_t live;
    comp *comps;
    uint32_t ncomps, comps_cap;
    map by_name, by_hash, by_set;
    table **tables;
    uint32_t ntables, tables_cap;
    char error[256];   /* why the last registration was refused */
};

static _Atomic uint64_t last_serial;

/* ---- small helpers -------------------------------------------------- */

static uint64_t fnv(const void *p, size_t n, uint64_t h)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= UINT64_C(0x100000001b3);
    }
    return h;
}

#define FNV0 UINT64_C(0xcbf29ce484222325)

static void *alloc_n(soa_alloc *a, size_t n, size_t elem, size_t align)
{
    size_t bytes;
    if (!soa_mul_ok(n, elem, &bytes)) {
        errno = ENOMEM;
        return NULL;
    }
    void *p = a->alloc(a, bytes ? bytes : 1, align);
    if (!p)
        errno = ENOMEM;
    return p;
}

static void free_n(soa_alloc *a, void *p, size_t n, size_t elem)
{
    size_t bytes = n * elem; /* alloc_n checked it */
    a->free(a, p, bytes ? bytes : 1);
}

/* A capacity of at least `need`, doubling from `cur` (at least 8),
 * capped at `max`; 0 when need exceeds max. */
static size_t next_cap(size_t cur, size_t need, size_t max)
{
    if (need > max)
        return 0;
    size_t c = cur < 8 ? 8 : cur;
    while (c < need)
        c = c > max / 2 ? max : c * 2;
    return c;
}

/* ---- maps ----------------------------------------------------------- */

static uint32_t map_get(const map *m, uint64_t key,
                        bool (*eq)(const void *ctx, uint32_t v),
                        const void *ctx)
{
    if (!m->cap)
        return NONE;
    for (size_t i = key & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        if (m->vals[i] == NONE)
            return NONE;
        if (m->keys[i] == key && (!eq || eq(ctx, m->vals[i])))
            return m->vals[i];
    }
}

static void map_put_raw(map *m, uint64_t key, uint32_t val)
{
    size_t i = key & (m->cap - 1);
    while (m->vals[i] != NONE)
        i = (i + 1) & (m->cap - 1);
    m->keys[i] = key;
    m->vals[i] = val;
    m->len++;
}

/* Room for one more entry (load below 1/2): 0 or -1 (ENOMEM). */
static int map_reserve(soa_alloc *a, map *m)
{
    if ((m->len + 1) * 2 <= m->cap)
        return 0;
    size_t cap = m->cap ? m->cap * 2 : 16;
    map n = {alloc_n(a, cap, sizeof(uint64_t), 8),
             alloc_n(a, cap, sizeof(uint32_t), 4), cap, 0};
    if (!n.keys || !n.vals) {
        if (n.keys)
            free_n(a, n.keys, cap, sizeof(uint64_t));
        if (n.vals)
            free_n(a, n.vals, cap, sizeof(uint32_t));
        return -1;
    }
    memset(n.vals, 0xff, cap * sizeof(uint32_t));
    for (size_t i = 0; i < m->cap; i++)
        if (m->vals[i] != NONE)
            map_put_raw(&n, m->keys[i], m->vals[i]);
    if (m->cap) {
        free_n(a, m->keys, m->cap, sizeof(uint64_t));
        free_n(a, m->vals, m->cap, sizeof(uint32_t));
    }
    *m = n;
    return 0;
}

static void map_free(soa_alloc *a, map *m)
{
    if (m->cap) {
        free_n(a, m->keys, m->cap, sizeof(uint64_t));
        free_n(a, m->vals, m->cap, sizeof(uint32_t));
    }
    memset(m, 0, sizeof *m);
}

/* ---- handles and slots ---------------------------------------------- */

static soa_entity make_handle(uint32_t index, uint32_t gen)
{
    return (soa_entity)gen << 32 | index;
}

static unsigned char *block_of(const table *t, size_t row)
{
    return t->blocks[row / BLOCK];
}

static soa_entity *eids_at(const table *t, size_t row)
{
    return (soa_entity *)(void *)block_of(t, row) + row % BLOCK;
}

/* The live slot of handle e, or NULL. */
static const slot *live_slot(const soa_world *w, soa_entity e)
{
    if (!w)
        return NULL;
    uint32_t i = soa_entity_index(e);
    if (i >= w->nslots)
        return NULL;
    const slot *s = &w->slots[i];
    if (s->a & FREE_BIT || *eids_at(w->tables[s->a], s->b) != e)
        return NULL;
    return s;
}

static const comp *comp_of(const soa_world *w, soa_cid cid)
{
    return w && cid < w->ncomps ? &w->comps[cid] : NULL;
}

/* Position of cid in t's set, or NONE. */
static uint32_t pos_of(const table *t, soa_cid cid)
{
    return cid < t->nindex ? t->index[cid] : NONE;
}



/* ---- lifetime ------------------------------------------------------- */

static table *table_new(soa_world *w, const soa_cid *cids, uint32_t n);

soa_world *soa_world_create(soa_alloc *alloc)
{
    soa_alloc *a = soa_alloc_or_heap(alloc);
    soa_world *w = a->alloc(a, sizeof *w, _Alignof(soa_world));
    if (!w) {
        errno = ENOMEM;
        return NULL;
    }
    memset(w, 0, sizeof *w);
    w->alloc = a;
    w->serial = atomic_fetch_add(&last_serial, 1) + 1;
    w->free_head = NO_NEXT;
    if (!table_new(w, NULL, 0)) { /* table 0: no components */
        soa_world_destroy(w);
        errno = ENOMEM;
        return NULL;
    }
    return w;
}

soa_alloc *soa_world_allocator(const soa_world *w)
{
    return w ? w->alloc : NULL;
}

static void xfer_free(soa_alloc *a, xfer *x)
{
    if (x->cols)
        free_n(a, x->cols, (size_t)x->ncols + x->nbits, sizeof *x->cols);
}

static void edge_free(soa_alloc *a, edge *g)
{
    if (!g)
        return;
    xfer_free(a, &g->x);
    if (g->fill)
        free_n(a, g->fill, g->nfill, sizeof *g->fill);
    a->free(a, g, sizeof *g);
}

static void table_free(soa_alloc *a, table *t)
{
    for (size_t b = 0; b < t->nblocks; b++)
        a->free(a, t->blocks[b], t->block_bytes);
    if (t->blocks_cap)
        free_n(a, t->blocks, t->blocks_cap, sizeof *t->blocks);
    free_n(a, t->cids, t->ncids, sizeof *t->cids);
    free_n(a, t->index, t->nindex, sizeof *t->index);
    free_n(a, t->col0, t->ncids, sizeof *t->col0);
    free_n(a, t->bit, t->ncids, sizeof *t->bit);
    free_n(a, t->ncol_at, t->ncids, sizeof *t->ncol_at);
    free_n(a, t->cols, t->ncols, sizeof *t->cols);
    free_n(a, t->col_off, t->ncols, sizeof *t->col_off);
    free_n(a, t->bit_off, t->nbits, sizeof *t->bit_off);
    xfer_free(a, &t->self);
    for (uint32_t c = 0; c < t->nedges; c++) {
        edge_free(a, t->edge_add[c]);
        edge_free(a, t->edge_del[c]);
    }
    if (t->nedges) {
        free_n(a, t->edge_add, t->nedges, sizeof *t->edge_add);
        free_n(a, t->edge_del, t->nedges, sizeof *t->edge_del);
    }
    a->free(a, t, sizeof *t);
}

void soa_world_destroy(soa_world *w)
{
    if (!w)
        return;
    soa_alloc *a = w->alloc;
    for (uint32_t i = 0; i < w->ntables; i++)
        table_free(a, w->tables[i]);
    if (w->tables_cap)
        free_n(a, w->tables, w->tables_cap, sizeof *w->tables);
    for (uint32_t i = 0; i < w->ncomps; i++)
        free_n(a, w->comps[i].cols, w->comps[i].ncols, sizeof(col));
    if (w->comps_cap)
        free_n(a, w->comps, w->comps_cap, sizeof *w->comps);
    if (w->slots_cap)
        free_n(a, w->slots, w->slots_cap, sizeof *w->slots);
    map_free(a, &w->by_name);
    map_free(a, &w->by_hash);
    map_free(a, &w->by_set);
    a->free(a, w, sizeof *w);
}

/* ---- components ----------------------------------------------------- */

/* Columns of a descriptor: how many, or -1 when its fields do not fit
 * the value it describes. */
static int64_t desc_cols(const soa_component_desc *d)
{
    int64_t n = 0; /* 64 bits: `long` is 32 on wasm32 */
    for (uint32_t f = 0; f < d->nfields; f++) {
        const soa_field_desc *fd = &d->fields[f];
        size_t size = soa_scalar_size(fd->type), bytes, end;
        if (!fd->name || !size || !fd->count ||
            !soa_mul_ok(size, fd->count, &bytes) ||
            !soa_add_ok(fd->offset, bytes, &end) || end > d->size ||
            fd->offset % size != 0 ||
            n > (int64_t)SOA_CID_INVALID - (int64_t)fd->count)
            return -1;
        n += (int64_t)fd->count;
    }
    return n;
}

static bool desc_ok(const soa_component_desc *d)
{
    if (!d || !d->name || !d->name[0] || (d->nfields && !d->fields))
        return false;
    if (d->size == 0)
        return d->nfields == 0;
    /* A value's alignment is a power of two that divides its size. */
    return d->align && (d->align & (d->align - 1)) == 0 &&
           d->size % d->align == 0 && d->nfields && desc_cols(d) > 0;
}

static bool name_eq(const void *ctx, uint32_t v);

typedef struct name_key {
    const soa_world *w;
    const char *name;
} name_key;

static bool name_eq(const void *ctx, uint32_t v)
{
    const name_key *k = ctx;
    return strcmp(k->w->comps[v].desc->name, k->name) == 0;
}

soa_cid soa_world_lookup(const soa_world *w, const char *name)
{
    if (!w || !name)
        return SOA_CID_INVALID;
    name_key k = {w, name};
    return map_get(&w->by_name, fnv(name, strlen(name), FNV0), name_eq, &k);
}

soa_cid soa_world_cid(const soa_world *w, const soa_component_desc *desc)
{
    if (!w || !desc || !desc->name)
        return SOA_CID_INVALID;
    name_key k = {w, desc->name};
    return map_get(&w->by_hash, desc->layout_hash, name_eq, &k);
}

static int comp_columns(soa_alloc *a, comp *c)
{
    const soa_component_desc *d = c->desc;
    c->ncols = d->size ? (uint32_t)desc_cols(d) : 0;
    c->cols = alloc_n(a, c->ncols, sizeof(col), _Alignof(col));
    if (!c->cols)
        return -1;
    uint32_t n = 0;
    for (uint32_t f = 0; f < d->nfields; f++) {
        const soa_field_desc *fd = &d->fields[f];
        uint32_t size = (uint32_t)soa_scalar_size(fd->type);
        for (uint32_t k = 0; k < fd->count; k++) {
            c->cols[n].offset = (uint32_t)fd->offset + k * size;
            c->cols[n].size = size;
            n++;
        }
    }
    return 0;
}

soa_cid soa_world_register(soa_world *w, const soa_component_desc *desc)
{
    if (!w || !desc_ok(desc) || desc->size > UINT32_MAX) {
        if (w)
            snprintf(w->error, sizeof w->error,
                     "component '%s': an incomplete or inconsistent descriptor",
                     desc && desc->name ? desc->name : "(no name)");
        errno = EINVAL;
        return SOA_CID_INVALID;
    }
    soa_cid cid = soa_world_lookup(w, desc->name);
    if (cid != SOA_CID_INVALID) {
        const soa_component_desc *old = w->comps[cid].desc;
        if (old->layout_hash != desc->layout_hash || old->size != desc->size ||
            old->align != desc->align) {
            snprintf(w->error, sizeof w->error,
                     "component '%s' has another layout here (hash %#llx, "
                     "%zu bytes) than in this world (hash %#llx, %zu bytes): "
                     "regenerate both headers from one schema",
                     desc->name, (unsigned long long)desc->layout_hash,
                     desc->size, (unsigned long long)old->layout_hash,
                     old->size);
            errno = EINVAL;
            return SOA_CID_INVALID;
        }
        return cid;
    }
    if (w->ncomps == w->comps_cap) {
        size_t cap = next_cap(w->comps_cap, (size_t)w->ncomps + 1,
                              SOA_CID_INVALID - 1u);
        if (!cap || soa__grow_array(w->alloc, (void **)&w->comps, sizeof(comp),
                                    _Alignof(comp), w->comps_cap, cap) != 0) {
            errno = ENOMEM;
            return SOA_CID_INVALID;
        }
        w->comps_cap = (uint32_t)cap;
    }
    comp *c = &w->comps[w->ncomps];
    memset(c, 0, sizeof *c);
    c->desc = desc;
    if (comp_columns(w->alloc, c) != 0 || map_reserve(w->alloc, &w->by_name) ||
        map_reserve(w->alloc, &w->by_hash)) {
        if (c->cols)
            free_n(w->alloc, c->cols, c->ncols, sizeof(col));
        errno = ENOMEM;
        return SOA_CID_INVALID;
    }
    cid = w->ncomps++;
    map_put_raw(&w->by_name, fnv(desc->name, strlen(desc->name), FNV0), cid);
    map_put_raw(&w->by_hash, desc->layout_hash, cid);
    return cid;
}

const char *soa_world_error(const soa_world *w)
{
    return w ? w->error : "no world";
}

const soa_component_desc *soa_world_desc(const soa_world *w, soa_cid cid)
{
    const comp *c = comp_of(w, cid);
    return c ? c->desc : NULL;
}

/* ---- tables --------------------------------------------------------- */

typedef struct set_key {
    const soa_world *w;
    const soa_cid *cids;
    uint32_t n;
} set_key;

static bool set_eq(const void *ctx, uint32_t v)
{
    const set_key *k = ctx;
    const table *t = k->w->tables[v];
    return t->ncids == k->n &&
           (k->n == 0 || memcmp(t->cids, k->cids, k->n * sizeof *k->cids) == 0);
}

static uint64_t set_hash(const soa_cid *cids, uint32_t n)
{
    return fnv(cids, n * sizeof *cids, FNV0);
}

/* Fills t's column and bitset layout from its component set. */
static int table_layout(soa_world *w, table *t)
{
    soa_alloc *a = w->alloc;
    for (uint32_t k = 0; k < t->ncids; k++) {
        const comp *c = &w->comps[t->cids[k]];
        t->ncol_at[k] = c->ncols;
        t->col0[k] = c->ncols ? t->ncols : NONE;
        t->bit[k] = c->ncols ? t->nbits++ : NONE;
        t->ncols += c->ncols;
    }
    t->cols = alloc_n(a, t->ncols, sizeof *t->cols, _Alignof(col));
    t->col_off = alloc_n(a, t->ncols, sizeof *t->col_off, _Alignof(size_t));
    t->bit_off = alloc_n(a, t->nbits, sizeof *t->bit_off, _Alignof(size_t));
    if (!t->cols || !t->col_off || !t->bit_off)
        return -1;
    size_t off = BLOCK * sizeof(soa_entity);
    for (uint32_t k = 0; k < t->ncids; k++) {
        const comp *c = &w->comps[t->cids[k]];
        for (uint32_t j = 0; j < c->ncols; j++) {
            t->cols[t->col0[k] + j] = c->cols[j];
            t->col_off[t->col0[k] + j] = off;
            off += (BLOCK * c->cols[j].size + SOA_ALIGN - 1) & ~(size_t)(SOA_ALIGN - 1);
        }
    }
    for (uint32_t b = 0; b < t->nbits; b++) {
        t->bit_off[b] = off;
        off += BLOCK / 8u;
    }
    t->block_bytes = off;
    return 0;
}

/* Fills x with the columns and bitsets of `to` that `from` has too (from
 * == to: all of them, each onto itself): 0 or -1 (ENOMEM). */
static int xfer_make(soa_alloc *a, xfer *x, const table *from, const table *to)
{
    static const uint32_t sizes[4] = {8, 4, 2, 1};
    memset(x, 0, sizeof *x);
    for (uint32_t k = 0; k < to->ncids; k++)
        if (pos_of(from, to->cids[k]) != NONE) {
            x->ncols += to->ncol_at[k];
            x->nbits += to->bit[k] != NONE;
        }
    x->cols = alloc_n(a, (size_t)x->ncols + x->nbits, sizeof *x->cols,
                      _Alignof(xcol));
    if (!x->cols)
        return -1;
    xcol *o = x->cols;
    for (int g = 0; g < 4; g++)
        for (uint32_t k = 0; k < to->ncids; k++) {
            uint32_t src = pos_of(from, to->cids[k]);
            for (uint32_t j = 0; src != NONE && j < to->ncol_at[k]; j++) {
                uint32_t c = to->col0[k] + j;
                if (to->cols[c].size != sizes[g])
                    continue;
                assert(from->cols[from->col0[src] + j].size == sizes[g]);
                o->src = from->col_off[from->col0[src] + j];
                o->dst = to->col_off[c];
                o++;
                x->nsize[g]++;
            }
        }
    for (uint32_t k = 0; k < to->ncids; k++) {
        uint32_t src = pos_of(from, to->cids[k]);
        if (src != NONE && to->bit[k] != NONE) {
            o->src = from->bit_off[from->bit[src]];
            o->dst = to->bit_off[to->bit[k]];
            o++;
        }
    }
    /* Every column is 1, 2, 4 or 8 bytes (soa_scalar_size). */
    assert(o == x->cols + x->ncols + x->nbits);
    assert(x->nsize[0] + x->nsize[1] + x->nsize[2] + x->nsize[3] == x->ncols);
    return 0;
}

/* A new table for the sorted set cids[0 .. n), registered in w; NULL
 * (ENOMEM) with w unchanged. */
static table *table_new(soa_world *w, const soa_cid *cids, uint32_t n)
{
    soa_alloc *a = w->alloc;
    if (w->ntables >= MAX_TABLES)
        return NULL;
    if (w->ntables == w->tables_cap) {
        size_t cap = next_cap(w->tables_cap, (size_t)w->ntables + 1, MAX_TABLES);
        if (!cap || soa__grow_array(a, (void **)&w->tables, sizeof(table *),
                                    _Alignof(table *), w->tables_cap, cap))
            return NULL;
        w->tables_cap = (uint32_t)cap;
    }
    if (map_reserve(a, &w->by_set) != 0)
        return NULL;
    table *t = a->alloc(a, sizeof *t, _Alignof(table));
    if (!t)
        return NULL;
    memset(t, 0, sizeof *t);
    t->ncids = n;
    t->nindex = n ? cids[n - 1] + 1 : 0;
    t->cids = alloc_n(a, n, sizeof *cids, _Alignof(soa_cid));
    t->index = alloc_n(a, t->nindex, sizeof *t->index, 4);
    t->col0 = alloc_n(a, n, sizeof *t->col0, 4);
    t->bit = alloc_n(a, n, sizeof *t->bit, 4);
    t->ncol_at = alloc_n(a, n, sizeof *t->ncol_at, 4);
    if (!t->cids || !t->index || !t->col0 || !t->bit || !t->ncol_at) {
        table_free(a, t);
        return NULL;
    }
    if (n)
        memcpy(t->cids, cids, n * sizeof *cids);
    memset(t->index, 0xff, t->nindex * sizeof *t->index);
    for (uint32_t k = 0; k < n; k++)
        t->index[cids[k]] = k;
    if (table_layout(w, t) != 0 || xfer_make(a, &t->self, t, t) != 0) {
        table_free(a, t);
        return NULL;
    }
    t->id = w->ntables;
    t->key = set_hash(cids, n);
    w->tables[w->ntables++] = t;
    map_put_raw(&w->by_set, t->key, t->id);
    w->shape++;
    return t;
}

/* The table of set cids[0 .. n) (sorted), made when missing; NULL
 * (ENOMEM). */
static table *table_for(soa_world *w, const soa_cid *cids, uint32_t n)
{
    set_key k = {w, cids, n};
    uint32_t id = map_get(&w->by_set, set_hash(cids, n), set_eq, &k);
    return id != NONE ? w->tables[id] : table_new(w, cids, n);
}

/* The table of t's set with cid added (add) or removed; NULL (ENOMEM). */
static table *table_step(soa_world *w, const table *t, soa_cid cid, bool add)
{
    soa_cid small[16], *set = small;
    uint32_t n = 0;
    if (t->ncids + 1 > 16 &&
        !(set = alloc_n(w->alloc, t->ncids + 1u, sizeof *set, 4)))
        return NULL;
    for (uint32_t k = 0; k < t->ncids; k++) {
        if (add && t->cids[k] > cid && (n == 0 || set[n - 1] < cid))
            set[n++] = cid;
        if (add || t->cids[k] != cid)
            set[n++] = t->cids[k];
    }
    if (add && (n == 0 || set[n - 1] < cid))
        set[n++] = cid;
    table *to = table_for(w, set, n);
    if (set != small)
        free_n(w->alloc, set, t->ncids + 1u, sizeof *set);
    return to;
}

/* A new edge from t to `to` for cid added (add) or removed; NULL
 * (ENOMEM). */
static edge *edge_new(soa_world *w, const table *t, table *to, soa_cid cid,
                      bool add)
{
    soa_alloc *a = w->alloc;
    edge *g = a->alloc(a, sizeof *g, _Alignof(edge));
    if (!g)
        return NULL;
    memset(g, 0, sizeof *g);
    g->to = to;
    uint32_t k = add ? pos_of(to, cid) : NONE;
    if (k != NONE && to->col0[k] != NONE) {
        const unsigned char *def = w->comps[cid].desc->defaults;
        g->nfill = to->ncol_at[k];
        g->fill = alloc_n(a, g->nfill, sizeof *g->fill, _Alignof(xfill));
        for (uint32_t j = 0; g->fill && j < g->nfill; j++) {
            const col *c = &to->cols[to->col0[k] + j];
            xfill *f = &g->fill[j];
            f->dst = to->col_off[to->col0[k] + j];
            f->size = c->size;
            f->value = 0;
            if (def)
                memcpy(&f->value, def + c->offset, c->size);
        }
        g->mark = to->bit_off[to->bit[k]];
    }
    if ((g->nfill && !g->fill) || xfer_make(a, &g->x, t, to) != 0) {
        edge_free(a, g);
        return NULL;
    }
    return g;
}

/* Room in t's edge arrays for cid: 0 or -1 (ENOMEM). */
static int edges_reserve(soa_alloc *a, table *t, soa_cid cid)
{
    if (cid < t->nedges)
        return 0;
    size_t cap = next_cap(t->nedges, (size_t)cid + 1, SOA_CID_INVALID);
    if (!cap)
        return -1;
    /* Grown arrays are zeroed: every new entry is NULL, not known. */
    edge **ea = soa__copy_grown(a, t->edge_add, sizeof *ea, _Alignof(edge *),
                                t->nedges, cap);
    edge **ed = soa__copy_grown(a, t->edge_del, sizeof *ed, _Alignof(edge *),
                                t->nedges, cap);
    if (!ea || !ed) {
        if (ea)
            free_n(a, ea, cap, sizeof *ea);
        if (ed)
            free_n(a, ed, cap, sizeof *ed);
        return -1;
    }
    if (t->nedges) {
        free_n(a, t->edge_add, t->nedges, sizeof *t->edge_add);
        free_n(a, t->edge_del, t->nedges, sizeof *t->edge_del);
    }
    t->edge_add = ea;
    t->edge_del = ed;
    t->nedges = (uint32_t)cap;
    return 0;
}

/* The edge from t for cid (registered) added (add) or removed, made and
 * cached on t when missing; NULL (ENOMEM) with no row touched. */
static const edge *edge_for(soa_world *w, table *t, soa_cid cid, bool add)
{
    if (cid < t->nedges) {
        const edge *g = (add ? t->edge_add : t->edge_del)[cid];
        if (g)
            return g;
    }
    if (edges_reserve(w->alloc, t, cid) != 0)
        return NULL;
    table *to = table_step(w, t, cid, add);
    edge *g = to ? edge_new(w, t, to, cid, add) : NULL;
    if (g)
        (add ? t->edge_add : t->edge_del)[cid] = g;
    return g;
}

/* Room for one more row in t: 0 or -1 (ENOMEM). */
static int table_grow(soa_alloc *a, table *t, size_t rows)
{
    size_t need = (rows + BLOCK - 1) / BLOCK;
    if (need <= t->nblocks)
        return 0;
    if (need > t->blocks_cap) {
        size_t cap = next_cap(t->blocks_cap, need, SIZE_MAX / sizeof(void *));
        if (!cap || soa__grow_array(a, (void **)&t->blocks, sizeof *t->blocks,
                                    _Alignof(void *), t->blocks_cap, cap))
            return -1;
        t->blocks_cap = cap;
    }
    while (t->nblocks < need) {
        unsigned char *b = a->alloc(a, t->block_bytes, SOA_ALIGN);
        if (!b)
            return -1;
        /* Changed bits start clear; columns are written before read. */
        for (uint32_t k = 0; k < t->nbits; k++)
            memset(b + t->bit_off[k], 0, BLOCK / 8u);
        t->blocks[t->nblocks++] = b;
    }
    return 0;
}

/* Frees blocks past the one after the last row's. */
static void table_shrink(soa_alloc *a, table *t)
{
    size_t keep = (t->rows + BLOCK - 1) / BLOCK + 1;
    while (t->nblocks > keep)
        a->free(a, t->blocks[--t->nblocks], t->block_bytes);
}

/* ---- rows ----------------------------------------------------------- */




/* Copies one element of a column (1, 2, 4 or 8 bytes): a move the
 * compiler inlines, not a call. */
static inline void copy_elem(unsigned char *d, const unsigned char *s,
                             uint32_t size)
{
    switch (size) {
    case 4: memcpy(d, s, 4); break;
    case 8: memcpy(d, s, 8); break;
    case 2: memcpy(d, s, 2); break;
    default: assert(size == 1); *d = *s;
    }
}

/* Where row `row` of t lies: its block and its index there. */
typedef struct at {
    unsigned char *block;
    size_t i;
} at;

static at at_row(const table *t, size_t row)
{
    at a = {block_of(t, row), row % BLOCK};
    return a;
}

/* Element of column c at a. */
static unsigned char *elem(const table *t, uint32_t c, at a)
{
    return a.block + t->col_off[c] + a.i * t->cols[c].size;
}

static void bit_at(const table *t, uint32_t b, at a, bool on)
{
    uint64_t *words = (uint64_t *)(void *)(a.block + t->bit_off[b]);
    if (on)
        soa_bitset_set(words, a.i);
    else
        soa_bitset_clear(words, a.i);
}

static bool bit_of(const table *t, uint32_t b, at a)
{
    return soa_bitset_test((const uint64_t *)(const void *)(a.block +
                                                            t->bit_off[b]),
                           a.i);
}

/* Writes value v (a C) of the component at position k of t into `row`. */
static void put_value(const table *t, uint32_t k, size_t row, const void *v)
{
    at a = at_row(t, row);
    for (uint32_t c = t->col0[k]; c < t->col0[k] + t->ncol_at[k]; c++)
        copy_elem(elem(t, c, a), (const unsigned char *)v + t->cols[c].offset,
                  t->cols[c].size);
}

/* Reads the component at position k of t's `row` into *out (a C). */
static void get_value(const soa_world *w, const table *t, uint32_t k,
                      size_t row, void *out)
{
    at a = at_row(t, row);
    memset(out, 0, w->comps[t->cids[k]].desc->size); /* padding, too */
    for (uint32_t c = t->col0[k]; c < t->col0[k] + t->ncol_at[k]; c++)
        copy_elem((unsigned char *)out + t->cols[c].offset, elem(t, c, a),
                  t->cols[c].size);
}

/* n copies of the element at v (size bytes) from d on. */
static void fill_elems(unsigned char *d, const unsigned char *v, uint32_t size,
                       size_t n)
{
    switch (size) {
    case 4: {
        uint32_t x;
        memcpy(&x, v, 4);
        for (size_t i = 0; i < n; i++)
            memcpy(d + i * 4u, &x, 4);
        break;
    }
    case 8: {
        uint64_t x;
        memcpy(&x, v, 8);
        for (size_t i = 0; i < n; i++)
            memcpy(d + i * 8u, &x, 8);
        break;
    }
    case 2: {
        uint16_t x;
        memcpy(&x, v, 2);
        for (size_t i = 0; i < n; i++)
            memcpy(d + i * 2u, &x, 2);
        break;
    }
    default:
        assert(size == 1);
        memset(d, *v, n);
    }
}

/* Every component's defaults into rows a .. a + n of one block, marked. */
static void fill_defaults(const soa_world *w, const table *t, at a, size_t n)
{
    static const unsigned char zero[8];
    for (uint32_t k = 0; k < t->ncids; k++) {
        if (t->col0[k] == NONE)
            continue;
        const unsigned char *def = w->comps[t->cids[k]].desc->defaults;
        for (uint32_t c = t->col0[k]; c < t->col0[k] + t->ncol_at[k]; c++)
            fill_elems(elem(t, c, a), def ? def + t->cols[c].offset : zero,
                       t->cols[c].size, n);
        uint64_t *bits = (uint64_t *)(void *)(a.block + t->bit_off[t->bit[k]]);
        soa_bitset_set_range(bits, a.i, a.i + n);
    }
}

/* Copies n columns of `size`-byte elements from row s to row d (size a
 * constant once inlined: each copy is one load and one store). */
static inline void copy_cols(const xcol *c, uint32_t n, size_t size, at d,
                             at s)
{
    for (uint32_t j = 0; j < n; j++)
        memcpy(d.block + c[j].dst + d.i * size,
               s.block + c[j].src + s.i * size, size);
}

/* Copies what x names of row s into row d (another row). */
static void xfer_row(const xfer *x, at d, at s)
{
    const xcol *c = x->cols;
    copy_cols(c, x->nsize[0], 8, d, s);
    c += x->nsize[0];
    copy_cols(c, x->nsize[1], 4, d, s);
    c += x->nsize[1];
    copy_cols(c, x->nsize[2], 2, d, s);
    c += x->nsize[2];
    copy_cols(c, x->nsize[3], 1, d, s);
    c += x->nsize[3];
    size_t sw = s.i / 64, dw = d.i / 64;
    unsigned sb = (unsigned)(s.i % 64), db = (unsigned)(d.i % 64);
    for (uint32_t j = 0; j < x->nbits; j++, c++) {
        const uint64_t *from = (const uint64_t *)(const void *)(s.block + c->src);
        uint64_t *to = (uint64_t *)(void *)(d.block + c->dst);
        uint64_t on = from[sw] >> sb & 1u;
        to[dw] = (to[dw] & ~((uint64_t)1 << db)) | on << db;
    }
}

/* Copies row `from` of t into its row `to` (every column, eid, bits). */
static void row_copy_within(table *t, size_t to, size_t from)
{
    assert(to != from);
    *eids_at(t, to) = *eids_at(t, from);
    xfer_row(&t->self, at_row(t, to), at_row(t, from));
}

/* Removes row r of t: the last row moves into it (its slot follows). */
static void row_remove(soa_world *w, table *t, size_t r)
{
    size_t last = t->rows - 1;
    if (r != last) {
        row_copy_within(t, r, last);
        w->slots[soa_entity_index(*eids_at(t, r))].b = (uint32_t)r;
    }
    t->rows = last;
    if (t->nblocks > (last + BLOCK - 1) / BLOCK + 1) /* table_shrink's test */
        table_shrink(w->alloc, t);
    w->shape++;
}

/* Appends a row for e to t (room reserved) and points e's slot at it. */
static size_t row_append(soa_world *w, table *t, soa_entity e)
{
    size_t r = t->rows++;
    *eids_at(t, r) = e;
    w->slots[soa_entity_index(e)].a = t->id;
    w->slots[soa_entity_index(e)].b = (uint32_t)r;
    w->shape++;
    return r;
}

/* Starts loading what removing row r of t will read: the last row (its
 * handle, its slot, its columns), which lies far from r, so its cache
 * misses overlap the copy out of r rather than follow it. */
static void prefetch_last(const soa_world *w, const table *t, size_t r)
{
    size_t last = t->rows - 1;
    if (r == last)
        return;
    at a = at_row(t, last);
    __builtin_prefetch(&w->slots[soa_entity_index(*eids_at(t, last))], 1);
    const xcol *c = t->self.cols;
    static const size_t sizes[4] = {8, 4, 2, 1};
    for (int g = 0; g < 4; g++)
        for (uint32_t j = 0; j < t->self.nsize[g]; j++, c++)
            __builtin_prefetch(a.block + c->src + a.i * sizes[g]);
}

/*
 * Moves e (row r of `from`) along edge g: the components both tables have
 * keep their values and changed bits; the one only g->to has gets its
 * defaults and is marked changed.  0, or -1 (ENOMEM) with nothing moved.
 */
static int row_move(soa_world *w, table *from, size_t r, const edge *g)
{
    table *to = g->to;
    if (to->rows >= (size_t)UINT32_MAX ||
        (to->rows >= to->nblocks * BLOCK && table_grow(w->alloc, to, to->rows + 1))) {
        errno = ENOMEM;
        return -1;
    }
    prefetch_last(w, from, r);
    size_t d = row_append(w, to, *eids_at(from, r));
    at da = at_row(to, d);
    xfer_row(&g->x, da, at_row(from, r));
    for (uint32_t j = 0; j < g->nfill; j++) { /* the added component */
        const xfill *f = &g->fill[j];
        copy_elem(da.block + f->dst + da.i * f->size,
                  (const unsigned char *)&f->value, f->size);
    }
    if (g->nfill)
        soa_bitset_set((uint64_t *)(void *)(da.block + g->mark), da.i);
    row_remove(w, from, r);
    return 0;
}

/* ---- entities ------------------------------------------------------- */

/* Room for `fresh` more slots past nslots, growing geometrically (so
 * spawning one by one, or in many small batches, copies the slots
 * O(log n) times): 0 or -1 (ENOMEM). */
static int slots_reserve(soa_world *w, size_t fresh)
{
    if (fresh <= w->slots_cap - w->nslots)
        return 0;
    size_t cap = next_cap(w->slots_cap, w->nslots + fresh, MAX_SLOTS);
    if (!cap || soa__grow_array(w->alloc, (void **)&w->slots, sizeof(slot),
                                _Alignof(slot), w->slots_cap, cap) != 0)
        return -1;
    w->slots_cap = cap;
    return 0;
}

/* A slot for a new entity (index into *i, generation into *gen): 0 or -1
 * (ENOMEM). */
static int slot_take(soa_world *w, uint32_t *i, uint32_t *gen)
{
    if (w->free_head != NO_NEXT) {
        *i = w->free_head;
        w->free_head = w->slots[*i].a & ~FREE_BIT;
        *gen = w->slots[*i].b;
        return 0;
    }
    if (slots_reserve(w, 1) != 0)
        return -1;
    *i = (uint32_t)w->nslots++;
    *gen = 1;
    return 0;
}

/* Gives slot i back (its entity had generation gen). */
static void slot_free(soa_world *w, uint32_t i, uint32_t gen)
{
    slot *s = &w->slots[i];
    if (gen == UINT32_MAX) {
        s->a = FREE_BIT | RETIRED; /* every generation was used */
        return;
    }
    s->a = FREE_BIT | w->free_head;
    s->b = gen + 1;
    w->free_head = i;
}

soa_entity soa_world_spawn(soa_world *w)
{
    if (!w) {
        errno = EINVAL;
        return SOA_ENTITY_NULL;
    }
    table *t0 = w->tables[0];
    uint32_t i, gen;
    if (table_grow(w->alloc, t0, t0->rows + 1) != 0 || t0->rows >= UINT32_MAX ||
        slot_take(w, &i, &gen) != 0) {
        errno = ENOMEM;
        return SOA_ENTITY_NULL;
    }
    soa_entity e = make_handle(i, gen);
    row_append(w, t0, e);
    w->live++;
    return e;
}

/* Sorts cids[0 .. n) into out (insertion sort: sets are small); false on
 * a repeated cid. */
static bool sort_set(const soa_cid *cids, uint32_t n, soa_cid *out)
{
    for (uint32_t i = 0; i < n; i++) {
        uint32_t j = i;
        while (j > 0 && out[j - 1] > cids[i]) {
            out[j] = out[j - 1];
            j--;
        }
        if (j > 0 && out[j - 1] == cids[i])
            return false;
        out[j] = cids[i];
    }
    return true;
}

/* The table for an unsorted set of registered cids; NULL with errno. */
static table *table_of_set(soa_world *w, const soa_cid *cids, uint32_t n)
{
    soa_cid small[16], *set = small; /* no allocation for small sets */
    table *t = NULL;
    if (n > 16 && !(set = alloc_n(w->alloc, n, sizeof *set, 4)))
        return NULL;
    bool ok = sort_set(cids, n, set);
    for (uint32_t k = 0; ok && k < n; k++)
        ok = set[k] < w->ncomps;
    if (!ok)
        errno = EINVAL;
    else if (!(t = table_for(w, set, n)))
        errno = ENOMEM;
    if (set != small)
        free_n(w->alloc, set, n, sizeof *set);
    return t;
}

int soa_world_spawn_n(soa_world *w, const soa_cid *cids, uint32_t ncids,
                      size_t n, soa_entity *out)
{
    if (!w || (ncids && !cids)) {
        errno = EINVAL;
        return -1;
    }
    table *t = table_of_set(w, cids, ncids);
    size_t rows, slots;
    if (!t)
        return -1;
    if (!soa_add_ok(t->rows, n, &rows) || rows > UINT32_MAX ||
        !soa_add_ok(w->live, n, &slots) || slots > MAX_SLOTS) {
        errno = ENOMEM;
        return -1;
    }
    /* Everything that can fail first: blocks, then slots. */
    size_t fresh = 0;
    for (uint32_t f = w->free_head; f != NO_NEXT && fresh < n;
         f = w->slots[f].a & ~FREE_BIT)
        fresh++;
    fresh = n - fresh;
    if (table_grow(w->alloc, t, rows) != 0 || slots_reserve(w, fresh) != 0) {
        table_shrink(w->alloc, t);
        errno = ENOMEM;
        return -1;
    }
    size_t r0 = t->rows;
    for (size_t j = 0; j < n; j++) {
        uint32_t i, gen;
        int rc = slot_take(w, &i, &gen);
        assert(rc == 0);
        (void)rc;
        soa_entity e = make_handle(i, gen);
        size_t r = row_append(w, t, e);
        if (out)
            out[j] = e;
        (void)r;
    }
    for (size_t r = r0; r < t->rows;) { /* the values, block by block */
        size_t m = BLOCK - r % BLOCK < t->rows - r ? BLOCK - r % BLOCK
                                                   : t->rows - r;
        fill_defaults(w, t, at_row(t, r), m);
        r += m;
    }
    w->live += n;
    return 0;
}

bool soa_world_alive(const soa_world *w, soa_entity e)
{
    return live_slot(w, e) != NULL;
}

size_t soa_world_entities(const soa_world *w)
{
    return w ? w->live : 0;
}

void soa_world_despawn(soa_world *w, soa_entity e)
{
    const slot *s = live_slot(w, e);
    if (!s)
        return;
    table *t = w->tables[s->a];
    row_remove(w, t, s->b);
    slot_free(w, soa_entity_index(e), soa_entity_generation(e));
    w->live--;
}

/* ---- values --------------------------------------------------------- */

/* Resolves (w, e, cid): e's table and row into *t, *row and cid's
 * position there into *k (NONE when absent).  0, or -1 with errno. */
static int locate(const soa_world *w, soa_entity e, soa_cid cid, table **t,
                  size_t *row, uint32_t *k)
{
    if (!comp_of(w, cid)) {
        errno = EINVAL;
        return -1;
    }
    const slot *s = live_slot(w, e);
    if (!s) {
        errno = ESRCH;
        return -1;
    }
    *t = w->tables[s->a];
    *row = s->b;
    *k = pos_of(*t, cid);
    return 0;
}

/* Moves row `row` of t to the table with cid added (or removed): 0, or -1
 * (ENOMEM) with nothing moved. */
static int step(soa_world *w, table *t, size_t row, soa_cid cid, bool add)
{
    const edge *g = edge_for(w, t, cid, add);
    if (!g) {
        errno = ENOMEM;
        return -1;
    }
    return row_move(w, t, row, g);
}

int soa_world_add(soa_world *w, soa_entity e, soa_cid cid)
{
    table *t;
    size_t row;
    uint32_t k;
    if (locate(w, e, cid, &t, &row, &k) != 0)
        return -1;
    return k != NONE ? 0 : step(w, t, row, cid, true);
}

int soa_world_set(soa_world *w, soa_entity e, soa_cid cid, const void *value)
{
    const comp *c = comp_of(w, cid);
    if (c && c->ncols && !value) {
        errno = EINVAL;
        return -1;
    }
    if (soa_world_add(w, e, cid) != 0)
        return -1;
    const slot *s = live_slot(w, e);
    table *t = w->tables[s->a];
    uint32_t k = pos_of(t, cid);
    if (t->col0[k] != NONE) {
        put_value(t, k, s->b, value);
        bit_at(t, t->bit[k], at_row(t, s->b), true);
    }
    return 0;
}

int soa_world_read(const soa_world *w, soa_entity e, soa_cid cid, void *out)
{
    table *t;
    size_t row;
    uint32_t k;
    if (locate(w, e, cid, &t, &row, &k) != 0)
        return -1;
    if (k == NONE) {
        errno = ENOENT;
        return -1;
    }
    if (t->col0[k] != NONE) {
        if (!out) {
            errno = EINVAL;
            return -1;
        }
        get_value(w, t, k, row, out);
    }
    return 0;
}

bool soa_world_has(const soa_world *w, soa_entity e, soa_cid cid)
{
    table *t;
    size_t row;
    uint32_t k;
    return locate(w, e, cid, &t, &row, &k) == 0 && k != NONE;
}

int soa_world_remove(soa_world *w, soa_entity e, soa_cid cid)
{
    table *t;
    size_t row;
    uint32_t k;
    if (locate(w, e, cid, &t, &row, &k) != 0)
        return -1;
    if (k == NONE) {
        errno = ENOENT;
        return -1;
    }
    return step(w, t, row, cid, false);
}

size_t soa_world_count(const soa_world *w, soa_cid cid)
{
    size_t n = 0;
    if (!comp_of(w, cid))
        return 0;
    for (uint32_t i = 0; i < w->ntables; i++)
        if (pos_of(w->tables[i], cid) != NONE)
            n += w->tables[i]->rows;
    return n;
}

/* ---- change tracking ------------------------------------------------ */

bool soa_world_is_changed(const soa_world *w, soa_entity e, soa_cid cid)
{
    table *t;
    size_t row;
    uint32_t k;
    if (locate(w, e, cid, &t, &row, &k) != 0 || k == NONE ||
        t->bit[k] == NONE)
        return false;
    return bit_of(t, t->bit[k], at_row(t, row));
}

/* Calls fn for each changed row of cid in t (fn may be NULL); counts. */
static size_t table_changed(const table *t, uint32_t b,
                            void (*fn)(void *, soa_entity), void *ctx)
{
    size_t n = 0;
    for (size_t blk = 0; blk * BLOCK < t->rows; blk++) {
        size_t rows = t->rows - blk * BLOCK < BLOCK ? t->rows - blk * BLOCK : BLOCK;
        const uint64_t *bits = (const uint64_t *)(const void *)(t->blocks[blk] + t->bit_off[b]);
        const soa_entity *eids = (const soa_entity *)(const void *)t->blocks[blk];
        if (!fn) {
            n += soa_bitset_count(bits, rows);
            continue;
        }
        size_t i;
        SOA_BITSET_FOREACH(bits, rows, i) {
            fn(ctx, eids[i]);
            n++;
        }
    }
    return n;
}

static size_t each_changed(const soa_world *w, soa_cid cid,
                           void (*fn)(void *, soa_entity), void *ctx)
{
    size_t n = 0;
    if (!comp_of(w, cid))
        return 0;
    for (uint32_t i = 0; i < w->ntables; i++) {
        const table *t = w->tables[i];
        uint32_t k = pos_of(t, cid);
        if (k != NONE && t->bit[k] != NONE)
            n += table_changed(t, t->bit[k], fn, ctx);
    }
    return n;
}

size_t soa_world_count_changed(const soa_world *w, soa_cid cid)
{
    return each_changed(w, cid, NULL, NULL);
}

size_t soa_world_each_changed(const soa_world *w, soa_cid cid,
                              void (*fn)(void *ctx, soa_entity e), void *ctx)
{
    return fn ? each_changed(w, cid, fn, ctx) : 0;
}

void soa_world_clear_changed(soa_world *w, soa_cid cid)
{
    if (!w)
        return;
    for (uint32_t i = 0; i < w->ntables; i++) {
        table *t = w->tables[i];
        for (uint32_t k = 0; k < t->ncids; k++) {
            if (t->bit[k] == NONE || (cid != SOA_CID_INVALID && t->cids[k] != cid))
                continue;
            for (size_t b = 0; b < t->nblocks; b++)
                memset(t->blocks[b] + t->bit_off[t->bit[k]], 0, BLOCK / 8u);
        }
    }
}

/* ---- queries -------------------------------------------------------- */

static bool query_valid(const soa_world *w, const soa_query *q)
{
    if ((q->nall && !q->all) || (q->nnone && !q->none))
        return false;
    for (uint32_t k = 0; k < q->nall; k++)
        if (!comp_of(w, q->all[k]))
            return false;
    for (uint32_t k = 0; k < q->nnone; k++)
        if (!comp_of(w, q->none[k]))
            return false;
    return true;
}

static bool table_matches(const table *t, const soa_query *q)
{
    for (uint32_t k = 0; k < q->nall; k++)
        if (pos_of(t, q->all[k]) == NONE)
            return false;
    for (uint32_t k = 0; k < q->nnone; k++)
        if (pos_of(t, q->none[k]) != NONE)
            return false;
    return true;
}

size_t soa_query_begin(const soa_world *w, const soa_query *q,
                       soa_query_iter *it)
{
    if (!it)
        return 0;
    memset(it, 0, sizeof *it);
    if (!w || !q || !query_valid(w, q))
        return 0; /* it->w NULL: yields nothing */
    it->w = w;
    it->q = *q;
    size_t n = 0;
    for (uint32_t i = 0; i < w->ntables; i++)
        if (table_matches(w->tables[i], q))
            n += w->tables[i]->rows;
    return n;
}

bool soa_query_next_chunk(soa_query_iter *it, soa_chunk *c)
{
    if (!it || !it->w || !c)
        return false;
    const soa_world *w = it->w;
    while (it->table < w->ntables) {
        const table *t = w->tables[it->table];
        if (it->block * BLOCK < t->rows && (it->block > 0 || table_matches(t, &it->q))) {
            size_t left = t->rows - it->block * BLOCK;
            c->begin = 0;
            c->end = left < BLOCK ? left : BLOCK;
            c->eids = (const soa_entity *)(const void *)t->blocks[it->block];
            c->table = t;
            c->block = it->block;
            c->q = &it->q;
            it->block++;
            it->eids = c->eids;
            it->n = c->end;
            it->row = 0;
            return true;
        }
        it->table++;
        it->block = 0;
    }
    return false;
}

bool soa_query_next(soa_query_iter *it, soa_entity *e)
{
    if (!it || !it->w)
        return false;
    while (it->row >= it->n) {
        soa_chunk c;
        if (!soa_query_next_chunk(it, &c))
            return false;
    }
    if (e)
        *e = it->eids[it->row];
    it->row++;
    return true;
}

/* Position of the query's all[term] in the chunk's table, or NONE. */
static uint32_t chunk_pos(const soa_chunk *c, uint32_t term)
{
    if (!c || !c->table || !c->q || term >= c->q->nall)
        return NONE;
    return pos_of(c->table, c->q->all[term]);
}

void *soa_chunk_column(const soa_chunk *c, uint32_t term, uint32_t col)
{
    uint32_t k = chunk_pos(c, term);
    if (k == NONE || col >= c->table->ncol_at[k])
        return NULL;
    const table *t = c->table;
    return t->blocks[c->block] + t->col_off[t->col0[k] + col];
}

uint64_t *soa_chunk_changed(const soa_chunk *c, uint32_t term)
{
    uint32_t k = chunk_pos(c, term);
    if (k == NONE || c->table->bit[k] == NONE)
        return NULL;
    const table *t = c->table;
    return (uint64_t *)(void *)(t->blocks[c->block] + t->bit_off[t->bit[k]]);
}

size_t soa_world_despawn_query(soa_world *w, const soa_query *q)
{
    if (!w || !q || !query_valid(w, q))
        return 0;
    size_t n = 0;
    for (uint32_t i = 0; i < w->ntables; i++) {
        table *t = w->tables[i];
        if (!t->rows || !table_matches(t, q))
            continue;
        for (size_t r = 0; r < t->rows; r++) {
            soa_entity e = *eids_at(t, r);
            slot_free(w, soa_entity_index(e), soa_entity_generation(e));
        }
        n += t->rows;
        w->live -= t->rows;
        t->rows = 0;
        table_shrink(w->alloc, t);
        w->shape++;
    }
    return n;
}

/* ---- for the system machinery (internal.h) --------------------------- */

uint64_t soa__world_shape(const soa_world *w)
{
    return w->shape ^ (w->serial << 40);
}

uint64_t soa__world_id(const soa_world *w)
{
    return w->serial;
}

uint32_t soa__world_ntables(const soa_world *w)
{
    return w->ntables;
}

const soa_table *soa__world_table(const soa_world *w, uint32_t i)
{
    return i < w->ntables ? w->tables[i] : NULL;
}

bool soa__table_matches(const soa_table *t, const soa_query *q)
{
    return table_matches(t, q);
}

size_t soa__table_rows(const soa_table *t)
{
    return t->rows;
}

unsigned char *soa__table_block(const soa_table *t, size_t b)
{
    assert(b < t->nblocks);
    return t->blocks[b];
}

size_t soa__table_col_offset(const soa_table *t, soa_cid cid, uint32_t col)
{
    uint32_t k = pos_of(t, cid);
    if (k == NONE || col >= t->ncol_at[k])
        return SIZE_MAX;
    return t->col_off[t->col0[k] + col];
}

size_t soa__table_bit_offset(const soa_table *t, soa_cid cid)
{
    uint32_t k = pos_of(t, cid);
    return k == NONE || t->bit[k] == NONE ? SIZE_MAX : t->bit_off[t->bit[k]];
}

bool soa__world_locate(const soa_world *w, soa_entity e, const soa_table **t,
                       size_t *row)
{
    const slot *s = live_slot(w, e);
    if (!s)
        return false;
    *t = w->tables[s->a];
    *row = s->b;
    return true;
}
