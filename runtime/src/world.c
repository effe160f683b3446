/*
 * world.c: the reference ECS world.
 *
 * Entities live in slots.  A slot holds its generation and, while free, the
 * index of the next free slot (a LIFO free list); a live slot's `next` is
 * SLOT_ALIVE.  A handle is (generation << 32 | index) and is alive only when
 * the slot is live with that generation, so a despawned handle stays dead
 * after its slot is reused.  A slot whose generation would wrap is retired
 * rather than reused, so no handle ever comes back to life.
 *
 * Each component is a sparse set: sparse[slot] is the entity's row in the
 * dense arrays (or NO_ROW), values holds one AoS value per row and ents the
 * row's entity.  Rows are kept packed by moving the last row into a hole.
 *
 * Every array grows geometrically through the world's soa_alloc (which has
 * no realloc: a grow is alloc + copy + free), and every size is checked for
 * overflow before it is used.
 */
#include <errno.h>
#include <stdatomic.h>
#include <string.h>

#include "soa/world.h"
#include "internal.h"

/* A slot's `next`: the free-list link, or one of three marks.  Slot indices
 * stay below all of them. */
#define SLOT_ALIVE UINT32_MAX
#define NO_SLOT (UINT32_MAX - 1u)      /* end of the free list */
#define SLOT_RETIRED (UINT32_MAX - 2u) /* generations used up: never reused */
#define MAX_SLOTS ((size_t)UINT32_MAX - 2u)
#define NO_ROW UINT32_MAX

typedef struct slot {
    uint32_t gen;  /* >= 1 */
    uint32_t next; /* SLOT_ALIVE, or the next free slot (NO_SLOT ends) */
} slot;

typedef struct comp {
    const soa_component_desc *desc;
    size_t size, align;  /* size 0: a tag, no values */
    uint32_t *sparse;    /* slot -> row, NO_ROW when absent */
    size_t sparse_cap;   /* slots covered by sparse */
    unsigned char *values;
    soa_entity *ents;
    size_t count, cap;   /* rows used, rows allocated */
    uint64_t version;    /* bumped when a row loses its entity (removal) */
    uint64_t shape;      /* bumped when a row is added or removed */
} comp;

struct soa_world {
    soa_alloc *alloc;
    uint64_t serial;     /* unique among the worlds of this process */
    slot *slots;
    size_t nslots, slots_cap;
    uint32_t free_head;
    size_t live;
    comp *comps;
    size_t ncomps, comps_cap;
};

/* What soa_world_add returns for a tag: a valid address nobody reads. */
static unsigned char tag_value;

/* The last world serial handed out; serials start at 1, so a zeroed
 * soa__stamp matches no world. */
static _Atomic uint64_t last_serial;

/* ---- memory -------------------------------------------------------- */

/* A capacity of at least `need`, doubling from `cur` (minimum 16), capped at
 * `max`; 0 when `need` exceeds `max`. */
static size_t next_cap(size_t cur, size_t need, size_t max)
{
    if (need > max)
        return 0;
    size_t c = cur < 16 ? 16 : cur;
    while (c < need)
        c = c > max / 2 ? max : c * 2;
    return c;
}

/* ---- handles ------------------------------------------------------- */

static soa_entity make_handle(uint32_t index, uint32_t gen)
{
    return (soa_entity)gen << 32 | index;
}

/* The slot of a live handle, or NULL. */
static const slot *live_slot(const soa_world *w, soa_entity e)
{
    if (!w)
        return NULL;
    uint32_t i = soa_entity_index(e);
    if (i >= w->nslots)
        return NULL;
    const slot *s = &w->slots[i];
    if (s->next != SLOT_ALIVE || s->gen != soa_entity_generation(e))
        return NULL;
    return s;
}

static comp *comp_of(const soa_world *w, soa_cid cid)
{
    return w && cid < w->ncomps ? &w->comps[cid] : NULL;
}

/* The row of slot `i` in c, or NO_ROW. */
static uint32_t row_of(const comp *c, uint32_t i)
{
    return i < c->sparse_cap ? c->sparse[i] : NO_ROW;
}

static void *value_at(const comp *c, size_t row)
{
    return c->size ? c->values + row * c->size : &tag_value;
}

/* ---- lifetime ------------------------------------------------------ */

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
    w->free_head = NO_SLOT;
    return w;
}

soa_alloc *soa_world_allocator(const soa_world *w)
{
    return w ? w->alloc : NULL;
}

static void comp_free(soa_alloc *a, comp *c)
{
    a->free(a, c->sparse, c->sparse_cap * sizeof *c->sparse);
    a->free(a, c->values, c->cap * c->size);
    a->free(a, c->ents, c->cap * sizeof *c->ents);
}

void soa_world_destroy(soa_world *w)
{
    if (!w)
        return;
    soa_alloc *a = w->alloc;
    for (size_t i = 0; i < w->ncomps; i++)
        comp_free(a, &w->comps[i]);
    a->free(a, w->comps, w->comps_cap * sizeof *w->comps);
    a->free(a, w->slots, w->slots_cap * sizeof *w->slots);
    a->free(a, w, sizeof *w);
}

/* ---- components ---------------------------------------------------- */

static bool desc_ok(const soa_component_desc *d)
{
    if (!d || !d->name || !d->name[0])
        return false;
    if (d->size == 0)
        return true;
    /* A value's alignment is a power of two that divides its size. */
    return d->align && (d->align & (d->align - 1)) == 0 &&
           d->size % d->align == 0;
}

soa_cid soa_world_lookup(const soa_world *w, const char *name)
{
    if (!w || !name)
        return SOA_CID_INVALID;
    for (size_t i = 0; i < w->ncomps; i++)
        if (strcmp(w->comps[i].desc->name, name) == 0)
            return (soa_cid)i;
    return SOA_CID_INVALID;
}

soa_cid soa_world_register(soa_world *w, const soa_component_desc *desc)
{
    if (!w || !desc_ok(desc)) {
        errno = EINVAL;
        return SOA_CID_INVALID;
    }
    soa_cid cid = soa_world_lookup(w, desc->name);
    if (cid != SOA_CID_INVALID) {
        const soa_component_desc *old = w->comps[cid].desc;
        if (old->layout_hash != desc->layout_hash || old->size != desc->size ||
            old->align != desc->align) {
            errno = EINVAL;
            return SOA_CID_INVALID;
        }
        return cid;
    }
    if (w->ncomps == w->comps_cap) {
        size_t cap = next_cap(w->comps_cap, w->ncomps + 1, SOA_CID_INVALID);
        if (!cap || soa__grow_array(w->alloc, (void **)&w->comps, sizeof(comp),
                                    _Alignof(comp), w->comps_cap, cap) != 0) {
            errno = ENOMEM;
            return SOA_CID_INVALID;
        }
        w->comps_cap = cap;
    }
    comp *c = &w->comps[w->ncomps];
    memset(c, 0, sizeof *c);
    c->desc = desc;
    c->size = desc->size;
    c->align = desc->size ? desc->align : 1;
    return (soa_cid)w->ncomps++;
}

const soa_component_desc *soa_world_desc(const soa_world *w, soa_cid cid)
{
    const comp *c = comp_of(w, cid);
    return c ? c->desc : NULL;
}

/* ---- entities ------------------------------------------------------ */

soa_entity soa_world_spawn(soa_world *w)
{
    if (!w) {
        errno = EINVAL;
        return SOA_ENTITY_NULL;
    }
    uint32_t i;
    if (w->free_head != NO_SLOT) {
        i = w->free_head;
        w->free_head = w->slots[i].next;
    } else {
        if (w->nslots == w->slots_cap) {
            size_t cap = next_cap(w->slots_cap, w->nslots + 1, MAX_SLOTS);
            if (!cap || soa__grow_array(w->alloc, (void **)&w->slots, sizeof(slot),
                                        _Alignof(slot), w->slots_cap, cap) != 0) {
                errno = ENOMEM;
                return SOA_ENTITY_NULL;
            }
            w->slots_cap = cap;
        }
        i = (uint32_t)w->nslots++;
        w->slots[i].gen = 1;
    }
    w->slots[i].next = SLOT_ALIVE;
    w->live++;
    return make_handle(i, w->slots[i].gen);
}

bool soa_world_alive(const soa_world *w, soa_entity e)
{
    return live_slot(w, e) != NULL;
}

size_t soa_world_entities(const soa_world *w)
{
    return w ? w->live : 0;
}

/* Removes row `row` of c (held by slot i), moving the last row into it.
 * Rows change entities here and nowhere else: the version says so. */
static void comp_remove_row(comp *c, uint32_t i, uint32_t row)
{
    size_t last = c->count - 1;
    c->version++;
    c->shape++;
    if (row != last) {
        soa_entity moved = c->ents[last];
        c->ents[row] = moved;
        if (c->size)
            memcpy(c->values + (size_t)row * c->size,
                   c->values + last * c->size, c->size);
        c->sparse[soa_entity_index(moved)] = row;
    }
    c->sparse[i] = NO_ROW;
    c->count = last;
}

void soa_world_despawn(soa_world *w, soa_entity e)
{
    if (!live_slot(w, e))
        return;
    uint32_t i = soa_entity_index(e);
    for (size_t k = 0; k < w->ncomps; k++) {
        comp *c = &w->comps[k];
        uint32_t row = row_of(c, i);
        if (row != NO_ROW)
            comp_remove_row(c, i, row);
    }
    slot *s = &w->slots[i];
    w->live--;
    if (s->gen == UINT32_MAX) {
        /* Every generation of this slot was used: retire it for good. */
        s->next = SLOT_RETIRED;
        return;
    }
    s->gen++;
    s->next = w->free_head;
    w->free_head = i;
}

/* ---- values -------------------------------------------------------- */

/* Makes room for one more row and for slot i in sparse. */
static int comp_reserve(soa_alloc *a, comp *c, uint32_t i)
{
    if (i >= c->sparse_cap) {
        size_t cap = next_cap(c->sparse_cap, (size_t)i + 1, MAX_SLOTS);
        size_t old = c->sparse_cap;
        if (!cap || soa__grow_array(a, (void **)&c->sparse, sizeof *c->sparse,
                                    _Alignof(uint32_t), old, cap) != 0)
            return -1;
        for (size_t k = old; k < cap; k++)
            c->sparse[k] = NO_ROW;
        c->sparse_cap = cap;
    }
    if (c->count == c->cap) {
        /* Both arrays are grown before either replaces its old block, so a
         * failure leaves the component exactly as it was. */
        size_t cap = next_cap(c->cap, c->count + 1, NO_ROW);
        if (!cap)
            return -1;
        void *vals = NULL, *ents;
        if (c->size) {
            vals = soa__copy_grown(a, c->values, c->size, c->align, c->cap, cap);
            if (!vals)
                return -1;
        }
        ents = soa__copy_grown(a, c->ents, sizeof *c->ents,
                               _Alignof(soa_entity), c->cap, cap);
        if (!ents) {
            a->free(a, vals, cap * c->size);
            return -1;
        }
        a->free(a, c->values, c->cap * c->size);
        a->free(a, c->ents, c->cap * sizeof *c->ents);
        c->values = vals;
        c->ents = ents;
        c->cap = cap;
    }
    return 0;
}

void *soa_world_add(soa_world *w, soa_entity e, soa_cid cid)
{
    comp *c = comp_of(w, cid);
    if (!c) {
        errno = EINVAL;
        return NULL;
    }
    if (!live_slot(w, e)) {
        errno = ESRCH;
        return NULL;
    }
    uint32_t i = soa_entity_index(e);
    uint32_t row = row_of(c, i);
    if (row != NO_ROW)
        return value_at(c, row);
    if (comp_reserve(w->alloc, c, i) != 0) {
        errno = ENOMEM;
        return NULL;
    }
    row = (uint32_t)c->count++;
    c->shape++;
    c->sparse[i] = row;
    c->ents[row] = e;
    void *v = value_at(c, row);
    if (c->size) {
        if (c->desc->defaults)
            memcpy(v, c->desc->defaults, c->size);
        else
            memset(v, 0, c->size);
    }
    return v;
}

int soa_world_set(soa_world *w, soa_entity e, soa_cid cid, const void *value)
{
    comp *c = comp_of(w, cid);
    if (c && c->size && !value) {
        errno = EINVAL;
        return -1;
    }
    /* `value` may point into this component's own storage (a copy from
     * another entity), which adding can move: keep its row instead. */
    size_t src_row = SIZE_MAX;
    if (c && c->size && c->count) {
        uintptr_t p = (uintptr_t)value, lo = (uintptr_t)c->values;
        if (p >= lo && p < lo + c->count * c->size)
            src_row = (p - lo) / c->size;
    }
    void *v = soa_world_add(w, e, cid);
    if (!v)
        return -1;
    if (src_row != SIZE_MAX)
        value = value_at(c, src_row);
    if (c->size)
        memmove(v, value, c->size);
    return 0;
}

const void *soa_world_get_const(const soa_world *w, soa_entity e, soa_cid cid)
{
    const comp *c = comp_of(w, cid);
    if (!c || !live_slot(w, e))
        return NULL;
    uint32_t row = row_of(c, soa_entity_index(e));
    return row == NO_ROW ? NULL : value_at(c, row);
}

void *soa_world_get(soa_world *w, soa_entity e, soa_cid cid)
{
    return (void *)soa_world_get_const(w, e, cid);
}

bool soa_world_has(const soa_world *w, soa_entity e, soa_cid cid)
{
    return soa_world_get_const(w, e, cid) != NULL;
}

int soa_world_remove(soa_world *w, soa_entity e, soa_cid cid)
{
    comp *c = comp_of(w, cid);
    if (!c) {
        errno = EINVAL;
        return -1;
    }
    if (!live_slot(w, e)) {
        errno = ESRCH;
        return -1;
    }
    uint32_t i = soa_entity_index(e);
    uint32_t row = row_of(c, i);
    if (row == NO_ROW) {
        errno = ENOENT;
        return -1;
    }
    comp_remove_row(c, i, row);
    return 0;
}

size_t soa_world_count(const soa_world *w, soa_cid cid)
{
    const comp *c = comp_of(w, cid);
    return c ? c->count : 0;
}

void *soa__world_values(soa_world *w, soa_cid cid)
{
    comp *c = comp_of(w, cid);
    return c && c->size ? c->values : NULL;
}

void soa__world_stamp(const soa_world *w, soa_cid cid, soa__stamp *st)
{
    const comp *c = comp_of(w, cid);
    if (!st)
        return;
    st->world = c ? w->serial : 0;
    st->version = c ? c->version : 0;
    st->shape = c ? c->shape : 0;
    st->cid = c ? cid : SOA_CID_INVALID;
}

bool soa__world_same_shape(const soa_world *w, const soa__stamp *st, size_t n)
{
    if (!w || !st || !n)
        return false;
    for (size_t k = 0; k < n; k++) {
        const comp *c = comp_of(w, st[k].cid);
        if (!c || st[k].world != w->serial || c->shape != st[k].shape)
            return false;
    }
    return true;
}

void *soa__world_values_stamped(soa_world *w, const soa__stamp *st)
{
    if (!w || !st || st->world != w->serial)
        return NULL;
    comp *c = comp_of(w, st->cid);
    if (!c || !c->size || c->version != st->version)
        return NULL;
    return c->values;
}

/* ---- queries ------------------------------------------------------- */

/* The iterator walks rows [pos, end) of component `lead`'s dense list, or
 * slots [pos, end) when the query has no `all` term (lead is then
 * SOA_CID_INVALID).  end is fixed at begin: the world must not change
 * structure while an iterator is in use. */

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

size_t soa_query_begin(const soa_world *w, const soa_query *q,
                       soa_query_iter *it)
{
    if (!it)
        return 0;
    memset(it, 0, sizeof *it);
    it->lead = SOA_CID_INVALID;
    if (!w || !q || !query_valid(w, q))
        return 0; /* pos == end == 0: yields nothing */
    it->w = w;
    it->q = *q;
    if (q->nall == 0) {
        it->end = w->nslots;
        return w->live;
    }
    soa_cid lead = q->all[0];
    for (uint32_t k = 1; k < q->nall; k++)
        if (w->comps[q->all[k]].count < w->comps[lead].count)
            lead = q->all[k];
    it->lead = lead;
    it->end = w->comps[lead].count;
    return it->end;
}

/* Whether slot i has none of q's `none` components. */
static bool lacks_none(const soa_world *w, const soa_query *q, uint32_t i)
{
    for (uint32_t k = 0; k < q->nnone; k++)
        if (row_of(&w->comps[q->none[k]], i) != NO_ROW)
            return false;
    return true;
}

/* Whether slot i (live) matches every term; the lead's row is lead_row.
 * When values is not NULL, values[k] gets the value of all[k]. */
static bool matches(const soa_world *w, const soa_query *q, soa_cid lead,
                    uint32_t lead_row, uint32_t i, void **values)
{
    for (uint32_t k = 0; k < q->nall; k++) {
        const comp *c = &w->comps[q->all[k]];
        uint32_t row = q->all[k] == lead ? lead_row : row_of(c, i);
        if (row == NO_ROW)
            return false;
        if (values)
            values[k] = value_at(c, row);
    }
    return lacks_none(w, q, i);
}

bool soa_query_next_values(soa_query_iter *it, soa_entity *e, void **values)
{
    if (!it || !it->w)
        return false;
    const soa_world *w = it->w;
    while (it->pos < it->end) {
        size_t p = it->pos++;
        soa_entity cand;
        if (it->lead == SOA_CID_INVALID) {
            const slot *s = &w->slots[p];
            if (s->next != SLOT_ALIVE)
                continue;
            cand = make_handle((uint32_t)p, s->gen);
        } else {
            cand = w->comps[it->lead].ents[p];
        }
        if (matches(w, &it->q, it->lead, (uint32_t)p, soa_entity_index(cand),
                    values)) {
            if (e)
                *e = cand;
            return true;
        }
    }
    return false;
}

size_t soa_query_fetch(soa_query_iter *it, soa_entity *ents, void **values,
                       size_t max)
{
    if (!it || !ents)
        return 0;
    size_t n = 0;
    while (n < max &&
           soa_query_next_values(it, &ents[n],
                                 values ? values + n * it->q.nall : NULL))
        n++;
    return n;
}

/* Whether candidate j of a fetch_rows pass matches: every `all` row found
 * and no `none` component present. */
static bool pass_match(const soa_world *w, const soa_query *q,
                       const uint32_t *rows, size_t max, soa_entity e)
{
    for (uint32_t k = 0; k < q->nall; k++)
        if (rows[(size_t)k * max] == NO_ROW)
            return false;
    return lacks_none(w, q, soa_entity_index(e));
}

/* Whether rows r[0 .. n) run on from r[0]. */
static bool rows_run(const uint32_t *r, size_t n)
{
    uint32_t first = n ? r[0] : 0, bad = 0;
    for (size_t j = 1; j < n; j++)
        bad |= r[j] ^ (first + (uint32_t)j);
    return bad == 0;
}

size_t soa__query_fetch_rows(soa_query_iter *it, soa_entity *ents,
                            uint32_t *rows, size_t max, uint64_t *runs)
{
    if (runs)
        *runs = 0;
    if (!it || !it->w || !ents || (!rows && it->q.nall))
        return 0;
    if (it->lead == SOA_CID_INVALID) {
        /* No `all` term, so no rows: the slot walk of soa_query_next. */
        size_t n = 0;
        while (n < max && soa_query_next(it, &ents[n]))
            n++;
        return n;
    }
    /* Column by column over a run of the lead's dense list: its entities
     * copied as they are, then each term's rows in a tight loop.  Only a
     * pass where some candidate fails is compacted row by row. */
    const comp *comps = it->w->comps;
    const soa_query *q = &it->q;
    const soa_cid lead = it->lead;
    size_t pos = it->pos, end = it->end, n = 0;
    while (n < max && pos < end) {
        size_t m = max - n < end - pos ? max - n : end - pos;
        soa_entity *e = ents + n;
        bool miss = q->nnone != 0;
        memcpy(e, comps[lead].ents + pos, m * sizeof *e);
        for (uint32_t k = 0; k < q->nall; k++) {
            uint32_t *r = rows + (size_t)k * max + n;
            const comp *c = &comps[q->all[k]];
            if (q->all[k] == lead) {
                for (size_t j = 0; j < m; j++)
                    r[j] = (uint32_t)(pos + j);
                continue;
            }
            uint32_t any_none = 0;
            for (size_t j = 0; j < m; j++) {
                uint32_t i = soa_entity_index(e[j]);
                r[j] = i < c->sparse_cap ? c->sparse[i] : NO_ROW;
                any_none |= r[j] == NO_ROW;
            }
            miss |= any_none != 0;
        }
        pos += m;
        if (!miss) {
            n += m;
            continue;
        }
        size_t kept = n;
        for (size_t j = n; j < n + m; j++) {
            if (!pass_match(it->w, q, rows + j, max, ents[j]))
                continue;
            ents[kept] = ents[j];
            for (uint32_t k = 0; k < q->nall; k++)
                rows[(size_t)k * max + kept] = rows[(size_t)k * max + j];
            kept++;
        }
        n = kept;
    }
    it->pos = pos;
    if (runs && n)
        for (uint32_t k = 0; k < q->nall && k < 64; k++)
            if (rows_run(rows + (size_t)k * max, n))
                *runs |= (uint64_t)1 << k;
    return n;
}

size_t soa_query_begin_at(const soa_world *w, const soa_query *q,
                          soa_query_iter *it, size_t begin, size_t end)
{
    if (!soa_query_begin(w, q, it))
        return 0;
    if (it->lead == SOA_CID_INVALID) {
        it->pos = it->end; /* the slot walk has no positions to split */
        return 0;
    }
    if (end > it->end)
        end = it->end;
    if (begin > end)
        begin = end;
    it->pos = begin;
    it->end = end;
    return end - begin;
}

bool soa_query_next(soa_query_iter *it, soa_entity *e)
{
    return soa_query_next_values(it, e, NULL);
}
