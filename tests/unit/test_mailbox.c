/*
 * test_mailbox: the SPSC ring and the mailbox in one process: formatting
 * and validation, full/empty/timeout behaviour, corruption detection, and a
 * two-thread stream (also run under ThreadSanitizer).  The two-process
 * stress test is in test_worker_ipc.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "soa/mailbox.h"

static void *alloc_lines(size_t bytes)
{
    void *p = NULL;
    assert_int_equal(posix_memalign(&p, 64, bytes), 0);
    memset(p, 0xa5, bytes); /* garbage: init must not rely on zeroes */
    return p;
}

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void test_bytes_and_bad_capacity(void **state)
{
    (void)state;
    assert_int_equal(soa_ring_bytes(0), 0);
    assert_int_equal(soa_ring_bytes(1), 0);
    assert_int_equal(soa_ring_bytes(3), 0);
    assert_int_equal(soa_ring_bytes(1u << 25), 0);
    assert_int_equal(soa_ring_bytes(4), 3 * 64 + 4 * 64);
    assert_int_equal(soa_mailbox_bytes(100), 0);

    size_t n = soa_ring_bytes(8);
    char *mem = alloc_lines(n + 64);
    soa_ring r;
    errno = 0;
    assert_int_equal(soa_ring_init(&r, mem + 8, n, 8), -1); /* misaligned */
    assert_int_equal(errno, EINVAL);
    assert_int_equal(soa_ring_init(&r, mem, n - 1, 8), -1); /* too small */
    assert_int_equal(errno, EINVAL);
    assert_int_equal(soa_ring_init(&r, mem, n, 6), -1);
    assert_int_equal(errno, EINVAL);
    free(mem);
}

static void test_open_validates(void **state)
{
    (void)state;
    size_t n = soa_ring_bytes(16);
    char *mem = alloc_lines(n);
    soa_ring r;
    errno = 0;
    assert_int_equal(soa_ring_open(&r, mem, n), -1); /* garbage */
    assert_int_equal(errno, EPROTO);

    assert_int_equal(soa_ring_init(&r, mem, n, 16), 0);
    soa_ring peer;
    assert_int_equal(soa_ring_open(&peer, mem, n), 0);
    /* The same ring seen through a smaller region: refused. */
    assert_int_equal(soa_ring_open(&peer, mem, n - 64), -1);
    assert_int_equal(errno, EMSGSIZE);
    /* A capacity scribbled by a hostile peer: refused, not trusted. */
    uint32_t *cap = (uint32_t *)(mem + 12);
    *cap = 1u << 30;
    assert_int_equal(soa_ring_open(&peer, mem, n), -1);
    assert_int_equal(errno, EMSGSIZE);
    free(mem);
}

static void test_send_recv_order_full_empty(void **state)
{
    (void)state;
    size_t n = soa_ring_bytes(4);
    void *mem = alloc_lines(n);
    soa_ring p, c;
    assert_int_equal(soa_ring_init(&p, mem, n, 4), 0);
    assert_int_equal(soa_ring_open(&c, mem, n), 0);

    soa_msg m, out;
    errno = 0;
    assert_int_equal(soa_ring_recv(&c, &out, 0), -1);
    assert_int_equal(errno, EAGAIN);
    for (uint64_t round = 0; round < 3; round++) {
        for (uint64_t i = 0; i < 4; i++) {
            memset(&m, 0, sizeof m);
            m.kind = 1;
            m.u[0] = round * 4 + i;
            m.d[0] = 0.5 * (double)i;
            assert_int_equal(soa_ring_send(&p, &m, 0), 0);
            assert_int_equal(m.seq, round * 4 + i + 1);
        }
        assert_int_equal(soa_ring_pending(&c), 4);
        assert_int_equal(soa_ring_send(&p, &m, 0), -1); /* full */
        assert_int_equal(errno, EAGAIN);
        for (uint64_t i = 0; i < 4; i++) {
            assert_int_equal(soa_ring_recv(&c, &out, 0), 0);
            assert_int_equal(out.seq, round * 4 + i + 1);
            assert_int_equal(out.kind, 1);
            assert_int_equal(out.u[0], round * 4 + i);
            assert_true(out.d[0] == 0.5 * (double)i);
        }
        assert_int_equal(soa_ring_pending(&c), 0);
    }
    assert_int_equal(soa_ring_next_send_seq(&p), 13);
    assert_int_equal(soa_ring_next_recv_seq(&c), 13);
    free(mem);
}

static void test_timeouts(void **state)
{
    (void)state;
    size_t n = soa_ring_bytes(2);
    void *mem = alloc_lines(n);
    soa_ring r;
    soa_msg m = {0};
    assert_int_equal(soa_ring_init(&r, mem, n, 2), 0);

    int64_t t0 = mono_ns();
    errno = 0;
    assert_int_equal(soa_ring_recv(&r, &m, 30000000), -1); /* 30 ms */
    int64_t waited = mono_ns() - t0;
    assert_int_equal(errno, ETIMEDOUT);
    assert_true(waited >= 30000000);
    assert_true(waited < 2000000000); /* and it did come back */

    assert_int_equal(soa_ring_send(&r, &m, 0), 0);
    assert_int_equal(soa_ring_send(&r, &m, 0), 0);
    t0 = mono_ns();
    assert_int_equal(soa_ring_send(&r, &m, 20000000), -1); /* full */
    assert_int_equal(errno, ETIMEDOUT);
    assert_true(mono_ns() - t0 >= 20000000);
    free(mem);
}

static void test_corruption_detected(void **state)
{
    (void)state;
    size_t n = soa_ring_bytes(8);
    char *mem = alloc_lines(n);
    soa_ring r;
    soa_msg m = {0}, out;
    assert_int_equal(soa_ring_init(&r, mem, n, 8), 0);
    assert_int_equal(soa_ring_send(&r, &m, 0), 0);
    assert_int_equal(soa_ring_send(&r, &m, 0), 0);
    /* A peer rewrites the second message's sequence number: a repeat. */
    soa_msg *slots = (soa_msg *)(void *)(mem + 3 * 64);
    slots[1].seq = 1;
    assert_int_equal(soa_ring_recv(&r, &out, 0), 0);
    assert_int_equal(out.seq, 1);
    errno = 0;
    assert_int_equal(soa_ring_recv(&r, &out, 0), -1);
    assert_int_equal(errno, EPROTO);

    /* A head pushed beyond the capacity: refused, no slot read. */
    uint64_t *head = (uint64_t *)(void *)(mem + 64);
    *head += 1000;
    assert_int_equal(soa_ring_recv(&r, &out, 0), -1);
    assert_int_equal(errno, EPROTO);
    free(mem);
}

/* Each side trusts only its own counter: a peer that rewrites the
 * consumer's tail cannot make the consumer skip or repeat messages, and a
 * tail that is impossible for the producer (ahead of its head, or further
 * behind than the ring holds) is refused, never used to pick a slot. */
static void test_own_counters_are_private(void **state)
{
    (void)state;
    size_t n = soa_ring_bytes(8);
    char *mem = alloc_lines(n);
    soa_ring p, c;
    soa_msg m = {0}, out;
    assert_int_equal(soa_ring_init(&p, mem, n, 8), 0);
    assert_int_equal(soa_ring_open(&c, mem, n), 0);
    for (uint32_t i = 0; i < 3; i++) {
        m.kind = 10 + i;
        assert_int_equal(soa_ring_send(&p, &m, 0), 0);
    }
    uint64_t *tail = (uint64_t *)(void *)(mem + 2 * 64);
    *tail = 2; /* the producer, hostile, skips the consumer ahead */
    assert_int_equal(soa_ring_recv(&c, &out, 0), 0);
    assert_int_equal(out.kind, 10);
    assert_int_equal(soa_ring_next_recv_seq(&c), 2);
    *tail = 99; /* the consumer, hostile, claims more than was sent */
    errno = 0;
    assert_int_equal(soa_ring_send(&p, &m, 0), -1);
    assert_int_equal(errno, EPROTO);
    *tail = 1;
    uint64_t *head = (uint64_t *)(void *)(mem + 64);
    *head = 0; /* and our head rewritten: the next send still gets seq 4 */
    assert_int_equal(soa_ring_send(&p, &m, 0), 0);
    assert_int_equal(m.seq, 4);
    free(mem);
}

static void test_mailbox_open_and_progress(void **state)
{
    (void)state;
    size_t n = soa_mailbox_bytes(8);
    char *mem = alloc_lines(n);
    soa_mailbox main_side, worker;
    errno = 0;
    assert_int_equal(soa_mailbox_open(&worker, mem, n), -1);
    assert_int_equal(errno, EPROTO);
    assert_int_equal(soa_mailbox_init(&main_side, mem, n, 8), 0);
    assert_int_equal(soa_mailbox_open(&worker, mem, n - 64), -1);
    assert_int_equal(errno, EMSGSIZE);
    assert_int_equal(soa_mailbox_open(&worker, mem, n), 0);

    soa_msg m = {0}, out;
    m.kind = 4;
    assert_int_equal(soa_ring_send(&main_side.req, &m, 0), 0);
    assert_int_equal(soa_ring_recv(&worker.req, &out, 0), 0);
    assert_int_equal(out.kind, 4);
    m.kind = 2;
    m.u[0] = out.seq;
    assert_int_equal(soa_ring_send(&worker.rep, &m, 0), 0);
    assert_int_equal(soa_ring_recv(&main_side.rep, &out, 0), 0);
    assert_int_equal(out.kind, 2);
    assert_int_equal(out.u[0], 1);
    /* The rings are independent: nothing crossed over. */
    assert_int_equal(soa_ring_pending(&main_side.req), 0);

    assert_int_equal(soa_mailbox_progress(&main_side), 0);
    soa_mailbox_set_progress(&worker, 42);
    assert_int_equal(soa_mailbox_progress(&main_side), 42);
    free(mem);
}

/* ---- two threads ---------------------------------------------------------- */

#define STREAM_N 200000u

typedef struct stream {
    soa_ring ring;
    void *mem;
    size_t bytes;
    int64_t spin; /* < 0: the default */
    int failed;
} stream;

/* The producer: payload = a function of the index, so the consumer can tell
 * a torn or stale slot from the right one. */
static void *producer(void *arg)
{
    stream *s = arg;
    soa_ring r;
    if (soa_ring_open(&r, s->mem, s->bytes) != 0) {
        s->failed = 1;
        return NULL;
    }
    if (s->spin >= 0)
        soa_ring_set_spin(&r, s->spin);
    for (uint64_t i = 0; i < STREAM_N; i++) {
        soa_msg m = {0};
        m.u[0] = i;
        m.u[1] = i * 2654435761u;
        m.u[3] = ~i;
        if (soa_ring_send(&r, &m, SOA_WAIT_FOREVER) != 0) {
            s->failed = 1;
            return NULL;
        }
    }
    return NULL;
}

/* Streams STREAM_N messages from a producer thread through a 64-slot
 * ring, so both sides keep waiting for each other. */
static void run_stream(int64_t spin)
{
    stream s = {0};
    s.bytes = soa_ring_bytes(64);
    s.mem = alloc_lines(s.bytes);
    s.spin = spin;
    assert_int_equal(soa_ring_init(&s.ring, s.mem, s.bytes, 64), 0);
    if (spin >= 0)
        soa_ring_set_spin(&s.ring, spin);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, producer, &s), 0);
    uint64_t bad = 0;
    for (uint64_t i = 0; i < STREAM_N; i++) {
        soa_msg m;
        if (soa_ring_recv(&s.ring, &m, 5000000000) != 0) {
            bad++;
            break;
        }
        if (m.seq != i + 1 || m.u[0] != i || m.u[1] != i * 2654435761u ||
            m.u[3] != ~i)
            bad++;
    }
    pthread_join(t, NULL);
    assert_int_equal(s.failed, 0);
    assert_int_equal(bad, 0);
    assert_int_equal(soa_ring_pending(&s.ring), 0);
    free(s.mem);
}

static void test_two_threads_stream(void **state)
{
    (void)state;
    run_stream(-1);
}

/* No polling at all: every wait goes through the futex, so a lost wake-up
 * would hang here (and time out the receive). */
static void test_two_threads_stream_futex_only(void **state)
{
    (void)state;
    run_stream(0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bytes_and_bad_capacity),
        cmocka_unit_test(test_open_validates),
        cmocka_unit_test(test_send_recv_order_full_empty),
        cmocka_unit_test(test_timeouts),
        cmocka_unit_test(test_corruption_detected),
        cmocka_unit_test(test_own_counters_are_private),
        cmocka_unit_test(test_mailbox_open_and_progress),
        cmocka_unit_test(test_two_threads_stream),
        cmocka_unit_test(test_two_threads_stream_futex_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
