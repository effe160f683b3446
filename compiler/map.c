/* map.c: the compiler's hash map (see map.h). */
#include <stdio.h>
#include <stdlib.h>

#include "ast.h"
#include "map.h"

struct soac_map_slot {
    const void *key;       /* NULL: an empty slot */
    size_t len;
    uint64_t hash;
    void *value;
};

uint64_t soac_fnv1a(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

static void oom(void)
{
    fputs("soac: out of memory\n", stderr);
    exit(2);
}

/* The slot holding `key`, or the empty one where it would go. */
static soac_map_slot *find(const soac_map *m, const void *key, size_t len,
                           uint64_t hash)
{
    size_t mask = m->cap - 1;
    for (size_t i = (size_t)hash & mask;; i = (i + 1) & mask) {
        soac_map_slot *s = &m->slots[i];
        if (!s->key || (s->hash == hash && s->len == len &&
                        memcmp(s->key, key, len) == 0))
            return s;
    }
}

/* Moves every entry into `cap` new slots. */
static void resize(soac_map *m, size_t cap)
{
    if (cap > (size_t)-1 / sizeof(soac_map_slot))
        oom();
    soac_map_slot *slots = m->arena
        ? soac_arena_alloc(m->arena, cap * sizeof *slots)
        : calloc(cap, sizeof *slots);
    if (!slots)
        oom();
    soac_map old = *m;
    m->slots = slots;
    m->cap = cap;
    for (size_t i = 0; i < old.cap; i++)
        if (old.slots[i].key)
            *find(m, old.slots[i].key, old.slots[i].len, old.slots[i].hash) =
                old.slots[i];
    if (!m->arena)
        free(old.slots);
}

/* The capacity that holds n keys at most half full. */
static size_t cap_for(size_t n)
{
    size_t cap = 16;
    while (cap / 2 < n) {
        if (cap > (size_t)-1 / 2)
            oom();
        cap *= 2;
    }
    return cap;
}

void soac_map_init(soac_map *m, soac_arena *arena, size_t expected)
{
    m->arena = arena;
    m->slots = NULL;
    m->cap = m->len = 0;
    if (expected)
        resize(m, cap_for(expected));
}

void soac_map_free(soac_map *m)
{
    if (!m->arena)
        free(m->slots);
    m->slots = NULL;
    m->cap = m->len = 0;
}

void **soac_map_put(soac_map *m, const void *key, size_t len, bool *fresh)
{
    if (m->len + 1 > m->cap / 2)
        resize(m, cap_for(m->len + 1));
    uint64_t hash = soac_fnv1a(SOAC_FNV_OFFSET, key, len);
    soac_map_slot *s = find(m, key, len, hash);
    *fresh = s->key == NULL;
    if (*fresh) {
        s->key = key;
        s->len = len;
        s->hash = hash;
        s->value = NULL;
        m->len++;
    }
    return &s->value;
}

void *soac_map_get(const soac_map *m, const void *key, size_t len)
{
    if (!m->cap)
        return NULL;
    soac_map_slot *s = find(m, key, len, soac_fnv1a(SOAC_FNV_OFFSET, key, len));
    return s->key ? s->value : NULL;
}
