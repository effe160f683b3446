/*
 * platform_emscripten.c: platform.h for WebAssembly built with emscripten,
 * run by Node or a browser.
 *
 * With -pthread, threads are Web Workers (worker_threads in Node) sharing
 * the module's memory, a SharedArrayBuffer; futexes are
 * emscripten_futex_wait/wake on it.  Without -pthread there is one thread:
 * nothing ever waits on a futex, so the wake is a no-op and a wait only
 * sleeps out its timeout.
 *
 * There is no shared memory between processes and there are no processes:
 * those calls fail with ENOSYS, soa__shm_probe is false (so
 * soa_shm_available() is false and workers run as threads), and nothing
 * is pinned (a browser does not let a page choose CPUs).
 */
#define _POSIX_C_SOURCE 200809L
#include "platform.h"

#include <emscripten.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifdef __EMSCRIPTEN_PTHREADS__
#include <emscripten/threading.h>
#endif

#define PAGE 65536u /* a wasm page: what mappings are rounded to */

int64_t soa__now_ns(void)
{
    /* Milliseconds as a double, with microsecond resolution or better
     * (performance.now()); 64-bit nanoseconds here, since `long` is 32 bits
     * on wasm32. */
    return (int64_t)(emscripten_get_now() * 1e6);
}

void soa__sleep_ns(int64_t ns)
{
    if (ns <= 0)
        return;
    /* Blocks the thread (a busy wait on a browser's main thread). */
    struct timespec ts = {(time_t)(ns / 1000000000), (long)(ns % 1000000000)};
    nanosleep(&ts, NULL);
}

void soa__futex_wait(_Atomic uint32_t *word, uint32_t val, int64_t rel_ns,
                     bool shared)
{
    (void)shared; /* one process: every futex is private */
#ifdef __EMSCRIPTEN_PTHREADS__
    double ms = rel_ns < 0 ? 1e300 : (double)rel_ns / 1e6;
    /* -EWOULDBLOCK (the value changed), -ETIMEDOUT: the caller re-checks. */
    emscripten_futex_wait((void *)word, val, ms);
#else
    /* No other thread can change *word: only the timeout can end this. */
    if (atomic_load(word) == val && rel_ns >= 0)
        soa__sleep_ns(rel_ns);
#endif
}

void soa__futex_wake(_Atomic uint32_t *word, int count, bool shared)
{
    (void)shared;
#ifdef __EMSCRIPTEN_PTHREADS__
    emscripten_futex_wake((void *)word, count);
#else
    (void)word;
    (void)count;
#endif
}

/* ---- CPUs ---------------------------------------------------------- */

unsigned soa__cpu_count(void)
{
#ifdef __EMSCRIPTEN_PTHREADS__
    /* navigator.hardwareConcurrency, or os.cpus() in Node. */
    int c = emscripten_num_logical_cores();
    return c > 0 ? (unsigned)c : 1u;
#else
    return 1u; /* no threads to run on more */
#endif
}

void soa__pin_thread(pthread_t thread, unsigned index, unsigned nthreads)
{
    (void)thread;
    (void)index;
    (void)nthreads;
}

/* ---- mappings ------------------------------------------------------ */

size_t soa__page_size(void)
{
    return PAGE;
}

long soa__process_id(void)
{
    return 1; /* one process, never forked */
}

/* The module's memory has no mmap worth the name (emscripten emulates it
 * with malloc and a copy): zeroed aligned heap memory. */
void *soa__map_private(size_t size)
{
    void *p = aligned_alloc(PAGE, size);
    if (!p) {
        errno = ENOMEM;
        return NULL;
    }
    memset(p, 0, size);
    return p;
}

void soa__unmap(void *p, size_t size)
{
    (void)size;
    free(p);
}

void *soa__shm_create_sealed(size_t size, int *fd)
{
    (void)size;
    (void)fd;
    errno = ENOSYS;
    return NULL;
}

void *soa__shm_map_sealed(int fd, size_t *size)
{
    (void)size;
    errno = fd < 0 ? EBADF : ENOSYS;
    return NULL;
}

bool soa__shm_probe(void)
{
    return false;
}

void *soa__map_shared(size_t size)
{
    (void)size;
    errno = ENOSYS;
    return NULL;
}

void *soa__shm_create_named(size_t size, int *fd)
{
    (void)size;
    (void)fd;
    errno = ENOSYS;
    return NULL;
}

void *soa__shm_map_named(int fd, size_t min, size_t *size)
{
    (void)min;
    (void)size;
    errno = fd < 0 ? EBADF : ENOSYS;
    return NULL;
}

int soa__fd_dup(int fd)
{
    return dup(fd);
}

void soa__fd_close(int fd)
{
    if (fd >= 0)
        close(fd);
}

/* ---- processes ----------------------------------------------------- */

long soa__fork(void)
{
    errno = ENOSYS;
    return -1;
}

bool soa__child_setup(long parent)
{
    (void)parent;
    return false; /* never a child: soa__fork never made one */
}

int soa__fd_inherit(int fd)
{
    (void)fd;
    errno = ENOSYS;
    return -1;
}

void soa__exec(char **argv)
{
    (void)argv;
    errno = ENOSYS;
}

int soa__process_poll(long pid, int *code)
{
    (void)pid;
    (void)code;
    return SOA__PROC_GONE; /* there are no children */
}

void soa__process_kill(long pid)
{
    (void)pid;
}
