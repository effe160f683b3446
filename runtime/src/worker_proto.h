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
 *   snapshots     one header + columns per soa_worker_system
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
    MSG_PING = 4  /* worker -> main: the hello; main -> worker: answered
                     with a DONE */
};

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

static inline soa_msg run_pack(const run_msg *r)
{
    soa_msg m;
    memset(&m, 0, sizeof m);
    m.kind = MSG_RUN;
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
                                  uint32_t ntasks);

/* For worker_system.c: task `task` of the worker (NULL when out of range),
 * and the lock that keeps one system's request in flight at a time. */
SOA__HIDDEN const soa_worker_task *soa__worker_task(const soa_worker *w,
                                                    uint32_t task);
SOA__HIDDEN void soa__worker_lock(soa_worker *w);
SOA__HIDDEN void soa__worker_unlock(soa_worker *w);

#endif /* SOA_WORKER_PROTO_H */
