/*
 * soa/cast.h: SOA_CAST(T, x), a value conversion that reads as a C cast in
 * C and is a static_cast in C++, so the public and generated headers
 * compile cleanly under clang++ -Wold-style-cast.  Only for conversions a
 * static_cast allows (arithmetic types, void * to T *).
 */
#ifndef SOA_CAST_H
#define SOA_CAST_H

#ifdef __cplusplus
#define SOA_CAST(T, x) static_cast<T>(x)
#else
#define SOA_CAST(T, x) ((T)(x))
#endif

#endif /* SOA_CAST_H */
