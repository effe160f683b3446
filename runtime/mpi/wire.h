/*
 * wire.h: rows of the world's tables as bytes on the wire, and back, by
 * their components' layout descriptors.  No MPI here: libsoa_mpi's
 * transport (mpi.c) moves the bytes, this decides what they are, and the
 * unit tests check it under ASan/UBSan without an MPI library.
 *
 * A component's value on the wire is its fields in descriptor order, each
 * array element after the previous, every element in the host's byte
 * order with no padding: soa__wire_size(d) bytes.  Padding and the bytes
 * of other components never leave the process.
 *
 * Writers (soa__wbuf) grow on the heap and remember a failed allocation
 * (`failed`), so a sequence of puts is checked once at the end.  Readers
 * (soa__rbuf) never read past `len`: a short or over-long read sets `bad`
 * and returns zeros, so a message is parsed whole and judged once.
 */
#ifndef SOA_MPI_WIRE_H
#define SOA_MPI_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "soa/desc.h"
#include "soa/world.h"
#include "../src/internal.h"

/* ---- byte buffers --------------------------------------------------- */

typedef struct soa__wbuf {
    unsigned char *p;
    size_t len, cap;
    bool failed; /* an allocation failed: the contents are incomplete */
} soa__wbuf;

/* Room for n more bytes at the end: a pointer to them (len grows by n), or
 * NULL with `failed` set. */
unsigned char *soa__wbuf_put(soa__wbuf *b, size_t n);
void soa__wbuf_u16(soa__wbuf *b, uint16_t v);
void soa__wbuf_u32(soa__wbuf *b, uint32_t v);
void soa__wbuf_u64(soa__wbuf *b, uint64_t v);
void soa__wbuf_bytes(soa__wbuf *b, const void *p, size_t n);
/* Empties b, keeping its storage. */
static inline void soa__wbuf_reset(soa__wbuf *b)
{
    b->len = 0;
    b->failed = false;
}
void soa__wbuf_free(soa__wbuf *b);

typedef struct soa__rbuf {
    const unsigned char *p;
    size_t len, at;
    bool bad; /* a read went past the end */
} soa__rbuf;

static inline soa__rbuf soa__rbuf_of(const void *p, size_t len)
{
    soa__rbuf r = {(const unsigned char *)p, len, 0, false};
    return r;
}
/* The next n bytes, or NULL (and `bad`) when fewer are left. */
const unsigned char *soa__rbuf_get(soa__rbuf *r, size_t n);
uint16_t soa__rbuf_u16(soa__rbuf *r);
uint32_t soa__rbuf_u32(soa__rbuf *r);
uint64_t soa__rbuf_u64(soa__rbuf *r);
static inline size_t soa__rbuf_left(const soa__rbuf *r)
{
    return r->len - r->at;
}

/* ---- values by descriptor ------------------------------------------- */

/* Bytes of one value of d on the wire (0 for a tag), or SIZE_MAX when the
 * descriptor is inconsistent (a field past the value, an unknown type, an
 * overflow).  O(fields). */
size_t soa__wire_size(const soa_component_desc *d);

/* Columns of d (one per scalar field and per array element, C_cols
 * order), or -1 for an inconsistent descriptor. */
long soa__wire_cols(const soa_component_desc *d);

/* Whether `in` (soa__wire_size(d) bytes) is a value this process may
 * store: every bool element 0 or 1.  Every other bit pattern of the
 * schema's scalar types is a valid value. */
bool soa__wire_valid(const soa_component_desc *d, const unsigned char *in);

/* A value (sizeof(C) bytes, descriptor offsets) to wire bytes, and back.
 * soa__wire_to_value zeroes the value's padding. */
void soa__wire_from_value(const soa_component_desc *d, const void *value,
                          unsigned char *out);
void soa__wire_to_value(const soa_component_desc *d, const unsigned char *in,
                        void *value);

/* Element i of SoA columns cols[0 .. soa__wire_cols(d)) to wire bytes, and
 * back. */
void soa__wire_from_cols(const soa_component_desc *d, void *const *cols,
                         size_t i, unsigned char *out);
void soa__wire_to_cols(const soa_component_desc *d, const unsigned char *in,
                       void *const *cols, size_t i);

/* Where each column of a component lies in its value (C_cols order):
 * what a loop over many rows reads instead of the descriptor. */
typedef struct soa__col {
    uint32_t off, size; /* size 1, 2, 4 or 8 */
} soa__col;

/* d's soa__wire_cols(d) columns into plan[]. */
void soa__wire_plan(const soa_component_desc *d, soa__col *plan);

/* Wire bytes `in` of one value (the plan's columns back to back) into
 * element i of columns cols[0 .. ncols): soa__wire_to_cols without the
 * descriptor walk, for loops over many rows. */
static inline void soa__plan_from_wire(const soa__col *plan, uint32_t ncols,
                                       const unsigned char *in,
                                       void *const *cols, size_t i)
{
    for (uint32_t c = 0; c < ncols; c++) {
        unsigned char *dst = (unsigned char *)cols[c];
        switch (plan[c].size) { /* constant sizes: moves, not calls */
        case 4: memcpy(dst + i * 4, in, 4); break;
        case 8: memcpy(dst + i * 8, in, 8); break;
        case 2: memcpy(dst + i * 2, in, 2); break;
        default: dst[i] = *in; break;
        }
        in += plan[c].size;
    }
}

/* Element i of columns cols[0 .. ncols) into `value` at the plan's
 * offsets; the value's padding is left as it was (zero it once for many
 * rows). */
static inline void soa__plan_to_value(const soa__col *plan, uint32_t ncols,
                                      void *const *cols, size_t i,
                                      void *value)
{
    unsigned char *v = (unsigned char *)value;
    for (uint32_t c = 0; c < ncols; c++) {
        const unsigned char *src = (const unsigned char *)cols[c];
        switch (plan[c].size) { /* constant sizes: moves, not calls */
        case 4: memcpy(v + plan[c].off, src + i * 4, 4); break;
        case 8: memcpy(v + plan[c].off, src + i * 8, 8); break;
        case 2: memcpy(v + plan[c].off, src + i * 2, 2); break;
        default: v[plan[c].off] = src[i]; break;
        }
    }
}

/* ---- rows of a world's tables ---------------------------------------- */

/* A live entity's component cid: its ncols columns into cols[0 .. ncols)
 * (ncols = soa__wire_cols of its descriptor), its block's changed bitset
 * into *changed, and its element index in both into *i.  false when e is
 * dead or lacks cid, or cid has no columns (a tag).  O(ncols). */
bool soa__row_of(const soa_world *w, soa_entity e, soa_cid cid,
                 uint32_t ncols, void **cols, uint64_t **changed, size_t *i);

/* ---- global handles: gid -> local entity ---------------------------- */

/* An open-addressing map from a nonzero 64-bit key to a 64-bit value
 * (linear probing, deletion by backward shift, so no tombstones).  A key
 * and its value share a slot: a lookup in a map larger than the cache
 * costs one miss, not two. */
typedef struct soa__idslot {
    uint64_t key, val; /* key 0: empty */
} soa__idslot;

typedef struct soa__idmap {
    soa__idslot *slots;
    size_t cap, n; /* cap a power of two or 0 */
} soa__idmap;

/* Where key's probe starts (a 64-bit mix, splitmix64's finaliser: gids
 * are sequential, slots must not be); cap a power of two. */
static inline size_t soa__idmap_home(uint64_t key, size_t cap)
{
    key ^= key >> 30;
    key *= 0xbf58476d1ce4e5b9u;
    key ^= key >> 27;
    key *= 0x94d049bb133111ebu;
    key ^= key >> 31;
    return (size_t)key & (cap - 1);
}

/* Starts loading key's home slot into the cache.  A map larger than the
 * cache costs a miss per key: a loop over many keys prefetches a few keys
 * ahead (SOA__IDMAP_AHEAD), so the misses overlap instead of queueing. */
#define SOA__IDMAP_AHEAD 16
static inline void soa__idmap_prefetch(const soa__idmap *m, uint64_t key)
{
    if (m->cap)
        __builtin_prefetch(&m->slots[soa__idmap_home(key, m->cap)]);
}

/* The value of key, or 0 when absent. */
uint64_t soa__idmap_get(const soa__idmap *m, uint64_t key);
/* Sets key -> val (key != 0): 0, or -1 (ENOMEM) with m unchanged. */
int soa__idmap_put(soa__idmap *m, uint64_t key, uint64_t val);
/* Sets key -> val only when key is absent: 1 when it was, 0 when key was
 * there (left alone), -1 (ENOMEM, or EINVAL for key 0). */
int soa__idmap_insert(soa__idmap *m, uint64_t key, uint64_t val);
/* The value of key (nonzero), in place: inserted as 0 when absent, so
 * one probe both looks a key up and sets it.  The map must have room
 * (soa__idmap_reserve) for every key inserted since the last reserve. */
uint64_t *soa__idmap_slot(soa__idmap *m, uint64_t key);
/* Room for `more` keys beyond those present, so that many puts do not
 * rehash one by one: 0, or -1 (ENOMEM) with m unchanged. */
int soa__idmap_reserve(soa__idmap *m, size_t more);
/* Removes key: whether it was there. */
bool soa__idmap_del(soa__idmap *m, uint64_t key);
/* Removes every key that keep(ctx, key, value) refuses, in one pass over
 * the slots: what many dels would cost in cache misses (one per key in a
 * map larger than the cache) this costs in a sequential scan, so it wins
 * when a large share of the keys goes.  Returns how many went. */
size_t soa__idmap_sweep(soa__idmap *m,
                        bool (*keep)(void *ctx, uint64_t key, uint64_t val),
                        void *ctx);
void soa__idmap_free(soa__idmap *m);

#endif /* SOA_MPI_WIRE_H */
