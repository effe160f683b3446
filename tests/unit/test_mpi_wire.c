/* test_mpi_wire: what libsoa_mpi puts on the wire, without MPI (so it runs
 * under ASan+UBSan): wire sizes by descriptor, values through the wire and
 * back (by value and by SoA columns of a real world's rows), refusing a
 * bool that is not 0 or 1, inconsistent descriptors, reading past the end
 * of a message, and the gid map against a plain array model. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "soa/soa.h"
#include "../../runtime/mpi/wire.h"
#include "mpi_test.h"

static void wire_sizes(void **state)
{
    (void)state;
    /* dest 4 + a 8 + b 3 * 4 + flag 1, no padding */
    assert_int_equal(soa__wire_size(&Cell_desc), 25);
    assert_int_equal(soa__wire_cols(&Cell_desc), 6);
    assert_true(sizeof(Cell) > 25);
    assert_int_equal(soa__wire_size(&Extra_desc), 10);
    assert_int_equal(soa__wire_size(&Marked_desc), 0);
    assert_int_equal(soa__wire_cols(&Marked_desc), 0);
    /* a field past the value, an unknown type */
    soa_field_desc bad[] = {{"x", SOA_F64, NULL, 2, 8}};
    soa_component_desc d = {"Bad", 1, 16, 8, NULL, 1, bad};
    assert_int_equal(soa__wire_size(&d), SIZE_MAX);
    assert_int_equal(soa__wire_cols(&d), -1);
    bad[0] = (soa_field_desc){"x", (soa_scalar)99, NULL, 1, 0};
    assert_int_equal(soa__wire_size(&d), SIZE_MAX);
    bad[0] = (soa_field_desc){"x", SOA_U8, NULL, 0, 0};
    assert_int_equal(soa__wire_size(&d), SIZE_MAX);
}

static Cell a_cell(int i)
{
    Cell c;
    memset(&c, 0xa5, sizeof c); /* garbage padding must not travel */
    c.dest = -i;
    c.a = i * 0.25;
    for (int k = 0; k < 3; k++)
        c.b[k] = (float)(i + k) / 3.0f;
    c.flag = i % 2;
    return c;
}

static void values_round_trip(void **state)
{
    (void)state;
    unsigned char wire[25], wire2[25];
    for (int i = 0; i < 50; i++) {
        Cell c = a_cell(i), back;
        soa__wire_from_value(&Cell_desc, &c, wire);
        assert_true(soa__wire_valid(&Cell_desc, wire));
        soa__wire_to_value(&Cell_desc, wire, &back);
        assert_int_equal(back.dest, c.dest);
        assert_true(back.a == c.a);
        assert_memory_equal(back.b, c.b, sizeof c.b);
        assert_int_equal(back.flag, c.flag);
        /* the padding comes back zeroed, so values compare bytewise */
        Cell z;
        memset(&z, 0, sizeof z);
        z.dest = c.dest, z.a = c.a, z.flag = c.flag;
        memcpy(z.b, c.b, sizeof z.b);
        assert_memory_equal(&back, &z, sizeof z);
        soa__wire_from_value(&Cell_desc, &back, wire2);
        assert_memory_equal(wire, wire2, sizeof wire);
    }
    /* field order on the wire: dest first, flag last */
    Cell c = a_cell(3);
    soa__wire_from_value(&Cell_desc, &c, wire);
    int32_t dest;
    memcpy(&dest, wire, 4);
    assert_int_equal(dest, -3);
    assert_int_equal(wire[24], 1);
    wire[24] = 2; /* a bool that is neither */
    assert_false(soa__wire_valid(&Cell_desc, wire));
}

/* Values written into a world's rows through the wire come out the same,
 * by soa_world_read and by packing the rows again; changed bits are
 * reachable; a tag or a dead entity has no row. */
static void rows_round_trip(void **state)
{
    (void)state;
    soa_world *w = soa_world_create(NULL);
    soa_cid cell = soa_world_register(w, &Cell_desc);
    soa_cid extra = soa_world_register(w, &Extra_desc);
    soa_cid marked = soa_world_register(w, &Marked_desc);
    soa_cid set[3] = {cell, extra, marked};
    enum { N = SOA_BLOCK_ROWS + 100 }; /* rows in two blocks */
    soa_entity *es = malloc(N * sizeof *es);
    assert_int_equal(soa_world_spawn_n(w, set, 3, N, es), 0);
    void *cols[6];
    uint64_t *changed;
    size_t i;
    unsigned char wire[25], again[25];
    soa_world_clear_changed(w, SOA_CID_INVALID);
    for (int k = 0; k < N; k += 37) {
        Cell c = a_cell(k), got;
        soa__wire_from_value(&Cell_desc, &c, wire);
        assert_true(soa__row_of(w, es[k], cell, 6, cols, &changed, &i));
        assert_int_equal(i, (size_t)k % SOA_BLOCK_ROWS);
        assert_false(soa_bitset_test(changed, i));
        soa__wire_to_cols(&Cell_desc, wire, cols, i);
        soa_bitset_set(changed, i);
        assert_true(soa_world_is_changed(w, es[k], cell));
        assert_int_equal(soa_world_read(w, es[k], cell, &got), 0);
        assert_int_equal(got.dest, c.dest);
        assert_true(got.a == c.a);
        assert_memory_equal(got.b, c.b, sizeof c.b);
        soa__wire_from_cols(&Cell_desc, cols, i, again);
        assert_memory_equal(wire, again, sizeof wire);
        Cell v;
        soa__cols_to_value(&Cell_desc, cols, i, &v);
        assert_memory_equal(&v, &got, offsetof(Cell, flag) + 1);
    }
    assert_int_equal(soa_world_count_changed(w, cell), (N + 36) / 37);
    /* Extra's default k = -7 reads back through its columns */
    assert_true(soa__row_of(w, es[5], extra, 2, cols, &changed, &i));
    assert_int_equal(((int16_t *)cols[1])[i], -7);
    assert_false(soa__row_of(w, es[5], marked, 0, cols, &changed, &i));
    soa_world_despawn(w, es[5]);
    assert_false(soa__row_of(w, es[5], cell, 6, cols, &changed, &i));
    free(es);
    soa_world_destroy(w);
}

static void buffers(void **state)
{
    (void)state;
    soa__wbuf b = {0};
    soa__wbuf_u32(&b, 7);
    soa__wbuf_u16(&b, 3);
    soa__wbuf_u64(&b, UINT64_C(0x1122334455667788));
    for (int k = 0; k < 1000; k++) /* grows past its first block */
        soa__wbuf_u32(&b, (uint32_t)k);
    assert_false(b.failed);
    assert_int_equal(b.len, 14 + 4000);
    soa__rbuf r = soa__rbuf_of(b.p, b.len);
    assert_int_equal(soa__rbuf_u32(&r), 7);
    assert_int_equal(soa__rbuf_u16(&r), 3);
    assert_true(soa__rbuf_u64(&r) == UINT64_C(0x1122334455667788));
    for (int k = 0; k < 1000; k++)
        assert_int_equal(soa__rbuf_u32(&r), k);
    assert_false(r.bad);
    assert_int_equal(soa__rbuf_left(&r), 0);
    /* past the end: zeros, and bad stays set */
    assert_int_equal(soa__rbuf_u16(&r), 0);
    assert_true(r.bad);
    assert_null(soa__rbuf_get(&r, 0));
    /* a read that would straddle the end takes nothing */
    soa__rbuf s = soa__rbuf_of(b.p, 5);
    assert_int_equal(soa__rbuf_u32(&s), 7);
    assert_int_equal(soa__rbuf_u32(&s), 0);
    assert_true(s.bad);
    assert_null(soa__rbuf_get(&s, SIZE_MAX));
    /* an impossible size fails the writer, not the process */
    assert_null(soa__wbuf_put(&b, SIZE_MAX));
    assert_true(b.failed);
    soa__wbuf_reset(&b);
    assert_false(b.failed);
    soa__wbuf_free(&b);
}

/* The gid map against a plain array, through growth and deletions that
 * shift runs back. */
static void idmap_model(void **state)
{
    (void)state;
    enum { KEYS = 5000 };
    uint64_t *model = calloc(KEYS, sizeof *model);
    soa__idmap m = {0};
    uint32_t s = 1;
    size_t live = 0;
    for (int op = 0; op < 200000; op++) {
        s = s * 1664525u + 1013904223u;
        uint32_t k = (s >> 8) % KEYS;
        uint64_t key = ((uint64_t)(k % 4 + 1) << 40) | (k + 1);
        if ((s >> 4) % 3) {
            uint64_t v = (uint64_t)op + 1;
            assert_int_equal(soa__idmap_put(&m, key, v), 0);
            live += model[k] == 0;
            model[k] = v;
        } else {
            assert_int_equal(soa__idmap_del(&m, key), model[k] != 0);
            live -= model[k] != 0;
            model[k] = 0;
        }
        if (op % 1000 == 0)
            for (uint32_t j = 0; j < KEYS; j++)
                assert_true(soa__idmap_get(
                                &m, ((uint64_t)(j % 4 + 1) << 40) | (j + 1)) ==
                            model[j]);
        assert_int_equal(m.n, live);
    }
    assert_int_equal(soa__idmap_get(&m, 0), 0);
    assert_int_equal(soa__idmap_put(&m, 0, 1), -1);
    assert_false(soa__idmap_del(&m, 0));
    soa__idmap_free(&m);
    soa__idmap empty = {0};
    assert_int_equal(soa__idmap_get(&empty, 5), 0);
    assert_false(soa__idmap_del(&empty, 5));
    free(model);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(wire_sizes),
        cmocka_unit_test(values_round_trip),
        cmocka_unit_test(rows_round_trip),
        cmocka_unit_test(buffers),
        cmocka_unit_test(idmap_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
