/*
 * soa/soa.h: the umbrella header of libsoa, the runtime that soac's generated
 * headers link against.  Include this one header; it pulls in every module.
 *
 *   bitset.h   64-bit-word bitsets (the "changed" bits of a snapshot)
 *   alloc.h    the allocator interface, the heap allocator, mmap arenas
 *   region.h   a shared-memory heap that only its creator can write
 *   pool.h     a low-latency worker pool for short, frequent dispatches
 *   desc.h     reflection: component and system descriptors, soa_frame
 *   world.h    a reference ECS world (entities, archetype tables of SoA columns)
 *   system.h   builds, runs and commits any system from its layout table
 *   sched.h    a scheduler that runs local and offloaded systems by stage
 *   mailbox.h  sequence-numbered shared-memory rings for worker processes
 *   shmsnap.h  a system snapshot in shared memory that a worker attaches to
 *   worker.h   worker processes that run offloaded systems (or a thread)
 *   cast.h     SOA_CAST & co.: casts that read as C casts and are C++ casts
 *
 * How every function reports an error:
 *   - A function that returns a pointer returns NULL, a handle or id its
 *     null value (SOA_ENTITY_NULL, SOA_CID_INVALID), an int -1 (or another
 *     negative value), and each sets errno to say why (EINVAL: a bad
 *     argument, ENOMEM, ESRCH: a dead entity, ENOENT: a missing
 *     component, ESTALE: rows moved under a frame, and so on, as each
 *     header documents).  Lookups that only ask (soa_world_cid,
 *     soa_world_has, soa_world_alive) answer "no" without an errno.
 *     Success never clears errno.
 *   - Two families return their own negative codes as well, for callers
 *     that switch on them: soa_sched_add/soa_sched_stage (SOA_SCHED_E*,
 *     errno set too; soa_sched_error(s) names the system, stage or
 *     component) and the shared-memory snapshot calls (SOA_SHM_E*,
 *     soa_shm_strerror).
 *   - Where a person needs more than an errno, there is a message:
 *     soa_world_error (a component refused by name, with both layouts),
 *     soa_sched_error, soa_worker_error (exit status, signal, timeout).
 *   - Functions documented as no-ops on NULL (destroy, release) never fail.
 */
#ifndef SOA_SOA_H
#define SOA_SOA_H

#define SOA_VERSION_MAJOR 0
#define SOA_VERSION_MINOR 1
#define SOA_VERSION_PATCH 0
#define SOA_VERSION_STRING "0.1.0"

/*
 * The ABI of generated code: bumped whenever a generated header would no
 * longer work with this runtime (a descriptor layout changed, say).  Every
 * generated header checks it at compile time.
 */
#define SOA_ABI_VERSION 3

#include "bitset.h"
#include "alloc.h"
#include "region.h"
#include "pool.h"
#include "desc.h"
#include "world.h"
#include "system.h"
#include "sched.h"
#include "mailbox.h"
#include "shmsnap.h"
#include "worker.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The runtime's version string ("0.1.0"): the library's, which may differ
 * from the SOA_VERSION_STRING a program was compiled with. */
const char *soa_version(void);

#ifdef __cplusplus
}
#endif

#endif /* SOA_SOA_H */
