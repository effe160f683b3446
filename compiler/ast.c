/* ast.c: the compilation arena and pointer lists (see ast.h).
 *
 * The arena is a chain of blocks; allocations are bumped from the newest
 * block and everything is freed at once.  A request bigger than a block gets
 * a block of its own. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ast.h"

#define BLOCK_BYTES (64u * 1024u)

typedef struct block {
    struct block *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
} block;

struct soac_arena {
    block *head;
};

static void oom(void)
{
    fputs("soac: out of memory\n", stderr);
    exit(2);
}

soac_arena *soac_arena_new(void)
{
    soac_arena *a = calloc(1, sizeof *a);
    if (!a)
        oom();
    return a;
}

void soac_arena_free(soac_arena *a)
{
    if (!a)
        return;
    for (block *b = a->head, *next; b; b = next) {
        next = b->next;
        free(b);
    }
    free(a);
}

void *soac_arena_alloc(soac_arena *a, size_t bytes)
{
    bytes = (bytes + 15u) & ~(size_t)15u;
    block *b = a->head;
    if (!b || b->cap - b->used < bytes) {
        size_t cap = bytes > BLOCK_BYTES ? bytes : BLOCK_BYTES;
        if (cap > (size_t)-1 - sizeof(block))
            oom();
        b = malloc(sizeof(block) + cap);
        if (!b)
            oom();
        b->used = 0;
        b->cap = cap;
        /* a big one-off block goes behind the head so the head keeps its
         * free space for small allocations */
        if (a->head && cap > BLOCK_BYTES) {
            b->next = a->head->next;
            a->head->next = b;
        } else {
            b->next = a->head;
            a->head = b;
        }
    }
    void *p = b->data + b->used;
    b->used += bytes;
    memset(p, 0, bytes);
    return p;
}

char *soac_arena_strndup(soac_arena *a, const char *s, size_t n)
{
    if (n == (size_t)-1)
        oom();
    char *p = soac_arena_alloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void soac_list_push(soac_arena *a, soac_list *l, void *item)
{
    if (l->len == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        if (cap > (size_t)-1 / sizeof(void *))
            oom();
        void **items = soac_arena_alloc(a, cap * sizeof(void *));
        if (l->len)
            memcpy(items, l->items, l->len * sizeof(void *));
        l->items = items;
        l->cap = cap;
    }
    l->items[l->len++] = item;
}
