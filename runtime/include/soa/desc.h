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

#include "cast.h"

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

/* `restrict` in C99 and later, `__restrict` in C++ and C89 (GCC, Clang and
 * MSVC all know it): generated S_view columns never overlap. */
#if defined(__cplusplus) || !defined(__STDC_VERSION__) || \
    __STDC_VERSION__ < 199901L
#define SOA_RESTRICT __restrict
#else
#define SOA_RESTRICT restrict
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

/*
 * A component's columns (the generated C_cols): one pointer per column,
 * fields in order and an array field's elements in order, then
 * `uint64_t *changed`, then `size_t cap`.  SOA_COLS_LAYOUT_OK checks a
 * struct has that shape (the generated header asserts it at compile time).
 *
 * soa_cols_init allocates every column of `cols` for `cap` rows, each
 * SOA_ALIGN-aligned, from `alloc` (NULL: the heap), and a cleared changed
 * bitset: 0, or -1 with errno (EOVERFLOW: cap too large; or the
 * allocator's, ENOMEM) and nothing left allocated.  soa_cols_release frees
 * them (a zeroed or partly initialised struct is fine) and zeroes it.
 */
int soa_cols_init(void *cols, const soa_component_desc *d, size_t cap,
                  soa_alloc *alloc);
void soa_cols_release(void *cols, const soa_component_desc *d, soa_alloc *alloc);
/* Copies n values (C structs, d->size bytes apart) from src into rows
 * [row0, row0 + n) of the columns, or those rows out into dst[0 .. n). */
void soa_cols_gather(void *cols, const soa_component_desc *d, size_t row0,
                     const void *src, size_t n);
void soa_cols_scatter(const void *cols, const soa_component_desc *d, size_t row0,
                      void *dst, size_t n);
#define SOA_COLS_LAYOUT_OK(T, ncols) \
    (offsetof(T, changed) == (ncols) * sizeof(void *) && \
     offsetof(T, cap) == ((ncols) + 1) * sizeof(void *))

/* The compile-time error that follows a generated header's #error when two
 * headers disagree on a component, enum or system: its message can name
 * both schemas (#error cannot expand a macro). */
#ifdef __cplusplus
#define SOA_SCHEMA_MISMATCH(msg) static_assert(false, msg)
#else
#define SOA_SCHEMA_MISMATCH(msg) _Static_assert(0, msg)
#endif

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

/* ---- a system's layout: what soac tells the runtime ------------------ */

/* How a system uses a component. */
typedef enum soa_access {
    SOA_ACCESS_READ = 1,    /* read-only columns */
    SOA_ACCESS_WRITE = 2,   /* written (and readable) columns */
    SOA_ACCESS_WITHOUT = 3  /* only entities without it match */
} soa_access;

/*
 * One column of a system: one scalar field of a component, or one element
 * of an array field.  `offset` and `size` place the element in the
 * component's AoS value; `snap` and `view` are the byte offsets of the
 * column's pointer in the generated S_snap and S_view.
 */
typedef struct soa_sys_col {
    size_t offset; /* offsetof(C, f) (+ k * size for element k) */
    size_t size;   /* bytes per element: 1, 2, 4 or 8 */
    size_t snap;   /* offsetof(S_snap, C.f) (+ k * sizeof(T *)) */
    size_t view;   /* offsetof(S_view, C.f) (+ k * sizeof(T *)) */
} soa_sys_col;

/*
 * One term of a system: a component and how the system uses it.  A term
 * with fields owns columns cols[col0 .. col0 + ncols) and, in S_snap, a
 * C_cols whose `changed` and `cap` members are at snap_changed / snap_cap;
 * a written one also has `changed` in S_view at view_changed.  Tags and
 * `without` terms have no columns (ncols 0, offsets 0).
 */
typedef struct soa_sys_term {
    const struct soa_component_desc *comp;
    soa_access access;
    uint32_t col0, ncols;
    size_t snap_changed, snap_cap;
    size_t view_changed;
} soa_sys_term;

/* Where a kernel call's view comes from: private to the runtime. */
typedef struct soa_view_src soa_view_src;

/* The generated S_call: declares an S_view, has soa_view_fill fill it
 * from `src`, and calls the erased kernel with it. */
typedef void (*soa_call_fn)(const soa_view_src *src, soa_fn kernel,
                            const soa_frame *frame, void *ctx);

/*
 * A system's layout (generated as S_layout): its terms (reads, then
 * writes, then without, each in schema order), its columns (in S_snap
 * order: the read components', then the written ones'), the sizes of its
 * S_snap and S_view, and its kernel trampoline.  Every generated S_snap
 * starts with the members of soa_snap_head (soa/system.h) and every S_view
 * with those of soa_view_head; snap_core is offsetof(S_snap, soa), which
 * the runtime checks against its own.
 */
typedef struct soa_sys_layout {
    const char *name;
    uint64_t hash;          /* S_LAYOUT_HASH */
    uint32_t nterms;
    const soa_sys_term *terms;
    uint32_t ncols;
    const soa_sys_col *cols;
    size_t snap_size, snap_align, snap_core;
    size_t view_size;
    soa_call_fn call;
} soa_sys_layout;

/*
 * A system as the scheduler sees it (generated as S_system).  `layout` is
 * what the runtime builds, runs and commits it from; the functions are the
 * generated S_snap_init/S_snap_release/S_build/S_run/S_commit/
 * S_run_range/S_build_on/S_commit_on with their snapshot argument erased to
 * void * (`snap_size` bytes aligned to `snap_align` hold an S_snap), for
 * programs that drive a system without knowing its type.  `run` and
 * `run_range` take the kernel as a soa_fn (erased with S_kernel_fn).
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
    void (*run_range)(void *snap, soa_fn kernel, const soa_frame *frame,
                      void *ctx, size_t begin, size_t end);
    int (*build_on)(void *snap, soa_world *w, soa_pool *pool);
    size_t (*commit_on)(const void *snap, soa_world *w, soa_pool *pool);
    const soa_sys_layout *layout;
} soa_system_desc;

/* Rows of a built snapshot given as void *: every S_snap starts with
 * `size_t rows, cap;`. */
static inline size_t soa_snap_rows(const void *snap)
{
    return *SOA_CAST(const size_t *, snap);
}

#ifdef __cplusplus
}
#endif

#endif /* SOA_DESC_H */
