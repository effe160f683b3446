/*
 * scalar.h: the scalar types of the schema language, one row each.
 *
 * Everything soac knows about a scalar lives in its row of one table
 * (scalar.c), as Lua keeps every opcode's name and mode in lopcodes.c: the
 * schema spelling, the C type, the runtime's soa_scalar enumerator, the
 * size, the range a default must fit, and how to print a value of it as a
 * C literal.  The checker, the emitters and --explain read the table; none
 * of them keeps a fact of its own about a scalar.
 */
#ifndef SOAC_SCALAR_H
#define SOAC_SCALAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "out.h"

/* In the order of the runtime's soa_scalar (soa/desc.h). */
typedef enum soac_scalar {
    SOAC_NONE = 0, /* not (yet) resolved */
    SOAC_F32, SOAC_F64,
    SOAC_I8, SOAC_I16, SOAC_I32, SOAC_I64,
    SOAC_U8, SOAC_U16, SOAC_U32, SOAC_U64,
    SOAC_BOOL,
    SOAC_NSCALARS
} soac_scalar;

typedef enum soac_scalar_kind {
    SOAC_KIND_FLOAT,
    SOAC_KIND_SIGNED,
    SOAC_KIND_UNSIGNED,
    SOAC_KIND_BOOL
} soac_scalar_kind;

struct soac_value;
typedef struct soac_scalar_info soac_scalar_info;

struct soac_scalar_info {
    soac_scalar id;
    const char *name;       /* the schema spelling: "f32" */
    const char *ctype;      /* the C type: "float" */
    const char *also;       /* other languages' spellings of it, each
                             * followed by a space: "float32 single " (the
                             * C type too): "did you mean 'f32'?" */
    const char *rt_enum;    /* the runtime's enumerator: "SOA_F32" */
    size_t size;            /* bytes of one element */
    soac_scalar_kind kind;
    /* integers: a value fits when -neg_max <= value <= pos_max */
    uint64_t neg_max, pos_max;
    double max;             /* floats: the largest finite magnitude */
    double min;             /* floats: the smallest non-zero magnitude */
    /* Appends a C literal of `v` (a checked default of this type; NULL:
     * zero) that reads back exactly, warning-free under -Wconversion. */
    void (*literal)(soac_out *o, const soac_scalar_info *t,
                    const struct soac_value *v);
};

/* The row of a resolved scalar (asserts `t` is one). */
const soac_scalar_info *soac_scalar_get(soac_scalar t);
/* The scalar spelled `name` in a schema, or SOAC_NONE. */
soac_scalar soac_scalar_lookup(const char *name);
/* The scalar another language spells `name` (its C type, or one of its
 * `also` spellings, in any case: "float", "Int", "uint8"), or SOAC_NONE. */
soac_scalar soac_scalar_alias(const char *name);

static inline bool soac_scalar_is_int(const soac_scalar_info *t)
{
    return t->kind == SOAC_KIND_SIGNED || t->kind == SOAC_KIND_UNSIGNED;
}

/* Whether a number literal fits a float type. */
typedef enum soac_float_fit {
    SOAC_FLOAT_FITS,        /* it rounds to a finite value (to zero only
                             * when it is zero) */
    SOAC_FLOAT_OVERFLOW,    /* it rounds to infinity */
    SOAC_FLOAT_UNDERFLOW    /* it is not zero, but rounds to zero */
} soac_float_fit;

/*
 * The value of the number literal `text` (a decimal or 0x integer, or a
 * decimal float, maybe after a '-') in the float type `t`, rounded once
 * to the type as a C compiler rounds a literal of it (*x), and whether it
 * fits.  The checker refuses what does not fit; the emitter prints what
 * does.
 */
soac_float_fit soac_float_value(const soac_scalar_info *t, const char *text,
                                double *x);

/* The shortest decimal that reads back as `x` (a value of the float type
 * `t`) in that type: "0.1", "1e-45", "3.4028235e+38". */
void soac_float_text(const soac_scalar_info *t, double x, char *buf, size_t n);

/* An integer literal of type `t` for -mag (negative) or mag. */
void soac_int_literal(soac_out *o, const soac_scalar_info *t, bool negative,
                      uint64_t mag);

#endif /* SOAC_SCALAR_H */
