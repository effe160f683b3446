/* out.c: the growable output buffer the emitters write into. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "out.h"

static void reserve(soac_out *o, size_t extra)
{
    if (o->len + extra + 1 <= o->cap)
        return;
    size_t cap = o->cap ? o->cap : 4096;
    while (cap < o->len + extra + 1) {
        if (cap > (size_t)-1 / 2) {
            fputs("soac: output too large\n", stderr);
            exit(2);
        }
        cap *= 2;
    }
    char *p = realloc(o->data, cap);
    if (!p) {
        fputs("soac: out of memory\n", stderr);
        exit(2);
    }
    o->data = p;
    o->cap = cap;
}

void soac_out_write(soac_out *o, const char *s, size_t n)
{
    reserve(o, n);
    memcpy(o->data + o->len, s, n);
    o->len += n;
    o->data[o->len] = '\0';
}

void soac_out_puts(soac_out *o, const char *s)
{
    soac_out_write(o, s, strlen(s));
}

void soac_out_printf(soac_out *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        fputs("soac: formatting failed\n", stderr);
        exit(2);
    }
    reserve(o, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(o->data + o->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    o->len += (size_t)n;
}

void soac_out_free(soac_out *o)
{
    free(o->data);
    o->data = NULL;
    o->len = o->cap = 0;
}
