/*
 * world_get.h: for tests, e's component as a pointer to a copy (what
 * soa_world_read copies out), or NULL when e is dead or lacks it.  The
 * copies come from a ring of eight buffers, so a few may be alive at once.
 */
#ifndef WORLD_GET_H
#define WORLD_GET_H

#include <assert.h>

#include "soa/soa.h"

static const void *world_get(const soa_world *w, soa_entity e, soa_cid cid)
{
    static _Alignas(64) unsigned char ring[8][1024];
    static unsigned next;
    const soa_component_desc *d = soa_world_desc(w, cid);
    unsigned char *buf = ring[next++ % 8u];
    assert(!d || d->size <= sizeof ring[0]);
    return soa_world_read(w, e, cid, buf) == 0 ? buf : NULL;
}

#endif /* WORLD_GET_H */
