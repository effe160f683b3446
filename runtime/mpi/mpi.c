/*
 * mpi.c: a world per rank (soa_mpi_create and the handshake that checks
 * every rank has the same components), global handles, ownership rules
 * and subscriptions.  The frame's exchange is in frame.c, the collectives
 * over a component in collect.c.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpi_internal.h"

#define GID_SERIAL_BITS 40
#define DEFAULT_TIMEOUT 60.0

/* The hidden component that holds each entity's gid in its row, so it
 * travels with the row through the tables. */
typedef struct gid_value {
    uint64_t gid;
} gid_value;
static const gid_value gid_default = {0};
static const soa_field_desc gid_fields[] = {
    {"gid", SOA_U64, NULL, 1, 0},
};
static const soa_component_desc gid_desc = {
    "soa_mpi_gid", 0x736f615f6d706931u, sizeof(gid_value),
    _Alignof(gid_value), &gid_default, 1, gid_fields,
};

static uint64_t fnv(const void *p, size_t n, uint64_t h)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3u;
    return h;
}

/* ---- creation ------------------------------------------------------- */

/* What each rank says about one component in the handshake. */
typedef struct comp_rec {
    uint64_t name_hash, layout_hash, size, wire;
    uint32_t byte_order, pad;
} comp_rec;

static double timeout_of(const soa_mpi_config *cfg)
{
    if (cfg->timeout > 0)
        return cfg->timeout;
    const char *env = getenv("SOA_MPI_TIMEOUT");
    char *end;
    double t = env ? strtod(env, &end) : 0;
    return env && end != env && !*end && t > 0 ? t : DEFAULT_TIMEOUT;
}

/* Per-rank and per-component arrays; -1 (ENOMEM) when any is missing. */
static int alloc_arrays(soa_mpi *m, uint32_t nc)
{
    size_t n = (size_t)m->size, c = nc ? nc : 1;
    m->descs = calloc(c, sizeof *m->descs);
    m->cids = calloc(c, sizeof *m->cids);
    m->wsize = calloc(c, sizeof *m->wsize);
    m->ncols = calloc(c, sizeof *m->ncols);
    m->rep = calloc(c, sizeof *m->rep);
    m->sub = malloc(n * c * sizeof *m->sub);
    m->out = calloc(n, sizeof *m->out);
    m->scount = calloc(n, sizeof(int));
    m->sdispl = calloc(n, sizeof(int));
    m->rcount = calloc(n, sizeof(int));
    m->rdispl = calloc(n, sizeof(int));
    m->vals = calloc(n, sizeof(uint64_t));
    m->got = calloc(n, sizeof(uint64_t));
    m->hdr_out = calloc(n, sizeof(soa__step_hdr));
    m->hdr_in = calloc(n, sizeof(soa__step_hdr));
    m->reqs = calloc(2 * n, sizeof(MPI_Request));
    if (!m->descs || !m->cids || !m->wsize || !m->ncols || !m->rep ||
        !m->sub || !m->out || !m->scount || !m->sdispl || !m->rcount ||
        !m->rdispl || !m->vals || !m->got || !m->hdr_out || !m->hdr_in ||
        !m->reqs) {
        errno = ENOMEM;
        return -1;
    }
    for (size_t i = 0; i < n * c; i++)
        m->sub[i] = SOA_MPI_NONE;
    return 0;
}

/* Registers the components in m's world; m->err says why not. */
static int register_all(soa_mpi *m, const soa_mpi_config *cfg)
{
    size_t widest = 1, largest = sizeof(gid_value);
    for (uint32_t k = 0; k < cfg->ncomps; k++) {
        const soa_component_desc *d = cfg->comps[k];
        soa_cid cid = soa_world_register(m->w, d);
        if (cid == SOA_CID_INVALID)
            return soa__mpi_fail(m, errno, "rank %d: component %u: %s",
                                 m->rank, k, soa_world_error(m->w));
        if (cid != k)
            return soa__mpi_fail(m, EINVAL,
                                 "rank %d: component '%s' is listed twice",
                                 m->rank, d->name);
        long cols = soa__wire_cols(d);
        if (cols < 0 || cols > 4096)
            return soa__mpi_fail(m, EINVAL, "rank %d: component '%s' has %ld "
                                 "columns (at most 4096 travel)", m->rank,
                                 d->name, cols);
        m->descs[k] = d;
        m->cids[k] = cid;
        m->wsize[k] = d->size ? soa__wire_size(d) : 0;
        m->ncols[k] = d->size ? (uint32_t)cols : 0;
        widest = m->ncols[k] > widest ? m->ncols[k] : widest;
        largest = d->size > largest ? d->size : largest;
        m->hash = fnv(d->name, strlen(d->name) + 1, m->hash);
        m->hash = fnv(&d->layout_hash, sizeof d->layout_hash, m->hash);
    }
    m->ncomps = cfg->ncomps;
    m->gid_cid = soa_world_register(m->w, &gid_desc);
    m->ncids = m->gid_cid + 1;
    m->idx_of = malloc(m->ncids * sizeof *m->idx_of);
    m->cols = malloc(widest * sizeof *m->cols);
    m->value = malloc(largest);
    if (m->gid_cid == SOA_CID_INVALID || !m->idx_of || !m->cols || !m->value)
        return soa__mpi_fail(m, ENOMEM, "rank %d: out of memory", m->rank);
    for (uint32_t c = 0; c < m->ncids; c++)
        m->idx_of[c] = c < m->ncomps ? c : UINT32_MAX;
    return 0;
}

/* Compares every rank's component records with rank 0's; names the first
 * rank (and component) that differs.  Every rank sees the same records,
 * so every rank reaches the same verdict. */
static int compare(soa_mpi *m, const comp_rec *all)
{
    uint32_t nc = m->ncomps;
    for (int r = 1; r < m->size; r++)
        for (uint32_t k = 0; k < nc; k++) {
            const comp_rec *a = &all[k], *b = &all[(size_t)r * nc + k];
            const char *name = m->descs[k]->name;
            if (a->byte_order != b->byte_order)
                return soa__mpi_fail(m, EPROTO, "rank %d has another byte "
                                     "order than rank 0", r);
            if (a->name_hash != b->name_hash)
                return soa__mpi_fail(m, EPROTO, "rank %d: component %u has "
                                     "another name there than on rank 0 "
                                     "(this rank: '%s')", r, k, name);
            if (a->layout_hash != b->layout_hash || a->size != b->size ||
                a->wire != b->wire)
                return soa__mpi_fail(m, EPROTO, "rank %d: component '%s' has "
                                     "layout hash 0x%016llx there but "
                                     "0x%016llx on rank 0 (sizes %llu and "
                                     "%llu)", r, name,
                                     (unsigned long long)b->layout_hash,
                                     (unsigned long long)a->layout_hash,
                                     (unsigned long long)b->size,
                                     (unsigned long long)a->size);
        }
    return 0;
}

/* The handshake: a step (same call, every rank alive, and the number of
 * components), then every rank's records to every rank. */
static int handshake(soa_mpi *m, int status)
{
    for (int r = 0; r < m->size; r++)
        m->vals[r] = m->ncomps;
    if (soa__mpi_step(m, SOA__OP_CREATE, status, m->vals, false) != 0)
        return -1;
    for (int r = 0; r < m->size; r++)
        if (m->got[r] != m->ncomps)
            return soa__mpi_fail(m, EPROTO, "rank %d lists %llu components, "
                                 "rank %d lists %u", r,
                                 (unsigned long long)m->got[r], m->rank,
                                 m->ncomps);
    size_t nc = m->ncomps, bytes = nc * sizeof(comp_rec);
    comp_rec *mine = calloc(nc ? nc : 1, sizeof *mine);
    comp_rec *all = calloc(nc ? nc * (size_t)m->size : 1, sizeof *all);
    if (!mine || !all || bytes > (size_t)INT32_MAX) {
        free(mine);
        free(all);
        return soa__mpi_fail(m, ENOMEM, "rank %d: out of memory", m->rank);
    }
    for (size_t k = 0; k < nc; k++) {
        const soa_component_desc *d = m->descs[k];
        mine[k].name_hash = fnv(d->name, strlen(d->name) + 1, 0xcbf29ce484222325u);
        mine[k].layout_hash = d->layout_hash;
        mine[k].size = d->size;
        mine[k].wire = m->wsize[k];
        memcpy(&mine[k].byte_order, "\x01\x02\x03\x04", 4);
    }
    MPI_Request req;
    MPI_Iallgather(mine, (int)bytes, MPI_BYTE, all, (int)bytes, MPI_BYTE,
                   m->comm, &req);
    int rc = soa__mpi_wait(m, 1, &req)
                 ? compare(m, all)
                 : soa__mpi_fail(m, ETIMEDOUT, "rank %d: the component "
                                 "handshake did not complete within %g s",
                                 m->rank, m->timeout);
    free(mine);
    free(all);
    return rc;
}

soa_mpi *soa_mpi_create(const soa_mpi_config *cfg, char *why, size_t whylen)
{
    int inited = 0;
    if (why && whylen)
        why[0] = '\0';
    MPI_Initialized(&inited);
    if (!cfg || !inited || (cfg->ncomps && !cfg->comps) ||
        cfg->ncomps > 60000) {
        if (why)
            snprintf(why, whylen, "soa_mpi_create: %s", !inited
                     ? "MPI is not initialised" : "bad configuration");
        errno = EINVAL;
        return NULL;
    }
    soa_mpi *m = calloc(1, sizeof *m);
    if (!m) {
        errno = ENOMEM;
        return NULL;
    }
    m->comm = MPI_COMM_NULL;
    m->part_cid = SOA_CID_INVALID;
    m->hash = 0xcbf29ce484222325u;
    m->timeout = timeout_of(cfg);
    MPI_Comm_rank(cfg->comm, &m->rank);
    MPI_Comm_size(cfg->comm, &m->size);
    MPI_Request req;
    int status = 0;
    MPI_Comm_idup(cfg->comm, &m->comm, &req);
    if (!soa__mpi_wait(m, 1, &req)) {
        soa__mpi_fail(m, ETIMEDOUT, "rank %d: duplicating the communicator "
                      "did not complete within %g s (a rank is dead or not "
                      "calling soa_mpi_create)", m->rank, m->timeout);
    } else {
        if (alloc_arrays(m, cfg->ncomps) != 0 ||
            !(m->w = soa_world_create(NULL))) {
            soa__mpi_fail(m, ENOMEM, "rank %d: out of memory", m->rank);
            status = ENOMEM;
        } else if (register_all(m, cfg) != 0) {
            status = errno;
        }
        if (!m->reqs) { /* cannot even take the step */
            int e = errno;
            if (why)
                snprintf(why, whylen, "%s", m->err);
            soa_mpi_destroy(m);
            errno = e;
            return NULL;
        }
        if (handshake(m, status) == 0)
            return m;
    }
    int e = errno;
    if (why)
        snprintf(why, whylen, "%s", m->err);
    m->seq = UINT64_MAX; /* no destroy step: the ranks do not agree */
    soa_mpi_destroy(m);
    errno = e;
    return NULL;
}

void soa_mpi_destroy(soa_mpi *m)
{
    if (!m)
        return;
    if (m->seq != UINT64_MAX && m->reqs)
        soa__mpi_step(m, SOA__OP_DESTROY, 0, NULL, true);
    if (m->comm != MPI_COMM_NULL)
        MPI_Comm_free(&m->comm);
    soa_world_destroy(m->w);
    for (uint32_t k = 0; m->rep && k < m->ncomps; k++) {
        free(m->rep[k].gids);
        free(m->rep[k].ranks);
        free(m->rep[k].values);
    }
    for (int r = 0; m->out && r < m->size; r++)
        soa__wbuf_free(&m->out[r]);
    soa__wbuf_free(&m->send);
    soa__wbuf_free(&m->recv);
    soa__wbuf_free(&m->tmp);
    soa__idmap_free(&m->ids);
    soa__idmap_free(&m->moves);
    free(m->descs);
    free(m->cids);
    free(m->wsize);
    free(m->ncols);
    free(m->idx_of);
    free(m->rep);
    free(m->sub);
    free(m->cols);
    free(m->value);
    free(m->out);
    free(m->scount);
    free(m->sdispl);
    free(m->rcount);
    free(m->rdispl);
    free(m->vals);
    free(m->got);
    free(m->hdr_out);
    free(m->hdr_in);
    free(m->reqs);
    free(m);
}

soa_world *soa_mpi_world(const soa_mpi *m) { return m ? m->w : NULL; }
int soa_mpi_rank(const soa_mpi *m) { return m ? m->rank : -1; }
int soa_mpi_size(const soa_mpi *m) { return m ? m->size : 0; }
const char *soa_mpi_error(const soa_mpi *m) { return m ? m->err : "no soa_mpi"; }

void soa_mpi_abort(const soa_mpi *m, int code)
{
    MPI_Abort(m && m->comm != MPI_COMM_NULL ? m->comm : MPI_COMM_WORLD, code);
    abort(); /* MPI_Abort does not return; a broken MPI must not either */
}

/* ---- entities ------------------------------------------------------- */

int soa_mpi_spawn(soa_mpi *m, const soa_cid *cids, uint32_t ncids, size_t n,
                  soa_gid *out)
{
    if (!m || (ncids && !cids) || ncids >= m->ncids) {
        errno = EINVAL;
        return -1;
    }
    soa_cid small[64];
    for (uint32_t k = 0; k < ncids; k++)
        if (cids[k] >= m->ncids || m->idx_of[cids[k]] == UINT32_MAX) {
            errno = EINVAL;
            return -1;
        }
    if (ncids + 1 > 64 ||
        (uint64_t)n > ((uint64_t)1 << GID_SERIAL_BITS) - 1 - m->serial) {
        errno = ncids + 1 > 64 ? EINVAL : ENOMEM;
        return -1;
    }
    memcpy(small, cids, ncids * sizeof *cids);
    small[ncids] = m->gid_cid;
    soa_entity *es = malloc((n ? n : 1) * sizeof *es);
    if (!es) {
        errno = ENOMEM;
        return -1;
    }
    if (soa_world_spawn_n(m->w, small, ncids + 1, n, es) != 0) {
        int e = errno;
        free(es);
        errno = e;
        return -1;
    }
    uint64_t *changed;
    size_t i;
    for (size_t j = 0; j < n; j++) {
        soa_gid g = ((uint64_t)(m->rank + 1) << GID_SERIAL_BITS) | ++m->serial;
        if (soa__idmap_put(&m->ids, g, es[j]) != 0) {
            for (size_t k = j; k < n; k++)
                soa_world_despawn(m->w, es[k]);
            free(es);
            errno = ENOMEM;
            return -1;
        }
        soa__row_of(m->w, es[j], m->gid_cid, 1, m->cols, &changed, &i);
        ((uint64_t *)m->cols[0])[i] = g;
        if (out)
            out[j] = g;
    }
    free(es);
    return 0;
}

int soa_mpi_despawn(soa_mpi *m, soa_gid g)
{
    soa_entity e = soa_mpi_local(m, g);
    if (e == SOA_ENTITY_NULL) {
        errno = ESRCH;
        return -1;
    }
    soa_world_despawn(m->w, e);
    soa__idmap_del(&m->ids, g);
    return 0;
}

soa_entity soa_mpi_local(const soa_mpi *m, soa_gid g)
{
    return m ? soa__idmap_get(&m->ids, g) : SOA_ENTITY_NULL;
}

soa_gid soa_mpi_gid(const soa_mpi *m, soa_entity e)
{
    gid_value v;
    if (!m || soa_world_read(m->w, e, m->gid_cid, &v) != 0)
        return SOA_GID_NULL;
    return v.gid;
}

size_t soa_mpi_entities(const soa_mpi *m)
{
    return m ? soa_world_entities(m->w) : 0;
}

void soa__walk_begin(soa_mpi *m, uint32_t idx, soa__walk *w)
{
    w->all[0] = m->cids[idx];
    w->all[1] = m->gid_cid;
    w->q = (soa_query){w->all, 2, NULL, 0};
    soa_query_begin(m->w, &w->q, &w->it);
}

bool soa__walk_next(soa_mpi *m, uint32_t idx, soa__walk *w)
{
    if (!soa_query_next_chunk(&w->it, &w->c))
        return false;
    w->changed = soa_chunk_changed(&w->c, 0);
    w->gids = soa_chunk_column(&w->c, 1, 0);
    for (uint32_t k = 0; k < m->ncols[idx]; k++)
        m->cols[k] = soa_chunk_column(&w->c, 0, k);
    return true;
}

/* ---- ownership and subscriptions ------------------------------------ */

int soa_mpi_partition(soa_mpi *m, soa_cid cid, soa_mpi_rule rule, void *ctx)
{
    if (!m || !rule || cid >= m->ncids || m->idx_of[cid] == UINT32_MAX ||
        m->ncols[m->idx_of[cid]] == 0) {
        errno = EINVAL;
        return -1;
    }
    m->part_cid = cid;
    m->rule = rule;
    m->rule_ctx = ctx;
    return 0;
}

int soa_mpi_move(soa_mpi *m, soa_gid g, int rank)
{
    if (!m || rank < 0 || rank >= m->size) {
        errno = EINVAL;
        return -1;
    }
    if (soa_mpi_local(m, g) == SOA_ENTITY_NULL) {
        errno = ESRCH;
        return -1;
    }
    return soa__idmap_put(&m->moves, g, (uint64_t)rank + 1);
}

int soa_mpi_subscribe(soa_mpi *m, soa_cid cid, int from)
{
    if (!m) {
        errno = EINVAL;
        return -1;
    }
    int status = 0;
    uint32_t idx = cid < m->ncids ? m->idx_of[cid] : UINT32_MAX;
    if (idx == UINT32_MAX || (from != SOA_MPI_ALL && from != SOA_MPI_NONE &&
                              (from < 0 || from >= m->size)))
    {
        soa__mpi_fail(m, EINVAL, "rank %d: soa_mpi_subscribe: cid %u, "
                      "from %d", m->rank, cid, from);
        status = EINVAL;
    }
    uint64_t v = ((uint64_t)idx << 32) | (uint32_t)(from + 2);
    for (int r = 0; r < m->size; r++)
        m->vals[r] = v;
    if (soa__mpi_step(m, SOA__OP_SUBSCRIBE, status, m->vals, true) != 0)
        return -1;
    for (int r = 0; r < m->size; r++) {
        if (m->got[r] >> 32 != idx)
            return soa__mpi_fail(m, EPROTO, "rank %d subscribes to component "
                                 "%llu, rank %d to %u", r,
                                 (unsigned long long)(m->got[r] >> 32),
                                 m->rank, idx);
        int f = (int)(uint32_t)m->got[r] - 2;
        if (f != SOA_MPI_ALL && f != SOA_MPI_NONE && (f < 0 || f >= m->size))
            return soa__mpi_fail(m, EPROTO, "rank %d subscribes to rank %d",
                                 r, f);
        m->sub[(size_t)r * m->ncomps + idx] = f;
    }
    return 0;
}
