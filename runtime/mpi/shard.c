/*
 * shard.c: one rank's part of a sharded world, without MPI (shard.h):
 * its components and global handles, packing what leaves at the end of a
 * frame, and checking and applying what other ranks sent.
 */
#include "shard.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "soa/bitset.h"

#define GID_SERIAL_BITS 40

/* The hidden component that holds each entity's gid in its row, so it
 * travels with the row through the tables. */
typedef struct gid_value {
    uint64_t gid;
} gid_value;
static const gid_value gid_default = {0};
static const soa_field_desc gid_fields[] = {
    {"gid", SOA_U64, NULL, 1, 0},
};
static const soa_component_desc gid_desc = {
    "soa_mpi_gid", 0x736f615f6d706931u, sizeof(gid_value),
    _Alignof(gid_value), &gid_default, 1, gid_fields,
};

int soa__shard_fail(soa__shard *s, int e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->err, sizeof s->err, fmt, ap);
    va_end(ap);
    errno = e;
    return -1;
}

/* ---- components ----------------------------------------------------- */

static int alloc_arrays(soa__shard *s, uint32_t nc)
{
    size_t n = (size_t)s->size, c = nc ? nc : 1;
    s->descs = calloc(c, sizeof *s->descs);
    s->cids = calloc(c, sizeof *s->cids);
    s->wsize = calloc(c, sizeof *s->wsize);
    s->ncols = calloc(c, sizeof *s->ncols);
    s->rep = calloc(c, sizeof *s->rep);
    s->plans = calloc(c, sizeof *s->plans);
    s->sub = malloc(n * c * sizeof *s->sub);
    s->out = calloc(n, sizeof *s->out);
    if (!s->descs || !s->cids || !s->wsize || !s->ncols || !s->rep ||
        !s->plans || !s->sub || !s->out)
        return soa__shard_fail(s, ENOMEM, "rank %d: out of memory", s->rank);
    for (size_t i = 0; i < n * c; i++)
        s->sub[i] = SOA__NONE;
    return 0;
}

/* Registers comps[k] as idx k; its wire size and columns. */
static int register_one(soa__shard *s, uint32_t k, const soa_component_desc *d)
{
    soa_cid cid = soa_world_register(s->w, d);
    if (cid == SOA_CID_INVALID)
        return soa__shard_fail(s, errno, "rank %d: component %u: %s", s->rank,
                               k, soa_world_error(s->w));
    if (cid != k)
        return soa__shard_fail(s, EINVAL, "rank %d: component '%s' is listed "
                               "twice", s->rank, d->name);
    long cols = soa__wire_cols(d);
    if (cols < 0 || cols > 4096)
        return soa__shard_fail(s, EINVAL, "rank %d: component '%s' has %ld "
                               "columns (at most 4096 travel)", s->rank,
                               d->name, cols);
    s->descs[k] = d;
    s->cids[k] = cid;
    s->wsize[k] = d->size ? soa__wire_size(d) : 0;
    s->ncols[k] = d->size ? (uint32_t)cols : 0;
    s->plans[k] = malloc((cols ? (size_t)cols : 1) * sizeof(soa__col));
    if (!s->plans[k])
        return soa__shard_fail(s, ENOMEM, "rank %d: out of memory", s->rank);
    soa__wire_plan(d, s->plans[k]);
    return 0;
}

int soa__shard_init(soa__shard *s, int rank, int size,
                    const soa_component_desc *const *comps, uint32_t n)
{
    memset(s, 0, sizeof *s);
    s->rank = rank;
    s->size = size;
    s->part_cid = SOA_CID_INVALID;
    s->gid_cid = SOA_CID_INVALID;
    if (size < 1 || rank < 0 || rank >= size || (n && !comps) || n > 60000)
        return soa__shard_fail(s, EINVAL, "rank %d of %d, %u components",
                               rank, size, n);
    if (alloc_arrays(s, n) != 0)
        return -1;
    if (!(s->w = soa_world_create(NULL)))
        return soa__shard_fail(s, ENOMEM, "rank %d: out of memory", rank);
    size_t widest = 1, largest = sizeof(gid_value);
    s->ncomps = n; /* what soa__shard_free walks, even after a failure */
    for (uint32_t k = 0; k < n; k++) {
        if (register_one(s, k, comps[k]) != 0)
            return -1;
        widest = s->ncols[k] > widest ? s->ncols[k] : widest;
        largest = comps[k]->size > largest ? comps[k]->size : largest;
    }
    s->gid_cid = soa_world_register(s->w, &gid_desc);
    if (s->gid_cid == SOA_CID_INVALID)
        return soa__shard_fail(s, ENOMEM, "rank %d: out of memory", rank);
    s->ncids = s->gid_cid + 1;
    s->idx_of = malloc(s->ncids * sizeof *s->idx_of);
    s->cols = malloc(widest * sizeof *s->cols);
    s->value = malloc(largest);
    s->ranks = malloc(SOA_BLOCK_ROWS * sizeof *s->ranks);
    if (!s->idx_of || !s->cols || !s->value || !s->ranks)
        return soa__shard_fail(s, ENOMEM, "rank %d: out of memory", rank);
    for (uint32_t c = 0; c < s->ncids; c++)
        s->idx_of[c] = c < s->ncomps ? c : UINT32_MAX;
    return 0;
}

void soa__shard_free(soa__shard *s)
{
    soa_world_destroy(s->w);
    for (uint32_t k = 0; s->rep && k < s->ncomps; k++) {
        free(s->rep[k].gids);
        free(s->rep[k].ranks);
        free(s->rep[k].values);
    }
    for (uint32_t k = 0; s->plans && k < s->ncomps; k++)
        free(s->plans[k]);
    free(s->plans);
    for (int r = 0; s->out && r < s->size; r++)
        soa__wbuf_free(&s->out[r]);
    soa__wbuf_free(&s->tmp);
    soa__idmap_free(&s->ids);
    soa__idmap_free(&s->moves);
    free(s->descs);
    free(s->cids);
    free(s->wsize);
    free(s->ncols);
    free(s->idx_of);
    free(s->rep);
    free(s->sub);
    free(s->cols);
    free(s->value);
    free(s->ranks);
    free(s->out);
    memset(s, 0, sizeof *s);
}

/* ---- entities ------------------------------------------------------- */

/* Gives the new entities es[0 .. n) their gids; -1 (ENOMEM) with them
 * despawned. */
static int name_all(soa__shard *s, const soa_entity *es, size_t n,
                    uint64_t *out)
{
    uint64_t *changed;
    size_t i;
    for (size_t j = 0; j < n; j++) {
        uint64_t g = ((uint64_t)(s->rank + 1) << GID_SERIAL_BITS) | ++s->serial;
        if (soa__idmap_put(&s->ids, g, es[j]) != 0) {
            for (size_t k = 0; k < n; k++) {
                if (k < j)
                    soa__idmap_del(&s->ids, soa__shard_gid(s, es[k]));
                soa_world_despawn(s->w, es[k]);
            }
            errno = ENOMEM;
            return -1;
        }
        soa__row_of(s->w, es[j], s->gid_cid, 1, s->cols, &changed, &i);
        ((uint64_t *)s->cols[0])[i] = g;
        soa_bitset_clear(changed, i);
        if (out)
            out[j] = g;
    }
    return 0;
}

int soa__shard_spawn(soa__shard *s, const soa_cid *cids, uint32_t ncids,
                     size_t n, uint64_t *out)
{
    soa_cid set[64];
    if ((ncids && !cids) || ncids + 1 > 64) {
        errno = EINVAL;
        return -1;
    }
    for (uint32_t k = 0; k < ncids; k++) {
        if (soa__shard_idx(s, cids[k]) == UINT32_MAX) {
            errno = EINVAL;
            return -1;
        }
        set[k] = cids[k];
    }
    if ((uint64_t)n > ((uint64_t)1 << GID_SERIAL_BITS) - 1 - s->serial) {
        errno = ENOMEM; /* this rank's gids are used up */
        return -1;
    }
    set[ncids] = s->gid_cid;
    soa_entity *es = malloc((n ? n : 1) * sizeof *es);
    if (!es) {
        errno = ENOMEM;
        return -1;
    }
    int rc = soa_world_spawn_n(s->w, set, ncids + 1, n, es);
    if (rc == 0)
        rc = name_all(s, es, n, out);
    int e = errno;
    free(es);
    errno = e;
    return rc;
}

soa_entity soa__shard_local(const soa__shard *s, uint64_t gid)
{
    /* alive: the program may have despawned it through the world */
    soa_entity e = soa__idmap_get(&s->ids, gid);
    return e != SOA_ENTITY_NULL && soa_world_alive(s->w, e) ? e
                                                           : SOA_ENTITY_NULL;
}

uint64_t soa__shard_gid(const soa__shard *s, soa_entity e)
{
    gid_value v;
    return soa_world_read(s->w, e, s->gid_cid, &v) == 0 ? v.gid : 0;
}

void soa__walk_begin(soa__shard *s, uint32_t idx, soa__walk *w)
{
    w->all[0] = s->cids[idx];
    w->all[1] = s->gid_cid;
    w->q = (soa_query){w->all, 2, NULL, 0};
    soa_query_begin(s->w, &w->q, &w->it);
}

bool soa__walk_next(soa__shard *s, uint32_t idx, soa__walk *w)
{
    if (!soa_query_next_chunk(&w->it, &w->c))
        return false;
    w->changed = soa_chunk_changed(&w->c, 0);
    w->gids = soa_chunk_column(&w->c, 1, 0);
    for (uint32_t k = 0; k < s->ncols[idx]; k++)
        s->cols[k] = soa_chunk_column(&w->c, 0, k);
    return true;
}

uint64_t soa__shard_pack_rows(soa__shard *s, uint32_t idx)
{
    uint64_t rows = 0;
    soa__walk w;
    soa__wbuf_reset(&s->tmp);
    soa__walk_begin(s, idx, &w);
    while (soa__walk_next(s, idx, &w))
        for (size_t i = w.c.begin; i < w.c.end; i++, rows++) {
            soa__wbuf_u64(&s->tmp, w.gids[i]);
            unsigned char *v = soa__wbuf_put(&s->tmp, s->wsize[idx]);
            if (v && s->ncols[idx])
                soa__wire_from_cols(s->descs[idx], s->cols, i, v);
        }
    return rows;
}

/* ---- leaving -------------------------------------------------------- */

static int push(soa__departures *f, soa_entity e, uint64_t g, int to)
{
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 256;
        soa__leaving *p = realloc(f->out, cap * sizeof *p);
        if (!p) {
            errno = ENOMEM;
            return -1;
        }
        f->out = p;
        f->cap = cap;
    }
    f->out[f->n++] = (soa__leaving){e, g, to};
    return 0;
}

/* Every component registered in the world must be one the ranks agreed
 * on (or the gid's): anything else could not travel. */
static int check_registered(soa__shard *m)
{
    const soa_component_desc *d;
    for (soa_cid c = m->ncids; (d = soa_world_desc(m->w, c)) != NULL; c++)
        return soa__shard_fail(m, EINVAL, "rank %d: component '%s' is "
                               "registered in the world but was not given to "
                               "soa_mpi_create, so it cannot migrate", m->rank,
                               d->name);
    return 0;
}

/* Row i of the walk's chunk leaves for rank `to` (checked). */
static int judge_row(soa__shard *m, soa__departures *f, const soa__walk *w,
                     size_t i, int to)
{
    if (to < 0 || to >= m->size)
        return soa__shard_fail(m, EINVAL, "rank %d: the partition rule gave "
                               "rank %d for entity 0x%llx (%d ranks)",
                               m->rank, to, (unsigned long long)w->gids[i],
                               m->size);
    if (to != m->rank && push(f, w->c.eids[i], w->gids[i], to) != 0)
        return soa__shard_fail(m, ENOMEM, "rank %d: out of memory", m->rank);
    return 0;
}

/* Chunk rows [b, end)'s bits of word k of the walk's changed bitset (all
 * of them after soa_mpi_repartition). */
static uint64_t asked(const soa__shard *m, const soa__walk *w, size_t k,
                      size_t b, size_t end)
{
    uint64_t bits = m->every_row ? ~UINT64_C(0) : w->changed[k];
    if (k * 64 < b)
        bits &= ~UINT64_C(0) << (b % 64);
    if (end - k * 64 < 64)
        bits &= (UINT64_C(1) << (end - k * 64)) - 1;
    return bits;
}

/* A rule by columns answers for the whole chunk; most rows stay, so the
 * scan looks for the others first and at their changed bit second. */
static int by_cols(soa__shard *m, soa__departures *f, const soa__walk *w)
{
    size_t b = w->c.begin, end = w->c.end;
    const int me = m->rank, *ranks = m->ranks;
    m->rule_cols(m->cols, b, end, m->ranks, m->rule_ctx);
    for (size_t i = b; i < end; i++) {
        if (ranks[i - b] == me ||
            (!m->every_row && !soa_bitset_test(w->changed, i)))
            continue;
        if (judge_row(m, f, w, i, ranks[i - b]) != 0)
            return -1;
    }
    return 0;
}

/* The rule over every row whose partition component is marked changed
 * (every row after soa_mpi_repartition). */
static int by_rule(soa__shard *m, soa__departures *f)
{
    uint32_t idx = m->idx_of[m->part_cid];
    soa__walk w;
    memset(m->value, 0, m->descs[idx]->size); /* the padding, once */
    soa__walk_begin(m, idx, &w);
    while (soa__walk_next(m, idx, &w)) {
        if (m->rule_cols) {
            if (by_cols(m, f, &w) != 0)
                return -1;
            continue;
        }
        size_t b = w.c.begin, end = w.c.end;
        for (size_t k = b / 64; k * 64 < end; k++)
            for (uint64_t bits = asked(m, &w, k, b, end); bits;
                 bits &= bits - 1) {
                size_t i = k * 64 + soa__ctz64(bits);
                soa__plan_to_value(m->plans[idx], m->ncols[idx], m->cols, i,
                                   m->value);
                if (judge_row(m, f, &w, i, m->rule(m->value, m->rule_ctx)))
                    return -1;
            }
    }
    return 0;
}

/* soa_mpi_move's requests, for entities still here without the partition
 * component. */
static int by_request(soa__shard *m, soa__departures *f)
{
    for (size_t s = 0; s < m->moves.cap; s++) {
        uint64_t g = m->moves.slots[s].key;
        if (!g)
            continue;
        int to = (int)m->moves.slots[s].val - 1;
        soa_entity e = soa__shard_local(m, g);
        if (e == SOA_ENTITY_NULL || to == m->rank ||
            (m->part_cid != SOA_CID_INVALID &&
             soa_world_has(m->w, e, m->part_cid)))
            continue;
        if (push(f, e, g, to) != 0)
            return soa__shard_fail(m, ENOMEM, "rank %d: out of memory",
                                   m->rank);
    }
    soa__idmap_free(&m->moves);
    return 0;
}

/* Columns of every agreed component, plus one (the gid's): at most
 * 60000 x 4096 + 1, no overflow. */
static size_t all_cols(const soa__shard *m)
{
    size_t n = 1;
    for (uint32_t idx = 0; idx < m->ncomps; idx++)
        n += m->ncols[idx];
    return n;
}

/* How the rows of one table pack: per agreed component it has (indexes
 * rising), its bitset's and its columns' offsets in a block, and the
 * bytes of a record.  Tables are never destroyed, so `t` names one for
 * the world's life; departures come table by table, so the plan is
 * rarely redone. */
typedef struct pack_plan {
    const soa_table *t;
    uint32_t n;
    uint32_t *idx;
    size_t *bit;  /* SIZE_MAX: a tag */
    size_t *col0; /* first column in off[] */
    size_t *off;
    size_t bytes;
} pack_plan;

static void pack_plan_free(pack_plan *pp)
{
    free(pp->idx);
    free(pp->bit);
    free(pp->col0);
    free(pp->off);
}

static int pack_plan_alloc(const soa__shard *m, pack_plan *pp)
{
    size_t c = m->ncomps ? m->ncomps : 1, ncols = all_cols(m);
    memset(pp, 0, sizeof *pp);
    pp->idx = malloc(c * sizeof *pp->idx);
    pp->bit = malloc(c * sizeof *pp->bit);
    pp->col0 = malloc(c * sizeof *pp->col0);
    pp->off = malloc(ncols * sizeof *pp->off);
    return pp->idx && pp->bit && pp->col0 && pp->off ? 0 : -1;
}

static void pack_plan_for(const soa__shard *m, pack_plan *pp,
                          const soa_table *t)
{
    size_t at = 0;
    pp->t = t;
    pp->n = 0;
    pp->bytes = 8 + 2;
    for (uint32_t k = 0; k < m->ncomps; k++) {
        soa_query one = {&m->cids[k], 1, NULL, 0};
        if (!soa__table_matches(t, &one))
            continue;
        pp->idx[pp->n] = k;
        pp->bit[pp->n] = m->ncols[k] ? soa__table_bit_offset(t, m->cids[k])
                                     : SIZE_MAX;
        pp->col0[pp->n] = at;
        for (uint32_t c = 0; pp->bit[pp->n] != SIZE_MAX && c < m->ncols[k];
             c++)
            pp->off[at++] = soa__table_col_offset(t, m->cids[k], c);
        pp->bytes += 2 + 1 + m->wsize[k];
        pp->n++;
    }
}

/* One migration record of entity e (alive) into b: its gid, then each
 * agreed component it has with its changed bit and value. */
static void pack_entity(soa__shard *m, pack_plan *pp, soa__wbuf *b,
                        soa_entity e, uint64_t g)
{
    const soa_table *t;
    size_t row;
    if (!soa__world_locate(m->w, e, &t, &row)) {
        soa__wbuf_u64(b, g); /* cannot happen: departures are alive */
        soa__wbuf_u16(b, 0);
        return;
    }
    if (t != pp->t)
        pack_plan_for(m, pp, t);
    unsigned char *out = soa__wbuf_put(b, pp->bytes);
    if (!out)
        return;
    const unsigned char *block = soa__table_block(t, row / SOA_BLOCK_ROWS);
    size_t i = row % SOA_BLOCK_ROWS;
    uint16_t n = (uint16_t)pp->n;
    memcpy(out, &g, 8);
    memcpy(out + 8, &n, 2);
    out += 10;
    for (uint32_t q = 0; q < pp->n; q++) {
        uint32_t k = pp->idx[q];
        uint16_t idx = (uint16_t)k;
        memcpy(out, &idx, 2);
        out[2] = pp->bit[q] != SIZE_MAX &&
                 soa_bitset_test((const uint64_t *)(const void *)(block +
                                                                 pp->bit[q]),
                                 i);
        out += 3;
        for (uint32_t c = 0; pp->bit[q] != SIZE_MAX && c < m->ncols[k]; c++) {
            const unsigned char *src = block + pp->off[pp->col0[q] + c];
            uint32_t size = m->plans[k][c].size;
            switch (size) { /* constant sizes: moves, not calls */
            case 4: memcpy(out, src + i * 4, 4); break;
            case 8: memcpy(out, src + i * 8, 8); break;
            case 2: memcpy(out, src + i * 2, 2); break;
            default: *out = src[i]; break;
            }
            out += size;
        }
        if (pp->bit[q] == SIZE_MAX) /* a tag: no bytes; else written */
            out += m->wsize[k];
    }
}

/* Whether rank s receives component idx from this rank. */
static bool subscribed(const soa__shard *m, int s, uint32_t idx, int from)
{
    int f = m->sub[(size_t)s * m->ncomps + idx];
    return f == SOA__ALL || f == from;
}

/* The changed rows of component idx into m->tmp (gid + value each);
 * returns how many, and clears their changed bits. */
static uint32_t pack_changed(soa__shard *m, uint32_t idx)
{
    uint32_t rows = 0;
    soa__walk w;
    soa__wbuf_reset(&m->tmp);
    soa__walk_begin(m, idx, &w);
    while (soa__walk_next(m, idx, &w)) {
        size_t end = w.c.end;
        for (size_t i = soa_bitset_next(w.changed, end, w.c.begin); i < end;
             i = soa_bitset_next(w.changed, end, i + 1)) {
            soa__wbuf_u64(&m->tmp, w.gids[i]);
            unsigned char *v = soa__wbuf_put(&m->tmp, m->wsize[idx]);
            if (v)
                soa__wire_from_cols(m->descs[idx], m->cols, i, v);
            rows++;
        }
    }
    soa_world_clear_changed(m->w, m->cids[idx]);
    return rows;
}

/* The changed rows of every subscribed component into their subscribers'
 * messages (clearing those bits: a row leaving this frame arrives
 * unchanged, as it was sent already); the count into nsec[]. */
static void pack_sections(soa__shard *m, uint32_t *nsec, soa__counts *st)
{
    for (uint32_t idx = 0; idx < m->ncomps; idx++) {
        bool any = false;
        for (int s = 0; s < m->size; s++)
            any = any || subscribed(m, s, idx, m->rank);
        if (!any || m->ncols[idx] == 0)
            continue;
        uint32_t rows = pack_changed(m, idx);
        for (int s = 0; s < m->size; s++) {
            if (!subscribed(m, s, idx, m->rank))
                continue;
            size_t before = m->out[s].len;
            soa__wbuf_u16(&m->out[s], (uint16_t)idx);
            soa__wbuf_u32(&m->out[s], rows);
            soa__wbuf_bytes(&m->out[s], m->tmp.p, m->tmp.len);
            nsec[s]++;
            st->replicated_out += rows;
            if (s != m->rank)
                st->replication_bytes += m->out[s].len - before;
        }
    }
}

/* Every destination's message into m->out[]; stats counted. */
static int pack_all(soa__shard *m, soa__departures *f, soa__counts *st)
{
    size_t n = (size_t)m->size;
    uint32_t *nsec = calloc(n, sizeof *nsec), *nmig = calloc(n, sizeof *nmig);
    size_t *mig_at = calloc(n, sizeof *mig_at);
    pack_plan pp;
    int rc = 0;
    if (pack_plan_alloc(m, &pp) != 0 || !nsec || !nmig || !mig_at) {
        rc = soa__shard_fail(m, ENOMEM, "rank %d: out of memory", m->rank);
        goto done;
    }
    for (size_t r = 0; r < n; r++) {
        soa__wbuf_reset(&m->out[r]);
        soa__wbuf_u32(&m->out[r], 0); /* nsec, filled in below */
    }
    pack_sections(m, nsec, st);
    for (size_t r = 0; r < n; r++) {
        mig_at[r] = m->out[r].len;
        soa__wbuf_u32(&m->out[r], 0); /* nmig, filled in below */
    }
    for (size_t k = 0; k < f->n; k++) {
        soa__wbuf *b = &m->out[f->out[k].to];
        size_t before = b->len;
        pack_entity(m, &pp, b, f->out[k].e, f->out[k].g);
        nmig[f->out[k].to]++;
        st->migration_bytes += b->len - before;
    }
    for (size_t r = 0; r < n; r++) {
        soa__wbuf *b = &m->out[r];
        if (m->tmp.failed || b->failed) {
            rc = soa__shard_fail(m, ENOMEM, "rank %d: out of memory", m->rank);
            break;
        }
        if (nmig[r] == 0 && nsec[r] == 0) {
            b->len = 0; /* nothing for r: no bytes at all */
            continue;
        }
        memcpy(b->p, &nsec[r], 4);
        memcpy(b->p + mig_at[r], &nmig[r], 4);
        if ((int)r != m->rank) /* the two counts */
            *(nmig[r] ? &st->migration_bytes : &st->replication_bytes) += 8;
    }
done:
    pack_plan_free(&pp);
    free(nsec);
    free(nmig);
    free(mig_at);
    return rc;
}

/* ---- arriving ------------------------------------------------------ */

/* The component list of one migration record (after its gid and ncomp):
 * checked, and the cids into cids[] when not NULL. */
static int parse_comps(soa__shard *m, soa__rbuf *r, int from, uint64_t g,
                       uint16_t ncomp, soa_cid *cids)
{
    int last = -1;
    for (uint16_t j = 0; j < ncomp; j++) {
        uint16_t idx = soa__rbuf_u16(r);
        const unsigned char *bit = soa__rbuf_get(r, 1);
        const unsigned char *v =
            idx < m->ncomps ? soa__rbuf_get(r, m->wsize[idx]) : NULL;
        if (r->bad || idx >= m->ncomps || (int)idx <= last || !bit ||
            *bit > 1 || (m->wsize[idx] && !v) ||
            (v && !soa__wire_valid(m->descs[idx], v)))
            return soa__shard_fail(m, EPROTO, "rank %d sent a bad component "
                                   "(index %u) of entity 0x%llx", from, idx,
                                   (unsigned long long)g);
        if (cids)
            cids[j] = m->cids[idx];
        last = idx;
    }
    return 0;
}

/* Consecutive arriving records with one component set, spawned together
 * into their table (one soa_world_spawn_n, not one per entity) and filled
 * through the columns of each block, looked up once per block. */
typedef struct arrivals {
    soa_cid *cids, *set; /* a record's set; the run's (ncomps + 1 each) */
    uint16_t nset;
    uint64_t *gids;
    size_t *from; /* where each record's component list begins */
    soa_entity *es;
    size_t n;
    /* the block being filled: per set position (the gid's last) its
     * first column in cols[] and its changed bitset */
    const unsigned char *block;
    size_t *col0;
    void **cols;
    uint64_t **bits;
} arrivals;

static void arrivals_free(arrivals *a)
{
    free(a->cids);
    free(a->set);
    free(a->gids);
    free(a->from);
    free(a->es);
    free(a->col0);
    free(a->cols);
    free(a->bits);
}

static int arrivals_alloc(arrivals *a, const soa__shard *m, size_t n)
{
    memset(a, 0, sizeof *a);
    size_t c = (size_t)m->ncomps + 1, k = n ? n : 1, ncols = all_cols(m);
    a->cids = malloc(c * sizeof *a->cids);
    a->set = malloc(c * sizeof *a->set);
    a->gids = malloc(k * sizeof *a->gids);
    a->from = malloc(k * sizeof *a->from);
    a->es = malloc(k * sizeof *a->es);
    a->col0 = malloc(c * sizeof *a->col0);
    a->cols = malloc(ncols * sizeof *a->cols);
    a->bits = malloc(c * sizeof *a->bits);
    return a->cids && a->set && a->gids && a->from && a->es &&
                   a->col0 && a->cols && a->bits
               ? 0
               : -1;
}

/* Points a->cols and a->bits at the block of e's row (a row of the run's
 * table, just spawned) unless they point there already; e's index in it. */
static size_t run_row(soa__shard *m, arrivals *a, soa_entity e)
{
    const soa_table *t;
    size_t row, i = 0, at = 0;
    bool alive = soa__world_locate(m->w, e, &t, &row);
    assert(alive);
    (void)alive;
    const unsigned char *block = soa__table_block(t, row / SOA_BLOCK_ROWS);
    if (block == a->block)
        return row % SOA_BLOCK_ROWS;
    a->block = block;
    for (uint16_t q = 0; q <= a->nset; q++) {
        uint32_t nc = q < a->nset ? m->ncols[m->idx_of[a->set[q]]] : 1;
        a->col0[q] = at;
        a->bits[q] = NULL;
        if (nc && !soa__row_of(m->w, e, a->set[q], nc, a->cols + at,
                               &a->bits[q], &i))
            a->bits[q] = NULL; /* cannot happen: the set has columns */
        at += nc;
    }
    return row % SOA_BLOCK_ROWS;
}

/* Record j of the run (its component list parsed already) into its row,
 * es[j]: the gid claimed in the map (reserved: no ENOMEM), the values and
 * changed bits.  A gid left by a despawn through the world is taken over;
 * -1 (EPROTO), nothing written, when it arrived earlier in this frame. */
static int fill(soa__shard *m, arrivals *a, size_t j, const unsigned char *p)
{
    uint64_t *local = soa__idmap_slot(&m->ids, a->gids[j]);
    if (*local != SOA_ENTITY_NULL && soa_world_alive(m->w, *local)) {
        errno = EPROTO;
        return -1;
    }
    *local = a->es[j];
    size_t i = run_row(m, a, a->es[j]);
    const unsigned char *rec = p + a->from[j];
    for (uint16_t q = 0; q < a->nset; q++) {
        uint16_t idx;
        memcpy(&idx, rec, sizeof idx);
        unsigned char bit = rec[2];
        rec += 3;
        if (a->bits[q]) {
            soa__plan_from_wire(m->plans[idx], m->ncols[idx], rec,
                                a->cols + a->col0[q], i);
            if (bit)
                soa_bitset_set(a->bits[q], i);
            else
                soa_bitset_clear(a->bits[q], i);
        }
        rec += m->wsize[idx];
    }
    ((uint64_t *)a->cols[a->col0[a->nset]])[i] = a->gids[j];
    soa_bitset_clear(a->bits[a->nset], i);
    return 0;
}

/* Spawns the run and fills its rows, prefetching the map a few gids
 * ahead; -1 with errno, the run despawned from the failing record on. */
static int arrivals_flush(soa__shard *m, arrivals *a, const unsigned char *p,
                          size_t *arrived)
{
    if (a->n == 0)
        return 0;
    a->set[a->nset] = m->gid_cid;
    if (soa_world_spawn_n(m->w, a->set, a->nset + 1u, a->n, a->es) != 0)
        return -1;
    int rc = 0;
    a->block = NULL;
    for (size_t j = 0; j < a->n; j++) {
        if (j + SOA__IDMAP_AHEAD < a->n)
            soa__idmap_prefetch(&m->ids, a->gids[j + SOA__IDMAP_AHEAD]);
        if (rc == 0 && fill(m, a, j, p) != 0)
            rc = -1;
        if (rc != 0)
            soa_world_despawn(m->w, a->es[j]);
        else
            (*arrived)++;
    }
    a->n = 0;
    return rc;
}

/* Adds a parsed record (component set in a->cids) to the run, flushing
 * the run first when its set differs. */
static int arrivals_add(soa__shard *m, arrivals *a, const unsigned char *p,
                        uint64_t g, uint16_t ncomp, size_t from,
                        size_t *arrived)
{
    if (a->n && (ncomp != a->nset ||
                 memcmp(a->cids, a->set, ncomp * sizeof *a->cids) != 0) &&
        arrivals_flush(m, a, p, arrived) != 0)
        return -1;
    if (a->n == 0) {
        memcpy(a->set, a->cids, ncomp * sizeof *a->cids);
        a->nset = ncomp;
    }
    a->gids[a->n] = g;
    a->from[a->n] = from;
    a->n++;
    return 0;
}

/* The check of a message's migration records (collected in a->gids,
 * a->from): none may live here already.  The map is looked up a batch at
 * a time, prefetched a few gids ahead. */
static int check_absent(soa__shard *m, const arrivals *a,
                        const unsigned char *p, int from)
{
    for (size_t k = 0; k < a->n; k++) {
        if (k + SOA__IDMAP_AHEAD < a->n)
            soa__idmap_prefetch(&m->ids, a->gids[k + SOA__IDMAP_AHEAD]);
        if (soa__shard_local(m, a->gids[k]) == SOA_ENTITY_NULL)
            continue;
        uint16_t ncomp;
        memcpy(&ncomp, p + a->from[k] - 2, sizeof ncomp);
        return soa__shard_fail(m, EPROTO, "rank %d sent a bad migration "
                               "record (entity 0x%llx, %u components): it "
                               "already lives here", from,
                               (unsigned long long)a->gids[k], ncomp);
    }
    return 0;
}

/* Parses rank `from`'s migrations; applies them when `apply` (after a
 * parse without it succeeded).  -1 names what is wrong. */
static int parse_migrations(soa__shard *m, soa__rbuf *r, int from, bool apply,
                            size_t *arrived)
{
    uint32_t nmig = soa__rbuf_u32(r);
    if (r->bad || nmig > soa__rbuf_left(r) / 10)
        return soa__shard_fail(m, EPROTO, "rank %d sent %u migrations in %zu "
                               "bytes", from, nmig, soa__rbuf_left(r));
    arrivals a;
    if (arrivals_alloc(&a, m, nmig) != 0 ||
        (apply && soa__idmap_reserve(&m->ids, nmig) != 0)) {
        arrivals_free(&a);
        return soa__shard_fail(m, ENOMEM, "rank %d: out of memory", m->rank);
    }
    int rc = 0;
    bool applying = false; /* a failure of arrivals_add or _flush */
    for (uint32_t k = 0; k < nmig && rc == 0; k++) {
        uint64_t g = soa__rbuf_u64(r);
        uint16_t ncomp = soa__rbuf_u16(r);
        size_t start = r->at;
        if (r->bad || g == 0 || ncomp > m->ncomps) {
            rc = soa__shard_fail(m, EPROTO, "rank %d sent a bad migration "
                                 "record (entity 0x%llx, %u components)",
                                 from, (unsigned long long)g, ncomp);
            break;
        }
        rc = parse_comps(m, r, from, g, ncomp, a.cids);
        if (rc == 0 && !apply) { /* checked below, a batch at a time */
            a.gids[a.n] = g;
            a.from[a.n++] = start;
        } else if (rc == 0 &&
                   arrivals_add(m, &a, r->p, g, ncomp, start, arrived))
            rc = -1, applying = true;
    }
    if (rc == 0 && !apply)
        rc = check_absent(m, &a, r->p, from);
    if (rc == 0 && apply && arrivals_flush(m, &a, r->p, arrived) != 0)
        rc = -1, applying = true;
    /* the check passed, so a gid that lives here arrived twice this frame */
    if (applying && errno == EPROTO)
        soa__shard_fail(m, EPROTO, "rank %d sent one entity twice", from);
    else if (applying)
        soa__shard_fail(m, errno, "rank %d: out of memory", m->rank);
    arrivals_free(&a);
    return rc;
}

static int grow_replica(soa__replica *p, size_t more, size_t size)
{
    size_t need, bytes;
    if (!soa_add_ok(p->n, more, &need))
        return -1;
    if (need <= p->cap)
        return 0;
    size_t cap = p->cap ? p->cap : 64;
    while (cap < need)
        cap *= 2;
    uint64_t *g = realloc(p->gids, cap * sizeof *g);
    if (g)
        p->gids = g;
    int *r = realloc(p->ranks, cap * sizeof *r);
    if (r)
        p->ranks = r;
    unsigned char *v = soa_mul_ok(cap, size ? size : 1, &bytes)
                           ? realloc(p->values, bytes) : NULL;
    if (v)
        p->values = v;
    if (!g || !r || !v)
        return -1;
    p->cap = cap;
    return 0;
}

/* One replicated section's rows (parsed header: idx, rows, p) checked,
 * and kept when `apply`. */
static int take_rows(soa__shard *m, int from, uint16_t idx, uint32_t rows,
                     const unsigned char *p, bool apply)
{
    soa__replica *rep = &m->rep[idx];
    size_t size = m->descs[idx]->size, per = 8 + m->wsize[idx];
    if (apply && grow_replica(rep, rows, size) != 0)
        return soa__shard_fail(m, ENOMEM, "rank %d: out of memory", m->rank);
    for (uint32_t j = 0; j < rows; j++, p += per) {
        uint64_t g;
        memcpy(&g, p, 8);
        if (g == 0 || !soa__wire_valid(m->descs[idx], p + 8))
            return soa__shard_fail(m, EPROTO, "rank %d sent a bad row of '%s'",
                                   from, m->descs[idx]->name);
        if (!apply)
            continue;
        rep->gids[rep->n] = g;
        rep->ranks[rep->n] = from;
        soa__wire_to_value(m->descs[idx], p + 8, rep->values + rep->n * size);
        rep->n++;
    }
    return 0;
}

static int parse_sections(soa__shard *m, soa__rbuf *r, int from, bool apply,
                          size_t *rows_in)
{
    uint32_t nsec = soa__rbuf_u32(r);
    if (r->bad || nsec > m->ncomps)
        return soa__shard_fail(m, EPROTO, "rank %d sent %u replicated "
                               "components (%u exist)", from, nsec, m->ncomps);
    for (uint32_t k = 0; k < nsec; k++) {
        uint16_t idx = soa__rbuf_u16(r);
        uint32_t rows = soa__rbuf_u32(r);
        size_t bytes;
        if (r->bad || idx >= m->ncomps || !subscribed(m, m->rank, idx, from))
            return soa__shard_fail(m, EPROTO, "rank %d sent rows of component "
                                   "%u, which this rank (%d) did not subscribe "
                                   "to from it", from, idx, m->rank);
        if (!soa_mul_ok(8 + m->wsize[idx], rows, &bytes) ||
            bytes > soa__rbuf_left(r))
            return soa__shard_fail(m, EPROTO, "rank %d sent %u rows of '%s' in "
                                   "%zu bytes", from, rows, m->descs[idx]->name,
                                   soa__rbuf_left(r));
        if (take_rows(m, from, idx, rows, soa__rbuf_get(r, bytes), apply))
            return -1;
        if (apply)
            *rows_in += rows;
    }
    return 0;
}
int soa__shard_pack(soa__shard *m, soa__departures *f, soa__counts *st)
{
    f->n = 0;
    if (check_registered(m) != 0 ||
        ((m->rule || m->rule_cols) && by_rule(m, f) != 0) ||
        by_request(m, f) != 0)
        return -1;
    m->every_row = false;
    st->migrated_out = f->n;
    return pack_all(m, f, st);
}

static bool lives(void *w, uint64_t gid, uint64_t e)
{
    (void)gid;
    return soa_world_alive(w, e);
}

void soa__shard_depart(soa__shard *s, const soa__departures *d)
{
    for (size_t k = 0; k < d->n; k++)
        soa_world_despawn(s->w, d->out[k].e);
    /* Many leaving (an eighth of the map's slots: a slot scanned costs a
     * small fraction of a cache miss): one pass over the map drops every
     * gid whose entity is gone, also those despawned through the world
     * (never alive again).  A few: each is looked up, prefetched a batch
     * ahead. */
    if (d->n && d->n >= s->ids.cap / 8) {
        soa__idmap_sweep(&s->ids, lives, s->w);
        return;
    }
    for (size_t k = 0; k < d->n; k++) {
        if (k + SOA__IDMAP_AHEAD < d->n)
            soa__idmap_prefetch(&s->ids, d->out[k + SOA__IDMAP_AHEAD].g);
        soa__idmap_del(&s->ids, d->out[k].g);
    }
}

void soa__shard_reset_replicas(soa__shard *s)
{
    for (uint32_t k = 0; k < s->ncomps; k++)
        s->rep[k].n = 0;
}

int soa__shard_receive(soa__shard *s, int from, const unsigned char *p,
                       size_t len, bool apply, soa__counts *c)
{
    soa__rbuf r = soa__rbuf_of(p, len);
    if (from < 0 || from >= s->size)
        return soa__shard_fail(s, EINVAL, "a message from rank %d", from);
    if (len == 0)
        return 0;
    if (parse_sections(s, &r, from, apply, &c->replicated_in) != 0 ||
        parse_migrations(s, &r, from, apply, &c->migrated_in) != 0)
        return -1;
    if (soa__rbuf_left(&r) != 0)
        return soa__shard_fail(s, EPROTO, "rank %d sent %zu bytes, of which "
                               "the last %zu do not parse", from, len,
                               soa__rbuf_left(&r));
    return 0;
}
