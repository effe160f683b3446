/*
 * web_mix.c: the transfer path's second system, Mix (tests/schemas/
 * web_mix.soa), built two ways from this one file:
 *
 *   natively     `web_mix -n N -f F` runs F frames of Mix through its
 *                snapshot on one thread and prints the world's checksum
 *   with emcc    web_mix.js, a module for transfer.js (soa_web.h): the
 *                page's world (web_init, web_world, web_checksum) and Mix
 *                offloaded with the same kernel
 *
 * tests/wasm/web_mix.js runs the module through the transfer path under
 * Node worker_threads; tests/wasm_node.sh compares the two checksums.
 * Unlike Integrate, Mix has columns of every size, arrays, two written
 * components marked on different rows, and a kernel that writes a value it
 * does not mark (which neither path may commit).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "web_mix.h"

static struct {
    soa_world *w;
    soa_entity *ents;
    size_t n;
    soa_cid body, counter;
} mix;

static uint64_t mix64(uint64_t s)
{
    s ^= s >> 29;
    s *= UINT64_C(0xbf58476d1ce4e5b9);
    s ^= s >> 32;
    return s;
}

/* Mix's kernel: on two rows in three (by seed and frame) the body drifts
 * in the field and is marked; on one in five the counter changes and is
 * marked; `last` is written on every row, marked or not. */
static void mix_kernel(const Mix_view *v, const soa_frame *f, void *ctx)
{
    (void)ctx;
    float dt = (float)f->dt;
    for (size_t i = v->begin; i < v->end; i++) {
        uint64_t s = mix64(v->Field.seed[i] ^ f->index * UINT64_C(0x9e3779b97f4a7c15));
        if (s % 3u != 0) {
            for (int k = 0; k < 3; k++) {
                v->Body.vel[k][i] += v->Field.g[k][i] * dt;
                v->Body.pos[k][i] += (double)v->Body.vel[k][i] * f->dt +
                                     f->time * 1e-6;
            }
            soa_bitset_set(v->Body.changed, i);
        }
        v->Counter.last[i] = (uint16_t)(f->index + 1u);
        if (s % 5u == 0) {
            v->Counter.hits[i] -= 1 + (int32_t)(s >> 60);
            v->Counter.phase[i] = (Phase)(s >> 40 & 1u ? Phase_burst : Phase_drift);
            v->Counter.hot[i] = !v->Counter.hot[i];
            soa_bitset_set(v->Counter.changed, i);
        }
    }
}

/* n entities, in tables of several shapes: every one has a Body; two in
 * three a Counter; all but every 7th a Field; every 11th is Pinned.  0 or
 * -1. */
static int mix_populate(size_t n)
{
    soa_world *w = mix.w = soa_world_create(NULL);
    if (!w || !(mix.ents = malloc((n ? n : 1) * sizeof *mix.ents)))
        return -1;
    mix.n = n;
    mix.body = soa_world_register(w, &Body_desc);
    mix.counter = soa_world_register(w, &Counter_desc);
    soa_cid field = soa_world_register(w, &Field_desc);
    soa_cid pinned = soa_world_register(w, &Pinned_desc);
    for (size_t i = 0; i < n; i++) {
        soa_entity e = mix.ents[i] = soa_world_spawn(w);
        uint64_t s = mix64(i + 1u);
        Body b = {{(double)(i % 97), (double)(i % 89) * 0.5, -(double)i},
                  {(float)(s % 7u), (float)(s % 11u) - 5.0f, 1.0f}};
        Counter c = {(int32_t)(i % 13u), 0, Phase_rest, i % 2u == 0};
        Field fl = {{0.0f, 0.5f * (float)(i % 3u), -9.81f}, s};
        if (e == SOA_ENTITY_NULL || soa_world_set(w, e, mix.body, &b) != 0 ||
            (i % 3u != 2u && soa_world_set(w, e, mix.counter, &c) != 0) ||
            (i % 7u != 0u && soa_world_set(w, e, field, &fl) != 0) ||
            (i % 11u == 0u && soa_world_add(w, e, pinned) != 0))
            return -1;
    }
    return 0;
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t k = 0; k < n; k++)
        h = (h ^ b[k]) * UINT64_C(0x100000001b3);
    return h;
}

/* FNV-1a over every field of every Body and Counter, in spawn order (a
 * missing one counts as one byte 0xff). */
static uint64_t mix_checksum(void)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    static const unsigned char none = 0xff;
    for (size_t i = 0; i < mix.n; i++) {
        Body b;
        Counter c;
        if (soa_world_read(mix.w, mix.ents[i], mix.body, &b) == 0) {
            h = fnv(h, b.pos, sizeof b.pos);
            h = fnv(h, b.vel, sizeof b.vel);
        } else {
            h = fnv(h, &none, 1);
        }
        if (soa_world_read(mix.w, mix.ents[i], mix.counter, &c) == 0) {
            h = fnv(h, &c.hits, sizeof c.hits);
            h = fnv(h, &c.last, sizeof c.last);
            h = fnv(h, &c.phase, sizeof c.phase);
            h = fnv(h, &c.hot, sizeof c.hot);
        } else {
            h = fnv(h, &none, 1);
        }
    }
    return h;
}

#ifdef __EMSCRIPTEN__
#include "soa_web.h"

/* Entry points, exported by name (declared for -Wmissing-prototypes). */
int web_init(uint32_t entities);
soa_world *web_world(void);
const char *web_checksum(void);

int soa_web_setup(void)
{
    return soa_web_register(&Mix_system, Mix_kernel_fn(mix_kernel), NULL) < 0
               ? -1 : 0;
}

/* The world of `entities` entities, once per instance; 0 or -1. */
int web_init(uint32_t entities)
{
    return mix.w ? -1 : mix_populate(entities);
}

soa_world *web_world(void)
{
    return mix.w;
}

/* The checksum as 16 hex digits. */
const char *web_checksum(void)
{
    static char hex[17];
    snprintf(hex, sizeof hex, "%016" PRIx64, mix_checksum());
    return hex;
}

#else

int main(int argc, char **argv)
{
    unsigned long n = 10000, frames = 10;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "-n") == 0)
            n = strtoul(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "-f") == 0)
            frames = strtoul(argv[i + 1], NULL, 10);
    }
    Mix_snap s;
    if (mix_populate(n) != 0 || Mix_snap_init(&s, NULL) != 0) {
        fprintf(stderr, "web_mix: setup failed\n");
        return 1;
    }
    size_t written = 0;
    for (unsigned long f = 0; f < frames; f++) {
        soa_frame fr = {1.0 / 60.0, (double)f / 60.0, f};
        if (Mix_build(&s, mix.w) != 0 ||
            Mix_run(&s, NULL, mix_kernel, &fr, NULL) != 0) {
            fprintf(stderr, "web_mix: frame %lu failed\n", f);
            return 1;
        }
        written += Mix_commit(&s, mix.w);
    }
    printf("rows %zu written %zu\n", s.rows, written);
    printf("checksum %016" PRIx64 "\n", mix_checksum());
    Mix_snap_release(&s);
    free(mix.ents);
    soa_world_destroy(mix.w);
    return 0;
}

#endif
