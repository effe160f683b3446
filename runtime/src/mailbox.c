/*
 * mailbox.c: SPSC message rings in shared memory, futex wait/wake.
 *
 * Shared layout of a ring (all offsets fixed, no pointers):
 *
 *   line 0  magic, version, capacity              written once by init
 *   line 1  head (messages published), head_wake, prod_sleeping
 *                                                 written by the producer
 *   line 2  tail (messages consumed), tail_wake, cons_sleeping
 *                                                 written by the consumer
 *   line 3+ capacity slots of 64 bytes
 *
 * head and tail are 64-bit counters; message seq = its position + 1.
 * head_wake/tail_wake are the low 32 bits of head/tail, the futex words
 * (a futex is 32 bits).
 *
 * Memory-order pairs:
 *   - producer: slot write, then head store (release) ... consumer: head
 *     load (acquire), then slot read.  The message is complete when seen.
 *   - consumer: slot read, then tail store (release) ... producer: tail
 *     load (acquire), then slot overwrite.  A slot is reused only after it
 *     was read.
 *   - sleeping: the waiter stores X_sleeping = 1, seq_cst fence, re-reads
 *     the counter; the waker stores the counter, seq_cst fence, reads
 *     X_sleeping.  (Dekker: at least one side sees the other.)  If the
 *     waiter missed the new counter the waker saw the flag and wakes it;
 *     FUTEX_WAIT compares the wake word atomically with the sleep, so a
 *     wake between the re-read and the sleep is not lost.
 */
#define _GNU_SOURCE
#include "soa/mailbox.h"
#include "platform.h"

#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>

#define RING_MAGIC UINT64_C(0x31474e4952414f53) /* "SOARING1" */
#define RING_VERSION 1u
#define MBOX_MAGIC UINT64_C(0x31584f424d414f53) /* "SOAMBOX1" */
#define MBOX_VERSION 1u
#define LINE 64u
#define MAX_CAPACITY (1u << 24)
/* The adaptive poll never drops below this (unless spin_ns is lower). */
#define SPIN_FLOOR_NS INT64_C(1000)


struct soa_ring_shm {
    uint64_t magic;
    uint32_t version;
    uint32_t capacity;
    char pad0[LINE - 16];
    _Atomic uint64_t head;
    _Atomic uint32_t head_wake;
    _Atomic uint32_t prod_sleeping;
    char pad1[LINE - 16];
    _Atomic uint64_t tail;
    _Atomic uint32_t tail_wake;
    _Atomic uint32_t cons_sleeping;
    char pad2[LINE - 16];
};

_Static_assert(sizeof(soa_msg) == LINE, "a message is one cache line");
_Static_assert(sizeof(struct soa_ring_shm) == 3 * LINE, "ring header");
_Static_assert(sizeof(_Atomic uint32_t) == 4, "futex words are 32 bits");

struct soa_mailbox_shm {
    uint64_t magic;
    uint32_t version;
    uint32_t capacity;
    uint64_t ring_bytes;
    char pad0[LINE - 24];
    _Atomic uint64_t progress;
    char pad1[LINE - 8];
};

_Static_assert(sizeof(struct soa_mailbox_shm) == 2 * LINE, "mailbox header");

/* ---- waiting ------------------------------------------------------------ */

/*
 * Waits until *counter != seen: polls for r's adaptive budget, then sleeps
 * on `wake` (the counter's low 32 bits) with `sleeping` raised.  The futex
 * is not private: the word may be mapped by another process.  0 when it changed, -1
 * with errno EAGAIN (timeout 0) or ETIMEDOUT.  Reads the counter with
 * acquire ordering, pairing with the other side's release store.
 */
static int wait_change(soa_ring *r, _Atomic uint64_t *counter,
                       _Atomic uint32_t *wake, _Atomic uint32_t *sleeping,
                       uint64_t seen, int64_t timeout_ns)
{
    if (timeout_ns == 0) {
        errno = EAGAIN;
        return -1;
    }
    int64_t spin = r->spin_cur;
    int64_t start = soa__now_ns(), spin_end = start + spin;
    int64_t deadline = timeout_ns < 0 || timeout_ns > INT64_MAX - start
                           ? INT64_MAX : start + timeout_ns;
    for (unsigned i = 1; spin > 0; i++) {
        if (atomic_load_explicit(counter, memory_order_acquire) != seen) {
            r->spin_cur = spin > r->spin_ns / 2 ? r->spin_ns : spin * 2;
            return 0;
        }
        soa__cpu_relax();
        if (i % 16 == 0 && soa__now_ns() >= spin_end)
            break;
    }
    /* Slept (or will time out): poll less next time, but keep a little
     * so that fast replies on idle cores are noticed and the budget grows
     * back. */
    r->spin_cur = spin / 2 > SPIN_FLOOR_NS ? spin / 2 : SPIN_FLOOR_NS;
    if (r->spin_cur > r->spin_ns)
        r->spin_cur = r->spin_ns;
    for (;;) {
        atomic_store_explicit(sleeping, 1, memory_order_relaxed);
        atomic_thread_fence(memory_order_seq_cst);
        if (atomic_load_explicit(counter, memory_order_acquire) != seen)
            break;
        int64_t t = soa__now_ns();
        if (t >= deadline) {
            atomic_store_explicit(sleeping, 0, memory_order_relaxed);
            errno = ETIMEDOUT;
            return -1;
        }
        soa__futex_wait(wake, (uint32_t)seen,
                        deadline == INT64_MAX ? -1 : deadline - t, true);
    }
    atomic_store_explicit(sleeping, 0, memory_order_relaxed);
    return 0;
}

/* Publishes a new counter value and wakes the other side if it sleeps. */
static void publish(_Atomic uint64_t *counter, _Atomic uint32_t *wake,
                    _Atomic uint32_t *sleeping, uint64_t value)
{
    atomic_store_explicit(counter, value, memory_order_release);
    atomic_store_explicit(wake, (uint32_t)value, memory_order_release);
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(sleeping, memory_order_relaxed))
        soa__futex_wake(wake, 1, true);
}

/* ---- rings --------------------------------------------------------------- */

static bool capacity_ok(uint32_t capacity)
{
    return capacity >= 2 && capacity <= MAX_CAPACITY &&
           (capacity & (capacity - 1)) == 0;
}

size_t soa_ring_bytes(uint32_t capacity)
{
    if (!capacity_ok(capacity))
        return 0;
    return sizeof(struct soa_ring_shm) + (size_t)capacity * sizeof(soa_msg);
}

static bool aligned(const void *p)
{
    return ((uintptr_t)p & (LINE - 1)) == 0;
}

static void attach_local(soa_ring *r, struct soa_ring_shm *shm, uint32_t cap)
{
    r->shm = shm;
    r->slots = (soa_msg *)(void *)(shm + 1);
    r->mask = cap - 1;
    r->reserved = 0;
    /* Where the ring stands when this side joins; from here on each side
     * trusts only its own count. */
    r->head = atomic_load_explicit(&shm->head, memory_order_acquire);
    r->tail = atomic_load_explicit(&shm->tail, memory_order_acquire);
    r->spin_ns = r->spin_cur = SOA_RING_SPIN_NS;
}

/* Whether `ahead` - `behind` is a possible count of messages in flight. */
static bool in_flight_ok(const soa_ring *r, uint64_t ahead, uint64_t behind)
{
    return ahead - behind <= (uint64_t)r->mask + 1u; /* wraps when behind > ahead */
}

void soa_ring_set_spin(soa_ring *r, int64_t spin_ns)
{
    if (r)
        r->spin_ns = r->spin_cur = spin_ns < 0 ? 0 : spin_ns;
}

int soa_ring_init(soa_ring *r, void *mem, size_t bytes, uint32_t capacity)
{
    size_t need = soa_ring_bytes(capacity);
    if (!r || !mem || !aligned(mem) || need == 0 || bytes < need) {
        errno = EINVAL;
        return -1;
    }
    struct soa_ring_shm *shm = mem;
    memset(shm, 0, sizeof *shm);
    shm->version = RING_VERSION;
    shm->capacity = capacity;
    /* The magic last: a peer that sees it sees a formatted header. */
    atomic_thread_fence(memory_order_release);
    shm->magic = RING_MAGIC;
    attach_local(r, shm, capacity);
    return 0;
}

int soa_ring_open(soa_ring *r, void *mem, size_t bytes)
{
    if (!r || !mem || !aligned(mem) || bytes < sizeof(struct soa_ring_shm)) {
        errno = EINVAL;
        return -1;
    }
    struct soa_ring_shm *shm = mem;
    /* Copy once: the peer may change the shared header later, but our
     * bounds come from this validated copy. */
    uint32_t cap = shm->capacity;
    atomic_thread_fence(memory_order_acquire);
    if (shm->magic != RING_MAGIC || shm->version != RING_VERSION) {
        errno = EPROTO;
        return -1;
    }
    size_t need = soa_ring_bytes(cap);
    if (need == 0 || need > bytes) {
        errno = EMSGSIZE;
        return -1;
    }
    attach_local(r, shm, cap);
    return 0;
}

int soa_ring_send(soa_ring *r, soa_msg *m, int64_t timeout_ns)
{
    if (!r || !r->shm || !m) {
        errno = EINVAL;
        return -1;
    }
    struct soa_ring_shm *s = r->shm;
    uint64_t head = r->head; /* ours: never read back from shared memory */
    uint64_t tail = atomic_load_explicit(&s->tail, memory_order_acquire);
    for (;;) {
        if (!in_flight_ok(r, head, tail)) {
            errno = EPROTO; /* the consumer is ahead of us, or far behind */
            return -1;
        }
        if (head - tail <= r->mask)
            break;
        if (wait_change(r, &s->tail, &s->tail_wake, &s->prod_sleeping, tail,
                        timeout_ns) != 0)
            return -1;
        tail = atomic_load_explicit(&s->tail, memory_order_acquire);
    }
    m->seq = head + 1;
    r->slots[head & r->mask] = *m;
    r->head = head + 1;
    r->tail = tail;
    publish(&s->head, &s->head_wake, &s->cons_sleeping, head + 1);
    return 0;
}

int soa_ring_recv(soa_ring *r, soa_msg *out, int64_t timeout_ns)
{
    if (!r || !r->shm || !out) {
        errno = EINVAL;
        return -1;
    }
    struct soa_ring_shm *s = r->shm;
    uint64_t tail = r->tail; /* ours: never read back from shared memory */
    uint64_t head = atomic_load_explicit(&s->head, memory_order_acquire);
    if (head == tail) {
        if (wait_change(r, &s->head, &s->head_wake, &s->cons_sleeping, tail,
                        timeout_ns) != 0)
            return -1;
        head = atomic_load_explicit(&s->head, memory_order_acquire);
    }
    if (!in_flight_ok(r, head, tail)) {
        errno = EPROTO; /* more published than the ring holds, or less */
        return -1;
    }
    soa_msg m = r->slots[tail & r->mask];
    if (m.seq != tail + 1) {
        errno = EPROTO; /* skipped or repeated */
        return -1;
    }
    *out = m;
    r->tail = tail + 1;
    r->head = head;
    publish(&s->tail, &s->tail_wake, &s->prod_sleeping, tail + 1);
    return 0;
}

uint32_t soa_ring_pending(const soa_ring *r)
{
    if (!r || !r->shm)
        return 0;
    uint64_t t = atomic_load_explicit(&r->shm->tail, memory_order_acquire);
    uint64_t h = atomic_load_explicit(&r->shm->head, memory_order_acquire);
    uint64_t n = h - t;
    return n > (uint64_t)r->mask + 1 ? r->mask + 1 : (uint32_t)n;
}

uint64_t soa_ring_next_send_seq(const soa_ring *r)
{
    return r && r->shm ? r->head + 1 : 0; /* the producer's own count */
}

uint64_t soa_ring_next_recv_seq(const soa_ring *r)
{
    return r && r->shm ? r->tail + 1 : 0; /* the consumer's own count */
}

/* ---- mailboxes ------------------------------------------------------------ */

size_t soa_mailbox_bytes(uint32_t capacity)
{
    size_t ring = soa_ring_bytes(capacity);
    return ring ? sizeof(struct soa_mailbox_shm) + 2 * ring : 0;
}

int soa_mailbox_init(soa_mailbox *mb, void *mem, size_t bytes,
                     uint32_t capacity)
{
    size_t need = soa_mailbox_bytes(capacity);
    if (!mb || !mem || !aligned(mem) || need == 0 || bytes < need) {
        errno = EINVAL;
        return -1;
    }
    struct soa_mailbox_shm *shm = mem;
    size_t ring = soa_ring_bytes(capacity);
    char *base = (char *)mem + sizeof *shm;
    memset(shm, 0, sizeof *shm);
    if (soa_ring_init(&mb->req, base, ring, capacity) != 0 ||
        soa_ring_init(&mb->rep, base + ring, ring, capacity) != 0)
        return -1;
    shm->version = MBOX_VERSION;
    shm->capacity = capacity;
    shm->ring_bytes = ring;
    atomic_thread_fence(memory_order_release);
    shm->magic = MBOX_MAGIC;
    mb->shm = shm;
    return 0;
}

int soa_mailbox_open(soa_mailbox *mb, void *mem, size_t bytes)
{
    if (!mb || !mem || !aligned(mem) ||
        bytes < sizeof(struct soa_mailbox_shm)) {
        errno = EINVAL;
        return -1;
    }
    struct soa_mailbox_shm *shm = mem;
    uint64_t ring = shm->ring_bytes;
    atomic_thread_fence(memory_order_acquire);
    if (shm->magic != MBOX_MAGIC || shm->version != MBOX_VERSION) {
        errno = EPROTO;
        return -1;
    }
    size_t room = bytes - sizeof *shm;
    if (ring % LINE != 0 || ring > room / 2) {
        errno = EMSGSIZE;
        return -1;
    }
    char *base = (char *)mem + sizeof *shm;
    if (soa_ring_open(&mb->req, base, (size_t)ring) != 0 ||
        soa_ring_open(&mb->rep, base + ring, (size_t)ring) != 0)
        return -1;
    mb->shm = shm;
    return 0;
}

void soa_mailbox_set_progress(soa_mailbox *mb, uint64_t ticks)
{
    if (mb && mb->shm)
        atomic_store_explicit(&mb->shm->progress, ticks,
                              memory_order_release);
}

uint64_t soa_mailbox_progress(const soa_mailbox *mb)
{
    if (!mb || !mb->shm)
        return 0;
    return atomic_load_explicit(&mb->shm->progress, memory_order_acquire);
}
