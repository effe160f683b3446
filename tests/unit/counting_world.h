/*
 * counting_world.h: for cmocka tests (include <cmocka.h> first), a world
 * on the counting allocator `ca`, and its end, which checks every byte
 * came back with the size it was allocated with.
 */
#ifndef COUNTING_WORLD_H
#define COUNTING_WORLD_H

#include "soa/soa.h"
#include "counting_alloc.h"

static counting_alloc ca;

static soa_world *new_world(void)
{
    counting_alloc_init(&ca);
    soa_world *w = soa_world_create(&ca.base);
    assert_non_null(w);
    return w;
}

static void end_world(soa_world *w)
{
    soa_world_destroy(w);
    assert_int_equal(ca.live_bytes, 0);
    assert_int_equal(ca.live_blocks, 0);
    assert_int_equal(ca.bad_frees, 0);
}

#endif /* COUNTING_WORLD_H */
