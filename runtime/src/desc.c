/* desc.c: the runtime's version and the scalar-type tables. */
#include "soa/soa.h"

const char *soa_version(void)
{
    return SOA_VERSION_STRING;
}

size_t soa_scalar_size(soa_scalar t)
{
    switch (t) {
    case SOA_I8: case SOA_U8: case SOA_BOOL: return 1;
    case SOA_I16: case SOA_U16: return 2;
    case SOA_F32: case SOA_I32: case SOA_U32: return 4;
    case SOA_F64: case SOA_I64: case SOA_U64: return 8;
    }
    return 0;
}

const char *soa_scalar_name(soa_scalar t)
{
    switch (t) {
    case SOA_F32: return "f32";
    case SOA_F64: return "f64";
    case SOA_I8: return "i8";
    case SOA_I16: return "i16";
    case SOA_I32: return "i32";
    case SOA_I64: return "i64";
    case SOA_U8: return "u8";
    case SOA_U16: return "u16";
    case SOA_U32: return "u32";
    case SOA_U64: return "u64";
    case SOA_BOOL: return "bool";
    }
    return "?";
}
