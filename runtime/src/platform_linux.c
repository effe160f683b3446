/*
 * platform_linux.c: platform.h on Linux (glibc): clock_gettime,
 * nanosleep and the futex system call.
 */
#define _GNU_SOURCE
#include "platform.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int64_t soa__now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * INT64_C(1000000000) + (int64_t)ts.tv_nsec;
}

void soa__sleep_ns(int64_t ns)
{
    if (ns <= 0)
        return;
    struct timespec ts = {(time_t)(ns / 1000000000), (long)(ns % 1000000000)};
    nanosleep(&ts, NULL);
}

void soa__futex_wait(_Atomic uint32_t *word, uint32_t val, int64_t rel_ns,
                     bool shared)
{
    struct timespec ts, *tp = NULL;
    if (rel_ns >= 0) {
        ts.tv_sec = (time_t)(rel_ns / 1000000000);
        ts.tv_nsec = (long)(rel_ns % 1000000000);
        tp = &ts;
    }
    /* EAGAIN (the value changed), ETIMEDOUT, EINTR: the caller re-checks. */
    syscall(SYS_futex, (void *)word, shared ? FUTEX_WAIT : FUTEX_WAIT_PRIVATE,
            val, tp, NULL, 0);
}

void soa__futex_wake(_Atomic uint32_t *word, int count, bool shared)
{
    syscall(SYS_futex, (void *)word, shared ? FUTEX_WAKE : FUTEX_WAKE_PRIVATE,
            count, NULL, NULL, 0);
}

size_t soa__page_size(void)
{
    long page = sysconf(_SC_PAGESIZE);
    return page > 0 ? (size_t)page : 4096u;
}
