/*
 * platform.h: what libsoa needs from the operating system, in one place:
 * a monotonic clock, sleeping, spinning politely, futex wait/wake, and
 * the page size.
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

/* The page size (what mappings are rounded to). */
SOA__HIDDEN size_t soa__page_size(void);

#endif /* SOA_PLATFORM_H */
