/*
 * wire.c: rows as bytes by their layout descriptors, byte buffers, and the
 * gid map (see wire.h).  Nothing here knows about MPI.
 */
#include "wire.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "soa/alloc.h"
#include "soa/bitset.h"

/* ---- byte buffers --------------------------------------------------- */

unsigned char *soa__wbuf_put(soa__wbuf *b, size_t n)
{
    size_t need;
    if (b->failed || !soa_add_ok(b->len, n, &need)) {
        b->failed = true;
        return NULL;
    }
    if (need > b->cap || !b->p) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < need) {
            if (cap > SIZE_MAX / 2) {
                cap = need;
                break;
            }
            cap *= 2;
        }
        unsigned char *p = realloc(b->p, cap);
        if (!p) {
            b->failed = true;
            return NULL;
        }
        b->p = p;
        b->cap = cap;
    }
    unsigned char *at = b->p + b->len;
    b->len = need;
    return at;
}

void soa__wbuf_bytes(soa__wbuf *b, const void *p, size_t n)
{
    unsigned char *d = soa__wbuf_put(b, n);
    if (d && n)
        memcpy(d, p, n);
}

void soa__wbuf_u16(soa__wbuf *b, uint16_t v) { soa__wbuf_bytes(b, &v, 2); }
void soa__wbuf_u32(soa__wbuf *b, uint32_t v) { soa__wbuf_bytes(b, &v, 4); }
void soa__wbuf_u64(soa__wbuf *b, uint64_t v) { soa__wbuf_bytes(b, &v, 8); }

void soa__wbuf_free(soa__wbuf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

const unsigned char *soa__rbuf_get(soa__rbuf *r, size_t n)
{
    if (r->bad || n > r->len - r->at) {
        r->bad = true;
        return NULL;
    }
    const unsigned char *p = r->p + r->at;
    r->at += n;
    return p;
}

/* A scalar of n bytes from r, or 0 when r runs short. */
static void rbuf_scalar(soa__rbuf *r, void *out, size_t n)
{
    const unsigned char *p = soa__rbuf_get(r, n);
    if (p)
        memcpy(out, p, n);
    else
        memset(out, 0, n);
}

uint16_t soa__rbuf_u16(soa__rbuf *r)
{
    uint16_t v;
    rbuf_scalar(r, &v, sizeof v);
    return v;
}

uint32_t soa__rbuf_u32(soa__rbuf *r)
{
    uint32_t v;
    rbuf_scalar(r, &v, sizeof v);
    return v;
}

uint64_t soa__rbuf_u64(soa__rbuf *r)
{
    uint64_t v;
    rbuf_scalar(r, &v, sizeof v);
    return v;
}

/* ---- values by descriptor ------------------------------------------- */

/* Whether field f fits d's value: a known type, a count, inside size. */
static bool field_ok(const soa_component_desc *d, const soa_field_desc *f)
{
    size_t size = soa_scalar_size(f->type), bytes, end;
    return size && f->count && soa_mul_ok(size, f->count, &bytes) &&
           soa_add_ok(f->offset, bytes, &end) && end <= d->size;
}

size_t soa__wire_size(const soa_component_desc *d)
{
    size_t total = 0;
    if (!d || (d->nfields && !d->fields))
        return SIZE_MAX;
    for (uint32_t k = 0; k < d->nfields; k++) {
        const soa_field_desc *f = &d->fields[k];
        if (!field_ok(d, f) ||
            !soa_add_ok(total, soa_scalar_size(f->type) * f->count, &total))
            return SIZE_MAX;
    }
    return total;
}

long soa__wire_cols(const soa_component_desc *d)
{
    long n = 0;
    if (soa__wire_size(d) == SIZE_MAX)
        return -1;
    for (uint32_t k = 0; k < d->nfields; k++) {
        if (n > (long)UINT32_MAX - (long)d->fields[k].count)
            return -1;
        n += (long)d->fields[k].count;
    }
    return n;
}

bool soa__wire_valid(const soa_component_desc *d, const unsigned char *in)
{
    for (uint32_t k = 0; k < d->nfields; k++) {
        const soa_field_desc *f = &d->fields[k];
        size_t size = soa_scalar_size(f->type);
        for (uint32_t e = 0; e < f->count; e++, in += size)
            if (f->type == SOA_BOOL && *in > 1)
                return false;
    }
    return true;
}

void soa__wire_from_value(const soa_component_desc *d, const void *value,
                          unsigned char *out)
{
    const unsigned char *v = value;
    for (uint32_t k = 0; k < d->nfields; k++) {
        const soa_field_desc *f = &d->fields[k];
        size_t n = soa_scalar_size(f->type) * f->count;
        memcpy(out, v + f->offset, n); /* an array's elements are contiguous */
        out += n;
    }
}

void soa__wire_to_value(const soa_component_desc *d, const unsigned char *in,
                        void *value)
{
    unsigned char *v = value;
    memset(v, 0, d->size);
    for (uint32_t k = 0; k < d->nfields; k++) {
        const soa_field_desc *f = &d->fields[k];
        size_t n = soa_scalar_size(f->type) * f->count;
        memcpy(v + f->offset, in, n);
        in += n;
    }
}

/* Calls the element copy for every column of d in C_cols order: column c
 * is element e of field k, `size` bytes, at `off` in the value and at
 * `wire` on the wire. */
#define FOR_EACH_COL(d, c, size, off, wire, body)                           \
    do {                                                                    \
        size_t c = 0, wire = 0;                                             \
        for (uint32_t k_ = 0; k_ < (d)->nfields; k_++) {                    \
            const soa_field_desc *f_ = &(d)->fields[k_];                    \
            size_t size = soa_scalar_size(f_->type);                        \
            for (uint32_t e_ = 0; e_ < f_->count; e_++, c++, wire += size) { \
                size_t off = f_->offset + e_ * size;                        \
                (void)off;                                                  \
                body;                                                       \
            }                                                               \
        }                                                                   \
    } while (0)

void soa__wire_from_cols(const soa_component_desc *d, void *const *cols,
                         size_t i, unsigned char *out)
{
    FOR_EACH_COL(d, c, size, off, wire,
                 memcpy(out + wire, (const unsigned char *)cols[c] + i * size,
                        size));
}

void soa__wire_to_cols(const soa_component_desc *d, const unsigned char *in,
                       void *const *cols, size_t i)
{
    FOR_EACH_COL(d, c, size, off, wire,
                 memcpy((unsigned char *)cols[c] + i * size, in + wire, size));
}

void soa__wire_plan(const soa_component_desc *d, soa__col *plan)
{
    FOR_EACH_COL(d, c, size, off, wire, {
        plan[c].off = (uint32_t)off;
        plan[c].size = (uint32_t)size;
    });
}

/* ---- rows of a world's tables ---------------------------------------- */

bool soa__row_of(const soa_world *w, soa_entity e, soa_cid cid,
                 uint32_t ncols, void **cols, uint64_t **changed, size_t *i)
{
    const soa_table *t;
    size_t row;
    if (!soa__world_locate(w, e, &t, &row))
        return false;
    size_t bit = soa__table_bit_offset(t, cid);
    if (bit == SIZE_MAX)
        return false;
    unsigned char *block = soa__table_block(t, row / SOA_BLOCK_ROWS);
    for (uint32_t c = 0; c < ncols; c++) {
        size_t off = soa__table_col_offset(t, cid, c);
        if (off == SIZE_MAX)
            return false;
        cols[c] = block + off;
    }
    *changed = (uint64_t *)(void *)(block + bit);
    *i = row % SOA_BLOCK_ROWS;
    return true;
}

/* ---- the gid map ----------------------------------------------------- */

static size_t slot_of(uint64_t key, size_t cap)
{
    return soa__idmap_home(key, cap);
}

uint64_t soa__idmap_get(const soa__idmap *m, uint64_t key)
{
    if (!m->cap || !key)
        return 0;
    for (size_t s = slot_of(key, m->cap);; s = (s + 1) & (m->cap - 1)) {
        if (m->slots[s].key == key)
            return m->slots[s].val;
        if (m->slots[s].key == 0)
            return 0;
    }
}

/* Sets key -> val (overwriting unless `keep`); whether key was new. */
static bool put_raw(soa__idmap *m, uint64_t key, uint64_t val, bool keep)
{
    size_t s = slot_of(key, m->cap);
    while (m->slots[s].key != 0 && m->slots[s].key != key)
        s = (s + 1) & (m->cap - 1);
    bool fresh = m->slots[s].key == 0;
    if (!fresh && keep)
        return false;
    m->n += fresh;
    m->slots[s].key = key;
    m->slots[s].val = val;
    return fresh;
}

uint64_t *soa__idmap_slot(soa__idmap *m, uint64_t key)
{
    assert(key != 0 && m->cap != 0); /* load <= 1/2: an empty slot ends
                                        every probe */
    size_t s = slot_of(key, m->cap);
    while (m->slots[s].key != 0 && m->slots[s].key != key)
        s = (s + 1) & (m->cap - 1);
    if (m->slots[s].key == 0) {
        assert((m->n + 1) * 2 <= m->cap);
        m->slots[s].key = key;
        m->slots[s].val = 0;
        m->n++;
    }
    return &m->slots[s].val;
}

int soa__idmap_reserve(soa__idmap *m, size_t more)
{
    size_t need;
    if (!soa_add_ok(m->n, more, &need) ||
        need > SIZE_MAX / 4 / sizeof(soa__idslot)) {
        errno = ENOMEM;
        return -1;
    }
    if (need * 2 <= m->cap) /* the load stays at most 1/2 */
        return 0;
    size_t cap = m->cap ? m->cap * 2 : 64;
    while (cap < need * 2)
        cap *= 2;
    soa__idmap g = {calloc(cap, sizeof(soa__idslot)), cap, 0};
    if (!g.slots) {
        errno = ENOMEM;
        return -1;
    }
    for (size_t s = 0; s < m->cap; s++)
        if (m->slots[s].key)
            put_raw(&g, m->slots[s].key, m->slots[s].val, false);
    soa__idmap_free(m);
    *m = g;
    return 0;
}

/* put and insert: -1, or whether key was new. */
static int set(soa__idmap *m, uint64_t key, uint64_t val, bool keep)
{
    if (!key) {
        errno = EINVAL;
        return -1;
    }
    if (soa__idmap_reserve(m, 1) != 0)
        return -1;
    return put_raw(m, key, val, keep) ? 1 : 0;
}

int soa__idmap_put(soa__idmap *m, uint64_t key, uint64_t val)
{
    return set(m, key, val, false) < 0 ? -1 : 0;
}

int soa__idmap_insert(soa__idmap *m, uint64_t key, uint64_t val)
{
    return set(m, key, val, true);
}

/* Empties slot s: later keys of its run move back into the hole unless
 * that would move one before its own home slot (so no tombstones). */
static void del_at(soa__idmap *m, size_t s)
{
    size_t mask = m->cap - 1;
    for (size_t j = (s + 1) & mask; m->slots[j].key != 0; j = (j + 1) & mask) {
        size_t home = slot_of(m->slots[j].key, m->cap);
        if (((j - home) & mask) >= ((j - s) & mask)) {
            m->slots[s] = m->slots[j];
            s = j;
        }
    }
    m->slots[s].key = 0;
    m->slots[s].val = 0;
    m->n--;
}

bool soa__idmap_del(soa__idmap *m, uint64_t key)
{
    if (!m->cap || !key)
        return false;
    size_t mask = m->cap - 1, s = slot_of(key, m->cap);
    while (m->slots[s].key != key) {
        if (m->slots[s].key == 0)
            return false;
        s = (s + 1) & mask;
    }
    del_at(m, s);
    return true;
}

size_t soa__idmap_sweep(soa__idmap *m,
                        bool (*keep)(void *ctx, uint64_t key, uint64_t val),
                        void *ctx)
{
    size_t gone = 0;
    /* Keys only ever move back, into the slot being looked at (looked at
     * again) or past it (looked at later); a key a wrapped run moves to
     * the end was kept already.  So every key is asked once at least. */
    for (size_t s = 0; s < m->cap; s++)
        while (m->slots[s].key != 0 &&
               !keep(ctx, m->slots[s].key, m->slots[s].val)) {
            del_at(m, s);
            gone++;
        }
    return gone;
}

void soa__idmap_free(soa__idmap *m)
{
    free(m->slots);
    memset(m, 0, sizeof *m);
}
