/*
 * collect.c: collectives over a component: counts, sum/min/max of a
 * field, a gather of every row to one rank; and where entities live.
 * Each takes the step first (mpi_internal.h), so a missing rank is
 * named, not waited for.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mpi_internal.h"

static uint32_t idx_of(const soa_mpi *m, soa_cid cid)
{
    return soa__shard_idx(&m->s, cid);
}

/* Waits for a collective's request; names the call when it times out. */
static int finish(soa_mpi *m, MPI_Request *req, uint32_t op)
{
    if (soa__mpi_wait(m, 1, req))
        return 0;
    return soa__mpi_fail(m, ETIMEDOUT, "rank %d: %s did not complete within "
                         "%g s (a rank died during it)", m->s.rank,
                         soa__mpi_op_name(op), m->timeout);
}

int soa_mpi_count(soa_mpi *m, soa_cid cid, uint64_t *out)
{
    if (!m || !out) {
        errno = EINVAL;
        return -1;
    }
    int status = 0;
    if (idx_of(m, cid) == UINT32_MAX) {
        soa__mpi_fail(m, EINVAL, "rank %d: soa_mpi_count: unknown cid %u",
                      m->s.rank, cid);
        status = EINVAL;
    }
    if (soa__mpi_step(m, SOA__OP_COUNT, status, NULL, true) != 0)
        return -1;
    uint64_t mine = soa_world_count(m->s.w, cid);
    MPI_Request req;
    MPI_Iallreduce(&mine, out, 1, MPI_UINT64_T, MPI_SUM, m->comm, &req);
    return finish(m, &req, SOA__OP_COUNT);
}

/* The column of `field` element `elem` of d (C_cols order) and its type,
 * or -1. */
static long column_of(const soa_component_desc *d, const char *field,
                      uint32_t elem, soa_scalar *type)
{
    long col = 0;
    for (uint32_t k = 0; k < d->nfields; k++) {
        const soa_field_desc *f = &d->fields[k];
        if (strcmp(f->name, field) == 0) {
            *type = f->type;
            return elem < f->count ? col + (long)elem : -1;
        }
        col += (long)f->count;
    }
    return -1;
}

static double as_double(const void *col, size_t i, soa_scalar t)
{
    const unsigned char *p = col;
    switch (t) {
    case SOA_F32: { float v; memcpy(&v, p + i * 4, 4); return v; }
    case SOA_F64: { double v; memcpy(&v, p + i * 8, 8); return v; }
    case SOA_I8: return ((const int8_t *)col)[i];
    case SOA_I16: { int16_t v; memcpy(&v, p + i * 2, 2); return v; }
    case SOA_I32: { int32_t v; memcpy(&v, p + i * 4, 4); return v; }
    case SOA_I64: { int64_t v; memcpy(&v, p + i * 8, 8); return (double)v; }
    case SOA_U8: case SOA_BOOL: return p[i];
    case SOA_U16: { uint16_t v; memcpy(&v, p + i * 2, 2); return v; }
    case SOA_U32: { uint32_t v; memcpy(&v, p + i * 4, 4); return v; }
    case SOA_U64: { uint64_t v; memcpy(&v, p + i * 8, 8); return (double)v; }
    }
    return 0;
}

/* This rank's sum, min or max of one column of cid. */
static double local_reduce(const soa_mpi *m, soa_cid cid, long col,
                           soa_scalar t, soa_mpi_op op)
{
    double acc = op == SOA_MPI_SUM ? 0 : op == SOA_MPI_MIN ? INFINITY
                                                           : -INFINITY;
    soa_query q = {&cid, 1, NULL, 0};
    soa_query_iter it;
    soa_chunk c;
    soa_query_begin(m->s.w, &q, &it);
    while (soa_query_next_chunk(&it, &c)) {
        const void *p = soa_chunk_column(&c, 0, (uint32_t)col);
        for (size_t i = c.begin; i < c.end; i++) {
            double v = as_double(p, i, t);
            if (op == SOA_MPI_SUM)
                acc += v;
            else if (op == SOA_MPI_MIN ? v < acc : v > acc)
                acc = v;
        }
    }
    return acc;
}

int soa_mpi_reduce(soa_mpi *m, soa_cid cid, const char *field, uint32_t elem,
                   soa_mpi_op op, double *out)
{
    if (!m || !out) {
        errno = EINVAL;
        return -1;
    }
    uint32_t idx = idx_of(m, cid);
    soa_scalar t = SOA_F32;
    long col = idx == UINT32_MAX || !field
                   ? -1 : column_of(m->s.descs[idx], field, elem, &t);
    int status = 0;
    if (col < 0 || op < SOA_MPI_SUM || op > SOA_MPI_MAX) {
        soa__mpi_fail(m, EINVAL, "rank %d: soa_mpi_reduce: no field '%s' "
                      "element %u in cid %u, or op %d", m->s.rank,
                      field ? field : "(null)", elem, cid, (int)op);
        status = EINVAL;
    }
    if (soa__mpi_step(m, SOA__OP_REDUCE, status, NULL, true) != 0)
        return -1;
    double mine = local_reduce(m, cid, col, t, op);
    MPI_Op mop = op == SOA_MPI_SUM ? MPI_SUM : op == SOA_MPI_MIN ? MPI_MIN
                                                                 : MPI_MAX;
    MPI_Request req;
    MPI_Iallreduce(&mine, out, 1, MPI_DOUBLE, mop, m->comm, &req);
    return finish(m, &req, SOA__OP_REDUCE);
}

/* Root: the gathered bytes (rows from each rank in m->got) into arrays. */
static int unpack_rows(soa_mpi *m, uint32_t idx, size_t total, soa_gid **gids,
                       void **values, size_t *n)
{
    const soa_component_desc *d = m->s.descs[idx];
    size_t per = 8 + m->s.wsize[idx], size = d->size ? d->size : 1, bytes;
    soa_gid *g = malloc((total ? total : 1) * sizeof *g);
    unsigned char *v = soa_mul_ok(total ? total : 1, size, &bytes)
                           ? malloc(bytes) : NULL;
    if (!g || !v) {
        free(g);
        free(v);
        return soa__mpi_fail(m, ENOMEM, "rank %d: out of memory", m->s.rank);
    }
    const unsigned char *p = m->recv.p;
    for (size_t i = 0; i < total; i++, p += per) {
        memcpy(&g[i], p, 8);
        if (g[i] == SOA_GID_NULL || !soa__wire_valid(d, p + 8)) {
            free(g);
            free(v);
            return soa__mpi_fail(m, EPROTO, "rank %d: a bad row of '%s' in "
                                 "the gather", m->s.rank, d->name);
        }
        if (d->size)
            soa__wire_to_value(d, p + 8, v + i * d->size);
    }
    *gids = g;
    *values = v;
    *n = total;
    return 0;
}

/* Counts and displacements of the gather at the root from m->got. */
static int gather_layout(soa_mpi *m, size_t per, size_t *total)
{
    size_t bytes = 0, rows = 0;
    for (int r = 0; r < m->s.size; r++) {
        size_t b;
        if (!soa_mul_ok(per, (size_t)m->got[r], &b) ||
            b > (size_t)INT32_MAX - bytes)
            return soa__mpi_fail(m, EOVERFLOW, "rank %d: more than 2 GiB to "
                                 "gather", m->s.rank);
        m->rcount[r] = (int)b;
        m->rdispl[r] = (int)bytes;
        bytes += b;
        rows += (size_t)m->got[r];
    }
    soa__wbuf_reset(&m->recv);
    if (bytes && !soa__wbuf_put(&m->recv, bytes))
        return soa__mpi_fail(m, ENOMEM, "rank %d: out of memory", m->s.rank);
    *total = rows;
    return 0;
}

int soa_mpi_gather(soa_mpi *m, soa_cid cid, int root, soa_gid **gids,
                   void **values, size_t *n)
{
    if (!m || !gids || !values || !n) {
        errno = EINVAL;
        return -1;
    }
    *gids = NULL;
    *values = NULL;
    *n = 0;
    uint32_t idx = idx_of(m, cid);
    int status = 0;
    uint64_t rows = 0;
    if (idx == UINT32_MAX || root < 0 || root >= m->s.size) {
        soa__mpi_fail(m, EINVAL, "rank %d: soa_mpi_gather: cid %u, root %d",
                      m->s.rank, cid, root);
        status = EINVAL;
    } else {
        rows = soa__shard_pack_rows(&m->s, idx);
        if (m->s.tmp.failed || m->s.tmp.len > INT32_MAX) {
            soa__mpi_fail(m, ENOMEM, "rank %d: out of memory", m->s.rank);
            status = ENOMEM;
        }
    }
    for (int r = 0; r < m->s.size; r++)
        m->vals[r] = rows;
    if (soa__mpi_step(m, SOA__OP_GATHER, status, m->vals, true) != 0)
        return -1;
    size_t per = 8 + m->s.wsize[idx], total = 0;
    /* A root that cannot take the rows leaves the gather: the others'
     * deadline ends it (the job is over after a failed collective). */
    if (m->s.rank == root && gather_layout(m, per, &total) != 0)
        return -1;
    MPI_Request req;
    MPI_Igatherv(m->s.tmp.p, (int)m->s.tmp.len, MPI_BYTE, m->recv.p,
                 m->rcount, m->rdispl, MPI_BYTE, root, m->comm, &req);
    if (finish(m, &req, SOA__OP_GATHER) != 0)
        return -1;
    return m->s.rank == root ? unpack_rows(m, idx, total, gids, values, n) : 0;
}

int soa_mpi_locate(soa_mpi *m, const soa_gid *gids, size_t n, int *ranks)
{
    if (!m || (n && (!gids || !ranks))) {
        errno = EINVAL;
        return -1;
    }
    int status = 0;
    if (n > INT32_MAX) {
        soa__mpi_fail(m, EINVAL, "rank %d: soa_mpi_locate: %zu gids",
                      m->s.rank, n);
        status = EINVAL;
    }
    for (int r = 0; r < m->s.size; r++)
        m->vals[r] = n;
    if (soa__mpi_step(m, SOA__OP_LOCATE, status, m->vals, true) != 0)
        return -1;
    for (int r = 0; r < m->s.size; r++)
        if (m->got[r] != n)
            return soa__mpi_fail(m, EINVAL, "rank %d locates %llu gids, rank "
                                 "%d %zu", r, (unsigned long long)m->got[r],
                                 m->s.rank, n);
    /* Each rank says its own rank for what lives here, -1 elsewhere: the
     * maximum is the owner (an entity lives on one rank). */
    for (size_t i = 0; i < n; i++)
        ranks[i] = soa_mpi_local(m, gids[i]) != SOA_ENTITY_NULL ? m->s.rank
                                                                : -1;
    MPI_Request req;
    MPI_Iallreduce(MPI_IN_PLACE, ranks, (int)n, MPI_INT, MPI_MAX, m->comm,
                   &req);
    return finish(m, &req, SOA__OP_LOCATE);
}

size_t soa_mpi_replicated(const soa_mpi *m, soa_cid cid, const soa_gid **gids,
                          const void **values, const int **ranks)
{
    uint32_t idx = m ? idx_of(m, cid) : UINT32_MAX;
    const soa__replica *r = idx != UINT32_MAX ? &m->s.rep[idx] : NULL;
    if (gids)
        *gids = r ? r->gids : NULL;
    if (values)
        *values = r ? r->values : NULL;
    if (ranks)
        *ranks = r ? r->ranks : NULL;
    return r ? r->n : 0;
}
