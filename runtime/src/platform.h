/*
 * platform.h: what libsoa needs from the operating system, in one place:
 * a monotonic clock, sleeping, spinning politely, futex wait/wake, CPUs
 * and pinning, mappings (shared memory, and shared memory that only its
 * creator can write) and processes (fork, exec, wait, kill).
 * No other runtime file calls the operating system for these.
 * Implementations: platform_linux.c (Linux, glibc) and
 * platform_emscripten.c (WebAssembly under Node or a browser: no shared
 * memory between processes and no processes, so those calls fail with
 * ENOSYS).  A port to another platform is one more file behind these
 * declarations; the Makefile links exactly one of them.
 *
 * Internal (hidden), like internal.h.
 */
#ifndef SOA_PLATFORM_H
#define SOA_PLATFORM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "internal.h"

/* Nanoseconds of a monotonic clock (64-bit on every platform). */
SOA__HIDDEN int64_t soa__now_ns(void);

/* Sleeps about `ns` nanoseconds (a signal may cut it short). */
SOA__HIDDEN void soa__sleep_ns(int64_t ns);

/* Tells the CPU this thread is spinning (x86 pause, arm yield). */
static inline void soa__cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/*
 * Sleeps while *word == val, at most rel_ns nanoseconds (< 0: no limit).
 * Returns early on a wake, a signal, a timeout or a spurious wake: callers
 * re-check their condition.  `shared`: the word may be mapped by another
 * process (otherwise the cheaper process-private futex).
 */
SOA__HIDDEN void soa__futex_wait(_Atomic uint32_t *word, uint32_t val,
                                 int64_t rel_ns, bool shared);

/* Wakes up to `count` sleepers on *word (`shared` as for the wait). */
SOA__HIDDEN void soa__futex_wake(_Atomic uint32_t *word, int count,
                                 bool shared);

/* ---- CPUs ---------------------------------------------------------- */

/* CPUs online (at least 1). */
SOA__HIDDEN unsigned soa__cpu_count(void);

/*
 * Pins `thread`, worker `index` (>= 1) of a pool of `nthreads`, to the
 * index-th CPU this process may run on.  Best effort: nothing happens when
 * the process may run on fewer than `nthreads` CPUs or the system refuses.
 */
SOA__HIDDEN void soa__pin_thread(pthread_t thread, unsigned index,
                                 unsigned nthreads);

/* ---- mappings ------------------------------------------------------ */

/* The page size (what mappings are rounded to). */
SOA__HIDDEN size_t soa__page_size(void);

/* This process's id: tells a fork() child from its parent. */
SOA__HIDDEN long soa__process_id(void);

/* `size` bytes of zeroed private memory, backed only where touched (no
 * swap reserved up front), or NULL with errno.  Free with soa__unmap. */
SOA__HIDDEN void *soa__map_private(size_t size);

/* Unmaps what a soa__map_* or soa__shm_* call returned. */
SOA__HIDDEN void soa__unmap(void *p, size_t size);

/*
 * Shared memory of `size` bytes (whole pages; zeroed; backed only where
 * touched) that only this process can write.  Returns this process's
 * read-write mapping of all of it, and in *fd a handle (close on exec) to
 * pass to readers; or NULL with errno (ENOMEM; ENOSYS when the system
 * cannot enforce the rules below).  Enforced by the kernel from the
 * moment this returns:
 *   - nobody, this process included, can map the fd writable again,
 *     write(2) to it, grow it, shrink it (no SIGBUS under a reader), punch
 *     holes in it or change these rules;
 *   - fork() children do not inherit the writable mapping (touching its
 *     addresses in a child faults).
 * The price: freed pages cannot be given back to the system either (no
 * hole punching), until the last mapping and fd are gone.
 */
SOA__HIDDEN void *soa__shm_create_sealed(size_t size, int *fd);

/*
 * Maps all of the shared memory behind `fd` read-only, after checking that
 * it was made by soa__shm_create_sealed (sealed as above: nobody can write
 * it, make it writable or resize it).  Returns the mapping and its size in
 * *size, or NULL with errno EBADF (not an open fd), EINVAL (anything else:
 * a pipe, a file, a memfd without those seals, an empty one) or mmap's.
 * The fd stays the caller's.
 */
SOA__HIDDEN void *soa__shm_map_sealed(int fd, size_t *size);

/* Whether shared memory works here: anonymous shared mappings and
 * soa__shm_create_named (costs a probe mapping and memfd; the caller
 * caches the answer). */
SOA__HIDDEN bool soa__shm_probe(void);

/* `size` bytes of zeroed anonymous shared memory, seen by fork()
 * children, or NULL with errno (ENOSYS where there is none).  Free with
 * soa__unmap. */
SOA__HIDDEN void *soa__map_shared(size_t size);

/*
 * Shared memory of `size` bytes (whole pages, zeroed) that another process
 * can map from the handle in *fd (close on exec), sealed against shrinking
 * and against changing its seals, so no peer can truncate it under a
 * mapping.  Returns this process's read-write mapping, or NULL with errno
 * (ENOMEM; ENOSYS where there is no such memory).
 */
SOA__HIDDEN void *soa__shm_create_named(size_t size, int *fd);

/*
 * Maps all of the memory behind `fd` read-write after checking that it
 * carries soa__shm_create_named's seals and holds at least `min` bytes.
 * The mapping and its size in *size, or NULL with errno EBADF (not an open
 * fd), EINVAL (a pipe, a file, unsealed, too small) or mmap's.  The fd
 * stays the caller's.
 */
SOA__HIDDEN void *soa__shm_map_named(int fd, size_t min, size_t *size);

/* A close-on-exec duplicate of fd, or -1 with errno. */
SOA__HIDDEN int soa__fd_dup(int fd);

/* Closes fd (ignores -1). */
SOA__HIDDEN void soa__fd_close(int fd);

/* ---- processes ----------------------------------------------------- */

/* fork(): the child's id in the parent, 0 in the child, or -1 with errno
 * (ENOSYS where there are no processes). */
SOA__HIDDEN long soa__fork(void);

/*
 * In a fork() child of `parent`: arranges to be killed when the parent
 * dies and restores the default action of the fatal signals (a fault kills
 * the child, whatever handlers the parent installed).  False when the
 * parent is already gone.
 */
SOA__HIDDEN bool soa__child_setup(long parent);

/* Clears fd's close-on-exec flag (a child keeps it across exec); 0 or -1. */
SOA__HIDDEN int soa__fd_inherit(int fd);

/* execv(argv[0], argv): returns only on failure. */
SOA__HIDDEN void soa__exec(char **argv);

/* How a child process is, for soa__process_poll. */
enum {
    SOA__PROC_RUNNING,  /* still running */
    SOA__PROC_EXITED,   /* exited: *code is its status */
    SOA__PROC_SIGNALED, /* killed: *code is the signal */
    SOA__PROC_GONE      /* gone, reaped by someone else: no code */
};

/* Whether child `pid` is still running; if not, reaps it.  Never blocks. */
SOA__HIDDEN int soa__process_poll(long pid, int *code);

/* Kills child `pid` (SIGKILL) and reaps it. */
SOA__HIDDEN void soa__process_kill(long pid);

#endif /* SOA_PLATFORM_H */
