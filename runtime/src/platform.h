/*
 * platform.h: what libsoa needs from the operating system, in one place:
 * a monotonic clock, sleeping, spinning politely, futex wait/wake, and
 * mappings (shared memory that only its creator can write).
 * Linux's implementation is platform_linux.c; a port to another platform
 * starts by writing its own file behind these declarations.
 *
 * Internal (hidden), like internal.h.
 */
#ifndef SOA_PLATFORM_H
#define SOA_PLATFORM_H

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

#endif /* SOA_PLATFORM_H */
