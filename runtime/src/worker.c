/*
 * worker.c: worker processes (or, as the fallback, a worker thread) that
 * run offloaded systems on snapshots in a shared arena.
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
 *
 * Fault detection: the main process waits for a reply in slices of
 * POLL_NS and between slices asks the kernel whether the child exited
 * (waitpid WNOHANG), so a dead worker is noticed within a slice; at the
 * deadline a live one is SIGKILLed and reaped before the call returns, so
 * nothing can still write to the snapshot when the caller decides not to
 * commit.
 */
#define _GNU_SOURCE
#include "soa/worker.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ROOT_MAGIC UINT64_C(0x544f4f524b524f57) /* "WORKROOT" */
#define ROOT_VERSION 1u
#define MAX_TASKS 64u
#define MAILBOX_CAPACITY 64u
#define DEFAULT_ARENA ((size_t)64 << 20)
#define DEFAULT_TIMEOUT INT64_C(1000000000)
#define POLL_NS INT64_C(2000000) /* how often a waiter checks the child */

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

typedef struct locked_alloc {
    soa_alloc base;
    struct soa_worker *w;
} locked_alloc;

struct soa_worker {
    soa_worker_opts opts;
    char *exe;
    soa_arena *arena;
    size_t root_off;
    soa_mailbox mb;
    locked_alloc alloc;
    pthread_mutex_t alloc_lock; /* arena allocations */
    pthread_mutex_t req_lock;   /* one system's request at a time */
    bool process;
    pid_t pid;                  /* -1: no process */
    pthread_t thread;
    bool thread_live;           /* joinable */
    atomic_int thread_done;     /* set by the thread as it leaves serve */
    uint64_t posted, answered;  /* RUN requests of this incarnation */
    int status, err;
    char error[256];
    char mode[256];
};

/* ---- small helpers ------------------------------------------------------ */

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void sleep_ns(int64_t ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000), (long)(ns % 1000000000)};
    nanosleep(&ts, NULL);
}

/* Records a failure (sticky until respawn); errno = err.  Returns -1. */
#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
static int fail(soa_worker *w, int status, int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->error, sizeof w->error, fmt, ap);
    va_end(ap);
    w->status = status;
    w->err = err;
    errno = err;
    return -1;
}

static int64_t timeout_of(const soa_worker *w, int64_t t)
{
    return t != 0 ? t : w->opts.timeout_ns;
}

/* ---- the allocator ------------------------------------------------------ */

static void *locked_alloc_fn(soa_alloc *self, size_t bytes, size_t align)
{
    soa_worker *w = ((locked_alloc *)(void *)self)->w;
    pthread_mutex_lock(&w->alloc_lock);
    void *p = soa_arena_alloc(w->arena, bytes ? bytes : 1, align);
    pthread_mutex_unlock(&w->alloc_lock);
    return p;
}

static void locked_free_fn(soa_alloc *self, void *ptr, size_t bytes)
{
    /* An arena frees everything at once: nothing to do per block. */
    (void)self;
    (void)ptr;
    (void)bytes;
}

/* ---- the worker side ---------------------------------------------------- */

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
        if (tasks[i].sys->system->snap_size > size)
            size = tasks[i].sys->system->snap_size;
    return aligned_alloc(64, (size + 63) & ~(size_t)63);
}

/* Runs one RUN request: 0, or the errno of a refusal (*code: the attach
 * result, for the main process's message). */
static int serve_run(server *s, const soa_msg *m, int64_t *code)
{
    if (m->u[0] >= s->ntasks || m->u[1] > SIZE_MAX)
        return EINVAL;
    const soa_worker_task *t = &s->tasks[m->u[0]];
    if (!t->kernel)
        return EINVAL;
    int rc = t->sys->attach(s->snap, s->arena, (size_t)m->u[1]);
    if (rc != SOA_SHM_OK) {
        *code = rc;
        return EPROTO;
    }
    for (uint64_t k = 0; k < m->u[3]; k++) {
        soa_frame f = {m->d[0], m->d[1] + (double)k * m->d[0], m->u[2] + k};
        t->sys->system->run(s->snap, s->pool, t->kernel, &f, t->ctx);
        soa_mailbox_set_progress(&s->mb, ++s->progress);
    }
    return 0;
}

static int reply(server *s, uint32_t kind, uint64_t seq, int status,
                 uint64_t ticks, int64_t code)
{
    soa_msg r;
    memset(&r, 0, sizeof r);
    r.kind = kind;
    r.status = (uint32_t)status;
    r.u[0] = seq;
    r.u[1] = ticks;
    r.u[2] = (uint64_t)code;
    return soa_ring_send(&s->mb.rep, &r, SOA_WAIT_FOREVER);
}

static int serve_loop(server *s)
{
    if (reply(s, SOA_MSG_PING, 0, 0, (uint64_t)getpid(), 0) != 0)
        return EXIT_SHARED;
    for (;;) {
        soa_msg m;
        int64_t code = 0;
        if (soa_ring_recv(&s->mb.req, &m, SOA_WAIT_FOREVER) != 0)
            return EXIT_SHARED;
        switch (m.kind) {
        case SOA_MSG_QUIT:
            return EXIT_QUIT;
        case SOA_MSG_RUN: {
            int st = serve_run(s, &m, &code);
            if (reply(s, SOA_MSG_DONE, m.seq, st, st ? 0 : m.u[3], code))
                return EXIT_SHARED;
            break;
        }
        default: /* PING, or a kind we do not know: answer, change nothing */
            if (reply(s, SOA_MSG_DONE, m.seq, m.kind == SOA_MSG_PING ? 0 : EINVAL,
                      0, 0))
                return EXIT_SHARED;
        }
    }
}

static int serve(soa_arena *a, size_t root_off, const soa_worker_task *tasks,
                 uint32_t ntasks)
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
    int rc = serve(a, (size_t)root, tasks, ntasks);
    soa_arena_destroy(a);
    return rc;
}

/* ---- the main side: starting and stopping -------------------------------- */

static void *thread_main(void *arg)
{
    soa_worker *w = arg;
    serve(w->arena, w->root_off, w->opts.tasks, w->opts.ntasks);
    atomic_store_explicit(&w->thread_done, 1, memory_order_release);
    return NULL;
}

/* The forked child: never returns. */
static void child(soa_worker *w, pid_t parent, char **argv)
{
    /* Die with the parent; and if it already died, do not serve. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(EXIT_SHARED);
    if (argv) {
        int fd = soa_arena_fd(w->arena);
        int fl = fcntl(fd, F_GETFD);
        if (fl < 0 || fcntl(fd, F_SETFD, fl & ~FD_CLOEXEC) != 0)
            _exit(127);
        execv(argv[0], argv);
        _exit(127);
    }
    _exit(serve(w->arena, w->root_off, w->opts.tasks, w->opts.ntasks));
}

static int start_process(soa_worker *w)
{
    char fd[24], root[24];
    char *argv[] = {w->exe, (char *)"--soa-worker-fd", fd,
                    (char *)"--soa-worker-root", root, NULL};
    snprintf(fd, sizeof fd, "%d", soa_arena_fd(w->arena));
    snprintf(root, sizeof root, "%zu", w->root_off);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0)
        return fail(w, SOA_WORKER_ESPAWN, errno, "fork: %s", strerror(errno));
    if (pid == 0)
        child(w, parent, w->exe ? argv : NULL);
    w->pid = pid;
    snprintf(w->mode, sizeof w->mode, "worker process %ld (%s%s)", (long)pid,
             w->exe ? "fork+exec " : "fork", w->exe ? w->exe : "");
    return 0;
}

static int start_thread(soa_worker *w)
{
    atomic_store(&w->thread_done, 0);
    int rc = pthread_create(&w->thread, NULL, thread_main, w);
    if (rc != 0)
        return fail(w, SOA_WORKER_ESPAWN, rc, "pthread_create: %s",
                    strerror(rc));
    w->thread_live = true;
    return 0;
}

/* Whether the child exited; if so reaps it and records how.  A waitpid
 * that cannot see the child (SIGCHLD ignored) falls back to kill(pid, 0). */
static bool child_gone(soa_worker *w, const char *during)
{
    int st = 0;
    pid_t r = waitpid(w->pid, &st, WNOHANG);
    if (r == 0 || (r < 0 && (errno != ECHILD || kill(w->pid, 0) == 0)))
        return false;
    long pid = (long)w->pid;
    w->pid = -1;
    if (r > 0 && WIFSIGNALED(st))
        fail(w, SOA_WORKER_EDIED, ECHILD,
             "worker %ld was killed by signal %d %s", pid, WTERMSIG(st),
             during);
    else if (r > 0 && WIFEXITED(st))
        fail(w, SOA_WORKER_EDIED, ECHILD, "worker %ld exited with status %d%s %s",
             pid, WEXITSTATUS(st),
             WEXITSTATUS(st) == EXIT_MISMATCH ? " (its task table does not "
                                                "match this program's)" :
             WEXITSTATUS(st) == 127 ? " (could not run the worker binary)" :
             WEXITSTATUS(st) == EXIT_SHARED ? " (shared memory did not "
                                              "validate)" : "",
             during);
    else
        fail(w, SOA_WORKER_EDIED, ECHILD, "worker %ld is gone %s", pid, during);
    return true;
}

/* Kills and reaps the worker process, if any. */
static void kill_process(soa_worker *w)
{
    if (w->pid <= 0)
        return;
    kill(w->pid, SIGKILL);
    while (waitpid(w->pid, NULL, 0) < 0 && errno == EINTR)
        ;
    w->pid = -1;
}

/*
 * Receives the next reply within timeout_ns, checking between slices that
 * a worker process is alive.  At the deadline a process is killed.  0, or
 * -1 with the failure recorded.
 */
static int recv_reply(soa_worker *w, soa_msg *m, int64_t timeout_ns,
                      const char *during)
{
    int64_t start = now_ns();
    for (;;) {
        int64_t left = timeout_ns < 0 ? INT64_MAX : start + timeout_ns - now_ns();
        int64_t slice = w->process && left > POLL_NS ? POLL_NS : left;
        if (timeout_ns < 0 && !w->process)
            slice = SOA_WAIT_FOREVER;
        else if (slice < 0)
            slice = 0;
        if (soa_ring_recv(&w->mb.rep, m, slice) == 0)
            return 0;
        if (errno == EPROTO) {
            kill_process(w);
            return fail(w, SOA_WORKER_EREFUSED, EPROTO,
                        "the worker's reply ring is corrupt %s", during);
        }
        if (w->process && child_gone(w, during))
            return -1;
        if (timeout_ns >= 0 && now_ns() - start >= timeout_ns)
            break;
    }
    if (w->process) {
        long pid = (long)w->pid;
        kill_process(w);
        return fail(w, SOA_WORKER_ETIMEDOUT, ETIMEDOUT,
                    "worker %ld did not answer within %" PRId64
                    " ms %s: killed", pid, timeout_ns / 1000000, during);
    }
    return fail(w, SOA_WORKER_ETIMEDOUT, ETIMEDOUT,
                "the worker thread did not answer within %" PRId64 " ms %s",
                timeout_ns / 1000000, during);
}

/* Formats the mailbox, starts the worker, waits for its hello. */
static int start(soa_worker *w)
{
    const worker_root *r = soa_arena_ptr(w->arena, w->root_off);
    if (soa_mailbox_init(&w->mb, soa_arena_ptr(w->arena, r->mailbox_off),
                         (size_t)r->mailbox_bytes, MAILBOX_CAPACITY) != 0)
        return fail(w, SOA_WORKER_ESPAWN, errno, "mailbox: %s",
                    strerror(errno));
    w->posted = w->answered = 0;
    w->status = SOA_WORKER_OK;
    w->err = 0;
    w->error[0] = '\0';
    if ((w->process ? start_process(w) : start_thread(w)) != 0)
        return -1;
    soa_msg hello;
    if (recv_reply(w, &hello, w->opts.timeout_ns, "at start") != 0) {
        if (w->status == SOA_WORKER_ETIMEDOUT || w->status == SOA_WORKER_EDIED)
            w->status = SOA_WORKER_ESPAWN;
        return -1;
    }
    if (hello.kind != SOA_MSG_PING) {
        kill_process(w);
        return fail(w, SOA_WORKER_ESPAWN, EPROTO,
                    "the worker's first message is not a hello");
    }
    return 0;
}

/* Stops the current worker: a process is killed; a thread is asked to quit
 * and joined (EBUSY when it does not finish within the timeout). */
static int stop(soa_worker *w, bool gently)
{
    if (w->process) {
        if (gently && w->pid > 0 && w->status == SOA_WORKER_OK) {
            soa_msg q;
            memset(&q, 0, sizeof q);
            q.kind = SOA_MSG_QUIT;
            if (soa_ring_send(&w->mb.req, &q, 0) == 0) {
                int64_t end = now_ns() + w->opts.timeout_ns;
                while (w->pid > 0 && !child_gone(w, "") &&
                       (w->opts.timeout_ns < 0 || now_ns() < end))
                    sleep_ns(100000);
            }
        }
        kill_process(w);
        return 0;
    }
    if (!w->thread_live)
        return 0;
    if (!atomic_load_explicit(&w->thread_done, memory_order_acquire)) {
        soa_msg q;
        memset(&q, 0, sizeof q);
        q.kind = SOA_MSG_QUIT;
        soa_ring_send(&w->mb.req, &q, 0);
        int64_t end = now_ns() + (w->opts.timeout_ns < 0 ? INT64_C(1) << 40 :
                                  w->opts.timeout_ns);
        while (!atomic_load_explicit(&w->thread_done, memory_order_acquire)) {
            if (now_ns() >= end)
                return fail(w, SOA_WORKER_EBUSY, EBUSY,
                            "the worker thread is still running a request "
                            "and cannot be stopped");
            sleep_ns(100000);
        }
    }
    pthread_join(w->thread, NULL);
    w->thread_live = false;
    return 0;
}

/* ---- the main side: the public functions --------------------------------- */

static bool want_threads(const soa_worker_opts *o, soa_worker *w)
{
    const char *env = getenv("SOA_WORKER_THREADS");
    const char *why = NULL;
    if (o->flags & SOA_WORKER_THREADS)
        why = "SOA_WORKER_THREADS was requested";
    else if (env && strcmp(env, "1") == 0)
        why = "SOA_WORKER_THREADS=1 is set in the environment";
    else if (!soa_shm_available())
        why = "shared memory is unavailable here";
    if (why)
        snprintf(w->mode, sizeof w->mode,
                 "%s: the worker runs as a thread in this process "
                 "(no crash isolation)", why);
    return why != NULL;
}

static int check_opts(const soa_worker_opts *o, bool threads)
{
    if (!o || o->ntasks > MAX_TASKS || (o->ntasks && !o->tasks))
        return -1;
    if (!o->exe && !o->tasks)
        return -1;
    for (uint32_t i = 0; i < o->ntasks; i++) {
        const soa_shm_system *s = o->tasks[i].sys;
        if (!s || !s->system || !s->layout || !s->attach || !s->publish ||
            !s->system->run || (!o->exe && !o->tasks[i].kernel) ||
            (threads && !o->tasks[i].kernel))
            return -1;
    }
    return 0;
}

/* Lays out the root and the mailbox in a fresh arena. */
static int layout_arena(soa_worker *w)
{
    size_t mb = soa_mailbox_bytes(MAILBOX_CAPACITY);
    worker_root *r = soa_arena_alloc(w->arena, sizeof *r, 64);
    void *m = soa_arena_alloc(w->arena, mb, 64);
    if (!r || !m) {
        errno = ENOMEM;
        return -1;
    }
    memset(r, 0, sizeof *r);
    r->magic = ROOT_MAGIC;
    r->version = ROOT_VERSION;
    r->ntasks = w->opts.ntasks;
    r->mailbox_off = soa_arena_offset(w->arena, m);
    r->mailbox_bytes = mb;
    r->threads = w->opts.threads;
    for (uint32_t i = 0; i < w->opts.ntasks; i++)
        r->task_hash[i] = w->opts.tasks[i].sys->system->layout_hash;
    w->root_off = soa_arena_offset(w->arena, r);
    return 0;
}

soa_worker *soa_worker_spawn(const soa_worker_opts *opts)
{
    soa_worker *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    bool threads = opts && want_threads(opts, w);
    if (check_opts(opts, threads) != 0) {
        free(w);
        errno = EINVAL;
        return NULL;
    }
    w->opts = *opts;
    w->process = !threads;
    w->pid = -1;
    if (!w->opts.arena_bytes)
        w->opts.arena_bytes = DEFAULT_ARENA;
    if (!w->opts.timeout_ns)
        w->opts.timeout_ns = DEFAULT_TIMEOUT;
    w->alloc.base.alloc = locked_alloc_fn;
    w->alloc.base.free = locked_free_fn;
    w->alloc.w = w;
    pthread_mutex_init(&w->alloc_lock, NULL);
    pthread_mutex_init(&w->req_lock, NULL);
    if (opts->exe && w->process && !(w->exe = strdup(opts->exe)))
        goto fail;
    w->arena = soa_arena_create(w->opts.arena_bytes,
                                threads ? SOA_ARENA_PRIVATE : SOA_ARENA_NAMED);
    if (!w->arena || layout_arena(w) != 0)
        goto fail;
    if (start(w) != 0) {
        int err = w->err;
        if (opts->error && opts->error_size)
            snprintf(opts->error, opts->error_size, "%s", w->error);
        stop(w, false);
        soa_worker_destroy(w);
        errno = err;
        return NULL;
    }
    return w;
fail:;
    int err = errno;
    if (opts->error && opts->error_size)
        snprintf(opts->error, opts->error_size, "cannot set up the shared "
                 "arena: %s", strerror(err));
    soa_worker_destroy(w);
    errno = err;
    return NULL;
}

void soa_worker_destroy(soa_worker *w)
{
    if (!w)
        return;
    bool leak = false;
    if (stop(w, true) != 0) {
        /* A hung thread still uses the arena: it can only be left be. */
        pthread_detach(w->thread);
        leak = true;
    }
    if (!leak)
        soa_arena_destroy(w->arena);
    pthread_mutex_destroy(&w->alloc_lock);
    pthread_mutex_destroy(&w->req_lock);
    free(w->exe);
    if (!leak)
        free(w);
}

int soa_worker_respawn(soa_worker *w)
{
    if (!w) {
        errno = EINVAL;
        return -1;
    }
    if (stop(w, false) != 0)
        return -1;
    if (start(w) != 0) {
        int err = w->err;
        stop(w, false);
        errno = err;
        return -1;
    }
    return 0;
}

int soa_worker_status(const soa_worker *w)
{
    return w ? w->status : SOA_WORKER_ESPAWN;
}

const char *soa_worker_error(const soa_worker *w)
{
    return w ? w->error : "no worker";
}

const char *soa_worker_mode(const soa_worker *w)
{
    return w ? w->mode : "no worker";
}

bool soa_worker_is_process(const soa_worker *w)
{
    return w && w->process;
}

long soa_worker_pid(const soa_worker *w)
{
    return w && w->pid > 0 ? (long)w->pid : -1;
}

soa_arena *soa_worker_arena(soa_worker *w)
{
    return w ? w->arena : NULL;
}

soa_alloc *soa_worker_allocator(soa_worker *w)
{
    return w ? &w->alloc.base : NULL;
}

uint64_t soa_worker_post(soa_worker *w, uint32_t task, size_t snap_offset,
                         const soa_frame *first, uint64_t ticks)
{
    if (!w || !first) {
        errno = EINVAL;
        return 0;
    }
    if (w->status != SOA_WORKER_OK) {
        errno = w->err;
        return 0;
    }
    soa_msg m;
    memset(&m, 0, sizeof m);
    m.kind = SOA_MSG_RUN;
    m.u[0] = task;
    m.u[1] = snap_offset;
    m.u[2] = first->index;
    m.u[3] = ticks;
    m.d[0] = first->dt;
    m.d[1] = first->time;
    if (soa_ring_send(&w->mb.req, &m, 0) != 0)
        return 0;
    w->posted++;
    return m.seq;
}

uint64_t soa_worker_progress(const soa_worker *w)
{
    return w ? soa_mailbox_progress(&w->mb) : 0;
}

/* Checks one DONE: 0, or -1 with the failure recorded. */
static int check_done(soa_worker *w, const soa_msg *m)
{
    uint64_t want = w->answered + 1;
    if (m->kind != SOA_MSG_DONE || m->u[0] != want) {
        kill_process(w);
        return fail(w, SOA_WORKER_EREFUSED, EPROTO,
                    "the worker answered out of turn (kind %u for request "
                    "%" PRIu64 ", expected %" PRIu64 ")",
                    (unsigned)m->kind, m->u[0], want);
    }
    if (m->status == EPROTO && (int64_t)m->u[2] < 0)
        return fail(w, SOA_WORKER_EREFUSED, EPROTO,
                    "the worker refused request %" PRIu64 ": %s", want,
                    soa_shm_strerror((int)(int64_t)m->u[2]));
    if (m->status != 0)
        return fail(w, SOA_WORKER_EREFUSED, EPROTO,
                    "the worker refused request %" PRIu64 ": %s", want,
                    strerror((int)m->status));
    w->answered++;
    return 0;
}

int soa_worker_wait(soa_worker *w, int64_t timeout_ns)
{
    if (!w) {
        errno = EINVAL;
        return -1;
    }
    int64_t t = timeout_of(w, timeout_ns);
    int64_t start = now_ns();
    while (w->answered < w->posted) {
        if (w->status != SOA_WORKER_OK)
            break;
        char during[64];
        snprintf(during, sizeof during, "during request %" PRIu64,
                 w->answered + 1);
        int64_t left = t < 0 ? -1 : t - (now_ns() - start);
        soa_msg m;
        if (recv_reply(w, &m, left < 0 && t >= 0 ? 0 : left, during) != 0 ||
            check_done(w, &m) != 0)
            return -1;
    }
    if (w->status != SOA_WORKER_OK) {
        errno = w->err;
        return -1;
    }
    return 0;
}

/* ---- offloaded systems ---------------------------------------------------- */

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
    if (!w || task >= w->opts.ntasks) {
        errno = EINVAL;
        return NULL;
    }
    const soa_shm_system *sys = w->opts.tasks[task].sys;
    soa_worker_system *ws = calloc(1, sizeof *ws);
    size_t align = sys->system->snap_align > 64 ? sys->system->snap_align : 64;
    size_t size = (sys->system->snap_size + align - 1) & ~(align - 1);
    void *hdr = ws ? locked_alloc_fn(&w->alloc.base,
                                     soa_shm_snap_bytes(sys->layout), 64)
                   : NULL;
    if (!ws || !hdr || !(ws->snap = aligned_alloc(align, size))) {
        int err = errno ? errno : ENOMEM;
        free(ws);
        errno = err;
        return NULL;
    }
    ws->w = w;
    ws->task = task;
    ws->sys = sys;
    ws->hdr = soa_arena_offset(w->arena, hdr);
    if (sys->system->snap_init(ws->snap, &w->alloc.base) != 0) {
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
    ws->sys->system->snap_release(ws->snap);
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
    if (w->status != SOA_WORKER_OK) {
        errno = w->err;
        return -1;
    }
    if (ws->sys->system->build(ws->snap, world) != 0)
        return -1;
    if (ws->sys->publish(ws->snap, w->arena, ws->hdr) != SOA_SHM_OK)
        return -1;
    pthread_mutex_lock(&w->req_lock);
    if (soa_worker_post(w, ws->task, ws->hdr, frame, ticks) == 0) {
        int err = errno;
        pthread_mutex_unlock(&w->req_lock);
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
    pthread_mutex_unlock(&ws->w->req_lock);
    if (rc != 0) {
        errno = err;
        return -1;
    }
    ws->committed = ws->sys->system->commit(ws->snap, world);
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
