/* scalar.c: the table of scalar types (see scalar.h). */
#include <assert.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ast.h"
#include "scalar.h"

void soac_int_literal(soac_out *o, const soac_scalar_info *t, bool negative,
                      uint64_t mag)
{
    assert(soac_scalar_is_int(t));
    if (negative && mag != 0) {
        if (mag == (uint64_t)1 << 63)
            soac_out_puts(o, "(-9223372036854775807LL - 1)");
        else if (mag <= 2147483647u)
            soac_out_printf(o, "-%" PRIu64, mag);
        else
            soac_out_printf(o, "-%" PRIu64 "LL", mag);
    } else if (t->kind == SOAC_KIND_SIGNED) {
        soac_out_printf(o, "%" PRIu64 "%s", mag, mag > 2147483647u ? "LL" : "");
    } else {
        soac_out_printf(o, "%" PRIu64 "%s", mag, mag > 4294967295u ? "ULL" : "u");
    }
}

static void int_literal(soac_out *o, const soac_scalar_info *t,
                        const soac_value *v)
{
    assert(!v || v->kind == SOAC_VAL_INT);
    soac_int_literal(o, t, v && v->negative, v ? v->magnitude : 0);
}

/* Whether the digits of a number literal's value (before any exponent)
 * are not all zeros. */
static bool nonzero_literal(const char *text)
{
    const char *p = text + (text[0] == '-');
    bool hex = p[0] == '0' && (p[1] == 'x' || p[1] == 'X');
    for (p += hex ? 2 : 0; *p && (hex || (*p != 'e' && *p != 'E')); p++)
        if (*p != '0' && *p != '.')
            return true;
    return false;
}

soac_float_fit soac_float_value(const soac_scalar_info *t, const char *text,
                                double *x)
{
    assert(t->kind == SOAC_KIND_FLOAT);
    /* strtof, not (float)strtod: rounding twice can miss by one step */
    *x = t->id == SOAC_F32 ? (double)strtof(text, NULL) : strtod(text, NULL);
    if (isinf(*x))
        return SOAC_FLOAT_OVERFLOW;
    if (*x == 0 && nonzero_literal(text))
        return SOAC_FLOAT_UNDERFLOW;
    return SOAC_FLOAT_FITS;
}

void soac_float_text(const soac_scalar_info *t, double x, char *buf, size_t n)
{
    assert(t->kind == SOAC_KIND_FLOAT);
    bool f32 = t->id == SOAC_F32;
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, n, "%.*g", prec, x);
        if (f32 ? strtof(buf, NULL) == (float)x : strtod(buf, NULL) == x)
            break;
    }
}

/* The shortest decimal that reads back as the same float/double. */
static void float_literal(soac_out *o, const soac_scalar_info *t,
                          const soac_value *v)
{
    assert(!v || v->kind == SOAC_VAL_INT || v->kind == SOAC_VAL_FLOAT);
    double x = 0.0;
    soac_float_fit fit = v ? soac_float_value(t, v->text, &x) : SOAC_FLOAT_FITS;
    assert(fit == SOAC_FLOAT_FITS); /* the checker refused the others */
    (void)fit;
    char buf[64];
    soac_float_text(t, x, buf, sizeof buf - 2);
    if (!strpbrk(buf, ".en"))
        strcat(buf, ".0");
    soac_out_printf(o, "%s%s", buf, t->id == SOAC_F32 ? "f" : "");
}

static void bool_literal(soac_out *o, const soac_scalar_info *t,
                         const soac_value *v)
{
    (void)t;
    assert(!v || v->kind == SOAC_VAL_BOOL);
    soac_out_puts(o, v && v->bval ? "true" : "false");
}

#define I64_MAX (((uint64_t)1 << 63) - 1)

/* Indexed by soac_scalar; row 0 stands for SOAC_NONE and is never used. */
static const soac_scalar_info scalars[SOAC_NSCALARS] = {
/*    id         name    ctype       also                              rt_enum     size kind               neg_max        pos_max      max      min           literal */
    { SOAC_NONE, "?",    "void",     "",                               "0",        0, SOAC_KIND_BOOL,     0,             0,           0,       0,            NULL },
    { SOAC_F32,  "f32",  "float",    "float32 single real ",           "SOA_F32",  4, SOAC_KIND_FLOAT,    0,             0,           FLT_MAX, FLT_TRUE_MIN, float_literal },
    { SOAC_F64,  "f64",  "double",   "float64 real64 ",                "SOA_F64",  8, SOAC_KIND_FLOAT,    0,             0,           DBL_MAX, DBL_TRUE_MIN, float_literal },
    { SOAC_I8,   "i8",   "int8_t",   "int8 sbyte ",                    "SOA_I8",   1, SOAC_KIND_SIGNED,   128,           127,         0,       0,            int_literal },
    { SOAC_I16,  "i16",  "int16_t",  "int16 short ",                   "SOA_I16",  2, SOAC_KIND_SIGNED,   32768,         32767,       0,       0,            int_literal },
    { SOAC_I32,  "i32",  "int32_t",  "int32 int integer ",             "SOA_I32",  4, SOAC_KIND_SIGNED,   2147483648u,   2147483647,  0,       0,            int_literal },
    { SOAC_I64,  "i64",  "int64_t",  "int64 long ",                    "SOA_I64",  8, SOAC_KIND_SIGNED,   I64_MAX + 1,   I64_MAX,     0,       0,            int_literal },
    { SOAC_U8,   "u8",   "uint8_t",  "uint8 byte uchar ",              "SOA_U8",   1, SOAC_KIND_UNSIGNED, 0,             255,         0,       0,            int_literal },
    { SOAC_U16,  "u16",  "uint16_t", "uint16 ushort ",                 "SOA_U16",  2, SOAC_KIND_UNSIGNED, 0,             65535,       0,       0,            int_literal },
    { SOAC_U32,  "u32",  "uint32_t", "uint32 uint unsigned ",          "SOA_U32",  4, SOAC_KIND_UNSIGNED, 0,             4294967295u, 0,       0,            int_literal },
    { SOAC_U64,  "u64",  "uint64_t", "uint64 ulong size_t usize ",     "SOA_U64",  8, SOAC_KIND_UNSIGNED, 0,             UINT64_MAX,  0,       0,            int_literal },
    { SOAC_BOOL, "bool", "bool",     "boolean _Bool ",                 "SOA_BOOL", 1, SOAC_KIND_BOOL,     0,             0,           0,       0,            bool_literal },
};

const soac_scalar_info *soac_scalar_get(soac_scalar t)
{
    assert(t > SOAC_NONE && t < SOAC_NSCALARS);
    assert(scalars[t].id == t);
    return &scalars[t];
}

soac_scalar soac_scalar_lookup(const char *name)
{
    for (int t = SOAC_NONE + 1; t < SOAC_NSCALARS; t++)
        if (strcmp(scalars[t].name, name) == 0)
            return (soac_scalar)t;
    return SOAC_NONE;
}

soac_scalar soac_scalar_alias(const char *name)
{
    size_t n = strlen(name);
    for (int t = SOAC_NONE + 1; t < SOAC_NSCALARS; t++) {
        if (strcasecmp(scalars[t].ctype, name) == 0)
            return (soac_scalar)t;
        for (const char *w = scalars[t].also; *w; w = strchr(w, ' ') + 1)
            if (strncasecmp(w, name, n) == 0 && w[n] == ' ')
                return (soac_scalar)t;
    }
    return SOAC_NONE;
}
