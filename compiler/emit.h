/*
 * emit.h: the C emitters.
 *
 * emit_c.c writes the whole header: the banner, the guard, enums and
 * components, and for each system what emit_sys.c writes.
 * They read a schema checked without errors and its model (ast.h), and
 * write with templates (template.h).
 */
#ifndef SOAC_EMIT_H
#define SOAC_EMIT_H

#include <stdbool.h>

#include "ast.h"
#include "out.h"
#include "template.h"

/* emit_c.c: the whole header for a checked schema.  `guard` starts the
 * include guard macro (SOAC_GAME_H), which ends in a hash of the header's
 * contents (SOAC_GAME_H_0123456789ABCDEF); `source_name` is the schema's
 * name as shown in the banner. */
void soac_emit_header(soac_out *o, const soac_schema *s, const char *guard,
                      const char *source_name);

/* A doc comment as a C comment, each line after `indent`: nothing in the
 * text can end or nest it ("*" "/", "/" "*"), form a trigraph ("?" "?")
 * or put a control character in the header.  Nothing for a NULL doc. */
void soac_emit_doc(soac_out *o, const char *doc, const char *indent);

/* One member per field of `c`, `T name;` or `T name[N];`, each line
 * `pre` (an indent, maybe "const ") T, a space, `star` ("", "*" or
 * "*SOA_RESTRICT ") and the name; with `docs`, each after its field's doc
 * comment. */
void soac_emit_members(soac_out *o, const soac_component *c, const char *pre,
                       const char *star, bool docs);

/* A template writing to `o` for system `s`: $S, $S_build ... (names.h),
 * $name (the schema name) and $hash (S_LAYOUT_HASH's hex digits). */
void soac_tpl_system(soac_tpl *t, soac_out *o, const soac_system *s);

/* emit_sys.c: one system's types, layout table and wrappers (S_snap ...
 * S_shm), inside the guard soac_emit_header writes. */
void soac_emit_system(soac_out *o, const soac_system *sys);

#endif /* SOAC_EMIT_H */
