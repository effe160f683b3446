/*
 * soa/mailbox.h: sequence-numbered message rings in shared memory, the
 * seed's "shared mailbox (Atomics + sequence numbers) so workers can run
 * multiple ticks without round-trips".
 *
 * A soa_ring is a single-producer/single-consumer queue of fixed-size
 * messages (soa_msg, 64 bytes) that lives in memory two processes map: an
 * arena (see alloc.h), a MAP_SHARED mapping, or plain memory when both ends
 * are threads of one process.  The shared part holds no pointers, so every
 * process may map it at its own address; each side keeps a small local
 * handle (soa_ring) whose bounds come from its own arguments, never from the
 * shared memory, so a corrupt or hostile peer cannot make it read or write
 * outside the region.
 *
 * Every message gets the next sequence number (1, 2, 3, ...) when it is
 * sent; the receiver checks that it sees exactly that sequence and reports
 * a skipped or repeated number as corruption (EPROTO).
 *
 * Waiting spins briefly, then sleeps on a futex (FUTEX_WAIT/FUTEX_WAKE,
 * non-private since the word may be shared across processes) with a
 * timeout.  A sender issues the wake syscall only when the receiver said it
 * is going to sleep, so a busy pair exchanges messages with no syscalls.
 *
 * soa_mailbox pairs two rings (requests to a worker, replies back) with a
 * progress counter the worker advances after every tick, so the main
 * process can follow a multi-tick request without blocking on it.
 *
 * Between processes on Linux (futexes on shared memory); between threads of
 * one process wherever libsoa runs, WebAssembly with threads included.  The
 * header itself compiles anywhere.
 */
#ifndef SOA_MAILBOX_H
#define SOA_MAILBOX_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One message: 64 bytes, one cache line.  `seq` is assigned by the ring on
 * send; the other fields are the sender's, their meaning the protocol's
 * (the worker's protocol packs its messages into them). */
typedef struct soa_msg {
    uint64_t seq;
    uint32_t kind;
    uint32_t status;
    uint64_t u[4];
    double d[2];
} soa_msg;

/* "Wait forever" for the timeout arguments below. */
#define SOA_WAIT_FOREVER INT64_C(-1)

/* A side's local handle of a ring.  Private: filled by soa_ring_init or
 * soa_ring_open, then used only through the functions below.  The mask,
 * the slot pointer and this side's own counter (a producer's head, a
 * consumer's tail) are this side's, never re-read from shared memory: the
 * peer can only ever change the counter it owns, and that is checked
 * against ours before it is used, so a peer that scribbles over the ring
 * makes it fail with EPROTO, never index outside it. */
typedef struct soa_ring {
    struct soa_ring_shm *shm;
    struct soa_msg *slots;
    uint32_t mask;
    uint32_t reserved;
    uint64_t head, tail; /* this side's copies (its own one is the truth) */
    int64_t spin_ns;  /* the most this side polls before it sleeps */
    int64_t spin_cur; /* the current, adaptive budget (<= spin_ns) */
} soa_ring;

/* The most a waiting side polls (pausing the CPU) before it sleeps on the
 * futex, by default.  A message that comes within the poll costs no
 * syscall on either side (~0.5 us round trips on idle cores); otherwise a
 * wake costs a futex syscall and a scheduler wake-up (~5-10 us).  The
 * budget adapts: it halves after each wait that ended asleep (the peer was
 * slow, or had no core to run on: polling would only steal it) and doubles
 * after each that ended while polling. */
#define SOA_RING_SPIN_NS INT64_C(20000)

/* Bytes of shared memory a ring of `capacity` messages needs, or 0 when
 * capacity is not a power of two in [2, 2^24]. */
size_t soa_ring_bytes(uint32_t capacity);

/*
 * Formats `bytes` bytes at `mem` (64-byte aligned, shared with the peer) as
 * an empty ring of `capacity` messages and opens `r` on it.  Call once, on
 * one side, before the peer opens it.  0, or -1 with errno EINVAL (NULL,
 * misaligned, bad capacity, bytes < soa_ring_bytes(capacity)).  O(1): only
 * the header is written.
 */
int soa_ring_init(soa_ring *r, void *mem, size_t bytes, uint32_t capacity);

/*
 * Opens `r` on a ring another party formatted at `mem`.  Validates the
 * header (magic, version, capacity) against `bytes` before trusting it:
 * -1 with errno EINVAL (NULL or misaligned), EPROTO (not a ring, or another
 * version), EMSGSIZE (the capacity does not fit in `bytes`).  O(1).
 */
int soa_ring_open(soa_ring *r, void *mem, size_t bytes);

/*
 * Producer side (one thread or process at a time).  Copies *m into the ring
 * with the next sequence number (written back to m->seq) and wakes a
 * sleeping consumer.  When the ring is full it waits up to `timeout_ns`
 * (0: not at all; SOA_WAIT_FOREVER) for room; a signal does not cut the
 * wait short.  0, or -1 with errno EAGAIN (full, timeout 0), ETIMEDOUT,
 * EPROTO (the consumer's counter is impossible: the shared memory was
 * corrupted) or EINVAL (NULL).  Release ordering: everything the producer wrote before the
 * send is visible to the consumer that receives the message.
 */
int soa_ring_send(soa_ring *r, soa_msg *m, int64_t timeout_ns);

/*
 * Consumer side (one thread or process at a time).  Takes the oldest
 * message into *out, waiting up to `timeout_ns` for one as above.  0, or -1
 * with errno EAGAIN, ETIMEDOUT, EINVAL, or EPROTO when its sequence
 * number is not the one expected (the shared memory was corrupted: the ring
 * is unusable).  Acquire ordering pairs with the producer's release.
 */
int soa_ring_recv(soa_ring *r, soa_msg *out, int64_t timeout_ns);

/* Sets the most this side's waits poll before sleeping (0: sleep at once;
 * SOA_RING_SPIN_NS by default).  Poll longer for sub-microsecond replies
 * on an idle machine, shorter to leave the CPU to other work. */
void soa_ring_set_spin(soa_ring *r, int64_t spin_ns);

/* Messages sent but not yet received (a snapshot; either side may ask). */
uint32_t soa_ring_pending(const soa_ring *r);

/* The sequence number the next send gets / the next receive expects. */
uint64_t soa_ring_next_send_seq(const soa_ring *r);
uint64_t soa_ring_next_recv_seq(const soa_ring *r);

/* ---- mailbox: a request ring, a reply ring and a progress counter ---- */

typedef struct soa_mailbox {
    soa_ring req;   /* main -> worker */
    soa_ring rep;   /* worker -> main */
    struct soa_mailbox_shm *shm;
} soa_mailbox;

/* Bytes a mailbox with rings of `capacity` messages needs (0: bad
 * capacity, as soa_ring_bytes). */
size_t soa_mailbox_bytes(uint32_t capacity);

/* Formats a mailbox at `mem` (64-byte aligned, `bytes` long) and opens it.
 * 0, or -1 with errno as soa_ring_init. */
int soa_mailbox_init(soa_mailbox *mb, void *mem, size_t bytes,
                     uint32_t capacity);

/* Opens a mailbox formatted by the peer; validates as soa_ring_open. */
int soa_mailbox_open(soa_mailbox *mb, void *mem, size_t bytes);

/* Worker side: ticks completed so far (monotonic), with release ordering
 * so the main process that reads it sees the tick's writes. */
void soa_mailbox_set_progress(soa_mailbox *mb, uint64_t ticks);

/* Main side: the last value the worker published (acquire).  Never
 * blocks. */
uint64_t soa_mailbox_progress(const soa_mailbox *mb);

#ifdef __cplusplus
}
#endif

#endif /* SOA_MAILBOX_H */
