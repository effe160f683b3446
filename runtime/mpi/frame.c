/*
 * frame.c: the end of a frame.  Entities whose rank changed migrate with
 * all their components; subscribed components' changed rows go to their
 * subscribers; both travel in one MPI_Ialltoallv.
 *
 * What one rank sends another in a frame (nothing at all when it has
 * nothing for it), every integer in the host's byte order (the handshake
 * checked that all ranks share it):
 *
 *   u32 nsec, then nsec sections of replicated rows:
 *       u16 idx, u32 rows, then rows times: u64 gid, the value's bytes
 *   u32 nmig, then nmig migration records:
 *       u64 gid, u16 ncomp, then ncomp times (component indexes rising):
 *           u16 idx, u8 changed, soa__wire_size(idx) bytes of value
 *
 * The receiver parses a whole message before it changes anything, and
 * refuses one that does not parse exactly: a short or long message, an
 * unknown component, a component twice, a changed flag or a bool that is
 * not 0 or 1, a gid of 0 or one that already lives here, rows of a
 * component it did not subscribe to.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mpi_internal.h"
#include "soa/bitset.h"

/* An entity leaving this rank. */
typedef struct leaving {
    soa_entity e;
    soa_gid g;
    int to;
} leaving;

typedef struct frame_ctx {
    leaving *out;
    size_t n, cap;
    uint32_t *nmig; /* per destination */
} frame_ctx;

static int push(frame_ctx *f, soa_entity e, soa_gid g, int to)
{
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 256;
        leaving *p = realloc(f->out, cap * sizeof *p);
        if (!p) {
            errno = ENOMEM;
            return -1;
        }
        f->out = p;
        f->cap = cap;
    }
    f->out[f->n++] = (leaving){e, g, to};
    return 0;
}

/* Every component registered in the world must be one the ranks agreed
 * on (or the gid's): anything else could not travel. */
static int check_registered(soa_mpi *m)
{
    const soa_component_desc *d;
    for (soa_cid c = m->ncids; (d = soa_world_desc(m->w, c)) != NULL; c++)
        return soa__mpi_fail(m, EINVAL, "rank %d: component '%s' is "
                             "registered in the world but was not given to "
                             "soa_mpi_create, so it cannot migrate", m->rank,
                             d->name);
    return 0;
}

/* The rule over every row whose partition component is marked changed. */
static int by_rule(soa_mpi *m, frame_ctx *f)
{
    uint32_t idx = m->idx_of[m->part_cid];
    soa__walk w;
    soa__walk_begin(m, idx, &w);
    while (soa__walk_next(m, idx, &w)) {
        size_t end = w.c.end;
        for (size_t i = soa_bitset_next(w.changed, end, w.c.begin); i < end;
             i = soa_bitset_next(w.changed, end, i + 1)) {
            soa__cols_to_value(m->descs[idx], m->cols, i, m->value);
            int to = m->rule(m->value, m->rule_ctx);
            if (to < 0 || to >= m->size)
                return soa__mpi_fail(m, EINVAL, "rank %d: the partition rule "
                                     "gave rank %d for entity 0x%llx (%d "
                                     "ranks)", m->rank, to,
                                     (unsigned long long)w.gids[i], m->size);
            if (to != m->rank && push(f, w.c.eids[i], w.gids[i], to) != 0)
                return soa__mpi_fail(m, ENOMEM, "rank %d: out of memory",
                                     m->rank);
        }
    }
    return 0;
}

/* soa_mpi_move's requests, for entities still here without the partition
 * component. */
static int by_request(soa_mpi *m, frame_ctx *f)
{
    for (size_t s = 0; s < m->moves.cap; s++) {
        soa_gid g = m->moves.keys[s];
        if (!g)
            continue;
        int to = (int)m->moves.vals[s] - 1;
        soa_entity e = soa_mpi_local(m, g);
        if (e == SOA_ENTITY_NULL || to == m->rank ||
            (m->part_cid != SOA_CID_INVALID &&
             soa_world_has(m->w, e, m->part_cid)))
            continue;
        if (push(f, e, g, to) != 0)
            return soa__mpi_fail(m, ENOMEM, "rank %d: out of memory",
                                 m->rank);
    }
    soa__idmap_free(&m->moves);
    return 0;
}

/* One migration record of entity e into b. */
static void pack_entity(soa_mpi *m, soa__wbuf *b, soa_entity e, soa_gid g)
{
    uint16_t n = 0;
    soa__wbuf_u64(b, g);
    size_t at = b->len;
    soa__wbuf_u16(b, 0); /* ncomp, filled in below */
    for (uint32_t k = 0; k < m->ncomps; k++) {
        if (!soa_world_has(m->w, e, m->cids[k]))
            continue;
        uint64_t *changed = NULL;
        size_t i = 0;
        bool cols = m->ncols[k] &&
                    soa__row_of(m->w, e, m->cids[k], m->ncols[k], m->cols,
                                &changed, &i);
        soa__wbuf_u16(b, (uint16_t)k);
        unsigned char bit = cols && soa_bitset_test(changed, i);
        soa__wbuf_bytes(b, &bit, 1);
        unsigned char *v = soa__wbuf_put(b, m->wsize[k]);
        if (v && cols)
            soa__wire_from_cols(m->descs[k], m->cols, i, v);
        n++;
    }
    if (!b->failed)
        memcpy(b->p + at, &n, sizeof n);
}

/* Whether rank s receives component idx from this rank. */
static bool subscribed(const soa_mpi *m, int s, uint32_t idx, int from)
{
    int f = m->sub[(size_t)s * m->ncomps + idx];
    return f == SOA_MPI_ALL || f == from;
}

/* The changed rows of component idx into m->tmp (gid + value each);
 * returns how many, and clears their changed bits. */
static uint32_t pack_changed(soa_mpi *m, uint32_t idx)
{
    uint32_t rows = 0;
    soa__walk w;
    soa__wbuf_reset(&m->tmp);
    soa__walk_begin(m, idx, &w);
    while (soa__walk_next(m, idx, &w)) {
        size_t end = w.c.end;
        for (size_t i = soa_bitset_next(w.changed, end, w.c.begin); i < end;
             i = soa_bitset_next(w.changed, end, i + 1)) {
            soa__wbuf_u64(&m->tmp, w.gids[i]);
            unsigned char *v = soa__wbuf_put(&m->tmp, m->wsize[idx]);
            if (v)
                soa__wire_from_cols(m->descs[idx], m->cols, i, v);
            rows++;
        }
    }
    soa_world_clear_changed(m->w, m->cids[idx]);
    return rows;
}

/* The changed rows of every subscribed component into their subscribers'
 * messages (clearing those bits: a row leaving this frame arrives
 * unchanged, as it was sent already); the count into nsec[]. */
static void pack_sections(soa_mpi *m, uint32_t *nsec, soa_mpi_stats *st)
{
    for (uint32_t idx = 0; idx < m->ncomps; idx++) {
        bool any = false;
        for (int s = 0; s < m->size; s++)
            any = any || subscribed(m, s, idx, m->rank);
        if (!any || m->ncols[idx] == 0)
            continue;
        uint32_t rows = pack_changed(m, idx);
        for (int s = 0; s < m->size; s++) {
            if (!subscribed(m, s, idx, m->rank))
                continue;
            size_t before = m->out[s].len;
            soa__wbuf_u16(&m->out[s], (uint16_t)idx);
            soa__wbuf_u32(&m->out[s], rows);
            soa__wbuf_bytes(&m->out[s], m->tmp.p, m->tmp.len);
            nsec[s]++;
            st->replicated_out += rows;
            if (s != m->rank)
                st->replication_bytes += m->out[s].len - before;
        }
    }
}

/* Every destination's message into m->out[]; stats counted. */
static int pack_all(soa_mpi *m, frame_ctx *f, soa_mpi_stats *st)
{
    size_t n = (size_t)m->size;
    uint32_t *nsec = calloc(n, sizeof *nsec);
    size_t *mig_at = calloc(n, sizeof *mig_at);
    int rc = 0;
    if (!nsec || !mig_at) {
        rc = soa__mpi_fail(m, ENOMEM, "rank %d: out of memory", m->rank);
        goto done;
    }
    for (size_t r = 0; r < n; r++) {
        soa__wbuf_reset(&m->out[r]);
        soa__wbuf_u32(&m->out[r], 0); /* nsec, filled in below */
    }
    pack_sections(m, nsec, st);
    for (size_t r = 0; r < n; r++) {
        mig_at[r] = m->out[r].len;
        soa__wbuf_u32(&m->out[r], 0); /* nmig, filled in below */
    }
    for (size_t k = 0; k < f->n; k++) {
        soa__wbuf *b = &m->out[f->out[k].to];
        size_t before = b->len;
        pack_entity(m, b, f->out[k].e, f->out[k].g);
        f->nmig[f->out[k].to]++;
        st->migration_bytes += b->len - before;
    }
    for (size_t r = 0; r < n; r++) {
        soa__wbuf *b = &m->out[r];
        if (m->tmp.failed || b->failed) {
            rc = soa__mpi_fail(m, ENOMEM, "rank %d: out of memory", m->rank);
            break;
        }
        if (f->nmig[r] == 0 && nsec[r] == 0) {
            b->len = 0; /* nothing for r: no bytes at all */
            continue;
        }
        memcpy(b->p, &nsec[r], 4);
        memcpy(b->p + mig_at[r], &f->nmig[r], 4);
        if ((int)r != m->rank) /* the two counts */
            *(f->nmig[r] ? &st->migration_bytes : &st->replication_bytes) += 8;
    }
done:
    free(nsec);
    free(mig_at);
    return rc;
}

/* Lays the messages out in m->send, sizes them for MPI (int counts). */
static int layout_send(soa_mpi *m)
{
    size_t total = 0;
    for (int r = 0; r < m->size; r++) {
        if (m->out[r].len > (size_t)INT32_MAX - total)
            return soa__mpi_fail(m, EOVERFLOW, "rank %d: more than 2 GiB to "
                                 "send in one frame", m->rank);
        m->sdispl[r] = (int)total;
        m->scount[r] = (int)m->out[r].len;
        m->vals[r] = m->out[r].len;
        total += m->out[r].len;
    }
    soa__wbuf_reset(&m->send);
    for (int r = 0; r < m->size; r++)
        soa__wbuf_bytes(&m->send, m->out[r].p, m->out[r].len);
    if (m->send.failed)
        return soa__mpi_fail(m, ENOMEM, "rank %d: out of memory", m->rank);
    return 0;
}

static int layout_recv(soa_mpi *m)
{
    size_t total = 0;
    for (int r = 0; r < m->size; r++) {
        if (m->got[r] > (uint64_t)INT32_MAX - total)
            return soa__mpi_fail(m, EOVERFLOW, "rank %d: more than 2 GiB to "
                                 "receive in frame %llu (from rank %d)",
                                 m->rank, (unsigned long long)m->frame, r);
        m->rdispl[r] = (int)total;
        m->rcount[r] = (int)m->got[r];
        total += (size_t)m->got[r];
    }
    soa__wbuf_reset(&m->recv);
    if (total && !soa__wbuf_put(&m->recv, total))
        return soa__mpi_fail(m, ENOMEM, "rank %d: out of memory", m->rank);
    return 0;
}

/* ---- receiving ------------------------------------------------------ */

/* The component list of one migration record (after its gid and ncomp):
 * checked, and the cids into cids[] when not NULL. */
static int parse_comps(soa_mpi *m, soa__rbuf *r, int from, soa_gid g,
                       uint16_t ncomp, soa_cid *cids)
{
    int last = -1;
    for (uint16_t j = 0; j < ncomp; j++) {
        uint16_t idx = soa__rbuf_u16(r);
        const unsigned char *bit = soa__rbuf_get(r, 1);
        const unsigned char *v =
            idx < m->ncomps ? soa__rbuf_get(r, m->wsize[idx]) : NULL;
        if (r->bad || idx >= m->ncomps || (int)idx <= last || !bit ||
            *bit > 1 || (m->wsize[idx] && !v) ||
            (v && !soa__wire_valid(m->descs[idx], v)))
            return soa__mpi_fail(m, EPROTO, "rank %d sent a bad component "
                                 "(index %u) of entity 0x%llx", from, idx,
                                 (unsigned long long)g);
        if (cids)
            cids[j] = m->cids[idx];
        last = idx;
    }
    return 0;
}

/* Entity g arrives with the components recorded in `rec` (parsed
 * already): spawned in the table of its set, values and changed bits
 * written into its row. */
static int arrive(soa_mpi *m, soa_gid g, soa__rbuf rec, uint16_t ncomp,
                  soa_cid *cids)
{
    soa_entity e;
    cids[ncomp] = m->gid_cid;
    if (soa_world_spawn_n(m->w, cids, ncomp + 1u, 1, &e) != 0)
        return -1;
    if (soa__idmap_put(&m->ids, g, e) != 0) {
        soa_world_despawn(m->w, e);
        return -1;
    }
    uint64_t *changed;
    size_t i;
    for (uint16_t j = 0; j < ncomp; j++) {
        uint16_t idx = soa__rbuf_u16(&rec);
        unsigned char bit = *soa__rbuf_get(&rec, 1);
        const unsigned char *v = soa__rbuf_get(&rec, m->wsize[idx]);
        if (!m->ncols[idx] ||
            !soa__row_of(m->w, e, m->cids[idx], m->ncols[idx], m->cols,
                         &changed, &i))
            continue;
        soa__wire_to_cols(m->descs[idx], v, m->cols, i);
        if (bit)
            soa_bitset_set(changed, i);
        else
            soa_bitset_clear(changed, i);
    }
    soa__row_of(m->w, e, m->gid_cid, 1, m->cols, &changed, &i);
    ((uint64_t *)m->cols[0])[i] = g;
    soa_bitset_clear(changed, i);
    return 0;
}

/* Parses rank `from`'s migrations; applies them when `apply` (after a
 * parse without it succeeded).  -1 names what is wrong. */
static int parse_migrations(soa_mpi *m, soa__rbuf *r, int from, bool apply,
                            size_t *arrived)
{
    uint32_t nmig = soa__rbuf_u32(r);
    if (r->bad || nmig > soa__rbuf_left(r) / 10)
        return soa__mpi_fail(m, EPROTO, "rank %d sent %u migrations in %zu "
                             "bytes", from, nmig, soa__rbuf_left(r));
    soa_cid *cids = malloc((m->ncomps + 1) * sizeof *cids);
    if (!cids)
        return soa__mpi_fail(m, ENOMEM, "rank %d: out of memory", m->rank);
    int rc = 0;
    for (uint32_t k = 0; k < nmig && rc == 0; k++) {
        soa_gid g = soa__rbuf_u64(r);
        uint16_t ncomp = soa__rbuf_u16(r);
        size_t start = r->at;
        bool here = soa_mpi_local(m, g) != SOA_ENTITY_NULL;
        if (r->bad || g == SOA_GID_NULL || ncomp > m->ncomps || here) {
            rc = soa__mpi_fail(m, EPROTO, "rank %d sent a bad migration "
                               "record (entity 0x%llx, %u components)%s",
                               from, (unsigned long long)g, ncomp,
                               here ? ": it already lives here" : "");
            break;
        }
        rc = parse_comps(m, r, from, g, ncomp, cids);
        if (rc == 0 && apply) {
            soa__rbuf rec = soa__rbuf_of(r->p + start, r->at - start);
            if (arrive(m, g, rec, ncomp, cids) != 0)
                rc = soa__mpi_fail(m, ENOMEM, "rank %d: out of memory",
                                   m->rank);
            else
                (*arrived)++;
        }
    }
    free(cids);
    return rc;
}

static int grow_replica(soa__replica *p, size_t more, size_t size)
{
    size_t need, bytes;
    if (!soa_add_ok(p->n, more, &need))
        return -1;
    if (need <= p->cap)
        return 0;
    size_t cap = p->cap ? p->cap : 64;
    while (cap < need)
        cap *= 2;
    soa_gid *g = realloc(p->gids, cap * sizeof *g);
    if (g)
        p->gids = g;
    int *r = realloc(p->ranks, cap * sizeof *r);
    if (r)
        p->ranks = r;
    unsigned char *v = soa_mul_ok(cap, size ? size : 1, &bytes)
                           ? realloc(p->values, bytes) : NULL;
    if (v)
        p->values = v;
    if (!g || !r || !v)
        return -1;
    p->cap = cap;
    return 0;
}

/* One replicated section's rows (parsed header: idx, rows, p) checked,
 * and kept when `apply`. */
static int take_rows(soa_mpi *m, int from, uint16_t idx, uint32_t rows,
                     const unsigned char *p, bool apply)
{
    soa__replica *rep = &m->rep[idx];
    size_t size = m->descs[idx]->size, per = 8 + m->wsize[idx];
    if (apply && grow_replica(rep, rows, size) != 0)
        return soa__mpi_fail(m, ENOMEM, "rank %d: out of memory", m->rank);
    for (uint32_t j = 0; j < rows; j++, p += per) {
        soa_gid g;
        memcpy(&g, p, 8);
        if (g == SOA_GID_NULL || !soa__wire_valid(m->descs[idx], p + 8))
            return soa__mpi_fail(m, EPROTO, "rank %d sent a bad row of '%s'",
                                 from, m->descs[idx]->name);
        if (!apply)
            continue;
        rep->gids[rep->n] = g;
        rep->ranks[rep->n] = from;
        soa__wire_to_value(m->descs[idx], p + 8, rep->values + rep->n * size);
        rep->n++;
    }
    return 0;
}

static int parse_sections(soa_mpi *m, soa__rbuf *r, int from, bool apply,
                          size_t *rows_in)
{
    uint32_t nsec = soa__rbuf_u32(r);
    if (r->bad || nsec > m->ncomps)
        return soa__mpi_fail(m, EPROTO, "rank %d sent %u replicated "
                             "components (%u exist)", from, nsec, m->ncomps);
    for (uint32_t k = 0; k < nsec; k++) {
        uint16_t idx = soa__rbuf_u16(r);
        uint32_t rows = soa__rbuf_u32(r);
        size_t bytes;
        if (r->bad || idx >= m->ncomps || !subscribed(m, m->rank, idx, from))
            return soa__mpi_fail(m, EPROTO, "rank %d sent rows of component "
                                 "%u, which this rank (%d) did not subscribe "
                                 "to from it", from, idx, m->rank);
        if (!soa_mul_ok(8 + m->wsize[idx], rows, &bytes) ||
            bytes > soa__rbuf_left(r))
            return soa__mpi_fail(m, EPROTO, "rank %d sent %u rows of '%s' in "
                                 "%zu bytes", from, rows, m->descs[idx]->name,
                                 soa__rbuf_left(r));
        if (take_rows(m, from, idx, rows, soa__rbuf_get(r, bytes), apply))
            return -1;
        if (apply)
            *rows_in += rows;
    }
    return 0;
}

/* Checks every message received, then applies them all. */
static int receive_all(soa_mpi *m, soa_mpi_stats *st)
{
    for (uint32_t k = 0; k < m->ncomps; k++)
        m->rep[k].n = 0;
    for (int pass = 0; pass < 2; pass++)
        for (int s = 0; s < m->size; s++) {
            if (!m->rcount[s])
                continue;
            soa__rbuf r = soa__rbuf_of(m->recv.p + m->rdispl[s],
                                       (size_t)m->rcount[s]);
            if (parse_sections(m, &r, s, pass == 1, &st->replicated_in) ||
                parse_migrations(m, &r, s, pass == 1, &st->migrated_in))
                return -1;
            if (soa__rbuf_left(&r) != 0)
                return soa__mpi_fail(m, EPROTO, "rank %d sent %d bytes, of "
                                     "which the last %zu do not parse", s,
                                     m->rcount[s], soa__rbuf_left(&r));
        }
    return 0;
}

/* ---- the frame ------------------------------------------------------ */

/* Everything before the step: what leaves, packed. */
static int prepare(soa_mpi *m, frame_ctx *f, soa_mpi_stats *st)
{
    if (!f->nmig)
        return soa__mpi_fail(m, ENOMEM, "rank %d: out of memory", m->rank);
    if (check_registered(m) != 0 || (m->rule && by_rule(m, f) != 0) ||
        by_request(m, f) != 0 || pack_all(m, f, st) != 0)
        return -1;
    return layout_send(m);
}

static int exchange(soa_mpi *m)
{
    if (layout_recv(m) != 0)
        return -1;
    MPI_Request req;
    MPI_Ialltoallv(m->send.p, m->scount, m->sdispl, MPI_BYTE, m->recv.p,
                   m->rcount, m->rdispl, MPI_BYTE, m->comm, &req);
    if (!soa__mpi_wait(m, 1, &req))
        return soa__mpi_fail(m, ETIMEDOUT, "rank %d: the exchange of frame "
                             "%llu did not complete within %g s (a rank died "
                             "during it)", m->rank,
                             (unsigned long long)m->frame, m->timeout);
    return 0;
}

static double since_ns(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) * 1e9 +
           (double)(t1.tv_nsec - t0->tv_nsec);
}

int soa_mpi_end_frame(soa_mpi *m, soa_mpi_stats *st)
{
    soa_mpi_stats local;
    if (!m) {
        errno = EINVAL;
        return -1;
    }
    st = st ? st : &local;
    memset(st, 0, sizeof *st);
    frame_ctx f = {NULL, 0, 0, calloc((size_t)m->size, sizeof(uint32_t))};
    int status = prepare(m, &f, st) != 0 ? errno : 0;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = soa__mpi_step(m, SOA__OP_FRAME, status, m->vals, true);
    if (rc == 0)
        rc = exchange(m);
    st->exchange_ns = since_ns(&t0);
    if (rc == 0) {
        for (size_t k = 0; k < f.n; k++) {
            soa_world_despawn(m->w, f.out[k].e);
            soa__idmap_del(&m->ids, f.out[k].g);
        }
        st->migrated_out = f.n;
        rc = receive_all(m, st);
    }
    free(f.out);
    free(f.nmig);
    st->header_bytes = (size_t)(m->size - 1) * sizeof(soa__step_hdr);
    st->frame = ++m->frame;
    return rc;
}

int soa_mpi_run_frame(soa_mpi *m, soa_sched *s, double dt, double time,
                      soa_mpi_stats *st)
{
    if (!m || !s) {
        errno = EINVAL;
        return -1;
    }
    if (soa_sched_run_frame(s, dt, time) != 0) {
        int e = errno;
        soa__mpi_fail(m, e, "rank %d: the scheduler's frame failed: %s",
                      m->rank, soa_sched_error(s));
        /* the others must not wait for a frame that will not come */
        soa__mpi_step(m, SOA__OP_FRAME, e, NULL, true);
        m->frame++;
        errno = e;
        return -1;
    }
    return soa_mpi_end_frame(m, st);
}
