/* source.c: loaded files and the diagnostic printer (see source.h). */
#define _DEFAULT_SOURCE 1 /* O_CLOEXEC, ssize_t */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "out.h"
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

/* Reads fd to its end into a malloc'd buffer, starting with room for
 * `hint` bytes; an errno when it cannot or when there are more than `max`
 * (the buffer never grows past max + 2: the bytes, one more, the NUL). */
static int read_all(int fd, size_t hint, size_t max, char **text, size_t *len)
{
    size_t cap = (hint < max ? hint : max) + 2, n = 0;
    char *buf = malloc(cap);
    if (!buf)
        return ENOMEM;
    for (;;) {
        if (n + 1 == cap) {
            if (n > max)
                break;
            size_t grown = cap - 2 > max / 2 ? max + 2 : cap * 2;
            char *p = realloc(buf, grown);
            if (!p) {
                free(buf);
                return ENOMEM;
            }
            buf = p;
            cap = grown;
        }
        ssize_t r = read(fd, buf + n, cap - n - 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            free(buf);
            return e;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    if (n > max) {
        free(buf);
        return EFBIG;
    }
    buf[n] = '\0';
    *text = buf;
    *len = n;
    return 0;
}

int soac_read_file(const char *path, size_t max, bool regular_only,
                   char **text, size_t *len)
{
    assert(max < (size_t)-1 / 2);
    /* regular only: opening a FIFO must not wait for a writer before its
     * type is known (O_NONBLOCK changes nothing for a regular file);
     * otherwise a FIFO is opened as cat would, waiting for the writer */
    int fd = open(path, O_RDONLY | O_NOCTTY | O_CLOEXEC |
                        (regular_only ? O_NONBLOCK : 0));
    if (fd < 0)
        return -1;
    struct stat st;
    int err = fstat(fd, &st) != 0 ? errno : 0;
    bool regular = !err && S_ISREG(st.st_mode);
    if (!err && S_ISDIR(st.st_mode))
        err = EISDIR;
    else if (!err && regular_only && !regular)
        err = SOAC_ENOTREG;
    else if (regular && (uintmax_t)st.st_size > max)
        err = EFBIG;
    if (!err)
        err = read_all(fd, regular ? (size_t)st.st_size : 4096, max, text, len);
    close(fd);
    if (err) {
        errno = err;
        return -1;
    }
    return 0;
}

const char *soac_read_strerror(int err)
{
    if (err == SOAC_ENOTREG)
        return "not a regular file (an included schema must be a file, not a device, FIFO or socket)";
    if (err == EFBIG)
        return "file too large (a schema has at most 1 GiB)";
    return strerror(err);
}

/* The most bytes of a source line a diagnostic shows: a window around the
 * caret, so that an error on a line of megabytes prints a few hundred. */
#define SHOW_BYTES 200

/* The most bytes of a message (before its source line): names in it are
 * the schema's, and may be megabytes long. */
#define MESSAGE_BYTES 1000

static bool utf8_continuation(char c)
{
    return ((unsigned char)c & 0xc0) == 0x80;
}

/* The part [*b, *e) of the line around `at` to show: at most SHOW_BYTES,
 * the caret in the middle when the line is longer, cut between UTF-8
 * characters.  Looks at no more than SHOW_BYTES either side of `at`. */
static void show_window(const soac_source *s, size_t at, size_t *b, size_t *e)
{
    size_t lo = at > SHOW_BYTES ? at - SHOW_BYTES : 0;
    size_t hi = s->len - at > SHOW_BYTES ? at + SHOW_BYTES : s->len;
    *b = at;
    while (*b > lo && s->text[*b - 1] != '\n')
        (*b)--;
    *e = at;
    while (*e < hi && s->text[*e] != '\n' && s->text[*e] != '\r')
        (*e)++;
    if (*e - *b > SHOW_BYTES) {
        size_t right = *e - at, left = at - *b;
        size_t keep_left = right < SHOW_BYTES / 2 ? SHOW_BYTES - right : SHOW_BYTES / 2;
        if (left > keep_left)
            *b = at - keep_left;
        if (*e - *b > SHOW_BYTES)
            *e = *b + SHOW_BYTES;
    }
    while (*b < at && utf8_continuation(s->text[*b]))
        (*b)++;
    while (*e > at && *e < s->len && utf8_continuation(s->text[*e]))
        (*e)--;
}

/* Appends the line holding `loc` and a caret under its column ("..."
 * where a long line is cut).  Tabs are kept in the caret line so the caret
 * lines up in a terminal. */
static void show_line(soac_out *o, soac_loc loc)
{
    const soac_source *s = loc.src;
    if (!s || loc.offset > s->len)
        return;
    size_t b, e;
    show_window(s, loc.offset, &b, &e);
    bool cut_left = b > 0 && s->text[b - 1] != '\n';
    bool cut_right = e < s->len && s->text[e] != '\n' && s->text[e] != '\r';
    soac_out_puts(o, cut_left ? "    ..." : "    ");
    for (size_t i = b; i < e; i++) {
        unsigned char ch = (unsigned char)s->text[i];
        char c = ch == '\t' || ch >= 0x20 ? (char)ch : ' ';
        soac_out_write(o, &c, 1);
    }
    soac_out_puts(o, cut_right ? "...\n    " : "\n    ");
    if (cut_left)
        soac_out_puts(o, "   ");
    for (size_t i = b; i < loc.offset; i++)
        soac_out_puts(o, s->text[i] == '\t' ? "\t" : " ");
    soac_out_puts(o, "^\n");
}

/* Appends the first `n` bytes of a message, at most MESSAGE_BYTES of them
 * (cut between UTF-8 characters, then "..."). */
static void put_message(soac_out *o, const char *msg, size_t n)
{
    if (n <= MESSAGE_BYTES) {
        soac_out_write(o, msg, n);
        return;
    }
    n = MESSAGE_BYTES;
    while (n > 0 && utf8_continuation(msg[n]))
        n--;
    soac_out_write(o, msg, n);
    soac_out_puts(o, "...");
}

static unsigned rank_of(soac_diag *d, const soac_source *src)
{
    for (unsigned i = 0; i < d->nfiles; i++)
        if (d->files[i] == src)
            return i;
    if (d->nfiles == sizeof d->files / sizeof d->files[0])
        return d->nfiles; /* files past the 64th share the last rank */
    d->files[d->nfiles] = src;
    return d->nfiles++;
}

static bool msg_before(const soac_diag_msg *a, const soac_diag_msg *b)
{
    if (a->rank != b->rank)
        return a->rank < b->rank;
    if (a->offset != b->offset)
        return a->offset < b->offset;
    return a->seq < b->seq;
}

/* How many "In file included from" lines a message has at most: the
 * nearest includes, "...", then the main file's. */
#define INCLUDES_SHOWN 6

/* gcc's "In file included from B:L:C,\n  from A:L:C:\n" for a location in
 * an included file: the include that loaded it, then the one that loaded
 * that, out to the main file. */
static void show_includes(soac_out *o, const soac_source *src)
{
    size_t depth = 0;
    for (const soac_source *s = src; s && s->included_at.src; s = s->included_at.src)
        depth++;
    size_t k = 0;
    for (const soac_source *s = src; s && s->included_at.src; s = s->included_at.src, k++) {
        const soac_loc *at = &s->included_at;
        if (depth > INCLUDES_SHOWN && k >= INCLUDES_SHOWN - 1 && k + 1 < depth) {
            if (k == INCLUDES_SHOWN - 1)
                soac_out_printf(o, "                 ... (%zu more)\n",
                                depth - INCLUDES_SHOWN);
            continue;
        }
        soac_out_printf(o, "%s %s:%u:%u%s\n",
                        k ? "                 from" : "In file included from",
                        at->src->display, at->line, at->col,
                        k + 1 < depth ? "," : ":");
    }
}

void soac_verror(soac_diag *d, soac_loc loc, const char *fmt, va_list ap)
{
    unsigned seq = d->errors++;
    if (!d->out)
        return;
    soac_diag_msg m = { rank_of(d, loc.src), loc.offset, seq, NULL };
    /* keep the SOAC_MAX_SHOWN first in order: insertion into a sorted
     * array, dropping the last when full */
    if (d->nkept == SOAC_MAX_SHOWN && !msg_before(&m, &d->kept[SOAC_MAX_SHOWN - 1]))
        return;
    soac_out text = { NULL, 0, 0 };
    show_includes(&text, loc.src);
    soac_out_printf(&text, "%s:%u:%u: error: ",
                    loc.src ? loc.src->display : "soac", loc.line, loc.col);
    va_list copy;
    va_copy(copy, ap);
    int n = vsnprintf(NULL, 0, fmt, copy);
    va_end(copy);
    if (n > 0) {
        char *buf = malloc((size_t)n + 1);
        if (!buf) {
            fputs("soac: out of memory\n", stderr);
            exit(2);
        }
        vsnprintf(buf, (size_t)n + 1, fmt, ap);
        put_message(&text, buf, (size_t)n);
        free(buf);
    }
    soac_out_puts(&text, "\n");
    show_line(&text, loc);
    m.text = text.data;
    if (d->nkept == SOAC_MAX_SHOWN)
        free(d->kept[--d->nkept].text);
    unsigned i = d->nkept++;
    while (i > 0 && msg_before(&m, &d->kept[i - 1])) {
        d->kept[i] = d->kept[i - 1];
        i--;
    }
    d->kept[i] = m;
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
    if (!d->out)
        return;
    va_list ap;
    va_start(ap, fmt);
    fputs("soac: error: ", d->out);
    vfprintf(d->out, fmt, ap);
    fputc('\n', d->out);
    va_end(ap);
}

void soac_diag_flush(soac_diag *d)
{
    for (unsigned i = 0; i < d->nkept; i++) {
        if (d->out)
            fputs(d->kept[i].text, d->out);
        free(d->kept[i].text);
    }
    d->nkept = 0;
    if (!d->out || d->errors == 0)
        return;
    if (d->errors > SOAC_MAX_SHOWN)
        fprintf(d->out, "%u errors generated (only the first %d shown).\n",
                d->errors, SOAC_MAX_SHOWN);
    else
        fprintf(d->out, "%u error%s generated.\n", d->errors,
                d->errors == 1 ? "" : "s");
}
