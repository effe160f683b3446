/*
 * soa/desc.h: reflection that soac emits and the runtime reads.
 *
 * soa_component_desc describes one component's AoS value (what the world
 * stores); soa_system_desc describes one system with its generated functions
 * type-erased, so the scheduler can build, run and commit any system.
 * These structs are part of the generated-code ABI (SOA_ABI_VERSION).
 */
#ifndef SOA_DESC_H
#define SOA_DESC_H

#include <stddef.h>
#include <stdint.h>

#include "alloc.h"
#include "pool.h"

#ifdef __cplusplus
extern "C" {
#endif

/* alignof(T) in C99 (as the GNU extension), C11 and C++: generated
 * descriptors record every value type's alignment with it. */
#if defined(__cplusplus)
#define SOA_ALIGNOF(T) alignof(T)
#elif defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
#define SOA_ALIGNOF(T) _Alignof(T)
#else
#define SOA_ALIGNOF(T) __alignof__(T)
#endif

/* Scalar types of the schema language, as stored in a field. */
typedef enum soa_scalar {
    SOA_F32 = 1,
    SOA_F64,
    SOA_I8,
    SOA_I16,
    SOA_I32,
    SOA_I64,
    SOA_U8,
    SOA_U16,
    SOA_U32,
    SOA_U64,
    SOA_BOOL
} soa_scalar;

/* Bytes of one element of a scalar type (0 for an unknown value). */
size_t soa_scalar_size(soa_scalar t);
/* The schema spelling ("f32", ...), or "?" for an unknown value. */
const char *soa_scalar_name(soa_scalar t);

typedef struct soa_field_desc {
    const char *name;
    soa_scalar type;       /* for an enum field: the enum's base type */
    const char *enum_name; /* the enum's C name, or NULL */
    uint32_t count;        /* array length; 1 for a scalar */
    size_t offset;         /* offsetof(C, name) */
} soa_field_desc;

typedef struct soa_component_desc {
    const char *name;         /* C name, namespace prefix included */
    uint64_t layout_hash;     /* C_LAYOUT_HASH */
    size_t size, align;       /* sizeof(C), alignof(C); size 0 for a tag */
    const void *defaults;     /* a C holding the defaults; NULL for a tag */
    uint32_t nfields;
    const soa_field_desc *fields;
} soa_component_desc;

/* What a kernel is told about the frame it runs in. */
typedef struct soa_frame {
    double dt, time;
    uint64_t index;
} soa_frame;

typedef struct soa_world soa_world;

/* A type-erased function pointer: generated code casts a kernel to it and
 * back to its own type before calling (casts through void (*)(void) are the
 * portable way to erase a function type). */
typedef void (*soa_fn)(void);

/*
 * A system as the scheduler sees it (generated as S_system).  `snap_size`
 * bytes of suitably aligned storage hold an S_snap; the functions are the
 * generated S_snap_init/S_snap_release/S_build/S_run/S_commit with their
 * snapshot argument erased to void *.  `run` takes the kernel as a soa_fn
 * and casts it back to S_kernel.
 */
typedef struct soa_system_desc {
    const char *name;
    uint64_t layout_hash; /* hash of the system's name and its components' */
    const soa_component_desc *const *reads;   /* read-only components */
    uint32_t nreads;
    const soa_component_desc *const *writes;  /* written (and readable) */
    uint32_t nwrites;
    const soa_component_desc *const *without;
    uint32_t nwithout;
    size_t snap_size, snap_align;
    int (*snap_init)(void *snap, soa_alloc *alloc);
    void (*snap_release)(void *snap);
    int (*build)(void *snap, soa_world *w);
    int (*run)(void *snap, soa_pool *pool, soa_fn kernel,
               const soa_frame *frame, void *ctx);
    size_t (*commit)(const void *snap, soa_world *w);
    /* Added after ABI 1's first draft (NULL in descriptors that lack it):
     * runs the kernel over rows [begin, end) of a built snapshot on the
     * calling thread, so a scheduler can put the chunks of several systems
     * on one pool at once.  Chunk boundaries other than `rows` must be
     * multiples of 64.  Every generated S_snap starts with `size_t rows,
     * cap;`, so soa_snap_rows() reads the row count of an erased one. */
    void (*run_range)(void *snap, soa_fn kernel, const soa_frame *frame,
                      void *ctx, size_t begin, size_t end);
    /* Added later still (NULL in older descriptors; use build and commit
     * then): S_build_on and S_commit_on, build and commit with their
     * copying spread over a pool (NULL: the caller alone), called by the
     * thread that drives the pool.  Same rows, values and count as build
     * and commit, for any pool size. */
    int (*build_on)(void *snap, soa_world *w, soa_pool *pool);
    size_t (*commit_on)(const void *snap, soa_world *w, soa_pool *pool);
} soa_system_desc;

/* Rows of a built snapshot given as void * (see run_range). */
static inline size_t soa_snap_rows(const void *snap)
{
    return *(const size_t *)snap;
}

#ifdef __cplusplus
}
#endif

#endif /* SOA_DESC_H */
