/*
 * mpi_world: libsoa_mpi against a single-process model, on any number of
 * ranks (make test runs it on 4).  Every rank computes the whole model;
 * each checks its own part of the sharded world after every frame.
 *
 *   migration    entities change their Cell.dest (the partition rule) or
 *                are moved by hand (those without Cell), at random; after
 *                every frame each rank holds exactly the entities the model
 *                puts there, with every value and every changed bit
 *                preserved, found by their global handles; a final gather
 *                holds every entity once
 *   replication  rank 0 subscribes to every rank's Cell, rank 1 to rank
 *                2's Extra: each frame they receive exactly the rows the
 *                model says were marked changed there, and no others
 *   reductions   count, sum/min/max of fields equal the model's; a bad
 *                field fails on every rank alike
 *   locate       every rank learns where each entity lives, as the model
 *                says (and -1 for a gid nobody has)
 *   bytes        replicating 1% of the rows costs about 1% of 100%
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpi_test.h"
#include "rules.h"
#include "soa/mpi.h"

#define N 3000
#define FRAMES 12

static int rank, size;
static int failures;

#define CHECK(cond, ...)                                                   \
    do {                                                                   \
        if (!(cond)) {                                                     \
            fprintf(stderr, "rank %d: %s:%d: check failed: %s: ", rank,    \
                    __FILE__, __LINE__, #cond);                            \
            fprintf(stderr, __VA_ARGS__);                                  \
            fputc('\n', stderr);                                           \
            if (++failures > 20)                                           \
                MPI_Abort(MPI_COMM_WORLD, 1);                              \
        }                                                                  \
    } while (0)

/* ---- the model ------------------------------------------------------ */

typedef struct model {
    bool has_cell[N], has_extra[N], marked[N];
    Cell cell[N];
    Extra extra[N];
    int owner[N];
    bool cell_changed[N], extra_changed[N];
} model;

static uint32_t mix(uint32_t a, uint32_t b)
{
    uint32_t h = a * 0x9e3779b1u ^ (b + 0x7f4a7c15u) * 0x85ebca6bu;
    h ^= h >> 15;
    h *= 0x2c1b3c6du;
    h ^= h >> 12;
    return h;
}

/* Entity i is spawned by rank i % size as its (i / size + 1)-th. */
static soa_gid gid_of(int i)
{
    return ((uint64_t)(i % size + 1) << 40) | (uint64_t)(i / size + 1);
}

static int index_of(soa_gid g)
{
    int origin = (int)(g >> 40) - 1;
    int serial = (int)(g & ((UINT64_C(1) << 40) - 1));
    return origin + (serial - 1) * size;
}

static void model_init(model *md)
{
    memset(md, 0, sizeof *md);
    for (int i = 0; i < N; i++) {
        md->has_cell[i] = i % 7 != 3;
        md->has_extra[i] = i % 3 != 0;
        md->marked[i] = i % 5 == 0;
        md->cell[i] = (Cell){(int)(mix((uint32_t)i, 0) % (uint32_t)size),
                             (double)i, {(float)i, (float)i + 0.5f, -(float)i},
                             i % 2 == 1};
        md->extra[i] = (Extra){(uint64_t)i * 1000u, (int16_t)(i % 100)};
        md->owner[i] = i % size;
        md->cell_changed[i] = md->has_cell[i];
        md->extra_changed[i] = md->has_extra[i];
    }
}

/* What frame f does to entity i: which components it writes, and where
 * an entity without Cell is sent. */
static uint32_t draw(int i, int f, uint32_t salt)
{
    return mix((uint32_t)i, (uint32_t)f + salt);
}
static bool writes_cell(int i, int f) { return draw(i, f, 0) % 3 == 0; }
static bool writes_extra(int i, int f) { return draw(i, f, 1000) % 5 == 0; }
static int new_rank(int i, int f) { return (int)(draw(i, f, 2000) % (uint32_t)size); }
static bool moves_by_hand(int i, int f) { return draw(i, f, 3000) % 4 == 0; }

static void update_cell(Cell *c, int i, int f)
{
    c->dest = new_rank(i, f);
    c->a += f;
    c->b[1] += 1.0f;
    c->flag = !c->flag;
}

/* The model's end of frame f: replication expectations, then migration. */
static void model_frame(model *md, int f, bool *rep_cell, bool *rep_extra)
{
    for (int i = 0; i < N; i++) {
        if (f > 0 && md->has_cell[i] && writes_cell(i, f)) {
            update_cell(&md->cell[i], i, f);
            md->cell_changed[i] = true;
        }
        if (f > 0 && md->has_extra[i] && writes_extra(i, f)) {
            md->extra[i].n += (uint64_t)f;
            md->extra_changed[i] = true;
        }
        /* rank 0 takes every rank's changed Cell rows; rank 1 rank 2's
         * Extra: sent and cleared where the entity lived in the frame */
        rep_cell[i] = md->has_cell[i] && md->cell_changed[i];
        md->cell_changed[i] = false;
        rep_extra[i] = size > 2 && md->owner[i] == 2 && md->has_extra[i] &&
                       md->extra_changed[i];
        if (rep_extra[i])
            md->extra_changed[i] = false;
        if (md->has_cell[i])
            md->owner[i] = md->cell[i].dest;
        else if (f > 0 && moves_by_hand(i, f))
            md->owner[i] = new_rank(i, f);
    }
}

/* ---- the world ------------------------------------------------------ */

static soa_cid cell_cid, extra_cid, marked_cid;



static void spawn_mine(soa_mpi *m, const model *md)
{
    soa_world *w = soa_mpi_world(m);
    for (int i = rank; i < N; i += size) {
        soa_cid cids[3];
        uint32_t n = 0;
        if (md->has_cell[i])
            cids[n++] = cell_cid;
        if (md->has_extra[i])
            cids[n++] = extra_cid;
        if (md->marked[i])
            cids[n++] = marked_cid;
        soa_gid g;
        CHECK(soa_mpi_spawn(m, cids, n, 1, &g) == 0, "spawn %d", i);
        CHECK(g == gid_of(i), "gid of %d: %llx", i, (unsigned long long)g);
        soa_entity e = soa_mpi_local(m, g);
        CHECK(soa_mpi_gid(m, e) == g, "gid of the local handle");
        if (md->has_cell[i])
            soa_world_set(w, e, cell_cid, &md->cell[i]);
        if (md->has_extra[i])
            soa_world_set(w, e, extra_cid, &md->extra[i]);
    }
}

/* Frame f's writes on this rank's entities (as model_frame makes them). */
static void run_frame(soa_mpi *m, int f)
{
    soa_world *w = soa_mpi_world(m);
    soa_query q = {NULL, 0, NULL, 0};
    soa_query_iter it;
    soa_entity e;
    size_t n = soa_query_begin(w, &q, &it), k = 0;
    soa_entity *all = malloc((n ? n : 1) * sizeof *all);
    while (soa_query_next(&it, &e))
        all[k++] = e;
    for (k = 0; k < n; k++) {
        soa_gid g = soa_mpi_gid(m, all[k]);
        int i = index_of(g);
        Cell c;
        Extra x;
        if (soa_world_read(w, all[k], cell_cid, &c) == 0) {
            if (writes_cell(i, f)) {
                update_cell(&c, i, f);
                soa_world_set(w, all[k], cell_cid, &c);
            }
        } else if (moves_by_hand(i, f)) {
            CHECK(soa_mpi_move(m, g, new_rank(i, f)) == 0, "move %d", i);
        }
        if (soa_world_read(w, all[k], extra_cid, &x) == 0 && writes_extra(i, f)) {
            x.n += (uint64_t)f;
            soa_world_set(w, all[k], extra_cid, &x);
        }
    }
    free(all);
}

/* This rank holds exactly the model's entities, values and bits. */
static void check_world(soa_mpi *m, const model *md, int f)
{
    soa_world *w = soa_mpi_world(m);
    size_t mine = 0;
    for (int i = 0; i < N; i++) {
        soa_entity e = soa_mpi_local(m, gid_of(i));
        if (md->owner[i] != rank) {
            CHECK(e == SOA_ENTITY_NULL, "frame %d: entity %d is here, not on "
                  "rank %d", f, i, md->owner[i]);
            continue;
        }
        mine++;
        CHECK(e != SOA_ENTITY_NULL, "frame %d: entity %d is missing", f, i);
        if (e == SOA_ENTITY_NULL)
            continue;
        Cell c;
        Extra x;
        CHECK(soa_world_has(w, e, cell_cid) == md->has_cell[i], "cell %d", i);
        CHECK(soa_world_has(w, e, extra_cid) == md->has_extra[i], "extra %d", i);
        CHECK(soa_world_has(w, e, marked_cid) == md->marked[i], "tag %d", i);
        if (md->has_cell[i] && soa_world_read(w, e, cell_cid, &c) == 0) {
            CHECK(c.dest == md->cell[i].dest && c.a == md->cell[i].a &&
                  memcmp(c.b, md->cell[i].b, sizeof c.b) == 0 &&
                  c.flag == md->cell[i].flag,
                  "frame %d: entity %d's Cell", f, i);
            CHECK(!soa_world_is_changed(w, e, cell_cid),
                  "frame %d: entity %d's Cell still marked", f, i);
        }
        if (md->has_extra[i] && soa_world_read(w, e, extra_cid, &x) == 0) {
            CHECK(x.n == md->extra[i].n && x.k == md->extra[i].k,
                  "frame %d: entity %d's Extra", f, i);
            CHECK(soa_world_is_changed(w, e, extra_cid) == md->extra_changed[i],
                  "frame %d: entity %d's Extra changed bit", f, i);
        }
    }
    CHECK(soa_mpi_entities(m) == mine, "frame %d: %zu entities here, model %zu",
          f, soa_mpi_entities(m), mine);
}

static int by_gid(const void *a, const void *b)
{
    soa_gid x = *(const soa_gid *)a, y = *(const soa_gid *)b;
    return (x > y) - (x < y);
}

/* What this rank received equals the rows the model marks. */
static void check_replicated(soa_mpi *m, const model *md, soa_cid cid,
                             const bool *expect, bool mine, int f)
{
    const soa_gid *gids;
    const void *values;
    const int *ranks;
    size_t n = soa_mpi_replicated(m, cid, &gids, &values, &ranks), want = 0;
    for (int i = 0; mine && i < N; i++)
        want += expect[i];
    CHECK(n == want, "frame %d: %zu rows of %s replicated, model %zu", f, n,
          cid == cell_cid ? "Cell" : "Extra", want);
    soa_gid *seen = malloc((n ? n : 1) * sizeof *seen);
    for (size_t k = 0; k < n; k++) {
        int i = index_of(gids[k]);
        seen[k] = gids[k];
        CHECK(i >= 0 && i < N && expect[i], "frame %d: row %d was not changed",
              f, i);
        if (i < 0 || i >= N)
            continue;
        if (cid == cell_cid) {
            const Cell *c = (const Cell *)values + k;
            CHECK(c->dest == md->cell[i].dest && c->a == md->cell[i].a,
                  "frame %d: replicated Cell of %d", f, i);
        } else {
            const Extra *x = (const Extra *)values + k;
            CHECK(x->n == md->extra[i].n && ranks[k] == 2,
                  "frame %d: replicated Extra of %d", f, i);
        }
    }
    qsort(seen, n, sizeof *seen, by_gid);
    for (size_t k = 1; k < n; k++)
        CHECK(seen[k] != seen[k - 1], "frame %d: a row twice", f);
    free(seen);
}

static void check_reductions(soa_mpi *m, const model *md)
{
    uint64_t count = 0, want = 0;
    double sum = 0, lo = INFINITY, hi = -INFINITY, got;
    for (int i = 0; i < N; i++) {
        want += md->has_extra[i];
        if (!md->has_cell[i])
            continue;
        sum += md->cell[i].a;
        lo = fmin(lo, md->cell[i].b[2]);
        hi = fmax(hi, md->cell[i].b[1]);
    }
    CHECK(soa_mpi_count(m, extra_cid, &count) == 0 && count == want,
          "count %llu, model %llu", (unsigned long long)count,
          (unsigned long long)want);
    CHECK(soa_mpi_reduce(m, cell_cid, "a", 0, SOA_MPI_SUM, &got) == 0 &&
          got == sum, "sum %.17g, model %.17g", got, sum);
    CHECK(soa_mpi_reduce(m, cell_cid, "b", 2, SOA_MPI_MIN, &got) == 0 &&
          got == lo, "min %g, model %g", got, lo);
    CHECK(soa_mpi_reduce(m, cell_cid, "b", 1, SOA_MPI_MAX, &got) == 0 &&
          got == hi, "max %g, model %g", got, hi);
    /* b has 3 elements; every rank fails alike and the next call works */
    CHECK(soa_mpi_reduce(m, cell_cid, "b", 3, SOA_MPI_MAX, &got) == -1 &&
          errno == EINVAL, "element 3 of b");
    CHECK(strstr(soa_mpi_error(m), "'b' element 3") != NULL, "%s",
          soa_mpi_error(m));
    CHECK(soa_mpi_reduce(m, cell_cid, "nope", 0, SOA_MPI_SUM, &got) == -1,
          "no such field");
}

static void check_locate(soa_mpi *m, const model *md)
{
    static soa_gid g[N + 1];
    static int where[N + 1];
    for (int i = 0; i < N; i++)
        g[i] = gid_of(i);
    g[N] = gid_of(N + 5 * size); /* never spawned */
    CHECK(soa_mpi_locate(m, g, N + 1, where) == 0, "locate: %s",
          soa_mpi_error(m));
    for (int i = 0; i < N; i++)
        CHECK(where[i] == md->owner[i], "entity %d on rank %d, model %d", i,
              where[i], md->owner[i]);
    CHECK(where[N] == -1, "an unknown gid on rank %d", where[N]);
}

static void check_gather(soa_mpi *m, const model *md)
{
    soa_gid *gids;
    void *values;
    size_t n;
    CHECK(soa_mpi_gather(m, cell_cid, 0, &gids, &values, &n) == 0, "gather");
    if (rank != 0) {
        CHECK(n == 0 && !gids && !values, "gather elsewhere");
        return;
    }
    size_t want = 0;
    for (int i = 0; i < N; i++)
        want += md->has_cell[i];
    CHECK(n == want, "gathered %zu, model %zu", n, want);
    static bool seen[N];
    for (size_t k = 0; k < n; k++) {
        int i = index_of(gids[k]);
        CHECK(i >= 0 && i < N && !seen[i] && md->has_cell[i], "row %d", i);
        if (i < 0 || i >= N)
            continue;
        seen[i] = true;
        const Cell *c = (const Cell *)values + k;
        CHECK(memcmp(c, &md->cell[i], offsetof(Cell, flag) + 1) == 0 ||
              (c->a == md->cell[i].a && c->dest == md->cell[i].dest),
              "gathered Cell of %d", i);
    }
    free(gids);
    free(values);
}

static soa_mpi *make(const soa_component_desc *const *comps, uint32_t n)
{
    soa_mpi_config cfg = {MPI_COMM_WORLD, comps, n, 20};
    char why[SOA_MPI_ERRLEN];
    soa_mpi *m = soa_mpi_create(&cfg, why, sizeof why);
    if (!m) {
        fprintf(stderr, "rank %d: %s\n", rank, why);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    return m;
}

static void end_frame(soa_mpi *m, soa_mpi_stats *st)
{
    if (soa_mpi_end_frame(m, st) != 0) {
        fprintf(stderr, "rank %d: %s\n", rank, soa_mpi_error(m));
        soa_mpi_abort(m, 1);
    }
}

static void migration_and_replication(void)
{
    const soa_component_desc *comps[] = {&Cell_desc, &Extra_desc, &Marked_desc};
    soa_mpi *m = make(comps, 3);
    soa_world *w = soa_mpi_world(m);
    cell_cid = soa_world_cid(w, &Cell_desc);
    extra_cid = soa_world_cid(w, &Extra_desc);
    marked_cid = soa_world_cid(w, &Marked_desc);
    CHECK(soa_mpi_partition(m, cell_cid, dest_rule, NULL) == 0, "partition");
    CHECK(soa_mpi_partition(m, marked_cid, dest_rule, NULL) == -1, "a tag");
    CHECK(soa_mpi_subscribe(m, cell_cid, rank == 0 ? SOA_MPI_ALL
                                                   : SOA_MPI_NONE) == 0,
          "subscribe");
    CHECK(soa_mpi_subscribe(m, extra_cid, rank == 1 && size > 2 ? 2
                                                                : SOA_MPI_NONE) == 0,
          "subscribe");
    static model md;
    static bool rep_cell[N], rep_extra[N];
    model_init(&md);
    spawn_mine(m, &md);
    size_t moved = 0, replicated = 0;
    for (int f = 0; f <= FRAMES; f++) {
        soa_mpi_stats st;
        if (f > 0)
            run_frame(m, f);
        /* odd frames ask the rule by columns, even ones by value */
        CHECK((f % 2 ? soa_mpi_partition_cols(m, cell_cid, dest_cols, NULL)
                     : soa_mpi_partition(m, cell_cid, dest_rule, NULL)) == 0,
              "partition");
        model_frame(&md, f, rep_cell, rep_extra);
        end_frame(m, &st);
        CHECK(st.frame == (uint64_t)f + 1, "frame number");
        moved += st.migrated_in;
        replicated += st.replicated_in;
        check_world(m, &md, f);
        check_replicated(m, &md, cell_cid, rep_cell, rank == 0, f);
        check_replicated(m, &md, extra_cid, rep_extra, rank == 1, f);
    }
    check_reductions(m, &md);
    check_locate(m, &md);
    check_gather(m, &md);
    unsigned long long t[2] = {moved, replicated};
    MPI_Allreduce(MPI_IN_PLACE, t, 2, MPI_UNSIGNED_LONG_LONG, MPI_SUM,
                  MPI_COMM_WORLD);
    CHECK(size == 1 || t[0] > (unsigned long long)N * FRAMES / 10,
          "only %llu migrations", t[0]);
    if (rank == 0)
        printf("migration: %d entities, %d frames, %llu migrations, %llu rows "
               "replicated, all as the model says\n", N, FRAMES, t[0], t[1]);
    soa_mpi_destroy(m);
}

/* Rank 0 subscribes to every rank's Extra; bytes for 100% and 1%. */
static void replication_bytes(void)
{
    const soa_component_desc *comps[] = {&Extra_desc};
    soa_mpi *m = make(comps, 1);
    soa_cid x = soa_world_cid(soa_mpi_world(m), &Extra_desc);
    enum { ROWS = 20000 };
    soa_gid *g = malloc(ROWS * sizeof *g);
    CHECK(soa_mpi_spawn(m, &x, 1, ROWS, g) == 0, "spawn");
    CHECK(soa_mpi_subscribe(m, x, rank == 0 ? SOA_MPI_ALL : SOA_MPI_NONE) == 0,
          "subscribe");
    soa_mpi_stats st;
    unsigned long long full, one;
    end_frame(m, &st); /* every row was spawned: 100% */
    full = st.replication_bytes;
    MPI_Allreduce(MPI_IN_PLACE, &full, 1, MPI_UNSIGNED_LONG_LONG, MPI_SUM,
                  MPI_COMM_WORLD);
    for (int k = 0; k < ROWS; k += 100) { /* 1% */
        Extra v = {(uint64_t)k, 1};
        soa_world_set(soa_mpi_world(m), soa_mpi_local(m, g[k]), x, &v);
    }
    end_frame(m, &st);
    one = st.replication_bytes;
    MPI_Allreduce(MPI_IN_PLACE, &one, 1, MPI_UNSIGNED_LONG_LONG, MPI_SUM,
                  MPI_COMM_WORLD);
    unsigned long long rows = (unsigned long long)(size - 1) * ROWS;
    CHECK(full >= rows * 18 && full <= rows * 18 + 16 * (unsigned)size,
          "100%%: %llu bytes for %llu rows of 18", full, rows);
    CHECK(size == 1 || (one * 100 >= full * 95 / 100 && one * 100 <= full * 105 / 100),
          "1%%: %llu bytes, 100%%: %llu", one, full);
    if (rank == 0)
        printf("replication to rank 0: %llu bytes at 100%%, %llu at 1%% "
               "(%.2f%%)\n", full, one, full ? 100.0 * (double)one / (double)full : 0);
    free(g);
    soa_mpi_destroy(m);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    migration_and_replication();
    replication_bytes();
    int all = failures;
    MPI_Allreduce(MPI_IN_PLACE, &all, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (rank == 0)
        printf("%s: %d ranks, %d failed checks\n", all ? "FAIL" : "ok", size,
               all);
    MPI_Finalize();
    return all ? 1 : 0;
}
