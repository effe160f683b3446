/*
 * physics_web.c: the physics example for the transfer path (no
 * SharedArrayBuffer), built without threads with soa_web.c into
 * physics_web.js and loaded twice by transfer.js: the page's instance
 * holds the world (web_init, web_world, web_checksum), the Web Worker's
 * runs Integrate's kernel on the columns the page sends (soa_web.h).
 *
 * Both halves run physics_integrate, the kernel the native and threaded
 * builds run, so every path prints the same checksum.  JavaScript calls
 * these through the module's exports (mk/wasm.mk lists them).
 */
#include <inttypes.h>
#include <stdio.h>

#include "physics_sim.h"
#include "soa_web.h"

/* Entry points, exported by name (declared here for -Wmissing-prototypes). */
int web_init(uint32_t entities);
soa_world *web_world(void);
const char *web_checksum(void);

static struct {
    soa_world *w;
    soa_entity *ents;
    size_t n;
    soa_cid pos;
} page;

int soa_web_setup(void)
{
    return soa_web_register(&Integrate_system,
                            Integrate_kernel_fn(physics_integrate), NULL) < 0
               ? -1 : 0;
}

/* A world of `entities` as the physics example makes it, once per
 * instance; 0 or -1. */
int web_init(uint32_t entities)
{
    if (page.w)
        return -1;
    page.w = soa_world_create(NULL);
    if (!page.w)
        return -1;
    page.pos = soa_world_register(page.w, &Position_desc);
    soa_cid vel = soa_world_register(page.w, &Velocity_desc);
    page.n = entities;
    page.ents = physics_populate(page.w, entities, page.pos, vel);
    return page.ents ? 0 : -1;
}

/* The world web_init made (NULL before). */
soa_world *web_world(void)
{
    return page.w;
}

/* The example's checksum, as 16 hex digits. */
const char *web_checksum(void)
{
    static char hex[17];
    snprintf(hex, sizeof hex, "%016" PRIx64,
             physics_checksum(page.w, page.ents, page.n, page.pos));
    return hex;
}
