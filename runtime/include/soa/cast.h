/*
 * soa/cast.h: SOA_CAST(T, x), a value conversion that reads as a C cast in
 * C and is a static_cast in C++, so the public and generated headers
 * compile cleanly under clang++ -Wold-style-cast.  Only for conversions a
 * static_cast allows (arithmetic types, void * to T *).  SOA_FN_CAST(T, f)
 * converts between function pointer types (a reinterpret_cast in C++; the
 * pointer must be called through its original type), and SOA_NULL is the
 * null pointer (nullptr in C++, so -Wzero-as-null-pointer-constant stays
 * quiet).
 */
#ifndef SOA_CAST_H
#define SOA_CAST_H

#include <stddef.h> /* NULL */

#ifdef __cplusplus
#define SOA_CAST(T, x) static_cast<T>(x)
#define SOA_FN_CAST(T, f) reinterpret_cast<T>(f)
#define SOA_NULL nullptr
#else
#define SOA_CAST(T, x) ((T)(x))
#define SOA_FN_CAST(T, f) ((T)(f))
#define SOA_NULL NULL
#endif

#endif /* SOA_CAST_H */
