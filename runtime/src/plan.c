/*
 * plan.c: a system's matching tables and where its columns lie in their
 * blocks (see plan.h).
 *
 * The plan's arrays come from the allocator it was made with (the heap for
 * snapshots, the world's for the scheduler): never from memory a worker
 * process may write.
 */
#include "plan.h"

#include <assert.h>
#include <errno.h>
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
