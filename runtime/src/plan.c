/*
 * plan.c: a system's matching tables and where its columns lie in their
 * blocks (see plan.h).
 *
 * The plan's arrays come from the allocator it was made with (the heap for
 * snapshots, the world's for the scheduler): never from memory a worker
 * process may write.
 */
#include "plan.h"
#include "soa/bitset.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bytes of a match's offsets (never 0: a system has a term). */
static size_t off_bytes(const soa_sys_layout *L)
{
    return ((size_t)L->ncols + L->nterms + 1) * sizeof(size_t);
}

void soa__plan_init(soa__plan *p, const soa_sys_layout *L, soa_alloc *a)
{
    memset(p, 0, sizeof *p);
    p->L = L;
    p->mem = soa_alloc_or_heap(a);
    while (p->nall < L->nterms &&
           L->terms[p->nall].access != SOA_ACCESS_WITHOUT)
        p->nall++;
}

void soa__plan_free(soa__plan *p)
{
    soa_alloc *a = p->mem;
    for (uint32_t i = 0; i < p->nm; i++)
        a->free(a, p->m[i].off, off_bytes(p->L));
    if (p->cap)
        a->free(a, p->m, p->cap * sizeof *p->m);
    if (p->cids)
        a->free(a, p->cids, p->L->nterms * sizeof *p->cids);
    soa__plan_init(p, p->L, a);
}

/* The offsets of L's columns and bitsets in a block of t. */
static void offsets(const soa__plan *p, const soa_table *t, size_t *off)
{
    const soa_sys_layout *L = p->L;
    for (uint32_t k = 0; k < L->nterms; k++) {
        const soa_sys_term *term = &L->terms[k];
        for (uint32_t j = 0; j < term->ncols; j++)
            off[term->col0 + j] = soa__table_col_offset(t, p->cids[k], j);
        off[L->ncols + k] = term->ncols ? soa__table_bit_offset(t, p->cids[k])
                                        : SIZE_MAX;
    }
}

/* Appends table t: 0 or -1 (ENOMEM). */
static int append(soa__plan *p, const soa_table *t)
{
    soa_alloc *a = p->mem;
    if (p->nm == p->cap) {
        uint32_t cap = p->cap ? p->cap * 2 : 8;
        soa__match *m = a->alloc(a, cap * sizeof *m, _Alignof(soa__match));
        if (!m)
            return -1;
        if (p->nm)
            memcpy(m, p->m, p->nm * sizeof *m);
        if (p->cap)
            a->free(a, p->m, p->cap * sizeof *p->m);
        p->m = m;
        p->cap = cap;
    }
    size_t *off = a->alloc(a, off_bytes(p->L), _Alignof(size_t));
    if (!off)
        return -1;
    offsets(p, t, off);
    soa__match *m = &p->m[p->nm++];
    memset(m, 0, sizeof *m);
    m->t = t;
    m->off = off;
    return 0;
}

/* Registers the terms' components: 0, or -1 (EINVAL, ENOMEM). */
static int resolve(soa__plan *p, soa_world *w)
{
    const soa_sys_layout *L = p->L;
    if (!p->cids && L->nterms) {
        soa_alloc *a = p->mem;
        p->cids = a->alloc(a, L->nterms * sizeof *p->cids, _Alignof(soa_cid));
        if (!p->cids) {
            errno = ENOMEM;
            return -1;
        }
    }
    for (uint32_t k = 0; k < L->nterms; k++) {
        p->cids[k] = soa_world_register(w, L->terms[k].comp);
        if (p->cids[k] == SOA_CID_INVALID) {
            if (errno != ENOMEM)
                errno = EINVAL;
            return -1;
        }
    }
    return 0;
}

int soa__plan_match(soa__plan *p, soa_world *w)
{
    uint64_t id = soa__world_id(w);
    if (p->w != w || p->world_id != id) {
        soa__plan_free(p);
        if (resolve(p, w) != 0)
            return -1;
        p->w = w;
        p->world_id = id;
    } else if (resolve(p, w) != 0) {
        return -1; /* registration is idempotent: cids cannot change */
    }
    soa_query q = {p->cids, p->nall, p->cids + p->nall,
                   p->L->nterms - p->nall};
    uint32_t n = soa__world_ntables(w);
    for (; p->seen < n; p->seen++) {
        const soa_table *t = soa__world_table(w, p->seen);
        if (soa__table_matches(t, &q) && append(p, t) != 0) {
            soa__plan_free(p);
            errno = ENOMEM;
            return -1;
        }
    }
    return 0;
}

size_t soa__plan_layout(soa__plan *p, size_t align)
{
    size_t row = 0;
    assert(align && (align & (align - 1)) == 0);
    for (uint32_t i = 0; i < p->nm; i++) {
        soa__match *m = &p->m[i];
        m->base = row;
        m->rows = soa__table_rows(m->t);
        row += (m->rows + align - 1) & ~(align - 1);
    }
    return p->total = row;
}

uint32_t soa__plan_find(const soa__plan *p, size_t row)
{
    uint32_t lo = 0, hi = p->nm;
    assert(p->nm && row < p->total);
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (p->m[mid].base <= row)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

void soa__plan_run(const soa__plan *p, soa_fn kernel, const soa_frame *frame,
                   void *ctx, size_t begin, size_t end)
{
    if (begin >= end)
        return;
    uint32_t i = soa__plan_find(p, begin);
    while (begin < end && i < p->nm) {
        const soa__match *m = &p->m[i];
        size_t r = begin - m->base;
        if (r >= m->rows) { /* padding, or the next table */
            i++;
            begin = i < p->nm ? p->m[i].base : end;
            continue;
        }
        size_t in = r % SOA_BLOCK_ROWS, n = SOA_BLOCK_ROWS - in;
        if (n > m->rows - r)
            n = m->rows - r;
        if (n > end - begin)
            n = end - begin;
        soa_view_src src = {p->L, NULL, NULL,
                            soa__table_block(m->t, r / SOA_BLOCK_ROWS),
                            m->off, NULL, in, in + n};
        p->L->call(&src, kernel, frame, ctx);
        begin += n;
    }
}

/* ---- the debug check ------------------------------------------------ */

unsigned soa__debug_parse(const char *text)
{
    if (!text || !text[0])
        return 0;
    uint64_t n = 0;
    const char *p = text;
    for (; *p >= '0' && *p <= '9'; p++)
        if ((n = n * 10 + (uint64_t)(*p - '0')) > UINT_MAX)
            return 1; /* a number out of range: every frame */
    return *p ? 1u : (unsigned)n; /* "on", "yes": every frame */
}

unsigned soa__debug_every(void)
{
    static _Atomic long every = -1; /* -1: not read yet */
    long v = atomic_load_explicit(&every, memory_order_relaxed);
    if (v < 0) {
        v = (long)soa__debug_parse(getenv("SOA_DEBUG"));
        atomic_store_explicit(&every, v, memory_order_relaxed);
    }
    return (unsigned)v;
}

bool soa__debug_due(unsigned every, uint64_t *runs)
{
    return every && (*runs)++ % every == 0;
}

/* Calls fn for each row r of block b of match m, for each written term k
 * with columns: the world's block and the row's virtual index. */
typedef void (*row_fn)(void *ctx, const soa__match *m, uint32_t k,
                       unsigned char *block, size_t in, size_t row);

static void each_written_row(const soa__plan *p, row_fn fn, void *ctx)
{
    const soa_sys_layout *L = p->L;
    for (uint32_t i = 0; i < p->nm; i++) {
        const soa__match *m = &p->m[i];
        for (size_t r = 0; r < m->rows; r++) {
            unsigned char *block = soa__table_block(m->t, r / SOA_BLOCK_ROWS);
            for (uint32_t k = 0; k < L->nterms; k++)
                if (L->terms[k].access == SOA_ACCESS_WRITE && L->terms[k].ncols)
                    fn(ctx, m, k, block, r % SOA_BLOCK_ROWS, m->base + r);
        }
    }
}

typedef struct debug_ctx {
    const soa_sys_layout *L;
    unsigned char *const *cols;
    const uint64_t *const *bits;
    size_t n;
    soa_entity first;
    const char *comp;
} debug_ctx;

static void save_row(void *ctx, const soa__match *m, uint32_t k,
                     unsigned char *block, size_t in, size_t row)
{
    const debug_ctx *c = ctx;
    const soa_sys_term *t = &c->L->terms[k];
    for (uint32_t j = t->col0; j < t->col0 + t->ncols; j++) {
        size_t size = c->L->cols[j].size;
        memcpy(c->cols[j] + row * size, block + m->off[j] + in * size, size);
    }
}

static void compare_row(void *ctx, const soa__match *m, uint32_t k,
                        unsigned char *block, size_t in, size_t row)
{
    debug_ctx *c = ctx;
    const soa_sys_term *t = &c->L->terms[k];
    bool marked = c->bits
        ? soa_bitset_test(c->bits[k], row)
        : soa_bitset_test((const uint64_t *)(const void *)(block +
                                                           m->off[c->L->ncols + k]),
                          in);
    if (marked)
        return;
    for (uint32_t j = t->col0; j < t->col0 + t->ncols; j++) {
        size_t size = c->L->cols[j].size;
        if (memcmp(c->cols[j] + row * size, block + m->off[j] + in * size,
                   size) != 0) {
            if (c->n++ == 0) {
                c->first = ((const soa_entity *)(const void *)block)[in];
                c->comp = t->comp->name;
            }
            return;
        }
    }
}

void soa__plan_save_written(const soa__plan *p, unsigned char *const *cols)
{
    debug_ctx c = {p->L, cols, NULL, 0, SOA_ENTITY_NULL, NULL};
    each_written_row(p, save_row, &c);
}

size_t soa__plan_unmarked(const soa__plan *p, unsigned char *const *cols,
                          const uint64_t *const *bits, soa_entity *first,
                          const char **comp)
{
    debug_ctx c = {p->L, cols, bits, 0, SOA_ENTITY_NULL, NULL};
    each_written_row(p, compare_row, &c);
    *first = c.first;
    *comp = c.comp;
    return c.n;
}

void soa__debug_report(bool *warned, const char *name, size_t n,
                       const char *comp, soa_entity first, uint64_t frame)
{
    if (!n || *warned)
        return;
    *warned = true;
    char when[48] = "";
    if (frame != UINT64_MAX)
        snprintf(when, sizeof when, ", frame %llu", (unsigned long long)frame);
    fprintf(stderr,
            "soa: system '%s' changed %zu rows of '%s' without marking them "
            "changed (entity %#llx%s): change tracking does not see them, "
            "and a snapshot or worker process drops them; mark each with "
            "soa_bitset_set(v->%s.changed, i)\n",
            name, n, comp, (unsigned long long)first, when, comp);
}
