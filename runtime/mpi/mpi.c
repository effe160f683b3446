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

#define DEFAULT_TIMEOUT 60.0

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

/* The per-rank arrays of the exchange; -1 (ENOMEM) when any is missing. */
static int alloc_arrays(soa_mpi *m)
{
    size_t n = (size_t)m->s.size;
    m->scount = calloc(n, sizeof(int));
    m->sdispl = calloc(n, sizeof(int));
    m->rcount = calloc(n, sizeof(int));
    m->rdispl = calloc(n, sizeof(int));
    m->vals = calloc(n, sizeof(uint64_t));
    m->got = calloc(n, sizeof(uint64_t));
    m->hdr_out = calloc(n, sizeof(soa__step_hdr));
    m->hdr_in = calloc(n, sizeof(soa__step_hdr));
    m->reqs = calloc(2 * n, sizeof(MPI_Request));
    if (!m->scount || !m->sdispl || !m->rcount || !m->rdispl || !m->vals ||
        !m->got || !m->hdr_out || !m->hdr_in || !m->reqs) {
        errno = ENOMEM;
        return -1;
    }
    return 0;
}

/* The hash every step carries: the agreed components' names and layouts. */
static uint64_t list_hash(const soa__shard *s)
{
    uint64_t h = 0xcbf29ce484222325u;
    for (uint32_t k = 0; k < s->ncomps; k++) {
        const soa_component_desc *d = s->descs[k];
        h = fnv(d->name, strlen(d->name) + 1, h);
        h = fnv(&d->layout_hash, sizeof d->layout_hash, h);
    }
    return h;
}

/* Compares every rank's component records with rank 0's; names the first
 * rank (and component) that differs.  Every rank sees the same records,
 * so every rank reaches the same verdict. */
static int compare(soa_mpi *m, const comp_rec *all)
{
    uint32_t nc = m->s.ncomps;
    for (int r = 1; r < m->s.size; r++)
        for (uint32_t k = 0; k < nc; k++) {
            const comp_rec *a = &all[k], *b = &all[(size_t)r * nc + k];
            const char *name = m->s.descs[k]->name;
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
    for (int r = 0; r < m->s.size; r++)
        m->vals[r] = m->s.ncomps;
    if (soa__mpi_step(m, SOA__OP_CREATE, status, m->vals, false) != 0)
        return -1;
    for (int r = 0; r < m->s.size; r++)
        if (m->got[r] != m->s.ncomps)
            return soa__mpi_fail(m, EPROTO, "rank %d lists %llu components, "
                                 "rank %d lists %u", r,
                                 (unsigned long long)m->got[r], m->s.rank,
                                 m->s.ncomps);
    size_t nc = m->s.ncomps, bytes = nc * sizeof(comp_rec);
    comp_rec *mine = calloc(nc ? nc : 1, sizeof *mine);
    comp_rec *all = calloc(nc ? nc * (size_t)m->s.size : 1, sizeof *all);
    if (!mine || !all || bytes > (size_t)INT32_MAX) {
        free(mine);
        free(all);
        return soa__mpi_fail(m, ENOMEM, "rank %d: out of memory", m->s.rank);
    }
    for (size_t k = 0; k < nc; k++) {
        const soa_component_desc *d = m->s.descs[k];
        mine[k].name_hash = fnv(d->name, strlen(d->name) + 1,
                                0xcbf29ce484222325u);
        mine[k].layout_hash = d->layout_hash;
        mine[k].size = d->size;
        mine[k].wire = m->s.wsize[k];
        memcpy(&mine[k].byte_order, "\x01\x02\x03\x04", 4);
    }
    MPI_Request req;
    MPI_Iallgather(mine, (int)bytes, MPI_BYTE, all, (int)bytes, MPI_BYTE,
                   m->comm, &req);
    int rc = soa__mpi_wait(m, 1, &req)
                 ? compare(m, all)
                 : soa__mpi_fail(m, ETIMEDOUT, "rank %d: the component "
                                 "handshake did not complete within %g s",
                                 m->s.rank, m->timeout);
    free(mine);
    free(all);
    return rc;
}

soa_mpi *soa_mpi_create(const soa_mpi_config *cfg, char *why, size_t whylen)
{
    int inited = 0, rank = 0, size = 0;
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
    MPI_Comm_rank(cfg->comm, &rank);
    MPI_Comm_size(cfg->comm, &size);
    m->comm = MPI_COMM_NULL;
    m->timeout = timeout_of(cfg);
    /* A failed init still leaves rank and size: the step tells the others. */
    int status = soa__shard_init(&m->s, rank, size, cfg->comps, cfg->ncomps)
                     ? errno : 0;
    m->hash = list_hash(&m->s);
    MPI_Request req;
    MPI_Comm_idup(cfg->comm, &m->comm, &req);
    if (!soa__mpi_wait(m, 1, &req)) {
        soa__mpi_fail(m, ETIMEDOUT, "rank %d: duplicating the communicator "
                      "did not complete within %g s (a rank is dead or not "
                      "calling soa_mpi_create)", rank, m->timeout);
    } else if (alloc_arrays(m) != 0) {
        soa__mpi_fail(m, ENOMEM, "rank %d: out of memory", rank);
    } else if (handshake(m, status) == 0) {
        return m;
    }
    int e = errno;
    if (why)
        snprintf(why, whylen, "%s", m->s.err);
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
    soa__shard_free(&m->s);
    free(m->leaving.out);
    soa__wbuf_free(&m->send);
    soa__wbuf_free(&m->recv);
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

soa_world *soa_mpi_world(const soa_mpi *m) { return m ? m->s.w : NULL; }
int soa_mpi_rank(const soa_mpi *m) { return m ? m->s.rank : -1; }
int soa_mpi_size(const soa_mpi *m) { return m ? m->s.size : 0; }
const char *soa_mpi_error(const soa_mpi *m)
{
    return m ? m->s.err : "no soa_mpi";
}

void soa_mpi_abort(const soa_mpi *m, int code)
{
    MPI_Abort(m && m->comm != MPI_COMM_NULL ? m->comm : MPI_COMM_WORLD, code);
    abort(); /* MPI_Abort does not return; a broken MPI must not either */
}

/* ---- entities ------------------------------------------------------- */

int soa_mpi_spawn(soa_mpi *m, const soa_cid *cids, uint32_t ncids, size_t n,
                  soa_gid *out)
{
    if (!m) {
        errno = EINVAL;
        return -1;
    }
    return soa__shard_spawn(&m->s, cids, ncids, n, out);
}

int soa_mpi_despawn(soa_mpi *m, soa_gid g)
{
    soa_entity e = soa_mpi_local(m, g);
    if (e == SOA_ENTITY_NULL) {
        errno = ESRCH;
        return -1;
    }
    soa_world_despawn(m->s.w, e);
    soa__idmap_del(&m->s.ids, g);
    return 0;
}

soa_entity soa_mpi_local(const soa_mpi *m, soa_gid g)
{
    return m ? soa__shard_local(&m->s, g) : SOA_ENTITY_NULL;
}

soa_gid soa_mpi_gid(const soa_mpi *m, soa_entity e)
{
    return m ? soa__shard_gid(&m->s, e) : SOA_GID_NULL;
}

size_t soa_mpi_entities(const soa_mpi *m)
{
    return m ? soa_world_entities(m->s.w) : 0;
}

/* ---- ownership and subscriptions ------------------------------------ */

/* Sets the partition component and one of the two kinds of rule. */
static int partition(soa_mpi *m, soa_cid cid, soa_mpi_rule rule,
                     soa_mpi_rule_cols cols, void *ctx)
{
    uint32_t idx = m ? soa__shard_idx(&m->s, cid) : UINT32_MAX;
    if ((!rule && !cols) || idx == UINT32_MAX || m->s.ncols[idx] == 0) {
        errno = EINVAL;
        return -1;
    }
    m->s.part_cid = cid;
    m->s.rule = rule;
    m->s.rule_cols = cols;
    m->s.rule_ctx = ctx;
    return 0;
}

int soa_mpi_partition(soa_mpi *m, soa_cid cid, soa_mpi_rule rule, void *ctx)
{
    return partition(m, cid, rule, NULL, ctx);
}

int soa_mpi_partition_cols(soa_mpi *m, soa_cid cid, soa_mpi_rule_cols rule,
                           void *ctx)
{
    return partition(m, cid, NULL, rule, ctx);
}

int soa_mpi_repartition(soa_mpi *m)
{
    if (!m || (!m->s.rule && !m->s.rule_cols)) {
        errno = EINVAL;
        return -1;
    }
    m->s.every_row = true;
    return 0;
}

int soa_mpi_move(soa_mpi *m, soa_gid g, int rank)
{
    if (!m || rank < 0 || rank >= m->s.size) {
        errno = EINVAL;
        return -1;
    }
    if (soa_mpi_local(m, g) == SOA_ENTITY_NULL) {
        errno = ESRCH;
        return -1;
    }
    return soa__idmap_put(&m->s.moves, g, (uint64_t)rank + 1);
}

int soa_mpi_subscribe(soa_mpi *m, soa_cid cid, int from)
{
    if (!m) {
        errno = EINVAL;
        return -1;
    }
    int status = 0;
    uint32_t idx = soa__shard_idx(&m->s, cid);
    if (idx == UINT32_MAX || (from != SOA_MPI_ALL && from != SOA_MPI_NONE &&
                              (from < 0 || from >= m->s.size))) {
        soa__mpi_fail(m, EINVAL, "rank %d: soa_mpi_subscribe: cid %u, "
                      "from %d", m->s.rank, cid, from);
        status = EINVAL;
    }
    uint64_t v = ((uint64_t)idx << 32) | (uint32_t)(from + 2);
    for (int r = 0; r < m->s.size; r++)
        m->vals[r] = v;
    if (soa__mpi_step(m, SOA__OP_SUBSCRIBE, status, m->vals, true) != 0)
        return -1;
    for (int r = 0; r < m->s.size; r++) {
        if (m->got[r] >> 32 != idx)
            return soa__mpi_fail(m, EPROTO, "rank %d subscribes to component "
                                 "%llu, rank %d to %u", r,
                                 (unsigned long long)(m->got[r] >> 32),
                                 m->s.rank, idx);
        int f = (int)(uint32_t)m->got[r] - 2;
        if (f != SOA_MPI_ALL && f != SOA_MPI_NONE && (f < 0 || f >= m->s.size))
            return soa__mpi_fail(m, EPROTO, "rank %d subscribes to rank %d",
                                 r, f);
        m->s.sub[(size_t)r * m->s.ncomps + idx] = f;
    }
    return 0;
}
