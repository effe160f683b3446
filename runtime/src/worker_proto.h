/*
 * worker_proto.h: what the main process and a worker process agree on:
 * the root block at the start of their shared arena, the message kinds
 * with their named fields (packed into the mailbox's generic soa_msg), and
 * the worker's exit statuses.  Internal to libsoa.
 *
 * The arena holds, from the main process's first allocations:
 *
 *   worker_root   magic, version, the task table's layout hashes, kernel
 *                 threads, and where the mailbox is (offset, bytes)
 *   mailbox       soa/mailbox.h: requests in, replies out, progress
 *   snapshots     one header + columns per soa_worker_system, or, for a
 *                 system that reads a shared world in place, its frame
 *                 plan and a copy of only its written columns
 *
 * A world that lives in a shared region (soa/region.h) is mapped read-only
 * by the worker: a RUN_PLAN names, per chunk of the world's tables, where
 * each column lies: read columns and entity ids in the region (read in
 * place), written columns and their changed bitsets in the arena (a copy
 * the main process made and commits from after the reply).
 *
 * Protocol: the worker opens everything from the root (its offset comes on
 * the command line or through fork), checks its own task table against the
 * root's hashes, sends a hello (PING) and serves requests: RUN is answered
 * by DONE with the RUN's sequence number, status 0 or an errno value; QUIT
 * ends it.  The main process has one request in flight per system frame
 * and counts answers, so a reply that is not the next expected one is a
 * protocol error.
 */
#ifndef SOA_WORKER_PROTO_H
#define SOA_WORKER_PROTO_H

#include <stdint.h>
#include <string.h>

#include "soa/mailbox.h"
#include "soa/worker.h"
#include "internal.h"

#define ROOT_MAGIC UINT64_C(0x544f4f524b524f57) /* "WORKROOT" */
#define ROOT_VERSION 1u
#define MAX_TASKS 64u
#define MAILBOX_CAPACITY 64u

/* Exit statuses of a worker process (soa_worker_main). */
enum { EXIT_QUIT = 0, EXIT_USAGE = 2, EXIT_SHARED = 3, EXIT_MISMATCH = 4 };

typedef struct worker_root {
    uint64_t magic;
    uint32_t version;
    uint32_t ntasks;
    uint64_t mailbox_off, mailbox_bytes;
    uint32_t threads, reserved;
    uint64_t task_hash[MAX_TASKS];
} worker_root;

/* Message kinds (soa_msg.kind). */
enum {
    MSG_RUN = 1,  /* main -> worker: a run_msg */
    MSG_DONE = 2, /* worker -> main: a done_msg */
    MSG_QUIT = 3, /* main -> worker: leave the serve loop */
    MSG_PING = 4, /* worker -> main: the hello; main -> worker: answered
                     with a DONE */
    MSG_RUN_PLAN = 5 /* main -> worker: a run_msg whose snap_off is a
                        frame plan (plan_hdr) */
};

/*
 * A frame plan in the arena: a plan_hdr, then per chunk a uint64_t row
 * count (at most SOA_BLOCK_ROWS) and nrefs refs, where ref 0 is the
 * chunk's entity ids, ref 1 + j layout column j, ref 1 + ncols + k term
 * k's changed bitset, and ref 1 + ncols + nterms + j, for a written column
 * j, the world's column it starts from (REF_NONE for a read one).  A ref is
 * an offset into the shared region, or with REF_ARENA set into the arena,
 * or REF_NONE.  The worker checks every ref against the mapping it names.
 * Before its first tick the worker copies each written column from the
 * world into its arena copy and clears the bitsets, chunk by chunk, so the
 * copy is done by its threads, next to the kernel that reads it.
 */
#define PLAN_MAGIC UINT64_C(0x314e414c50414f53) /* "SOAPLAN1" */
#define REF_ARENA (UINT64_C(1) << 63)
#define REF_NONE UINT64_MAX

typedef struct plan_hdr {
    uint64_t magic;
    uint64_t system_hash;
    uint32_t task;
    uint32_t nchunks;
    uint32_t nrefs; /* 1 + 2 ncols + nterms of the task's layout */
    uint32_t reserved;
} plan_hdr;

/* Bytes of a plan of nchunks chunks of nrefs refs; 0 on overflow. */
static inline size_t plan_bytes(size_t nchunks, size_t nrefs)
{
    size_t per, all;
    if (!soa_add_ok(nrefs, 1, &per) || !soa_mul_ok(per, sizeof(uint64_t), &per) ||
        !soa_mul_ok(per, nchunks, &all) || !soa_add_ok(all, sizeof(plan_hdr), &all))
        return 0;
    return all;
}

/* Run task `task` on the snapshot whose header is at `snap_off`, `ticks`
 * times, the first with (dt, time, first_index). */
typedef struct run_msg {
    uint32_t task;
    uint64_t snap_off;
    uint64_t first_index;
    uint64_t ticks;
    double dt, time;
} run_msg;

/* The answer to request `seq`: status 0 or an errno value; `ticks` run;
 * `code` a SOA_SHM_* result when the snapshot did not attach. */
typedef struct done_msg {
    uint64_t seq;
    uint32_t status;
    uint64_t ticks;
    int64_t code;
} done_msg;

static inline soa_msg run_pack(uint32_t kind, const run_msg *r)
{
    soa_msg m;
    memset(&m, 0, sizeof m);
    m.kind = kind;
    m.u[0] = r->task;
    m.u[1] = r->snap_off;
    m.u[2] = r->first_index;
    m.u[3] = r->ticks;
    m.d[0] = r->dt;
    m.d[1] = r->time;
    return m;
}

/* A RUN as sent: the task id is range-checked by the caller. */
static inline run_msg run_unpack(const soa_msg *m)
{
    run_msg r;
    r.task = m->u[0] > UINT32_MAX ? UINT32_MAX : (uint32_t)m->u[0];
    r.snap_off = m->u[1];
    r.first_index = m->u[2];
    r.ticks = m->u[3];
    r.dt = m->d[0];
    r.time = m->d[1];
    return r;
}

static inline soa_msg done_pack(uint32_t kind, const done_msg *d)
{
    soa_msg m;
    memset(&m, 0, sizeof m);
    m.kind = kind;
    m.status = d->status;
    m.u[0] = d->seq;
    m.u[1] = d->ticks;
    m.u[2] = (uint64_t)d->code;
    return m;
}

static inline done_msg done_unpack(const soa_msg *m)
{
    done_msg d;
    d.seq = m->u[0];
    d.status = m->status;
    d.ticks = m->u[1];
    d.code = (int64_t)m->u[2];
    return d;
}

static inline soa_msg bare_msg(uint32_t kind)
{
    soa_msg m;
    memset(&m, 0, sizeof m);
    m.kind = kind;
    return m;
}

/* The worker side's loop (worker_serve.c): opens the root at root_off in
 * `a`, checks `tasks` against it, says hello and serves until QUIT or a
 * broken mailbox.  Returns the exit status. */
SOA__HIDDEN int soa__worker_serve(soa_arena *a, size_t root_off,
                                  const soa_worker_task *tasks,
                                  uint32_t ntasks, const soa_region *share);

/* soa_worker_post with the message kind (MSG_RUN, MSG_RUN_PLAN). */
SOA__HIDDEN uint64_t soa__worker_post(soa_worker *w, uint32_t kind,
                                      uint32_t task, size_t off,
                                      const soa_frame *first, uint64_t ticks);

/* The region the worker maps read-only (soa_worker_opts.share), or NULL. */
SOA__HIDDEN soa_region *soa__worker_share(const soa_worker *w);

/* For worker_system.c: task `task` of the worker (NULL when out of range),
 * and the lock that keeps one system's request in flight at a time. */
SOA__HIDDEN const soa_worker_task *soa__worker_task(const soa_worker *w,
                                                    uint32_t task);
SOA__HIDDEN void soa__worker_lock(soa_worker *w);
SOA__HIDDEN void soa__worker_unlock(soa_worker *w);

#endif /* SOA_WORKER_PROTO_H */
