/*
 * platform_linux.c: platform.h on Linux (glibc): clock_gettime,
 * nanosleep, the futex system call, CPU affinity, mmap, sealed memfds,
 * fork/exec/waitpid/kill.
 */
#define _GNU_SOURCE
#include "platform.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
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

/* ---- CPUs ---------------------------------------------------------- */

unsigned soa__cpu_count(void)
{
    long c = sysconf(_SC_NPROCESSORS_ONLN);
    return c > 0 ? (c > 65536 ? 65536u : (unsigned)c) : 1u;
}

void soa__pin_thread(pthread_t thread, unsigned index, unsigned nthreads)
{
    cpu_set_t allowed, one;
    if (sched_getaffinity(0, sizeof allowed, &allowed) != 0 ||
        (int)nthreads > CPU_COUNT(&allowed))
        return;
    unsigned seen = 0;
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
        if (!CPU_ISSET(cpu, &allowed) || seen++ != index)
            continue;
        CPU_ZERO(&one);
        CPU_SET(cpu, &one);
        /* A refused pin leaves the thread unpinned. */
        (void)pthread_setaffinity_np(thread, sizeof one, &one);
        return;
    }
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

/* ---- named shared memory (arenas) ---------------------------------- */

/* What keeps a named arena's memfd from being truncated under a peer's
 * mapping (SIGBUS) or having its seals changed. */
#define SEALS_NAMED (F_SEAL_SHRINK | F_SEAL_SEAL)

/* A memfd of `size` bytes sealed with `seals`, or -1 with errno. */
static int sealed_memfd(size_t size, int seals)
{
    int fd = memfd_create("soa-arena", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0)
        return -1;
    if (ftruncate(fd, (off_t)size) != 0 ||
        fcntl(fd, F_ADD_SEALS, seals) != 0) {
        int err = errno;
        close(fd);
        errno = err == EFBIG ? ENOMEM : err;
        return -1;
    }
    return fd;
}

bool soa__shm_probe(void)
{
    size_t len = soa__page_size();
    void *anon = soa__map_shared(len);
    if (!anon)
        return false;
    munmap(anon, len);
    int fd;
    void *m = soa__shm_create_named(len, &fd);
    if (!m)
        return false;
    munmap(m, len);
    close(fd);
    return true;
}

void *soa__map_shared(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void *soa__shm_create_named(size_t size, int *fd)
{
    int m = sealed_memfd(size, SEALS_NAMED);
    if (m < 0)
        return NULL;
    void *map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, m, 0);
    if (map == MAP_FAILED) {
        int err = errno;
        close(m);
        errno = err;
        return NULL;
    }
    *fd = m;
    return map;
}

void *soa__shm_map_named(int fd, size_t min, size_t *size)
{
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        errno = EBADF;
        return NULL;
    }
    /* Only memfds (and other shmem files) take seals: a regular file on
     * disk, a pipe or a socket fails here. */
    int seals = S_ISREG(st.st_mode) ? fcntl(fd, F_GET_SEALS) : -1;
    if (seals < 0 || (seals & SEALS_NAMED) != SEALS_NAMED ||
        st.st_size < 0 || (uint64_t)st.st_size < (uint64_t)min ||
        (uint64_t)st.st_size > (uint64_t)PTRDIFF_MAX) {
        errno = EINVAL;
        return NULL;
    }
    /* Sealed against shrinking, so all of it stays backed. */
    void *map = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE,
                     MAP_SHARED, fd, 0);
    if (map == MAP_FAILED)
        return NULL;
    *size = (size_t)st.st_size;
    return map;
}

int soa__fd_dup(int fd)
{
    return fcntl(fd, F_DUPFD_CLOEXEC, 0);
}

void soa__fd_close(int fd)
{
    if (fd >= 0)
        close(fd);
}

/* ---- processes ----------------------------------------------------- */

long soa__fork(void)
{
    return (long)fork();
}

bool soa__child_setup(long parent)
{
    /* Die with the parent; and if it already died, say so. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if ((long)getppid() != parent)
        return false;
    static const int fatal[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT,
                                SIGTRAP, SIGSYS};
    for (size_t i = 0; i < sizeof fatal / sizeof fatal[0]; i++)
        signal(fatal[i], SIG_DFL);
    return true;
}

int soa__fd_inherit(int fd)
{
    int fl = fcntl(fd, F_GETFD);
    return fl < 0 || fcntl(fd, F_SETFD, fl & ~FD_CLOEXEC) != 0 ? -1 : 0;
}

void soa__exec(char **argv)
{
    execv(argv[0], argv);
}

/* A waitpid that cannot see the child (SIGCHLD ignored) falls back to
 * kill(pid, 0). */
int soa__process_poll(long pid, int *code)
{
    int st = 0;
    pid_t r = waitpid((pid_t)pid, &st, WNOHANG);
    if (r == 0 || (r < 0 && (errno != ECHILD || kill((pid_t)pid, 0) == 0)))
        return SOA__PROC_RUNNING;
    if (r > 0 && WIFSIGNALED(st)) {
        *code = WTERMSIG(st);
        return SOA__PROC_SIGNALED;
    }
    if (r > 0 && WIFEXITED(st)) {
        *code = WEXITSTATUS(st);
        return SOA__PROC_EXITED;
    }
    return SOA__PROC_GONE;
}

void soa__process_kill(long pid)
{
    kill((pid_t)pid, SIGKILL);
    while (waitpid((pid_t)pid, NULL, 0) < 0 && errno == EINTR)
        ;
}
