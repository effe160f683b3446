/*
 * test_region.c: shared regions and their allocator.  What a user would
 * notice: memory comes back after a free, alignments hold, blocks never
 * overlap (under threads too), exhaustion is an error the region recovers
 * from, and a worker process that attaches sees the creator's bytes and
 * can change none of them, whatever it tries.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "soa/alloc.h"
#include "soa/region.h"

#define MiB ((size_t)1 << 20)

/* Every test needs memfds and shared mappings. */
#define REQUIRE_SHM()                \
    do {                             \
        (void)state;                 \
        if (!soa_shm_available())    \
            skip();                  \
    } while (0)

static bool aligned(const void *p, size_t a)
{
    return ((uintptr_t)p & (a - 1u)) == 0;
}

static void *ralloc(soa_region *r, size_t bytes, size_t align)
{
    soa_alloc *a = soa_region_allocator(r);
    return a->alloc(a, bytes, align);
}

static void rfree(soa_region *r, void *p, size_t bytes)
{
    soa_alloc *a = soa_region_allocator(r);
    a->free(a, p, bytes);
}

/* Waits for a child: its exit status, or 1000 + the signal that killed
 * it. */
static int child_status(pid_t pid)
{
    int st;
    if (waitpid(pid, &st, 0) != pid)
        return -1;
    if (WIFSIGNALED(st))
        return 1000 + WTERMSIG(st);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* In a child about to die of `sig` on purpose: no handler of cmocka's or
 * a sanitizer's gets in the way, and no report clutters the log. */
static void die_quietly_of(int sig)
{
    signal(sig, SIG_DFL);
    int null = open("/dev/null", O_WRONLY);
    if (null >= 0)
        dup2(null, STDERR_FILENO);
}

/* A small fast generator, fixed seeds: the same run every time. */
static uint64_t next_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* ---- creating ------------------------------------------------------- */

static void test_create_rounds_and_refuses(void **state)
{
    REQUIRE_SHM();
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    soa_region *r = soa_region_create(1);
    assert_non_null(r);
    assert_int_equal(soa_region_capacity(r), page);
    assert_int_equal(soa_region_used(r), 0);
    assert_true(fcntl(soa_region_fd(r), F_GETFD) & FD_CLOEXEC);
    soa_region_destroy(r);

    r = soa_region_create(0);
    assert_non_null(r);
    assert_int_equal(soa_region_capacity(r), SOA_REGION_DEFAULT_BYTES);
    soa_region_destroy(r);

    errno = 0;
    assert_null(soa_region_create(SIZE_MAX));
    assert_int_equal(errno, EINVAL);
    errno = 0;
    assert_null(soa_region_create((size_t)PTRDIFF_MAX + 1u));
    assert_int_equal(errno, EINVAL);

    soa_region_destroy(NULL);
    assert_int_equal(soa_region_fd(NULL), -1);
    assert_int_equal(soa_region_capacity(NULL), 0);
    assert_int_equal(soa_region_used(NULL), 0);
}

/* A default region reserves 64 GiB of address space but costs only the
 * pages that are touched. */
static void test_only_touched_pages_cost(void **state)
{
    REQUIRE_SHM();
    soa_region *r = soa_region_create(0);
    assert_non_null(r);
    struct stat st;
    assert_int_equal(fstat(soa_region_fd(r), &st), 0);
    assert_int_equal(st.st_size, (off_t)soa_region_capacity(r));
    assert_true((size_t)st.st_blocks * 512u < MiB);
    unsigned char *p = ralloc(r, 8 * MiB, 64);
    assert_non_null(p);
    memset(p, 1, 8 * MiB);
    assert_int_equal(fstat(soa_region_fd(r), &st), 0);
    assert_true((size_t)st.st_blocks * 512u >= 8 * MiB);
    assert_true((size_t)st.st_blocks * 512u < 16 * MiB);
    soa_region_destroy(r);
}

/* ---- allocating ------------------------------------------------------ */

/* A freed block is what the next alloc of its size gets: `used` stays. */
static void test_free_then_alloc_reuses(void **state)
{
    REQUIRE_SHM();
    soa_region *r = soa_region_create(64 * MiB);
    assert_non_null(r);
    static const size_t sizes[] = {0, 1, 64, 100, 4096, 5000, 65536, MiB};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        unsigned char *p = ralloc(r, sizes[k], 64);
        assert_non_null(p);
        memset(p, 0xab, sizes[k]);
        size_t used = soa_region_used(r);
        rfree(r, p, sizes[k]);
        assert_ptr_equal(ralloc(r, sizes[k], 64), p);
        assert_int_equal(soa_region_used(r), used);
        rfree(r, p, sizes[k]);
    }
    /* Many at once, all freed, all taken again: no fresh space. */
    void *ps[200];
    for (int i = 0; i < 200; i++)
        assert_non_null(ps[i] = ralloc(r, 48, 16));
    size_t used = soa_region_used(r);
    for (int i = 0; i < 200; i++)
        rfree(r, ps[i], 48);
    for (int i = 0; i < 200; i++)
        assert_non_null(ps[i] = ralloc(r, 48, 16));
    assert_int_equal(soa_region_used(r), used);
    rfree(r, NULL, 48); /* no-op */
    soa_region_destroy(r);
}

static void test_alignment(void **state)
{
    REQUIRE_SHM();
    soa_region *r = soa_region_create(64 * MiB);
    assert_non_null(r);
    static const size_t sizes[] = {0, 1, 63, 64, 65, 1000, 5000, 70000};
    for (size_t align = 1; align <= SOA_REGION_MAX_ALIGN; align *= 2) {
        size_t want = align < 64 ? 64 : align;
        for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
            unsigned char *p = ralloc(r, sizes[k], align);
            assert_non_null(p);
            assert_true(aligned(p, want));
            /* The offset too: the alignment holds in every process. */
            assert_int_equal(soa_region_offset(r, p) % want, 0);
            memset(p, 0x5a, sizes[k]);
            /* free is told the size only, not the alignment. */
            rfree(r, p, sizes[k]);
            assert_ptr_equal(ralloc(r, sizes[k], align), p);
        }
    }
    size_t used = soa_region_used(r);
    static const size_t bad[] = {0, 3, 96, 2 * SOA_REGION_MAX_ALIGN};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        errno = 0;
        assert_null(ralloc(r, 64, bad[k]));
        assert_int_equal(errno, EINVAL);
    }
    assert_int_equal(soa_region_used(r), used); /* nothing taken */
    soa_region_destroy(r);
}

/* The space an aligned block skips serves smaller blocks later. */
static void test_alignment_gaps_are_reused(void **state)
{
    REQUIRE_SHM();
    soa_region *r = soa_region_create(MiB);
    assert_non_null(r);
    unsigned char *first = ralloc(r, 64, 64);
    assert_non_null(first);
    assert_non_null(ralloc(r, 4096, 4096)); /* skips 4096 - 64 bytes */
    size_t used = soa_region_used(r);
    assert_int_equal(used, 8192);
    for (int i = 1; i < 64; i++) {
        unsigned char *p = ralloc(r, 64, 64);
        assert_true(p > first && p < first + 4096);
    }
    assert_int_equal(soa_region_used(r), used);
    soa_region_destroy(r);
}

/* A model test: random sizes and alignments, interleaved with frees.  Each
 * live block holds its own pattern, checked when it is freed: overlapping
 * blocks would overwrite each other.  And the memory handed out stays
 * within a bound of the most that was live at once. */
#define SLOTS 512
typedef struct {
    unsigned char *p;
    size_t bytes;
    unsigned char tag;
} slot;

static void fill(slot *s, unsigned char tag)
{
    s->tag = tag;
    memset(s->p, tag, s->bytes);
}

static bool intact(const slot *s)
{
    for (size_t i = 0; i < s->bytes; i++)
        if (s->p[i] != s->tag)
            return false;
    return true;
}

/* A size from 1 byte to 64 KiB, log-uniform: small ones common. */
static size_t random_size(uint64_t *seed)
{
    unsigned bits = (unsigned)(next_rand(seed) % 17u);
    return 1u + (size_t)(next_rand(seed) & (((uint64_t)1 << bits) - 1u));
}

static void test_interleaved_sizes_stay_bounded(void **state)
{
    REQUIRE_SHM();
    soa_region *r = soa_region_create(256 * MiB);
    assert_non_null(r);
    static slot slots[SLOTS];
    memset(slots, 0, sizeof slots);
    uint64_t seed = 0x9e3779b97f4a7c15u;
    size_t live = 0, peak = 0;
    for (int step = 0; step < 200000; step++) {
        slot *s = &slots[next_rand(&seed) % SLOTS];
        if (s->p) {
            assert_true(intact(s));
            rfree(r, s->p, s->bytes);
            live -= s->bytes;
            s->p = NULL;
            continue;
        }
        size_t align = (size_t)1 << (next_rand(&seed) % 13u);
        s->bytes = random_size(&seed);
        s->p = ralloc(r, s->bytes, align);
        assert_non_null(s->p);
        assert_true(aligned(s->p, align));
        fill(s, (unsigned char)step);
        live += s->bytes;
        peak = live > peak ? live : peak;
    }
    /* Powers of two at most double a block; blocks are never merged, so
     * each size keeps the most it ever had live.  Measured: 1.74x. */
    size_t used = soa_region_used(r);
    assert_true(used <= 3 * peak);
    for (int i = 0; i < SLOTS; i++)
        if (slots[i].p) {
            assert_true(intact(&slots[i]));
            rfree(r, slots[i].p, slots[i].bytes);
        }
    soa_region_destroy(r);
}

static int by_address(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)*(void *const *)a, y = (uintptr_t)*(void *const *)b;
    return (x > y) - (x < y);
}

/* When the capacity is used up, alloc fails with ENOMEM and takes
 * nothing; freed blocks serve again, split for smaller ones. */
static void test_exhaustion_and_recovery(void **state)
{
    REQUIRE_SHM();
    soa_region *r = soa_region_create(MiB);
    assert_non_null(r);
    assert_int_equal(soa_region_capacity(r), MiB);
    void *big[16];
    for (int i = 0; i < 16; i++)
        assert_non_null(big[i] = ralloc(r, 65536, 64));
    assert_int_equal(soa_region_used(r), MiB);
    errno = 0;
    assert_null(ralloc(r, 65536, 64));
    assert_int_equal(errno, ENOMEM);
    errno = 0;
    assert_null(ralloc(r, 64, 64));
    assert_int_equal(errno, ENOMEM);
    errno = 0;
    assert_null(ralloc(r, 2 * MiB, 64)); /* more than the capacity */
    assert_int_equal(errno, ENOMEM);
    errno = 0;
    assert_null(ralloc(r, SIZE_MAX, 64)); /* no power of two that big */
    assert_int_equal(errno, ENOMEM);

    rfree(r, big[3], 65536);
    assert_ptr_equal(ralloc(r, 65536, 64), big[3]);
    rfree(r, big[3], 65536);
    /* One free 64 KiB block holds 1024 blocks of 64 bytes: exactly. */
    static void *small[1024];
    for (int i = 0; i < 1024; i++)
        assert_non_null(small[i] = ralloc(r, 64, 64));
    static void *sorted[1024];
    memcpy(sorted, small, sizeof small);
    qsort(sorted, 1024, sizeof sorted[0], by_address);
    for (int i = 0; i < 1024; i++)
        assert_ptr_equal(sorted[i], (unsigned char *)big[3] + 64 * i);
    errno = 0;
    assert_null(ralloc(r, 64, 64));
    assert_int_equal(errno, ENOMEM);
    assert_int_equal(soa_region_used(r), MiB);
    rfree(r, small[500], 64);
    assert_ptr_equal(ralloc(r, 1, 1), small[500]);
    soa_region_destroy(r);
}

static void test_offsets(void **state)
{
    REQUIRE_SHM();
    soa_region *r = soa_region_create(MiB);
    assert_non_null(r);
    unsigned char *a = ralloc(r, 100, 64), *b = ralloc(r, 5000, 4096);
    assert_non_null(a);
    assert_non_null(b);
    assert_ptr_equal(soa_region_ptr(r, soa_region_offset(r, a)), a);
    assert_ptr_equal(soa_region_ptr(r, soa_region_offset(r, b)), b);
    assert_ptr_equal(soa_region_ptr(r, soa_region_offset(r, b + 7)), b + 7);
    unsigned char *base = soa_region_ptr(r, 0);
    assert_ptr_equal(soa_region_ptr(r, MiB), base + MiB); /* one past */
    assert_null(soa_region_ptr(r, MiB + 1));
    assert_int_equal(soa_region_offset(r, base + MiB), MiB);
    assert_int_equal(soa_region_offset(r, base + MiB + 1), SOA_ARENA_BAD_OFFSET);
    int local;
    assert_int_equal(soa_region_offset(r, &local), SOA_ARENA_BAD_OFFSET);
    assert_int_equal(soa_region_offset(r, NULL), SOA_ARENA_BAD_OFFSET);
    assert_int_equal(soa_region_offset(NULL, a), SOA_ARENA_BAD_OFFSET);
    assert_null(soa_region_ptr(NULL, 0));
    soa_region_destroy(r);
}

static void test_region_of(void **state)
{
    REQUIRE_SHM();
    soa_region *r = soa_region_create(MiB);
    assert_non_null(r);
    assert_ptr_equal(soa_region_of(soa_region_allocator(r)), r);
    assert_null(soa_region_of(soa_alloc_heap()));
    assert_null(soa_region_of(NULL));
    assert_null(soa_region_allocator(NULL));
    soa_arena *ar = soa_arena_create(4096, SOA_ARENA_NAMED);
    assert_non_null(ar);
    assert_null(soa_region_of(soa_arena_allocator(ar)));
    soa_arena_destroy(ar);
    soa_region *rd = soa_region_attach_readonly(soa_region_fd(r));
    assert_non_null(rd);
    assert_ptr_equal(soa_region_of(soa_region_allocator(rd)), rd);
    soa_region_destroy(rd);
    soa_region_destroy(r);
}

/* Four threads allocate and free at once, each checking its own blocks. */
#define THREADS 4
#define THREAD_SLOTS 64

typedef struct {
    soa_region *r;
    uint64_t seed;
    int bad; /* blocks found overwritten or misaligned, or failed allocs */
} worker_arg;

static void *alloc_worker(void *argp)
{
    worker_arg *w = argp;
    slot s[THREAD_SLOTS];
    memset(s, 0, sizeof s);
    for (int step = 0; step < 20000; step++) {
        slot *x = &s[next_rand(&w->seed) % THREAD_SLOTS];
        if (x->p) {
            w->bad += !intact(x);
            rfree(w->r, x->p, x->bytes);
            x->p = NULL;
            continue;
        }
        x->bytes = 1u + (size_t)(next_rand(&w->seed) % 3000u);
        x->p = ralloc(w->r, x->bytes, 64);
        if (!x->p || !aligned(x->p, 64)) {
            w->bad++;
            x->p = NULL;
            continue;
        }
        fill(x, (unsigned char)(step ^ (int)(w->seed & 0xff)));
    }
    for (int i = 0; i < THREAD_SLOTS; i++)
        if (s[i].p) {
            w->bad += !intact(&s[i]);
            rfree(w->r, s[i].p, s[i].bytes);
        }
    return NULL;
}

static void test_threads_alloc_and_free_at_once(void **state)
{
    REQUIRE_SHM();
    soa_region *r = soa_region_create(64 * MiB);
    assert_non_null(r);
    pthread_t th[THREADS];
    worker_arg w[THREADS];
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < THREADS; i++) {
            w[i] = (worker_arg){r, 0x1234567u * (uint64_t)(i + 1), 0};
            assert_int_equal(pthread_create(&th[i], NULL, alloc_worker, &w[i]),
                             0);
        }
        for (int i = 0; i < THREADS; i++) {
            pthread_join(th[i], NULL);
            assert_int_equal(w[i].bad, 0);
        }
    }
    /* At most 4 x 64 blocks of at most 4 KiB were live at once. */
    assert_true(soa_region_used(r) <= 16 * THREADS * THREAD_SLOTS * 4096u);
    soa_region_destroy(r);
}

/* ---- readers in other processes ------------------------------------- */

#define PATTERN 0x5a
#define LATER 0xc3
#define SHARE_LEN 4096u

/* A region with SHARE_LEN bytes of PATTERN in a block that is not at
 * offset 0; the block's offset. */
static size_t region_with_data(soa_region **out)
{
    soa_region *r = soa_region_create(16 * MiB);
    assert_non_null(r);
    assert_non_null(ralloc(r, 100, 64));
    unsigned char *p = ralloc(r, SHARE_LEN, 64);
    assert_non_null(p);
    memset(p, PATTERN, SHARE_LEN);
    *out = r;
    return soa_region_offset(r, p);
}

static bool all_bytes(const unsigned char *p, size_t n, unsigned char v)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != v)
            return false;
    return true;
}

/* The child: attach, check the parent's bytes, say so, wait for the
 * parent's next write and see it in the same pages.  0, or the step that
 * failed. */
static int reader_sees_writes(int fd, size_t off, int ready, int go)
{
    soa_region *rd = soa_region_attach_readonly(fd);
    if (!rd)
        return 10;
    if (soa_region_fd(rd) != -1 || soa_region_used(rd) != 0 ||
        soa_region_capacity(rd) != 16 * MiB ||
        off + SHARE_LEN > soa_region_capacity(rd))
        return 11;
    const unsigned char *p = soa_region_ptr(rd, off);
    if (!all_bytes(p, SHARE_LEN, PATTERN))
        return 12;
    char c = 'r';
    if (write(ready, &c, 1) != 1 || read(go, &c, 1) != 1)
        return 13;
    if (!all_bytes(p, SHARE_LEN, LATER))
        return 14;
    soa_region_destroy(rd);
    return 0;
}

static void test_reader_sees_creator_writes(void **state)
{
    REQUIRE_SHM();
    soa_region *r;
    size_t off = region_with_data(&r);
    int ready[2], go[2];
    assert_int_equal(pipe(ready), 0);
    assert_int_equal(pipe(go), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(reader_sees_writes(soa_region_fd(r), off, ready[1], go[0]));
    char c;
    assert_int_equal(read(ready[0], &c, 1), 1);
    memset(soa_region_ptr(r, off), LATER, SHARE_LEN);
    assert_int_equal(write(go[1], &c, 1), 1);
    assert_int_equal(child_status(pid), 0);
    for (int i = 0; i < 2; i++) {
        close(ready[i]);
        close(go[i]);
    }
    soa_region_destroy(r);
}

/* The child: every way to write the region through the fd or the mapping
 * fails with the errno the kernel gives.  0, or the step that failed. */
static int reader_cannot_write(int fd, size_t off)
{
    soa_region *rd = soa_region_attach_readonly(fd);
    if (!rd)
        return 20;
    soa_alloc *a = soa_region_allocator(rd);
    errno = 0;
    if (a->alloc(a, 64, 64) != NULL || errno != EPERM)
        return 21;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    unsigned char *p = soa_region_ptr(rd, off & ~(page - 1u));
    errno = 0;
    if (mprotect(p, page, PROT_READ | PROT_WRITE) != -1 || errno != EACCES)
        return 22;
    errno = 0;
    if (mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) !=
            MAP_FAILED || errno != EPERM)
        return 23;
    errno = 0;
    if (pwrite(fd, "x", 1, (off_t)off) != -1 || errno != EPERM)
        return 24;
    errno = 0;
    if (ftruncate(fd, 0) != -1 || errno != EPERM)
        return 25;
    errno = 0;
    if (ftruncate(fd, (off_t)(32 * MiB)) != -1 || errno != EPERM)
        return 26;
    errno = 0; /* a hole would read as zeros: a write by another name */
    if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                  (off_t)(off & ~(page - 1u)), (off_t)page) != -1 ||
        errno != EPERM)
        return 27;
    errno = 0;
    if (fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE) != -1 || errno != EPERM)
        return 28;
    /* A fresh read-write open of the same memfd: the seals are the
     * inode's, so it cannot write either. */
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    int rw = open(path, O_RDWR);
    if (rw >= 0) {
        errno = 0;
        if (write(rw, "x", 1) != -1 || errno != EPERM)
            return 29;
        errno = 0;
        if (mmap(NULL, page, PROT_WRITE, MAP_SHARED, rw, 0) != MAP_FAILED ||
            errno != EPERM)
            return 30;
        close(rw);
    }
    soa_region_destroy(rd);
    return 0;
}

static void test_reader_cannot_write(void **state)
{
    REQUIRE_SHM();
    soa_region *r;
    size_t off = region_with_data(&r);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(reader_cannot_write(soa_region_fd(r), off));
    assert_int_equal(child_status(pid), 0);
    assert_true(all_bytes(soa_region_ptr(r, off), SHARE_LEN, PATTERN));
    assert_int_equal(lseek(soa_region_fd(r), 0, SEEK_END),
                     (off_t)soa_region_capacity(r));
    /* The creator is held to the same rules, but for its own mapping. */
    errno = 0;
    assert_int_equal(write(soa_region_fd(r), "x", 1), -1);
    assert_int_equal(errno, EPERM);
    soa_region_destroy(r);
}

/* Writing through the read-only mapping, or through the creator's
 * addresses (not inherited), kills the child with SIGSEGV. */
static void test_reader_write_faults(void **state)
{
    REQUIRE_SHM();
    soa_region *r;
    size_t off = region_with_data(&r);
    for (int k = 0; k < 2; k++) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            soa_region *rd = r;
            if (k == 0 && !(rd = soa_region_attach_readonly(soa_region_fd(r))))
                _exit(40);
            volatile unsigned char *p = soa_region_ptr(rd, off);
            die_quietly_of(SIGSEGV);
            p[0] = 1;
            _exit(41);
        }
        assert_int_equal(child_status(pid), 1000 + SIGSEGV);
    }
    assert_true(all_bytes(soa_region_ptr(r, off), SHARE_LEN, PATTERN));
    soa_region_destroy(r);
}

/* A fork child that destroys its copy of the creator's region (as generic
 * cleanup would) leaves its own reader's mapping alone, even where the
 * kernel put it at the creator's old addresses. */
static void test_child_destroying_creator_copy(void **state)
{
    REQUIRE_SHM();
    soa_region *r;
    size_t off = region_with_data(&r);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        soa_region *rd = soa_region_attach_readonly(soa_region_fd(r));
        if (!rd)
            _exit(50);
        soa_region_destroy(r);
        _exit(all_bytes(soa_region_ptr(rd, off), SHARE_LEN, PATTERN) ? 0 : 51);
    }
    assert_int_equal(child_status(pid), 0);
    soa_region_destroy(r);
}

static void expect_attach_fails(int fd, int err)
{
    errno = 0;
    soa_region *r = soa_region_attach_readonly(fd);
    if (r) {
        soa_region_destroy(r);
        fail_msg("attach of fd %d succeeded", fd);
    }
    assert_int_equal(errno, err);
}

static int memfd_sealed(size_t size, int seals)
{
    int fd = memfd_create("test", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)size), 0);
    if (seals)
        assert_int_equal(fcntl(fd, F_ADD_SEALS, seals), 0);
    return fd;
}

static void test_attach_refuses_what_is_not_a_region(void **state)
{
    REQUIRE_SHM();
    expect_attach_fails(-1, EBADF);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    close(fds[1]);
    expect_attach_fails(fds[1], EBADF); /* closed */
    expect_attach_fails(fds[0], EINVAL);
    close(fds[0]);

    FILE *f = tmpfile();
    assert_non_null(f);
    assert_int_equal(ftruncate(fileno(f), 65536), 0);
    expect_attach_fails(fileno(f), EINVAL);
    fclose(f);

    const int all = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE |
                    F_SEAL_SEAL;
    static const int partial[] = {
        0,                                         /* a plain memfd */
        F_SEAL_SHRINK | F_SEAL_SEAL,               /* an arena's */
        F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL, /* writable */
        F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE, /* reseal */
    };
    for (size_t k = 0; k < sizeof partial / sizeof partial[0]; k++) {
        int fd = memfd_sealed(65536, partial[k]);
        expect_attach_fails(fd, EINVAL);
        close(fd);
    }
    int fd = memfd_sealed(0, all); /* empty */
    expect_attach_fails(fd, EINVAL);
    close(fd);
}

#ifndef NDEBUG
/* The child: a region of its own (the parent's is not mapped in a fork
 * child), a block taken with a large alignment and freed with its plain
 * size (fine), then a bad free of kind k, which must abort. */
static void bad_free(int k)
{
    soa_region *r = soa_region_create(MiB);
    if (!r)
        _exit(60);
    unsigned char *p = ralloc(r, 64, 4096);
    rfree(r, p, 64);
    if (ralloc(r, 64, 4096) != p)
        _exit(61);
    die_quietly_of(SIGABRT);
    if (k == 0) {
        rfree(r, p, 8192); /* the block holds 4096 */
    } else if (k == 1) {
        rfree(r, p + 64, 64); /* inside the block */
    } else {
        rfree(r, p, 64);
        rfree(r, p, 64); /* twice */
    }
    _exit(62);
}

/* A double free, or a free of what is not a block of that size, stops the
 * program rather than corrupting the free lists. */
static void test_bad_free_is_caught(void **state)
{
    REQUIRE_SHM();
    for (int k = 0; k < 3; k++) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0)
            bad_free(k);
        assert_int_equal(child_status(pid), 1000 + SIGABRT);
    }
}
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_rounds_and_refuses),
        cmocka_unit_test(test_only_touched_pages_cost),
        cmocka_unit_test(test_free_then_alloc_reuses),
        cmocka_unit_test(test_alignment),
        cmocka_unit_test(test_alignment_gaps_are_reused),
        cmocka_unit_test(test_interleaved_sizes_stay_bounded),
        cmocka_unit_test(test_exhaustion_and_recovery),
        cmocka_unit_test(test_offsets),
        cmocka_unit_test(test_region_of),
        cmocka_unit_test(test_threads_alloc_and_free_at_once),
        cmocka_unit_test(test_reader_sees_creator_writes),
        cmocka_unit_test(test_reader_cannot_write),
        cmocka_unit_test(test_reader_write_faults),
        cmocka_unit_test(test_child_destroying_creator_copy),
        cmocka_unit_test(test_attach_refuses_what_is_not_a_region),
#ifndef NDEBUG
        cmocka_unit_test(test_bad_free_is_caught),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
