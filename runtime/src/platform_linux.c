/*
 * platform_linux.c: platform.h on Linux (glibc): clock_gettime,
 * nanosleep, the futex system call, mmap, and sealed memfds.
 */
#define _GNU_SOURCE
#include "platform.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/stat.h>
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

/* ---- mappings ------------------------------------------------------ */

size_t soa__page_size(void)
{
    long page = sysconf(_SC_PAGESIZE);
    return page > 0 ? (size_t)page : 4096u;
}

long soa__process_id(void)
{
    return (long)getpid();
}

void *soa__map_private(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void soa__unmap(void *p, size_t size)
{
    if (p)
        munmap(p, size);
}

/*
 * What makes a memfd read-only for everyone but the mapping its creator
 * made before sealing: FUTURE_WRITE refuses write(2), new writable shared
 * mappings, mprotect to writable of read-only ones and hole punching (it
 * applies to the inode, so reopening /proc/PID/fd/N read-write does not
 * escape it); SHRINK and GROW fix the size; SEAL fixes the seals.
 */
#define SEALS_READONLY \
    (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE | F_SEAL_SEAL)

/* The order matters: the writable mapping must exist before FUTURE_WRITE
 * (which then refuses new ones), and DONTFORK before anyone can fork. */
void *soa__shm_create_sealed(size_t size, int *fd)
{
    int m = memfd_create("soa-region", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (m < 0)
        return NULL;
    void *map = MAP_FAILED;
    int err = 0;
    if (ftruncate(m, (off_t)size) != 0)
        err = errno == EFBIG ? ENOMEM : errno;
    else if ((map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, m,
                         0)) == MAP_FAILED)
        err = errno;
    else if (madvise(map, size, MADV_DONTFORK) != 0 ||
             fcntl(m, F_ADD_SEALS, SEALS_READONLY) != 0)
        err = ENOSYS; /* a kernel without FUTURE_WRITE (before 5.1) */
    if (err == 0) {
        *fd = m;
        return map;
    }
    if (map != MAP_FAILED)
        munmap(map, size);
    close(m);
    errno = err;
    return NULL;
}

void *soa__shm_map_sealed(int fd, size_t *size)
{
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        errno = EBADF;
        return NULL;
    }
    /* Only shmem files take seals: a file on disk, a pipe or a socket
     * fails here. */
    int seals = S_ISREG(st.st_mode) ? fcntl(fd, F_GET_SEALS) : -1;
    if (seals < 0 || (seals & SEALS_READONLY) != SEALS_READONLY ||
        st.st_size <= 0 || (uint64_t)st.st_size > (uint64_t)PTRDIFF_MAX) {
        errno = EINVAL;
        return NULL;
    }
    /* Sealed against shrinking: every byte of the mapping stays backed. */
    void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED)
        return NULL;
    *size = (size_t)st.st_size;
    return map;
}
