/* source.c: loaded files and the diagnostic printer (see source.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "source.h"

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (!p) {
        fputs("soac: out of memory\n", stderr);
        exit(2);
    }
    return memcpy(p, s, n);
}

soac_source *soac_source_new(const char *key, const char *display,
                             char *text, size_t len)
{
    soac_source *s = calloc(1, sizeof *s);
    if (!s) {
        fputs("soac: out of memory\n", stderr);
        exit(2);
    }
    s->key = xstrdup(key);
    s->display = xstrdup(display);
    s->text = text;
    s->len = len;
    return s;
}

void soac_source_free(soac_source *s)
{
    if (!s)
        return;
    free(s->key);
    free(s->display);
    free(s->text);
    free(s);
}

int soac_read_file(const char *path, char **text, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n - 1, f);
        if (ferror(f)) {
            int e = errno ? errno : EIO;
            free(buf);
            fclose(f);
            errno = e;
            return -1;
        }
        if (feof(f))
            break;
        if (n + 1 == cap) {
            char *p = cap > (size_t)-1 / 2 ? NULL : realloc(buf, cap * 2);
            if (!p) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = p;
            cap *= 2;
        }
    }
    fclose(f);
    if (!buf) {
        errno = ENOMEM;
        return -1;
    }
    buf[n] = '\0';
    *text = buf;
    *len = n;
    return 0;
}

/* Prints the line holding `loc` and a caret under its column.  Tabs are kept
 * in the caret line so the caret lines up in a terminal. */
static void show_line(FILE *out, soac_loc loc)
{
    const soac_source *s = loc.src;
    if (!s || loc.offset > s->len)
        return;
    size_t b = loc.offset, e = loc.offset;
    while (b > 0 && s->text[b - 1] != '\n')
        b--;
    while (e < s->len && s->text[e] != '\n' && s->text[e] != '\r')
        e++;
    fputs("    ", out);
    for (size_t i = b; i < e; i++) {
        unsigned char ch = (unsigned char)s->text[i];
        fputc(ch == '\t' || ch >= 0x20 ? ch : ' ', out);
    }
    fputs("\n    ", out);
    for (size_t i = b; i < loc.offset; i++)
        fputc(s->text[i] == '\t' ? '\t' : ' ', out);
    fputs("^\n", out);
}

void soac_verror(soac_diag *d, soac_loc loc, const char *fmt, va_list ap)
{
    d->errors++;
    if (!d->out || d->errors > SOAC_MAX_SHOWN)
        return;
    fprintf(d->out, "%s:%u:%u: error: ",
            loc.src ? loc.src->display : "soac", loc.line, loc.col);
    vfprintf(d->out, fmt, ap);
    fputc('\n', d->out);
    show_line(d->out, loc);
}

void soac_error(soac_diag *d, soac_loc loc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    soac_verror(d, loc, fmt, ap);
    va_end(ap);
}

void soac_error_noloc(soac_diag *d, const char *fmt, ...)
{
    d->errors++;
    if (!d->out || d->errors > SOAC_MAX_SHOWN)
        return;
    va_list ap;
    va_start(ap, fmt);
    fputs("soac: error: ", d->out);
    vfprintf(d->out, fmt, ap);
    fputc('\n', d->out);
    va_end(ap);
}

void soac_diag_summary(const soac_diag *d)
{
    if (!d->out || d->errors == 0)
        return;
    if (d->errors > SOAC_MAX_SHOWN)
        fprintf(d->out, "%u errors generated (only the first %d shown).\n",
                d->errors, SOAC_MAX_SHOWN);
    else
        fprintf(d->out, "%u error%s generated.\n", d->errors,
                d->errors == 1 ? "" : "s");
}
