/*
 * map.h: a hash map from byte-string keys to pointers, for the compiler's
 * name lookups and duplicate checks (open addressing, linear probing,
 * FNV-1a), so that checking n names costs O(n), not O(n^2).
 *
 * Keys are borrowed: their bytes must stay put while the map is used.  The
 * slots come from an arena (freed with it; soac_map_free does nothing) or,
 * with no arena, from malloc (soac_map_free frees them).  A zeroed map is
 * an empty malloc'd one.  Out of memory ends the compiler, as the arena
 * does.  There is no removal.
 */
#ifndef SOAC_MAP_H
#define SOAC_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct soac_arena soac_arena;
typedef struct soac_map_slot soac_map_slot;

typedef struct soac_map {
    soac_arena *arena;     /* where the slots come from; NULL: malloc */
    soac_map_slot *slots;
    size_t cap, len;       /* cap: 0 or a power of two, at most half used */
} soac_map;

/* An empty map whose slots come from `arena` (NULL: malloc), with room for
 * `expected` keys before it grows. */
void soac_map_init(soac_map *m, soac_arena *arena, size_t expected);
void soac_map_free(soac_map *m);

/* The value slot of `key` (len bytes): the existing one, or a new one
 * holding NULL when the key was absent (*fresh says which).  The pointer
 * is good until the next put. */
void **soac_map_put(soac_map *m, const void *key, size_t len, bool *fresh);
/* The value of `key`, or NULL when it is absent. */
void *soac_map_get(const soac_map *m, const void *key, size_t len);

static inline void **soac_map_put_str(soac_map *m, const char *key, bool *fresh)
{
    return soac_map_put(m, key, strlen(key), fresh);
}

static inline void *soac_map_get_str(const soac_map *m, const char *key)
{
    return soac_map_get(m, key, strlen(key));
}

/* 64-bit FNV-1a of n bytes, continuing from h (start with SOAC_FNV_OFFSET):
 * the map's hash, and the layout hashes' (which must never change). */
#define SOAC_FNV_OFFSET 0xcbf29ce484222325ull
uint64_t soac_fnv1a(uint64_t h, const void *p, size_t n);

#endif /* SOAC_MAP_H */
