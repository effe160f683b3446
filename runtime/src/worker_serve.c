/*
 * worker_serve.c: the worker side of a worker process (or of the worker
 * thread of the fallback): soa_worker_main and the serve loop.
 *
 * The worker trusts nothing it reads from shared memory: the root block,
 * the mailbox and every snapshot header are copied out, validated and
 * bounds-checked against the arena before use (worker_proto.h has the
 * layout and the protocol).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "soa/system.h"
#include "soa/worker.h"
#include "worker_proto.h"

typedef struct server {
    soa_arena *arena;
    const soa_worker_task *tasks;
    uint32_t ntasks;
    soa_mailbox mb;
    void *snap;
    soa_pool *pool;
    uint64_t progress;
} server;

/* Opens the root and mailbox at root_off, trusting nothing unchecked:
 * 0 or an exit status. */
static int server_open(server *s, size_t root_off)
{
    worker_root r;
    size_t end, cap = soa_arena_capacity(s->arena);
    if (!soa_add_ok(root_off, sizeof r, &end) || end > cap)
        return EXIT_SHARED;
    memcpy(&r, soa_arena_ptr(s->arena, root_off), sizeof r);
    if (r.magic != ROOT_MAGIC || r.version != ROOT_VERSION ||
        r.mailbox_off > cap || r.mailbox_bytes > cap - r.mailbox_off)
        return EXIT_SHARED;
    if (r.ntasks != s->ntasks)
        return EXIT_MISMATCH;
    for (uint32_t i = 0; i < s->ntasks; i++)
        if (!s->tasks[i].sys ||
            s->tasks[i].sys->system->layout_hash != r.task_hash[i])
            return EXIT_MISMATCH;
    if (soa_mailbox_open(&s->mb, soa_arena_ptr(s->arena, r.mailbox_off),
                         (size_t)r.mailbox_bytes) != 0)
        return EXIT_SHARED;
    if (r.threads > 1 && r.threads <= 1024)
        s->pool = soa_pool_create(r.threads); /* NULL: run on this thread */
    return 0;
}

/* Room for the largest snapshot of the task table. */
static void *snap_storage(const soa_worker_task *tasks, uint32_t n)
{
    size_t size = 64;
    for (uint32_t i = 0; i < n; i++)
        if (tasks[i].sys->system->layout->snap_size > size)
            size = tasks[i].sys->system->layout->snap_size;
    return aligned_alloc(64, (size + 63) & ~(size_t)63);
}

/* Runs one RUN request: 0, or the errno of a refusal (*code: the attach
 * result, for the main process's message). */
static int serve_run(server *s, const run_msg *r, int64_t *code)
{
    if (r->task >= s->ntasks || r->snap_off > SIZE_MAX)
        return EINVAL;
    const soa_worker_task *t = &s->tasks[r->task];
    if (!t->kernel)
        return EINVAL;
    int rc = soa_snap_attach(s->snap, t->sys->system->layout, s->arena,
                             (size_t)r->snap_off);
    if (rc != SOA_SHM_OK) {
        *code = rc;
        return EPROTO;
    }
    for (uint64_t k = 0; k < r->ticks; k++) {
        soa_frame f = {r->dt, r->time + (double)k * r->dt, r->first_index + k};
        soa_snap_run(s->snap, s->pool, t->kernel, &f, t->ctx);
        soa_mailbox_set_progress(&s->mb, ++s->progress);
    }
    return 0;
}

static int reply(server *s, uint32_t kind, const done_msg *d)
{
    soa_msg m = done_pack(kind, d);
    return soa_ring_send(&s->mb.rep, &m, SOA_WAIT_FOREVER);
}

static int serve_loop(server *s)
{
    done_msg hello = {0, 0, (uint64_t)getpid(), 0};
    if (reply(s, MSG_PING, &hello) != 0)
        return EXIT_SHARED;
    for (;;) {
        soa_msg m;
        if (soa_ring_recv(&s->mb.req, &m, SOA_WAIT_FOREVER) != 0)
            return EXIT_SHARED;
        done_msg d = {m.seq, 0, 0, 0};
        switch (m.kind) {
        case MSG_QUIT:
            return EXIT_QUIT;
        case MSG_RUN: {
            run_msg r = run_unpack(&m);
            d.status = (uint32_t)serve_run(s, &r, &d.code);
            d.ticks = d.status ? 0 : r.ticks;
            break;
        }
        default: /* PING, or a kind we do not know: answer, change nothing */
            d.status = m.kind == MSG_PING ? 0 : EINVAL;
        }
        if (reply(s, MSG_DONE, &d) != 0)
            return EXIT_SHARED;
    }
}

int soa__worker_serve(soa_arena *a, size_t root_off,
                      const soa_worker_task *tasks, uint32_t ntasks)
{
    server s;
    memset(&s, 0, sizeof s);
    s.arena = a;
    s.tasks = tasks;
    s.ntasks = ntasks;
    if (ntasks > MAX_TASKS || (ntasks && !tasks))
        return EXIT_MISMATCH;
    int rc = server_open(&s, root_off);
    if (rc != 0)
        return rc;
    if (!(s.snap = snap_storage(tasks, ntasks))) {
        soa_pool_destroy(s.pool);
        return EXIT_SHARED;
    }
    rc = serve_loop(&s);
    free(s.snap);
    soa_pool_destroy(s.pool);
    return rc;
}

static int parse_num(const char *s, unsigned long long *out)
{
    char *end;
    if (!s || !*s || *s == '-')
        return -1;
    errno = 0;
    *out = strtoull(s, &end, 10);
    return errno || *end ? -1 : 0;
}

int soa_worker_main(int argc, char **argv, const soa_worker_task *tasks,
                    uint32_t ntasks)
{
    unsigned long long fd = ULLONG_MAX, root = ULLONG_MAX;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--soa-worker-fd") == 0) {
            if (parse_num(argv[i + 1], &fd) != 0 || fd > INT32_MAX)
                return EXIT_USAGE;
        } else if (strcmp(argv[i], "--soa-worker-root") == 0) {
            if (parse_num(argv[i + 1], &root) != 0 || root > SIZE_MAX)
                return EXIT_USAGE;
        }
    }
    if (fd == ULLONG_MAX || root == ULLONG_MAX)
        return EXIT_USAGE;
    soa_arena *a = soa_arena_attach((int)fd);
    if (!a)
        return EXIT_SHARED;
    close((int)fd); /* the arena holds its own duplicate */
    int rc = soa__worker_serve(a, (size_t)root, tasks, ntasks);
    soa_arena_destroy(a);
    return rc;
}
