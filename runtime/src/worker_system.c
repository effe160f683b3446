/*
 * worker_system.c: a worker's task as a system of the main process: its
 * snapshot lives in the worker's arena; a frame builds it from the world,
 * publishes it, has the worker run the kernel, waits, and commits the
 * changed rows only when the worker answered in time and in turn.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "soa/system.h"
#include "soa/worker.h"
#include "worker_proto.h"

struct soa_worker_system {
    soa_worker *w;
    uint32_t task;
    const soa_shm_system *sys;
    void *snap;
    size_t hdr;
    bool locked;      /* between begin and end */
    size_t committed;
    int last_error;
    const soa_component_desc **reads; /* reads + without, for the spec */
};

soa_worker_system *soa_worker_system_create(soa_worker *w, uint32_t task)
{
    const soa_worker_task *t = w ? soa__worker_task(w, task) : NULL;
    if (!t) {
        errno = EINVAL;
        return NULL;
    }
    const soa_shm_system *sys = t->sys;
    soa_alloc *mem = soa_worker_allocator(w);
    soa_worker_system *ws = calloc(1, sizeof *ws);
    const soa_sys_layout *L = sys->system->layout;
    size_t align = L->snap_align > 64 ? L->snap_align : 64;
    size_t size = (L->snap_size + align - 1) & ~(align - 1);
    void *hdr = ws ? mem->alloc(mem, soa_snap_shm_bytes(L), 64) : NULL;
    if (!ws || !hdr || !(ws->snap = aligned_alloc(align, size))) {
        int err = errno ? errno : ENOMEM;
        free(ws);
        errno = err;
        return NULL;
    }
    ws->w = w;
    ws->task = task;
    ws->sys = sys;
    ws->hdr = soa_arena_offset(soa_worker_arena(w), hdr);
    if (soa_snap_init(ws->snap, L, mem) != 0) {
        int err = errno;
        free(ws->snap);
        free(ws);
        errno = err;
        return NULL;
    }
    return ws;
}

void soa_worker_system_destroy(soa_worker_system *ws)
{
    if (!ws)
        return;
    soa_snap_release(ws->snap);
    free(ws->snap);
    free(ws->reads);
    free(ws);
}

int soa_worker_system_begin(soa_worker_system *ws, soa_world *world,
                            const soa_frame *frame, uint64_t ticks)
{
    if (!ws || !world || !frame || ws->locked) {
        errno = EINVAL;
        return -1;
    }
    soa_worker *w = ws->w;
    if (soa_worker_status(w) != SOA_WORKER_OK) {
        /* The failure's errno, without building for a dead worker. */
        soa_worker_post(w, ws->task, ws->hdr, frame, ticks);
        return -1;
    }
    if (soa_snap_build(ws->snap, world) != 0)
        return -1;
    if (soa_snap_publish(ws->snap, soa_worker_arena(w), ws->hdr) != SOA_SHM_OK)
        return -1;
    soa__worker_lock(w);
    if (soa_worker_post(w, ws->task, ws->hdr, frame, ticks) == 0) {
        int err = errno;
        soa__worker_unlock(w);
        errno = err;
        return -1;
    }
    ws->locked = true;
    return 0;
}

int soa_worker_system_end(soa_worker_system *ws, soa_world *world)
{
    if (!ws || !world || !ws->locked) {
        errno = EINVAL;
        return -1;
    }
    int rc = soa_worker_wait(ws->w, 0);
    int err = errno;
    ws->locked = false;
    soa__worker_unlock(ws->w);
    if (rc != 0) {
        errno = err;
        return -1;
    }
    ws->committed = soa_snap_commit(ws->snap, world);
    return 0;
}

int soa_worker_system_frame(soa_worker_system *ws, soa_world *world,
                            const soa_frame *frame, uint64_t ticks)
{
    if (soa_worker_system_begin(ws, world, frame, ticks) != 0)
        return -1;
    return soa_worker_system_end(ws, world);
}

size_t soa_worker_system_committed(const soa_worker_system *ws)
{
    return ws ? ws->committed : 0;
}

int soa_worker_system_last_error(const soa_worker_system *ws)
{
    return ws ? ws->last_error : EINVAL;
}

static void run_local(soa_world *world, const soa_frame *frame, void *ctx)
{
    soa_worker_system *ws = ctx;
    ws->last_error =
        soa_worker_system_frame(ws, world, frame, 1) == 0 ? 0 : errno;
}

static int register_all(soa_world *world, const soa_component_desc *const *d,
                        uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (soa_world_register(world, d[i]) == SOA_CID_INVALID)
            return -1;
    return 0;
}

int soa_worker_sched_spec(soa_worker_system *ws, soa_world *world,
                          soa_sched_spec *spec)
{
    if (!ws || !world || !spec) {
        errno = EINVAL;
        return -1;
    }
    const soa_system_desc *d = ws->sys->system;
    if (register_all(world, d->reads, d->nreads) != 0 ||
        register_all(world, d->writes, d->nwrites) != 0 ||
        register_all(world, d->without, d->nwithout) != 0)
        return -1;
    uint32_t n = d->nreads + d->nwithout;
    free(ws->reads);
    ws->reads = n ? malloc(n * sizeof *ws->reads) : NULL;
    if (n && !ws->reads) {
        errno = ENOMEM;
        return -1;
    }
    for (uint32_t i = 0; i < d->nreads; i++)
        ws->reads[i] = d->reads[i];
    for (uint32_t i = 0; i < d->nwithout; i++)
        ws->reads[d->nreads + i] = d->without[i];
    memset(spec, 0, sizeof *spec);
    spec->name = d->name;
    spec->reads = ws->reads;
    spec->nreads = n;
    spec->writes = d->writes;
    spec->nwrites = d->nwrites;
    spec->run = run_local;
    spec->ctx = ws;
    return 0;
}
