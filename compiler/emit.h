/*
 * emit.h: the output buffer and the C emitters.
 *
 * A header is built in memory (soac_out) and written to disk only when it is
 * complete and differs from what is there, so a failed run loses nothing.
 * emit_c.c writes the banner, the guard, enums and components, and calls
 * the system emitter (emit_sys.c) for each system.
 */
#ifndef SOAC_EMIT_H
#define SOAC_EMIT_H

#include <stdbool.h>
#include <stddef.h>

#include "ast.h"

typedef struct soac_out {
    char *data;
    size_t len, cap;
} soac_out;

/* Appends; aborts the compiler on out-of-memory (as the arena does). */
void soac_out_puts(soac_out *o, const char *s);
void soac_out_write(soac_out *o, const char *s, size_t n);
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
void soac_out_printf(soac_out *o, const char *fmt, ...);
void soac_out_free(soac_out *o);

/* The C type of a scalar: "float", "int32_t", "bool", ... */
const char *soac_scalar_ctype(soac_scalar t);
/* The runtime's enumerator for it: "SOA_F32", ... */
const char *soac_scalar_enum(soac_scalar t);

/* emit_c.c: the whole header for a checked schema.  `guard` is the include
 * guard macro; `source_name` the schema's name as shown in the banner. */
void soac_emit_header(soac_out *o, const soac_schema *s, const char *guard,
                      const char *source_name);

/* emit_sys.c: everything generated for one system (S_snap ... S_system). */
void soac_emit_system(soac_out *o, const soac_schema *s,
                      const soac_system *sys);

/* emit_shm.c: one system's snapshot in shared memory (S_shm_layout,
 * S_snap_publish, S_snap_attach, S_shm), after soac_emit_system. */
void soac_emit_shm(soac_out *o, const soac_schema *s, const soac_system *sys);

#endif /* SOAC_EMIT_H */
