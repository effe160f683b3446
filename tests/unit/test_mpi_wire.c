/* test_mpi_wire: what libsoa_mpi puts on the wire, without MPI (so it runs
 * under ASan+UBSan): wire sizes by descriptor, values through the wire and
 * back (by value and by SoA columns of a real world's rows), refusing a
 * bool that is not 0 or 1, inconsistent descriptors, reading past the end
 * of a message, the gid map against a plain array model; then shards
 * (runtime/mpi/shard.c) exchanging messages in one process: entities
 * migrate whole with their changed bits, replicated rows arrive, and a
 * receiver refuses every truncated, padded or damaged message before it
 * changes anything. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <errno.h>

#include "soa/soa.h"
#include "../../runtime/mpi/shard.h"
#include "mpi_test.h"
#include "../mpi/rules.h"

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
        soa__col plan[6];
        soa__wire_plan(&Cell_desc, plan);
        memset(&v, 0, sizeof v);
        soa__plan_to_value(plan, 6, cols, i, &v);
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

static bool odd_value(void *ctx, uint64_t key, uint64_t val)
{
    (void)ctx;
    (void)key;
    return val % 2 == 1;
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
        if ((s >> 4) % 3 == 1) {
            uint64_t v = (uint64_t)op + 1;
            assert_int_equal(soa__idmap_put(&m, key, v), 0);
            live += model[k] == 0;
            model[k] = v;
        } else if ((s >> 4) % 3 == 2) { /* looked up and set in one probe */
            assert_int_equal(soa__idmap_reserve(&m, 1), 0);
            uint64_t *v = soa__idmap_slot(&m, key);
            assert_true(*v == model[k]); /* 0 when it was absent */
            live += model[k] == 0;
            *v = model[k] = (uint64_t)op + 1;
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
    /* a sweep drops exactly the keys it is told to, wherever their runs
     * wrap around */
    size_t odd = 0;
    for (uint32_t j = 0; j < KEYS; j++)
        odd += model[j] % 2;
    assert_int_equal(soa__idmap_sweep(&m, odd_value, NULL), live - odd);
    for (uint32_t j = 0; j < KEYS; j++) {
        model[j] = model[j] % 2 ? model[j] : 0;
        assert_true(soa__idmap_get(&m, ((uint64_t)(j % 4 + 1) << 40) |
                                           (j + 1)) == model[j]);
    }
    assert_int_equal(m.n, odd);
    assert_int_equal(soa__idmap_get(&m, 0), 0);
    assert_int_equal(soa__idmap_put(&m, 0, 1), -1);
    assert_int_equal(soa__idmap_insert(&m, 0, 1), -1);
    uint64_t k9 = ((uint64_t)2 << 40) | 9999999;
    assert_int_equal(soa__idmap_insert(&m, k9, 5), 1);
    assert_int_equal(soa__idmap_insert(&m, k9, 6), 0); /* kept */
    assert_int_equal(soa__idmap_get(&m, k9), 5);
    assert_int_equal(soa__idmap_reserve(&m, 100000), 0);
    assert_true(m.cap >= 2 * (m.n + 100000));
    assert_int_equal(soa__idmap_get(&m, k9), 5); /* survives the rehash */
    assert_true(soa__idmap_del(&m, k9));
    assert_false(soa__idmap_del(&m, 0));
    soa__idmap_free(&m);
    soa__idmap empty = {0};
    assert_int_equal(soa__idmap_get(&empty, 5), 0);
    assert_false(soa__idmap_del(&empty, 5));
    free(model);
}


/* ---- shards in one process ------------------------------------------ */

enum { NSHARDS = 3 };

static const soa_component_desc *const test_comps[] = {&Cell_desc, &Extra_desc,
                                                       &Marked_desc};


static void shards_init(soa__shard *sh)
{
    for (int r = 0; r < NSHARDS; r++) {
        assert_int_equal(soa__shard_init(&sh[r], r, NSHARDS, test_comps, 3), 0);
        sh[r].part_cid = 0;
        sh[r].rule = dest_rule;
    }
}

static void shards_free(soa__shard *sh)
{
    for (int r = 0; r < NSHARDS; r++)
        soa__shard_free(&sh[r]);
}

/* One end of frame between the shards, as frame.c does it over MPI. */
static void shards_frame(soa__shard *sh, soa__counts *c)
{
    soa__departures d[NSHARDS];
    memset(d, 0, sizeof d);
    memset(c, 0, NSHARDS * sizeof *c);
    for (int r = 0; r < NSHARDS; r++)
        assert_int_equal(soa__shard_pack(&sh[r], &d[r], &c[r]), 0);
    for (int r = 0; r < NSHARDS; r++)
        soa__shard_depart(&sh[r], &d[r]);
    for (int pass = 0; pass < 2; pass++)
        for (int to = 0; to < NSHARDS; to++) {
            if (pass == 0)
                soa__shard_reset_replicas(&sh[to]);
            for (int from = 0; from < NSHARDS; from++)
                assert_int_equal(soa__shard_receive(&sh[to], from,
                                                    sh[from].out[to].p,
                                                    sh[from].out[to].len,
                                                    pass == 1, &c[to]), 0);
        }
    for (int r = 0; r < NSHARDS; r++)
        free(d[r].out);
}

/* Spawns n entities on shard 0: Cell (dest i % 3), Extra for odd i, the
 * tag for i % 4 == 0. */
static void spawn_some(soa__shard *s, int n, uint64_t *g)
{
    for (int i = 0; i < n; i++) {
        soa_cid cids[3] = {0, 1, 2};
        uint32_t k = 0;
        soa_cid set[3];
        set[k++] = cids[0];
        if (i % 2)
            set[k++] = cids[1];
        if (i % 4 == 0)
            set[k++] = cids[2];
        assert_int_equal(soa__shard_spawn(s, set, k, 1, &g[i]), 0);
        Cell c = a_cell(i);
        c.dest = i % NSHARDS;
        soa_entity e = soa__shard_local(s, g[i]);
        assert_int_equal(soa_world_set(s->w, e, 0, &c), 0);
        Extra x = {(uint64_t)i * 3u, (int16_t)-i};
        if (i % 2)
            assert_int_equal(soa_world_set(s->w, e, 1, &x), 0);
    }
}

/* A rule over columns: every row to the rank in *ctx (7: a bad one). */
static void all_to(void *const *cols, size_t begin, size_t end, int *ranks,
                   void *ctx)
{
    (void)cols;
    for (size_t i = begin; i < end; i++)
        ranks[i - begin] = *(const int *)ctx;
}


static int to_zero(const void *value, void *ctx)
{
    (void)value, (void)ctx;
    return 0;
}

static void shards_migrate(void **state)
{
    (void)state;
    soa__shard sh[NSHARDS];
    soa__counts c[NSHARDS];
    enum { E = 300 };
    uint64_t g[E];
    shards_init(sh);
    spawn_some(&sh[0], E, g);
    /* Extra's bit cleared on the even ones: it must arrive cleared */
    for (int i = 0; i < E; i += 2) {
        soa_entity e = soa__shard_local(&sh[0], g[i]);
        assert_int_equal(soa__shard_gid(&sh[0], e), g[i]);
    }
    soa_world_clear_changed(sh[0].w, 1);
    for (int i = 1; i < E; i += 4) {
        Extra x = {7, 7};
        soa_world_set(sh[0].w, soa__shard_local(&sh[0], g[i]), 1, &x);
    }
    shards_frame(sh, c);
    assert_int_equal(c[0].migrated_out, E - E / 3);
    assert_int_equal(c[1].migrated_in + c[2].migrated_in, E - E / 3);
    assert_true(c[0].migration_bytes > 0);
    for (int i = 0; i < E; i++) {
        int home = i % NSHARDS;
        for (int r = 0; r < NSHARDS; r++)
            assert_true((soa__shard_local(&sh[r], g[i]) != 0) == (r == home));
        soa__shard *s = &sh[home];
        soa_entity e = soa__shard_local(s, g[i]);
        assert_int_equal(soa__shard_gid(s, e), g[i]);
        Cell got, want = a_cell(i);
        want.dest = home;
        assert_int_equal(soa_world_read(s->w, e, 0, &got), 0);
        assert_int_equal(got.dest, want.dest);
        assert_true(got.a == want.a);
        assert_memory_equal(got.b, want.b, sizeof got.b);
        assert_int_equal(got.flag, want.flag);
        assert_true(soa_world_is_changed(s->w, e, 0)); /* still changed */
        assert_int_equal(soa_world_has(s->w, e, 1), i % 2 == 1);
        assert_int_equal(soa_world_has(s->w, e, 2), i % 4 == 0);
        if (i % 2) {
            Extra x;
            assert_int_equal(soa_world_read(s->w, e, 1, &x), 0);
            assert_true(x.n == (i % 4 == 1 ? 7u : (uint64_t)i * 3u));
            assert_int_equal(soa_world_is_changed(s->w, e, 1), i % 4 == 1);
        }
    }
    /* nothing changed: nothing moves and nothing is sent, even when the
     * rule would now say otherwise... */
    for (int r = 0; r < NSHARDS; r++) {
        soa_world_clear_changed(sh[r].w, SOA_CID_INVALID);
        sh[r].rule = to_zero;
    }
    shards_frame(sh, c);
    for (int r = 0; r < NSHARDS; r++) {
        assert_int_equal(c[r].migrated_out, 0);
        for (int to = 0; to < NSHARDS; to++)
            assert_int_equal(sh[r].out[to].len, 0);
    }
    /* ...until every row is asked again (soa_mpi_repartition) */
    sh[1].every_row = sh[2].every_row = true;
    shards_frame(sh, c);
    assert_int_equal(c[1].migrated_out + c[2].migrated_out, E - E / 3);
    assert_int_equal(soa_world_entities(sh[0].w), E);
    assert_false(sh[1].every_row); /* once */
    /* rules over columns: everything to shard 2 (block by block: more rows
     * than a block), a bad rank refused, then Cell.dest again */
    int two = 2, seven = 7;
    for (int r = 0; r < NSHARDS; r++) {
        sh[r].rule = NULL;
        sh[r].rule_cols = all_to;
        sh[r].rule_ctx = &two;
        sh[r].every_row = true;
    }
    shards_frame(sh, c);
    assert_int_equal(soa_world_entities(sh[2].w), E);
    soa__departures d = {0};
    sh[2].rule_ctx = &seven;
    sh[2].every_row = true;
    assert_int_equal(soa__shard_pack(&sh[2], &d, &c[2]), -1);
    assert_non_null(strstr(sh[2].err, "gave rank 7"));
    free(d.out);
    for (int r = 0; r < NSHARDS; r++) {
        sh[r].rule_cols = dest_cols;
        sh[r].every_row = true;
    }
    shards_frame(sh, c);
    for (int i = 0; i < E; i++)
        assert_true(soa__shard_local(&sh[i % NSHARDS], g[i]) != 0);
    shards_free(sh);
}

static void shards_replicate(void **state)
{
    (void)state;
    soa__shard sh[NSHARDS];
    soa__counts c[NSHARDS];
    enum { E = 90 };
    uint64_t g[E];
    shards_init(sh);
    for (int r = 0; r < NSHARDS; r++) { /* shard 2 takes shard 0's Cell */
        sh[r].rule = NULL;
        sh[r].sub[2 * 3 + 0] = 0;
    }
    spawn_some(&sh[0], E, g);
    shards_frame(sh, c);
    assert_int_equal(c[0].replicated_out, E);
    assert_int_equal(c[2].replicated_in, E);
    assert_int_equal(soa_world_count_changed(sh[0].w, 0), 0); /* sent */
    const soa__replica *rep = &sh[2].rep[0];
    assert_int_equal(rep->n, E);
    for (size_t k = 0; k < rep->n; k++) {
        int i = (int)(rep->gids[k] & 0xffffffu) - 1;
        Cell want = a_cell(i), got;
        memcpy(&got, rep->values + k * sizeof(Cell), sizeof got);
        assert_true(got.a == want.a);
        assert_int_equal(rep->ranks[k], 0);
    }
    /* 1 row of E changes: one row travels, 8 + 25 bytes and the headers */
    Cell v = a_cell(5);
    soa_world_set(sh[0].w, soa__shard_local(&sh[0], g[5]), 0, &v);
    shards_frame(sh, c);
    assert_int_equal(c[2].replicated_in, 1);
    assert_int_equal(sh[2].rep[0].n, 1);
    assert_true(sh[2].rep[0].gids[0] == g[5]);
    assert_int_equal(c[0].replication_bytes, 4 + 6 + 33 + 4);
    assert_int_equal(sh[1].rep[0].n, 0);
    shards_free(sh);
}

/* Packs one message from shard 0 to shard 1 with both replicated rows
 * and migrations; returns a copy. */
static unsigned char *a_message(soa__shard *sh, uint64_t *g, size_t *len)
{
    soa__counts c = {0};
    soa__departures d = {0};
    shards_init(sh);
    for (int r = 0; r < NSHARDS; r++)
        sh[r].sub[1 * 3 + 0] = SOA__ALL;
    spawn_some(&sh[0], 12, g);
    assert_int_equal(soa__shard_pack(&sh[0], &d, &c), 0);
    *len = sh[0].out[1].len;
    unsigned char *p = malloc(*len);
    memcpy(p, sh[0].out[1].p, *len);
    free(d.out);
    return p;
}

/* A receiver refuses, before changing anything, every prefix of a
 * message, trailing bytes, and damage it can see; random damage never
 * crashes it, whatever it makes of it. */
static void damaged_messages(void **state)
{
    (void)state;
    soa__shard sh[NSHARDS];
    soa__counts c = {0};
    uint64_t g[12];
    size_t len;
    unsigned char *msg = a_message(sh, g, &len);
    soa__shard *to = &sh[1];
    assert_true(len > 100);
    assert_int_equal(soa__shard_receive(to, 0, msg, len, false, &c), 0);
    for (size_t k = 1; k < len; k++) {
        errno = 0;
        assert_int_equal(soa__shard_receive(to, 0, msg, k, false, &c), -1);
        assert_int_equal(errno, EPROTO);
    }
    unsigned char *longer = malloc(len + 1);
    memcpy(longer, msg, len);
    longer[len] = 0;
    assert_int_equal(soa__shard_receive(to, 0, longer, len + 1, false, &c), -1);
    assert_non_null(strstr(to->err, "do not parse"));
    free(longer);
    /* from a rank it did not subscribe to for the rows: refused */
    to->sub[1 * 3 + 0] = 2;
    assert_int_equal(soa__shard_receive(to, 0, msg, len, false, &c), -1);
    assert_non_null(strstr(to->err, "did not subscribe"));
    to->sub[1 * 3 + 0] = SOA__ALL;
    /* apply it, then the same migrations again: they live here already */
    assert_int_equal(soa__shard_receive(to, 0, msg, len, true, &c), 0);
    assert_int_equal(soa_world_entities(to->w), 4); /* dest 1 of 12 */
    assert_int_equal(soa__shard_receive(to, 0, msg, len, false, &c), -1);
    assert_non_null(strstr(to->err, "already lives here"));
    assert_int_equal(soa_world_entities(to->w), 4);
    shards_free(sh);
    free(msg);
    /* random damage: refused, or taken whole and consistent */
    uint32_t s = 99;
    for (int trial = 0; trial < 400; trial++) {
        msg = a_message(sh, g, &len);
        int flips = 1 + trial % 3;
        for (int k = 0; k < flips; k++) {
            s = s * 1664525u + 1013904223u;
            msg[(s >> 8) % len] ^= (unsigned char)(1u << ((s >> 4) % 8));
        }
        size_t before = soa_world_entities(sh[1].w);
        if (soa__shard_receive(&sh[1], 0, msg, len, false, &c) == 0) {
            assert_int_equal(soa__shard_receive(&sh[1], 0, msg, len, true, &c), 0);
            /* every entity that arrived is found by its gid */
            soa_query q = {NULL, 0, NULL, 0};
            soa_query_iter it;
            soa_entity e;
            soa_query_begin(sh[1].w, &q, &it);
            while (soa_query_next(&it, &e))
                assert_true(soa__shard_local(&sh[1], soa__shard_gid(&sh[1], e)) == e);
        } else {
            assert_int_equal(errno, EPROTO);
            assert_int_equal(soa_world_entities(sh[1].w), before);
        }
        shards_free(sh);
        free(msg);
    }
}

/* One entity twice in a message: the check cannot see it (neither copy
 * lives here yet), applying refuses the second and leaves no orphan. */
static void entity_twice(void **state)
{
    (void)state;
    soa__shard sh[NSHARDS];
    soa__counts c = {0};
    shards_init(sh);
    soa__wbuf b = {0};
    uint64_t g = ((uint64_t)1 << 40) | 77;
    unsigned char v[25];
    Cell cell = a_cell(77);
    soa__wire_from_value(&Cell_desc, &cell, v);
    soa__wbuf_u32(&b, 0); /* no replicated rows */
    soa__wbuf_u32(&b, 2); /* two migrations */
    for (int k = 0; k < 2; k++) {
        soa__wbuf_u64(&b, g);
        soa__wbuf_u16(&b, 1);
        soa__wbuf_u16(&b, 0); /* Cell */
        soa__wbuf_bytes(&b, "\1", 1);
        soa__wbuf_bytes(&b, v, sizeof v);
    }
    assert_int_equal(soa__shard_receive(&sh[1], 0, b.p, b.len, false, &c), 0);
    assert_int_equal(soa__shard_receive(&sh[1], 0, b.p, b.len, true, &c), -1);
    assert_int_equal(errno, EPROTO);
    assert_non_null(strstr(sh[1].err, "rank 0 sent one entity twice"));
    assert_int_equal(soa_world_entities(sh[1].w), 1);
    soa_entity e = soa__shard_local(&sh[1], g);
    assert_true(soa__shard_gid(&sh[1], e) == g);
    assert_true(soa_world_is_changed(sh[1].w, e, 0));
    /* despawned through the world, not soa_mpi_despawn: not here any
     * more, and the gid can arrive again */
    soa_world_despawn(sh[1].w, e);
    assert_int_equal(soa__shard_local(&sh[1], g), SOA_ENTITY_NULL);
    b.len = 8 + 8 + 2 + 2 + 1 + sizeof v; /* the first record alone */
    memcpy(b.p + 4, "\1\0\0\0", 4);
    assert_int_equal(soa__shard_receive(&sh[1], 0, b.p, b.len, false, &c), 0);
    assert_int_equal(soa__shard_receive(&sh[1], 0, b.p, b.len, true, &c), 0);
    assert_int_equal(soa_world_entities(sh[1].w), 1);
    assert_true(soa__shard_gid(&sh[1], soa__shard_local(&sh[1], g)) == g);
    soa__wbuf_free(&b);
    shards_free(sh);
}

/* Many entities of one component set arrive as one run into a table that
 * has rows already: the run spans blocks, starts in the middle of one, and
 * every row gets its own gid, value and changed bit. */
static void arrivals_span_blocks(void **state)
{
    (void)state;
    enum { HERE = 1000, E = 3 * SOA_BLOCK_ROWS + 77 };
    soa__shard sh[NSHARDS];
    soa__counts c[NSHARDS];
    uint64_t *g = malloc(E * sizeof *g), *h = malloc(HERE * sizeof *h);
    soa_cid cell = 0;
    shards_init(sh);
    assert_int_equal(soa__shard_spawn(&sh[1], &cell, 1, HERE, h), 0);
    assert_int_equal(soa__shard_spawn(&sh[0], &cell, 1, E, g), 0);
    for (int i = 0; i < HERE; i++) {
        Cell v = a_cell(-i);
        v.dest = 1;
        soa_world_set(sh[1].w, soa__shard_local(&sh[1], h[i]), 0, &v);
    }
    for (int i = 0; i < E; i++) {
        Cell v = a_cell(i);
        v.dest = 1;
        soa_world_set(sh[0].w, soa__shard_local(&sh[0], g[i]), 0, &v);
    }
    soa_world_clear_changed(sh[1].w, SOA_CID_INVALID);
    shards_frame(sh, c);
    assert_int_equal(c[1].migrated_in, E);
    assert_int_equal(soa_world_entities(sh[0].w), 0);
    assert_int_equal(soa_world_count(sh[1].w, 0), HERE + E);
    for (int i = 0; i < E; i++) {
        soa_entity e = soa__shard_local(&sh[1], g[i]);
        Cell got, want = a_cell(i);
        assert_true(e != SOA_ENTITY_NULL);
        assert_true(soa__shard_gid(&sh[1], e) == g[i]);
        assert_int_equal(soa_world_read(sh[1].w, e, 0, &got), 0);
        assert_int_equal(got.dest, 1);
        assert_true(got.a == want.a);
        assert_memory_equal(got.b, want.b, sizeof got.b);
        assert_int_equal(got.flag, want.flag);
        assert_true(soa_world_is_changed(sh[1].w, e, 0));
    }
    for (int i = 0; i < HERE; i++) { /* untouched, still unchanged */
        soa_entity e = soa__shard_local(&sh[1], h[i]);
        Cell got;
        assert_int_equal(soa_world_read(sh[1].w, e, 0, &got), 0);
        assert_true(got.a == a_cell(-i).a);
        assert_false(soa_world_is_changed(sh[1].w, e, 0));
    }
    /* a few leave (their gids looked up one by one, not swept) */
    for (int i = 0; i < E; i += 1000) {
        Cell v = a_cell(i);
        v.dest = 2;
        soa_world_set(sh[1].w, soa__shard_local(&sh[1], g[i]), 0, &v);
    }
    shards_frame(sh, c);
    assert_int_equal(c[1].migrated_out, (E + 999) / 1000);
    for (int i = 0; i < E; i++)
        assert_true((soa__shard_local(&sh[1], g[i]) != SOA_ENTITY_NULL) ==
                    (i % 1000 != 0));
    assert_int_equal(sh[1].ids.n, HERE + E - (E + 999) / 1000);
    free(g);
    free(h);
    shards_free(sh);
}

/* What a rank refuses to pack: a rule's bad rank, a component nobody
 * agreed on. */
static void pack_refusals(void **state)
{
    (void)state;
    soa__shard sh[NSHARDS];
    soa__counts c = {0};
    soa__departures d = {0};
    uint64_t g[3];
    shards_init(sh);
    spawn_some(&sh[0], 3, g);
    Cell bad = a_cell(1);
    bad.dest = 7;
    soa_world_set(sh[0].w, soa__shard_local(&sh[0], g[1]), 0, &bad);
    assert_int_equal(soa__shard_pack(&sh[0], &d, &c), -1);
    assert_int_equal(errno, EINVAL);
    assert_non_null(strstr(sh[0].err, "gave rank 7"));
    bad.dest = 1;
    soa_world_set(sh[0].w, soa__shard_local(&sh[0], g[1]), 0, &bad);
    assert_int_equal(soa__shard_pack(&sh[0], &d, &c), 0);
    static const soa_field_desc f[] = {{"v", SOA_U8, NULL, 1, 0}};
    static const uint8_t zero = 0;
    static const soa_component_desc other = {"Other", 5, 1, 1, &zero, 1, f};
    assert_true(soa_world_register(sh[0].w, &other) != SOA_CID_INVALID);
    assert_int_equal(soa__shard_pack(&sh[0], &d, &c), -1);
    assert_non_null(strstr(sh[0].err, "'Other' is registered in the world"));
    /* a component listed twice, a cid not agreed on */
    soa__shard t;
    const soa_component_desc *twice[] = {&Cell_desc, &Cell_desc};
    assert_int_equal(soa__shard_init(&t, 0, 1, twice, 2), -1);
    assert_non_null(strstr(t.err, "listed twice"));
    soa__shard_free(&t);
    soa_cid unknown = 3; /* the gid's own cid */
    assert_int_equal(soa__shard_spawn(&sh[1], &unknown, 1, 1, NULL), -1);
    assert_int_equal(errno, EINVAL);
    free(d.out);
    shards_free(sh);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(wire_sizes),
        cmocka_unit_test(values_round_trip),
        cmocka_unit_test(rows_round_trip),
        cmocka_unit_test(buffers),
        cmocka_unit_test(idmap_model),
        cmocka_unit_test(shards_migrate),
        cmocka_unit_test(shards_replicate),
        cmocka_unit_test(damaged_messages),
        cmocka_unit_test(entity_twice),
        cmocka_unit_test(arrivals_span_blocks),
        cmocka_unit_test(pack_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
