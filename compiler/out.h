/*
 * out.h: the growable text buffer soac builds headers, messages and
 * depfiles in.
 *
 * A header is built in memory and written to disk only when it is complete
 * and differs from what is there, so a failed run loses nothing.  Appending
 * never fails: out-of-memory ends the compiler (as the arena does), which a
 * CLI may.
 */
#ifndef SOAC_OUT_H
#define SOAC_OUT_H

#include <stddef.h>

typedef struct soac_out {
    char *data; /* NUL-terminated once anything was written; else NULL */
    size_t len, cap;
} soac_out;

void soac_out_puts(soac_out *o, const char *s);
void soac_out_write(soac_out *o, const char *s, size_t n);
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
void soac_out_printf(soac_out *o, const char *fmt, ...);
void soac_out_free(soac_out *o);

#endif /* SOAC_OUT_H */
