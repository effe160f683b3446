/*
 * worker.c: the main process's side of a worker process (or, as the
 * fallback, a worker thread): spawning, respawning and stopping it,
 * posting requests and waiting for their answers.  The worker's side is
 * worker_serve.c, the protocol worker_proto.h, offloaded systems
 * worker_system.c.
 *
 * Fault detection: the main process waits for a reply in slices of
 * POLL_NS and between slices asks the kernel whether the child exited
 * (waitpid WNOHANG), so a dead worker is noticed within a slice; at the
 * deadline a live one is SIGKILLed and reaped before the call returns, so
 * nothing can still write to the snapshot when the caller decides not to
 * commit.
 *
 * The rules of shared memory.  The main process never trusts a byte a
 * worker can write; these rules are how (test_worker_hostile.c checks them
 * with a worker that overwrites everything it can, at random):
 *
 *   1. What the worker can write is the arena, all of it: the root block,
 *      the mailbox, snapshot headers and columns, frame plans, the copies
 *      of written columns and their changed bitsets.  What it only reads,
 *      a world in a shared region, it maps read-only from a memfd sealed
 *      with F_SEAL_FUTURE_WRITE: the kernel refuses to make it writable
 *      (mprotect, a writable mmap, write, truncate).
 *   2. Everything the main process needs to interpret the arena is its
 *      own, in private memory: the root's and the mailbox's offsets, each
 *      ring's mask, slots and own counter, every snapshot's and plan's row
 *      maps and column pointers, the world's shape at the build.
 *   3. The arena's control data (root, mailbox, plans, snapshot headers)
 *      is written from that private data and never read back.  Respawn
 *      writes the root and the mailbox afresh, so a worker that wrecked
 *      them cannot stop the next one from starting.
 *   4. What the main process does read from the arena is data, checked
 *      before use: a message is copied out and its sequence number, kind
 *      and fields checked; the peer's ring counter is checked against our
 *      own; progress is clamped to the ticks asked for and never goes
 *      back; a changed-bit word is loaded once and masked to its chunk's
 *      rows; written values are copied as bytes into the rows those bits
 *      select, in places the private plan gives, never interpreted.  So
 *      the worst a worker can do is write any value into a row of a
 *      component its system writes, which is its right.
 *   5. A frame under which the world's structure changed commits nothing
 *      (ESTALE): rows are never looked up by ids the worker could rewrite.
 *   6. After any failure the worker is killed and reaped before the call
 *      returns: no late write lands after the decision not to commit.
 *
 * Beyond memory, a worker is an ordinary process of the same user: where
 * the system lets it ptrace its parent or write /proc/PID/mem (no Yama, or
 * root), only a sandbox (another uid, seccomp) keeps a malicious one out.
 * These rules make a buggy or compromised kernel unable to hurt the main
 * process through what they share.
 */
#define _GNU_SOURCE
#include "soa/worker.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "platform.h"
#include "worker_proto.h"

#define DEFAULT_ARENA ((size_t)64 << 20)
#define DEFAULT_TIMEOUT INT64_C(1000000000)
#define POLL_NS INT64_C(2000000) /* how often a waiter checks the child */

typedef struct locked_alloc {
    soa_alloc base;
    struct soa_worker *w;
} locked_alloc;

struct soa_worker {
    soa_worker_opts opts;
    char *exe;
    soa_arena *arena;
    size_t root_off;            /* where the root block is (ours) */
    size_t mb_off, mb_bytes;    /* where the mailbox is (ours) */
    soa_mailbox mb;
    locked_alloc alloc;
    pthread_mutex_t alloc_lock; /* arena allocations */
    pthread_mutex_t req_lock;   /* one system's request at a time */
    bool process;
    long pid;                   /* -1: no process */
    pthread_t thread;
    bool thread_live;           /* joinable */
    atomic_int thread_done;     /* set by the thread as it leaves serve */
    uint64_t posted, answered;  /* RUN requests of this incarnation */
    _Atomic uint64_t ticks_posted; /* ticks those requests asked for */
    _Atomic uint64_t progress;  /* the most ticks seen done (monotonic) */
    int status, err;
    char error[256];
    char mode[256];
};

/* ---- small helpers ------------------------------------------------------ */

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

/* ---- starting and stopping ------------------------------------------------ */

static void *thread_main(void *arg)
{
    soa_worker *w = arg;
    /* A thread shares the creator's mapping of the region: same process. */
    soa__worker_serve(w->arena, w->root_off, w->opts.tasks, w->opts.ntasks,
                      w->opts.share);
    atomic_store_explicit(&w->thread_done, 1, memory_order_release);
    return NULL;
}

/* The forked child: never returns. */
static void child(soa_worker *w, long parent, char **argv)
{
    /* Die with the parent; and if it already died, do not serve.  A fault
     * in a kernel kills the worker, as the main process reports it ("killed
     * by signal 11"): none of the main program's handlers (a crash
     * reporter, a test framework's) runs in the child. */
    if (!soa__child_setup(parent))
        _exit(EXIT_SHARED);
    if (argv) {
        if (soa__fd_inherit(soa_arena_fd(w->arena)) != 0 ||
            (w->opts.share &&
             soa__fd_inherit(soa_region_fd(w->opts.share)) != 0))
            _exit(127);
        soa__exec(argv);
        _exit(127);
    }
    /* The creator's writable mapping of a region is not inherited
     * (MADV_DONTFORK): the child maps the region read-only from its fd. */
    soa_region *share = NULL;
    if (w->opts.share &&
        !(share = soa_region_attach_readonly(soa_region_fd(w->opts.share))))
        _exit(EXIT_SHARED);
    _exit(soa__worker_serve(w->arena, w->root_off, w->opts.tasks,
                            w->opts.ntasks, share));
}

static int start_process(soa_worker *w)
{
    char fd[24], root[24], share[24];
    char *argv[] = {w->exe, (char *)"--soa-worker-fd", fd,
                    (char *)"--soa-worker-root", root,
                    w->opts.share ? (char *)"--soa-worker-share" : NULL, share,
                    NULL};
    snprintf(fd, sizeof fd, "%d", soa_arena_fd(w->arena));
    snprintf(root, sizeof root, "%zu", w->root_off);
    snprintf(share, sizeof share, "%d",
             w->opts.share ? soa_region_fd(w->opts.share) : -1);
    long parent = soa__process_id();
    long pid = soa__fork();
    if (pid < 0)
        return fail(w, SOA_WORKER_ESPAWN, errno, "fork: %s", strerror(errno));
    if (pid == 0)
        child(w, parent, w->exe ? argv : NULL);
    w->pid = pid;
    snprintf(w->mode, sizeof w->mode, "worker process %ld (%s%s)", pid,
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

/* What recv_reply is told while a worker starts: only then does an exit
 * status mean what soa_worker_main says it means (a kernel may exit with
 * any status). */
static const char AT_START[] = "at start";

/* Whether the child exited; if so reaps it and records how. */
static bool child_gone(soa_worker *w, const char *during)
{
    int code = 0;
    int how = soa__process_poll(w->pid, &code);
    if (how == SOA__PROC_RUNNING)
        return false;
    long pid = w->pid;
    w->pid = -1;
    if (how == SOA__PROC_SIGNALED)
        fail(w, SOA_WORKER_EDIED, ECHILD,
             "worker %ld was killed by signal %d %s", pid, code, during);
    else if (how == SOA__PROC_EXITED)
        fail(w, SOA_WORKER_EDIED, ECHILD, "worker %ld exited with status %d%s %s",
             pid, code, during != AT_START ? "" :
             code == EXIT_MISMATCH ? " (its task table does not "
                                     "match this program's)" :
             code == 127 ? " (could not run the worker binary)" :
             code == EXIT_SHARED ? " (shared memory did not "
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
    soa__process_kill(w->pid);
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
    int64_t start = soa__now_ns();
    for (;;) {
        int64_t left = timeout_ns < 0 ? INT64_MAX : start + timeout_ns - soa__now_ns();
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
        if (timeout_ns >= 0 && soa__now_ns() - start >= timeout_ns)
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

/* Writes the root block from what this process knows (never from what is
 * in the arena: the last worker may have overwritten it). */
static void write_root(soa_worker *w)
{
    worker_root *r = soa_arena_ptr(w->arena, w->root_off);
    memset(r, 0, sizeof *r);
    r->magic = ROOT_MAGIC;
    r->version = ROOT_VERSION;
    r->ntasks = w->opts.ntasks;
    r->mailbox_off = w->mb_off;
    r->mailbox_bytes = w->mb_bytes;
    r->threads = w->opts.threads;
    for (uint32_t i = 0; i < w->opts.ntasks; i++)
        r->task_hash[i] = w->opts.tasks[i].sys->system->layout_hash;
}

/* Formats the root and the mailbox, starts the worker, waits for its
 * hello. */
static int start(soa_worker *w)
{
    write_root(w);
    if (soa_mailbox_init(&w->mb, soa_arena_ptr(w->arena, w->mb_off),
                         w->mb_bytes, MAILBOX_CAPACITY) != 0)
        return fail(w, SOA_WORKER_ESPAWN, errno, "mailbox: %s",
                    strerror(errno));
    w->posted = w->answered = 0;
    atomic_store(&w->ticks_posted, 0);
    atomic_store(&w->progress, 0);
    w->status = SOA_WORKER_OK;
    w->err = 0;
    w->error[0] = '\0';
    if ((w->process ? start_process(w) : start_thread(w)) != 0)
        return -1;
    soa_msg hello;
    if (recv_reply(w, &hello, w->opts.timeout_ns, AT_START) != 0) {
        if (w->status == SOA_WORKER_ETIMEDOUT || w->status == SOA_WORKER_EDIED)
            w->status = SOA_WORKER_ESPAWN;
        return -1;
    }
    if (hello.kind != MSG_PING) {
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
            soa_msg q = bare_msg(MSG_QUIT);
            if (soa_ring_send(&w->mb.req, &q, 0) == 0) {
                int64_t end = soa__now_ns() + w->opts.timeout_ns;
                while (w->pid > 0 && !child_gone(w, "") &&
                       (w->opts.timeout_ns < 0 || soa__now_ns() < end))
                    soa__sleep_ns(100000);
            }
        }
        kill_process(w);
        return 0;
    }
    if (!w->thread_live)
        return 0;
    if (!atomic_load_explicit(&w->thread_done, memory_order_acquire)) {
        soa_msg q = bare_msg(MSG_QUIT);
        soa_ring_send(&w->mb.req, &q, 0);
        int64_t end = soa__now_ns() + (w->opts.timeout_ns < 0 ? INT64_C(1) << 40 :
                                  w->opts.timeout_ns);
        while (!atomic_load_explicit(&w->thread_done, memory_order_acquire)) {
            if (soa__now_ns() >= end)
                return fail(w, SOA_WORKER_EBUSY, EBUSY,
                            "the worker thread is still running a request "
                            "and cannot be stopped");
            soa__sleep_ns(100000);
        }
    }
    pthread_join(w->thread, NULL);
    w->thread_live = false;
    return 0;
}

/* ---- the public functions ------------------------------------------------- */

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
    if (threads && o->ntasks == 0)
        return -1; /* a thread can only run the tasks it is given */
    if (o->share && soa_region_fd(o->share) < 0)
        return -1; /* a region attached read-only cannot be shared on */
    for (uint32_t i = 0; i < o->ntasks; i++) {
        const soa_shm_system *s = o->tasks[i].sys;
        if (!s || !s->system || !s->system->layout ||
            (!o->exe && !o->tasks[i].kernel) ||
            (threads && !o->tasks[i].kernel))
            return -1;
    }
    return 0;
}

/* Places the root and the mailbox in a fresh arena (start writes them). */
static int layout_arena(soa_worker *w)
{
    size_t mb = soa_mailbox_bytes(MAILBOX_CAPACITY);
    worker_root *r = soa_arena_alloc(w->arena, sizeof *r, 64);
    void *m = soa_arena_alloc(w->arena, mb, 64);
    if (!r || !m) {
        errno = ENOMEM;
        return -1;
    }
    w->root_off = soa_arena_offset(w->arena, r);
    w->mb_off = soa_arena_offset(w->arena, m);
    w->mb_bytes = mb;
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
    return soa__worker_post(w, MSG_RUN, task, snap_offset, first, ticks);
}

uint64_t soa__worker_post(soa_worker *w, uint32_t kind, uint32_t task,
                          size_t snap_offset, const soa_frame *first,
                          uint64_t ticks)
{
    if (!w || !first) {
        errno = EINVAL;
        return 0;
    }
    if (w->status != SOA_WORKER_OK) {
        errno = w->err;
        return 0;
    }
    run_msg r = {task, snap_offset, first->index, ticks, first->dt,
                 first->time};
    soa_msg m = run_pack(kind, &r);
    if (soa_ring_send(&w->mb.req, &m, 0) != 0) {
        if (errno == EPROTO) {
            int err = errno;
            kill_process(w);
            fail(w, SOA_WORKER_EREFUSED, err,
                 "the worker's request ring is corrupt");
        }
        return 0;
    }
    w->posted++;
    uint64_t asked = atomic_load_explicit(&w->ticks_posted, memory_order_relaxed);
    atomic_store_explicit(&w->ticks_posted,
                          ticks > UINT64_MAX - asked ? UINT64_MAX : asked + ticks,
                          memory_order_relaxed);
    return m.seq;
}

uint64_t soa_worker_progress(const soa_worker *w)
{
    if (!w)
        return 0;
    /* The worker writes the counter: never more than was asked, never
     * less than was seen. */
    soa_worker *mw = (soa_worker *)(uintptr_t)w; /* progress is atomic */
    uint64_t p = soa_mailbox_progress(&w->mb);
    uint64_t asked = atomic_load_explicit(&mw->ticks_posted, memory_order_relaxed);
    if (p > asked)
        p = asked;
    uint64_t seen = atomic_load(&mw->progress);
    while (p > seen && !atomic_compare_exchange_weak(&mw->progress, &seen, p))
        ;
    return p > seen ? p : seen;
}

/* Checks one DONE: 0, or -1 with the failure recorded. */
static int check_done(soa_worker *w, const soa_msg *m)
{
    uint64_t want = w->answered + 1;
    done_msg d = done_unpack(m);
    if (m->kind != MSG_DONE || d.seq != want) {
        kill_process(w);
        return fail(w, SOA_WORKER_EREFUSED, EPROTO,
                    "the worker answered out of turn (kind %u for request "
                    "%" PRIu64 ", expected %" PRIu64 ")",
                    (unsigned)m->kind, d.seq, want);
    }
    if (d.status == EPROTO && d.code < 0 && d.code >= INT32_MIN)
        return fail(w, SOA_WORKER_EREFUSED, EPROTO,
                    "the worker refused request %" PRIu64 ": %s", want,
                    soa_shm_strerror((int)d.code));
    if (d.status != 0)
        return fail(w, SOA_WORKER_EREFUSED, EPROTO,
                    "the worker refused request %" PRIu64 ": %s", want,
                    d.status < 4096 ? strerror((int)d.status)
                                    : "an unknown error");
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
    int64_t start = soa__now_ns();
    while (w->answered < w->posted) {
        if (w->status != SOA_WORKER_OK)
            break;
        char during[64];
        snprintf(during, sizeof during, "during request %" PRIu64,
                 w->answered + 1);
        int64_t left = t < 0 ? -1 : t - (soa__now_ns() - start);
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

/* ---- for worker_system.c -------------------------------------------------- */

const soa_worker_task *soa__worker_task(const soa_worker *w, uint32_t task)
{
    return task < w->opts.ntasks ? &w->opts.tasks[task] : NULL;
}

soa_region *soa__worker_share(const soa_worker *w)
{
    return w->opts.share;
}

void soa__worker_lock(soa_worker *w)
{
    pthread_mutex_lock(&w->req_lock);
}

void soa__worker_unlock(soa_worker *w)
{
    pthread_mutex_unlock(&w->req_lock);
}
